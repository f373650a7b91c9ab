//! The durable queue against its physical floor: no-op jobs through a real
//! `ctl worker`, the same job life through the library, and jobs/s against
//! a real model server.

use std::path::Path;
use std::time::{Duration, Instant};

use ctl::api::{EventBody, JobSpec, JobState};
use ctl::events::{EventWriter, Summary};
use ctl::jobs::view_of;
use ctl::queue::{Claim, Dir, WorkerLease, sync_dir};
use serde_json::json;

use crate::report::{Report, Row, Target, num};
use crate::util::{Env, median, scratch, wait_until};

/// A one-token job: the cheapest thing a worker can run.
pub fn noop_spec() -> JobSpec {
    let mut spec = JobSpec { prompt: Some("noop".into()), ..JobSpec::default() };
    spec.params.insert("max_tokens".into(), 1.into());
    spec
}

/// The floor any durable queue pays per job on this disk, in jobs/s: a
/// durable enqueue (write, fsync, rename, fsync dir) and two rename +
/// fsync-dir steps (claim and finish), one job after the other. Also
/// returns the mean ms per job of each step, named by [`BASELINE_STEPS`].
pub fn baseline_round(root: &Path, n: usize) -> (f64, Vec<f64>) {
    let dirs: Vec<_> = ["tmp", "q", "a", "c"].iter().map(|d| root.join(d)).collect();
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
    }
    let body = vec![b'x'; 400];
    let mut steps = Laps::new(BASELINE_STEPS.len());
    let t0 = Instant::now();
    for i in 0..n {
        let name = format!("{i}.json");
        let tmp = dirs[0].join(&name);
        std::fs::write(&tmp, &body).unwrap();
        std::fs::File::open(&tmp).unwrap().sync_all().unwrap();
        std::fs::rename(&tmp, dirs[1].join(&name)).unwrap();
        sync_dir(&dirs[1]).unwrap();
        steps.lap(0);
        std::fs::rename(dirs[1].join(&name), dirs[2].join(&name)).unwrap();
        sync_dir(&dirs[2]).unwrap();
        steps.lap(1);
        std::fs::rename(dirs[2].join(&name), dirs[3].join(&name)).unwrap();
        sync_dir(&dirs[3]).unwrap();
        steps.lap(2);
    }
    (n as f64 / t0.elapsed().as_secs_f64(), steps.mean_ms(n))
}

/// The steps of [`baseline_round`], in order.
const BASELINE_STEPS: [&str; 3] =
    ["enqueue (write, fsync, rename, fsync dir)", "claim (rename, fsync dir)", "finish (rename, fsync dir)"];

/// Jobs/s through a real `ctl worker`: `n` one-token jobs submitted back to
/// back through the library (the code behind `ctl submit`: a durable
/// publish each), from the first submit until the last job file is in
/// `_completed`. The worker is started (and idle) before the clock starts.
/// Returns jobs/s end to end, and jobs/s of the submit loop alone (which
/// runs while the worker works).
pub fn worker_round(env: &Env, n: usize, worker_args: &[&str]) -> (f64, f64) {
    let local = env.local();
    let worker = env.worker(worker_args);
    let spec = noop_spec();
    let t0 = Instant::now();
    let ids: Vec<String> = (0..n).map(|_| local.submit(spec.clone()).unwrap().id).collect();
    let submit_rate = n as f64 / t0.elapsed().as_secs_f64();
    let (done, failed) = (env.queue_dir("_completed"), env.queue_dir("_failed"));
    for id in &ids {
        let name = format!("{id}.json");
        wait_until("jobs to complete", 300, Duration::from_micros(500), || {
            assert!(!failed.join(&name).exists(), "job {id} failed; see {}", env.dir.path().display());
            done.join(&name).exists()
        });
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    worker.terminate();
    (rate, submit_rate)
}

/// The same life of a job through ctl's library, without a worker process
/// or a model call: submit, claim, `started`, durable `done`, SQLite
/// record, durable finish.
/// Also returns the mean ms per job of each step, named by [`LIBRARY_STEPS`].
fn library_round(env: &Env, n: usize) -> (f64, Vec<f64>) {
    let local = env.local();
    let lease = WorkerLease::acquire(&local.home.workers_dir()).unwrap();
    // The filesystem queue itself: this round times its steps one by one.
    let queue = ctl::queue::Queue::new(local.home.clone());
    let spec = noop_spec();
    let mut steps = Laps::new(LIBRARY_STEPS.len());
    let t0 = Instant::now();
    for _ in 0..n {
        let job = local.submit(spec.clone()).unwrap();
        steps.lap(0);
        let Claim::Won(job) = queue.claim(&job.id, &lease).unwrap() else { panic!("lost a claim") };
        steps.lap(1);
        let path = local.home.events_path(&job.id);
        let (mut w, _) = EventWriter::open_job(&path, &job.id, None).unwrap();
        w.append(EventBody::Started { attempt: 1, worker: lease.id().into(), model: job.model.clone() })
            .unwrap();
        steps.lap(2);
        w.append_durable(EventBody::Done { finish_reason: None, tool_calls: Vec::new() }).unwrap();
        w.sync_dir().unwrap();
        steps.lap(3);
        let summary = Summary::from_events(&ctl::events::read_all(&path).unwrap());
        steps.lap(4);
        local.store.record(&view_of(&job, JobState::Completed, &summary)).unwrap();
        steps.lap(5);
        queue.finish(&job.id, Dir::Completed).unwrap();
        steps.lap(6);
        lease.release(&job.id);
        steps.lap(7);
    }
    (n as f64 / t0.elapsed().as_secs_f64(), steps.mean_ms(n))
}

/// The steps of [`library_round`], in order.
const LIBRARY_STEPS: [&str; 8] = [
    "submit (job file written, fsynced, renamed, dir fsynced)",
    "claim (claim recorded, rename, read back)",
    "create log + queued + started",
    "done + fdatasync + events dir fsync",
    "read log back + summary",
    "SQLite record",
    "finish (rename + 2 dir fsyncs)",
    "release intent",
];

/// Time spent in each step of a loop, lap by lap.
struct Laps {
    last: Instant,
    total: Vec<f64>,
}

impl Laps {
    fn new(n: usize) -> Self {
        Self { last: Instant::now(), total: vec![0.0; n] }
    }

    fn lap(&mut self, step: usize) {
        let now = Instant::now();
        self.total[step] += (now - self.last).as_secs_f64();
        self.last = now;
    }

    fn mean_ms(&self, jobs: usize) -> Vec<f64> {
        self.total.iter().map(|s| s * 1000.0 / jobs as f64).collect()
    }
}

/// `queue_durable_ratio`, and the library-path ratio beside it.
pub fn bench(report: &mut Report, upstream_url: &str, rounds: usize, n: usize) {
    let (mut base, mut ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut lib_base, mut lib, mut lib_ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut submit_rates = Vec::new();
    let (mut lib_steps, mut base_steps): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let dir = scratch();
        let env = Env::new(upstream_url, "bench", "");
        // Alternate which side goes first, so a drift in the disk's speed
        // does not always favour the same one.
        let ((b, _), (c, s)) = if r % 2 == 0 {
            (baseline_round(&dir.path().join("base"), n), worker_round(&env, n, &[]))
        } else {
            let c = worker_round(&env, n, &[]);
            (baseline_round(&dir.path().join("base"), n), c)
        };
        submit_rates.push(s);
        eprintln!(
            "  round {r}: worker {c:.0} jobs/s (submit loop {s:.0}/s), baseline {b:.0} jobs/s, ratio {:.2}",
            c / b
        );
        base.push(b);
        ours.push(c);
        ratios.push(c / b);

        let lib_env = Env::new(upstream_url, "bench", "");
        let (lb, bsteps) = baseline_round(&dir.path().join("base2"), n);
        base_steps.push(bsteps);
        let (lc, steps) = library_round(&lib_env, n);
        lib_steps.push(steps);
        lib_base.push(lb);
        lib.push(lc);
        lib_ratios.push(lc / lb);
    }
    let ratio = median(&ratios);
    report.metric("queue_durable_ratio", ratio, Target::AtLeast(0.7));
    report.row(Row {
        key: Some("queue_durable_ratio"),
        what: "no-op jobs end to end: library submit → real `ctl worker` (default concurrency 2, fast upstream, max_tokens=1) → `_completed`".into(),
        ctl: format!("{} jobs/s", num(median(&ours))),
        baseline: format!("{} jobs/s (enqueue + 2 rename-and-fsync steps)", num(median(&base))),
        notes: format!(
            "ratio {ratio:.2}: median of {rounds} per-round ratios, {} jobs each; the submit loop alone ran at {} jobs/s",
            num(n as f64),
            num(median(&submit_rates))
        ),
    });
    let lib_ratio = median(&lib_ratios);
    report.row(Row {
        key: None,
        what: "the same job life through the library, one job at a time, no worker process or model call"
            .into(),
        ctl: format!("{} jobs/s", num(median(&lib))),
        baseline: format!("{} jobs/s", num(median(&lib_base))),
        notes: format!("ratio {lib_ratio:.2} (median of {rounds} rounds of {})", num(n as f64)),
    });
    // Per step: the median over rounds of the mean ms per job.
    let step_ms = |names: &[&str], rounds: &[Vec<f64>]| -> serde_json::Map<String, serde_json::Value> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let per_round: Vec<f64> = rounds.iter().map(|s| s[i]).collect();
                ((*name).to_owned(), json!(median(&per_round)))
            })
            .collect()
    };
    report.detail(
        "queue_durable",
        json!({
            "jobs_per_round": n, "worker_jobs_per_s": ours, "submit_loop_jobs_per_s": submit_rates, "baseline_jobs_per_s": base, "ratios": ratios,
            "library_jobs_per_s": lib, "library_baseline_jobs_per_s": lib_base, "library_ratios": lib_ratios,
            "library_ratio": lib_ratio, "library_step_ms": step_ms(&LIBRARY_STEPS, &lib_steps),
            "library_baseline_step_ms": step_ms(&BASELINE_STEPS, &base_steps),
        }),
    );
}

/// Jobs/s through `ctl worker --concurrency 4` against a real model server.
pub fn bench_llm(report: &mut Report, url: &str, model: &str, n: usize) {
    let env = Env::new(url, model, "");
    let (rate, _) = worker_round(&env, n, &["--concurrency", "4"]);
    report.row(Row {
        key: None,
        what: format!(
            "end to end through `ctl worker --concurrency 4` against the model server at `CTL_BENCH_LLM_URL` (model `{model}`, max_tokens=1)"
        ),
        ctl: format!("{} jobs/s", num(rate)),
        baseline: String::new(),
        notes: format!("{n} jobs, first submit to last completed"),
    });
    report.detail("llm_worker", json!({ "url": url, "jobs": n, "jobs_per_s": rate }));
}
