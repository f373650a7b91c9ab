//! Alerts: `ctl serve` (or `ctl up`) watches for failed jobs, a data
//! directory low on disk, unreachable model backends and a stuck queue,
//! and posts to Discord and/or a generic JSON webhook.
//!
//! Exactly one process sends: the server, so a deployment with any number
//! of workers sends each alert once. Alerts are de-duplicated (one message
//! when a condition starts, one when it ends) and folded (a burst of
//! failures is one message and a count). Delivery runs on its own task
//! behind a bounded channel: a slow or failing webhook never holds up a
//! check, let alone a job. The webhook URLs are secrets (see
//! [`crate::secrets`]).

pub mod engine;
pub mod probe;
pub mod sink;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

pub use engine::{Alert, Engine, Observation, Rule, Status};
pub use sink::{DISCORD_VAR, Sink, WEBHOOK_VAR};

use crate::jobs::Local;
use crate::provider::Provider;

/// `[alerts]` in the config. The destinations are not here: their URLs are
/// secrets, read from `CTL_DISCORD_WEBHOOK_URL` and `CTL_ALERT_WEBHOOK_URL`
/// (or the files their `_FILE` variables name).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// The address users open ctl at, for the job links in alerts
    /// (`https://ctl.example.net`). Default: the address ctl listens on.
    pub base_url: Option<String>,
    /// Seconds between checks.
    pub check_secs: f64,
    /// A job-failure alert resolves after this many seconds without a failure.
    pub min_interval_secs: f64,
    /// While jobs keep failing, a count of the new failures is sent this often.
    pub repeat_minutes: f64,
    /// The data directory's file system is low below this much free space.
    pub disk_free_min_percent: f64,
    /// The queue is stuck when a job has waited this long while workers are alive.
    pub queue_stuck_minutes: f64,
    /// Failed checks in a row before a backend counts as down.
    pub backend_down_checks: u32,
    /// Providers whose reachability is watched. Empty: the default model's.
    pub providers: Vec<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            check_secs: 30.0,
            min_interval_secs: 300.0,
            repeat_minutes: 60.0,
            disk_free_min_percent: 10.0,
            queue_stuck_minutes: 15.0,
            backend_down_checks: 2,
            providers: Vec::new(),
        }
    }
}

impl AlertsConfig {
    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("check_secs", self.check_secs),
            ("min_interval_secs", self.min_interval_secs),
            ("repeat_minutes", self.repeat_minutes),
            ("queue_stuck_minutes", self.queue_stuck_minutes),
        ];
        for (key, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("alerts.{key} must be a positive number, not {v}"));
            }
        }
        if !(0.0..=100.0).contains(&self.disk_free_min_percent) {
            return Err(format!(
                "alerts.disk_free_min_percent must be between 0 and 100, not {}",
                self.disk_free_min_percent
            ));
        }
        if let Some(url) = &self.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!("alerts.base_url {url:?} must start with http:// or https://"));
        }
        Ok(())
    }
}

/// What the server knows of each watched provider, for `ctl_provider_up`.
#[derive(Debug, Clone, Default)]
pub struct Health {
    providers: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl Health {
    /// Each watched provider and whether its last check answered.
    pub fn providers(&self) -> BTreeMap<String, bool> {
        self.providers.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set(&self, results: &[(String, Result<(), String>)]) {
        let mut map = self.providers.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, r) in results {
            map.insert(name.clone(), r.is_ok());
        }
    }
}

/// The providers whose reachability is watched: `alerts.providers`, or the
/// default model's provider.
pub fn watched_providers(local: &Local) -> Vec<String> {
    let cfg = &local.config;
    if !cfg.alerts.providers.is_empty() {
        return cfg.alerts.providers.clone();
    }
    vec![cfg.resolve_model(None).map_or_else(|_| "ollama".to_owned(), |(p, _)| p)]
}

/// A watched provider: its name, and its client or why there is none.
type Watched = (String, Result<Arc<dyn Provider>, String>);

/// Runs the checks until `stop` turns true: the server's alert loop.
/// `default_base` is the address the server listens on, for job links
/// when `alerts.base_url` is unset.
pub async fn run(local: Local, default_base: String, health: Health, mut stop: watch::Receiver<bool>) {
    let cfg = local.config.alerts.clone();
    let sinks = match sink::from_env() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("alerts will not be sent: {e}");
            Vec::new()
        }
    };
    if sinks.is_empty() {
        tracing::info!("no alert destination ({DISCORD_VAR} or {WEBHOOK_VAR}); alerts are only logged");
    } else {
        let names: Vec<_> = sinks.iter().map(|s| s.kind.as_str()).collect();
        tracing::info!("alerts go to {}", names.join(" and "));
    }
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(deliver(sinks, rx));

    let mut providers: Vec<Watched> = Vec::new();
    for name in watched_providers(&local) {
        let built = match local.config.providers.get(&name) {
            None => Err(format!("no provider named {name:?} in the config")),
            Some(p) => crate::provider::build(&name, p).map_err(|e| e.to_string()),
        };
        providers.push((name, built));
    }
    let base = cfg.base_url.clone().unwrap_or(default_base);
    let mut engine = Engine::new(cfg.clone(), &base);
    let store = local.store.clone();
    let mut cursor = match tokio::task::spawn_blocking(move || store.failure_cursor()).await {
        Ok(Ok(c)) => c,
        other => {
            tracing::error!("alerts: cannot read the job records, job failures will not be seen: {other:?}");
            i64::MAX
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs_f64(cfg.check_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let obs = observe(&local, &providers, &mut cursor).await;
        health.set(&obs.providers);
        for alert in engine.observe(Instant::now(), &obs) {
            tracing::warn!(rule = alert.rule.as_str(), subject = %alert.subject, status = ?alert.status, count = alert.count, "alert: {}", alert.title);
            if tx.try_send(alert).is_err() {
                tracing::error!("alerts: the delivery queue is full; a message was dropped");
            }
        }
    }
}

/// One check's observation.
async fn observe(local: &Local, providers: &[Watched], cursor: &mut i64) -> Observation {
    let checks = providers.iter().map(|(name, p)| async move {
        let result = match p {
            Err(e) => Err(e.clone()),
            Ok(p) => match tokio::time::timeout(Duration::from_secs(5), p.models()).await {
                Err(_) => Err("no answer within 5 s".to_owned()),
                Ok(r) => r.map(|_| ()).map_err(|e| e.to_string()),
            },
        };
        (name.clone(), result)
    });
    let providers = futures_util::future::join_all(checks).await;

    let (l, from) = (local.clone(), *cursor);
    let files = tokio::task::spawn_blocking(move || {
        let failures = if from == i64::MAX { Ok((Vec::new(), from)) } else { l.store.failures_after(from) };
        let disk = probe::disk(l.home.root());
        let oldest = l.queue.oldest_queued_age();
        let workers = l.queue.live_workers().map(|w| w.len());
        (failures, disk, oldest, workers)
    })
    .await;
    let mut obs = Observation { providers, ..Observation::default() };
    match files {
        Ok((failures, disk, oldest, workers)) => {
            match failures {
                Ok((f, next)) => {
                    obs.failures = f;
                    *cursor = next;
                }
                Err(e) => tracing::warn!("alerts: cannot read failed jobs: {e}"),
            }
            obs.disk = disk.map_err(|e| tracing::warn!("alerts: cannot read free disk space: {e}")).ok();
            obs.oldest_queued = oldest.unwrap_or_else(|e| {
                tracing::warn!("alerts: cannot list the queue: {e}");
                None
            });
            obs.workers_alive = workers.unwrap_or(0);
        }
        Err(e) => tracing::error!("alerts: check failed: {e}"),
    }
    obs
}

/// Sends each alert to every destination, one at a time, in order.
async fn deliver(sinks: Vec<Sink>, mut rx: mpsc::Receiver<Alert>) {
    let http = match sink::http_client() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("alerts will not be sent: {e}");
            return;
        }
    };
    while let Some(alert) = rx.recv().await {
        for s in &sinks {
            if let Err(e) = s.send(&http, &alert).await {
                tracing::error!(rule = alert.rule.as_str(), "alert not delivered: {e}");
            }
        }
    }
}

/// `ctl alerts test`: one message to each destination. Returns each
/// destination with its result; empty when none is configured.
pub async fn send_test(local: &Local) -> Result<Vec<(&'static str, Result<(), String>)>, sink::SendError> {
    let sinks = sink::from_env()?;
    let http = sink::http_client()?;
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let alert = Alert {
        rule: Rule::Test,
        subject: String::new(),
        status: Status::Firing,
        title: "Test alert from ctl".to_owned(),
        text: format!(
            "`ctl alerts test` on {} (data directory {}). If you read this, alerts reach you.",
            if host.is_empty() { "this host" } else { &host },
            local.home.root().display()
        ),
        count: 1,
        link: None,
    };
    let mut out = Vec::new();
    for s in &sinks {
        out.push((s.kind.as_str(), s.send(&http, &alert).await.map_err(|e| e.to_string())));
    }
    Ok(out)
}
