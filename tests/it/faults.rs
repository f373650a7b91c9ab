//! The fault suite: many SIGKILLs at random moments, disk errors on every
//! path a job takes, and SQLite under several writers at once.

use std::time::{Duration, Instant};

use crate::helper::Env;

/// A small xorshift so the kill schedule differs run to run but a failing
/// seed can be replayed (`CTL_SOAK_SEED`).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn kill9_soak_500_jobs_two_workers_every_job_completes_once() {
    let seed = std::env::var("CTL_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("soak seed {seed} (set CTL_SOAK_SEED to replay)");
    let mut rng = Rng(seed);
    let mut env = Env::new();
    // A requeued job is the oldest, so the next claim takes it again: with
    // a kill every few dozen milliseconds the same job can die three times,
    // and the poison-job guard (max_attempts) would rightly fail it. That
    // guard has its own test; here every kill must only cost a rerun.
    env.set("CTL_WORKER__MAX_ATTEMPTS", "1000");
    // Jobs of mixed length, so kills land before, during and after streams.
    let mut ids = Vec::new();
    for i in 0..500 {
        let tokens = [1, 3, 8, 30][i % 4].to_string();
        ids.push(env.submit(&format!("soak {i}"), &["-p", &format!("max_tokens={tokens}")]));
    }
    let mut workers = vec![env.worker(&[]), env.worker(&[])];
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    while env.ids_in("_completed").len() < ids.len() {
        assert!(
            Instant::now() < deadline && env.ids_in("_failed").is_empty(),
            "soak stuck (seed {seed}): {} completed, {} queued, {} active, failed: {:?}",
            env.ids_in("_completed").len(),
            env.ids_in("_queue").len(),
            env.ids_in("_active").len(),
            env.ids_in("_failed").iter().map(|id| env.show(id)["error"].clone()).collect::<Vec<_>>()
        );
        if kills < 25 {
            std::thread::sleep(Duration::from_millis(20 + rng.below(180)));
            let victim = rng.below(2) as usize;
            workers[victim].kill9();
            kills += 1;
            workers[victim] = env.worker(&[]);
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(kills >= 20, "only {kills} kills before the queue drained (seed {seed})");
    drop(workers);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(env.ids_in("_completed"), sorted, "seed {seed}");
    for dir in ["_queue", "_active", "_failed", "_corrupt"] {
        assert!(env.ids_in(dir).is_empty(), "{dir} not empty (seed {seed})");
    }
    let mut reruns = 0;
    for id in &ids {
        let events = env.events(id);
        let terminals: Vec<&str> = events
            .iter()
            .filter_map(|e| e["type"].as_str())
            .filter(|t| matches!(*t, "done" | "failed" | "cancelled"))
            .collect();
        assert_eq!(terminals, ["done"], "{id} (seed {seed}): {events:?}");
        assert_eq!(events.last().unwrap()["type"], "done", "{id}: the terminal event is the last");
        reruns += events.iter().filter(|e| e["type"] == "started").count() - 1;
    }
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["jobs", "--json", "--limit", "1000", "--state", "completed"]))
            .unwrap();
    assert_eq!(records.len(), 500, "exactly one completion record per job");
    eprintln!("{kills} kills, {reruns} attempts rerun after a kill");
}

/// strace's fault injection aimed at the files of one step.
fn strace_ctl(env: &Env, inject: &[&str], args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new("strace");
    c.args(["-f", "-o", "/dev/null", "-e", "quiet=all"]);
    for a in inject {
        c.arg(a);
    }
    c.arg(env!("CARGO_BIN_EXE_ctl")).args(args).env("CTL_HOME", &env.home).env("CTL_CONFIG", &env.config);
    c.output().unwrap()
}

#[test]
fn a_failing_publish_rename_publishes_nothing() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    env.ok(&["jobs"]);
    let prompt = env.dir.path().join("p.txt");
    std::fs::write(&prompt, "hi").unwrap();
    let p = prompt.to_str().unwrap();
    let tmp = env.queue_dir("_tmp");
    for (errno, want) in [("EIO", "Input/output error"), ("ENOSPC", "No space left on device")] {
        let inject = format!("inject=rename,renameat,renameat2:error={errno}");
        let out = strace_ctl(&env, &["-e", "trace=rename,renameat,renameat2", "-e", &inject], &["submit", p]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{inject}: {err}");
        assert!(err.contains(want) && err.lines().count() == 1, "{inject}: {err}");
        assert!(env.ids_in("_queue").is_empty(), "{inject}: nothing published");
        assert!(std::fs::read_dir(&tmp).unwrap().next().is_none(), "{inject}: no temp file left");
    }
}

/// A `ctl worker -v` under strace whose every rename of `path` fails with
/// EIO (strace cannot stop injecting, so a test replaces it afterwards with
/// a clean worker). Returns the process and its log file.
fn worker_failing_renames_of(
    env: &Env,
    path: &std::path::Path,
    name: &str,
) -> (crate::helper::Group, std::path::PathBuf) {
    let log = env.dir.path().join(format!("{name}.log"));
    let child = crate::helper::Group::spawn(
        std::process::Command::new("strace")
            .args(["-f", "-o", "/dev/null", "-e", "quiet=all", "-P"])
            .arg(path)
            .args([
                "-e",
                "trace=rename,renameat,renameat2",
                "-e",
                "inject=rename,renameat,renameat2:error=EIO",
            ])
            .arg(env!("CARGO_BIN_EXE_ctl"))
            .args(["worker", "-v"])
            .env("CTL_HOME", &env.home)
            .env("CTL_CONFIG", &env.config)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    (child, log)
}

#[test]
fn a_failing_claim_rename_leaves_the_job_queued_and_the_worker_running() {
    let env = Env::new();
    let id = env.submit("claim me", &["-p", "max_tokens=3"]);
    let queued = env.queue_dir("_queue").join(format!("{id}.json"));
    // The first claim attempts fail with EIO; the worker must log, keep the
    // job queued, and keep going. strace can't un-inject, so the worker is
    // replaced by a clean one afterwards.
    let (mut child, log) = worker_failing_renames_of(&env, &queued, "claim");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("Input/output error") {
        assert!(
            Instant::now() < deadline,
            "no claim error logged: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(env.ids_in("_queue"), vec![id.clone()], "still queued");
    assert!(child.child.try_wait().unwrap().is_none(), "the worker keeps running");
    child.kill();
    let _w = env.worker(&[]);
    assert_eq!(env.wait_finished(&id, 30)["state"], "completed");
}

#[test]
fn a_failing_finish_never_reports_completion_and_the_next_start_recovers() {
    let env = Env::new();
    let id = env.submit("finish me", &["-p", "max_tokens=3"]);
    let active = env.queue_dir("_active").join(format!("{id}.json"));
    // Every rename of the active job file fails: the job ran, its `done` is
    // durable, but it cannot be moved to _completed.
    let (mut child, log) = worker_failing_renames_of(&env, &active, "finish");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("cannot finish the job") {
        assert!(
            Instant::now() < deadline,
            "no finish error logged: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(env.ids_in("_completed").is_empty(), "not moved to _completed");
    child.kill();
    // A clean worker finishes the bookkeeping without running it again.
    let _w = env.worker(&[]);
    let v = env.wait_finished(&id, 30);
    assert_eq!(v["state"], "completed");
    assert_eq!(env.ids_in("_completed"), vec![id.clone()]);
    let events = env.events(&id);
    assert_eq!(events.iter().filter(|e| e["type"] == "started").count(), 1, "not run twice");
    assert_eq!(events.iter().filter(|e| e["type"] == "done").count(), 1);
}

/// `ctl serve` and two workers writing to ctl.db at full speed: jobs
/// finishing (workers) while the API creates sessions, messages and
/// tokens. No SQLITE_BUSY may surface, and the file stays sound.
#[test]
fn sqlite_under_a_server_and_two_workers_at_full_speed() {
    let secs: u64 = std::env::var("CTL_FAULT_SQLITE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let env = Env::new();
    let token = env.token("writer");
    let srv = env.serve();
    let w1 = env.worker(&[]);
    let w2 = env.worker(&[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (requests, errors, jobs) = rt.block_on(async {
        ctl::provider::install_crypto();
        let client = reqwest::Client::new();
        let t0 = Instant::now();
        let (mut requests, mut errors, mut jobs) = (0u64, Vec::new(), 0u64);
        while t0.elapsed() < Duration::from_secs(secs) {
            // Keep the workers fed with one-token jobs, without building a
            // backlog they could not drain in time.
            if std::fs::read_dir(env.queue_dir("_queue")).map_or(0, Iterator::count) < 16 {
                let r = client
                    .post(format!("{}/api/v1/jobs", srv.url))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"prompt": "x", "params": {"max_tokens": 1}}))
                    .send()
                    .await
                    .unwrap();
                jobs += 1;
                requests += 1;
                if r.status() != 202 {
                    errors.push(format!("submit: {} {}", r.status(), r.text().await.unwrap_or_default()));
                }
            }
            // And the server writing sessions and tokens beside them.
            let s: serde_json::Value = client
                .post(format!("{}/api/v1/sessions", srv.url))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let r = client
                .patch(format!("{}/api/v1/sessions/{}", srv.url, s["id"].as_str().unwrap()))
                .bearer_auth(&token)
                .json(&serde_json::json!({"title": "busy"}))
                .send()
                .await
                .unwrap();
            requests += 2;
            if r.status() != 204 {
                errors.push(format!("rename: {} {}", r.status(), r.text().await.unwrap_or_default()));
            }
        }
        (requests, errors, jobs)
    });
    assert!(errors.is_empty(), "{errors:?}");
    // Let the workers drain what is queued.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(env.ids_in("_queue").is_empty() && env.ids_in("_active").is_empty()) {
        assert!(Instant::now() < deadline, "queue did not drain");
        std::thread::sleep(Duration::from_millis(50));
    }
    for log in [w1.log_text(), w2.log_text(), srv.proc.log_text()] {
        let lower = log.to_lowercase();
        assert!(!lower.contains("database is locked") && !lower.contains("busy"), "{log}");
        assert!(!lower.contains("error"), "{log}");
    }
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["jobs", "--json", "--limit", "100000", "--state", "completed"]))
            .unwrap();
    assert_eq!(records.len() as u64, jobs, "every job recorded once");
    let conn = rusqlite::Connection::open(env.home.join("ctl.db")).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    eprintln!("{requests} API writes and {jobs} jobs in {secs} s");
}
