//! The PostgreSQL backend: the queue, the event logs and the records in
//! one database, so any number of `ctl serve` and `ctl worker` processes
//! on any number of hosts share them.
//!
//! The seam's traits are blocking (the filesystem backend's calls are
//! syscalls), so this backend runs its own small tokio runtime with the
//! connection pool on it; a call hands its query to that runtime and
//! waits on a channel, which is safe from any thread, async or not.
//!
//! - queue: `ctl_queue`; claims with `FOR UPDATE SKIP LOCKED` in priority
//!   then id order; each claim gets a fresh lease id with an expiry that
//!   the worker's heartbeat extends; every later write of the job checks
//!   the lease (fencing); expired leases are requeued.
//! - events: `ctl_events`, batches of consecutive events per row; the
//!   owner assigns `seq` (gapless: only the lease holder writes); flushes
//!   every few tens of milliseconds and NOTIFYs `ctl_events` with the job
//!   id at most every 100 ms per job; readers re-read by `seq` on wake-up.
//! - records: the SQLite store's tables, `ctl_`-prefixed.

mod conn;
mod events;
mod queue;
mod records;

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_postgres::NoTls;

pub use conn::{Conn, Tx};

pub use events::PgEvents;
pub use queue::PgQueue;
pub use records::PgRecords;

use super::Backend;

/// The migrations, in order; `ctl_schema` records how many ran.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../../migrations/pg/0001_init.sql")),
    ("0002_failures_by_seq", include_str!("../../../migrations/pg/0002_failures_by_seq.sql")),
];

/// Key of the advisory lock `migrate` holds while it runs.
const MIGRATE_LOCK: i64 = 0x0063_746c_5f6d_6967;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("PostgreSQL: {}", with_causes(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("PostgreSQL: {0}")]
    Other(String),
    #[error("the database has schema version {found}, newer than this ctl knows ({known}); upgrade ctl")]
    TooNew { found: usize, known: usize },
    #[error("the database has schema version {found}; run `ctl migrate` (this ctl needs {known})")]
    TooOld { found: usize, known: usize },
}

/// An error with its causes ("error connecting to server: Connection
/// refused (os error 111)"): the driver's own text leaves them out.
fn with_causes(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

impl PgError {
    /// The connection failed or the server went away (restart, failover,
    /// a terminated backend): the same call may succeed a moment later.
    pub fn is_transient(&self) -> bool {
        let Self::Db(e) = self else { return false };
        match e.code() {
            None => true,
            // Class 08: connection exception; class 57: operator
            // intervention (admin shutdown, crash shutdown, starting up).
            Some(code) => code.code().starts_with("08") || code.code().starts_with("57"),
        }
    }
}

/// Settings of the backend (from `[backend]` and the environment).
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub url: String,
    /// Connections at most in this process's pool.
    pub pool_size: usize,
    /// How long a worker's lease lasts without a heartbeat.
    pub lease: Duration,
    /// Event rows of jobs finished longer ago are deleted by the workers'
    /// upkeep; `None` keeps them.
    pub keep_events_days: Option<u32>,
}

impl PgSettings {
    /// `[backend]` with the URL from `CTL_DATABASE_URL` (or the file named
    /// by `CTL_DATABASE_URL_FILE`).
    pub fn from_config(config: &crate::config::Config) -> Result<Self, PgError> {
        let url = crate::secrets::from_env("CTL_DATABASE_URL")
            .map_err(|e| PgError::Other(e.to_string()))?
            .ok_or_else(|| {
                PgError::Other(
                    "[backend] kind = \"postgres\" needs CTL_DATABASE_URL (or CTL_DATABASE_URL_FILE)".into(),
                )
            })?;
        Ok(Self {
            url: url.expose().to_owned(),
            pool_size: config.backend.pool_size.max(2),
            lease: Duration::from_secs_f64(config.backend.lease_secs.max(1.0)),
            keep_events_days: Some(config.backend.keep_events_days).filter(|d| *d > 0),
        })
    }
}

/// A pool of connections on a runtime of its own.
pub struct Db {
    /// Always present; taken on drop (see below).
    rt: Option<tokio::runtime::Runtime>,
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Conn>>,
    slots: Arc<tokio::sync::Semaphore>,
    pub(crate) lease: Duration,
    pub(crate) keep_events_days: Option<u32>,
}

impl Drop for Db {
    /// A runtime may not be dropped inside another one (the last handle
    /// may go in an async task): let its threads go in the background.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("lease", &self.lease).finish_non_exhaustive()
    }
}

/// A connection taken from the pool; back to it when dropped (unless it broke).
pub struct Pooled {
    client: Option<Conn>,
    db: Arc<Db>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.client.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        self.client.as_mut().expect("present until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.is_closed()
        {
            self.db.idle.lock().unwrap_or_else(PoisonError::into_inner).push(c);
        }
    }
}

impl Db {
    /// A pool for `settings` (no connection is made yet).
    pub fn new(settings: &PgSettings) -> Result<Arc<Self>, PgError> {
        let config: tokio_postgres::Config =
            settings.url.parse().map_err(|e| PgError::Other(format!("invalid database URL: {e}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ctl-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError::Other(format!("cannot start the database runtime: {e}")))?;
        Ok(Arc::new(Self {
            rt: Some(rt),
            config,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(settings.pool_size.max(2))),
            lease: settings.lease,
            keep_events_days: settings.keep_events_days,
        }))
    }

    /// A new connection, its I/O driven on the pool's runtime.
    async fn connect(config: tokio_postgres::Config) -> Result<Conn, PgError> {
        let (client, conn) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("database connection ended: {e}");
            }
        });
        Ok(Conn::new(client))
    }

    /// A connection from the pool, or a new one. A broken one is dropped
    /// and replaced: after the database restarts, the next call reconnects
    /// (with backoff, a few times).
    async fn get(self: Arc<Self>) -> Result<Pooled, PgError> {
        let slot = self.slots.clone().acquire_owned().await.map_err(|e| PgError::Other(e.to_string()))?;
        loop {
            let c = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
            match c {
                Some(c) if c.is_closed() => {}
                Some(c) => return Ok(Pooled { client: Some(c), db: self, _slot: slot }),
                None => break,
            }
        }
        let mut delay = Duration::from_millis(50);
        let client = loop {
            match Self::connect(self.config.clone()).await {
                Ok(c) => break c,
                Err(e) if delay < Duration::from_secs(2) => {
                    tracing::info!("cannot connect to the database, retrying in {delay:?}: {e}");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => return Err(e),
            }
        };
        Ok(Pooled { client: Some(client), db: self, _slot: slot })
    }

    /// Runs `f` with a pooled connection on the pool's runtime and waits
    /// for its result. Callable from any thread, inside a runtime or not.
    pub fn call<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(Pooled) -> BoxFuture<'static, Result<T, PgError>> + Send + 'static,
    ) -> Result<T, PgError> {
        let db = self.clone();
        self.block(async move { f(db.get().await?).await })
    }

    /// Runs a future on the pool's runtime and waits for it.
    pub fn block<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().expect("the database runtime runs as long as the pool")
    }

    /// Spawns a task on the pool's runtime.
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        self.runtime().spawn(fut);
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("present until dropped")
    }

    /// A connection of its own (not pooled) for LISTEN.
    pub fn config(&self) -> tokio_postgres::Config {
        self.config.clone()
    }

    /// Applies the pending migrations under an advisory lock, so that any
    /// number of processes starting at once are safe. Returns the schema
    /// version now.
    pub fn migrate(self: &Arc<Self>) -> Result<usize, PgError> {
        self.call(|mut c| {
            Box::pin(async move {
                c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK]).await?;
                let result = async {
                    c.batch_execute("CREATE TABLE IF NOT EXISTS ctl_schema (version INTEGER NOT NULL)")
                        .await?;
                    let tx = c.transaction().await?;
                    let row = tx.query_opt("SELECT version FROM ctl_schema", &[]).await?;
                    let done = row.map_or(0, |r| r.get::<_, i32>(0)) as usize;
                    if done > MIGRATIONS.len() {
                        return Err(PgError::TooNew { found: done, known: MIGRATIONS.len() });
                    }
                    for (_, sql) in &MIGRATIONS[done..] {
                        tx.batch_execute(sql).await?;
                    }
                    tx.execute("DELETE FROM ctl_schema", &[]).await?;
                    tx.execute("INSERT INTO ctl_schema (version) VALUES ($1)", &[&(MIGRATIONS.len() as i32)])
                        .await?;
                    tx.commit().await?;
                    Ok(MIGRATIONS.len())
                }
                .await;
                c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]).await?;
                result
            })
        })
    }

    /// The schema version the database has (0 before any migration).
    pub fn schema_version(self: &Arc<Self>) -> Result<usize, PgError> {
        self.call(|c| {
            Box::pin(async move {
                let exists =
                    c.query_one("SELECT to_regclass('ctl_schema') IS NOT NULL", &[]).await?.get::<_, bool>(0);
                if !exists {
                    return Ok(0);
                }
                let row = c.query_opt("SELECT version FROM ctl_schema", &[]).await?;
                Ok(row.map_or(0, |r| r.get::<_, i32>(0)) as usize)
            })
        })
    }

    /// The database's clock minus this host's, in milliseconds.
    pub fn clock_skew_ms(self: &Arc<Self>) -> Result<f64, PgError> {
        self.call(|c| {
            Box::pin(async move {
                let before = jiff::Timestamp::now();
                let text: String = c
                    .query_one("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", &[])
                    .await?
                    .get(0);
                let after = jiff::Timestamp::now();
                let db: jiff::Timestamp = text.parse().map_err(|e| PgError::Other(format!("{e}")))?;
                let mid = before.as_microsecond() / 2 + after.as_microsecond() / 2;
                Ok((db.as_microsecond() - mid) as f64 / 1000.0)
            })
        })
    }
}

/// `ctl doctor`'s checks of the database: the connection, the schema
/// version, and the clock skew between this host and the database (leases
/// are timed by the database's clock; a host far off misreads them in logs
/// and `ctl jobs`, and its heartbeat period should stay well under the lease).
pub fn doctor(config: &crate::config::Config) -> Vec<(&'static str, Result<String, String>)> {
    let mut out = Vec::new();
    let db = match PgSettings::from_config(config).and_then(|s| Db::new(&s)) {
        Ok(db) => db,
        Err(e) => {
            out.push(("postgres", Err(e.to_string())));
            return out;
        }
    };
    let version = db.call(|c| {
        Box::pin(async move { Ok(c.query_one("SELECT version()", &[]).await?.get::<_, String>(0)) })
    });
    match version {
        Ok(v) => out.push(("postgres", Ok(v.split(" on ").next().unwrap_or(&v).to_owned()))),
        Err(e) => {
            out.push(("postgres", Err(e.to_string())));
            return out;
        }
    }
    out.push((
        "schema",
        match db.schema_version() {
            Ok(v) if v == MIGRATIONS.len() => Ok(format!("version {v} (up to date)")),
            Ok(v) if v > MIGRATIONS.len() => {
                Err(PgError::TooNew { found: v, known: MIGRATIONS.len() }.to_string())
            }
            Ok(v) => Err(PgError::TooOld { found: v, known: MIGRATIONS.len() }.to_string()),
            Err(e) => Err(e.to_string()),
        },
    ));
    out.push((
        "clock skew",
        match db.clock_skew_ms() {
            Ok(ms) if ms.abs() <= MAX_SKEW_MS => Ok(format!("{ms:+.1} ms")),
            Ok(ms) => Err(format!(
                "{ms:+.1} ms between this host and the database (more than {MAX_SKEW_MS} ms): fix NTP"
            )),
            Err(e) => Err(e.to_string()),
        },
    ));
    out
}

/// The clock skew `ctl doctor` accepts, in milliseconds.
const MAX_SKEW_MS: f64 = 1000.0;

/// Opens the backend: a pool, the migrations applied.
pub fn open(settings: &PgSettings) -> Result<Backend, PgError> {
    let db = Db::new(settings)?;
    db.migrate()?;
    Ok(Backend {
        queue: Arc::new(PgQueue::new(db.clone())),
        events: Arc::new(PgEvents::new(db.clone())),
        records: Arc::new(PgRecords::new(db)),
    })
}

/// RFC 3339 with nine fractional digits, the records' time format.
pub(crate) fn ts_text(t: jiff::Timestamp) -> String {
    format!("{t:.9}")
}
