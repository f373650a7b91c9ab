//! The index database of one vault (`index.db`, SQLite in WAL mode): the
//! chunks by content hash with their FTS5 rows, the path → chunk table,
//! the graph tables (notes, aliases, tags, headings, links) and the
//! metadata (model, dimensions, prefixes, committed vector slots).
//!
//! A chunk row exists as soon as its vector is durable, so a killed
//! reindex keeps what it embedded; a chunk is visible to queries only once
//! a `file_chunks` row points at it, and those change in one transaction
//! per reindex, so readers see the previous index until it commits.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::chunk::Chunk;
use super::parse::{Note, link_key};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, slot INTEGER NOT NULL UNIQUE,
    text TEXT NOT NULL, tokens INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
-- A note's names (title, aliases, file name), found by path through name_ids.
CREATE VIRTUAL TABLE IF NOT EXISTS names_fts USING fts5(name, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS name_ids (path TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    content_hash TEXT NOT NULL, title TEXT NOT NULL, key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_key ON files(key);
CREATE INDEX IF NOT EXISTS files_title ON files(lower(title));
CREATE TABLE IF NOT EXISTS file_chunks (
    path TEXT NOT NULL, ord INTEGER NOT NULL, hash TEXT NOT NULL, heading TEXT NOT NULL,
    line_start INTEGER NOT NULL, line_end INTEGER NOT NULL, PRIMARY KEY (path, ord));
CREATE INDEX IF NOT EXISTS file_chunks_hash ON file_chunks(hash);
CREATE TABLE IF NOT EXISTS aliases (path TEXT NOT NULL, alias TEXT NOT NULL, key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS aliases_path ON aliases(path);
CREATE INDEX IF NOT EXISTS aliases_key ON aliases(key);
CREATE TABLE IF NOT EXISTS tags (path TEXT NOT NULL, tag TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tags_path ON tags(path);
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag);
CREATE TABLE IF NOT EXISTS headings (path TEXT NOT NULL, level INTEGER NOT NULL, text TEXT NOT NULL, line INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS headings_path ON headings(path);
CREATE TABLE IF NOT EXISTS links (
    src TEXT NOT NULL, target TEXT NOT NULL, target_key TEXT NOT NULL, heading TEXT,
    alias TEXT, embed INTEGER NOT NULL, line INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS links_src ON links(src);
CREATE INDEX IF NOT EXISTS links_target ON links(target_key);
CREATE TABLE IF NOT EXISTS skipped (path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS extracted (hash TEXT PRIMARY KEY, model TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (hash TEXT NOT NULL, name TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entities_key ON entities(key);
CREATE INDEX IF NOT EXISTS entities_hash ON entities(hash);
CREATE TABLE IF NOT EXISTS relations (
    hash TEXT NOT NULL, subject TEXT NOT NULL, predicate TEXT NOT NULL, object TEXT NOT NULL,
    subject_key TEXT NOT NULL, object_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS relations_subject ON relations(subject_key);
CREATE INDEX IF NOT EXISTS relations_object ON relations(object_key);
CREATE INDEX IF NOT EXISTS relations_hash ON relations(hash);
";

/// An entity a model found in a chunk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entity {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// A relation a model found in a chunk: `subject predicate object`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Relation {
    pub subject: String,
    pub predicate: String,
    pub object: String,
}

/// The text a note is found by name with: its title, aliases and file
/// name (without folders or `.md`; the tokenizer splits `npm-install` and
/// `package.json` into words).
fn names(path: &str, title: &str, aliases: &[String]) -> String {
    let stem = path.rsplit('/').next().unwrap_or(path);
    let stem = stem.strip_suffix(".md").unwrap_or(stem);
    let mut out = vec![title, stem];
    out.extend(aliases.iter().map(String::as_str));
    out.join("\n")
}

/// The lowercase, space-normalised form entities are matched by.
pub fn entity_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A chunk waiting for extraction.
#[derive(Debug, Clone)]
pub struct Pending {
    pub hash: String,
    pub text: String,
    pub tokens: u32,
}

/// What the fact tables hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FactCounts {
    /// Live chunks extracted (with any model).
    pub chunks: u64,
    pub entities: u64,
    pub relations: u64,
}

/// A file as the index last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub mtime_ns: i64,
    pub size: u64,
    pub content_hash: String,
}

/// A note's new state, written by [`Db::commit`].
#[derive(Debug, Clone)]
pub struct FileUpdate {
    pub path: String,
    pub mtime_ns: i64,
    pub size: u64,
    pub content_hash: String,
    pub note: Note,
    pub chunks: Vec<Chunk>,
}

/// Everything one reindex changes, applied in one transaction.
#[derive(Debug, Default)]
pub struct Commit {
    pub upserts: Vec<FileUpdate>,
    /// Files whose content is unchanged but whose stat changed.
    pub restat: Vec<(String, i64, u64)>,
    pub deletes: Vec<String>,
    /// Every file skipped in this run: (path, mtime, size, why).
    pub skipped: Vec<(String, i64, u64, String)>,
    pub finished_at: String,
}

/// One place a chunk sits in a note.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub path: String,
    pub ord: u32,
    pub hash: String,
    pub heading: String,
    pub line_start: u32,
    pub line_end: u32,
    pub tokens: u32,
    pub slot: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("index database {path}: {source}")]
pub struct DbError {
    pub path: String,
    pub source: rusqlite::Error,
}

pub struct Db {
    conn: Connection,
    path: String,
}

type R<T> = Result<T, DbError>;

/// Matches a lexical query scores at most, when its words allow (see
/// [`Db::selective`]).
const MAX_POSTINGS: usize = 10_000;

impl Db {
    /// Opens the database; `write` creates it and its schema.
    pub fn open(dir: &Path, write: bool) -> R<Self> {
        let file = dir.join("index.db");
        let path = file.display().to_string();
        let wrap = |source| DbError { path: path.clone(), source };
        let conn = if write {
            Connection::open(&file)
        } else {
            Connection::open_with_flags(
                &file,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        }
        .map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(wrap)?;
        if write {
            conn.pragma_update(None, "journal_mode", "WAL").map_err(wrap)?;
            conn.pragma_update(None, "synchronous", "NORMAL").map_err(wrap)?;
            conn.execute_batch(SCHEMA).map_err(wrap)?;
        }
        let db = Self { conn, path };
        if write {
            db.backfill_names()?;
        }
        Ok(db)
    }

    /// Fills the names index of an index made before it existed (its
    /// notes are not re-read: the names come from the graph tables).
    fn backfill_names(&self) -> R<()> {
        let empty = self
            .conn
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM names_fts) AND EXISTS (SELECT 1 FROM files)",
                [],
                |r| r.get::<_, bool>(0),
            )
            .map_err(|e| self.wrap(e))?;
        if !empty {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(|e| self.wrap(e))?;
        let rows: Vec<(String, String)> = tx
            .prepare("SELECT path, title FROM files")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).and_then(Iterator::collect))
            .map_err(|e| self.wrap(e))?;
        for (path, title) in rows {
            let aliases: Vec<String> = tx
                .prepare_cached("SELECT alias FROM aliases WHERE path = ?1")
                .and_then(|mut s| s.query_map([&path], |r| r.get(0)).and_then(Iterator::collect))
                .map_err(|e| self.wrap(e))?;
            for (sql, p) in [
                ("INSERT INTO names_fts (name) VALUES (?1)", names(&path, &title, &aliases)),
                ("INSERT INTO name_ids (path, id) VALUES (?1, last_insert_rowid())", path),
            ] {
                tx.prepare_cached(sql).and_then(|mut s| s.execute([p])).map_err(|e| self.wrap(e))?;
            }
        }
        tx.commit().map_err(|e| self.wrap(e))
    }

    fn wrap(&self, source: rusqlite::Error) -> DbError {
        DbError { path: self.path.clone(), source }
    }

    pub fn meta(&self, key: &str) -> R<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.wrap(e))
    }

    pub fn set_meta(&self, pairs: &[(&str, &str)]) -> R<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.wrap(e))?;
        for (k, v) in pairs {
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![k, v])
                .map_err(|e| self.wrap(e))?;
        }
        tx.commit().map_err(|e| self.wrap(e))
    }

    /// Vector slots that committed chunk rows may use.
    pub fn slots(&self) -> R<u64> {
        Ok(self.meta("slots")?.and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    pub fn files(&self) -> R<HashMap<String, FileRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, mtime_ns, size, content_hash FROM files")
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    FileRow {
                        mtime_ns: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        content_hash: r.get(3)?,
                    },
                ))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.wrap(e))?;
        Ok(rows)
    }

    /// Files the last reindex skipped: path → (mtime, size, why).
    pub fn skipped(&self) -> R<HashMap<String, (i64, u64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, mtime_ns, size, reason FROM skipped")
            .map_err(|e| self.wrap(e))?;
        stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get::<_, i64>(2)? as u64, r.get(3)?))))
            .and_then(Iterator::collect)
            .map_err(|e| self.wrap(e))
    }

    /// Which of `hashes` already have an embedded chunk.
    pub fn embedded(&self, hashes: &HashSet<&str>) -> R<HashSet<String>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT 1 FROM chunks WHERE hash = ?1").map_err(|e| self.wrap(e))?;
        let mut out = HashSet::new();
        for h in hashes {
            if stmt.exists([h]).map_err(|e| self.wrap(e))? {
                out.insert((*h).to_owned());
            }
        }
        Ok(out)
    }

    /// Records freshly embedded chunks whose vectors sit, durable, in the
    /// slots from `first`; one transaction.
    pub fn add_chunks(&self, first: u64, chunks: &[(String, String, u32)]) -> R<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.wrap(e))?;
        {
            let mut ins = tx
                .prepare_cached("INSERT INTO chunks (hash, slot, text, tokens) VALUES (?1, ?2, ?3, ?4)")
                .map_err(|e| self.wrap(e))?;
            let mut fts = tx
                .prepare_cached("INSERT INTO chunks_fts (rowid, text) VALUES (?1, ?2)")
                .map_err(|e| self.wrap(e))?;
            for (i, (hash, text, tokens)) in chunks.iter().enumerate() {
                ins.execute(params![hash, (first + i as u64) as i64, text, tokens])
                    .map_err(|e| self.wrap(e))?;
                fts.execute(params![tx.last_insert_rowid(), text]).map_err(|e| self.wrap(e))?;
            }
        }
        let slots = (first + chunks.len() as u64).to_string();
        tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('slots', ?1)", [slots])
            .map_err(|e| self.wrap(e))?;
        tx.commit().map_err(|e| self.wrap(e))
    }

    /// Applies a reindex: every changed note's rows, the deletes, and the
    /// removal of chunks no note holds any more (their hashes are
    /// returned). One transaction.
    pub fn commit(&self, c: &Commit) -> R<Vec<String>> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.wrap(e))?;
        let run = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> R<usize> {
            tx.prepare_cached(sql).and_then(|mut s| s.execute(p)).map_err(|e| self.wrap(e))
        };
        let clear = |path: &str| -> R<()> {
            for sql in [
                "DELETE FROM names_fts WHERE rowid = (SELECT id FROM name_ids WHERE path = ?1)",
                "DELETE FROM name_ids WHERE path = ?1",
                "DELETE FROM files WHERE path = ?1",
                "DELETE FROM file_chunks WHERE path = ?1",
                "DELETE FROM aliases WHERE path = ?1",
                "DELETE FROM tags WHERE path = ?1",
                "DELETE FROM headings WHERE path = ?1",
                "DELETE FROM links WHERE src = ?1",
            ] {
                run(sql, &[&path])?;
            }
            Ok(())
        };
        for path in &c.deletes {
            clear(path)?;
        }
        for u in &c.upserts {
            clear(&u.path)?;
            let key = link_key(&u.path);
            run(
                "INSERT INTO files (path, mtime_ns, size, content_hash, title, key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[&u.path, &u.mtime_ns, &(u.size as i64), &u.content_hash, &u.note.title, &key],
            )?;
            run(
                "INSERT INTO names_fts (name) VALUES (?1)",
                &[&names(&u.path, &u.note.title, &u.note.aliases)],
            )?;
            run("INSERT INTO name_ids (path, id) VALUES (?1, last_insert_rowid())", &[&u.path])?;
            for (ord, ch) in u.chunks.iter().enumerate() {
                run(
                    "INSERT INTO file_chunks (path, ord, hash, heading, line_start, line_end) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &[&u.path, &(ord as i64), &ch.hash, &ch.heading, &ch.line_start, &ch.line_end],
                )?;
            }
            graph_rows(&run, &u.path, &u.note)?;
        }
        run("DELETE FROM skipped", &[])?;
        for (path, mtime, size, reason) in &c.skipped {
            run(
                "INSERT OR REPLACE INTO skipped (path, mtime_ns, size, reason) VALUES (?1, ?2, ?3, ?4)",
                &[path, mtime, &(*size as i64), reason],
            )?;
        }
        for (path, mtime, size) in &c.restat {
            run(
                "UPDATE files SET mtime_ns = ?2, size = ?3 WHERE path = ?1",
                &[path, mtime, &(*size as i64)],
            )?;
        }
        let removed: Vec<String> = if c.deletes.is_empty() && c.upserts.is_empty() {
            Vec::new()
        } else {
            let gone: Vec<String> = tx
                .prepare_cached(
                    "SELECT hash FROM chunks WHERE NOT EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = chunks.hash)",
                )
                .and_then(|mut s| s.query_map([], |r| r.get(0)).and_then(Iterator::collect))
                .map_err(|e| self.wrap(e))?;
            run(
                "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = c.hash))",
                &[],
            )?;
            run(
                "DELETE FROM chunks WHERE NOT EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = chunks.hash)",
                &[],
            )?;
            gone
        };
        run("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_reindex', ?1)", &[&c.finished_at])?;
        tx.commit().map_err(|e| self.wrap(e))?;
        Ok(removed)
    }

    /// Writes notes' graph rows (and their `files` row's title and key)
    /// outside a reindex: the [`super::graph::GraphStore`] seam. A note new
    /// to the index gets a `files` row with no stat, so the next reindex
    /// reads it.
    pub fn apply_graph(&self, update: &super::graph::GraphUpdate<'_>) -> R<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.wrap(e))?;
        let run = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> R<usize> {
            tx.prepare_cached(sql).and_then(|mut s| s.execute(p)).map_err(|e| self.wrap(e))
        };
        let clear = |path: &str| -> R<()> {
            for sql in [
                "DELETE FROM aliases WHERE path = ?1",
                "DELETE FROM tags WHERE path = ?1",
                "DELETE FROM headings WHERE path = ?1",
                "DELETE FROM links WHERE src = ?1",
            ] {
                run(sql, &[&path])?;
            }
            Ok(())
        };
        for path in update.deletes {
            clear(path)?;
            run("DELETE FROM files WHERE path = ?1", &[path])?;
        }
        for (path, note) in update.upserts {
            clear(path)?;
            run(
                "INSERT INTO files (path, mtime_ns, size, content_hash, title, key) VALUES (?1, 0, 0, '', ?2, ?3) \
                 ON CONFLICT(path) DO UPDATE SET title = excluded.title, key = excluded.key",
                &[path, &note.title, &link_key(path)],
            )?;
            graph_rows(&run, path, note)?;
        }
        tx.commit().map_err(|e| self.wrap(e))
    }

    /// Counts of notes and live chunks.
    pub fn counts(&self) -> R<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM chunks c WHERE EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = c.hash))",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.wrap(e))
    }

    /// Begins a read transaction: every query until [`Db::end_read`] sees
    /// one committed state.
    pub fn begin_read(&self) -> R<()> {
        self.conn.execute_batch("BEGIN DEFERRED; SELECT 1 FROM meta LIMIT 1;").map_err(|e| self.wrap(e))
    }

    pub fn end_read(&self) {
        let _ = self.conn.execute_batch("COMMIT");
    }

    /// BM25 over the chunks, best first: (chunk, score) where a higher
    /// score is better. Query words are OR-ed.
    pub fn lexical(&self, query: &str, limit: usize) -> R<Vec<(Hit, f64)>> {
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| format!("\"{w}\""))
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let matching = self.selective("chunks_fts", &words)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.hash, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid \
                 WHERE chunks_fts MATCH ?1 ORDER BY bm25(chunks_fts) LIMIT ?2",
            )
            .map_err(|e| self.wrap(e))?;
        let found: Vec<(String, f64)> = stmt
            .query_map(params![matching, (limit * 2) as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.wrap(e))?;
        // A note's names count as one more field of each of its chunks (a
        // note named by the query is found even when its text says the
        // name only in passing); a named note none of whose chunks matched
        // comes in with its first chunk.
        let named = self.named_scores(&words, limit)?;
        let mut out: Vec<(Hit, f64)> = Vec::new();
        for (hash, score) in found {
            for hit in self.places(&hash)? {
                let boost = named.get(&hit.path).copied().unwrap_or(0.0);
                out.push((hit, score + boost));
            }
        }
        for (path, boost) in &named {
            if !out.iter().any(|(h, _)| h.path == *path)
                && let Some(first) = self.note_chunks(path)?.into_iter().next()
            {
                out.push((first, *boost));
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| (&a.0.path, a.0.ord).cmp(&(&b.0.path, b.0.ord))));
        out.truncate(limit);
        Ok(out)
    }

    /// The FTS5 query for `words` (each quoted) on `table`: the rarest
    /// words, OR-ed, as many as bring at most [`MAX_POSTINGS`] matches
    /// between them (the rarest always). bm25 costs about a microsecond a
    /// match, and a word in a third of a large vault's chunks would cost
    /// tens of milliseconds while adding little to the ranking: its
    /// weight (idf) is a fraction of a rare word's. On a vault small
    /// enough, every word counts.
    fn selective(&self, table: &str, words: &[String]) -> R<String> {
        let mut words: Vec<&String> = words.iter().collect();
        words.sort();
        words.dedup();
        if words.len() < 2 {
            return Ok(words.first().map(|w| (*w).clone()).unwrap_or_default());
        }
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ?1 LIMIT {})",
            MAX_POSTINGS + 1
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.wrap(e))?;
        let mut counted = Vec::with_capacity(words.len());
        for w in words {
            let n: i64 = stmt.query_row([w], |r| r.get(0)).map_err(|e| self.wrap(e))?;
            counted.push((n as usize, w));
        }
        counted.sort();
        let mut used = 0usize;
        let mut kept: Vec<&str> = Vec::new();
        for (n, w) in counted {
            if !kept.is_empty() && used + n > MAX_POSTINGS {
                break;
            }
            used += n;
            kept.push(w);
        }
        Ok(kept.join(" OR "))
    }

    /// Notes whose names (title, aliases, file name) match `words` (each
    /// quoted for FTS5), with their bm25 score; none in an index made
    /// before names were indexed and not reindexed since.
    fn named_scores(&self, words: &[String], limit: usize) -> R<HashMap<String, f64>> {
        if !self.has_table("names_fts")? {
            return Ok(HashMap::new());
        }
        let matching = self.selective("names_fts", words)?;
        self.conn
            .prepare_cached(
                "SELECT n.path, -bm25(names_fts) FROM names_fts JOIN name_ids n ON n.id = names_fts.rowid \
                 WHERE names_fts MATCH ?1 ORDER BY bm25(names_fts) LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![matching, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                    .and_then(Iterator::collect)
            })
            .map_err(|e| self.wrap(e))
    }

    /// Where the chunk with this hash sits (none when no note holds it).
    pub fn places(&self, hash: &str) -> R<Vec<Hit>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.path, f.ord, f.hash, f.heading, f.line_start, f.line_end, c.tokens, c.slot \
                 FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.hash = ?1 ORDER BY f.path, f.ord",
            )
            .map_err(|e| self.wrap(e))?;
        stmt.query_map([hash], hit_row).and_then(Iterator::collect).map_err(|e| self.wrap(e))
    }

    /// The chunk in a vector slot, if a note holds it.
    pub fn by_slot(&self, slot: u64) -> R<Vec<Hit>> {
        let hash: Option<String> = self
            .conn
            .prepare_cached("SELECT hash FROM chunks WHERE slot = ?1")
            .and_then(|mut s| s.query_row([slot as i64], |r| r.get(0)).optional())
            .map_err(|e| self.wrap(e))?;
        match hash {
            Some(h) => self.places(&h),
            None => Ok(Vec::new()),
        }
    }

    /// A note's chunks in order.
    pub fn note_chunks(&self, path: &str) -> R<Vec<Hit>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.path, f.ord, f.hash, f.heading, f.line_start, f.line_end, c.tokens, c.slot \
                 FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.path = ?1 ORDER BY f.ord",
            )
            .map_err(|e| self.wrap(e))?;
        stmt.query_map([path], hit_row).and_then(Iterator::collect).map_err(|e| self.wrap(e))
    }

    pub fn chunk_text(&self, hash: &str) -> R<String> {
        self.conn
            .prepare_cached("SELECT text FROM chunks WHERE hash = ?1")
            .and_then(|mut s| s.query_row([hash], |r| r.get(0)))
            .map_err(|e| self.wrap(e))
    }

    /// Notes a link from `path` resolves to, and notes linking to it:
    /// (note, the linked heading if any).
    pub fn neighbours(&self, path: &str) -> R<Vec<(String, Option<String>)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.path, l.heading FROM links l JOIN files f ON f.key = l.target_key WHERE l.src = ?1 \
                 UNION SELECT a.path, l.heading FROM links l JOIN aliases a ON a.key = l.target_key WHERE l.src = ?1 \
                 UNION SELECT l.src, NULL FROM links l WHERE l.target_key = (SELECT key FROM files WHERE path = ?1) \
                    OR l.target_key IN (SELECT key FROM aliases WHERE path = ?1)",
            )
            .map_err(|e| self.wrap(e))?;
        let rows: Vec<(String, Option<String>)> = stmt
            .query_map([path], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.wrap(e))?;
        Ok(rows.into_iter().filter(|(p, _)| p != path).collect())
    }

    /// Notes whose name, title, alias or tag is one of `words` (lowercase).
    pub fn notes_named(&self, words: &[String]) -> R<Vec<String>> {
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path FROM files WHERE key = ?1 OR lower(title) = ?1 \
                 UNION SELECT path FROM aliases WHERE key = ?1 UNION SELECT path FROM tags WHERE tag = ?1",
            )
            .map_err(|e| self.wrap(e))?;
        for w in words {
            let rows: Vec<String> =
                stmt.query_map([w], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| self.wrap(e))?;
            for p in rows {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    /// Whether the index has the fact tables (an index built before
    /// `--extract` existed has them only once a reindex opened it).
    fn has_facts(&self) -> R<bool> {
        self.has_table("extracted")
    }

    /// Whether the index has table `name` (a read-only reader of an index
    /// made by an older ctl may lack the newer ones).
    fn has_table(&self, name: &str) -> R<bool> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1)")
            .and_then(|mut s| s.query_row([name], |r| r.get::<_, bool>(0)))
            .map_err(|e| self.wrap(e))
    }

    /// Live chunks (held by a note) not yet extracted with `model`, in a
    /// stable order.
    pub fn pending_extraction(&self, model: &str) -> R<Vec<Pending>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.hash, c.text, c.tokens FROM chunks c \
                 WHERE EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = c.hash) \
                 AND NOT EXISTS (SELECT 1 FROM extracted x WHERE x.hash = c.hash AND x.model = ?1) ORDER BY c.id",
            )
            .map_err(|e| self.wrap(e))?;
        stmt.query_map([model], |r| Ok(Pending { hash: r.get(0)?, text: r.get(1)?, tokens: r.get(2)? }))
            .and_then(Iterator::collect)
            .map_err(|e| self.wrap(e))
    }

    /// Replaces a chunk's facts, in one transaction: a killed run keeps
    /// every chunk it finished and none half.
    pub fn put_facts(
        &mut self,
        hash: &str,
        model: &str,
        entities: &[Entity],
        relations: &[Relation],
    ) -> R<()> {
        let path = self.path.clone();
        let wrap = |source| DbError { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute("DELETE FROM entities WHERE hash = ?1", [hash]).map_err(wrap)?;
        tx.execute("DELETE FROM relations WHERE hash = ?1", [hash]).map_err(wrap)?;
        for e in entities {
            tx.execute(
                "INSERT INTO entities (hash, name, key, kind) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![hash, e.name.trim(), entity_key(&e.name), e.kind.trim()],
            )
            .map_err(wrap)?;
        }
        for r in relations {
            tx.execute(
                "INSERT INTO relations (hash, subject, predicate, object, subject_key, object_key) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    hash,
                    r.subject.trim(),
                    r.predicate.trim(),
                    r.object.trim(),
                    entity_key(&r.subject),
                    entity_key(&r.object)
                ],
            )
            .map_err(wrap)?;
        }
        tx.execute("INSERT OR REPLACE INTO extracted (hash, model) VALUES (?1, ?2)", [hash, model])
            .map_err(wrap)?;
        tx.commit().map_err(wrap)
    }

    /// Drops the facts of chunks no note holds any more; returns how many
    /// chunks' facts went.
    pub fn prune_facts(&mut self) -> R<u64> {
        let path = self.path.clone();
        let wrap = |source| DbError { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(wrap)?;
        let dead = "SELECT hash FROM extracted x WHERE NOT EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = x.hash)";
        tx.execute(&format!("DELETE FROM entities WHERE hash IN ({dead})"), []).map_err(wrap)?;
        tx.execute(&format!("DELETE FROM relations WHERE hash IN ({dead})"), []).map_err(wrap)?;
        let n = tx.execute(&format!("DELETE FROM extracted WHERE hash IN ({dead})"), []).map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(n as u64)
    }

    pub fn fact_counts(&self) -> R<FactCounts> {
        if !self.has_facts()? {
            return Ok(FactCounts::default());
        }
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM extracted x WHERE EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = x.hash)), \
                 (SELECT count(*) FROM entities), (SELECT count(*) FROM relations)",
                [],
                |r| {
                    Ok(FactCounts {
                        chunks: r.get::<_, i64>(0)? as u64,
                        entities: r.get::<_, i64>(1)? as u64,
                        relations: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .map_err(|e| self.wrap(e))
    }

    /// A chunk's facts, for `--explain` and tests.
    pub fn facts(&self, hash: &str) -> R<(Vec<Entity>, Vec<Relation>)> {
        if !self.has_facts()? {
            return Ok((Vec::new(), Vec::new()));
        }
        let entities = self
            .conn
            .prepare_cached("SELECT name, kind FROM entities WHERE hash = ?1 ORDER BY rowid")
            .and_then(|mut s| {
                s.query_map([hash], |r| Ok(Entity { name: r.get(0)?, kind: r.get(1)? }))
                    .and_then(Iterator::collect)
            })
            .map_err(|e| self.wrap(e))?;
        let relations = self
            .conn
            .prepare_cached("SELECT subject, predicate, object FROM relations WHERE hash = ?1 ORDER BY rowid")
            .and_then(|mut s| {
                s.query_map([hash], |r| {
                    Ok(Relation { subject: r.get(0)?, predicate: r.get(1)?, object: r.get(2)? })
                })
                .and_then(Iterator::collect)
            })
            .map_err(|e| self.wrap(e))?;
        Ok((entities, relations))
    }

    /// Chunks whose facts name one of `keys` (entity keys), with a weight:
    /// 1 for a chunk naming the entity, ½ for a chunk naming an entity a
    /// relation ties to it. Best first.
    pub fn fact_chunks(&self, keys: &[String]) -> R<Vec<(String, f64)>> {
        if keys.is_empty() || !self.has_facts()? {
            return Ok(Vec::new());
        }
        let mut weights: HashMap<String, f64> = HashMap::new();
        let mut direct = self
            .conn
            .prepare_cached("SELECT DISTINCT hash FROM entities WHERE key = ?1")
            .map_err(|e| self.wrap(e))?;
        let mut related = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT e.hash FROM relations r JOIN entities e \
                 ON e.key = CASE WHEN r.subject_key = ?1 THEN r.object_key ELSE r.subject_key END \
                 WHERE r.subject_key = ?1 OR r.object_key = ?1",
            )
            .map_err(|e| self.wrap(e))?;
        for k in keys {
            let hashes: Vec<String> =
                direct.query_map([k], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| self.wrap(e))?;
            for h in hashes {
                *weights.entry(h).or_default() += 1.0;
            }
            let hashes: Vec<String> =
                related.query_map([k], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| self.wrap(e))?;
            for h in hashes {
                *weights.entry(h).or_default() += 0.5;
            }
        }
        let mut out: Vec<(String, f64)> = weights.into_iter().collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Rows of a graph table for one note, for tests and `--explain`.
    pub fn note_graph(&self, path: &str) -> R<NoteGraph> {
        let strings = |sql: &str| -> R<Vec<String>> {
            self.conn
                .prepare(sql)
                .and_then(|mut s| s.query_map([path], |r| r.get(0)).and_then(Iterator::collect))
                .map_err(|e| self.wrap(e))
        };
        Ok(NoteGraph {
            tags: strings("SELECT tag FROM tags WHERE path = ?1 ORDER BY tag")?,
            headings: strings("SELECT text FROM headings WHERE path = ?1 ORDER BY line")?,
            links: strings("SELECT target_key FROM links WHERE src = ?1 ORDER BY line, target_key")?,
            backlinks: {
                let mut v: Vec<String> = self.neighbours(path)?.into_iter().map(|(p, _)| p).collect();
                v.sort();
                v.dedup();
                v
            },
        })
    }
}

/// A note's alias, tag, heading and link rows (its `files` row aside).
/// Runs one statement with its parameters.
type Run<'a> = &'a dyn Fn(&str, &[&dyn rusqlite::ToSql]) -> R<usize>;

fn graph_rows(run: Run<'_>, path: &str, note: &Note) -> R<()> {
    for a in super::graph::aliases(path, note) {
        run(
            "INSERT INTO aliases (path, alias, key) VALUES (?1, ?2, ?3)",
            &[&path, &a, &a.trim().to_lowercase()],
        )?;
    }
    for t in &note.tags {
        run("INSERT INTO tags (path, tag) VALUES (?1, ?2)", &[&path, t])?;
    }
    for h in &note.headings {
        run(
            "INSERT INTO headings (path, level, text, line) VALUES (?1, ?2, ?3, ?4)",
            &[&path, &h.level, &h.text, &h.line],
        )?;
    }
    for l in &note.links {
        let key = super::graph::target_key(path, &l.target);
        run(
            "INSERT INTO links (src, target, target_key, heading, alias, embed, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[&path, &l.target, &key, &l.heading, &l.alias, &l.embed, &l.line],
        )?;
    }
    Ok(())
}

/// What the graph tables hold about one note.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NoteGraph {
    pub tags: Vec<String>,
    pub headings: Vec<String>,
    pub links: Vec<String>,
    /// Linked notes both ways.
    pub backlinks: Vec<String>,
}

fn hit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hit> {
    Ok(Hit {
        path: r.get(0)?,
        ord: r.get(1)?,
        hash: r.get(2)?,
        heading: r.get(3)?,
        line_start: r.get(4)?,
        line_end: r.get(5)?,
        tokens: r.get(6)?,
        slot: r.get::<_, i64>(7)? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with(texts: impl Iterator<Item = String>) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), true).unwrap();
        let chunks: Vec<(String, String, u32)> =
            texts.enumerate().map(|(i, t)| (format!("h{i}"), t, 1)).collect();
        db.add_chunks(0, &chunks).unwrap();
        (dir, db)
    }

    fn quoted(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| format!("\"{w}\"")).collect()
    }

    #[test]
    fn a_lexical_query_leaves_out_its_common_words_only_when_the_rare_ones_bring_enough() {
        // "common" in every chunk, "rare" in five, "middling" in a tenth.
        let n = MAX_POSTINGS + 50;
        let (_dir, db) = db_with((0..n).map(|i| {
            let mut t = "common text".to_owned();
            if i % 10 == 0 {
                t.push_str(" middling");
            }
            if i % 2000 == 0 {
                t.push_str(" rare");
            }
            t
        }));
        let q = db.selective("chunks_fts", &quoted(&["common", "rare", "middling"])).unwrap();
        assert_eq!(q, "\"rare\" OR \"middling\"");
        // Only common words: the rarest of them still counts.
        let q = db.selective("chunks_fts", &quoted(&["common", "text"])).unwrap();
        assert!(q == "\"common\"" || q == "\"text\"", "{q}");
        // A word the index has never seen costs nothing and stays.
        let q = db.selective("chunks_fts", &quoted(&["common", "unseen", "rare"])).unwrap();
        assert_eq!(q, "\"unseen\" OR \"rare\"");
    }

    #[test]
    fn on_a_small_index_every_word_of_a_query_counts() {
        let (_dir, db) = db_with((0..100).map(|i| format!("common word {i}")));
        let q = db.selective("chunks_fts", &quoted(&["common", "word", "7"])).unwrap();
        assert_eq!(q, "\"7\" OR \"common\" OR \"word\"");
    }
}
