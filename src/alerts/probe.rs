//! Reading the state the rules (and `/metrics`) look at: the data
//! directory's free space, the oldest queued job, the live workers.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::engine::Disk;

/// Free and total bytes of the file system under `path` (what an
/// unprivileged process can use: `f_bavail`).
pub fn disk(path: &Path) -> std::io::Result<Disk> {
    let st = rustix::fs::statvfs(path)?;
    Ok(Disk { free_bytes: st.f_bavail * st.f_frsize, total_bytes: st.f_blocks * st.f_frsize })
}

/// How long the job that has waited longest in `queue_dir` has waited:
/// since its file was renamed in (its ctime; a retried job waits from its
/// requeue, not from its creation). `None` when the queue is empty.
pub fn oldest_queued(queue_dir: &Path) -> std::io::Result<Option<Duration>> {
    let now = SystemTime::now();
    let mut oldest: Option<Duration> = None;
    for entry in std::fs::read_dir(queue_dir)? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().ends_with(".json") {
            continue;
        }
        // A job claimed between the listing and this call is not waiting.
        let Ok(meta) = entry.metadata() else { continue };
        let since =
            SystemTime::UNIX_EPOCH + Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32);
        let age = now.duration_since(since).unwrap_or_default();
        oldest = Some(oldest.map_or(age, |o| o.max(age)));
    }
    Ok(oldest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_queued_job_is_measured_from_when_it_was_queued() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(oldest_queued(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        std::fs::write(dir.path().join("ignored.tmp"), "{}").unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let age = oldest_queued(dir.path()).unwrap().unwrap();
        assert!(age >= Duration::from_millis(25) && age < Duration::from_secs(5), "{age:?}");
        let d = disk(dir.path()).unwrap();
        assert!(d.total_bytes > 0 && d.free_bytes <= d.total_bytes, "{d:?}");
    }
}
