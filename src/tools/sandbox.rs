//! The sandbox `run_code` runs code in: bubblewrap, with rlimits and
//! landlock applied by a small helper inside it.
//!
//! Outside: `bwrap` with new user, pid, network, ipc, uts (and cgroup)
//! namespaces, so there is no network at all; uid 65534 with every
//! capability dropped; read-only binds of `/usr` (and the `/lib`, `/bin`
//! links), `ld.so.cache` and `/etc/alternatives`, nothing else of the host;
//! fresh `/proc` and `/dev`; a size-capped tmpfs as the work directory and
//! another as `/tmp`; the root remounted read-only; a cleared environment;
//! `--new-session` and `--die-with-parent`. ctl kills bwrap on timeout,
//! on too much output, and when the call is dropped.
//!
//! Inside: ctl's own binary, bound read-only under another name, runs as
//! the helper ([`helper_main`]): it sets the rlimits (CPU, address space, processes,
//! file size, open files, no core dumps), restricts itself with landlock
//! where the kernel has it (files: read-only everywhere but the work
//! directory and `/tmp`; no TCP; no signals or abstract sockets out of
//! the sandbox), then runs the program and reports how it ended through its
//! exit code. It also kills the program at the wall-clock limit, so even a
//! ctl that died by SIGKILL leaves nothing running for long.
//!
//! Without bubblewrap or user namespaces, code is refused with an error that
//! says why; it never runs unsandboxed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::RunCodeConfig;

/// Where ctl's binary is bound inside the sandbox. Started under this
/// name, the binary runs [`helper_main`] instead of the CLI.
const HELPER: &str = "/run/ctl/ctl-sandbox-exec";
/// The first line the helper writes on stderr (then the landlock status):
/// bwrap's own errors come without it.
pub const MARKER: &str = "\u{1}ctl-sandbox ";
/// The work directory inside.
pub const WORKDIR: &str = "/work";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// The program exited by itself (with `exit_code`).
    Exit,
    /// The wall-clock limit passed; the sandbox was killed.
    Timeout,
    /// It ran out of memory (the address-space limit).
    Memory,
    /// It used up its CPU seconds.
    Cpu,
    /// A signal killed it.
    Signal,
    /// It wrote more than the output cap; the sandbox was killed.
    OutputLimit,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ended: Ended,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub duration_ms: u64,
    /// `full`, `partial` or `none`: how much of landlock this kernel enforced.
    pub landlock: String,
}

/// The program to run inside.
#[derive(Debug, Clone)]
pub struct Program {
    pub argv: Vec<OsString>,
    pub stdin: Option<Vec<u8>>,
}

/// Why the sandbox cannot run, or did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

fn bwrap_path(cfg: &RunCodeConfig) -> Result<PathBuf, SandboxError> {
    let bwrap = &cfg.bwrap;
    if bwrap.components().count() > 1 {
        return if bwrap.is_file() {
            Ok(bwrap.clone())
        } else {
            Err(SandboxError::Unavailable(format!(
                "run_code needs bubblewrap, and {} does not exist: install the bubblewrap package; code never runs unsandboxed",
                bwrap.display()
            )))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(bwrap))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            SandboxError::Unavailable(format!(
                "run_code needs bubblewrap ({} is not on PATH): install the bubblewrap package; code never runs unsandboxed",
                bwrap.display()
            ))
        })
}

/// Whether ctl runs as root: then bwrap is started as `cfg.uid`, since
/// the kernel never applies RLIMIT_NPROC to root's processes (a fork bomb
/// in a user namespace mapped to root would not be stopped).
fn as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The helper: this very binary (ctl), to be bound read-only inside. When
/// bwrap runs as another user that cannot reach it (`~/.cargo/bin` under a
/// 0700 `/root`), a copy in a root-owned 0755 directory is used.
fn helper_exe() -> Result<PathBuf, SandboxError> {
    let exe = std::env::current_exe()
        .map_err(|e| SandboxError::Unavailable(format!("cannot find ctl's own binary: {e}")))?;
    if !as_root() || world_reachable(&exe) {
        return Ok(exe);
    }
    staged_copy(&exe)
        .map_err(|e| SandboxError::Unavailable(format!("cannot stage ctl's binary for the sandbox: {e}")))
}

/// Every directory above `path` is world-searchable and the file world-readable and -executable.
fn world_reachable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    mode(path) & 0o005 == 0o005
        && path.ancestors().skip(1).all(|d| d.as_os_str().is_empty() || mode(d) & 0o001 != 0)
}

fn staged_copy(exe: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(exe)?;
    let dir = std::env::temp_dir().join("ctl-sandbox-helper");
    match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let d = std::fs::symlink_metadata(&dir)?;
    if !d.is_dir() || d.uid() != 0 || d.mode() & 0o022 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is not a directory only root can write",
            dir.display()
        )));
    }
    let staged = dir.join(format!("ctl-{}-{}-{}", meta.ino(), meta.len(), meta.mtime()));
    if std::fs::symlink_metadata(&staged).is_ok_and(|m| m.is_file() && m.uid() == 0 && m.len() == meta.len())
    {
        return Ok(staged);
    }
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    std::fs::copy(exe, &tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, &staged)?;
    Ok(staged)
}

/// A bwrap command, started as `cfg.uid` when ctl is root.
fn bwrap_command(cfg: &RunCodeConfig, bwrap: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bwrap);
    if as_root() {
        cmd.uid(cfg.uid).gid(cfg.uid);
    }
    cmd
}

/// bwrap's arguments, up to and including `--`.
fn bwrap_args(cfg: &RunCodeConfig, helper: &Path) -> Vec<OsString> {
    fn push(a: &mut Vec<OsString>, xs: &[&str]) {
        a.extend(xs.iter().map(OsString::from));
    }
    let mut a: Vec<OsString> = Vec::new();
    push(&mut a, &["--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]);
    let uid = cfg.uid.to_string();
    push(&mut a, &["--unshare-cgroup-try", "--uid", &uid, "--gid", &uid, "--hostname", "sandbox"]);
    push(&mut a, &["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]);
    push(&mut a, &["--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "HOME", WORKDIR]);
    push(&mut a, &["--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8"]);
    push(&mut a, &["--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "PYTHONUNBUFFERED", "1"]);
    push(&mut a, &["--ro-bind", "/usr", "/usr"]);
    for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        match std::fs::read_link(top) {
            Ok(target) => {
                a.extend(["--symlink".into(), target.into_os_string(), top.into()]);
            }
            Err(_) if Path::new(top).is_dir() => a.extend(["--ro-bind".into(), top.into(), top.into()]),
            Err(_) => {}
        }
    }
    push(&mut a, &["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]);
    push(&mut a, &["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]);
    push(&mut a, &["--proc", "/proc", "--dev", "/dev"]);
    let size = (cfg.workdir_mb * 1024 * 1024).to_string();
    push(&mut a, &["--perms", "1777", "--size", &size, "--tmpfs", WORKDIR]);
    push(&mut a, &["--perms", "1777", "--size", &size, "--tmpfs", "/tmp"]);
    a.extend(["--ro-bind".into(), helper.as_os_str().to_owned(), HELPER.into()]);
    push(&mut a, &["--remount-ro", "/", "--chdir", WORKDIR, "--"]);
    a
}

/// The helper's command line inside: the limits, then the program.
fn helper_args(cfg: &RunCodeConfig, program: &[OsString]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![HELPER.into()];
    let mb = 1024 * 1024;
    for (flag, value) in [
        ("--cpu-secs", cfg.cpu_secs),
        ("--memory-bytes", cfg.memory_mb * mb),
        ("--max-processes", cfg.max_processes),
        ("--max-file-bytes", cfg.max_file_mb * mb),
        ("--max-open-files", cfg.max_open_files),
        ("--wall-ms", (cfg.timeout_secs * 1000.0) as u64 + 1000),
    ] {
        a.push(flag.into());
        a.push(value.to_string().into());
    }
    a.push("--".into());
    a.extend(program.iter().cloned());
    a
}

/// Whether the sandbox can run here: bubblewrap is installed and user
/// namespaces work. Checked once per process (by running `true` inside).
pub async fn check(cfg: &RunCodeConfig) -> Result<(), SandboxError> {
    static CHECKED: OnceLock<Result<(), SandboxError>> = OnceLock::new();
    if let Some(r) = CHECKED.get() {
        return r.clone();
    }
    let result = probe(cfg).await;
    // Only a missing sandbox is remembered: a busy machine may fail a probe once.
    if !matches!(result, Err(SandboxError::Failed(_))) {
        let _ = CHECKED.set(result.clone());
    }
    result
}

async fn probe(cfg: &RunCodeConfig) -> Result<(), SandboxError> {
    let bwrap = bwrap_path(cfg)?;
    let helper = helper_exe()?;
    let mut cmd = bwrap_command(cfg, &bwrap);
    cmd.args(bwrap_args(cfg, &helper)).arg("/usr/bin/true");
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .map_err(|_| SandboxError::Failed("bubblewrap did not start within 20 s".into()))?
        .map_err(|e| SandboxError::Unavailable(format!("cannot run {}: {e}", bwrap.display())))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr).trim().replace('\n', "; ");
    Err(SandboxError::Unavailable(format!(
        "the sandbox does not work here ({err}): bubblewrap needs user namespaces \
         (kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0); code never runs unsandboxed"
    )))
}

/// Runs `program` in the sandbox. Dropping the future kills it.
pub async fn run(cfg: &RunCodeConfig, program: Program) -> Result<Report, SandboxError> {
    check(cfg).await?;
    let bwrap = bwrap_path(cfg)?;
    let helper = helper_exe()?;
    let mut cmd = bwrap_command(cfg, &bwrap);
    cmd.args(bwrap_args(cfg, &helper)).args(helper_args(cfg, &program.argv));
    cmd.env_clear()
        .stdin(if program.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child =
        cmd.spawn().map_err(|e| SandboxError::Unavailable(format!("cannot run {}: {e}", bwrap.display())))?;
    // Dropping this before bwrap is reaped (the call was cancelled) kills the sandbox.
    let mut teardown = Teardown(child.id());
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), program.stdin) {
        // A program that never reads its input must not block us: write in the background.
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    let cap = cfg.max_stream_bytes;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(SandboxError::Failed("the sandbox's output pipes are missing".into()));
    };
    // Readers fill shared buffers, so what was read survives a kill.
    let (out_buf, err_buf) = (Captured::default(), Captured::default());
    let mut out_task = tokio::spawn(read_capped(stdout, cap, out_buf.clone()));
    let mut err_task = tokio::spawn(read_capped(stderr, cap + 256, err_buf.clone()));
    let deadline = tokio::time::sleep(Duration::from_secs_f64(cfg.timeout_secs));
    tokio::pin!(deadline);
    let (mut out_done, mut err_done) = (false, false);
    let mut ended = None;
    while !(out_done && err_done) && ended.is_none() {
        tokio::select! {
            r = &mut out_task, if !out_done => {
                out_done = true;
                if r.unwrap_or(false) { ended = Some(Ended::OutputLimit); }
            }
            r = &mut err_task, if !err_done => {
                err_done = true;
                if r.unwrap_or(false) { ended = Some(Ended::OutputLimit); }
            }
            () = &mut deadline => { ended = Some(Ended::Timeout); }
        }
    }
    if ended.is_some() {
        kill_sandbox(child.id());
    }
    let status =
        child.wait().await.map_err(|e| SandboxError::Failed(format!("waiting for the sandbox: {e}")))?;
    // Reaped: the pid may be reused from now on.
    teardown.0 = None;
    // The pipes close once every process of the sandbox is gone. A killed
    // pid namespace is torn down by the kernel, which takes a moment with
    // many processes: wait a little for the rest of the output, no longer.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        if !out_done {
            let _ = (&mut out_task).await;
        }
        if !err_done {
            let _ = (&mut err_task).await;
        }
    })
    .await;
    out_task.abort();
    err_task.abort();
    let (stdout, stdout_truncated) = out_buf.take();
    let (stderr, stderr_truncated) = err_buf.take();
    let (landlock, stderr) = split_marker(&stderr);
    let Some(landlock) = landlock else {
        if ended == Some(Ended::Timeout) {
            return Err(SandboxError::Failed("the sandbox did not start before the time limit".into()));
        }
        let msg = String::from_utf8_lossy(&stderr).trim().replace('\n', "; ");
        return Err(SandboxError::Failed(format!("the sandbox did not start: {msg}")));
    };
    let code = status.code();
    let (exit_code, signal) = match code {
        Some(c) if c > 128 && c < 128 + 65 => (None, Some(c - 128)),
        Some(c) => (Some(c), None),
        None => (None, None),
    };
    let stderr_text = String::from_utf8_lossy(&stderr).into_owned();
    let ended = ended.unwrap_or(match signal {
        Some(24) => Ended::Cpu,
        _ if stderr_text.contains("MemoryError") || stderr_text.contains("Cannot allocate memory") => {
            Ended::Memory
        }
        Some(_) => Ended::Signal,
        None => Ended::Exit,
    });
    Ok(Report {
        ended,
        exit_code,
        signal,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: stderr_text,
        stdout_truncated,
        stderr_truncated,
        duration_ms: started.elapsed().as_millis() as u64,
        landlock,
    })
}

/// Kills a sandbox: the namespace's init (bwrap's child), which takes every
/// process of the pid namespace with it, then bwrap itself. Killing bwrap
/// alone is not enough: its child drops the parent-death signal when it
/// changes user inside the namespace.
fn kill_sandbox(bwrap: Option<u32>) {
    use rustix::process::{Pid, Signal, kill_process};
    let Some(pid) = bwrap else { return };
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()) {
        if let Some(child) = Pid::from_raw(child) {
            let _ = kill_process(child, Signal::KILL);
        }
    }
    if let Some(pid) = Pid::from_raw(pid as i32) {
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// Kills the sandbox when dropped while bwrap (our child, not yet reaped,
/// so its pid cannot have been reused) is still there.
struct Teardown(Option<u32>);

impl Drop for Teardown {
    fn drop(&mut self) {
        kill_sandbox(self.0);
    }
}

/// Output read so far, and whether more was cut off.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<(Vec<u8>, bool)>>);

impl Captured {
    fn take(&self) -> (Vec<u8>, bool) {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Reads up to `cap` bytes into `into`; returns whether there was more
/// (the reading stops there, so the caller can kill the writer).
async fn read_capped(mut r: impl AsyncRead + Unpin, cap: usize, into: Captured) -> bool {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let mut guard = into.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = cap - guard.0.len();
        if n > room {
            guard.0.extend_from_slice(&chunk[..room]);
            guard.1 = true;
            return true;
        }
        guard.0.extend_from_slice(&chunk[..n]);
    }
}

/// Takes the helper's first stderr line off: the landlock status and the
/// rest of stderr.
fn split_marker(stderr: &[u8]) -> (Option<String>, Vec<u8>) {
    let marker = MARKER.as_bytes();
    let Some(pos) = stderr.windows(marker.len()).position(|w| w == marker) else {
        return (None, stderr.to_vec());
    };
    let after = &stderr[pos + marker.len()..];
    let end = after.iter().position(|b| *b == b'\n').unwrap_or(after.len());
    let status = String::from_utf8_lossy(&after[..end]).trim().trim_start_matches("landlock=").to_owned();
    let mut rest = stderr[..pos].to_vec();
    rest.extend_from_slice(after.get(end + 1..).unwrap_or_default());
    (Some(status), rest)
}

/// When this process was started as the sandbox's helper (under the name
/// of `ctl-sandbox-exec`), runs it and returns its exit code; otherwise `None`.
/// Its arguments are `--cpu-secs N --memory-bytes N --max-processes N
/// --max-file-bytes N --max-open-files N --wall-ms N -- PROGRAM ARGS...`.
pub fn helper_main() -> Option<i32> {
    let mut args = std::env::args_os();
    let name = args.next()?;
    if Path::new(&name).file_name()? != Path::new(HELPER).file_name()? {
        return None;
    }
    let args: Vec<OsString> = args.collect();
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (flags, program) = (&args[..split], args.get(split + 1..).unwrap_or_default());
    let mut limits = InsideLimits {
        cpu_secs: 0,
        memory_bytes: 0,
        max_processes: 0,
        max_file_bytes: 0,
        max_open_files: 0,
        wall_ms: 0,
    };
    for pair in flags.chunks(2) {
        let value = pair.get(1).and_then(|v| v.to_str()?.parse::<u64>().ok());
        let slot = match pair[0].to_str() {
            Some("--cpu-secs") => &mut limits.cpu_secs,
            Some("--memory-bytes") => &mut limits.memory_bytes,
            Some("--max-processes") => &mut limits.max_processes,
            Some("--max-file-bytes") => &mut limits.max_file_bytes,
            Some("--max-open-files") => &mut limits.max_open_files,
            Some("--wall-ms") => &mut limits.wall_ms,
            _ => {
                eprintln!("sandbox helper: unknown argument {}", pair[0].display());
                return Some(2);
            }
        };
        let Some(value) = value else {
            eprintln!("sandbox helper: {} needs a number", pair[0].display());
            return Some(2);
        };
        *slot = value;
    }
    Some(exec_inside(limits, program))
}

/// The limits the helper applies inside (see [`exec_inside`]).
#[derive(Debug, Clone, Copy)]
pub struct InsideLimits {
    pub cpu_secs: u64,
    pub memory_bytes: u64,
    pub max_processes: u64,
    pub max_file_bytes: u64,
    pub max_open_files: u64,
    pub wall_ms: u64,
}

/// The helper's side, run inside bubblewrap (see [`helper_main`]): sets the
/// rlimits, applies landlock, runs `program`, kills it at the wall-clock
/// limit, and returns its exit code (128 + N for a signal N).
pub fn exec_inside(limits: InsideLimits, program: &[OsString]) -> i32 {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let Some((exe, args)) = program.split_first() else {
        eprintln!("sandbox helper: no program given");
        return 2;
    };
    let set =
        |r: Resource, soft: u64, hard: u64| setrlimit(r, Rlimit { current: Some(soft), maximum: Some(hard) });
    let results = [
        set(Resource::Cpu, limits.cpu_secs, limits.cpu_secs + 1),
        set(Resource::As, limits.memory_bytes, limits.memory_bytes),
        set(Resource::Nproc, limits.max_processes, limits.max_processes),
        set(Resource::Fsize, limits.max_file_bytes, limits.max_file_bytes),
        set(Resource::Nofile, limits.max_open_files, limits.max_open_files),
        set(Resource::Core, 0, 0),
    ];
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        eprintln!("sandbox helper: cannot set the resource limits: {e}");
        return 2;
    }
    let landlock = match restrict_with_landlock() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("sandbox helper: landlock failed: {e}");
            return 2;
        }
    };
    eprintln!("{MARKER}landlock={landlock}");
    let mut child = match std::process::Command::new(exe).args(args).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot run {}: {e}", exe.to_string_lossy());
            return 127;
        }
    };
    let pid = child.id();
    let wall = Duration::from_millis(limits.wall_ms);
    std::thread::spawn(move || {
        std::thread::sleep(wall);
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    });
    match child.wait() {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(9))
        }
        Err(e) => {
            eprintln!("sandbox helper: wait: {e}");
            2
        }
    }
}

/// Landlock as a second wall, where the kernel has it: read-only access to
/// the system, read-write to the work directory and `/tmp`, no TCP, and
/// (ABI 6+) no signals or abstract sockets out of the sandbox.
fn restrict_with_landlock() -> Result<&'static str, landlock::RulesetError> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
        path_beneath_rules,
    };
    let abi = ABI::V6;
    let read = AccessFs::from_read(abi);
    let all = AccessFs::from_all(abi);
    let status = Ruleset::default()
        .handle_access(all)?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rules(path_beneath_rules(["/usr", "/etc", "/proc", HELPER], read))?
        .add_rules(path_beneath_rules(["/dev"], read | AccessFs::WriteFile))?
        .add_rules(path_beneath_rules([WORKDIR, "/tmp"], all))?
        .restrict_self()?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => "full",
        RulesetStatus::PartiallyEnforced => "partial",
        RulesetStatus::NotEnforced => "none",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_line_is_split_off_stderr() {
        let (status, rest) = split_marker(format!("{MARKER}landlock=full\nTraceback\n").as_bytes());
        assert_eq!(status.as_deref(), Some("full"));
        assert_eq!(rest, b"Traceback\n");
        let (status, rest) = split_marker(b"bwrap: No permissions to create new namespace\n");
        assert_eq!(status, None);
        assert_eq!(rest, b"bwrap: No permissions to create new namespace\n");
    }

    #[test]
    fn bwrap_gets_no_network_no_capabilities_and_a_read_only_root() {
        let cfg = RunCodeConfig::default();
        let args: Vec<String> =
            bwrap_args(&cfg, Path::new("/x/ctl")).iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let joined = args.join(" ");
        for needed in [
            "--unshare-user",
            "--unshare-net",
            "--unshare-pid",
            "--die-with-parent",
            "--new-session",
            "--cap-drop ALL",
            "--clearenv",
            "--remount-ro /",
            "--ro-bind /x/ctl /run/ctl/ctl-sandbox-exec",
        ] {
            assert!(joined.contains(needed), "{needed} missing from {joined}");
        }
        assert!(!joined.contains("--bind "), "no writable bind of the host: {joined}");
        assert_eq!(args.last().map(String::as_str), Some("--"));
    }
}
