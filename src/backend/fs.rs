//! The embedded backend: the queue directories ([`crate::queue`]), the
//! NDJSON event logs ([`crate::events`]) and SQLite ([`crate::store`]) of
//! one data directory, behind the seam's traits. The protocols themselves
//! live in those rooms; this file only maps the traits onto them.

use std::any::Any;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures_util::stream::BoxStream;
use jiff::Timestamp;

use super::{Backend, Claimed, EventLog, EventSink, JobQueue, Landed, Records, Row, Table, WorkerLease};
use crate::api::{Event, EventBody, Job, JobState, JobView};
use crate::events::{self, EventError, EventWriter, Hub, Spares};
use crate::home::Home;
use crate::queue::{self, Claim, Dir, Queue, QueueError, ReadError};
use crate::store::{
    ChatMessage, Failure, KeyClaim, MetricsSnapshot, SessionSummary, Store, StoreError, TokenInfo,
    ToolCallCount, ToolCallRow, UsageRow,
};

/// Opens the embedded backend of a data directory.
pub fn open(home: &Home) -> Result<Backend, StoreError> {
    let store = Store::open(&home.db_path())?;
    Ok(Backend {
        queue: Arc::new(FsQueue { queue: Queue::new(home.clone()), store: store.clone() }),
        events: Arc::new(FsEvents { home: home.clone(), hub: OnceLock::new() }),
        records: Arc::new(store),
    })
}

/// The queue directories of a data directory.
#[derive(Debug, Clone)]
pub struct FsQueue {
    queue: Queue,
    /// Where a worker records the jobs it finishes.
    store: Store,
}

impl FsQueue {
    pub fn new(queue: Queue, store: Store) -> Self {
        Self { queue, store }
    }
}

fn io_error(action: &'static str, path: std::path::PathBuf) -> impl FnOnce(std::io::Error) -> QueueError {
    move |source| QueueError::Io { action, path, source }
}

impl JobQueue for FsQueue {
    fn publish(&self, job: &Job) -> Result<(), QueueError> {
        self.queue.publish(job)
    }

    fn list(&self, dir: Dir) -> Result<Vec<String>, QueueError> {
        self.queue.list(dir)
    }

    fn read(&self, dir: Dir, id: &str) -> Result<Job, ReadError> {
        self.queue.read(dir, id)
    }

    fn locate(&self, id: &str) -> Option<Dir> {
        self.queue.locate(id)
    }

    fn import(&self, dir: Dir, job: &Job, events: &[Event]) -> Result<bool, QueueError> {
        let mut log = Vec::new();
        for e in events {
            serde_json::to_writer(&mut log, e)?;
            log.push(b'\n');
        }
        self.queue.import(dir, job, &log)
    }

    fn cancel_queued(&self, id: &str) -> Result<bool, QueueError> {
        self.queue.cancel_queued(id)
    }

    fn retry(&self, id: &str) -> Result<bool, QueueError> {
        self.queue.retry(id)
    }

    fn request_cancel(&self, id: &str) -> Result<(), QueueError> {
        self.queue.request_cancel(id)
    }

    fn cancel_requested(&self, id: &str) -> bool {
        self.queue.cancel_requested(id)
    }

    fn clear_cancel(&self, id: &str) {
        self.queue.clear_cancel(id);
    }

    fn oldest_queued_age(&self) -> Result<Option<Duration>, QueueError> {
        let dir = self.queue.dir(Dir::Queued);
        crate::alerts::probe::oldest_queued(&dir).map_err(io_error("list", dir))
    }

    fn live_workers(&self) -> Result<Vec<String>, QueueError> {
        let dir = self.queue.home().workers_dir();
        queue::lease::live_workers(&dir).map_err(io_error("list", dir))
    }

    fn join(&self, concurrency: usize) -> Result<Arc<dyn WorkerLease>, QueueError> {
        let home = self.queue.home();
        let workers = home.workers_dir();
        let lease = queue::WorkerLease::acquire(&workers)
            .map_err(io_error("take a worker lock in", workers.clone()))?;
        let spares_dir = workers.join(format!("{}.spares", lease.id()));
        let spares = Spares::new(spares_dir.clone(), concurrency + 1)
            .map_err(io_error("make spare event logs in", spares_dir))?;
        Ok(Arc::new(FsWorker {
            queue: self.queue.clone(),
            store: self.store.clone(),
            spares,
            lease,
            priorities: Mutex::default(),
        }))
    }
}

/// A worker on a data directory: its flock'ed lock file and claims file.
#[derive(Debug)]
pub struct FsWorker {
    queue: Queue,
    store: Store,
    /// Empty files that become event logs; dropped (and removed) before
    /// the lease lets the worker's other files go.
    spares: Spares,
    lease: queue::WorkerLease,
    /// Priorities read from waiting job files, each once.
    priorities: Mutex<HashMap<String, i32>>,
}

impl FsWorker {
    /// Tries to claim one queued job; `None` when another worker took it or
    /// it was garbage (now in `_corrupt`).
    fn claim_one(&self, id: &str) -> Result<Option<Job>, QueueError> {
        match self.queue.claim(id, &self.lease)? {
            Claim::Won(job) => Ok(Some(*job)),
            Claim::Lost => Ok(None),
            Claim::Corrupt(reason) => {
                tracing::warn!(%id, %reason, "moved unreadable job to _corrupt");
                Ok(None)
            }
        }
    }
}

impl WorkerLease for FsWorker {
    fn id(&self) -> &str {
        self.lease.id()
    }

    /// Highest priority first, then oldest id. Priorities are read from
    /// each job file once and remembered; a job waiting alone is not read
    /// for its priority at all (only once, when claimed).
    fn claim_next(&self) -> Result<Claimed, QueueError> {
        let q = &self.queue;
        let ids = q.list(Dir::Queued)?;
        let alone = ids.len() <= 1;
        let mut priorities = self.priorities.lock().unwrap_or_else(PoisonError::into_inner);
        if ids.is_empty() {
            priorities.clear();
            return Ok(Claimed { job: None, alone });
        }
        if let [id] = ids.as_slice() {
            // One job waiting: no order to find, so its file is read once,
            // when claimed.
            priorities.clear();
            return Ok(Claimed { job: self.claim_one(id)?, alone });
        }
        let present: HashSet<&String> = ids.iter().collect();
        priorities.retain(|id, _| present.contains(id));
        let mut order = BTreeSet::new();
        for id in &ids {
            let prio = *priorities
                .entry(id.clone())
                .or_insert_with(|| q.read(Dir::Queued, id).map_or(0, |j| j.priority));
            order.insert((std::cmp::Reverse(prio), id.clone()));
        }
        for (_, id) in order {
            priorities.remove(&id);
            if let Some(job) = self.claim_one(&id)? {
                return Ok(Claimed { job: Some(job), alone });
            }
        }
        Ok(Claimed { job: None, alone })
    }

    fn claim(&self, id: &str) -> Result<Option<Job>, QueueError> {
        self.claim_one(id)
    }

    /// inotify on `_queue`: a job file that lands is reported with its id.
    /// Without inotify the periodic rescan still finds jobs, only later.
    fn watch(&self, landed: Landed) -> Option<Box<dyn Any + Send>> {
        use notify::event::{ModifyKind, RenameMode};
        use notify::{EventKind, Watcher};
        let dir = self.queue.dir(Dir::Queued);
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            let id = match ev.kind {
                EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => ev
                    .paths
                    .first()
                    .and_then(|p| p.file_name())
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json"))
                    .filter(|id| queue::valid_id(id)),
                EventKind::Modify(_) | EventKind::Other | EventKind::Any => None,
                _ => return,
            };
            landed(id);
        })
        .map_err(|e| tracing::warn!("no filesystem notifications, polling only: {e}"))
        .ok()?;
        w.watch(&dir, notify::RecursiveMode::NonRecursive)
            .map_err(|e| tracing::warn!("cannot watch {}: {e}", dir.display()))
            .ok()?;
        Some(Box::new(w))
    }

    /// Quarantines garbage in `_queue` and requeues the jobs of dead workers.
    fn maintain(&self) -> Result<Vec<String>, QueueError> {
        for name in self.queue.stray_files()? {
            self.queue.quarantine(Dir::Queued, &name, "not a job file name (<ULID>.json)")?;
        }
        self.queue.recover()
    }

    fn idle(&self) {
        self.spares.fill();
    }

    fn open_log(&self, id: &str) -> Result<(Box<dyn EventSink>, Option<Event>), EventError> {
        let path = self.queue.home().events_path(id);
        let (writer, implied) = EventWriter::open_job(&path, id, Some(&self.spares))?;
        Ok((Box::new(writer), implied))
    }

    fn finish(
        &self,
        id: &str,
        to: Dir,
        _log: &mut dyn EventSink,
        record: &JobView,
        answer: Option<&ChatMessage>,
    ) -> Result<(), QueueError> {
        let store = |e: StoreError| QueueError::Io {
            action: "record",
            path: self.queue.home().db_path(),
            source: std::io::Error::other(e.to_string()),
        };
        self.store.record(record).map_err(store)?;
        if let Some(answer) = answer {
            self.store.add_message(answer).map_err(store)?;
        }
        self.queue.finish(id, to)?;
        self.queue.clear_cancel(id);
        Ok(())
    }

    fn requeue(&self, id: &str) -> Result<bool, QueueError> {
        self.queue.requeue(id)
    }

    fn release(&self, id: &str) {
        self.lease.release(id);
    }
}

/// The event logs of a data directory.
pub struct FsEvents {
    home: Home,
    /// One inotify watch shared by every follower of this process, made
    /// when the first one starts.
    hub: OnceLock<Arc<Hub>>,
}

impl std::fmt::Debug for FsEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsEvents").field("home", &self.home).finish_non_exhaustive()
    }
}

impl EventLog for FsEvents {
    fn open_job(&self, id: &str) -> Result<(Box<dyn EventSink>, Option<Event>), EventError> {
        let (writer, implied) = EventWriter::open_job(&self.home.events_path(id), id, None)?;
        Ok((Box::new(writer), implied))
    }

    fn read_all(&self, id: &str) -> Result<Vec<Event>, EventError> {
        events::read_all(&self.home.events_path(id))
    }

    fn follow(&self, id: &str, after: Option<u64>) -> BoxStream<'static, Result<Event, EventError>> {
        self.hub.get_or_init(|| Hub::new(self.home.events_dir())).follow(id, after)
    }
}

impl EventSink for EventWriter {
    fn append(&mut self, body: EventBody) -> Result<Event, EventError> {
        EventWriter::append(self, body)
    }

    fn append_durable(&mut self, body: EventBody) -> Result<Event, EventError> {
        EventWriter::append_durable(self, body)
    }

    fn sync_dir(&mut self) -> Result<(), EventError> {
        EventWriter::sync_dir(self)
    }

    fn assume_dir_unsynced(&mut self) {
        EventWriter::assume_dir_unsynced(self);
    }

    fn next_seq(&self) -> u64 {
        EventWriter::next_seq(self)
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl Records for Store {
    fn record(&self, job: &JobView) -> Result<(), StoreError> {
        Store::record(self, job)
    }
    fn forget(&self, id: &str) -> Result<(), StoreError> {
        Store::forget(self, id)
    }
    fn get(&self, id: &str) -> Result<Option<JobView>, StoreError> {
        Store::get(self, id)
    }
    fn list(
        &self,
        state: Option<JobState>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<Vec<JobView>, StoreError> {
        Store::list(self, state, limit, before)
    }
    fn children(&self, id: &str) -> Result<Vec<JobView>, StoreError> {
        Store::children(self, id)
    }
    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        Store::ids_with_prefix(self, prefix, limit)
    }
    fn quick_check(&self) -> Result<String, StoreError> {
        Store::quick_check(self)
    }
    fn create_session(&self, id: &str, title: Option<&str>) -> Result<SessionSummary, StoreError> {
        Store::create_session(self, id, title)
    }
    fn list_sessions(&self, limit: usize) -> Result<Vec<SessionSummary>, StoreError> {
        Store::list_sessions(self, limit)
    }
    fn get_session(&self, id: &str) -> Result<Option<SessionSummary>, StoreError> {
        Store::get_session(self, id)
    }
    fn session_messages(&self, session_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        Store::session_messages(self, session_id)
    }
    fn add_message(&self, msg: &ChatMessage) -> Result<bool, StoreError> {
        Store::add_message(self, msg)
    }
    fn rename_session(&self, id: &str, title: &str) -> Result<bool, StoreError> {
        Store::rename_session(self, id, title)
    }
    fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        Store::delete_session(self, id)
    }
    fn create_token(&self, name: &str) -> Result<(TokenInfo, String), StoreError> {
        Store::create_token(self, name)
    }
    fn verify_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        Store::verify_token(self, secret)
    }
    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        Store::list_tokens(self)
    }
    fn revoke_token(&self, id_or_name: &str) -> Result<usize, StoreError> {
        Store::revoke_token(self, id_or_name)
    }
    fn create_web_session(&self, token_id: &str, ttl: Duration) -> Result<String, StoreError> {
        Store::create_web_session(self, token_id, ttl)
    }
    fn verify_web_session(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        Store::verify_web_session(self, secret)
    }
    fn delete_web_session(&self, secret: &str) -> Result<(), StoreError> {
        Store::delete_web_session(self, secret)
    }
    fn usage_rows(&self, since: Option<Timestamp>) -> Result<Vec<UsageRow>, StoreError> {
        Store::usage_rows(self, since)
    }
    fn metrics(&self, duration_bounds: &[f64], ttft_bounds: &[f64]) -> Result<MetricsSnapshot, StoreError> {
        Store::metrics(self, duration_bounds, ttft_bounds)
    }
    fn record_tool_call(&self, row: &ToolCallRow) -> Result<(), StoreError> {
        Store::record_tool_call(self, row)
    }
    fn tool_call_counts(&self, since: Option<Timestamp>) -> Result<Vec<ToolCallCount>, StoreError> {
        Store::tool_call_counts(self, since)
    }
    fn tool_calls_of_job(&self, job_id: &str) -> Result<Vec<ToolCallRow>, StoreError> {
        Store::tool_calls_of_job(self, job_id)
    }
    fn claim_idempotency_key(
        &self,
        token_id: &str,
        key: &str,
        request_sha256: &str,
        job_id: &str,
    ) -> Result<KeyClaim, StoreError> {
        Store::claim_idempotency_key(self, token_id, key, request_sha256, job_id)
    }
    fn release_idempotency_key(&self, token_id: &str, key: &str, job_id: &str) -> Result<(), StoreError> {
        Store::release_idempotency_key(self, token_id, key, job_id)
    }
    fn export_rows(&self, table: Table, each: &mut dyn FnMut(Row) -> bool) -> Result<(), StoreError> {
        Store::export_rows(self, table, each)
    }
    fn import_row(&self, table: Table, row: &Row) -> Result<bool, StoreError> {
        Store::import_row(self, table, row)
    }
    fn failure_cursor(&self) -> Result<i64, StoreError> {
        Store::failure_cursor(self)
    }
    fn failures_after(&self, cursor: i64) -> Result<(Vec<Failure>, i64), StoreError> {
        Store::failures_after(self, cursor)
    }
}
