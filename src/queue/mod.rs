//! The filesystem queue: Maildir-grade publish, claim, finish and recovery.
//!
//! A job's state is the directory its file lies in. Every transition is one
//! `rename`, so exactly one of any number of racing processes wins it:
//!
//! - publish: `_tmp` → `_queue` (after fsync of the file; then fsync of the dir)
//! - claim: `_queue` → `_active` (the winner runs it)
//! - finish: `_active` → `_completed` | `_failed` (after the terminal event is durable)
//! - recover: `_active` → `_queue` for jobs whose worker died (see [`lease`])
//!
//! Unreadable files are moved to `_corrupt` with a `.reason` file beside them.

mod fsutil;
pub mod lease;

use std::collections::HashSet;
use std::path::PathBuf;

use crate::api::{JOB_SCHEMA_VERSION, Job};
use crate::home::Home;

pub use fsutil::{is_not_found, sync_dir};
pub use lease::WorkerLease;

/// A queue directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    Tmp,
    Queued,
    Active,
    Completed,
    Failed,
    Corrupt,
}

impl Dir {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tmp => "_tmp",
            Self::Queued => "_queue",
            Self::Active => "_active",
            Self::Completed => "_completed",
            Self::Failed => "_failed",
            Self::Corrupt => "_corrupt",
        }
    }

    /// The job state a live directory stands for ("queued", "active",
    /// "completed", "failed"), as a database backend and an export name it.
    pub fn state(self) -> Option<&'static str> {
        match self {
            Self::Queued => Some("queued"),
            Self::Active => Some("active"),
            Self::Completed => Some("completed"),
            Self::Failed => Some("failed"),
            Self::Tmp | Self::Corrupt => None,
        }
    }

    /// The directory of a job state [`Dir::state`] names.
    pub fn of_state(state: &str) -> Option<Self> {
        JOB_DIRS.into_iter().find(|d| d.state() == Some(state))
    }
}

/// The directories a live job file can be in, in the order of its life.
pub const JOB_DIRS: [Dir; 4] = [Dir::Queued, Dir::Active, Dir::Completed, Dir::Failed];

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("cannot encode job: {0}")]
    Encode(#[from] serde_json::Error),
    /// A database backend's error.
    #[error("{0}")]
    Backend(String),
}

fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> QueueError {
    let path = path.into();
    move |source| QueueError::Io { action, path, source }
}

/// The outcome of trying to claim one job.
#[derive(Debug)]
pub enum Claim {
    /// This process now owns the job in `_active`.
    Won(Box<Job>),
    /// Another worker (or a cancel) took it first.
    Lost,
    /// The file was unreadable and now lies in `_corrupt`.
    Corrupt(String),
}

/// Handle on a data directory's queue.
#[derive(Debug, Clone)]
pub struct Queue {
    home: Home,
}

impl Queue {
    pub fn new(home: Home) -> Self {
        Self { home }
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn dir(&self, dir: Dir) -> PathBuf {
        self.home.queue_root().join(dir.name())
    }

    pub fn path(&self, dir: Dir, id: &str) -> PathBuf {
        self.dir(dir).join(format!("{id}.json"))
    }

    /// Publishes a job: once this returns, the job survives a crash or a
    /// power loss. On error nothing is left in `_queue` or `_tmp`.
    pub fn publish(&self, job: &Job) -> Result<(), QueueError> {
        let bytes = serde_json::to_vec_pretty(job)?;
        let tmp = self.path(Dir::Tmp, &job.id);
        let dest = self.path(Dir::Queued, &job.id);
        fsutil::write_durable(&tmp, &dest, &bytes).map_err(io("write job file", dest))
    }

    /// Puts a job from an export in `dir` with its event log (NDJSON
    /// lines), unless a job with its id is here already (false). The log
    /// lands first, durably, so the job is never seen without it.
    pub fn import(&self, dir: Dir, job: &Job, log: &[u8]) -> Result<bool, QueueError> {
        if !matches!(dir, Dir::Queued | Dir::Completed | Dir::Failed) || self.locate(&job.id).is_some() {
            return Ok(false);
        }
        if !log.is_empty() {
            let dest = self.home.events_path(&job.id);
            let tmp = self.dir(Dir::Tmp).join(format!("{}.ndjson", job.id));
            let _ = std::fs::remove_file(&tmp);
            fsutil::write_durable(&tmp, &dest, log).map_err(io("write event log", dest))?;
        }
        let bytes = serde_json::to_vec_pretty(job)?;
        let tmp = self.path(Dir::Tmp, &job.id);
        let _ = std::fs::remove_file(&tmp);
        let dest = self.path(dir, &job.id);
        fsutil::write_durable(&tmp, &dest, &bytes).map_err(io("write job file", dest))?;
        Ok(true)
    }

    /// The job ids in a directory (files named `<id>.json`), unsorted.
    pub fn list(&self, dir: Dir) -> Result<Vec<String>, QueueError> {
        let path = self.dir(dir);
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(io("list", &path))? {
            let entry = entry.map_err(io("list", &path))?;
            if let Some(id) = entry.file_name().to_str().and_then(|n| n.strip_suffix(".json"))
                && valid_id(id)
            {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    /// Files in `_queue` that are not `<id>.json`: garbage to quarantine.
    pub fn stray_files(&self) -> Result<Vec<String>, QueueError> {
        let path = self.dir(Dir::Queued);
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(io("list", &path))? {
            let entry = entry.map_err(io("list", &path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ok = name.strip_suffix(".json").is_some_and(valid_id);
            if !ok {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Reads and checks a job file.
    pub fn read(&self, dir: Dir, id: &str) -> Result<Job, ReadError> {
        let path = self.path(dir, id);
        let bytes = std::fs::read(&path)
            .map_err(|e| if is_not_found(&e) { ReadError::Missing } else { ReadError::Io(e.to_string()) })?;
        parse_job(&bytes, id).map_err(ReadError::Corrupt)
    }

    /// Which directory holds the job now, if any.
    pub fn locate(&self, id: &str) -> Option<Dir> {
        JOB_DIRS.into_iter().find(|d| self.path(*d, id).exists())
    }

    /// Tries to take a queued job. The worker's intent is recorded first so
    /// that recovery never mistakes a fresh claim for an orphan.
    pub fn claim(&self, id: &str, lease: &WorkerLease) -> Result<Claim, QueueError> {
        if !lease.intend(id).map_err(io("record claim of", lease.claims_path()))? {
            // This worker has it already (seen landing twice): leave it be.
            return Ok(Claim::Lost);
        }
        let from = self.path(Dir::Queued, id);
        let to = self.path(Dir::Active, id);
        if let Err(e) = std::fs::rename(&from, &to) {
            lease.release(id);
            return if is_not_found(&e) { Ok(Claim::Lost) } else { Err(io("claim", from)(e)) };
        }
        match self.read(Dir::Active, id) {
            Ok(job) => Ok(Claim::Won(Box::new(job))),
            Err(ReadError::Missing) => {
                lease.release(id);
                Ok(Claim::Lost)
            }
            Err(ReadError::Corrupt(reason) | ReadError::Io(reason)) => {
                self.quarantine(Dir::Active, &format!("{id}.json"), &reason)?;
                lease.release(id);
                Ok(Claim::Corrupt(reason))
            }
        }
    }

    /// Moves an active job to `_completed` or `_failed`, durably.
    pub fn finish(&self, id: &str, to: Dir) -> Result<(), QueueError> {
        debug_assert!(matches!(to, Dir::Completed | Dir::Failed));
        let from = self.path(Dir::Active, id);
        fsutil::rename_durable(&from, &self.path(to, id)).map_err(io("finish", from))
    }

    /// Puts an active job back in the queue. False when it was not active.
    pub fn requeue(&self, id: &str) -> Result<bool, QueueError> {
        self.move_if_present(id, Dir::Active, Dir::Queued, true)
    }

    /// Moves a queued job to `_failed` (as cancelled). False when it was not
    /// queued any more: a worker may have claimed it.
    pub fn cancel_queued(&self, id: &str) -> Result<bool, QueueError> {
        self.move_if_present(id, Dir::Queued, Dir::Failed, true)
    }

    /// Moves a failed or cancelled job back into the queue.
    pub fn retry(&self, id: &str) -> Result<bool, QueueError> {
        self.move_if_present(id, Dir::Failed, Dir::Queued, true)
    }

    fn move_if_present(&self, id: &str, from: Dir, to: Dir, durable: bool) -> Result<bool, QueueError> {
        let (src, dst) = (self.path(from, id), self.path(to, id));
        let result = if durable { fsutil::rename_durable(&src, &dst) } else { std::fs::rename(&src, &dst) };
        match result {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) && !src.exists() => Ok(false),
            Err(e) => Err(io("move", src)(e)),
        }
    }

    /// Asks the worker running `id` to stop it (it checks several times a second).
    pub fn request_cancel(&self, id: &str) -> Result<(), QueueError> {
        let path = self.cancel_marker(id);
        std::fs::write(&path, b"").map_err(io("write cancel marker", path))
    }

    pub fn cancel_requested(&self, id: &str) -> bool {
        self.cancel_marker(id).exists()
    }

    pub fn clear_cancel(&self, id: &str) {
        let _ = std::fs::remove_file(self.cancel_marker(id));
    }

    fn cancel_marker(&self, id: &str) -> PathBuf {
        self.home.queue_root().join("_cancel").join(id)
    }

    /// Moves an unreadable file to `_corrupt` and writes why beside it.
    pub fn quarantine(&self, from: Dir, name: &str, reason: &str) -> Result<(), QueueError> {
        let src = self.dir(from).join(name);
        let dst = self.dir(Dir::Corrupt).join(name);
        tracing::warn!(file = %src.display(), %reason, "moving unreadable job file to _corrupt");
        match std::fs::rename(&src, &dst) {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(io("quarantine", src)(e)),
        }
        let reason_path = self.dir(Dir::Corrupt).join(format!("{name}.reason"));
        std::fs::write(&reason_path, format!("{reason}\n")).map_err(io("write", reason_path))
    }

    /// Requeues every active job whose worker is dead. Idempotent, and safe
    /// to run from any number of processes at once (one runs, the others
    /// skip). Returns the ids it requeued.
    pub fn recover(&self) -> Result<Vec<String>, QueueError> {
        let workers = self.home.workers_dir();
        let Some(_guard) = lease::RecoveryGuard::try_acquire(&workers).map_err(io("lock", &workers))? else {
            return Ok(Vec::new());
        };
        // Order matters: list `_active` first, then read the live workers'
        // intents. A claim records its intent before its rename, so any job
        // seen in `_active` that a live worker owns has its intent visible by
        // the time the intents are read.
        let active = self.list(Dir::Active)?;
        if active.is_empty() {
            lease::reap_dead_workers(&workers).map_err(io("clean up", &workers))?;
            return Ok(Vec::new());
        }
        let owned: HashSet<String> = lease::live_claims(&workers).map_err(io("read", &workers))?;
        let mut requeued = Vec::new();
        for id in active {
            if owned.contains(&id) {
                continue;
            }
            if self.move_if_present(&id, Dir::Active, Dir::Queued, false)? {
                requeued.push(id);
            }
        }
        if !requeued.is_empty() {
            sync_dir(&self.dir(Dir::Queued)).map_err(io("sync", self.dir(Dir::Queued)))?;
            sync_dir(&self.dir(Dir::Active)).map_err(io("sync", self.dir(Dir::Active)))?;
        }
        lease::reap_dead_workers(&workers).map_err(io("clean up", &workers))?;
        Ok(requeued)
    }
}

/// Why a job file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    Missing,
    Io(String),
    Corrupt(String),
}

/// Parses a job file, with a one-line reason when it is garbage.
pub fn parse_job(bytes: &[u8], expected_id: &str) -> Result<Job, String> {
    if bytes.is_empty() {
        return Err("empty file".to_owned());
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() { format!("truncated JSON ({e})") } else { format!("invalid JSON ({e})") }
    })?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(JOB_SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!("unknown schema version {v} (this ctl reads {JOB_SCHEMA_VERSION})"));
        }
        None => return Err("no schema version (\"v\")".to_owned()),
    }
    let job: Job = serde_json::from_value(value).map_err(|e| format!("invalid job ({e})"))?;
    if job.id != expected_id {
        return Err(format!("file name says {expected_id} but the job says {}", job.id));
    }
    Ok(job)
}

/// A job id: a ULID (26 characters of Crockford base32). Anything else is
/// refused before it can become part of a path.
pub fn valid_id(s: &str) -> bool {
    s.len() == 26
        && s.bytes().all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

/// A new, time-ordered job id. Ids made in one process are strictly
/// increasing, so FIFO order holds within a millisecond too.
pub fn new_id() -> String {
    use std::sync::Mutex;
    static GEN: Mutex<Option<ulid::Generator>> = Mutex::new(None);
    let mut guard = GEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let generator = guard.get_or_insert_with(ulid::Generator::new);
    // Overflow needs 2^80 ids in one millisecond; fall back to a fresh one.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::generate()).to_string()
}

/// The time a job id was made (a ULID starts with milliseconds since the
/// epoch): the job's `created_at`, and the `ts` of its implied `queued`
/// event (see [`crate::events::implied_queued`]).
pub fn id_time(id: &str) -> Option<jiff::Timestamp> {
    let ulid = ulid::Ulid::from_string(id).ok()?;
    jiff::Timestamp::from_millisecond(i64::try_from(ulid.timestamp_ms()).ok()?).ok()
}

/// A new job id and the time it carries, for the job's `created_at`.
pub fn new_job_id() -> (String, jiff::Timestamp) {
    let id = new_id();
    let at = id_time(&id).unwrap_or_else(jiff::Timestamp::now);
    (id, at)
}

#[cfg(test)]
mod tests;
