//! Path confinement: open a file or directory beneath a root folder, and
//! nothing else.
//!
//! Paths are checked by the kernel on the root's directory descriptor, not
//! by comparing strings: `openat2` with `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`, or, on kernels without
//! `openat2`, a walk one component at a time with `O_NOFOLLOW` on directory
//! descriptors. Either way `..`, absolute paths, symlinks (in or out),
//! prefix siblings (`/vault_evil` beside `/vault`) and a symlink swapped in
//! between a check and the use cannot lead outside: the file read is the
//! one the descriptor names. A target is first opened with `O_PATH` and
//! checked to be a regular file (or a directory), so a FIFO or a device is
//! refused without ever being opened for reading.

use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;

use rustix::fd::OwnedFd;
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Why a path was not opened. Messages name the path as the caller gave it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeneathError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("{path}: {why}")]
    Refused { path: String, why: String },
    #[error("{path}: {kind} refused; only regular files are read")]
    NotRegular { path: String, kind: &'static str },
    #[error("{0}: not a directory")]
    NotDirectory(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// How descriptors are resolved beneath the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`.
    Openat2,
    /// One `openat(O_NOFOLLOW)` per component, on directory descriptors.
    Walk,
}

impl Method {
    /// `openat2` when this kernel has it (Linux 5.6+), else the walk.
    pub fn best() -> Method {
        static BEST: OnceLock<Method> = OnceLock::new();
        *BEST.get_or_init(|| {
            let probe = rustix::fs::openat2(
                rustix::fs::CWD,
                ".",
                OFlags::PATH | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::BENEATH,
            );
            match probe {
                Err(Errno::NOSYS | Errno::INVAL | Errno::PERM) => Method::Walk,
                _ => Method::Openat2,
            }
        })
    }
}

/// A root folder, held open by descriptor.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    method: Method,
}

/// A kind of directory entry, as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One entry of a listed directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The path from the root, `/`-separated.
    pub path: String,
    pub kind: Kind,
    /// Bytes, for regular files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

fn io_err(path: &str, e: Errno) -> BeneathError {
    match e {
        Errno::NOENT => BeneathError::NotFound(path.to_owned()),
        Errno::XDEV => BeneathError::Refused { path: path.to_owned(), why: "leads outside the root".into() },
        Errno::LOOP => BeneathError::Refused {
            path: path.to_owned(),
            why: "is or passes through a symlink; symlinks are not followed".into(),
        },
        Errno::NOTDIR => BeneathError::NotDirectory(path.to_owned()),
        Errno::ACCESS | Errno::PERM => {
            BeneathError::Io { path: path.to_owned(), message: "permission denied".into() }
        }
        e => BeneathError::Io { path: path.to_owned(), message: e.to_string() },
    }
}

/// The components of a relative path, `.` and empty ones dropped; `..`,
/// absolute paths and NUL bytes refused.
pub fn components(path: &str) -> Result<Vec<&str>, BeneathError> {
    let refuse = |why: &str| Err(BeneathError::Refused { path: path.to_owned(), why: why.to_owned() });
    if path.contains('\0') {
        return refuse("contains a NUL byte");
    }
    if path.starts_with('/') {
        return refuse("absolute paths are refused; give a path relative to the root");
    }
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return refuse("`..` is refused"),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn kind_of(mode: u32) -> Kind {
    match FileType::from_raw_mode(mode) {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}

fn kind_name(mode: u32) -> &'static str {
    match FileType::from_raw_mode(mode) {
        FileType::Fifo => "a FIFO",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Socket => "a socket",
        FileType::Symlink => "a symlink",
        FileType::Directory => "a directory",
        _ => "a special file",
    }
}

impl Root {
    /// Opens `path` (which may itself be a symlink: the root is the user's
    /// choice) with the best method this kernel has.
    pub fn open(path: &Path) -> Result<Root, BeneathError> {
        Self::open_with(path, Method::best())
    }

    pub fn open_with(path: &Path, method: Method) -> Result<Root, BeneathError> {
        let shown = path.display().to_string();
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| io_err(&shown, e))?;
        Ok(Root { fd, method })
    }

    pub fn method(&self) -> Method {
        self.method
    }

    /// The directory that holds `parts` (all but the last), opened with
    /// `O_PATH` beneath the root.
    fn resolve_dir(&self, rel: &str, parts: &[&str]) -> Result<OwnedFd, BeneathError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if parts.is_empty() {
            return rustix::fs::openat(&self.fd, ".", flags, Mode::empty()).map_err(|e| io_err(rel, e));
        }
        match self.method {
            Method::Openat2 => rustix::fs::openat2(
                &self.fd,
                parts.join("/").as_str(),
                flags,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            )
            .map_err(|e| io_err(rel, e)),
            Method::Walk => {
                let mut cur = rustix::fs::openat(&self.fd, parts[0], flags, Mode::empty())
                    .map_err(|e| io_err(rel, e))?;
                for part in &parts[1..] {
                    cur =
                        rustix::fs::openat(&cur, *part, flags, Mode::empty()).map_err(|e| io_err(rel, e))?;
                }
                Ok(cur)
            }
        }
    }

    /// Opens a regular file beneath the root for reading; returns it and
    /// its size. Anything else (a FIFO, a device, a socket, a directory, a
    /// symlink) is refused, and a FIFO or device is never opened for
    /// reading (see [`open_regular_at`]).
    pub fn open_file(&self, rel: &str) -> Result<(File, u64), BeneathError> {
        let parts = components(rel)?;
        let Some((last, dirs)) = parts.split_last() else {
            return Err(BeneathError::NotRegular { path: rel.to_owned(), kind: "a directory" });
        };
        let dir = self.resolve_dir(rel, dirs)?;
        open_regular_at(&dir, last, rel)
    }

    /// Opens a directory beneath the root (the root itself for `""`).
    pub fn open_dir(&self, rel: &str) -> Result<OwnedFd, BeneathError> {
        let parts = components(rel)?;
        let Some((last, dirs)) = parts.split_last() else {
            return subdir(&self.fd, ".", rel);
        };
        let parent = self.resolve_dir(rel, dirs)?;
        subdir(&parent, last, rel)
    }

    /// Lists the directory `rel`; with `recursive`, the whole tree below it
    /// (symlinked directories are listed, never entered). Names starting
    /// with `.` are left out. At most `limit` entries; the flag says
    /// whether there were more.
    pub fn list(&self, rel: &str, recursive: bool, limit: usize) -> Result<(Vec<Entry>, bool), BeneathError> {
        let base: String = components(rel)?.join("/");
        let dir = self.open_dir(rel)?;
        let mut out = Vec::new();
        let mut more = false;
        walk_dir(&dir, &base, recursive, 0, &mut |entry| {
            if out.len() >= limit {
                more = true;
                return false;
            }
            out.push(entry);
            true
        })?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((out, more))
    }

    /// Calls `visit` with every regular file below `rel` (not following
    /// symlinks, skipping hidden names), opened for reading, until it
    /// returns false.
    pub fn each_file(
        &self,
        rel: &str,
        visit: &mut dyn FnMut(&str, File, u64) -> bool,
    ) -> Result<(), BeneathError> {
        let base: String = components(rel)?.join("/");
        let dir = self.open_dir(rel)?;
        each_file_in(&dir, &base, 0, visit).map(drop)
    }
}

const MAX_DEPTH: usize = 64;

/// Opens `name` in `dir` for reading if it is a regular file. It is first
/// opened with `O_PATH | O_NOFOLLOW` and checked, so a FIFO, a device or a
/// symlink is refused without being opened; then opened for reading and
/// checked to be the very same file, so a swap in between is refused too.
pub fn open_regular_at(dir: &OwnedFd, name: &str, shown: &str) -> Result<(File, u64), BeneathError> {
    let base = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    let probe =
        rustix::fs::openat(dir, name, OFlags::PATH | base, Mode::empty()).map_err(|e| io_err(shown, e))?;
    let st = rustix::fs::fstat(&probe).map_err(|e| io_err(shown, e))?;
    if kind_of(st.st_mode) != Kind::File {
        return Err(BeneathError::NotRegular { path: shown.to_owned(), kind: kind_name(st.st_mode) });
    }
    let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::NONBLOCK | base, Mode::empty())
        .map_err(|e| io_err(shown, e))?;
    let now = rustix::fs::fstat(&fd).map_err(|e| io_err(shown, e))?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) || kind_of(now.st_mode) != Kind::File {
        return Err(BeneathError::Refused {
            path: shown.to_owned(),
            why: "changed while it was being opened".into(),
        });
    }
    Ok((File::from(fd), now.st_size as u64))
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() { name.to_owned() } else { format!("{base}/{name}") }
}

fn entries(dir: &OwnedFd, base: &str) -> Result<Vec<(String, u32, u64)>, BeneathError> {
    let reader = rustix::fs::Dir::read_from(dir).map_err(|e| io_err(base, e))?;
    let mut out = Vec::new();
    for entry in reader {
        let entry = entry.map_err(|e| io_err(base, e))?;
        let name = entry.file_name().to_bytes();
        if name.first() == Some(&b'.') {
            continue;
        }
        let Ok(name) = std::str::from_utf8(name) else { continue };
        let Ok(st) = rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        out.push((name.to_owned(), st.st_mode, st.st_size as u64));
    }
    out.sort();
    Ok(out)
}

fn subdir(dir: &OwnedFd, name: &str, path: &str) -> Result<OwnedFd, BeneathError> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_err(path, e))
}

fn walk_dir(
    dir: &OwnedFd,
    base: &str,
    recursive: bool,
    depth: usize,
    emit: &mut dyn FnMut(Entry) -> bool,
) -> Result<bool, BeneathError> {
    for (name, mode, size) in entries(dir, base)? {
        let path = join(base, &name);
        let kind = kind_of(mode);
        let size = (kind == Kind::File).then_some(size);
        if !emit(Entry { path: path.clone(), kind, size }) {
            return Ok(false);
        }
        if recursive && kind == Kind::Dir && depth < MAX_DEPTH {
            let Ok(sub) = subdir(dir, &name, &path) else { continue };
            if !walk_dir(&sub, &path, true, depth + 1, emit)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn each_file_in(
    dir: &OwnedFd,
    base: &str,
    depth: usize,
    visit: &mut dyn FnMut(&str, File, u64) -> bool,
) -> Result<bool, BeneathError> {
    for (name, mode, _) in entries(dir, base)? {
        let path = join(base, &name);
        match kind_of(mode) {
            Kind::Dir if depth < MAX_DEPTH => {
                let Ok(sub) = subdir(dir, &name, &path) else { continue };
                if !each_file_in(&sub, &path, depth + 1, visit)? {
                    return Ok(false);
                }
            }
            Kind::File => {
                // Checked again on the descriptor: whatever was swapped in
                // since the listing is skipped.
                let Ok((file, size)) = open_regular_at(dir, &name, &path) else { continue };
                if !visit(&path, file, size) {
                    return Ok(false);
                }
            }
            _ => {}
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
