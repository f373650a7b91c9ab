//! Finding a vault's notes: `*.md` files below the root, minus the
//! excluded paths. Symlinks are followed only when they resolve to a file
//! inside the vault; a link that leaves it (or any link to a folder) is
//! skipped with a warning.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A note file found in the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Path from the vault root, `/`-separated.
    pub rel: String,
    pub abs: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
}

/// What the walk found, and what it skipped and why.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<Found>,
    pub warnings: Vec<String>,
}

/// Whether `rel` (a `/`-separated path, `is_dir` for folders) matches any
/// exclude pattern.
pub fn excluded(rel: &str, is_dir: bool, patterns: &[String]) -> bool {
    patterns.iter().any(|p| {
        if let Some(name) = p.strip_suffix('/') {
            // A folder name at any depth (or a folder path from the root).
            let parts: Vec<&str> = rel.split('/').collect();
            let dirs = if is_dir { &parts[..] } else { &parts[..parts.len().saturating_sub(1)] };
            if name.contains('/') {
                rel.starts_with(&format!("{name}/")) || (is_dir && rel == name)
            } else {
                dirs.iter().any(|d| glob(name, d))
            }
        } else {
            glob(p, rel) || (!p.contains('/') && rel.rsplit('/').next().is_some_and(|n| glob(p, n)))
        }
    })
}

/// `*` (within a segment), `**` (any segments) and `?`.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                let rest = if p.get(2) == Some(&b'/') { &p[3..] } else { &p[2..] };
                (0..=t.len()).any(|i| (i == 0 || t[i - 1] == b'/') && go(rest, &t[i..])) || go(rest, t)
            }
            Some(b'*') => {
                (0..=t.len()).take_while(|&i| i == 0 || t[i - 1] != b'/').any(|i| go(&p[1..], &t[i..]))
            }
            Some(b'?') => !t.is_empty() && t[0] != b'/' && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Walks the vault at `root`.
pub fn walk(root: &Path, exclude: &[String]) -> std::io::Result<Walk> {
    let canon_root = root.canonicalize()?;
    let mut out = Walk::default();
    let mut stack = vec![(canon_root.clone(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if rel_dir.is_empty() => return Err(e),
            Err(e) => {
                out.warnings.push(format!("{rel_dir}/: cannot read the folder: {e}"));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    out.warnings.push(format!("{rel_dir}/: {e}"));
                    continue;
                }
            };
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                out.warnings.push(format!(
                    "{rel_dir}/{}: the name is not UTF-8; skipped",
                    entry.file_name().display()
                ));
                continue;
            };
            let rel = if rel_dir.is_empty() { name.clone() } else { format!("{rel_dir}/{name}") };
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                if !excluded(&rel, true, exclude) {
                    stack.push((path, rel));
                }
                continue;
            }
            if !name.to_lowercase().ends_with(".md") || excluded(&rel, false, exclude) {
                continue;
            }
            let meta = if meta.file_type().is_symlink() {
                match path.canonicalize() {
                    Ok(target) if target.starts_with(&canon_root) => match std::fs::metadata(&target) {
                        Ok(m) if m.is_file() => m,
                        _ => continue,
                    },
                    Ok(_) => {
                        out.warnings.push(format!("{rel}: a symlink that leaves the vault; not followed"));
                        continue;
                    }
                    Err(_) => {
                        out.warnings.push(format!("{rel}: a broken symlink; skipped"));
                        continue;
                    }
                }
            } else if meta.is_file() {
                meta
            } else {
                continue;
            };
            out.files.push(Found {
                rel,
                abs: path,
                size: meta.len(),
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            });
        }
    }
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_patterns() {
        let ex: Vec<String> = vec![".obsidian/".into(), "drafts/**/*.md".into(), "*.excalidraw.md".into()];
        assert!(excluded(".obsidian", true, &ex));
        assert!(excluded("a/.obsidian/x.md", false, &ex));
        assert!(excluded("drafts/a/b.md", false, &ex));
        assert!(excluded("drafts/b.md", false, &ex));
        assert!(excluded("x/y.excalidraw.md", false, &ex));
        assert!(!excluded("notes/b.md", false, &ex));
        assert!(glob("a/*/c", "a/b/c") && !glob("a/*/c", "a/b/x/c") && glob("a/**/c", "a/b/x/c"));
    }
}
