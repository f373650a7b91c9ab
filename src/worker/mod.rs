//! `ctl worker`: claims jobs from the queue and runs them.
//!
//! New jobs are noticed through inotify on `_queue` (so pickup takes about a
//! millisecond), with a periodic rescan as a safety net that also requeues
//! the jobs of workers that died. On shutdown the worker stops claiming,
//! gives running jobs a grace period, then stops and requeues them.

mod budget;
mod retrieval;
mod run;
mod tools;

pub use tools::{Limits as ToolLimits, ToolHost};

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::backend::WorkerLease;
use crate::jobs::Local;
use crate::provider::{self, Provider, ProviderError};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start worker: {0}")]
    Start(String),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error("worker task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Everything a running job needs, shared by the worker's tasks.
pub(crate) struct Shared {
    pub local: Local,
    /// This worker's lease on the queue: its claims and the writes only a
    /// lease holder may make.
    pub lease: Arc<dyn WorkerLease>,
    providers: HashMap<String, Result<Arc<dyn Provider>, ProviderError>>,
    /// The tools jobs may call; `None` when they could not be loaded.
    pub tools: Option<Arc<dyn ToolHost>>,
    /// The external MCP servers among them, stopped when idle.
    servers: crate::mcp::Servers,
    /// Context windows learnt from the servers.
    pub windows: budget::Windows,
}

impl Shared {
    /// The backend for `provider:model`, and the model name it knows.
    pub fn provider(&self, model: &str) -> Result<(Arc<dyn Provider>, String), ProviderError> {
        let (name, model) = model
            .split_once(':')
            .ok_or_else(|| ProviderError::permanent(format!("model {model:?} has no provider prefix")))?;
        match self.providers.get(name) {
            Some(Ok(p)) => Ok((p.clone(), model.to_owned())),
            Some(Err(e)) => Err(e.clone()),
            None => Err(ProviderError::permanent(format!("no provider named {name:?} in the config"))),
        }
    }
}

/// A worker bound to one data directory.
pub struct Worker {
    shared: Arc<Shared>,
    concurrency: usize,
}

impl Worker {
    /// Joins the queue as a worker (a lease) and builds the providers.
    pub fn new(local: Local, concurrency: Option<usize>) -> Result<Self, WorkerError> {
        let concurrency = concurrency.unwrap_or(local.config.worker.concurrency).max(1);
        let lease = local.queue.join(concurrency).map_err(|e| WorkerError::Start(e.to_string()))?;
        let providers = local
            .config
            .providers
            .iter()
            .map(|(name, cfg)| (name.clone(), provider::build(name, cfg)))
            .collect();
        let mut servers = crate::mcp::Servers::default();
        let tools = match crate::rag::tool::toolbox(&local.config, local.home.root()) {
            Ok(toolbox) => {
                servers = toolbox.servers().clone();
                let host = tools::Builtin { toolbox, store: local.store.clone() };
                Some(Arc::new(host) as Arc<dyn ToolHost>)
            }
            Err(e) => {
                tracing::error!("tools are off in this worker: {e}");
                None
            }
        };
        let windows = budget::Windows::default();
        Ok(Self {
            shared: Arc::new(Shared { local, lease, providers, tools, servers, windows }),
            concurrency,
        })
    }

    pub fn id(&self) -> &str {
        self.shared.lease.id()
    }

    /// Runs until `shutdown` resolves, then winds down: no new claims, a
    /// grace period for running jobs, then the rest are requeued.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
        let shared = self.shared;
        let cfg = shared.local.config.worker.clone();
        let wake = Arc::new(Notify::new());
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
        let claimer = Arc::new(Claimer {
            shared: shared.clone(),
            sem: Arc::new(Semaphore::new(self.concurrency)),
            queue_empty: Mutex::new(false),
            stopping: AtomicBool::new(false),
            ready: ready_tx,
        });
        let _watcher = watch_queue(&shared, wake.clone(), claimer.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let spawn = |tasks: &mut JoinSet<()>, (job, permit): Ready| {
            let (s, stop) = (shared.clone(), stop_rx.clone());
            let span = job.span.clone();
            tasks.spawn(
                async move {
                    run::run_job(&s, job, stop).await;
                    drop(permit);
                }
                .instrument(span),
            );
        };
        let rescan = Duration::from_secs_f64(cfg.rescan_secs.max(0.05));
        let mut tick = tokio::time::interval(rescan);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(worker = shared.lease.id(), concurrency = self.concurrency, "worker started");
        recover(&shared).await;
        tokio::pin!(shutdown);
        let reaper = (!shared.servers.is_empty()).then(|| {
            let servers = shared.servers.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                loop {
                    every.tick().await;
                    servers.stop_idle().await;
                }
            })
        });

        loop {
            // Shutdown first, as before any claim: polling it also puts the
            // signal handler it installs in place before the first job starts.
            let stop = tokio::select! {
                biased;
                () = &mut shutdown => true,
                () = std::future::ready(()) => false,
            };
            if stop {
                break;
            }
            // Claim while there is room and work. In place: on `ctl
            // worker`'s main thread this is a plain call.
            while let Some(ready) = tokio::task::block_in_place(|| claimer.try_claim()) {
                spawn(&mut tasks, ready);
            }
            tokio::select! {
                // The queue watcher claimed a job that landed while this
                // worker was idle.
                Some(ready) = ready_rx.recv() => spawn(&mut tasks, ready),
                () = wake.notified() => {}
                _ = tick.tick() => recover(&shared).await,
                // A job ended: room for another.
                Some(res) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = res {
                        tracing::error!("job task failed: {e}");
                    }
                }
                () = &mut shutdown => break,
            }
        }

        // No new claims; a claim the watcher has under way is finished and run.
        claimer.stopping.store(true, Ordering::SeqCst);
        drop(claimer.queue_empty.lock().unwrap_or_else(PoisonError::into_inner));
        while let Ok(ready) = ready_rx.try_recv() {
            spawn(&mut tasks, ready);
        }
        tracing::info!(running = tasks.len(), "worker stopping; no new jobs will be claimed");
        let grace = Duration::from_secs_f64(cfg.grace_secs.max(0.0));
        if tokio::time::timeout(grace, drain(&mut tasks)).await.is_err() {
            tracing::warn!(running = tasks.len(), "grace period over; requeueing running jobs");
            let _ = stop_tx.send(true);
            drain(&mut tasks).await;
        }
        if let Some(reaper) = reaper {
            reaper.abort();
        }
        shared.servers.stop_all().await;
        tracing::info!("worker stopped");
        Ok(())
    }
}

/// A claimed, prepared job and the concurrency slot it holds.
type Ready = (run::Prepared, OwnedSemaphorePermit);

/// Claims jobs for the worker, from its main loop or from the queue
/// watcher's thread: a job that lands while the worker is idle is claimed
/// and started right where its arrival is seen, with no wake-up of another
/// thread between the file landing and its `started` event.
struct Claimer {
    shared: Arc<Shared>,
    sem: Arc<Semaphore>,
    /// The last look found the queue empty (or took its only job) and every
    /// job seen landing since was claimed at once. Held while claiming, so
    /// claims happen one at a time.
    queue_empty: Mutex<bool>,
    stopping: AtomicBool,
    /// Jobs the watcher claimed, for the main loop to run.
    ready: mpsc::UnboundedSender<Ready>,
}

impl Claimer {
    /// The main loop's claim: the next job in priority order, if a slot is free.
    fn try_claim(&self) -> Option<Ready> {
        if self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let permit = self.sem.clone().try_acquire_owned().ok()?;
        let mut queue_empty = self.queue_empty.lock().unwrap_or_else(PoisonError::into_inner);
        let next = claim_and_prepare(&self.shared, &mut queue_empty);
        drop(queue_empty);
        match next {
            Ok(Some(job)) => Some((job, permit)),
            Ok(None) => {
                // Nothing waiting: a moment to get ready for the next jobs.
                self.shared.lease.idle();
                None
            }
            Err(e) => {
                tracing::error!("cannot claim jobs: {e}");
                None
            }
        }
    }

    /// The watcher's claim of `id`, which just landed in `_queue`: only when
    /// a slot is free and nothing else was waiting (so taking it first
    /// keeps priority and FIFO order). True when it took the job; false
    /// leaves it to the main loop.
    fn claim_landed(&self, id: &str) -> bool {
        if self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        let mut queue_empty = self.queue_empty.lock().unwrap_or_else(PoisonError::into_inner);
        let Ok(permit) = self.sem.clone().try_acquire_owned() else {
            // It waits: the next claim must look at the whole queue.
            *queue_empty = false;
            return false;
        };
        if !*queue_empty || self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        let job = match self.shared.lease.claim(id) {
            Ok(Some(job)) => job,
            Ok(None) => return false,
            Err(e) => {
                tracing::error!("cannot claim jobs: {e}");
                return false;
            }
        };
        match run::prepare(&self.shared, job) {
            Some(job) => self.ready.send((job, permit)).is_ok(),
            None => false,
        }
    }
}

async fn drain(tasks: &mut JoinSet<()>) {
    while let Some(res) = tasks.join_next().await {
        if let Err(e) = res {
            tracing::error!("job task failed: {e}");
        }
    }
}

/// Keeps the lease alive, requeues dead workers' jobs and quarantines
/// garbage; logs, never fails.
async fn recover(shared: &Arc<Shared>) {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || s.lease.maintain()).await;
    match result {
        Ok(Ok(ids)) if !ids.is_empty() => {
            tracing::warn!(count = ids.len(), "requeued jobs of dead workers");
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!("recovery failed: {e}"),
        Err(e) => tracing::error!("recovery task failed: {e}"),
    }
}

/// Claims the next job (highest priority first, then oldest) and prepares
/// it to run ([`run::prepare`]).
fn claim_and_prepare(
    shared: &Shared,
    queue_empty: &mut bool,
) -> Result<Option<run::Prepared>, crate::queue::QueueError> {
    loop {
        let claimed = shared.lease.claim_next()?;
        *queue_empty = claimed.alone;
        let Some(job) = claimed.job else {
            return Ok(None);
        };
        if let Some(prepared) = run::prepare(shared, job) {
            return Ok(Some(prepared));
        }
    }
}

/// Watches the queue: a job that lands while the worker is idle is claimed
/// on the watcher's thread ([`Claimer::claim_landed`]); anything else
/// wakes the main loop. Without a watch the periodic rescan still finds
/// jobs, only later.
fn watch_queue(
    shared: &Shared,
    wake: Arc<Notify>,
    claimer: Arc<Claimer>,
) -> Option<Box<dyn std::any::Any + Send>> {
    shared.lease.watch(Arc::new(move |landed: Option<&str>| {
        if landed.is_some_and(|id| claimer.claim_landed(id)) {
            return;
        }
        wake.notify_one();
    }))
}
