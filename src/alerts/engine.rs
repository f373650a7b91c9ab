//! The rules: observations in, alert messages out. Pure (time is passed
//! in), so every rule's firing, de-duplication, folding and resolving is
//! unit-tested without a clock or a network.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::AlertsConfig;
use crate::store::Failure;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    JobFailed,
    DiskLow,
    BackendDown,
    QueueStuck,
    /// `ctl alerts test`.
    Test,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobFailed => "job_failed",
            Self::DiskLow => "disk_low",
            Self::BackendDown => "backend_down",
            Self::QueueStuck => "queue_stuck",
            Self::Test => "test",
        }
    }
}

/// Whether an alert starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Firing,
    Resolved,
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub rule: Rule,
    /// What it is about within the rule: a provider's name, or empty.
    pub subject: String,
    pub status: Status,
    /// One line.
    pub title: String,
    /// A few lines of detail.
    pub text: String,
    /// How many occurrences this message stands for (failed jobs).
    pub count: u64,
    /// A page to open (a failed job's page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The data directory's file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disk {
    pub free_bytes: u64,
    pub total_bytes: u64,
}

impl Disk {
    pub fn free_percent(self) -> f64 {
        if self.total_bytes == 0 { 100.0 } else { self.free_bytes as f64 * 100.0 / self.total_bytes as f64 }
    }
}

/// What one check saw.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Jobs that failed since the previous check, oldest first.
    pub failures: Vec<Failure>,
    pub disk: Option<Disk>,
    /// Each watched provider: `Err` with why it did not answer.
    pub providers: Vec<(String, Result<(), String>)>,
    /// How long the longest-waiting queued job has waited.
    pub oldest_queued: Option<Duration>,
    pub workers_alive: usize,
}

#[derive(Debug, Default)]
struct State {
    firing: bool,
    /// Consecutive checks that saw the condition.
    bad_checks: u32,
    /// Failures since the alert fired, and since the last message.
    total: u64,
    unsent: u64,
    last_event: Option<Instant>,
    last_sent: Option<Instant>,
    latest_link: Option<String>,
}

/// The rules' state between checks.
pub struct Engine {
    cfg: AlertsConfig,
    /// Where job pages live: `{base}/job/{id}`.
    base_url: String,
    states: BTreeMap<(Rule, String), State>,
}

impl Engine {
    pub fn new(cfg: AlertsConfig, base_url: &str) -> Self {
        Self { cfg, base_url: base_url.trim_end_matches('/').to_owned(), states: BTreeMap::new() }
    }

    /// Feeds one check's observation; returns the messages to send now.
    pub fn observe(&mut self, now: Instant, obs: &Observation) -> Vec<Alert> {
        let mut out = Vec::new();
        self.job_failures(now, &obs.failures, &mut out);

        if let Some(disk) = obs.disk {
            let pct = disk.free_percent();
            let min = self.cfg.disk_free_min_percent;
            let detail = format!(
                "{:.1} % free ({} of {}); the threshold is {min} %.",
                pct,
                human_bytes(disk.free_bytes),
                human_bytes(disk.total_bytes)
            );
            let (fire, resolve) = (
                format!("The data directory is low on disk: {pct:.1} % free"),
                format!("The data directory has room again: {pct:.1} % free"),
            );
            self.condition(Rule::DiskLow, "", pct < min, 1, (fire, resolve, detail), &mut out);
        }

        for (name, result) in &obs.providers {
            let (bad, detail) = match result {
                Ok(()) => (false, format!("Provider {name} answers again.")),
                Err(e) => (
                    true,
                    format!("Jobs for {name} retry, then fail. `ctl doctor` checks it.\n{}", first_line(e)),
                ),
            };
            let texts = (
                format!("Model backend {name} is unreachable"),
                format!("Model backend {name} is reachable again"),
                detail,
            );
            let checks = self.cfg.backend_down_checks.max(1);
            self.condition(Rule::BackendDown, name, bad, checks, texts, &mut out);
        }

        let limit = Duration::from_secs_f64(self.cfg.queue_stuck_minutes.max(0.0) * 60.0);
        let waited = obs.oldest_queued.unwrap_or_default();
        let stuck = obs.oldest_queued.is_some_and(|age| age > limit) && obs.workers_alive > 0;
        let texts = (
            format!("The queue is stuck: a job has waited {}", human_duration(waited)),
            "The queue moves again".to_owned(),
            format!(
                "{} workers are alive, yet a job has waited longer than {}. Check `ctl jobs --state active` and the workers' logs.",
                obs.workers_alive,
                human_duration(limit)
            ),
        );
        self.condition(Rule::QueueStuck, "", stuck, 1, texts, &mut out);
        out
    }

    /// Job failures: the first fires at once; later ones are folded into a
    /// count, reported every `repeat_minutes` while they go on and in the
    /// resolved message after `min_interval_secs` without one.
    fn job_failures(&mut self, now: Instant, failures: &[Failure], out: &mut Vec<Alert>) {
        let quiet = Duration::from_secs_f64(self.cfg.min_interval_secs.max(0.0));
        let repeat = Duration::from_secs_f64(self.cfg.repeat_minutes.max(0.0) * 60.0);
        let base = self.base_url.clone();
        let st = self.states.entry((Rule::JobFailed, String::new())).or_default();
        if let Some(last) = failures.last() {
            let link = format!("{base}/job/{}", last.id);
            let n = failures.len() as u64;
            st.last_event = Some(now);
            st.latest_link = Some(link.clone());
            if st.firing {
                st.total += n;
                st.unsent += n;
            } else {
                st.firing = true;
                st.total = n;
                st.unsent = 0;
                st.last_sent = Some(now);
                let title = if n == 1 {
                    format!("Job {} failed", last.id)
                } else {
                    format!("{n} jobs failed; the latest is {}", last.id)
                };
                let text = format!("model {}: {}", last.model, first_line(&last.error));
                out.push(alert(Rule::JobFailed, "", Status::Firing, &title, &text, n, Some(link)));
                return;
            }
        }
        if !st.firing {
            return;
        }
        let since_event = st.last_event.map_or(Duration::MAX, |t| now.duration_since(t));
        let since_sent = st.last_sent.map_or(Duration::MAX, |t| now.duration_since(t));
        if since_event >= quiet {
            let title = format!("No job has failed for {}", human_duration(quiet));
            let text = format!("{} jobs failed in all since the alert fired.", st.total);
            let (total, link) = (st.total, st.latest_link.take());
            *st = State::default();
            out.push(alert(Rule::JobFailed, "", Status::Resolved, &title, &text, total, link));
        } else if st.unsent > 0 && since_sent >= repeat {
            let title = format!("{} more jobs failed", st.unsent);
            let text = format!("{} in all since the alert fired; still failing.", st.total);
            out.push(alert(
                Rule::JobFailed,
                "",
                Status::Firing,
                &title,
                &text,
                st.unsent,
                st.latest_link.clone(),
            ));
            st.unsent = 0;
            st.last_sent = Some(now);
        }
    }

    /// A rule over a condition: fires after `checks` consecutive bad
    /// checks, once, and resolves on the first good one.
    fn condition(
        &mut self,
        rule: Rule,
        subject: &str,
        bad: bool,
        checks: u32,
        (fire, resolve, detail): (String, String, String),
        out: &mut Vec<Alert>,
    ) {
        let st = self.states.entry((rule, subject.to_owned())).or_default();
        if bad {
            st.bad_checks = st.bad_checks.saturating_add(1);
            if !st.firing && st.bad_checks >= checks {
                st.firing = true;
                out.push(alert(rule, subject, Status::Firing, &fire, &detail, 1, None));
            }
        } else {
            st.bad_checks = 0;
            if st.firing {
                st.firing = false;
                out.push(alert(rule, subject, Status::Resolved, &resolve, &detail, 1, None));
            }
        }
    }

    /// Whether a provider's alert is firing (for `ctl_provider_up`).
    pub fn is_firing(&self, rule: Rule, subject: &str) -> bool {
        self.states.get(&(rule, subject.to_owned())).is_some_and(|s| s.firing)
    }
}

fn alert(
    rule: Rule,
    subject: &str,
    status: Status,
    title: &str,
    text: &str,
    count: u64,
    link: Option<String>,
) -> Alert {
    // Alert text quotes errors from servers; no secret may ride along.
    let title = crate::secrets::redact(title).into_owned();
    let text = crate::secrets::redact(text).into_owned();
    Alert { rule, subject: subject.to_owned(), status, title, text, count, link }
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(300) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

pub(crate) fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AlertsConfig {
        AlertsConfig {
            min_interval_secs: 60.0,
            repeat_minutes: 10.0,
            disk_free_min_percent: 10.0,
            queue_stuck_minutes: 15.0,
            backend_down_checks: 2,
            ..AlertsConfig::default()
        }
    }

    fn failures(n: usize, from: usize) -> Vec<Failure> {
        (from..from + n)
            .map(|i| Failure {
                id: format!("J{i:03}"),
                model: "local:tiny".into(),
                error: "boom\nmore".into(),
            })
            .collect()
    }

    #[allow(clippy::needless_pass_by_value)] // keeps the calls short
    fn see(e: &mut Engine, now: Instant, obs: Observation) -> Vec<Alert> {
        e.observe(now, &obs)
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn a_burst_of_100_failures_is_one_message_then_one_resolved_with_the_count() {
        let mut e = Engine::new(cfg(), "https://ctl.example.net/");
        let t0 = Instant::now();
        let mut sent = Vec::new();
        // 100 failures over 50 seconds, seen by checks every 5 s.
        for (i, s) in (0..10).map(|i| (i, i * 5)) {
            sent.extend(see(
                &mut e,
                secs(t0, s),
                Observation { failures: failures(10, (i * 10) as usize), ..Default::default() },
            ));
        }
        assert_eq!(sent.len(), 1, "{sent:#?}");
        assert_eq!(sent[0].status, Status::Firing);
        assert_eq!(sent[0].count, 10);
        assert_eq!(sent[0].title, "10 jobs failed; the latest is J009");
        assert_eq!(sent[0].text, "model local:tiny: boom");
        assert_eq!(sent[0].link.as_deref(), Some("https://ctl.example.net/job/J009"));
        // Quiet for less than a minute: nothing; then resolved, with the total.
        assert!(see(&mut e, secs(t0, 100), Observation::default()).is_empty());
        let resolved = see(&mut e, secs(t0, 106), Observation::default());
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].status, Status::Resolved);
        assert_eq!(resolved[0].count, 100);
        assert!(see(&mut e, secs(t0, 200), Observation::default()).is_empty());
        // A new failure later fires again.
        let again =
            see(&mut e, secs(t0, 300), Observation { failures: failures(1, 500), ..Default::default() });
        assert_eq!(again[0].title, "Job J500 failed");
    }

    #[test]
    fn failures_that_go_on_are_reported_every_repeat_interval_as_a_count() {
        let mut e = Engine::new(cfg(), "http://x");
        let t0 = Instant::now();
        let mut sent = Vec::new();
        // One failure every 30 s for 25 minutes.
        for i in 0..50 {
            sent.extend(see(
                &mut e,
                secs(t0, i * 30),
                Observation { failures: failures(1, i as usize), ..Default::default() },
            ));
        }
        let titles: Vec<_> = sent.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["Job J000 failed", "20 more jobs failed", "20 more jobs failed"]);
    }

    #[test]
    fn conditions_fire_once_and_resolve_once() {
        let mut e = Engine::new(cfg(), "http://x");
        let t0 = Instant::now();
        let low = Disk { free_bytes: 5, total_bytes: 100 };
        let ok = Disk { free_bytes: 50, total_bytes: 100 };
        let obs = |disk| Observation { disk: Some(disk), ..Default::default() };
        let fired = see(&mut e, t0, obs(low));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].title, "The data directory is low on disk: 5.0 % free");
        for s in 1..20 {
            assert!(see(&mut e, secs(t0, s), obs(low)).is_empty(), "fired twice");
        }
        let resolved = see(&mut e, secs(t0, 30), obs(ok));
        assert_eq!((resolved.len(), resolved[0].status), (1, Status::Resolved));
        assert!(see(&mut e, secs(t0, 31), obs(ok)).is_empty());
    }

    #[test]
    fn a_backend_is_down_after_two_failed_checks_each_provider_on_its_own() {
        let mut e = Engine::new(cfg(), "http://x");
        let t0 = Instant::now();
        let obs = |a: Result<(), String>, b: Result<(), String>| Observation {
            providers: vec![("a".into(), a), ("b".into(), b)],
            ..Default::default()
        };
        let down = || Err("connection refused".to_owned());
        assert!(see(&mut e, t0, obs(down(), Ok(()))).is_empty(), "one failed check is a blip");
        let fired = see(&mut e, secs(t0, 1), obs(down(), Ok(())));
        assert_eq!(fired.len(), 1);
        assert_eq!((fired[0].rule, fired[0].subject.as_str()), (Rule::BackendDown, "a"));
        assert!(fired[0].text.ends_with("connection refused"));
        assert!(e.is_firing(Rule::BackendDown, "a"));
        assert!(see(&mut e, secs(t0, 2), obs(down(), down())).is_empty());
        let both = see(&mut e, secs(t0, 3), obs(Ok(()), down()));
        assert_eq!(both.len(), 2, "{both:#?}");
        assert_eq!((both[0].subject.as_str(), both[0].status), ("a", Status::Resolved));
        assert_eq!((both[1].subject.as_str(), both[1].status), ("b", Status::Firing));
    }

    #[test]
    fn a_queue_is_stuck_only_while_workers_are_alive() {
        let mut e = Engine::new(cfg(), "http://x");
        let t0 = Instant::now();
        let obs = |age_min: u64, workers| Observation {
            oldest_queued: Some(Duration::from_secs(age_min * 60)),
            workers_alive: workers,
            ..Default::default()
        };
        assert!(see(&mut e, t0, obs(20, 0)).is_empty(), "no worker: nothing to be stuck");
        assert!(see(&mut e, t0, obs(10, 2)).is_empty(), "not waited long enough");
        let fired = see(&mut e, t0, obs(16, 2));
        assert_eq!(fired[0].title, "The queue is stuck: a job has waited 16 min");
        assert!(see(&mut e, t0, obs(17, 2)).is_empty());
        let resolved = see(&mut e, t0, Observation { workers_alive: 2, ..Default::default() });
        assert_eq!(resolved[0].status, Status::Resolved);
    }

    #[test]
    fn alert_text_never_carries_a_secret() {
        let _key = crate::secrets::Secret::new("sk-canary-engine-0042");
        let mut e = Engine::new(cfg(), "http://x");
        let f = Failure {
            id: "J1".into(),
            model: "m".into(),
            error: "401: key sk-canary-engine-0042 refused".into(),
        };
        let sent = see(&mut e, Instant::now(), Observation { failures: vec![f], ..Default::default() });
        assert_eq!(sent[0].text, "model m: 401: key [redacted] refused");
    }
}
