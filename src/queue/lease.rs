//! Worker liveness and ownership of active jobs.
//!
//! Each worker holds `workers/<wid>.lock` with `flock` for its whole life; the
//! kernel releases it when the process dies, however it dies. Before a worker
//! claims a job it appends `+<job id>` to its `workers/<wid>.claims` file, and
//! `-<job id>` when it lets the job go, so recovery can tell a live worker's
//! job from an orphan: an active job is orphaned exactly when no worker whose
//! lock is still held has it claimed. One append-only file per worker, not a
//! file per claim: creating a file costs about an fsync on some disks.

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// A live worker's identity and lock. Dropping it (a clean exit) removes
/// the lock file and the claims file.
#[derive(Debug)]
pub struct WorkerLease {
    id: String,
    lock_path: PathBuf,
    claims_path: PathBuf,
    /// The claims file and the claims open in it.
    claims: Mutex<(File, HashSet<String>)>,
    _lock: File,
}

impl WorkerLease {
    /// Creates and locks a new worker lock file. The file only appears under
    /// its final name once locked, so nobody can see it unlocked.
    pub fn acquire(workers_dir: &Path) -> std::io::Result<Self> {
        let id = super::new_id();
        let tmp = workers_dir.join(format!("{id}.lock.tmp"));
        let lock_path = workers_dir.join(format!("{id}.lock"));
        let claims_path = workers_dir.join(format!("{id}.claims"));
        let claims = File::options().append(true).create(true).open(&claims_path)?;
        let file = File::options().read(true).write(true).create_new(true).open(&tmp)?;
        file.lock()?;
        std::fs::write(&tmp, format!("pid {}\n", std::process::id()))?;
        std::fs::rename(&tmp, &lock_path)?;
        Ok(Self { id, lock_path, claims_path, claims: Mutex::new((claims, HashSet::new())), _lock: file })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The file this worker records its claims in.
    pub fn claims_path(&self) -> PathBuf {
        self.claims_path.clone()
    }

    /// Records that this worker is about to claim `job_id`: one append, in a
    /// single write. Not fsynced: it only matters while this process lives.
    /// False (and nothing written) when this worker holds `job_id` already:
    /// a second claim of it must neither proceed nor release the first.
    pub fn intend(&self, job_id: &str) -> std::io::Result<bool> {
        let mut guard = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.1.contains(job_id) {
            return Ok(false);
        }
        guard.0.write_all(format!("+{job_id}\n").as_bytes())?;
        guard.1.insert(job_id.to_owned());
        Ok(true)
    }

    /// Forgets a job this worker no longer owns (finished, requeued, lost).
    /// When no claim is open the file is emptied, so it stays small.
    pub fn release(&self, job_id: &str) {
        let mut guard = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        let (file, open) = &mut *guard;
        if !open.remove(job_id) {
            return;
        }
        let result =
            if open.is_empty() { file.set_len(0) } else { file.write_all(format!("-{job_id}\n").as_bytes()) };
        if let Err(e) = result {
            tracing::warn!(job = job_id, "cannot record the release of a claim: {e}");
        }
    }
}

impl Drop for WorkerLease {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.claims_path);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Lets one process at a time run recovery. Serialising recovery closes the
/// race where two recoverers and a claim interleave and a live job is stolen.
pub(super) struct RecoveryGuard(#[allow(dead_code)] File);

impl RecoveryGuard {
    pub(super) fn try_acquire(workers_dir: &Path) -> std::io::Result<Option<Self>> {
        let file =
            File::options().create(true).truncate(false).write(true).open(workers_dir.join(".recovery"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self(file))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Is the worker whose lock file this is still alive?
fn is_live(lock_path: &Path) -> std::io::Result<Option<bool>> {
    let file = match File::options().read(true).write(true).open(lock_path) {
        Ok(f) => f,
        Err(e) if super::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(false)),
        Err(TryLockError::WouldBlock) => Ok(Some(true)),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Worker ids with a lock file, and whether each is alive.
fn workers(workers_dir: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(workers_dir)? {
        let name = entry?.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".lock")) else {
            continue;
        };
        if let Some(live) = is_live(&workers_dir.join(&name))? {
            out.push((id.to_owned(), live));
        }
    }
    Ok(out)
}

/// The ids of every job some live worker has claimed (or is claiming).
pub(super) fn live_claims(workers_dir: &Path) -> std::io::Result<HashSet<String>> {
    let mut claims = HashSet::new();
    for (id, live) in workers(workers_dir)? {
        if !live {
            continue;
        }
        let text = match std::fs::read_to_string(workers_dir.join(format!("{id}.claims"))) {
            Ok(t) => t,
            Err(e) if super::is_not_found(&e) => continue,
            Err(e) => return Err(e),
        };
        // Each worker's lines cancel only its own: a worker that lost the
        // race for a job another one won writes `+job` then `-job`, and that
        // must not take the winner's claim away.
        let mut mine = HashSet::new();
        for line in text.lines() {
            if let Some(job) = line.strip_prefix('+') {
                mine.insert(job);
            } else if let Some(job) = line.strip_prefix('-') {
                mine.remove(job);
            }
        }
        claims.extend(mine.into_iter().map(str::to_owned));
    }
    Ok(claims)
}

/// Removes the lock files, claims and spare event logs of workers that died.
pub(super) fn reap_dead_workers(workers_dir: &Path) -> std::io::Result<()> {
    for (id, live) in workers(workers_dir)? {
        if !live {
            let claims = workers_dir.join(format!("{id}.claims"));
            // Older workers kept one file per claim in a directory.
            if std::fs::remove_file(&claims).is_err() {
                let _ = std::fs::remove_dir_all(&claims);
            }
            // Empty files it made to become event logs (`events::Spares`).
            let _ = std::fs::remove_dir_all(workers_dir.join(format!("{id}.spares")));
            let _ = std::fs::remove_file(workers_dir.join(format!("{id}.lock")));
        }
    }
    // A worker that died between creating and renaming its lock file; the
    // age check leaves alone one that is starting right now.
    for entry in std::fs::read_dir(workers_dir)? {
        let entry = entry?;
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 60));
        if old && path.extension().is_some_and(|e| e == "tmp") && is_live(&path)? == Some(false) {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

/// How many workers hold their lock right now.
pub fn live_worker_count(workers_dir: &Path) -> std::io::Result<usize> {
    Ok(live_workers(workers_dir)?.len())
}

/// The ids of the workers that hold their lock right now.
pub fn live_workers(workers_dir: &Path) -> std::io::Result<Vec<String>> {
    Ok(workers(workers_dir)?.into_iter().filter(|(_, live)| *live).map(|(id, _)| id).collect())
}
