//! Worker liveness and ownership of active jobs.
//!
//! Each worker holds `workers/<wid>.lock` with `flock` for its whole life; the
//! kernel releases it when the process dies, however it dies. Before a worker
//! claims a job it creates `workers/<wid>.claims/<job id>`, so recovery can
//! tell a live worker's job from an orphan: an active job is orphaned exactly
//! when no worker whose lock is still held has an intent file for it.

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// A live worker's identity and lock. Dropping it (a clean exit) removes
/// the lock file and the claims directory.
#[derive(Debug)]
pub struct WorkerLease {
    id: String,
    lock_path: PathBuf,
    claims_dir: PathBuf,
    _lock: File,
}

impl WorkerLease {
    /// Creates and locks a new worker lock file. The file only appears under
    /// its final name once locked, so nobody can see it unlocked.
    pub fn acquire(workers_dir: &Path) -> std::io::Result<Self> {
        let id = super::new_id();
        let tmp = workers_dir.join(format!("{id}.lock.tmp"));
        let lock_path = workers_dir.join(format!("{id}.lock"));
        let claims_dir = workers_dir.join(format!("{id}.claims"));
        std::fs::create_dir_all(&claims_dir)?;
        let file = File::options().read(true).write(true).create_new(true).open(&tmp)?;
        file.lock()?;
        std::fs::write(&tmp, format!("pid {}\n", std::process::id()))?;
        std::fs::rename(&tmp, &lock_path)?;
        Ok(Self { id, lock_path, claims_dir, _lock: file })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn claim_path(&self, job_id: &str) -> PathBuf {
        self.claims_dir.join(job_id)
    }

    /// Records that this worker is about to claim `job_id`. Not fsynced: it
    /// only matters while this process lives.
    pub fn intend(&self, job_id: &str) -> std::io::Result<()> {
        File::create(self.claim_path(job_id)).map(drop)
    }

    /// Forgets a job this worker no longer owns (finished, requeued, lost).
    pub fn release(&self, job_id: &str) {
        let _ = std::fs::remove_file(self.claim_path(job_id));
    }
}

impl Drop for WorkerLease {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.claims_dir);
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
        let dir = workers_dir.join(format!("{id}.claims"));
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if super::is_not_found(&e) => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            claims.insert(entry?.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(claims)
}

/// Removes the lock files and claims of workers that died.
pub(super) fn reap_dead_workers(workers_dir: &Path) -> std::io::Result<()> {
    for (id, live) in workers(workers_dir)? {
        if !live {
            let _ = std::fs::remove_dir_all(workers_dir.join(format!("{id}.claims")));
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
    Ok(workers(workers_dir)?.into_iter().filter(|(_, live)| *live).count())
}
