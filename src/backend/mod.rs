//! The storage seam: the queue (with leases), the event logs and the
//! records, as traits. Everything above (`jobs`, the worker, the API, the
//! CLI, alerts) speaks to these; [`fs`] implements them on a data directory
//! (queue files, NDJSON logs, SQLite), the embedded default.
//!
//! The vocabulary is the filesystem queue's: a job is in one of the queue's
//! [`Dir`]s (queued, active, completed, failed), a worker holds a lease on
//! the jobs it claimed, and only the lease holder writes a job's log and
//! finishes it. One conformance suite (`tests/it/conformance.rs`) runs
//! against every implementation.

pub mod fs;
pub mod pg;

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use jiff::Timestamp;

use crate::api::{Event, EventBody, Job, JobState, JobView};
use crate::events::EventError;
use crate::queue::{Dir, QueueError, ReadError};
use crate::store::{
    ChatMessage, Failure, KeyClaim, MetricsSnapshot, SessionSummary, StoreError, TokenInfo, ToolCallCount,
    ToolCallRow, UsageRow,
};

/// The queue as seen by everyone but a worker: publish, look, steer.
pub trait JobQueue: Send + Sync + Debug {
    /// Publishes a job: once this returns, the job survives a crash.
    fn publish(&self, job: &Job) -> Result<(), QueueError>;
    /// The ids of the jobs in `dir`, unsorted.
    fn list(&self, dir: Dir) -> Result<Vec<String>, QueueError>;
    /// A job as it lies in `dir`.
    fn read(&self, dir: Dir, id: &str) -> Result<Job, ReadError>;
    /// Where the job is now, if anywhere.
    fn locate(&self, id: &str) -> Option<Dir>;
    /// Moves a queued job to failed (as cancelled). False when it was not
    /// queued any more.
    fn cancel_queued(&self, id: &str) -> Result<bool, QueueError>;
    /// Moves a failed or cancelled job back into the queue.
    fn retry(&self, id: &str) -> Result<bool, QueueError>;
    /// Asks whoever runs `id` to stop it.
    fn request_cancel(&self, id: &str) -> Result<(), QueueError>;
    fn cancel_requested(&self, id: &str) -> bool;
    fn clear_cancel(&self, id: &str);
    /// How long the oldest waiting job has waited.
    fn oldest_queued_age(&self) -> Result<Option<Duration>, QueueError>;
    /// The ids of the workers alive now.
    fn live_workers(&self) -> Result<Vec<String>, QueueError>;
    /// Puts a job from an export (`ctl import`) in `dir` with its event
    /// log, unless a job with its id is here already (false). The log
    /// lands before the job, so a job is never seen without it.
    fn import(&self, dir: Dir, job: &Job, events: &[Event]) -> Result<bool, QueueError>;
    /// Joins the queue as a worker: a lease that lives as long as the
    /// returned value. `spares` is a hint of how many jobs it runs at once.
    fn join(&self, concurrency: usize) -> Result<Arc<dyn WorkerLease>, QueueError>;
}

/// Called by a queue watch when a job may have arrived: with its id when
/// one is known to have just landed.
pub type Landed = Arc<dyn Fn(Option<&str>) + Send + Sync>;

/// What one claim attempt found.
#[derive(Debug, Default)]
pub struct Claimed {
    /// The job this worker now holds, if any.
    pub job: Option<Job>,
    /// The claim saw at most one waiting job (so a job that lands next can
    /// be taken at once without breaking priority order).
    pub alone: bool,
}

/// A worker's lease on the queue: claims, and the writes that only a lease
/// holder may make. Dropping the last handle leaves the queue.
pub trait WorkerLease: Send + Sync + Debug {
    /// This worker's id (in `started` events and `ctl jobs`).
    fn id(&self) -> &str;
    /// Claims the next job: highest priority first, then oldest.
    fn claim_next(&self) -> Result<Claimed, QueueError>;
    /// Claims job `id`, which was just seen landing (see [`Self::watch`]).
    fn claim(&self, id: &str) -> Result<Option<Job>, QueueError>;
    /// Calls `landed` when a job may have arrived: with its id when one is
    /// known to have just landed. The returned guard stops the watch.
    fn watch(&self, landed: Landed) -> Option<Box<dyn Any + Send>>;
    /// Keeps the lease (and the leases of the jobs it holds) alive, and
    /// requeues the jobs of workers whose leases lapsed. Returns the ids it
    /// requeued. Called on start and then periodically.
    fn maintain(&self) -> Result<Vec<String>, QueueError>;
    /// A quiet moment: make what the next claims will need.
    fn idle(&self) {}
    /// Opens the log of a job this worker holds, as its writer. Writes the
    /// implied `queued` event first when the log is new, and returns it.
    fn open_log(&self, id: &str) -> Result<(Box<dyn EventSink>, Option<Event>), EventError>;
    /// Ends a held job: the record (and the session's answer) and the move
    /// to completed or failed, after the terminal event in `log`; a cancel
    /// request for it is cleared once that is done.
    fn finish(
        &self,
        id: &str,
        to: Dir,
        log: &mut dyn EventSink,
        record: &JobView,
        answer: Option<&ChatMessage>,
    ) -> Result<(), QueueError>;
    /// Hands a held job back to the queue.
    fn requeue(&self, id: &str) -> Result<bool, QueueError>;
    /// Forgets a held job without moving it: it stays active until
    /// recovery requeues it.
    fn release(&self, id: &str);
}

/// The event logs, for readers and for the owners of jobs that are not
/// running (a cancel that won a queued job, a retry).
pub trait EventLog: Send + Sync + Debug {
    /// Opens job `id`'s log for appending as its owner; see
    /// [`WorkerLease::open_log`].
    fn open_job(&self, id: &str) -> Result<(Box<dyn EventSink>, Option<Event>), EventError>;
    /// Every complete event of the log (empty when there is none yet).
    fn read_all(&self, id: &str) -> Result<Vec<Event>, EventError>;
    /// Streams the events after `after` (all when `None`), waiting for new
    /// ones, until the job's terminal event. A server follows through one
    /// shared watch for all its clients.
    fn follow(&self, id: &str, after: Option<u64>) -> BoxStream<'static, Result<Event, EventError>>;
}

/// One job's log, open for appending by the job's owner.
pub trait EventSink: Send {
    /// Appends an event; it may reach readers a few milliseconds later.
    fn append(&mut self, body: EventBody) -> Result<Event, EventError>;
    /// Appends an event and makes it (and all before it) durable.
    fn append_durable(&mut self, body: EventBody) -> Result<Event, EventError>;
    /// Makes the log itself durable (its name, on a filesystem; what was
    /// appended, in a database, but for a terminal event that the job's
    /// finish writes). After it, a read of the log and [`Self::unflushed`]
    /// together hold every event.
    fn sync_dir(&mut self) -> Result<(), EventError>;
    /// The log may have been made by a process that died before it was durable.
    fn assume_dir_unsynced(&mut self) {}
    /// The `seq` the next event will get.
    fn next_seq(&self) -> u64;
    /// Events appended but not yet readable by others (they are written
    /// with the job's finish).
    fn unflushed(&self) -> Vec<Event> {
        Vec::new()
    }
    /// Lets an implementation reach its own sink type.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Finished jobs, sessions and their messages, API tokens, web sessions,
/// tool calls, idempotency keys: everything a job leaves behind.
#[allow(clippy::missing_errors_doc)]
pub trait Records: Send + Sync + Debug {
    /// Records (or replaces) a finished job; the id is the key.
    fn record(&self, job: &JobView) -> Result<(), StoreError>;
    /// Forgets a job's record (it is being retried).
    fn forget(&self, id: &str) -> Result<(), StoreError>;
    fn get(&self, id: &str) -> Result<Option<JobView>, StoreError>;
    /// Finished jobs, newest first; only ids before `before` when given.
    fn list(
        &self,
        state: Option<JobState>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<Vec<JobView>, StoreError>;
    /// Recorded replays of `id`, oldest first.
    fn children(&self, id: &str) -> Result<Vec<JobView>, StoreError>;
    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError>;
    /// "ok" when the database is sound.
    fn quick_check(&self) -> Result<String, StoreError>;

    fn create_session(&self, id: &str, title: Option<&str>) -> Result<SessionSummary, StoreError>;
    fn list_sessions(&self, limit: usize) -> Result<Vec<SessionSummary>, StoreError>;
    fn get_session(&self, id: &str) -> Result<Option<SessionSummary>, StoreError>;
    fn session_messages(&self, session_id: &str) -> Result<Vec<ChatMessage>, StoreError>;
    /// Adds a message; false when it was there already (same job and role).
    fn add_message(&self, msg: &ChatMessage) -> Result<bool, StoreError>;
    fn rename_session(&self, id: &str, title: &str) -> Result<bool, StoreError>;
    fn delete_session(&self, id: &str) -> Result<bool, StoreError>;

    fn create_token(&self, name: &str) -> Result<(TokenInfo, String), StoreError>;
    fn verify_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError>;
    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    fn revoke_token(&self, id_or_name: &str) -> Result<usize, StoreError>;
    fn create_web_session(&self, token_id: &str, ttl: Duration) -> Result<String, StoreError>;
    fn verify_web_session(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError>;
    fn delete_web_session(&self, secret: &str) -> Result<(), StoreError>;

    /// One row per finished job (at or after `since`): what every usage
    /// statistic (`ctl stats`, `/stats`) aggregates.
    fn usage_rows(&self, since: Option<Timestamp>) -> Result<Vec<UsageRow>, StoreError>;
    fn metrics(&self, duration_bounds: &[f64], ttft_bounds: &[f64]) -> Result<MetricsSnapshot, StoreError>;

    fn record_tool_call(&self, row: &ToolCallRow) -> Result<(), StoreError>;
    fn tool_call_counts(&self, since: Option<Timestamp>) -> Result<Vec<ToolCallCount>, StoreError>;
    fn tool_calls_of_job(&self, job_id: &str) -> Result<Vec<ToolCallRow>, StoreError>;

    fn claim_idempotency_key(
        &self,
        token_id: &str,
        key: &str,
        request_sha256: &str,
        job_id: &str,
    ) -> Result<KeyClaim, StoreError>;
    fn release_idempotency_key(&self, token_id: &str, key: &str, job_id: &str) -> Result<(), StoreError>;

    /// Every row of `table` in the order it was written, without the
    /// database's own numbering (for `ctl export`); `each` returns false
    /// to stop.
    fn export_rows(&self, table: Table, each: &mut dyn FnMut(Row) -> bool) -> Result<(), StoreError>;
    /// Inserts a row from an export unless a row with its key is there
    /// already (false). Unknown columns are refused.
    fn import_row(&self, table: Table, row: &Row) -> Result<bool, StoreError>;

    /// Where the failures feed stands now.
    fn failure_cursor(&self) -> Result<i64, StoreError>;
    /// Failures recorded after `cursor`, and the new cursor.
    fn failures_after(&self, cursor: i64) -> Result<(Vec<Failure>, i64), StoreError>;
}

/// A record row as `ctl export` writes it: column name to value.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// The record tables `ctl export` moves, in the order `ctl import` loads
/// them (sessions before their messages, tokens before what names them).
/// Web logins are not moved: they are short-lived, and a user logs in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Tokens,
    Sessions,
    Messages,
    Jobs,
    ToolCalls,
    IdempotencyKeys,
}

impl Table {
    pub const ALL: [Self; 6] =
        [Self::Tokens, Self::Sessions, Self::Messages, Self::Jobs, Self::ToolCalls, Self::IdempotencyKeys];

    /// The table's name in the SQLite store (PostgreSQL's has `ctl_` before it).
    pub fn name(self) -> &'static str {
        match self {
            Self::Tokens => "tokens",
            Self::Sessions => "sessions",
            Self::Messages => "messages",
            Self::Jobs => "jobs",
            Self::ToolCalls => "tool_calls",
            Self::IdempotencyKeys => "idempotency_keys",
        }
    }

    /// Columns that are a database's own numbering: never exported, given
    /// afresh (in import order) by the database that imports.
    pub fn numbering(self) -> &'static [&'static str] {
        match self {
            Self::Jobs => &["seq"],
            Self::Messages => &["n"],
            Self::ToolCalls => &["id"],
            _ => &[],
        }
    }

    /// The columns that tell one row from another, so an import run twice
    /// adds nothing the second time.
    pub fn key(self) -> &'static [&'static str] {
        match self {
            Self::ToolCalls => &["ts", "tool", "args_sha256", "source"],
            Self::IdempotencyKeys => &["token_id", "key"],
            _ => &["id"],
        }
    }
}

/// The three parts of one backend.
#[derive(Debug, Clone)]
pub struct Backend {
    pub queue: Arc<dyn JobQueue>,
    pub events: Arc<dyn EventLog>,
    pub records: Arc<dyn Records>,
}
