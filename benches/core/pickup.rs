//! Pickup latency: from the start of a submit to the worker's `started`
//! event, for jobs arriving one at a time at a steady rate (so the worker
//! is idle and asleep when each one lands).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::Watcher;
use serde_json::json;

use crate::queue::noop_spec;
use crate::report::{Report, Row, Target, num};
use crate::util::{Env, now_ns, percentile, scratch, wait_until};

/// The physical floor of the same path: a durable publish (write, fsync,
/// rename, fsync dir) into a directory an inotify watcher (another thread)
/// watches; on the event the watcher claims the file with a rename and
/// appends a line to a log. Latency: before the publish → after the append.
struct Floor {
    dir: tempfile::TempDir,
    done: mpsc::Receiver<(String, Instant)>,
    _watcher: notify::RecommendedWatcher,
}

impl Floor {
    fn new() -> Self {
        let dir = scratch();
        for d in ["tmp", "q", "a"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let (tx, done) = mpsc::channel();
        let (q, a) = (dir.path().join("q"), dir.path().join("a"));
        let mut log =
            std::fs::File::options().create(true).append(true).open(dir.path().join("log")).unwrap();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            for path in ev.paths {
                let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                    continue;
                };
                if std::fs::rename(q.join(&name), a.join(&name)).is_ok() {
                    let _ = log.write_all(format!("{{\"started\":\"{name}\"}}\n").as_bytes());
                    let _ = tx.send((name, Instant::now()));
                }
            }
        })
        .unwrap();
        watcher.watch(&dir.path().join("q"), notify::RecursiveMode::NonRecursive).unwrap();
        Self { dir, done, _watcher: watcher }
    }

    /// One publish; the latency in ms until the watcher has claimed and logged it.
    fn one(&self, i: usize) -> f64 {
        let name = format!("{i}.json");
        let tmp: PathBuf = self.dir.path().join("tmp").join(&name);
        let t0 = Instant::now();
        let mut f = std::fs::File::create(&tmp).unwrap();
        f.write_all(&[b'x'; 400]).unwrap();
        f.sync_all().unwrap();
        drop(f);
        std::fs::rename(&tmp, self.dir.path().join("q").join(&name)).unwrap();
        ctl::queue::sync_dir(&self.dir.path().join("q")).unwrap();
        let (got, t1) = self.done.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(got, name);
        (t1 - t0).as_secs_f64() * 1000.0
    }
}

/// Sleeps until `start + i * every`.
fn pace(start: Instant, i: usize, every: Duration) {
    let at = start + every * i as u32;
    if let Some(d) = at.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

/// The keys a pickup run reports under: plain, or with traces exported.
pub struct Keys {
    pub p50: &'static str,
    pub p99: &'static str,
    pub note: &'static str,
    /// The name of the details in `summary.json`.
    pub detail: &'static str,
}

pub const PLAIN: Keys = Keys { p50: "pickup_p50_ms", p99: "pickup_p99_ms", note: "", detail: "pickup" };

/// Runs the pickup benchmark and reports it under `keys`; returns the p50.
pub fn bench(
    report: &mut Report,
    upstream_url: &str,
    total: usize,
    per_s: f64,
    rounds: usize,
    keys: &Keys,
) -> f64 {
    let every = Duration::from_secs_f64(1.0 / per_s);
    let env = Env::new(upstream_url, "bench", "");
    let local = env.local();
    let worker = env.worker(&[]);
    let floor = Floor::new();
    let spec = noop_spec();
    let per_round = total / rounds;
    let floor_per_round = (per_round / 4).max(10);
    let mut submitted: Vec<(String, i128, i128)> = Vec::with_capacity(total);
    let mut floor_ms = Vec::new();
    let (mut tick, start) = (0, Instant::now());
    for _ in 0..rounds {
        for _ in 0..floor_per_round {
            pace(start, tick, every);
            floor_ms.push(floor.one(tick));
            tick += 1;
        }
        for _ in 0..per_round {
            pace(start, tick, every);
            let t_submit = now_ns();
            let id = local.submit(spec.clone()).unwrap().id;
            submitted.push((id, t_submit, now_ns()));
            tick += 1;
        }
    }
    let done = env.queue_dir("_completed");
    let last = submitted.last().map(|s| s.0.clone()).unwrap_or_default();
    wait_until("the last job", 60, Duration::from_millis(5), || done.join(format!("{last}.json")).exists());
    worker.terminate();

    let (mut from_submit, mut from_ack, mut submit_ms) = (Vec::new(), Vec::new(), Vec::new());
    for (id, t_submit, t_ack) in &submitted {
        let events = ctl::events::read_all(&local.home.events_path(id)).unwrap();
        let Some(started) = events.iter().find(|e| e.body.kind() == "started").map(|e| e.ts.as_nanosecond())
        else {
            panic!("job {id} has no started event: {events:?}");
        };
        let ms = |a: i128, b: i128| (b - a) as f64 / 1e6;
        from_submit.push(ms(*t_submit, started));
        from_ack.push(ms(*t_ack, started));
        submit_ms.push(ms(*t_submit, *t_ack));
    }
    let p = |v: &[f64], q| percentile(v, q);
    report.metric(keys.p50, p(&from_submit, 0.5), Target::AtMost(1.0));
    report.metric(keys.p99, p(&from_submit, 0.99), Target::AtMost(10.0));
    let n = submitted.len();
    report.row(Row {
        key: Some(keys.p50),
        what: format!(
            "submit → `started`: wall clock just before `Local::submit` (the code behind `ctl submit`) to the `ts` of the worker's `started` event; {} jobs at {per_s}/s{}",
            num(n as f64),
            keys.note
        ),
        ctl: format!("{} ms", num(p(&from_submit, 0.5))),
        baseline: format!("{} ms (durable publish → inotify → rename claim → log line)", num(p(&floor_ms, 0.5))),
        notes: format!(
            "the submit call took {} ms; from submit's return: {} ms",
            num(p(&submit_ms, 0.5)),
            num(p(&from_ack, 0.5))
        ),
    });
    report.row(Row {
        key: Some(keys.p99),
        what: format!("the same, 99th percentile{}", keys.note),
        ctl: format!("{} ms", num(p(&from_submit, 0.99))),
        baseline: format!("{} ms", num(p(&floor_ms, 0.99))),
        notes: format!(
            "the submit call: {} ms; from submit's return: {} ms; max {} ms",
            num(p(&submit_ms, 0.99)),
            num(p(&from_ack, 0.99)),
            num(p(&from_submit, 1.0))
        ),
    });
    report.detail(
        keys.detail,
        json!({
            "jobs": n, "per_s": per_s, "rounds": rounds,
            "from_submit_ms": { "p50": p(&from_submit, 0.5), "p90": p(&from_submit, 0.9), "p99": p(&from_submit, 0.99), "max": p(&from_submit, 1.0) },
            "submit_call_ms": { "p50": p(&submit_ms, 0.5), "p99": p(&submit_ms, 0.99) },
            "from_submit_return_ms": { "p50": p(&from_ack, 0.5), "p99": p(&from_ack, 0.99) },
            "floor_ms": { "n": floor_ms.len(), "p50": p(&floor_ms, 0.5), "p99": p(&floor_ms, 0.99) },
        }),
    );
    p(&from_submit, 0.5)
}
