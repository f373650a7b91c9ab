//! `ctl rag reindex`: bring a vault's index up to date, incrementally.
//!
//! 1. Take the vault's writer lock (a second reindex finds it held, says
//!    so and stops).
//! 2. Walk the vault; a file whose size and mtime match the index is not
//!    read; a file whose bytes hash the same is not parsed.
//! 3. Chunk what changed; embed only the chunk hashes the index does not
//!    hold, in batches, several requests in flight. Each batch's vectors
//!    are made durable, then recorded, so a killed run keeps them.
//! 4. One transaction switches the notes, their chunks, the graph rows and
//!    the deletes; readers see the old index until it commits.
//!
//! `--full` builds a new generation beside the current one and switches
//! `CURRENT` to it by rename when it is complete.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use super::chunk::{self, Sizes};
use super::db::{Commit, Db, FileUpdate};
use super::vectors::PointMeta;
use super::walk::walk;
use super::{Embedder, RagError, VaultDir, parse};
use crate::config::{GraphBackend, VectorBackend};

/// What a reindex is told.
pub struct Options {
    pub vault: String,
    pub root: PathBuf,
    pub exclude: Vec<String>,
    pub max_file_bytes: u64,
    pub sizes: Sizes,
    pub full: bool,
    pub batch: usize,
    pub concurrency: usize,
    pub passage_prefix: String,
    pub query_prefix: String,
    /// Where a new index keeps its vectors and its graph (an existing
    /// index keeps what it was built with; a change needs `--full`).
    pub vectors: VectorBackend,
    pub graph: GraphBackend,
    /// Called with (chunks embedded, chunks to embed) as batches finish.
    pub progress: Option<Arc<dyn Fn(u64, u64) + Send + Sync>>,
}

/// What a reindex did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub vault: String,
    /// Another reindex of this vault held the lock; nothing was done.
    pub busy: bool,
    pub notes_new: u64,
    pub notes_changed: u64,
    pub notes_unchanged: u64,
    pub notes_renamed: u64,
    pub notes_deleted: u64,
    pub notes_skipped: u64,
    pub chunks_embedded: u64,
    pub chunks_removed: u64,
    pub embed_calls: u64,
    pub elapsed_ms: u64,
    pub warnings: Vec<String>,
}

/// Debug builds only: `CTL_TEST_RAG_PAUSE_AT=<point>` writes
/// `<vault dir>/paused-<point>` and stops there, so a crash test can kill
/// the process at that moment.
async fn pause_point(dir: &Path, point: &str) {
    if cfg!(debug_assertions) && std::env::var("CTL_TEST_RAG_PAUSE_AT").is_ok_and(|p| p == point) {
        let _ = std::fs::write(dir.join(format!("paused-{point}")), std::process::id().to_string());
        std::future::pending::<()>().await;
    }
}

/// A file that changed, parsed and chunked.
struct Planned {
    update: FileUpdate,
    new: bool,
}

/// Runs one reindex of a vault.
pub async fn reindex(home: &Path, embedder: &Embedder, opts: Options) -> Result<Report, RagError> {
    let started = Instant::now();
    let vdir = VaultDir::new(home, &opts.vault);
    let Some(lock) = vdir.lock_writer()? else {
        return Ok(Report { vault: opts.vault, busy: true, ..Report::default() });
    };

    let current = vdir.current();
    let (gen_dir, fresh) = match (&current, opts.full) {
        (Some(dir), false) => (dir.clone(), false),
        _ => (vdir.new_generation().map_err(|e| RagError::io(vdir.path(), e))?, true),
    };

    let mut report = Report { vault: opts.vault.clone(), ..Report::default() };
    let mut db = Db::open(&gen_dir, true)?;
    let mut gen_dir = gen_dir;
    if fresh && check_model(&db, embedder, &opts, &gen_dir).is_err() {
        // An interrupted build with other settings: start it over.
        drop(db);
        vdir.discard_building();
        gen_dir = vdir.new_generation().map_err(|e| RagError::io(vdir.path(), e))?;
        db = Db::open(&gen_dir, true)?;
    }
    check_model(&db, embedder, &opts, &gen_dir)?;
    let slots = db.slots()?;
    let dims: Option<usize> = db.meta("dims")?.and_then(|d| d.parse().ok());
    let mut store = match dims {
        Some(d) => {
            let mut s = super::open_vectors(&db, &gen_dir, d, true)?;
            s.truncate(slots).map_err(|e| RagError::io(&gen_dir, e))?;
            Some(s)
        }
        None => None,
    };
    let graph = super::open_graph(&db)?;

    // Walk and plan on the blocking pool: stats, reads, parsing.
    let (plan, db) = {
        let root = opts.root.clone();
        let exclude = opts.exclude.clone();
        let (cap, sizes) = (opts.max_file_bytes, opts.sizes);
        tokio::task::spawn_blocking(move || plan(&db, &root, &exclude, cap, sizes).map(|p| (p, db)))
            .await
            .map_err(|e| RagError::Other(format!("reindex task failed: {e}")))??
    };
    let Plan { planned, restat, deletes, renamed, skipped, unchanged, warnings } = plan;
    report.warnings =
        skipped.iter().map(|(p, _, _, why)| format!("{p}: {why}; skipped")).chain(warnings).collect();
    report.notes_skipped = skipped.len() as u64;
    report.notes_unchanged = unchanged;
    report.notes_renamed = renamed;
    report.notes_deleted = deletes.len() as u64 - renamed;
    report.notes_new = planned.iter().filter(|p| p.new).count() as u64 - renamed;
    report.notes_changed = planned.iter().filter(|p| !p.new).count() as u64;

    // The chunks no earlier run embedded, each once, with where they sit.
    let mut seen = HashSet::new();
    let places: HashMap<&str, (&str, &str)> = planned
        .iter()
        .flat_map(|p| {
            p.update.chunks.iter().map(|c| (c.hash.as_str(), (p.update.path.as_str(), c.heading.as_str())))
        })
        .collect();
    let wanted: Vec<(String, String, u32)> = {
        let all: HashSet<&str> =
            planned.iter().flat_map(|p| p.update.chunks.iter().map(|c| c.hash.as_str())).collect();
        let have = db.embedded(&all)?;
        planned
            .iter()
            .flat_map(|p| &p.update.chunks)
            .filter(|c| !have.contains(&c.hash) && seen.insert(c.hash.clone()))
            .map(|c| (c.hash.clone(), c.text.clone(), c.tokens))
            .collect()
    };

    let total = wanted.len() as u64;
    if let Some(p) = &opts.progress {
        p(0, total);
    }
    let db = Arc::new(Mutex::new(db));
    let mut next_slot = slots;
    let batches: Vec<Vec<(String, String, u32)>> =
        wanted.chunks(opts.batch.max(1)).map(<[_]>::to_vec).collect();
    let prefix = opts.passage_prefix.clone();
    let mut results = futures_util::stream::iter(batches.into_iter().map(|batch| {
        let texts: Vec<String> = batch.iter().map(|(_, t, _)| format!("{prefix}{t}")).collect();
        async move { embedder.embed(texts).await.map(|v| (batch, v)) }
    }))
    .buffered(opts.concurrency.max(1));
    let mut done = 0u64;
    while let Some(result) = results.next().await {
        let (batch, vectors) =
            result.map_err(|e| RagError::Embed { message: e.message, kept: done, left: total - done })?;
        let d = vectors.first().map_or(0, Vec::len);
        if store.is_none() {
            if d == 0 {
                return Err(RagError::Other("the embedding server returned empty vectors".into()));
            }
            lock_db(&db).set_meta(&[("dims", &d.to_string())])?;
            let opened = super::open_vectors(&lock_db(&db), &gen_dir, d, true)?;
            store = Some(opened);
        }
        let s = store.take().expect("opened above");
        if d != s.dims() {
            return Err(RagError::Mismatch(format!(
                "the index of vault {} holds {}-dimension vectors and {} returned {d}",
                opts.vault,
                s.dims(),
                embedder.name
            )));
        }
        let first = next_slot;
        let n = batch.len() as u64;
        let (dbc, dir) = (db.clone(), gen_dir.clone());
        let meta: Vec<PointMeta> = batch
            .iter()
            .map(|(hash, _, _)| {
                let (path, heading) = places.get(hash.as_str()).copied().unwrap_or_default();
                PointMeta { hash: hash.clone(), path: path.to_owned(), heading: heading.to_owned() }
            })
            .collect();
        // The vectors are durable before the rows that point at them.
        let (s, stored) = tokio::task::spawn_blocking(move || {
            let mut s = s;
            let r = s.put_chunks(first, &vectors, &meta).map_err(|e| RagError::io(&dir, e));
            let r = r.and_then(|()| lock_db(&dbc).add_chunks(first, &batch).map_err(RagError::from));
            (s, r)
        })
        .await
        .map_err(|e| RagError::Other(format!("reindex task failed: {e}")))?;
        store = Some(s);
        stored?;
        next_slot += n;
        done += n;
        if let Some(p) = &opts.progress {
            p(done, total);
        }
        pause_point(vdir.path(), "after_batch").await;
    }
    drop(results);
    drop(places);
    report.chunks_embedded = done;
    report.embed_calls = embedder.calls();

    pause_point(vdir.path(), "before_commit").await;
    let commit = Commit {
        upserts: planned.into_iter().map(|p| p.update).collect(),
        restat,
        deletes,
        skipped,
        finished_at: jiff::Timestamp::now().to_string(),
    };
    let db = Arc::try_unwrap(db).map_err(|_| RagError::Other("index still in use".into()))?;
    let db = db.into_inner().unwrap_or_else(PoisonError::into_inner);
    let removed = tokio::task::spawn_blocking(move || -> Result<Vec<String>, RagError> {
        // A server's graph first: its writes are idempotent, so if the
        // index commit below never happens the next run writes them again.
        if let Some(g) = &graph {
            let upserts: Vec<(&str, &parse::Note)> =
                commit.upserts.iter().map(|u| (u.path.as_str(), &u.note)).collect();
            g.apply(&super::graph::GraphUpdate { upserts: &upserts, deletes: &commit.deletes })?;
        }
        Ok(db.commit(&commit)?)
    })
    .await
    .map_err(|e| RagError::Other(format!("reindex task failed: {e}")))??;
    report.chunks_removed = removed.len() as u64;
    if let Some(mut s) = store {
        // Points of chunks no note holds; a failure leaves points no reader
        // maps to a note, so it is a warning.
        let r = tokio::task::spawn_blocking(move || s.remove(&removed)).await;
        if let Ok(Err(e)) = r {
            report.warnings.push(format!("removing vectors of deleted chunks: {e}"));
        }
    }
    if fresh {
        let old = current.filter(|c| *c != gen_dir).map(|c| old_meta(&c));
        vdir.switch_to(&gen_dir).map_err(|e| RagError::io(vdir.path(), e))?;
        if let Some(old) = old {
            let warnings =
                tokio::task::spawn_blocking(move || super::retire_remote(&old)).await.unwrap_or_default();
            report.warnings.extend(warnings);
        }
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    drop(lock);
    Ok(report)
}

/// The store settings an old generation recorded.
fn old_meta(dir: &Path) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Ok(db) = Db::open(dir, false) {
        for key in [
            super::VECTOR_STORE_KEY,
            super::GRAPH_STORE_KEY,
            super::QDRANT_COLLECTION_KEY,
            super::NEO4J_VAULT_KEY,
        ] {
            if let Ok(Some(v)) = db.meta(key) {
                out.insert(key.to_owned(), v);
            }
        }
    }
    out
}

fn lock_db(db: &Mutex<Db>) -> std::sync::MutexGuard<'_, Db> {
    db.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Refuses an index built with another model or prefixes; records them in
/// a new one.
fn check_model(db: &Db, embedder: &Embedder, opts: &Options, gen_dir: &Path) -> Result<(), RagError> {
    let vectors = match opts.vectors {
        VectorBackend::Embedded => "embedded",
        VectorBackend::Qdrant => "qdrant",
    };
    let graph = match opts.graph {
        GraphBackend::Embedded => "embedded",
        GraphBackend::Neo4j => "neo4j",
    };
    let want = [
        ("model", embedder.name.as_str()),
        ("query_prefix", opts.query_prefix.as_str()),
        ("passage_prefix", opts.passage_prefix.as_str()),
        (super::VECTOR_STORE_KEY, vectors),
        (super::GRAPH_STORE_KEY, graph),
    ];
    match db.meta("model")? {
        None => {
            let generation = gen_dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let collection = super::qdrant::collection_name(&opts.vault, generation);
            let namespace = format!("{}/{generation}", opts.vault);
            db.set_meta(&want)?;
            db.set_meta(&[
                (super::QDRANT_COLLECTION_KEY, &collection),
                (super::NEO4J_VAULT_KEY, &namespace),
            ])?;
        }
        Some(model) => {
            for (key, value) in want {
                let mut have = db.meta(key)?.unwrap_or_default();
                if have.is_empty() && (key == super::VECTOR_STORE_KEY || key == super::GRAPH_STORE_KEY) {
                    // Indexes from before the choice existed are embedded.
                    have = "embedded".into();
                }
                if have != value {
                    return Err(RagError::Mismatch(format!(
                        "the index of vault {} was built with {key} {have:?} (model {model}) and the config says {value:?}",
                        opts.vault
                    )));
                }
            }
        }
    }
    Ok(())
}

/// What the walk found to do.
struct Plan {
    planned: Vec<Planned>,
    restat: Vec<(String, i64, u64)>,
    deletes: Vec<String>,
    renamed: u64,
    skipped: Vec<(String, i64, u64, String)>,
    unchanged: u64,
    warnings: Vec<String>,
}

fn plan(db: &Db, root: &Path, exclude: &[String], cap: u64, sizes: Sizes) -> Result<Plan, RagError> {
    let walked = walk(root, exclude).map_err(|e| RagError::io(root, e))?;
    let warnings = walked.warnings;
    let mut old = db.files()?;
    let mut planned = Vec::new();
    let mut restat = Vec::new();
    let was_skipped = db.skipped()?;
    let mut skipped = Vec::new();
    let mut unchanged = 0u64;
    for f in walked.files {
        let before = old.remove(&f.rel);
        if let Some(b) = &before
            && b.mtime_ns == f.mtime_ns
            && b.size == f.size
        {
            unchanged += 1;
            continue;
        }
        if let Some((mtime, size, why)) = was_skipped.get(&f.rel)
            && *mtime == f.mtime_ns
            && *size == f.size
        {
            skipped.push((f.rel.clone(), f.mtime_ns, f.size, why.clone()));
            if let Some(b) = before {
                old.insert(f.rel.clone(), b);
            }
            continue;
        }
        let text = match read_note(&f, cap) {
            Ok(t) => t,
            Err(why) => {
                skipped.push((f.rel.clone(), f.mtime_ns, f.size, why));
                // The index keeps what it had of a note it cannot read now.
                if let Some(b) = before {
                    old.insert(f.rel.clone(), b);
                }
                continue;
            }
        };
        let content_hash = chunk::content_hash(&text);
        if let Some(b) = &before
            && b.content_hash == content_hash
        {
            restat.push((f.rel.clone(), f.mtime_ns, f.size));
            unchanged += 1;
            continue;
        }
        let stem = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        let stem = stem.get(..stem.len() - 3).unwrap_or(stem);
        let note = parse::parse(&text, stem);
        let chunks = chunk::chunk(&text, &note, sizes);
        planned.push(Planned {
            new: before.is_none(),
            update: FileUpdate {
                path: f.rel,
                mtime_ns: f.mtime_ns,
                size: f.size,
                content_hash,
                note,
                chunks,
            },
        });
    }
    // What is left of the old files is gone; a new file with a gone file's
    // bytes is that file renamed or moved.
    let mut gone: BTreeMap<String, String> = old.into_iter().map(|(p, r)| (p, r.content_hash)).collect();
    let mut by_hash: HashMap<&str, usize> = HashMap::new();
    for h in gone.values() {
        *by_hash.entry(h.as_str()).or_default() += 1;
    }
    let mut renamed = 0u64;
    for p in planned.iter().filter(|p| p.new) {
        if let Some(n) = by_hash.get_mut(p.update.content_hash.as_str())
            && *n > 0
        {
            *n -= 1;
            renamed += 1;
        }
    }
    let deletes: Vec<String> = std::mem::take(&mut gone).into_keys().collect();
    Ok(Plan { planned, restat, deletes, renamed, skipped, unchanged, warnings })
}

/// A note's text, or why it is skipped.
fn read_note(f: &super::walk::Found, cap: u64) -> Result<String, String> {
    if f.size > cap {
        return Err(format!("{} bytes, over the {cap}-byte cap", f.size));
    }
    let bytes = std::fs::read(&f.abs).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.contains(&0) {
        return Err("binary content".into());
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8".into())
}
