//! `ctl worker`: claims jobs from the queue and runs them.
//!
//! New jobs are noticed through inotify on `_queue` (so pickup takes about a
//! millisecond), with a periodic rescan as a safety net that also requeues
//! the jobs of workers that died. On shutdown the worker stops claiming,
//! gives running jobs a grace period, then stops and requeues them.

mod run;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::api::Job;
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
    pub lease: WorkerLease,
    providers: HashMap<String, Result<Arc<dyn Provider>, ProviderError>>,
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
        Ok(Self { shared: Arc::new(Shared { local, lease, providers }), concurrency })
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
        let _watcher = watch_queue(&shared.local.queue.dir(Dir::Queued), wake.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let sem = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = JoinSet::new();
        let mut picker = Picker::default();
        let rescan = Duration::from_secs_f64(cfg.rescan_secs.max(0.05));
        let mut tick = tokio::time::interval(rescan);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(worker = shared.lease.id(), concurrency = self.concurrency, "worker started");
        recover(&shared).await;
        tokio::pin!(shutdown);

        'outer: loop {
            let permit = tokio::select! {
                p = sem.clone().acquire_owned() => p.expect("semaphore is never closed"),
                () = &mut shutdown => break,
            };
            // Find a job to run, waiting for one as long as it takes.
            let job = loop {
                let s = shared.clone();
                let (next, p) = tokio::task::spawn_blocking(move || {
                    let mut picker = picker;
                    let next = picker.claim_next(&s);
                    (next, picker)
                })
                .await?;
                picker = p;
                match next {
                    Ok(Some(job)) => break job,
                    Ok(None) => {}
                    Err(e) => tracing::error!("cannot claim jobs: {e}"),
                }
                tokio::select! {
                    () = wake.notified() => {}
                    _ = tick.tick() => recover(&shared).await,
                    () = &mut shutdown => break 'outer,
                }
                // Drop finished tasks' results as we go, logging panics.
                while let Some(res) = tasks.try_join_next() {
                    if let Err(e) = res {
                        tracing::error!("job task failed: {e}");
                    }
                }
            };
            let (s, stop) = (shared.clone(), stop_rx.clone());
            tasks.spawn(async move {
                run::run_job(&s, job, stop).await;
                drop(permit);
            });
        }

        tracing::info!(running = tasks.len(), "worker stopping; no new jobs will be claimed");
        let grace = Duration::from_secs_f64(cfg.grace_secs.max(0.0));
        if tokio::time::timeout(grace, drain(&mut tasks)).await.is_err() {
            tracing::warn!(running = tasks.len(), "grace period over; requeueing running jobs");
            let _ = stop_tx.send(true);
            drain(&mut tasks).await;
        }
        tracing::info!("worker stopped");
        Ok(())
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
/// are read from each job file once and remembered.
#[derive(Default)]
struct Picker {
    priorities: HashMap<String, i32>,
}

impl Picker {
    fn claim_next(&mut self, shared: &Shared) -> Result<Option<Job>, crate::queue::QueueError> {
        let q = &shared.local.queue;
        let ids = q.list(Dir::Queued)?;
        if ids.is_empty() {
            self.priorities.clear();
            return Ok(None);
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
            match q.claim(&id, &shared.lease)? {
                Claim::Won(job) => return Ok(Some(job)),
                Claim::Lost => {}
                Claim::Corrupt(reason) => {
                    tracing::warn!(%id, %reason, "moved unreadable job to _corrupt");
                }
            }
        }
        Ok(None)
    }
}

/// Wakes the worker when a file lands in `_queue`. Without inotify the
/// periodic rescan still finds jobs, only later.
fn watch_queue(dir: &std::path::Path, wake: Arc<Notify>) -> Option<notify::RecommendedWatcher> {
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok_and(|ev| ev.kind.is_create() || ev.kind.is_modify() || ev.kind.is_other()) {
            wake.notify_one();
        }
    })
    .map_err(|e| tracing::warn!("no filesystem notifications, polling only: {e}"))
    .ok()?;
    w.watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| tracing::warn!("cannot watch {}: {e}", dir.display()))
        .ok()?;
    Some(w)
}
