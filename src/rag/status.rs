//! `ctl rag status`: what a vault's index holds, and which notes changed
//! on disk since the last reindex.

use std::path::Path;

use serde::Serialize;

use super::{Options, RagError, Reader, walk};

/// How a file differs from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Changed,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub vault: String,
    pub root: String,
    /// Whether an index exists.
    pub indexed: bool,
    pub notes: u64,
    pub chunks: u64,
    pub model: Option<String>,
    pub dims: Option<u64>,
    pub last_reindex: Option<String>,
    /// What `ctl rag reindex --extract` found.
    pub facts: super::db::FactCounts,
    /// Files whose size or mtime differ from the index, and files gone.
    pub changed: Vec<FileChange>,
}

pub fn status(home: &Path, opts: &Options) -> Result<Status, RagError> {
    let mut s = Status {
        vault: opts.vault.clone(),
        root: opts.root.display().to_string(),
        indexed: false,
        notes: 0,
        chunks: 0,
        model: None,
        dims: None,
        last_reindex: None,
        facts: super::db::FactCounts::default(),
        changed: Vec::new(),
    };
    let reader = match Reader::open(home, &opts.vault) {
        Ok(r) => r,
        Err(RagError::NoIndex(_)) => {
            let walked = walk::walk(&opts.root, &opts.exclude).map_err(|e| RagError::io(&opts.root, e))?;
            s.changed =
                walked.files.into_iter().map(|f| FileChange { path: f.rel, change: Change::New }).collect();
            return Ok(s);
        }
        Err(e) => return Err(e),
    };
    s.indexed = true;
    reader.db.begin_read()?;
    let counts = reader.db.counts();
    let files = reader.db.files();
    let skipped = reader.db.skipped()?;
    s.dims = reader.db.meta("dims")?.and_then(|d| d.parse().ok());
    s.last_reindex = reader.db.meta("last_reindex")?;
    let facts = reader.db.fact_counts();
    reader.db.end_read();
    s.facts = facts?;
    (s.notes, s.chunks) = counts?;
    s.model = reader.model;
    let mut files = files?;
    let walked = walk::walk(&opts.root, &opts.exclude).map_err(|e| RagError::io(&opts.root, e))?;
    for f in walked.files {
        match files.remove(&f.rel) {
            None if skipped.get(&f.rel).is_some_and(|(m, sz, _)| *m == f.mtime_ns && *sz == f.size) => {}
            None => s.changed.push(FileChange { path: f.rel, change: Change::New }),
            Some(row) if row.mtime_ns != f.mtime_ns || row.size != f.size => {
                s.changed.push(FileChange { path: f.rel, change: Change::Changed });
            }
            Some(_) => {}
        }
    }
    let mut gone: Vec<String> = files.into_keys().collect();
    gone.sort();
    s.changed.extend(gone.into_iter().map(|path| FileChange { path, change: Change::Deleted }));
    Ok(s)
}
