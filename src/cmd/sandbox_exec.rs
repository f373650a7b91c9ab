//! `ctl sandbox-exec` (hidden): the helper `run_code` starts inside its
//! bubblewrap sandbox. See [`crate::tools::sandbox`].

use std::ffi::OsString;

use crate::tools::sandbox::{InsideLimits, exec_inside};

/// Apply the sandbox's limits to this process, then run PROGRAM (internal).
#[derive(Debug, clap::Args)]
pub struct SandboxExecArgs {
    #[arg(long)]
    cpu_secs: u64,
    #[arg(long)]
    memory_bytes: u64,
    #[arg(long)]
    max_processes: u64,
    #[arg(long)]
    max_file_bytes: u64,
    #[arg(long)]
    max_open_files: u64,
    #[arg(long)]
    wall_ms: u64,
    /// The program and its arguments.
    #[arg(last = true, required = true)]
    program: Vec<OsString>,
}

impl SandboxExecArgs {
    pub fn run(self) -> i32 {
        let limits = InsideLimits {
            cpu_secs: self.cpu_secs,
            memory_bytes: self.memory_bytes,
            max_processes: self.max_processes,
            max_file_bytes: self.max_file_bytes,
            max_open_files: self.max_open_files,
            wall_ms: self.wall_ms,
        };
        exec_inside(limits, &self.program)
    }
}
