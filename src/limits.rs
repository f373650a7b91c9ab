//! Per-provider limits shared by every worker on the host: at most
//! `max_concurrency` requests in flight, at most `requests_per_minute`
//! started per minute. A model server that serves one stream at a time
//! (llama-cpp-python interrupts the first stream when a second arrives)
//! then sees one stream at a time, and jobs wait for a slot instead of
//! failing.
//!
//! Both live in files under `workers/limits/`, so they hold across worker
//! processes and survive none of them: a slot is an `flock` on one of N
//! files, which the kernel releases when its holder dies however it dies;
//! the rate is a file of recent start times, read and rewritten under an
//! `flock`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::ProviderConfig;

/// How often a waiting job tries again.
const POLL: Duration = Duration::from_millis(25);

/// A held concurrency slot; dropping it frees the slot. The default
/// holds nothing (a provider without limits).
#[derive(Debug, Default)]
pub struct Slot {
    _lock: Option<File>,
}

/// Why a job has to wait, for its event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    Concurrency { max: u32 },
    Rate { per_minute: u32, for_ms: u64 },
}

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Concurrency { max } => write!(f, "all {max} of its request slots are in use"),
            Self::Rate { per_minute, for_ms } => {
                write!(
                    f,
                    "its {per_minute} requests per minute are used up (next in {:.1} s)",
                    *for_ms as f64 / 1000.0
                )
            }
        }
    }
}

/// The limits of one provider, in one data directory.
#[derive(Debug, Clone)]
pub struct ProviderLimits {
    dir: PathBuf,
    provider: String,
    max_concurrency: Option<u32>,
    requests_per_minute: Option<u32>,
}

impl ProviderLimits {
    /// `workers_dir` is the data directory's `workers/`.
    pub fn new(workers_dir: &Path, provider: &str, cfg: &ProviderConfig) -> Self {
        Self {
            dir: workers_dir.join("limits"),
            provider: provider.to_owned(),
            max_concurrency: cfg.max_concurrency,
            requests_per_minute: cfg.requests_per_minute,
        }
    }

    /// Whether this provider has any limit.
    pub fn is_limited(&self) -> bool {
        self.max_concurrency.is_some() || self.requests_per_minute.is_some()
    }

    /// One try: a slot (and a start within the rate), or why not. Blocking
    /// file I/O: call from a blocking context.
    pub fn try_acquire(&self) -> std::io::Result<Result<Slot, Wait>> {
        if !self.is_limited() {
            return Ok(Ok(Slot { _lock: None }));
        }
        std::fs::create_dir_all(&self.dir)?;
        let lock = match self.max_concurrency {
            None => None,
            Some(max) => match self.free_slot(max)? {
                Some(f) => Some(f),
                None => return Ok(Err(Wait::Concurrency { max })),
            },
        };
        if let Some(per_minute) = self.requests_per_minute
            && let Some(for_ms) = self.take_start(per_minute, now_ms())?
        {
            // The slot goes back while the rate makes the job wait.
            return Ok(Err(Wait::Rate { per_minute, for_ms }));
        }
        Ok(Ok(Slot { _lock: lock }))
    }

    /// Waits for a slot, calling `on_wait` once with the first reason.
    pub async fn acquire(&self, mut on_wait: impl FnMut(&Wait)) -> std::io::Result<Slot> {
        let mut told = false;
        loop {
            let me = self.clone();
            let tried = tokio::task::spawn_blocking(move || me.try_acquire())
                .await
                .map_err(std::io::Error::other)??;
            match tried {
                Ok(slot) => return Ok(slot),
                Err(wait) => {
                    if !told {
                        on_wait(&wait);
                        told = true;
                    }
                    let pause = match wait {
                        Wait::Rate { for_ms, .. } => Duration::from_millis(for_ms.clamp(1, 1000)),
                        Wait::Concurrency { .. } => POLL,
                    };
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    fn free_slot(&self, max: u32) -> std::io::Result<Option<File>> {
        for i in 0..max.max(1) {
            let path = self.dir.join(format!("{}.{i}.lock", self.provider));
            let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Records a start at `now` if fewer than `per_minute` started in the
    /// last minute; else how long until one may (ms).
    fn take_start(&self, per_minute: u32, now: u64) -> std::io::Result<Option<u64>> {
        let path = self.dir.join(format!("{}.starts", self.provider));
        let mut file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path)?;
        file.lock()?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let (wait, kept) = admit(&text, per_minute, now);
        if wait.is_none() {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(kept.as_bytes())?;
        }
        Ok(wait)
    }
}

/// The rate rule over a list of start times (ms, one per line): `None`
/// and the new list with `now` added when a start is allowed, else the
/// wait until the oldest start leaves the minute.
fn admit(text: &str, per_minute: u32, now: u64) -> (Option<u64>, String) {
    let mut starts: Vec<u64> = text
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|t| now.saturating_sub(*t) < 60_000)
        .collect();
    starts.sort_unstable();
    if starts.len() >= per_minute.max(1) as usize {
        let wait = starts[starts.len() - per_minute.max(1) as usize] + 60_000 - now;
        return (Some(wait.max(1)), String::new());
    }
    starts.push(now);
    let kept = starts.iter().fold(String::new(), |mut s, t| {
        s.push_str(&t.to_string());
        s.push('\n');
        s
    });
    (None, kept)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;

    fn limits(dir: &Path, max: Option<u32>, rpm: Option<u32>) -> ProviderLimits {
        let mut cfg: ProviderConfig =
            toml::from_str("kind = \"openai\"\nbase_url = \"http://x/v1\"").unwrap();
        assert_eq!(cfg.kind, ProviderKind::Openai);
        cfg.max_concurrency = max;
        cfg.requests_per_minute = rpm;
        ProviderLimits::new(dir, "p", &cfg)
    }

    #[test]
    fn slots_are_shared_through_files_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        // Two handles stand for two worker processes (flock is per open file).
        let (a, b) = (limits(dir.path(), Some(2), None), limits(dir.path(), Some(2), None));
        let s1 = a.try_acquire().unwrap().unwrap();
        let s2 = b.try_acquire().unwrap().unwrap();
        assert_eq!(a.try_acquire().unwrap().unwrap_err(), Wait::Concurrency { max: 2 });
        drop(s1);
        let s3 = b.try_acquire().unwrap().unwrap();
        drop((s2, s3));
        assert!(!limits(dir.path(), None, None).is_limited());
    }

    #[test]
    fn the_rate_admits_per_minute_starts_then_says_how_long_to_wait() {
        let (mut text, mut waits) = (String::new(), Vec::new());
        for now in [0u64, 10_000, 20_000, 30_000] {
            let (wait, kept) = admit(&text, 3, now);
            match wait {
                None => text = kept,
                Some(w) => waits.push((now, w)),
            }
        }
        assert_eq!(waits, [(30_000, 30_000)], "the 4th start waits until the 1st is a minute old");
        assert_eq!(admit(&text, 3, 60_000).0, None, "a minute later there is room");
        assert!(admit("garbage\n\n12\n", 3, 100).0.is_none(), "a torn file loses nothing but its junk");
    }

    #[test]
    fn a_rate_file_is_shared_between_handles() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (limits(dir.path(), None, Some(2)), limits(dir.path(), None, Some(2)));
        assert!(a.try_acquire().unwrap().is_ok());
        assert!(b.try_acquire().unwrap().is_ok());
        assert!(matches!(a.try_acquire().unwrap(), Err(Wait::Rate { per_minute: 2, .. })));
    }
}
