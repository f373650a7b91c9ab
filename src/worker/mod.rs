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

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::Watcher;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::api::Job;
use crate::events::Spares;
use crate::jobs::Local;
use crate::provider::{self, Provider, ProviderError};
use crate::queue::{Claim, Dir, WorkerLease};

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
    /// Empty files that become event logs (dropped, and removed, before
    /// the lease lets the worker's other files go).
    pub spares: Spares,
    pub lease: WorkerLease,
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
    /// Takes a worker lock in the data directory and builds the providers.
    pub fn new(local: Local, concurrency: Option<usize>) -> Result<Self, WorkerError> {
        let lease = WorkerLease::acquire(&local.home.workers_dir()).map_err(|e| {
            WorkerError::Start(format!(
                "cannot take a worker lock in {}: {e}",
                local.home.workers_dir().display()
            ))
        })?;
        let providers = local
            .config
            .providers
            .iter()
            .map(|(name, cfg)| (name.clone(), provider::build(name, cfg)))
            .collect();
        let concurrency = concurrency.unwrap_or(local.config.worker.concurrency).max(1);
        let spares_dir = local.home.workers_dir().join(format!("{}.spares", lease.id()));
        let spares = Spares::new(spares_dir, concurrency + 1).map_err(|e| {
            WorkerError::Start(format!("cannot make {}.spares in the workers directory: {e}", lease.id()))
        })?;
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
            shared: Arc::new(Shared { local, spares, lease, providers, tools, servers, windows }),
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
            picker: Mutex::new(Picker::default()),
            stopping: AtomicBool::new(false),
            ready: ready_tx,
        });
        let _watcher = watch_queue(&shared.local.queue.dir(Dir::Queued), wake.clone(), claimer.clone());
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
        drop(claimer.picker.lock().unwrap_or_else(PoisonError::into_inner));
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
    picker: Mutex<Picker>,
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
        let next = self.picker.lock().unwrap_or_else(PoisonError::into_inner).claim_and_prepare(&self.shared);
        match next {
            Ok(Some(job)) => Some((job, permit)),
            Ok(None) => {
                // Nothing waiting: a moment to make spare logs for the next jobs.
                self.shared.spares.fill();
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
        let mut picker = self.picker.lock().unwrap_or_else(PoisonError::into_inner);
        let Ok(permit) = self.sem.clone().try_acquire_owned() else {
            // It waits: the next claim must look at the whole queue.
            picker.queue_empty = false;
            return false;
        };
        if !picker.queue_empty || self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        let job = match claim_one(&self.shared, id) {
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

/// Requeues dead workers' jobs and quarantines garbage; logs, never fails.
async fn recover(shared: &Arc<Shared>) {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        let q = &s.local.queue;
        for name in q.stray_files()? {
            q.quarantine(Dir::Queued, &name, "not a job file name (<ULID>.json)")?;
        }
        q.recover()
    })
    .await;
    match result {
        Ok(Ok(ids)) if !ids.is_empty() => {
            tracing::warn!(count = ids.len(), "requeued jobs of dead workers");
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!("recovery failed: {e}"),
        Err(e) => tracing::error!("recovery task failed: {e}"),
    }
}

/// Picks the next job: highest priority first, then oldest id. Priorities
/// are read from each job file once and remembered; a job waiting alone is
/// not read for its priority at all (only once, when claimed).
#[derive(Default)]
struct Picker {
    priorities: HashMap<String, i32>,
    /// The last look found the queue empty (or took its only job) and every
    /// job seen landing since was claimed at once.
    queue_empty: bool,
}

impl Picker {
    /// Claims the next job and prepares it to run ([`run::prepare`]).
    fn claim_and_prepare(
        &mut self,
        shared: &Shared,
    ) -> Result<Option<run::Prepared>, crate::queue::QueueError> {
        loop {
            let Some(job) = self.claim_next(shared)? else {
                return Ok(None);
            };
            if let Some(prepared) = run::prepare(shared, job) {
                return Ok(Some(prepared));
            }
        }
    }

    fn claim_next(&mut self, shared: &Shared) -> Result<Option<Job>, crate::queue::QueueError> {
        let q = &shared.local.queue;
        let ids = q.list(Dir::Queued)?;
        self.queue_empty = ids.len() <= 1;
        if ids.is_empty() {
            self.priorities.clear();
            return Ok(None);
        }
        if let [id] = ids.as_slice() {
            // One job waiting: no order to find, so its file is read once,
            // when claimed.
            self.priorities.clear();
            return claim_one(shared, id);
        }
        let present: std::collections::HashSet<&String> = ids.iter().collect();
        self.priorities.retain(|id, _| present.contains(id));
        let mut order = BTreeSet::new();
        for id in &ids {
            let prio = *self
                .priorities
                .entry(id.clone())
                .or_insert_with(|| q.read(Dir::Queued, id).map_or(0, |j| j.priority));
            order.insert((std::cmp::Reverse(prio), id.clone()));
        }
        for (_, id) in order {
            self.priorities.remove(&id);
            if let Some(job) = claim_one(shared, &id)? {
                return Ok(Some(job));
            }
        }
        Ok(None)
    }
}

/// Tries to claim one queued job; `None` when another worker took it or it
/// was garbage (now in `_corrupt`).
fn claim_one(shared: &Shared, id: &str) -> Result<Option<Job>, crate::queue::QueueError> {
    match shared.local.queue.claim(id, &shared.lease)? {
        Claim::Won(job) => Ok(Some(*job)),
        Claim::Lost => Ok(None),
        Claim::Corrupt(reason) => {
            tracing::warn!(%id, %reason, "moved unreadable job to _corrupt");
            Ok(None)
        }
    }
}

/// Watches `_queue`: a job file that lands while the worker is idle is
/// claimed on the watcher's thread ([`Claimer::claim_landed`]); anything
/// else wakes the main loop. Without inotify the periodic rescan still finds
/// jobs, only later.
fn watch_queue(
    dir: &std::path::Path,
    wake: Arc<Notify>,
    claimer: Arc<Claimer>,
) -> Option<notify::RecommendedWatcher> {
    use notify::EventKind;
    use notify::event::{ModifyKind, RenameMode};
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        let landed = match ev.kind {
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => ev
                .paths
                .first()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .filter(|id| crate::queue::valid_id(id)),
            EventKind::Modify(_) | EventKind::Other | EventKind::Any => None,
            _ => return,
        };
        if landed.is_some_and(|id| claimer.claim_landed(id)) {
            return;
        }
        wake.notify_one();
    })
    .map_err(|e| tracing::warn!("no filesystem notifications, polling only: {e}"))
    .ok()?;
    w.watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| tracing::warn!("cannot watch {}: {e}", dir.display()))
        .ok()?;
    Some(w)
}
