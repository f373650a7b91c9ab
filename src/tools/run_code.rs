//! `run_code`: Python 3 or POSIX sh in the sandbox of [`super::sandbox`].

use std::ffi::OsString;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Deserialize;

use super::sandbox::{self, Ended, Program, SandboxError};
use super::{BoxFuture, Limits, RunCodeConfig, Tool, ToolError, ToolInfo, ToolOutput, ToolTraits};

/// The longest program accepted, in bytes (it travels as one argument).
pub const MAX_CODE_BYTES: usize = 100 * 1024;

/// The language of `run_code`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Python,
    Sh,
}

/// Arguments of `run_code`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCodeArgs {
    /// The program's source.
    pub code: String,
    /// `python` (Python 3, the default) or `sh` (POSIX shell).
    #[serde(default)]
    pub language: Language,
    /// Text given to the program on its standard input.
    #[serde(default)]
    pub stdin: Option<String>,
}

pub struct RunCode {
    cfg: RunCodeConfig,
}

impl RunCode {
    pub fn new(cfg: RunCodeConfig) -> Self {
        Self { cfg }
    }

    async fn run(&self, args: RunCodeArgs) -> Result<ToolOutput, ToolError> {
        if args.code.len() > MAX_CODE_BYTES {
            return Err(ToolError::InvalidArgs(format!("code is longer than {MAX_CODE_BYTES} bytes")));
        }
        if args.code.contains('\0') {
            return Err(ToolError::InvalidArgs("code contains a NUL byte".into()));
        }
        let argv: Vec<OsString> = match args.language {
            Language::Python => vec![self.cfg.python.clone().into(), "-c".into(), args.code.into()],
            Language::Sh => vec!["/bin/sh".into(), "-c".into(), args.code.into()],
        };
        let program = Program { argv, stdin: args.stdin.map(String::into_bytes) };
        let report = sandbox::run(&self.cfg, program).await.map_err(|e| match e {
            SandboxError::Unavailable(m) => ToolError::Refused(m),
            SandboxError::Failed(m) => ToolError::Failed(m),
        })?;
        let summary = match report.ended {
            Ended::Exit => format!("exit code {}", report.exit_code.unwrap_or(-1)),
            Ended::Timeout => format!("killed: the time limit of {} s passed", self.cfg.timeout_secs),
            Ended::Memory => format!("out of memory (the limit is {} MiB)", self.cfg.memory_mb),
            Ended::Cpu => format!("killed: the CPU limit of {} s passed", self.cfg.cpu_secs),
            Ended::Signal => format!("killed by signal {}", report.signal.unwrap_or(0)),
            Ended::OutputLimit => format!("killed: more than {} bytes of output", self.cfg.max_stream_bytes),
        };
        let mut text = format!("[{summary}; {} ms]\n", report.duration_ms);
        for (name, body, cut) in [
            ("stdout", &report.stdout, report.stdout_truncated),
            ("stderr", &report.stderr, report.stderr_truncated),
        ] {
            if body.is_empty() {
                continue;
            }
            let _ = write!(text, "--- {name}{} ---\n{body}", if cut { " (cut)" } else { "" });
            if !body.ends_with('\n') {
                text.push('\n');
            }
        }
        let structured = serde_json::to_value(&report).unwrap_or_default();
        Ok(ToolOutput::with_structured(text, structured))
    }
}

impl Tool for RunCode {
    fn info(&self) -> ToolInfo {
        let c = &self.cfg;
        ToolInfo {
            name: "run_code".into(),
            description: format!(
                "Run a Python 3 or POSIX sh program in a sandbox with no network, a read-only system, \
                 an empty {} MiB work directory and a cleared environment. Limits: {} s wall clock, \
                 {} s CPU, {} MiB memory, {} processes, {} bytes of stdout and of stderr. Returns how it \
                 ended (exit code, timeout, memory, signal) and its output.",
                c.workdir_mb, c.timeout_secs, c.cpu_secs, c.memory_mb, c.max_processes, c.max_stream_bytes
            ),
            input_schema: super::schema_of::<RunCodeArgs>(),
            traits: ToolTraits { read_only: false, private: false, untrusted: false, egress: false },
            // The sandbox enforces the wall clock itself and reports a
            // timeout; the outer limit only catches a sandbox that hangs.
            limits: Limits { timeout_secs: c.timeout_secs + 10.0, max_output_bytes: c.max_output_bytes },
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move { self.run(super::parse_args(args)?).await })
    }
}
