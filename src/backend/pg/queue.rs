//! The queue on PostgreSQL: `ctl_queue` rows, claims with `FOR UPDATE SKIP
//! LOCKED`, leases with an expiry that the holder's heartbeat extends, and
//! a lease id that fences every later write of the job.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use super::events::{LastSeq, PgSink, flush_in};
use super::{Db, PgError};
use crate::api::{Event, Job, JobView};
use crate::backend::{Claimed, EventSink, JobQueue, WorkerLease};
use crate::events::EventError;
use crate::queue::{Dir, QueueError, ReadError};
use crate::store::ChatMessage;

/// The queue's channel: a job was published or requeued.
pub(super) const QUEUE_CHANNEL: &str = "ctl_queue";

#[allow(clippy::needless_pass_by_value)] // for map_err
pub(super) fn qerr(e: PgError) -> QueueError {
    QueueError::Backend(e.to_string())
}

fn parse(id: &str, text: &str) -> Result<Job, String> {
    crate::queue::parse_job(text.as_bytes(), id)
}

/// The queue of one database.
#[derive(Debug, Clone)]
pub struct PgQueue {
    db: Arc<Db>,
}

impl PgQueue {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

impl JobQueue for PgQueue {
    fn publish(&self, job: &Job) -> Result<(), QueueError> {
        let text = serde_json::to_string(job)?;
        let (id, priority) = (job.id.clone(), job.priority);
        self.db
            .call(move |c| {
                Box::pin(async move {
                    c.execute(
                        "WITH ins AS (INSERT INTO ctl_queue (id, state, priority, job)
                            VALUES ($1, 'queued', $2, $3::text::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id)
                         SELECT pg_notify($4, id) FROM ins",
                        &[&id, &priority, &text, &QUEUE_CHANNEL],
                    )
                    .await?;
                    Ok(())
                })
            })
            .map_err(qerr)
    }

    fn import(&self, dir: Dir, job: &Job, events: &[Event]) -> Result<bool, QueueError> {
        let state = match dir {
            Dir::Queued | Dir::Completed | Dir::Failed => dir.state(),
            _ => None,
        };
        let Some(state) = state else { return Ok(false) };
        let text = serde_json::to_string(job)?;
        let mut lines = String::new();
        for e in events {
            lines.push_str(&serde_json::to_string(e)?);
            lines.push('\n');
        }
        let last_seq = events.last().map(|e| e.seq as i64);
        // Finished jobs keep their finish time (the last event's), which
        // the retention of old event rows goes by.
        let finished = (dir != Dir::Queued).then(|| events.last().map(|e| e.ts.to_string())).flatten();
        let (id, priority) = (job.id.clone(), job.priority);
        self.db
            .call(move |mut c| {
                Box::pin(async move {
                    let tx = c.transaction().await?;
                    let n = tx
                        .execute(
                            "INSERT INTO ctl_queue (id, state, priority, job, finished_at)
                             VALUES ($1, $2, $3, $4::text::jsonb, $5::text::timestamptz) ON CONFLICT (id) DO NOTHING",
                            &[&id, &state, &priority, &text, &finished],
                        )
                        .await?;
                    if n == 1 {
                        if let Some(last_seq) = last_seq {
                            tx.execute(
                                "INSERT INTO ctl_events (job_id, first_seq, last_seq, lines) VALUES ($1, 0, $2, $3)",
                                &[&id, &last_seq, &lines],
                            )
                            .await?;
                        }
                        if state == "queued" {
                            tx.execute("SELECT pg_notify($1, $2)", &[&QUEUE_CHANNEL, &id]).await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(n == 1)
                })
            })
            .map_err(qerr)
    }

    fn list(&self, dir: Dir) -> Result<Vec<String>, QueueError> {
        let Some(state) = dir.state() else { return Ok(Vec::new()) };
        self.db
            .call(move |c| {
                Box::pin(async move {
                    let rows = c.query("SELECT id FROM ctl_queue WHERE state = $1", &[&state]).await?;
                    Ok(rows.iter().map(|r| r.get(0)).collect())
                })
            })
            .map_err(qerr)
    }

    fn read(&self, dir: Dir, id: &str) -> Result<Job, ReadError> {
        let Some(state) = dir.state() else { return Err(ReadError::Missing) };
        let key = id.to_owned();
        let text: Option<String> = self
            .db
            .call(move |c| {
                Box::pin(async move {
                    let row = c
                        .query_opt(
                            "SELECT job::text FROM ctl_queue WHERE id = $1 AND state = $2",
                            &[&key, &state],
                        )
                        .await?;
                    Ok(row.map(|r| r.get(0)))
                })
            })
            .map_err(|e| ReadError::Io(e.to_string()))?;
        let text = text.ok_or(ReadError::Missing)?;
        parse(id, &text).map_err(ReadError::Corrupt)
    }

    fn locate(&self, id: &str) -> Option<Dir> {
        let key = id.to_owned();
        let state: Option<String> = self
            .db
            .call(move |c| {
                Box::pin(async move {
                    let row = c.query_opt("SELECT state FROM ctl_queue WHERE id = $1", &[&key]).await?;
                    Ok(row.map(|r| r.get(0)))
                })
            })
            .map_err(|e| tracing::warn!("cannot locate job {id}: {e}"))
            .ok()?;
        state.as_deref().and_then(Dir::of_state)
    }

    fn cancel_queued(&self, id: &str) -> Result<bool, QueueError> {
        let key = id.to_owned();
        self.db
            .call(move |c| {
                Box::pin(async move {
                    let n = c
                        .execute(
                            "UPDATE ctl_queue SET state = 'failed', finished_at = now()
                             WHERE id = $1 AND state = 'queued'",
                            &[&key],
                        )
                        .await?;
                    Ok(n > 0)
                })
            })
            .map_err(qerr)
    }

    fn retry(&self, id: &str) -> Result<bool, QueueError> {
        let key = id.to_owned();
        self.db
            .call(move |c| {
                Box::pin(async move {
                    let n = c
                        .execute(
                            "WITH up AS (UPDATE ctl_queue SET state = 'queued', lease = NULL, worker = NULL,
                                lease_expires = NULL, cancel_requested = false, finished_at = NULL, queued_at = now()
                             WHERE id = $1 AND state = 'failed' RETURNING id)
                             SELECT pg_notify($2, id) FROM up",
                            &[&key, &QUEUE_CHANNEL],
                        )
                        .await?;
                    Ok(n > 0)
                })
            })
            .map_err(qerr)
    }

    fn request_cancel(&self, id: &str) -> Result<(), QueueError> {
        let key = id.to_owned();
        self.db
            .call(move |c| {
                Box::pin(async move {
                    c.execute("UPDATE ctl_queue SET cancel_requested = true WHERE id = $1", &[&key]).await?;
                    Ok(())
                })
            })
            .map_err(qerr)
    }

    fn cancel_requested(&self, id: &str) -> bool {
        let key = id.to_owned();
        self.db
            .call(move |c| {
                Box::pin(async move {
                    let row =
                        c.query_opt("SELECT cancel_requested FROM ctl_queue WHERE id = $1", &[&key]).await?;
                    Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
                })
            })
            .unwrap_or(false)
    }

    fn clear_cancel(&self, id: &str) {
        let key = id.to_owned();
        let _ = self.db.call(move |c| {
            Box::pin(async move {
                c.execute("UPDATE ctl_queue SET cancel_requested = false WHERE id = $1", &[&key]).await?;
                Ok(())
            })
        });
    }

    fn oldest_queued_age(&self) -> Result<Option<Duration>, QueueError> {
        self.db
            .call(|c| {
                Box::pin(async move {
                    let row = c
                        .query_one(
                            "SELECT EXTRACT(EPOCH FROM now() - min(queued_at))::float8 FROM ctl_queue
                             WHERE state = 'queued'",
                            &[],
                        )
                        .await?;
                    Ok(row.get::<_, Option<f64>>(0).map(|s| Duration::from_secs_f64(s.max(0.0))))
                })
            })
            .map_err(qerr)
    }

    fn live_workers(&self) -> Result<Vec<String>, QueueError> {
        self.db
            .call(|c| {
                Box::pin(async move {
                    let rows = c
                        .query("SELECT id FROM ctl_workers WHERE expires_at > now() ORDER BY id", &[])
                        .await?;
                    Ok(rows.iter().map(|r| r.get(0)).collect())
                })
            })
            .map_err(qerr)
    }

    fn join(&self, _concurrency: usize) -> Result<Arc<dyn WorkerLease>, QueueError> {
        let id = crate::queue::new_id();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_owned();
        let (key, ms) = (id.clone(), lease_ms(&self.db));
        self.db
            .call(move |c| {
                Box::pin(async move {
                    c.execute(
                        "INSERT INTO ctl_workers (id, host, expires_at) VALUES ($1, $2, now() + $3 * interval '1 ms')",
                        &[&key, &host, &ms],
                    )
                    .await?;
                    Ok(())
                })
            })
            .map_err(qerr)?;
        Ok(Arc::new(PgWorker {
            db: self.db.clone(),
            id,
            held: Mutex::default(),
            last_seq: Mutex::default(),
            pruned: Mutex::new(None),
        }))
    }
}

fn lease_ms(db: &Db) -> f64 {
    db.lease.as_secs_f64() * 1000.0
}

/// A worker's lease on the queue: its row in `ctl_workers`, and a lease id
/// per job it holds.
#[derive(Debug)]
pub struct PgWorker {
    db: Arc<Db>,
    id: String,
    /// Job id → the lease id of this worker's claim of it.
    held: Mutex<HashMap<String, String>>,
    /// The last event's `seq` of each job claimed and not yet opened, read
    /// by the claim itself (`None`: no events yet), so that opening its
    /// log costs no round trip.
    last_seq: Mutex<HashMap<String, Option<i64>>>,
    /// When this worker last deleted old event rows.
    pruned: Mutex<Option<std::time::Instant>>,
}

/// How often a worker deletes event rows past `keep_events_days`.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

impl PgWorker {
    /// Deletes the event rows of jobs that finished more than `days` days
    /// ago; returns how many rows went.
    pub fn prune_events(&self, days: u32) -> Result<u64, QueueError> {
        let days = f64::from(days);
        self.db
            .call(move |c| {
                Box::pin(async move {
                    Ok(c.execute(
                        "DELETE FROM ctl_events WHERE job_id IN (SELECT id FROM ctl_queue
                            WHERE state IN ('completed', 'failed') AND finished_at < now() - $1 * interval '1 day')",
                        &[&days],
                    )
                    .await?)
                })
            })
            .map_err(qerr)
    }
}

impl PgWorker {
    fn lease_of(&self, id: &str) -> Option<String> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    fn claim_where(&self, only: Option<&str>) -> Result<Option<Job>, QueueError> {
        let lease = crate::queue::new_id();
        let (worker, ms, only, l) =
            (self.id.clone(), lease_ms(&self.db), only.map(str::to_owned), lease.clone());
        let row: Option<(String, String, Option<i64>)> = self
            .db
            .call(move |c| {
                Box::pin(async move {
                    let row = c
                        .query_opt(
                            "WITH next AS (
                                SELECT id FROM ctl_queue
                                WHERE state = 'queued' AND ($4::text IS NULL OR id = $4)
                                ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                             UPDATE ctl_queue q SET state = 'active', lease = $1, worker = $2,
                                lease_expires = now() + $3 * interval '1 ms'
                             FROM next WHERE q.id = next.id
                             RETURNING q.id, q.job::text,
                                (SELECT max(last_seq) FROM ctl_events WHERE job_id = q.id)",
                            &[&l, &worker, &ms, &only],
                        )
                        .await?;
                    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
                })
            })
            .map_err(qerr)?;
        let Some((id, text, last)) = row else { return Ok(None) };
        match parse(&id, &text) {
            Ok(job) => {
                self.last_seq.lock().unwrap_or_else(PoisonError::into_inner).insert(id.clone(), last);
                self.held.lock().unwrap_or_else(PoisonError::into_inner).insert(id, lease);
                Ok(Some(job))
            }
            Err(reason) => {
                tracing::warn!(%id, %reason, "unreadable job; failing it");
                let key = id.clone();
                self.db
                    .call(move |c| {
                        Box::pin(async move {
                            c.execute(
                                "UPDATE ctl_queue SET state = 'failed', lease = NULL, finished_at = now() WHERE id = $1",
                                &[&key],
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .map_err(qerr)?;
                Ok(None)
            }
        }
    }
}

impl WorkerLease for PgWorker {
    fn id(&self) -> &str {
        &self.id
    }

    fn claim_next(&self) -> Result<Claimed, QueueError> {
        Ok(Claimed { job: self.claim_where(None)?, alone: false })
    }

    fn claim(&self, id: &str) -> Result<Option<Job>, QueueError> {
        self.claim_where(Some(id))
    }

    /// LISTEN on the queue's channel, on a connection of its own; on a
    /// lost connection it reconnects (with backoff) and reports a wake-up,
    /// since notifications sent meanwhile are gone.
    fn watch(&self, landed: Arc<dyn Fn(Option<&str>) + Send + Sync>) -> Option<Box<dyn Any + Send>> {
        let config = self.db.config();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        self.db.spawn(async move {
            let mut delay = Duration::from_millis(50);
            loop {
                let listen = listen(config.clone(), QUEUE_CHANNEL, |_| landed(None));
                tokio::select! {
                    _ = &mut rx => return,
                    r = listen => {
                        if let Err(e) = r {
                            tracing::warn!("queue notifications lost, reconnecting: {e}");
                        }
                    }
                }
                landed(None);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        });
        Some(Box::new(tx))
    }

    /// The heartbeat: extends this worker's lease and its jobs' leases, then
    /// requeues the jobs whose leases lapsed (their holders stopped
    /// heartbeating), and forgets long-dead workers.
    fn maintain(&self) -> Result<Vec<String>, QueueError> {
        if let Some(days) = self.db.keep_events_days {
            let mut last = self.pruned.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                *last = Some(std::time::Instant::now());
                match self.prune_events(days) {
                    Ok(n) if n > 0 => tracing::info!(rows = n, days, "deleted event rows of old jobs"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("cannot delete old event rows: {e}"),
                }
            }
        }
        let held: Vec<String> =
            self.held.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        let (worker, ms) = (self.id.clone(), lease_ms(&self.db));
        self.db
            .call(move |mut c| {
                Box::pin(async move {
                    let tx = c.transaction().await?;
                    tx.execute(
                        "INSERT INTO ctl_workers (id, host, expires_at) VALUES ($1, '', now() + $2 * interval '1 ms')
                         ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at",
                        &[&worker, &ms],
                    )
                    .await?;
                    tx.execute(
                        "UPDATE ctl_queue SET lease_expires = now() + $2 * interval '1 ms'
                         WHERE state = 'active' AND lease = ANY($1) AND lease_expires > now()",
                        &[&held, &ms],
                    )
                    .await?;
                    let rows = tx
                        .query(
                            "UPDATE ctl_queue SET state = 'queued', lease = NULL, worker = NULL,
                                lease_expires = NULL, queued_at = now()
                             WHERE id IN (SELECT id FROM ctl_queue WHERE state = 'active' AND lease_expires <= now()
                                FOR UPDATE SKIP LOCKED)
                             RETURNING id",
                            &[],
                        )
                        .await?;
                    let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                    if !ids.is_empty() {
                        tx.execute("SELECT pg_notify($1, '')", &[&QUEUE_CHANNEL]).await?;
                    }
                    tx.execute("DELETE FROM ctl_workers WHERE expires_at < now() - interval '1 day'", &[]).await?;
                    tx.commit().await?;
                    Ok(ids)
                })
            })
            .map_err(qerr)
    }

    fn open_log(&self, id: &str) -> Result<(Box<dyn EventSink>, Option<Event>), EventError> {
        let lease = self.lease_of(id).ok_or_else(|| EventError::Backend(format!("job {id} is not held")))?;
        let last = self.last_seq.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
        let last = last.map_or(LastSeq::Unknown, LastSeq::Known);
        let (sink, implied) = PgSink::open(self.db.clone(), id, Some(lease), last)?;
        Ok((Box::new(sink), implied))
    }

    /// One transaction: the lease is checked (and locked), the log's last
    /// events (the terminal one among them) written, the job moved, its
    /// record and its session's answer written.
    fn finish(
        &self,
        id: &str,
        to: Dir,
        log: &mut dyn EventSink,
        record: &JobView,
        answer: Option<&ChatMessage>,
    ) -> Result<(), QueueError> {
        let lease = self.lease_of(id).ok_or_else(|| QueueError::Backend(format!("job {id} is not held")))?;
        let state = to.state().unwrap_or("failed");
        let pending = log.as_any_mut().downcast_mut::<PgSink>().map(PgSink::flush_guard);
        // A finish that meets a database restart is tried again while the
        // lease can still hold; a commit that landed before the connection
        // broke is recognised by the lease id the finished row keeps.
        let give_up = std::time::Instant::now() + self.db.lease;
        let mut delay = Duration::from_millis(100);
        let mut retry = false;
        loop {
            let (key, record, answer, lease) =
                (id.to_owned(), record.clone(), answer.cloned(), lease.clone());
            let pending = pending.clone();
            let result = self.db.call(move |mut c| {
                Box::pin(async move {
                    let mut pending = match pending {
                        Some(p) => Some(p.lock_owned().await),
                        None => None,
                    };
                    let tx = c.transaction().await?;
                    if retry {
                        let landed = tx
                            .query_opt(
                                "SELECT state = $2 AND lease = $3 FROM ctl_queue WHERE id = $1",
                                &[&key, &state, &lease],
                            )
                            .await?;
                        if yes(landed) {
                            if let Some(p) = pending.as_mut() {
                                p.committed();
                            }
                            return Ok(());
                        }
                    }
                    check_lease(&tx, &key, &lease).await?;
                    if let Some(p) = pending.as_mut() {
                        flush_in(&tx, &key, p, true).await?;
                    }
                    tx.execute(
                        "UPDATE ctl_queue SET state = $2, lease_expires = NULL, finished_at = now(),
                            cancel_requested = false WHERE id = $1",
                        &[&key, &state],
                    )
                    .await?;
                    super::records::record_in(&tx, &record).await?;
                    if let Some(answer) = &answer {
                        super::records::add_message_in(&tx, answer).await?;
                    }
                    tx.commit().await?;
                    if let Some(p) = pending.as_mut() {
                        p.committed();
                    }
                    Ok(())
                })
            });
            match result {
                Ok(()) => return Ok(()),
                Err(e) if e.is_transient() && std::time::Instant::now() + delay < give_up => {
                    tracing::warn!(%id, "cannot finish the job yet, retrying in {delay:?}: {e}");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(2));
                    retry = true;
                }
                Err(e) => return Err(qerr(e)),
            }
        }
    }

    fn requeue(&self, id: &str) -> Result<bool, QueueError> {
        let lease = self.lease_of(id).ok_or_else(|| QueueError::Backend(format!("job {id} is not held")))?;
        let key = id.to_owned();
        self.db
            .call(move |mut c| {
                Box::pin(async move {
                    let tx = c.transaction().await?;
                    check_lease(&tx, &key, &lease).await?;
                    tx.execute(
                        "UPDATE ctl_queue SET state = 'queued', lease = NULL, worker = NULL, lease_expires = NULL,
                            queued_at = now() WHERE id = $1",
                        &[&key],
                    )
                    .await?;
                    tx.execute("SELECT pg_notify($1, $2)", &[&QUEUE_CHANNEL, &key]).await?;
                    tx.commit().await?;
                    Ok(true)
                })
            })
            .map_err(qerr)
    }

    fn release(&self, id: &str) {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
        self.last_seq.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

impl Drop for PgWorker {
    /// A clean exit leaves the queue; jobs still held go back when their
    /// leases lapse.
    fn drop(&mut self) {
        let id = self.id.clone();
        let _ = self.db.call(move |c| {
            Box::pin(async move {
                c.execute("DELETE FROM ctl_workers WHERE id = $1", &[&id]).await?;
                Ok(())
            })
        });
    }
}

/// Whether lease `$2` holds job `$1` (no row: the job is not active).
macro_rules! lease_holds {
    () => {
        "SELECT lease = $2 AND lease_expires > now() FROM ctl_queue WHERE id = $1 AND state = 'active'"
    };
}
pub(super) use lease_holds;

/// Refuses (with an error) unless `lease` still holds job `id`; locks the
/// job's row until the transaction ends, so no requeue can slip in.
pub(super) async fn check_lease(tx: &super::Tx<'_>, id: &str, lease: &str) -> Result<(), PgError> {
    let row = tx.query_opt(concat!(lease_holds!(), " FOR UPDATE"), &[&id, &lease]).await?;
    if yes(row) { Ok(()) } else { Err(lease_lost(id)) }
}

/// Whether a one-column boolean answer is there and true (a missing row
/// and NULL are no).
pub(super) fn yes(row: Option<tokio_postgres::Row>) -> bool {
    row.is_some_and(|r| r.get::<_, Option<bool>>(0) == Some(true))
}

/// The error of a write whose lease no longer holds the job.
pub(super) fn lease_lost(id: &str) -> PgError {
    PgError::Other(format!("the lease on job {id} was lost (it lapsed and the job went back to the queue)"))
}

/// LISTENs on `channel` until the connection ends, calling `on` with each
/// notification's payload.
pub(super) async fn listen(
    config: tokio_postgres::Config,
    channel: &str,
    on: impl Fn(&str),
) -> Result<(), PgError> {
    let (client, mut conn) = config.connect(tokio_postgres::NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
    let driver = tokio::spawn(async move {
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    // Anything sent before the LISTEN took effect is unseen: report a wake-up.
    on("");
    while let Some(payload) = rx.recv().await {
        on(&payload);
    }
    drop(client);
    match driver.await {
        Ok(Ok(())) => Err(PgError::Other("the notification connection closed".into())),
        Ok(Err(e)) => Err(e.into()),
        Err(e) => Err(PgError::Other(e.to_string())),
    }
}
