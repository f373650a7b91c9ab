//! A catalog that follows the user's skill directories without a restart.
//!
//! A thread watches the directories recursively; once events have settled
//! for [`DEBOUNCE`] it reloads, and it rescans every [`RESCAN`] anyway, for
//! events a file system does not deliver and for directories created later.
//! Readers take the current snapshot, an `Arc<Catalog>`, under a read lock
//! held only for the clone: cheap from async handlers, never held across an
//! `.await`.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use notify::Watcher as _;

use super::{Catalog, SkillError};

/// Quiet time after the last file event before a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// The longest a stream of events may delay a reload.
const MAX_SETTLE: Duration = Duration::from_secs(1);
/// Safety-net rescan interval.
pub const RESCAN: Duration = Duration::from_secs(2);

/// A [`Catalog`] kept current. Clones share one watcher, which stops when the
/// last clone is dropped.
#[derive(Clone)]
pub struct LiveCatalog {
    inner: Arc<Inner>,
}

struct Inner {
    dirs: Vec<PathBuf>,
    current: RwLock<Arc<Catalog>>,
    errors: RwLock<Arc<Vec<SkillError>>>,
    wake: Sender<Wake>,
}

enum Wake {
    Changed,
    Stop,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.wake.send(Wake::Stop);
    }
}

impl std::fmt::Debug for LiveCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCatalog")
            .field("dirs", &self.inner.dirs)
            .field("skills", &self.current().len())
            .finish_non_exhaustive()
    }
}

impl LiveCatalog {
    /// Loads the catalog once (blocking: it reads the skill files), then
    /// watches `dirs` on a thread of its own.
    pub fn start(dirs: Vec<PathBuf>) -> LiveCatalog {
        Self::start_with(dirs, true, RESCAN)
    }

    /// `watch: false` leaves only the periodic rescan (for tests of the net).
    fn start_with(dirs: Vec<PathBuf>, watch: bool, rescan: Duration) -> LiveCatalog {
        let (wake, rx) = mpsc::channel();
        // Watch before the first load, so that no change after it is missed.
        let mut watcher = if watch { watcher(wake.clone()) } else { None };
        let mut watched = Vec::new();
        if let Some(w) = watcher.as_mut() {
            rewatch(w, &dirs, &mut watched);
        }
        let (catalog, errors) = Catalog::load(&dirs);
        log_errors(&errors);
        let inner = Arc::new(Inner {
            dirs,
            current: RwLock::new(Arc::new(catalog)),
            errors: RwLock::new(Arc::new(errors)),
            wake,
        });
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("ctl-skills".to_owned())
            .spawn(move || follow(&weak, &rx, watcher, watched, rescan));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the skills watcher, skills will not reload: {e}");
        }
        LiveCatalog { inner }
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<Catalog> {
        self.inner.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The problems found by the last load (broken skills, unreadable
    /// directories).
    pub fn errors(&self) -> Arc<Vec<SkillError>> {
        self.inner.errors.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The directories watched, in search order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.inner.dirs
    }

    /// Reloads now (blocking); true when the catalog changed.
    pub fn reload(&self) -> bool {
        self.inner.reload()
    }
}

impl Inner {
    fn reload(&self) -> bool {
        let (catalog, errors) = Catalog::load(&self.dirs);
        let changed = **self.current.read().unwrap_or_else(PoisonError::into_inner) != catalog;
        if changed {
            tracing::info!(skills = catalog.len(), "skills reloaded");
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(catalog);
        }
        if **self.errors.read().unwrap_or_else(PoisonError::into_inner) != errors {
            log_errors(&errors);
            *self.errors.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(errors);
        }
        changed
    }
}

fn log_errors(errors: &[SkillError]) {
    for e in errors {
        tracing::warn!("skill skipped: {e}");
    }
}

/// The watcher thread: reload after events settle or every `rescan`; stop
/// when the catalog is dropped.
fn follow(
    inner: &Weak<Inner>,
    rx: &Receiver<Wake>,
    mut watcher: Option<notify::RecommendedWatcher>,
    mut watched: Vec<(PathBuf, (u64, u64))>,
    rescan: Duration,
) {
    let Some(dirs) = inner.upgrade().map(|i| i.dirs.clone()) else { return };
    loop {
        if let Some(w) = watcher.as_mut() {
            rewatch(w, &dirs, &mut watched);
        }
        match rx.recv_timeout(rescan) {
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Wake::Changed) => {
                if !settle(rx) {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        let Some(inner) = inner.upgrade() else { return };
        inner.reload();
    }
}

/// A watcher that sends [`Wake::Changed`] on every relevant file event.
fn watcher(tx: Sender<Wake>) -> Option<notify::RecommendedWatcher> {
    notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Our own reads show up as access events; errors (an overflowed
        // queue) call for a rescan like any change.
        let relevant = match res {
            Ok(event) => !matches!(event.kind, notify::EventKind::Access(_)),
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(Wake::Changed);
        }
    })
    .inspect_err(|e| tracing::warn!("cannot watch the skill directories, rescanning only: {e}"))
    .ok()
}

/// Waits until no event came for [`DEBOUNCE`] (at most [`MAX_SETTLE`]);
/// false when told to stop.
fn settle(rx: &Receiver<Wake>) -> bool {
    let deadline = Instant::now() + MAX_SETTLE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        match rx.recv_timeout(DEBOUNCE.min(left)) {
            Ok(Wake::Changed) => {}
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Err(RecvTimeoutError::Timeout) => return true,
        }
    }
}

/// Watches each existing directory once; a directory that disappeared or
/// was replaced (another inode) is watched afresh.
fn rewatch(w: &mut notify::RecommendedWatcher, dirs: &[PathBuf], watched: &mut Vec<(PathBuf, (u64, u64))>) {
    watched.retain(|(dir, id)| {
        let same = identity(dir) == Some(*id);
        if !same {
            let _ = w.unwatch(dir);
        }
        same
    });
    for dir in dirs {
        if watched.iter().any(|(d, _)| d == dir) {
            continue;
        }
        if let Some(id) = identity(dir)
            && w.watch(dir, notify::RecursiveMode::Recursive).is_ok()
        {
            watched.push((dir.clone(), id));
        }
    }
}

/// (device, inode) of a directory, if it is one.
fn identity(dir: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(dir).ok().filter(std::fs::Metadata::is_dir).map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
