//! The few file-system moves the queue is built from, each one durable.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Flushes a directory's entries (new names, renames) to disk.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `tmp`, checks and fsyncs it, then renames it to `dest`
/// and fsyncs `dest`'s directory. On any error `tmp` is removed, so a failed
/// write leaves nothing behind and `dest` is either absent or complete.
pub fn write_durable(tmp: &Path, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let result = (|| {
        let mut f = File::options().write(true).create_new(true).open(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        // A short write that reported success would be a kernel bug, but a
        // torn job file is the one thing the queue must never publish.
        let len = f.metadata()?.len();
        if len != bytes.len() as u64 {
            return Err(std::io::Error::other(format!(
                "wrote {len} of {} bytes to {}",
                bytes.len(),
                tmp.display()
            )));
        }
        drop(f);
        std::fs::rename(tmp, dest)?;
        sync_dir(parent(dest))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// Renames `from` to `to` and fsyncs both directories.
pub fn rename_durable(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    sync_dir(parent(to))?;
    let (a, b) = (parent(from), parent(to));
    if a != b {
        sync_dir(a)?;
    }
    Ok(())
}

fn parent(p: &Path) -> &Path {
    p.parent().unwrap_or(Path::new("."))
}

/// True for "no such file": the thing another process already moved.
pub fn is_not_found(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}
