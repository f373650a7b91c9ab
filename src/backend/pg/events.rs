//! Event logs on PostgreSQL: batches of consecutive events per row of
//! `ctl_events`, written by the job's owner (fenced by its lease), read by
//! `seq`, with LISTEN/NOTIFY wake-ups.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use jiff::Timestamp;
use tokio::sync::Notify;

use super::queue::{check_lease, listen};
use super::{Db, PgError};
use crate::api::{Event, EventBody};
use crate::backend::{EventLog, EventSink};
use crate::events::{EventError, LineDecoder, implied_queued};

/// The events' channel: the payload is the job id.
pub(super) const EVENTS_CHANNEL: &str = "ctl_events";

/// How long appended events wait before they are written together.
const FLUSH_EVERY: Duration = Duration::from_millis(25);
/// At most one wake-up per job this often.
const NOTIFY_EVERY: Duration = Duration::from_millis(100);
/// How often a follower looks even without a wake-up.
const POLL: Duration = Duration::from_millis(500);

#[allow(clippy::needless_pass_by_value)] // for map_err
fn eerr(e: PgError) -> EventError {
    EventError::Backend(e.to_string())
}

/// Events appended and not yet written, and the writer's bookkeeping.
/// Behind an async mutex: flushes happen one at a time, in order.
#[derive(Debug)]
pub(super) struct Pending {
    events: Vec<Event>,
    /// Taken out by a flush under way, put back if it fails.
    in_flight: Vec<Event>,
    last_flush: Option<Instant>,
    last_notify: Option<Instant>,
    notify_owed: bool,
    /// The lease was lost: nothing more is written.
    fenced: bool,
}

impl Pending {
    /// The flush's transaction committed: its events are written.
    pub(super) fn committed(&mut self) {
        self.in_flight.clear();
    }
}

/// Writes the pending events inside `tx` (after the caller checked the
/// lease), and NOTIFYs readers when it is time (`force`: now).
pub(super) async fn flush_in(
    tx: &super::Tx<'_>,
    id: &str,
    p: &mut Pending,
    force: bool,
) -> Result<(), PgError> {
    if !p.in_flight.is_empty() {
        // A failed flush left these: write them first, in order, but not
        // those its commit wrote after all (the connection can break
        // between the commit and its answer).
        let mut again = std::mem::take(&mut p.in_flight);
        again.append(&mut p.events);
        let row = tx.query_one("SELECT max(last_seq) FROM ctl_events WHERE job_id = $1", &[&id]).await?;
        if let Some(written) = row.get::<_, Option<i64>>(0) {
            again.retain(|e| e.seq as i64 > written);
        }
        p.events = again;
    }
    if !p.events.is_empty() {
        let lines = lines_of(&p.events)?;
        let (first, last) = (p.events[0].seq as i64, p.events[p.events.len() - 1].seq as i64);
        tx.execute(
            "INSERT INTO ctl_events (job_id, first_seq, last_seq, lines) VALUES ($1, $2, $3, $4)",
            &[&id, &first, &last, &lines],
        )
        .await?;
        p.in_flight = std::mem::take(&mut p.events);
        p.notify_owed = true;
    }
    p.last_flush = Some(Instant::now());
    let due = p.last_notify.is_none_or(|t| t.elapsed() >= NOTIFY_EVERY);
    if p.notify_owed && (force || due) {
        tx.execute("SELECT pg_notify($1, $2)", &[&EVENTS_CHANNEL, &id]).await?;
        p.notify_owed = false;
        p.last_notify = Some(Instant::now());
    }
    Ok(())
}

/// One job's log open for appending. Events go to memory first and are
/// written together every [`FLUSH_EVERY`] by a task of the pool's runtime
/// (the first event after a quiet moment is written at once); durable
/// appends are written before they return. Every write checks the lease
/// in the same transaction: a writer whose lease was lost writes nothing.
#[derive(Debug)]
pub struct PgSink {
    db: Arc<Db>,
    id: String,
    lease: Option<String>,
    next_seq: u64,
    pending: Arc<tokio::sync::Mutex<Pending>>,
    /// Events appended since the last look of the flusher (a cheap check
    /// without the async mutex).
    queued: Arc<Mutex<Vec<Event>>>,
    /// A worker's terminal event, held for the finish's transaction.
    terminal: Option<Event>,
    _flusher: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The last event's `seq` of a log being opened.
#[derive(Debug, Clone, Copy)]
pub(super) enum LastSeq {
    /// Read it.
    Unknown,
    /// The caller read it already (as a claim does); `None`: no events yet.
    Known(Option<i64>),
}

impl PgSink {
    /// Opens job `id`'s log; `lease` fences the writes (none for the owner
    /// of a job that is not running: a canceller, a retry).
    pub(super) fn open(
        db: Arc<Db>,
        id: &str,
        lease: Option<String>,
        last: LastSeq,
    ) -> Result<(Self, Option<Event>), EventError> {
        let key = id.to_owned();
        let last: Option<i64> = match last {
            LastSeq::Known(last) => last,
            LastSeq::Unknown => db
                .call(move |c| {
                    Box::pin(async move {
                        let row = c
                            .query_one("SELECT max(last_seq) FROM ctl_events WHERE job_id = $1", &[&key])
                            .await?;
                        Ok(row.get(0))
                    })
                })
                .map_err(eerr)?,
        };
        let pending = Arc::new(tokio::sync::Mutex::new(Pending {
            events: Vec::new(),
            in_flight: Vec::new(),
            last_flush: None,
            last_notify: None,
            notify_owed: false,
            fenced: false,
        }));
        let queued: Arc<Mutex<Vec<Event>>> = Arc::default();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        {
            let (db2, id2, lease2, pending, queued) =
                (db.clone(), id.to_owned(), lease.clone(), Arc::downgrade(&pending), queued.clone());
            db.spawn(async move {
                let mut tick = tokio::time::interval(FLUSH_EVERY);
                loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        _ = tick.tick() => {}
                    }
                    let Some(pending) = pending.upgrade() else { return };
                    if let Err(e) = flush(&db2, &id2, lease2.as_deref(), &pending, &queued, false).await {
                        tracing::warn!(id = %id2, "cannot write events: {e}");
                    }
                }
            });
        }
        let mut sink = Self {
            db,
            id: id.to_owned(),
            lease,
            next_seq: last.map_or(0, |s| s as u64 + 1),
            pending,
            queued,
            terminal: None,
            _flusher: Some(stop),
        };
        if sink.next_seq != 0 {
            return Ok((sink, None));
        }
        let implied = implied_queued(id);
        sink.queued.lock().unwrap_or_else(PoisonError::into_inner).push(implied.clone());
        sink.next_seq = 1;
        Ok((sink, Some(implied)))
    }

    /// The pending events, for a finish that writes them in its own transaction.
    pub(super) fn flush_guard(&mut self) -> Arc<tokio::sync::Mutex<Pending>> {
        // Move what was appended into the pending batch first.
        let mut queued = std::mem::take(&mut *self.queued.lock().unwrap_or_else(PoisonError::into_inner));
        queued.extend(self.terminal.take());
        let pending = self.pending.clone();
        self.db.block(async move {
            pending.lock().await.events.extend(queued);
        });
        self.pending.clone()
    }

    fn flush_now(&self, force: bool) -> Result<(), EventError> {
        let (db, id, lease, pending, queued) =
            (self.db.clone(), self.id.clone(), self.lease.clone(), self.pending.clone(), self.queued.clone());
        self.db
            .block(async move { flush(&db, &id, lease.as_deref(), &pending, &queued, force).await })
            .map_err(eerr)
    }

    fn push(&mut self, body: EventBody) -> Event {
        let event = Event { seq: self.next_seq, ts: Timestamp::now(), body };
        self.queued.lock().unwrap_or_else(PoisonError::into_inner).push(event.clone());
        self.next_seq += 1;
        event
    }
}

/// Moves what was appended into the pending batch and writes it.
async fn flush(
    db: &Arc<Db>,
    id: &str,
    lease: Option<&str>,
    pending: &Arc<tokio::sync::Mutex<Pending>>,
    queued: &Arc<Mutex<Vec<Event>>>,
    force: bool,
) -> Result<(), PgError> {
    let mut p = pending.lock().await;
    p.events.extend(std::mem::take(&mut *queued.lock().unwrap_or_else(PoisonError::into_inner)));
    if p.fenced {
        p.events.clear();
        return Err(PgError::Other(format!("the lease on job {id} was lost")));
    }
    if p.events.is_empty() && p.in_flight.is_empty() && !p.notify_owed {
        return Ok(());
    }
    let mut c = db.clone().get().await?;
    if let Some(lease) = lease
        && p.in_flight.is_empty()
        && !p.events.is_empty()
    {
        return flush_one(&c, id, lease, &mut p, force).await;
    }
    let tx = c.transaction().await?;
    if let Some(lease) = lease
        && let Err(e) = check_lease(&tx, id, lease).await
    {
        p.fenced = true;
        p.events.clear();
        p.in_flight.clear();
        return Err(e);
    }
    flush_in(&tx, id, &mut p, force).await?;
    tx.commit().await?;
    p.committed();
    Ok(())
}

/// The common flush as one statement (one round trip, its own commit):
/// the lease checked with the job's row locked, the batch inserted, and
/// readers notified when it is time.
async fn flush_one(
    c: &super::Conn,
    id: &str,
    lease: &str,
    p: &mut Pending,
    force: bool,
) -> Result<(), PgError> {
    let lines = lines_of(&p.events)?;
    let (first, last) = (p.events[0].seq as i64, p.events[p.events.len() - 1].seq as i64);
    let notify = force || p.last_notify.is_none_or(|t| t.elapsed() >= NOTIFY_EVERY);
    p.in_flight = std::mem::take(&mut p.events);
    let row = c
        .query_opt(
            "WITH held AS (
                SELECT id FROM ctl_queue
                WHERE id = $1 AND state = 'active' AND lease = $2 AND lease_expires > now() FOR UPDATE),
             ins AS (
                INSERT INTO ctl_events (job_id, first_seq, last_seq, lines)
                SELECT id, $3, $4, $5 FROM held RETURNING job_id)
             SELECT job_id, CASE WHEN $6 THEN pg_notify($7, job_id)::text END FROM ins",
            &[&id, &lease, &first, &last, &lines, &notify, &EVENTS_CHANNEL],
        )
        .await?;
    p.last_flush = Some(Instant::now());
    if row.is_none() {
        p.fenced = true;
        p.events.clear();
        p.in_flight.clear();
        return Err(super::queue::lease_lost(id));
    }
    p.committed();
    if notify {
        p.notify_owed = false;
        p.last_notify = Some(Instant::now());
    } else {
        p.notify_owed = true;
    }
    Ok(())
}

/// Events as the lines of one row.
fn lines_of(events: &[Event]) -> Result<String, PgError> {
    let mut lines = String::new();
    for ev in events {
        lines.push_str(&serde_json::to_string(ev).map_err(|e| PgError::Other(e.to_string()))?);
        lines.push('\n');
    }
    Ok(lines)
}

impl EventSink for PgSink {
    fn append(&mut self, body: EventBody) -> Result<Event, EventError> {
        if self.pending.try_lock().is_ok_and(|p| p.fenced) {
            return Err(EventError::Backend(format!("the lease on job {} was lost", self.id)));
        }
        let terminal = body.terminal_state().is_some();
        let event = self.push(body);
        // An event after a quiet moment (a `started`, the first token) goes
        // out at once; the flusher batches those that follow it closely.
        let quiet =
            self.pending.try_lock().is_ok_and(|p| p.last_flush.is_none_or(|t| t.elapsed() >= FLUSH_EVERY));
        if terminal || quiet {
            self.flush_now(terminal)?;
        }
        Ok(event)
    }

    fn append_durable(&mut self, body: EventBody) -> Result<Event, EventError> {
        if self.pending.try_lock().is_ok_and(|p| p.fenced) {
            return Err(EventError::Backend(format!("the lease on job {} was lost", self.id)));
        }
        if body.terminal_state().is_some() && self.lease.is_some() {
            // A worker's terminal event is written with the job's finish,
            // in one transaction (see `PgWorker::finish`); the lease is
            // checked now so a stale worker hears of it at once.
            let event = Event { seq: self.next_seq, ts: Timestamp::now(), body };
            let (db, id, lease) = (self.db.clone(), self.id.clone(), self.lease.clone().unwrap_or_default());
            let pending = self.pending.clone();
            let ok = self.db.block(async move {
                let c = db.get().await?;
                let row = c.query_opt(super::queue::lease_holds!(), &[&id, &lease]).await?;
                if super::queue::yes(row) {
                    return Ok(());
                }
                pending.lock().await.fenced = true;
                Err(super::queue::lease_lost(&id))
            });
            ok.map_err(eerr)?;
            self.next_seq += 1;
            self.terminal = Some(event.clone());
            return Ok(event);
        }
        let event = self.push(body);
        self.flush_now(true)?;
        Ok(event)
    }

    /// Writes what was appended (a held terminal event stays held for
    /// the finish), so a read of the log sees every event but that one.
    fn sync_dir(&mut self) -> Result<(), EventError> {
        self.flush_now(false)
    }

    fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn unflushed(&self) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        let pending = self.pending.clone();
        let (events, in_flight) = self.db.block(async move {
            let p = pending.lock().await;
            (p.events.clone(), p.in_flight.clone())
        });
        out.extend(in_flight);
        out.extend(events);
        out.extend(self.queued.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned());
        out.extend(self.terminal.clone());
        out
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl Drop for PgSink {
    /// Whatever is left is written (a worker that hands a job back writes
    /// its `queued` event this way).
    fn drop(&mut self) {
        let has_left = !self.queued.lock().unwrap_or_else(PoisonError::into_inner).is_empty();
        if has_left && let Err(e) = self.flush_now(true) {
            tracing::warn!(id = %self.id, "events not written: {e}");
        }
    }
}

/// The event logs of one database, and this process's one LISTEN
/// connection that wakes its followers.
#[derive(Debug)]
pub struct PgEvents {
    db: Arc<Db>,
    hub: OnceLock<Arc<Hub>>,
}

#[derive(Debug, Default)]
struct Hub {
    wakers: Mutex<HashMap<String, Weak<Notify>>>,
}

impl Hub {
    fn wake(&self, id: &str) {
        let map = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        if id.is_empty() {
            // Reconnected: notifications may have been lost.
            for n in map.values().filter_map(Weak::upgrade) {
                n.notify_waiters();
            }
        } else if let Some(n) = map.get(id).and_then(Weak::upgrade) {
            n.notify_waiters();
        }
    }

    fn waker(&self, id: &str) -> Arc<Notify> {
        let mut map = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > 1024 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        if let Some(n) = map.get(id).and_then(Weak::upgrade) {
            return n;
        }
        let n = Arc::new(Notify::new());
        map.insert(id.to_owned(), Arc::downgrade(&n));
        n
    }
}

impl PgEvents {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db, hub: OnceLock::new() }
    }

    fn hub(&self) -> Arc<Hub> {
        self.hub
            .get_or_init(|| {
                let hub = Arc::new(Hub::default());
                let (config, weak) = (self.db.config(), Arc::downgrade(&hub));
                self.db.spawn(async move {
                    let mut delay = Duration::from_millis(50);
                    loop {
                        let w = weak.clone();
                        let r = listen(config.clone(), EVENTS_CHANNEL, move |id| {
                            if let Some(h) = w.upgrade() {
                                h.wake(id);
                            }
                        })
                        .await;
                        let Some(h) = weak.upgrade() else { return };
                        h.wake("");
                        if let Err(e) = r {
                            tracing::warn!("event notifications lost, reconnecting: {e}");
                        }
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                });
                hub
            })
            .clone()
    }
}

/// The events of `id` with `seq` above `after`, in order.
async fn read_after(db: Arc<Db>, id: String, after: Option<u64>) -> Result<Vec<Event>, PgError> {
    let c = db.get().await?;
    let from = after.map_or(-1, |a| a as i64);
    let rows = c
        .query(
            "SELECT lines FROM ctl_events WHERE job_id = $1 AND last_seq > $2 ORDER BY first_seq",
            &[&id, &from],
        )
        .await?;
    let mut out = Vec::new();
    let mut decoder = LineDecoder::default();
    for r in rows {
        decoder.push(r.get::<_, &str>(0).as_bytes(), &mut out);
    }
    out.retain(|e| after.is_none_or(|a| e.seq > a));
    Ok(out)
}

impl EventLog for PgEvents {
    fn open_job(&self, id: &str) -> Result<(Box<dyn EventSink>, Option<Event>), EventError> {
        let (sink, implied) = PgSink::open(self.db.clone(), id, None, LastSeq::Unknown)?;
        Ok((Box::new(sink), implied))
    }

    fn read_all(&self, id: &str) -> Result<Vec<Event>, EventError> {
        let (db, key) = (self.db.clone(), id.to_owned());
        self.db.block(read_after(db, key, None)).map_err(eerr)
    }

    /// Re-reads by `seq` after every wake-up (NOTIFY has no replay), and
    /// yields only events that follow the last one without a gap. While
    /// the log is empty it yields the job's implied `queued` event once.
    fn follow(&self, id: &str, after: Option<u64>) -> BoxStream<'static, Result<Event, EventError>> {
        struct St {
            db: Arc<Db>,
            id: String,
            next: u64,
            implied_shown: bool,
            queue: VecDeque<Event>,
            wake: Arc<Notify>,
            done: bool,
        }
        let st = St {
            db: self.db.clone(),
            id: id.to_owned(),
            next: after.map_or(0, |a| a + 1),
            implied_shown: after.is_some(),
            queue: VecDeque::new(),
            wake: self.hub().waker(id),
            done: false,
        };
        futures_util::stream::unfold(st, |mut st| async move {
            loop {
                if let Some(ev) = st.queue.pop_front() {
                    return Some((Ok(ev), st));
                }
                if st.done {
                    return None;
                }
                let wake = st.wake.clone();
                let notified = wake.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let after = st.next.checked_sub(1);
                let (db, id) = (st.db.clone(), st.id.clone());
                let db2 = db.clone();
                let read = async move {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    db2.spawn(async move {
                        let _ = tx.send(read_after(db, id, after).await);
                    });
                    rx.await.unwrap_or_else(|_| Err(PgError::Other("the database runtime stopped".into())))
                };
                match read.await {
                    Err(e) => {
                        st.done = true;
                        return Some((Err(eerr(e)), st));
                    }
                    Ok(events) => {
                        let mut got = false;
                        for ev in events {
                            if ev.seq != st.next {
                                // A gap: what is missing is on its way.
                                break;
                            }
                            st.next += 1;
                            got = true;
                            if ev.body.terminal_state().is_some() {
                                st.done = true;
                            }
                            st.queue.push_back(ev);
                        }
                        if !got {
                            if st.next == 0 && !st.implied_shown {
                                st.implied_shown = true;
                                st.next = 1;
                                st.queue.push_back(implied_queued(&st.id));
                                continue;
                            }
                            tokio::select! {
                                () = &mut notified => {}
                                () = tokio::time::sleep(POLL) => {}
                            }
                        }
                    }
                }
            }
        })
        .boxed()
    }
}
