//! The data directory: where every part of ctl keeps its state.
//!
//! ```text
//! queue/_tmp _queue _active _completed _failed _corrupt _cancel
//! events/<id>.ndjson    workers/<id>.lock    ctl.db
//! ```
//!
//! Everything must sit on one filesystem, because the queue moves files by
//! `rename`, which is atomic only within one.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Queue subdirectories, in the order they are created.
pub const QUEUE_DIRS: &[&str] =
    &["_tmp", "_queue", "_active", "_completed", "_failed", "_corrupt", "_cancel"];

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("cannot create data directory {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error(
        "{a} and {b} are on different filesystems; ctl needs its whole data directory on one \
         (the queue moves files with rename)"
    )]
    CrossDevice { a: PathBuf, b: PathBuf },
    #[error("no data directory: pass --home, set CTL_HOME, or set HOME")]
    NoHome,
}

/// The paths of one data directory.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// Opens (creating as needed) the data directory and checks that it
    /// sits on one filesystem.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, HomeError> {
        let home = Self { root: root.into() };
        let mut dirs = vec![home.root.clone(), home.events_dir(), home.workers_dir(), home.queue_root()];
        dirs.extend(QUEUE_DIRS.iter().map(|d| home.queue_root().join(d)));
        for dir in &dirs {
            std::fs::create_dir_all(dir).map_err(|source| HomeError::Create { path: dir.clone(), source })?;
        }
        home.check_one_filesystem(&dirs)?;
        Ok(home)
    }

    fn check_one_filesystem(&self, dirs: &[PathBuf]) -> Result<(), HomeError> {
        let dev = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.dev())
                .map_err(|source| HomeError::Create { path: p.to_path_buf(), source })
        };
        let root_dev = dev(&self.root)?;
        for dir in dirs {
            if dev(dir)? != root_dev {
                return Err(HomeError::CrossDevice { a: self.root.clone(), b: dir.clone() });
            }
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn queue_root(&self) -> PathBuf {
        self.root.join("queue")
    }

    pub fn events_dir(&self) -> PathBuf {
        self.root.join("events")
    }

    pub fn events_path(&self, id: &str) -> PathBuf {
        self.events_dir().join(format!("{id}.ndjson"))
    }

    pub fn workers_dir(&self) -> PathBuf {
        self.root.join("workers")
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join("ctl.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_layout() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::open(dir.path().join("h")).unwrap();
        for d in QUEUE_DIRS {
            assert!(home.queue_root().join(d).is_dir(), "{d}");
        }
        assert!(home.events_dir().is_dir());
        assert!(home.workers_dir().is_dir());
    }

    #[test]
    fn refuses_a_split_home() {
        // /dev/shm is a tmpfs on Linux; a queue dir symlinked there is on another filesystem.
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir_in(shm).unwrap();
        let root = dir.path().join("h");
        std::fs::create_dir_all(root.join("queue")).unwrap();
        std::os::unix::fs::symlink(other.path(), root.join("queue/_active")).unwrap();
        if std::fs::metadata(other.path()).unwrap().dev() == std::fs::metadata(dir.path()).unwrap().dev() {
            return;
        }
        let err = Home::open(&root).unwrap_err();
        assert!(matches!(err, HomeError::CrossDevice { .. }), "{err}");
    }
}
