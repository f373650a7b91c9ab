//! SQLite (`ctl.db`): the index of finished jobs, and later sessions,
//! messages, usage and API tokens.
//!
//! WAL mode, `BEGIN IMMEDIATE` for every write and a generous busy timeout,
//! plus a retry on top: several processes (server, workers, CLI) write here
//! and none of them may surface SQLITE_BUSY to a user. Schema changes are
//! numbered SQL files in `migrations/`, applied in order, never edited.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::api::{JobState, JobView, Usage};

mod failures;
mod idempotency;
mod sessions;
mod stats;
mod tokens;
mod tool_calls;
mod transfer;

pub use failures::Failure;

/// What every records backend shares with this store: titles, roles,
/// secrets and how long things are kept.
pub(crate) mod common {
    pub(crate) use super::idempotency::KEEP as IDEMPOTENCY_KEEP;
    pub(crate) use super::sessions::{derive_title, parse_role, role_str};
    pub(crate) use super::tokens::{
        LAST_USED_EVERY, TOKEN_PREFIX, WEB_SESSION_PREFIX, hash_secret, random_secret, well_formed,
    };
}
pub use idempotency::KeyClaim;
pub use sessions::{ChatMessage, SessionSummary};
pub use stats::{Histogram, MetricsSnapshot, StatRow, UsageRow};
pub use tokens::{TOKEN_PREFIX, TokenInfo, WEB_SESSION_PREFIX, hash_secret};
pub use tool_calls::{ToolCallCount, ToolCallRow};

/// The migrations, in order. `PRAGMA user_version` records how many ran.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_jobs", include_str!("../../migrations/0001_jobs.sql")),
    ("0002_sessions_tokens", include_str!("../../migrations/0002_sessions_tokens.sql")),
    ("0003_job_skills", include_str!("../../migrations/0003_job_skills.sql")),
    ("0004_tool_calls", include_str!("../../migrations/0004_tool_calls.sql")),
    ("0005_job_tools", include_str!("../../migrations/0005_job_tools.sql")),
    ("0006_gateway", include_str!("../../migrations/0006_gateway.sql")),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("database {path} has schema version {found}, newer than this ctl knows ({known}); upgrade ctl")]
    TooNew { path: PathBuf, found: usize, known: usize },
    #[error("{0}")]
    Backend(String),
}

/// A handle on `ctl.db`; cheap to clone, safe to share between threads.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Store {
    /// Opens the database, creating it and running pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let wrap = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let mut conn = Connection::open(path).map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(wrap)?;
        // WAL lets readers run beside the one writer; NORMAL syncs the WAL
        // at checkpoints only, which is safe against corruption. The queue
        // files and event logs carry the durability guarantees. Switching a
        // new file to WAL can meet another process doing the same, and
        // SQLite answers that with BUSY at once, without the busy handler.
        let mut delay = Duration::from_millis(5);
        loop {
            match conn.pragma_update(None, "journal_mode", "wal") {
                Err(e) if is_busy(&e) && delay < Duration::from_secs(10) => {
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                other => break other.map_err(wrap)?,
            }
        }
        conn.pragma_update(None, "synchronous", "normal").map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "on").map_err(wrap)?;
        migrate(&mut conn).map_err(|e| match e {
            MigrateError::Sqlite(source) => wrap(source),
            MigrateError::TooNew(found) => {
                StoreError::TooNew { path: path.to_path_buf(), found, known: MIGRATIONS.len() }
            }
        })?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), path: path.to_path_buf() })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, retrying while another
    /// process holds the write lock past the busy timeout.
    fn write<T>(
        &self,
        f: impl Fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut delay = Duration::from_millis(5);
        loop {
            let result = (|| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let value = f(&tx)?;
                tx.commit()?;
                Ok(value)
            })();
            match result {
                Err(e) if is_busy(&e) && delay < Duration::from_secs(60) => {
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                other => return other.map_err(|e| self.err(e)),
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn).map_err(|e| self.err(e))
    }

    /// Records (or replaces) a finished job. The id is the key, so recording
    /// the same job twice leaves one record.
    pub fn record(&self, job: &JobView) -> Result<(), StoreError> {
        let params_json = serde_json::to_string(&job.params).unwrap_or_else(|_| "{}".to_owned());
        let skills_json = serde_json::to_string(&job.skills).unwrap_or_else(|_| "[]".to_owned());
        let tools_json = serde_json::to_string(&job.tools).unwrap_or_else(|_| "[]".to_owned());
        let client_json = job.client.as_ref().and_then(|c| serde_json::to_string(c).ok());
        self.write(|tx| {
            let u = job.usage.as_ref();
            tx.execute(
                "INSERT OR REPLACE INTO jobs (id, state, model, priority, prompt, created_at, started_at,
                    finished_at, attempts, max_attempts, worker, output, error, prompt_tokens,
                    completion_tokens, ttft_ms, tokens_per_s, duration_ms, usage_estimated, params,
                    session_id, parent_id, skills, tools, tool_calls, tool_errors, tool_ms, client)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                    ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
                params![
                    job.id,
                    job.state.as_str(),
                    job.model,
                    job.priority,
                    job.prompt,
                    job.created_at.to_string(),
                    job.started_at.map(|t| t.to_string()),
                    job.finished_at.map(|t| t.to_string()),
                    job.attempts,
                    job.max_attempts,
                    job.worker,
                    job.output,
                    job.error,
                    u.map(|u| u.prompt_tokens as i64),
                    u.map(|u| u.completion_tokens as i64),
                    u.and_then(|u| u.ttft_ms),
                    u.and_then(|u| u.tokens_per_s),
                    u.map(|u| u.duration_ms),
                    u.map(|u| u.estimated),
                    params_json,
                    job.session_id,
                    job.parent_id,
                    skills_json,
                    tools_json,
                    job.tool_stats.calls,
                    job.tool_stats.errors,
                    job.tool_stats.duration_ms,
                    client_json,
                ],
            )?;
            Ok(())
        })
    }

    /// Forgets a job's record (it is being retried).
    pub fn forget(&self, id: &str) -> Result<(), StoreError> {
        self.write(|tx| tx.execute("DELETE FROM jobs WHERE id = ?1", [id]).map(drop))
    }

    pub fn get(&self, id: &str) -> Result<Option<JobView>, StoreError> {
        self.read(|c| c.query_row(&format!("{SELECT} WHERE id = ?1"), [id], row_to_view).optional())
    }

    /// Finished jobs, newest first; only ids before `before` when given.
    pub fn list(
        &self,
        state: Option<JobState>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<Vec<JobView>, StoreError> {
        self.read(|c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // '~' sorts after every id character, so "no cursor" is a bound too.
            let before = before.unwrap_or("~");
            let state = state.map(JobState::as_str);
            let mut stmt = c.prepare(&format!(
                "{SELECT} WHERE id < ?1 AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![before, state, limit], row_to_view)?;
            rows.collect()
        })
    }

    /// Recorded jobs whose parent is `id` (replays of it), oldest first.
    pub fn children(&self, id: &str) -> Result<Vec<JobView>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SELECT} WHERE parent_id = ?1 ORDER BY id"))?;
            let rows = stmt.query_map([id], row_to_view)?;
            rows.collect()
        })
    }

    /// Ids of recorded jobs that start with `prefix` (at most `limit`).
    pub fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT id FROM jobs WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3")?;
            let upper = format!("{prefix}\u{7f}");
            let rows = stmt.query_map(params![prefix, upper, limit as i64], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// `PRAGMA quick_check`: "ok" when the file is sound.
    pub fn quick_check(&self) -> Result<String, StoreError> {
        self.read(|c| c.query_row("PRAGMA quick_check", [], |r| r.get(0)))
    }
}

const SELECT: &str = "SELECT id, state, model, priority, prompt, created_at, started_at, finished_at,
    attempts, max_attempts, worker, output, error, prompt_tokens, completion_tokens, ttft_ms,
    tokens_per_s, duration_ms, usage_estimated, params, session_id, parent_id, skills, tools,
    tool_calls, tool_errors, tool_ms, client FROM jobs";

fn row_to_view(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobView> {
    let ts = |i: usize| -> rusqlite::Result<Option<jiff::Timestamp>> {
        let s: Option<String> = r.get(i)?;
        s.map(|s| {
            s.parse().map_err(|e: jiff::Error| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
            })
        })
        .transpose()
    };
    let state: String = r.get(1)?;
    let prompt_tokens: Option<i64> = r.get(13)?;
    let usage = match prompt_tokens {
        Some(p) => Some(Usage {
            prompt_tokens: p as u64,
            completion_tokens: r.get::<_, Option<i64>>(14)?.unwrap_or(0) as u64,
            ttft_ms: r.get(15)?,
            tokens_per_s: r.get(16)?,
            duration_ms: r.get::<_, Option<f64>>(17)?.unwrap_or(0.0),
            estimated: r.get::<_, Option<bool>>(18)?.unwrap_or(false),
        }),
        None => None,
    };
    let params_json: String = r.get(19)?;
    Ok(JobView {
        sources: Vec::new(),
        vault: None,
        id: r.get(0)?,
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        model: r.get(2)?,
        priority: r.get(3)?,
        prompt: r.get(4)?,
        created_at: ts(5)?.unwrap_or_default(),
        started_at: ts(6)?,
        finished_at: ts(7)?,
        attempts: r.get(8)?,
        max_attempts: r.get(9)?,
        worker: r.get(10)?,
        output: r.get(11)?,
        error: r.get(12)?,
        usage,
        params: serde_json::from_str(&params_json).unwrap_or_default(),
        session_id: r.get(20)?,
        parent_id: r.get(21)?,
        skills: serde_json::from_str(&r.get::<_, String>(22)?).unwrap_or_default(),
        tools: serde_json::from_str(&r.get::<_, String>(23)?).unwrap_or_default(),
        tool_stats: crate::api::ToolStats { calls: r.get(24)?, errors: r.get(25)?, duration_ms: r.get(26)? },
        client: r.get::<_, Option<String>>(27)?.and_then(|c| serde_json::from_str(&c).ok()),
    })
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

enum MigrateError {
    Sqlite(rusqlite::Error),
    TooNew(usize),
}

fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let mut delay = Duration::from_millis(5);
    loop {
        match try_migrate(conn) {
            Err(MigrateError::Sqlite(e)) if is_busy(&e) && delay < Duration::from_secs(30) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            other => return other,
        }
    }
}

fn try_migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    // The common case, an up-to-date file, is checked without a write
    // transaction, so opening the store never writes.
    let current: i64 =
        conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(MigrateError::Sqlite)?;
    if usize::try_from(current).is_ok_and(|v| v == MIGRATIONS.len()) {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(MigrateError::Sqlite)?;
    let done: i64 =
        tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(MigrateError::Sqlite)?;
    let done = usize::try_from(done).unwrap_or(usize::MAX);
    if done > MIGRATIONS.len() {
        return Err(MigrateError::TooNew(done));
    }
    for (_, sql) in &MIGRATIONS[done..] {
        tx.execute_batch(sql).map_err(MigrateError::Sqlite)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64).map_err(MigrateError::Sqlite)?;
    tx.commit().map_err(MigrateError::Sqlite)
}

#[cfg(test)]
mod tests;
