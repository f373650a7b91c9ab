//! Crash and fault tests: workers killed with SIGKILL at chosen moments,
//! workers racing, poison jobs, garbage files and a disk that fails.
//!
//! The worker's `CTL_TEST_PAUSE_AT` hook (debug builds) stops it at an exact
//! point and writes `<home>/paused-<point>`; the test then kills it for real.

use std::time::{Duration, Instant};

use crate::helper::Env;

/// Kills a worker at `point`, restarts one, and checks the job ends
/// completed exactly once with nothing left behind.
fn killed_at(point: &str) {
    let env = Env::new();
    let id = env.submit("crash me", &["-p", "max_tokens=20"]);
    let mut w = env.worker(&[("CTL_TEST_PAUSE_AT", point)]);
    let marker = env.home.join(format!("paused-{point}"));
    assert_eq!(Env::wait_file(&marker, 30), id);
    w.kill9();
    assert_eq!(env.ids_in("_active"), vec![id.clone()], "the job is stranded in _active");
    std::fs::remove_file(&marker).unwrap();

    let _w2 = env.worker(&[]);
    let v = env.wait_finished(&id, 60);
    assert_eq!(v["state"], "completed", "{v}");
    assert_eq!(env.ids_in("_completed"), vec![id.clone()]);
    assert!(env.ids_in("_active").is_empty() && env.ids_in("_queue").is_empty());
    let events = env.events(&id);
    let terminals =
        events.iter().filter(|e| matches!(e["type"].as_str(), Some("done" | "failed" | "cancelled"))).count();
    assert_eq!(terminals, 1, "exactly one terminal event: {events:?}");
    assert_eq!(events.last().unwrap()["type"], "done");
    let out = env.ok(&["jobs", "--json", "--state", "completed"]);
    let records: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(records.len(), 1, "exactly one completion record");
}

#[test]
fn kill9_after_claim() {
    killed_at("after_claim");
}

#[test]
fn kill9_mid_stream() {
    killed_at("mid_stream");
}

#[test]
fn kill9_between_result_and_final_rename() {
    killed_at("before_finish");
}

#[test]
fn two_workers_racing_complete_every_job_once() {
    let env = Env::new();
    let ids: Vec<String> =
        (0..30).map(|i| env.submit(&format!("job {i}"), &["-p", "max_tokens=3"])).collect();
    let _a = env.worker(&[]);
    let _b = env.worker(&[]);
    for id in &ids {
        assert_eq!(env.wait_finished(id, 120)["state"], "completed");
    }
    assert_eq!(env.ids_in("_completed"), {
        let mut s = ids.clone();
        s.sort();
        s
    });
    let mut workers = std::collections::HashSet::new();
    for id in &ids {
        let started: Vec<_> = env.events(id).into_iter().filter(|e| e["type"] == "started").collect();
        assert_eq!(started.len(), 1, "{id} ran once");
        workers.insert(started[0]["data"]["worker"].as_str().unwrap().to_owned());
    }
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["jobs", "--json", "--limit", "100"])).unwrap();
    assert_eq!(records.len(), 30);
    assert_eq!(workers.len(), 2, "both workers took jobs");
}

#[test]
fn a_job_that_kills_its_worker_every_time_is_failed_after_max_attempts() {
    let env = Env::new();
    let id = env.submit("poison", &["-p", "max_tokens=20"]);
    let marker = env.home.join("paused-mid_stream");
    for round in 1..=3 {
        let mut w = env.worker(&[("CTL_TEST_PAUSE_AT", "mid_stream")]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !marker.exists() {
            assert!(
                Instant::now() < deadline,
                "round {round}: the worker never paused.\nworker log:\n{}\nevents: {:?}\nqueue: {:?} {:?}",
                w.log_text(),
                env.events(&id),
                env.ids_in("_queue"),
                env.ids_in("_active")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        w.kill9();
        std::fs::remove_file(&marker).unwrap();
        let started = env.events(&id).iter().filter(|e| e["type"] == "started").count();
        assert_eq!(started, round);
    }
    let _w = env.worker(&[]);
    let v = env.wait_finished(&id, 30);
    assert_eq!(v["state"], "failed");
    assert!(v["error"].as_str().unwrap().contains("gave up after 3 attempts"), "{v}");
    assert_eq!(env.ids_in("_failed"), vec![id]);
}

#[test]
fn an_unreachable_backend_is_retried_then_failed() {
    let port = crate::helper::llm::free_port();
    let env = Env::with_provider_url(&format!("http://127.0.0.1:{port}/v1"));
    let id = env.submit("nobody home", &[]);
    let _w = env.worker(&[]);
    let v = env.wait_finished(&id, 30);
    assert_eq!(v["state"], "failed");
    assert_eq!(v["attempts"], 3);
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("gave up after 3 attempts") && err.contains("cannot connect"), "{err}");
    let retries = env.events(&id).iter().filter(|e| e["type"] == "queued").count();
    assert_eq!(retries, 3, "the submit plus two retries");
    // The tail of a failed job exits 1 with the error on stderr.
    let out = env.run(&["tail", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gave up"));
}

#[test]
fn garbage_goes_to_corrupt_and_the_worker_keeps_going() {
    let env = Env::new();
    let good = env.submit("fine", &["-p", "max_tokens=3"]);
    let q = env.queue_dir("_queue");
    let fake = |n: u8| format!("01JD{n}ZZZZZZZZZZZZZZZZZZZZ{n}");
    std::fs::write(q.join(format!("{}.json", fake(1))), b"").unwrap();
    std::fs::write(q.join(format!("{}.json", fake(2))), b"{\"v\": 1, \"id\": \"01").unwrap();
    std::fs::write(q.join(format!("{}.json", fake(3))), b"not json at all").unwrap();
    std::fs::write(q.join(format!("{}.json", fake(4))), format!("{{\"v\": 9, \"id\": \"{}\"}}", fake(4)))
        .unwrap();
    std::fs::write(q.join("README.txt"), b"stray").unwrap();
    let _w = env.worker(&[]);
    assert_eq!(env.wait_finished(&good, 30)["state"], "completed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&q).unwrap().count() > 0 {
        assert!(Instant::now() < deadline, "garbage left in _queue");
        std::thread::sleep(Duration::from_millis(50));
    }
    let reason = |name: &str| {
        std::fs::read_to_string(env.queue_dir("_corrupt").join(format!("{name}.reason"))).unwrap()
    };
    assert!(reason(&format!("{}.json", fake(1))).contains("empty file"));
    assert!(reason(&format!("{}.json", fake(2))).contains("truncated JSON"));
    assert!(reason(&format!("{}.json", fake(3))).contains("invalid JSON"));
    assert!(reason(&format!("{}.json", fake(4))).contains("unknown schema version 9"));
    assert!(reason("README.txt").contains("not a job file name"));
    // The worker is still alive and still takes jobs.
    let next = env.submit("still here", &["-p", "max_tokens=3"]);
    assert_eq!(env.wait_finished(&next, 30)["state"], "completed");
}

/// strace's fault injection, when strace is installed.
fn strace() -> bool {
    let ok = std::process::Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success());
    assert!(ok || std::env::var_os("CI").is_none(), "strace is required in CI");
    ok
}

#[test]
fn a_failing_fsync_on_submit_publishes_nothing() {
    if !strace() {
        return;
    }
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    // Create the data directory and database first: the fault is aimed at
    // the job file.
    env.ok(&["jobs"]);
    let prompt = env.dir.path().join("p.txt");
    std::fs::write(&prompt, "hi").unwrap();
    let bin = env!("CARGO_BIN_EXE_ctl");
    for errno in ["ENOSPC", "EIO"] {
        let mut c = std::process::Command::new("strace");
        c.args(["-f", "-o", "/dev/null", "-e", "trace=fsync", "-e"])
            .arg(format!("inject=fsync:error={errno}"))
            .arg(bin)
            .arg("submit")
            .arg(&prompt)
            .env("CTL_HOME", &env.home)
            .env("CTL_CONFIG", &env.config);
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        let want = if errno == "ENOSPC" { "No space left on device" } else { "Input/output error" };
        assert!(err.contains("cannot write job file") && err.contains(want), "{err}");
        assert!(env.ids_in("_queue").is_empty(), "nothing published");
        assert!(std::fs::read_dir(env.queue_dir("_tmp")).unwrap().next().is_none(), "no temp file left");
    }
    // The next submit, on a healthy disk, works.
    env.submit("hi", &[]);
    assert_eq!(env.ids_in("_queue").len(), 1);
}

#[test]
fn a_full_disk_under_the_event_log_never_marks_a_job_completed() {
    if !strace() {
        return;
    }
    let env = Env::new();
    // strace counts injections per thread, so each thread of the worker
    // that writes the log (the one that claims the job and writes its
    // `started` event, the runtime's threads that stream tokens) gets its
    // first two writes through: the worker can start the job a few times
    // before its writes all fail, and each start is an attempt. Enough
    // attempts that the job is still there to complete once the disk has
    // room; the config's `[worker]` table is last.
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str("max_attempts = 20\n");
    std::fs::write(&env.config, config).unwrap();
    let id = env.submit("disk full", &["-p", "max_tokens=20"]);
    let log = env.home.join("events").join(format!("{id}.ndjson"));
    // Every write to this job's log after each worker thread's first two fails.
    let mut c = std::process::Command::new("strace");
    c.args(["-f", "-o", "/dev/null", "-P"])
        .arg(&log)
        .args(["-e", "trace=write", "-e", "inject=write:error=ENOSPC:when=3+"])
        .arg(env!("CARGO_BIN_EXE_ctl"))
        .args(["worker", "-v"])
        .env("CTL_HOME", &env.home)
        .env("CTL_CONFIG", &env.config)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(env.dir.path().join("strace-worker.log")).unwrap());
    let mut child = crate::helper::Group::spawn(&mut c);
    let log_path = env.dir.path().join("strace-worker.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log_path).unwrap_or_default().contains("No space left on device") {
        assert!(
            Instant::now() < deadline,
            "no disk error logged:\n{}",
            std::fs::read_to_string(&log_path).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give the worker time to retry and fail again: it must never complete.
    std::thread::sleep(Duration::from_secs(1));
    let v = env.show(&id);
    assert_ne!(v["state"], "completed", "{v}");
    assert!(env.ids_in("_completed").is_empty());
    child.kill();
    // With room on the disk again, a fresh worker completes it, once.
    let _w = env.worker(&[]);
    let v = env.wait_finished(&id, 60);
    assert_eq!(v["state"], "completed");
    let done = env.events(&id).iter().filter(|e| e["type"] == "done").count();
    assert_eq!(done, 1);
}
