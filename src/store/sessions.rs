//! Chat sessions and their messages: the conversations a user continues from
//! the web UI or the CLI, each answer linked to the job that produced it.
//!
//! Also home to the helpers that read and write times in the tables added by
//! migration 0002: RFC 3339 UTC with exactly nine fractional digits, so that
//! comparing the strings compares the times.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::api::Role;

/// The longest derived title, in characters, the ellipsis included.
const TITLE_MAX_CHARS: usize = 60;

/// One chat session, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionSummary {
    pub id: String,
    /// Empty until set by hand or derived from the first user message.
    pub title: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The last activity: creation, or the newest message added.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub message_count: u64,
}

/// One message of a chat session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatMessage {
    pub id: String,
    pub session_id: String,
    pub role: Role,
    pub content: String,
    /// The job that answered (or was asked) this message.
    pub job_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

const SELECT_SESSION: &str = "SELECT s.id, s.title, s.created_at, s.updated_at,
    (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id) FROM sessions s";

impl Store {
    /// Creates an empty session. Creating an id that exists already changes
    /// nothing and returns the existing session, so a client may retry.
    pub fn create_session(&self, id: &str, title: Option<&str>) -> Result<SessionSummary, StoreError> {
        let now = ts_text(Timestamp::now());
        let title = title.map_or("", str::trim);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (id) DO NOTHING",
                params![id, title, now],
            )?;
            tx.query_row(&format!("{SELECT_SESSION} WHERE s.id = ?1"), [id], row_to_session)
        })
    }

    /// Most recent activity (updated_at) first.
    pub fn list_sessions(&self, limit: usize) -> Result<Vec<SessionSummary>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            let mut stmt =
                c.prepare(&format!("{SELECT_SESSION} ORDER BY s.updated_at DESC, s.id DESC LIMIT ?1"))?;
            let rows = stmt.query_map([limit], row_to_session)?;
            rows.collect()
        })
    }

    pub fn get_session(&self, id: &str) -> Result<Option<SessionSummary>, StoreError> {
        self.read(|c| {
            c.query_row(&format!("{SELECT_SESSION} WHERE s.id = ?1"), [id], row_to_session).optional()
        })
    }

    /// Oldest first; messages with the same time in the order they were added.
    pub fn session_messages(&self, session_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, session_id, role, content, job_id, created_at FROM messages
                 WHERE session_id = ?1 ORDER BY created_at, rowid",
            )?;
            let rows = stmt.query_map([session_id], row_to_message)?;
            rows.collect()
        })
    }

    /// Adds a message and bumps the session's updated_at. If the session's
    /// title is empty and this is a user message, the title becomes the first
    /// non-blank line of the content, trimmed, cut to 60 characters (the last
    /// one an ellipsis when cut).
    ///
    /// Idempotent for messages that carry a job_id: a second message with the
    /// same (job_id, role) is ignored, so a worker finishing a job twice
    /// records one answer. A message whose id exists already is ignored too.
    /// Returns Ok(false) when ignored or when the session does not exist.
    pub fn add_message(&self, msg: &ChatMessage) -> Result<bool, StoreError> {
        let now = ts_text(Timestamp::now());
        let created_at = ts_text(msg.created_at);
        let title = if msg.role == Role::User { derive_title(&msg.content) } else { String::new() };
        self.write(|tx| {
            let exists = tx
                .query_row("SELECT 1 FROM sessions WHERE id = ?1", [&msg.session_id], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Ok(false);
            }
            // Without a target, DO NOTHING covers every unique constraint:
            // the id and the (job_id, role) index.
            let inserted = tx.execute(
                "INSERT INTO messages (id, session_id, role, content, job_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                params![msg.id, msg.session_id, role_str(msg.role), msg.content, msg.job_id, created_at],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            // MAX: updated_at never goes back, even if the clock does.
            tx.execute(
                "UPDATE sessions SET updated_at = MAX(updated_at, ?2),
                    title = CASE WHEN title = '' THEN ?3 ELSE title END
                 WHERE id = ?1",
                params![msg.session_id, now, title],
            )?;
            Ok(true)
        })
    }

    /// Sets the title (trimmed); false when the session does not exist.
    /// Renaming is not activity: updated_at stays.
    pub fn rename_session(&self, id: &str, title: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute("UPDATE sessions SET title = ?2 WHERE id = ?1", params![id, title.trim()])?;
            Ok(n > 0)
        })
    }

    /// Deletes the session and its messages; false when it did not exist.
    pub fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        // The messages go by ON DELETE CASCADE (foreign_keys is on).
        self.write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE id = ?1", [id])? > 0))
    }
}

/// A title from a first user message: its first non-blank line, trimmed,
/// at most [`TITLE_MAX_CHARS`] characters with an ellipsis when cut.
pub(crate) fn derive_title(content: &str) -> String {
    let line = content.trim().lines().next().unwrap_or_default().trim();
    if line.chars().nth(TITLE_MAX_CHARS).is_none() {
        return line.to_owned();
    }
    let keep: String = line.chars().take(TITLE_MAX_CHARS - 1).collect();
    format!("{}…", keep.trim_end())
}

pub(crate) fn role_str(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

pub(crate) fn parse_role(s: &str) -> Option<Role> {
    Some(match s {
        "system" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        _ => return None,
    })
}

fn row_to_session(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionSummary> {
    Ok(SessionSummary {
        id: r.get(0)?,
        title: r.get(1)?,
        created_at: ts_col(r, 2)?,
        updated_at: ts_col(r, 3)?,
        message_count: r.get::<_, i64>(4)? as u64,
    })
}

fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    let role: String = r.get(2)?;
    let role = parse_role(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role {role:?}").into(),
        )
    })?;
    Ok(ChatMessage {
        id: r.get(0)?,
        session_id: r.get(1)?,
        role,
        content: r.get(3)?,
        job_id: r.get(4)?,
        created_at: ts_col(r, 5)?,
    })
}

/// A time as stored in the tables of migration 0002: fixed width, so string
/// order is time order.
pub(super) fn ts_text(t: Timestamp) -> String {
    format!("{t:.9}")
}

pub(super) fn ts_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Timestamp> {
    parse_ts(i, &r.get::<_, String>(i)?)
}

pub(super) fn opt_ts_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    r.get::<_, Option<String>>(i)?.map(|s| parse_ts(i, &s)).transpose()
}

fn parse_ts(i: usize, s: &str) -> rusqlite::Result<Timestamp> {
    s.parse().map_err(|e: jiff::Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
