//! Records on PostgreSQL: the SQLite store's tables and queries, with the
//! same time format (RFC 3339 text, nine fractional digits) and the same
//! answers; the conformance suite and the store's own behaviour pin them.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{Db, PgError, ts_text};
use crate::api::{JobState, JobView, Usage};
use crate::backend::{Records, Table};
use crate::store::{
    ChatMessage, Failure, Histogram, KeyClaim, MetricsSnapshot, SessionSummary, StoreError, TokenInfo,
    ToolCallCount, ToolCallRow, UsageRow, common as secrets,
};

#[allow(clippy::needless_pass_by_value)] // for map_err
fn serr(e: PgError) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn ts(s: Option<String>) -> Option<Timestamp> {
    s.and_then(|s| s.parse().ok())
}

/// The records of one database.
#[derive(Debug, Clone)]
pub struct PgRecords {
    db: Arc<Db>,
}

impl PgRecords {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }

    fn q<T: Send + 'static>(
        &self,
        f: impl FnOnce(super::Pooled) -> futures_util::future::BoxFuture<'static, Result<T, PgError>>
        + Send
        + 'static,
    ) -> Result<T, StoreError> {
        self.db.call(f).map_err(serr)
    }
}

const SELECT_JOB: &str = "SELECT id, state, model, priority, prompt, created_at, started_at, finished_at,
    attempts, max_attempts, worker, output, error, prompt_tokens, completion_tokens, ttft_ms,
    tokens_per_s, duration_ms, usage_estimated, params, session_id, parent_id, skills, tools,
    tool_calls, tool_errors, tool_ms, client FROM ctl_jobs";

fn row_to_view(r: &Row) -> JobView {
    let prompt_tokens: Option<i64> = r.get(13);
    let usage = prompt_tokens.map(|p| Usage {
        prompt_tokens: p as u64,
        completion_tokens: r.get::<_, Option<i64>>(14).unwrap_or(0) as u64,
        ttft_ms: r.get(15),
        tokens_per_s: r.get(16),
        duration_ms: r.get::<_, Option<f64>>(17).unwrap_or(0.0),
        estimated: r.get::<_, Option<bool>>(18).unwrap_or(false),
    });
    JobView {
        id: r.get(0),
        state: JobState::parse(r.get(1)).unwrap_or(JobState::Failed),
        model: r.get(2),
        priority: r.get(3),
        prompt: r.get(4),
        created_at: ts(r.get(5)).unwrap_or_default(),
        started_at: ts(r.get(6)),
        finished_at: ts(r.get(7)),
        attempts: r.get::<_, i32>(8) as u32,
        max_attempts: r.get::<_, i32>(9) as u32,
        worker: r.get(10),
        output: r.get(11),
        error: r.get(12),
        usage,
        params: serde_json::from_str(r.get(19)).unwrap_or_default(),
        session_id: r.get(20),
        parent_id: r.get(21),
        skills: serde_json::from_str(r.get(22)).unwrap_or_default(),
        tools: serde_json::from_str(r.get(23)).unwrap_or_default(),
        tool_stats: crate::api::ToolStats {
            calls: r.get::<_, i32>(24) as u32,
            errors: r.get::<_, i32>(25) as u32,
            duration_ms: r.get(26),
        },
        client: r.get::<_, Option<String>>(27).and_then(|c| serde_json::from_str(&c).ok()),
        // Read from the job's `retrieval` event by `Local::job`.
        sources: Vec::new(),
        vault: None,
    }
}

/// Records (or replaces) a finished job inside a transaction.
/// Key of the advisory lock failed records are written under.
const FAILURES_LOCK: i64 = 0x0063_746c_5f66_6169;

pub(super) async fn record_in(tx: &super::Tx<'_>, job: &JobView) -> Result<(), PgError> {
    let params_json = serde_json::to_string(&job.params).unwrap_or_else(|_| "{}".to_owned());
    let skills_json = serde_json::to_string(&job.skills).unwrap_or_else(|_| "[]".to_owned());
    let tools_json = serde_json::to_string(&job.tools).unwrap_or_else(|_| "[]".to_owned());
    let client_json = job.client.as_ref().and_then(|c| serde_json::to_string(c).ok());
    let u = job.usage.as_ref();
    let (pt, ct) = (u.map(|u| u.prompt_tokens as i64), u.map(|u| u.completion_tokens as i64));
    let (ttft, tps, dur, est) = (
        u.and_then(|u| u.ttft_ms),
        u.and_then(|u| u.tokens_per_s),
        u.map(|u| u.duration_ms),
        u.map(|u| u.estimated),
    );
    let (attempts, max_attempts) = (job.attempts as i32, job.max_attempts as i32);
    let (tc, te) = (job.tool_stats.calls as i32, job.tool_stats.errors as i32);
    let created = job.created_at.to_string();
    let started = job.started_at.map(|t| t.to_string());
    let finished = job.finished_at.map(|t| t.to_string());
    let params: [&(dyn ToSql + Sync); 28] = [
        &job.id,
        &job.state.as_str(),
        &job.model,
        &job.priority,
        &job.prompt,
        &created,
        &started,
        &finished,
        &attempts,
        &max_attempts,
        &job.worker,
        &job.output,
        &job.error,
        &pt,
        &ct,
        &ttft,
        &tps,
        &dur,
        &est,
        &params_json,
        &job.session_id,
        &job.parent_id,
        &skills_json,
        &tools_json,
        &tc,
        &te,
        &job.tool_stats.duration_ms,
        &client_json,
    ];
    // Failed records take their `seq` one transaction at a time, so they
    // commit in `seq` order and the failures feed, which reads past a
    // cursor, never passes one still in flight (a sequence alone hands out
    // numbers in one order and transactions commit in another).
    if job.state == JobState::Failed {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FAILURES_LOCK]).await?;
    }
    // A new row (a new `seq`) each time, so the failures feed sees a
    // re-recorded job again, as SQLite's INSERT OR REPLACE does.
    tx.execute("DELETE FROM ctl_jobs WHERE id = $1", &[&job.id]).await?;
    tx.execute(
        "INSERT INTO ctl_jobs (id, state, model, priority, prompt, created_at, started_at,
            finished_at, attempts, max_attempts, worker, output, error, prompt_tokens,
            completion_tokens, ttft_ms, tokens_per_s, duration_ms, usage_estimated, params,
            session_id, parent_id, skills, tools, tool_calls, tool_errors, tool_ms, client)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
        &params,
    )
    .await?;
    Ok(())
}

/// Adds a session message inside a transaction; false when the session
/// is gone or the message (or the job's message of that role) exists.
pub(super) async fn add_message_in(tx: &super::Tx<'_>, msg: &ChatMessage) -> Result<bool, PgError> {
    let now = ts_text(Timestamp::now());
    let created_at = ts_text(msg.created_at);
    let title =
        if msg.role == crate::api::Role::User { secrets::derive_title(&msg.content) } else { String::new() };
    let exists =
        tx.query_opt("SELECT 1 FROM ctl_sessions WHERE id = $1 FOR UPDATE", &[&msg.session_id]).await?;
    if exists.is_none() {
        return Ok(false);
    }
    let inserted = tx
        .execute(
            "INSERT INTO ctl_messages (id, session_id, role, content, job_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&msg.id, &msg.session_id, &secrets::role_str(msg.role), &msg.content, &msg.job_id, &created_at],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    tx.execute(
        "UPDATE ctl_sessions SET updated_at = GREATEST(updated_at, $2),
            title = CASE WHEN title = '' THEN $3 ELSE title END
         WHERE id = $1",
        &[&msg.session_id, &now, &title],
    )
    .await?;
    Ok(true)
}

const SELECT_SESSION: &str = "SELECT s.id, s.title, s.created_at, s.updated_at,
    (SELECT COUNT(*) FROM ctl_messages m WHERE m.session_id = s.id) FROM ctl_sessions s";

fn row_to_session(r: &Row) -> SessionSummary {
    SessionSummary {
        id: r.get(0),
        title: r.get(1),
        created_at: ts(r.get(2)).unwrap_or_default(),
        updated_at: ts(r.get(3)).unwrap_or_default(),
        message_count: r.get::<_, i64>(4) as u64,
    }
}

const SELECT_TOKEN: &str =
    "SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at FROM ctl_tokens t";

fn row_to_token(r: &Row) -> TokenInfo {
    TokenInfo {
        id: r.get(0),
        name: r.get(1),
        created_at: ts(r.get(2)).unwrap_or_default(),
        last_used_at: ts(r.get(3)),
        revoked_at: ts(r.get(4)),
    }
}

impl PgRecords {
    /// Notes a token's use, at most once a minute.
    fn touch(&self, mut info: TokenInfo) -> Result<TokenInfo, StoreError> {
        let now = Timestamp::now();
        let every = secrets::LAST_USED_EVERY;
        if info.last_used_at.is_some_and(|t| now.duration_since(t) < every) {
            return Ok(info);
        }
        let cutoff = ts_text(now.checked_sub(every).unwrap_or(Timestamp::MIN));
        let (id, now_text) = (info.id.clone(), ts_text(now));
        let changed = self.q(move |c| {
            Box::pin(async move {
                Ok(c.execute(
                    "UPDATE ctl_tokens SET last_used_at = $2
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                    &[&id, &now_text, &cutoff],
                )
                .await?)
            })
        })?;
        if changed > 0 {
            info.last_used_at = Some(now);
        }
        Ok(info)
    }
}

impl Records for PgRecords {
    fn record(&self, job: &JobView) -> Result<(), StoreError> {
        let job = job.clone();
        self.q(move |mut c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                record_in(&tx, &job).await?;
                tx.commit().await?;
                Ok(())
            })
        })
    }

    fn forget(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.q(move |c| {
            Box::pin(async move {
                c.execute("DELETE FROM ctl_jobs WHERE id = $1", &[&id]).await?;
                Ok(())
            })
        })
    }

    fn get(&self, id: &str) -> Result<Option<JobView>, StoreError> {
        let id = id.to_owned();
        self.q(move |c| {
            Box::pin(async move {
                Ok(c.query_opt(&format!("{SELECT_JOB} WHERE id = $1"), &[&id])
                    .await?
                    .as_ref()
                    .map(row_to_view))
            })
        })
    }

    fn list(
        &self,
        state: Option<JobState>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<Vec<JobView>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let before = before.unwrap_or("~").to_owned();
        let state = state.map(|s| s.as_str().to_owned());
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        &format!(
                            "{SELECT_JOB} WHERE id < $1 AND ($2::text IS NULL OR state = $2) ORDER BY id DESC LIMIT $3"
                        ),
                        &[&before, &state, &limit],
                    )
                    .await?;
                Ok(rows.iter().map(row_to_view).collect())
            })
        })
    }

    fn children(&self, id: &str) -> Result<Vec<JobView>, StoreError> {
        let id = id.to_owned();
        self.q(move |c| {
            Box::pin(async move {
                let rows = c.query(&format!("{SELECT_JOB} WHERE parent_id = $1 ORDER BY id"), &[&id]).await?;
                Ok(rows.iter().map(row_to_view).collect())
            })
        })
    }

    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let (prefix, upper, limit) = (prefix.to_owned(), format!("{prefix}\u{7f}"), limit as i64);
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT id FROM ctl_jobs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3",
                        &[&prefix, &upper, &limit],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
        })
    }

    fn quick_check(&self) -> Result<String, StoreError> {
        self.q(|c| {
            Box::pin(async move {
                c.query_one("SELECT 1", &[]).await?;
                Ok("ok".to_owned())
            })
        })
    }

    fn create_session(&self, id: &str, title: Option<&str>) -> Result<SessionSummary, StoreError> {
        let (id, title, now) =
            (id.to_owned(), title.map_or("", str::trim).to_owned(), ts_text(Timestamp::now()));
        self.q(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO ctl_sessions (id, title, created_at, updated_at) VALUES ($1, $2, $3, $3)
                     ON CONFLICT (id) DO NOTHING",
                    &[&id, &title, &now],
                )
                .await?;
                Ok(row_to_session(&c.query_one(&format!("{SELECT_SESSION} WHERE s.id = $1"), &[&id]).await?))
            })
        })
    }

    fn list_sessions(&self, limit: usize) -> Result<Vec<SessionSummary>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        &format!("{SELECT_SESSION} ORDER BY s.updated_at DESC, s.id DESC LIMIT $1"),
                        &[&limit],
                    )
                    .await?;
                Ok(rows.iter().map(row_to_session).collect())
            })
        })
    }

    fn get_session(&self, id: &str) -> Result<Option<SessionSummary>, StoreError> {
        let id = id.to_owned();
        self.q(move |c| {
            Box::pin(async move {
                Ok(c.query_opt(&format!("{SELECT_SESSION} WHERE s.id = $1"), &[&id])
                    .await?
                    .as_ref()
                    .map(row_to_session))
            })
        })
    }

    fn session_messages(&self, session_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let id = session_id.to_owned();
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT id, session_id, role, content, job_id, created_at FROM ctl_messages
                         WHERE session_id = $1 ORDER BY created_at, n",
                        &[&id],
                    )
                    .await?;
                let mut out = Vec::new();
                for r in rows {
                    let role: String = r.get(2);
                    let role = secrets::parse_role(&role)
                        .ok_or_else(|| PgError::Other(format!("unknown role {role:?}")))?;
                    out.push(ChatMessage {
                        id: r.get(0),
                        session_id: r.get(1),
                        role,
                        content: r.get(3),
                        job_id: r.get(4),
                        created_at: ts(r.get(5)).unwrap_or_default(),
                    });
                }
                Ok(out)
            })
        })
    }

    fn add_message(&self, msg: &ChatMessage) -> Result<bool, StoreError> {
        let msg = msg.clone();
        self.q(move |mut c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                let added = add_message_in(&tx, &msg).await?;
                tx.commit().await?;
                Ok(added)
            })
        })
    }

    fn rename_session(&self, id: &str, title: &str) -> Result<bool, StoreError> {
        let (id, title) = (id.to_owned(), title.trim().to_owned());
        self.q(move |c| {
            Box::pin(async move {
                Ok(c.execute("UPDATE ctl_sessions SET title = $2 WHERE id = $1", &[&id, &title]).await? > 0)
            })
        })
    }

    fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.q(move |c| {
            Box::pin(
                async move { Ok(c.execute("DELETE FROM ctl_sessions WHERE id = $1", &[&id]).await? > 0) },
            )
        })
    }

    fn create_token(&self, name: &str) -> Result<(TokenInfo, String), StoreError> {
        let secret =
            secrets::random_secret(secrets::TOKEN_PREFIX).map_err(|e| StoreError::Backend(e.to_string()))?;
        let hash = secrets::hash_secret(&secret);
        let info = TokenInfo {
            id: crate::queue::new_id(),
            name: name.to_owned(),
            created_at: Timestamp::now(),
            last_used_at: None,
            revoked_at: None,
        };
        let (id, name, created) = (info.id.clone(), info.name.clone(), ts_text(info.created_at));
        self.q(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO ctl_tokens (id, name, hash, created_at) VALUES ($1, $2, $3, $4)",
                    &[&id, &name, &hash, &created],
                )
                .await?;
                Ok(())
            })
        })?;
        Ok((info, secret))
    }

    fn verify_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !secrets::well_formed(secret, secrets::TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = secrets::hash_secret(secret);
        let found = self.q(move |c| {
            Box::pin(async move {
                Ok(c.query_opt(
                    &format!("{SELECT_TOKEN} WHERE t.hash = $1 AND t.revoked_at IS NULL"),
                    &[&hash],
                )
                .await?
                .as_ref()
                .map(row_to_token))
            })
        })?;
        found.map(|info| self.touch(info)).transpose()
    }

    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.q(|c| {
            Box::pin(async move {
                let rows = c.query(&format!("{SELECT_TOKEN} ORDER BY t.created_at, t.id"), &[]).await?;
                Ok(rows.iter().map(row_to_token).collect())
            })
        })
    }

    fn revoke_token(&self, id_or_name: &str) -> Result<usize, StoreError> {
        if id_or_name.is_empty() {
            return Ok(0);
        }
        let (key, now) = (id_or_name.to_owned(), ts_text(Timestamp::now()));
        self.q(move |mut c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                let ids = |rows: Vec<Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
                let mut targets = ids(tx.query("SELECT id FROM ctl_tokens WHERE id = $1", &[&key]).await?);
                if targets.is_empty() {
                    targets = ids(tx.query("SELECT id FROM ctl_tokens WHERE name = $1", &[&key]).await?);
                }
                if targets.is_empty() {
                    let upper = format!("{key}\u{7f}");
                    targets = ids(tx
                        .query(
                            "SELECT id FROM ctl_tokens WHERE id >= $1 AND id < $2 LIMIT 2",
                            &[&key, &upper],
                        )
                        .await?);
                    if targets.len() > 1 {
                        targets.clear();
                    }
                }
                let mut revoked = 0;
                for id in &targets {
                    revoked += tx
                        .execute(
                            "UPDATE ctl_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                            &[id, &now],
                        )
                        .await? as usize;
                    tx.execute("DELETE FROM ctl_web_sessions WHERE token_id = $1", &[id]).await?;
                }
                tx.commit().await?;
                Ok(revoked)
            })
        })
    }

    fn create_web_session(&self, token_id: &str, ttl: Duration) -> Result<String, StoreError> {
        let secret = secrets::random_secret(secrets::WEB_SESSION_PREFIX)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let hash = secrets::hash_secret(&secret);
        let now = Timestamp::now();
        let expires_at = SignedDuration::try_from(ttl)
            .ok()
            .and_then(|ttl| now.checked_add(ttl).ok())
            .unwrap_or(Timestamp::MAX);
        let (now, expires_at, token_id) = (ts_text(now), ts_text(expires_at), token_id.to_owned());
        self.q(move |mut c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.execute("DELETE FROM ctl_web_sessions WHERE expires_at <= $1", &[&now]).await?;
                tx.execute(
                    "INSERT INTO ctl_web_sessions (hash, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    &[&hash, &token_id, &now, &expires_at],
                )
                .await?;
                tx.commit().await?;
                Ok(())
            })
        })?;
        Ok(secret)
    }

    fn verify_web_session(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !secrets::well_formed(secret, secrets::WEB_SESSION_PREFIX) {
            return Ok(None);
        }
        let (hash, now) = (secrets::hash_secret(secret), ts_text(Timestamp::now()));
        let found = self.q(move |c| {
            Box::pin(async move {
                Ok(c.query_opt(
                    &format!(
                        "{SELECT_TOKEN} JOIN ctl_web_sessions w ON w.token_id = t.id
                         WHERE w.hash = $1 AND w.expires_at > $2 AND t.revoked_at IS NULL"
                    ),
                    &[&hash, &now],
                )
                .await?
                .as_ref()
                .map(row_to_token))
            })
        })?;
        found.map(|info| self.touch(info)).transpose()
    }

    fn delete_web_session(&self, secret: &str) -> Result<(), StoreError> {
        let hash = secrets::hash_secret(secret);
        self.q(move |c| {
            Box::pin(async move {
                c.execute("DELETE FROM ctl_web_sessions WHERE hash = $1", &[&hash]).await?;
                Ok(())
            })
        })
    }

    fn usage_rows(&self, since: Option<Timestamp>) -> Result<Vec<UsageRow>, StoreError> {
        // Record times are jiff's shortest form; compare as times.
        let since = since.map(|t| t.as_microsecond() as f64 / 1e6);
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT model, substr(finished_at, 1, 10), state, skills, COALESCE(prompt_tokens, 0),
                            COALESCE(completion_tokens, 0), ttft_ms, tokens_per_s
                         FROM ctl_jobs WHERE finished_at IS NOT NULL
                            AND ($1::float8 IS NULL OR finished_at::timestamptz >= to_timestamp($1))
                         ORDER BY id",
                        &[&since],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let skills: Vec<crate::api::SkillRef> =
                            serde_json::from_str(r.get(3)).unwrap_or_default();
                        UsageRow {
                            model: r.get(0),
                            day: r.get(1),
                            state: r.get(2),
                            skills: skills.into_iter().map(|s| s.name).collect(),
                            prompt_tokens: r.get::<_, i64>(4) as u64,
                            completion_tokens: r.get::<_, i64>(5) as u64,
                            ttft_ms: r.get(6),
                            tokens_per_s: r.get(7),
                        }
                    })
                    .collect())
            })
        })
    }

    fn metrics(&self, duration_bounds: &[f64], ttft_bounds: &[f64]) -> Result<MetricsSnapshot, StoreError> {
        let bucket =
            |column: &str, b: &f64| format!("COUNT(*) FILTER (WHERE {column} / 1000.0 <= {b:?}::float8)");
        let columns = [
            "COUNT(duration_ms)".to_owned(),
            "COALESCE(SUM(duration_ms), 0)".to_owned(),
            "COUNT(ttft_ms)".to_owned(),
            "COALESCE(SUM(ttft_ms), 0)".to_owned(),
        ]
        .into_iter()
        .chain(duration_bounds.iter().map(|b| bucket("duration_ms", b)))
        .chain(ttft_bounds.iter().map(|b| bucket("ttft_ms", b)))
        .collect::<Vec<_>>()
        .join(", ");
        let histograms = format!("SELECT {columns} FROM ctl_jobs WHERE state = 'completed'");
        let (db, tb) = (duration_bounds.to_vec(), ttft_bounds.to_vec());
        self.q(move |c| {
            Box::pin(async move {
                let mut snap = MetricsSnapshot::default();
                for state in [JobState::Completed, JobState::Failed, JobState::Cancelled] {
                    snap.jobs_by_state.insert(state.as_str().to_owned(), 0);
                }
                let rows = c
                    .query(
                        "SELECT state, COUNT(*), COALESCE(SUM(prompt_tokens), 0)::int8,
                            COALESCE(SUM(completion_tokens), 0)::int8 FROM ctl_jobs GROUP BY state",
                        &[],
                    )
                    .await?;
                for r in rows {
                    snap.jobs_by_state.insert(r.get(0), r.get::<_, i64>(1) as u64);
                    snap.prompt_tokens += r.get::<_, i64>(2) as u64;
                    snap.completion_tokens += r.get::<_, i64>(3) as u64;
                }
                let r = c.query_one(&histograms, &[]).await?;
                let n = db.len();
                let counts = |first: usize, len: usize| {
                    (first..first + len).map(|i| r.get::<_, i64>(i) as u64).collect()
                };
                snap.duration_seconds = Histogram {
                    bounds: db.clone(),
                    buckets: counts(4, n),
                    count: r.get::<_, i64>(0) as u64,
                    sum: r.get::<_, f64>(1) / 1000.0,
                };
                snap.ttft_seconds = Histogram {
                    bounds: tb.clone(),
                    buckets: counts(4 + n, tb.len()),
                    count: r.get::<_, i64>(2) as u64,
                    sum: r.get::<_, f64>(3) / 1000.0,
                };
                Ok(snap)
            })
        })
    }

    fn record_tool_call(&self, row: &ToolCallRow) -> Result<(), StoreError> {
        let row = row.clone();
        self.q(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO ctl_tool_calls (ts, tool, args_sha256, duration_ms, outcome, bytes, source, job_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &ts_text(row.ts),
                        &row.tool,
                        &row.args_sha256,
                        &row.duration_ms,
                        &row.outcome,
                        &(row.bytes as i64),
                        &row.source,
                        &row.job_id,
                    ],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn tool_call_counts(&self, since: Option<Timestamp>) -> Result<Vec<ToolCallCount>, StoreError> {
        let since = since.map(ts_text);
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT tool, outcome, COUNT(*), COALESCE(SUM(duration_ms), 0) FROM ctl_tool_calls
                         WHERE $1::text IS NULL OR ts >= $1 GROUP BY tool, outcome ORDER BY tool, outcome",
                        &[&since],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| ToolCallCount {
                        tool: r.get(0),
                        outcome: r.get(1),
                        calls: r.get::<_, i64>(2) as u64,
                        duration_ms: r.get(3),
                    })
                    .collect())
            })
        })
    }

    fn tool_calls_of_job(&self, job_id: &str) -> Result<Vec<ToolCallRow>, StoreError> {
        let id = job_id.to_owned();
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT ts, tool, args_sha256, duration_ms, outcome, bytes, source, job_id
                         FROM ctl_tool_calls WHERE job_id = $1 ORDER BY id",
                        &[&id],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| ToolCallRow {
                        ts: ts(r.get(0)).unwrap_or_default(),
                        tool: r.get(1),
                        args_sha256: r.get(2),
                        duration_ms: r.get(3),
                        outcome: r.get(4),
                        bytes: r.get::<_, i64>(5) as u64,
                        source: r.get(6),
                        job_id: r.get(7),
                    })
                    .collect())
            })
        })
    }

    fn claim_idempotency_key(
        &self,
        token_id: &str,
        key: &str,
        request_sha256: &str,
        job_id: &str,
    ) -> Result<KeyClaim, StoreError> {
        let now = Timestamp::now();
        let oldest = ts_text(now - secrets::IDEMPOTENCY_KEEP);
        let now = ts_text(now);
        let (token_id, key, sha, job_id) =
            (token_id.to_owned(), key.to_owned(), request_sha256.to_owned(), job_id.to_owned());
        self.q(move |mut c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.execute("DELETE FROM ctl_idempotency_keys WHERE created_at < $1", &[&oldest]).await?;
                // Insert first: of two requests racing with one key, one inserts.
                let n = tx
                    .execute(
                        "INSERT INTO ctl_idempotency_keys (token_id, key, request_sha256, job_id, created_at)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        &[&token_id, &key, &sha, &job_id, &now],
                    )
                    .await?;
                let claim = if n > 0 {
                    KeyClaim::New
                } else {
                    let r = tx
                        .query_one(
                            "SELECT job_id, request_sha256 FROM ctl_idempotency_keys WHERE token_id = $1 AND key = $2",
                            &[&token_id, &key],
                        )
                        .await?;
                    KeyClaim::Existing { job_id: r.get(0), same_request: r.get::<_, String>(1) == sha }
                };
                tx.commit().await?;
                Ok(claim)
            })
        })
    }

    fn release_idempotency_key(&self, token_id: &str, key: &str, job_id: &str) -> Result<(), StoreError> {
        let (token_id, key, job_id) = (token_id.to_owned(), key.to_owned(), job_id.to_owned());
        self.q(move |c| {
            Box::pin(async move {
                c.execute(
                    "DELETE FROM ctl_idempotency_keys WHERE token_id = $1 AND key = $2 AND job_id = $3",
                    &[&token_id, &key, &job_id],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn export_rows(
        &self,
        table: Table,
        each: &mut dyn FnMut(crate::backend::Row) -> bool,
    ) -> Result<(), StoreError> {
        // Pages in the order the rows were written: by the numbering column
        // where the table has one, else by its key.
        let order = table.numbering().first().copied().unwrap_or(table.key()[0]);
        let mut after: Option<String> = None;
        loop {
            let sql = format!(
                "SELECT {order}::text, row_to_json(t)::text FROM ctl_{name} t
                 WHERE $1::text IS NULL OR {cmp} ORDER BY {order} LIMIT 500",
                name = table.name(),
                cmp = if table.numbering().is_empty() {
                    format!("{order} > $1::text")
                } else {
                    format!("{order} > $1::text::bigint")
                },
            );
            let from = after.clone();
            let page: Vec<(String, String)> = self.q(move |c| {
                Box::pin(async move {
                    let rows = c.query(&sql, &[&from]).await?;
                    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
                })
            })?;
            let Some((last, _)) = page.last() else { return Ok(()) };
            after = Some(last.clone());
            for (_, text) in page {
                let mut row: crate::backend::Row =
                    serde_json::from_str(&text).map_err(|e| StoreError::Backend(e.to_string()))?;
                for col in table.numbering() {
                    row.remove(*col);
                }
                if !each(row) {
                    return Ok(());
                }
            }
        }
    }

    fn import_row(&self, table: Table, row: &crate::backend::Row) -> Result<bool, StoreError> {
        let name = table.name();
        let row = row.clone();
        self.q(move |c| {
            Box::pin(async move {
                let columns: Vec<String> = c
                    .query(
                        "SELECT column_name::text FROM information_schema.columns
                         WHERE table_name = $1 AND table_schema = current_schema()",
                        &[&format!("ctl_{name}")],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let mut names = Vec::new();
                for col in row.keys() {
                    if table.numbering().contains(&col.as_str()) {
                        continue;
                    }
                    if !columns.contains(col) {
                        return Err(PgError::Other(format!("table {name} has no column {col:?}")));
                    }
                    names.push(format!("\"{col}\""));
                }
                for key in table.key() {
                    if !row.contains_key(*key) {
                        return Err(PgError::Other(format!("a {name} row without {key}")));
                    }
                }
                // The row's JSON is typed by the table's own row type, so
                // text times, numbers and SQLite's 0/1 booleans all land as
                // the columns want them.
                let cols = names.join(", ");
                let cond: Vec<String> =
                    table.key().iter().map(|k| format!("t.\"{k}\" = r.\"{k}\"")).collect();
                let sql = format!(
                    "INSERT INTO ctl_{name} ({cols})
                     SELECT {cols} FROM json_populate_record(NULL::ctl_{name}, $1::text::json) r
                     WHERE NOT EXISTS (SELECT 1 FROM ctl_{name} t WHERE {cond})",
                    cond = cond.join(" AND "),
                );
                let json = serde_json::Value::Object(row).to_string();
                Ok(c.execute(&sql, &[&json]).await? == 1)
            })
        })
    }

    fn failure_cursor(&self) -> Result<i64, StoreError> {
        self.q(|c| {
            Box::pin(async move {
                Ok(c.query_one(
                    "SELECT COALESCE(MAX(seq), 0)::int8 FROM ctl_jobs WHERE state = 'failed'",
                    &[],
                )
                .await?
                .get(0))
            })
        })
    }

    fn failures_after(&self, cursor: i64) -> Result<(Vec<Failure>, i64), StoreError> {
        self.q(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT seq, state = 'failed', id, model, COALESCE(error, '') FROM ctl_jobs
                         WHERE seq > $1 AND state = 'failed' ORDER BY seq",
                        &[&cursor],
                    )
                    .await?;
                let mut out = Vec::new();
                let mut next = cursor;
                for r in rows {
                    next = r.get(0);
                    if r.get::<_, bool>(1) {
                        out.push(Failure { id: r.get(2), model: r.get(3), error: r.get(4) });
                    }
                }
                Ok((out, next))
            })
        })
    }
}
