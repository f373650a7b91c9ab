//! Recovery: a worker starting on a data directory where a SIGKILLed
//! worker left 10,000 jobs in `_active`, until its first claim (the first
//! `started` event it writes), against the bare renames any recovery needs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ctl::api::{EventBody, JOB_SCHEMA_VERSION, Job, Message, Role};
use ctl::events::EventWriter;
use ctl::home::Home;
use ctl::queue::{Dir, Queue, new_id, sync_dir};
use serde_json::json;

use crate::report::{Report, Row, Target, num};
use crate::util::{Env, median, now_ns, scratch, wait_until};

/// What a worker killed with SIGKILL while it ran `n` jobs leaves behind:
/// their files in `_active`, their logs ending in `started`, its lock file
/// (which nobody holds any more) and its claims directory. Returns the dead
/// worker's id.
fn killed_worker_state(home: &Path, n: usize) -> String {
    let home = Home::open(home).unwrap();
    let queue = Queue::new(home.clone());
    let dead = new_id();
    let workers = home.workers_dir();
    std::fs::write(workers.join(format!("{dead}.lock")), "pid 4194304\n").unwrap();
    let claims = workers.join(format!("{dead}.claims"));
    std::fs::create_dir_all(&claims).unwrap();
    for _ in 0..n {
        let mut params = ctl::api::Params::new();
        params.insert("max_tokens".into(), 1.into());
        let job = Job {
            rag: None,
            v: JOB_SCHEMA_VERSION,
            id: new_id(),
            created_at: jiff::Timestamp::now(),
            model: "bench:bench".into(),
            messages: vec![Message::new(Role::User, "recover me")],
            params,
            priority: 0,
            max_attempts: 3,
            traceparent: None,
            session_id: None,
            parent_id: None,
            skills: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
            allow_egress_after_private: false,
            tool_results_from: None,
            client_tools: Vec::new(),
            client: None,
        };
        let mut log = EventWriter::open(&home.events_path(&job.id)).unwrap();
        log.append(EventBody::Queued { attempts: 0, reason: None }).unwrap();
        log.append(EventBody::Started { attempt: 1, worker: dead.clone(), model: job.model.clone() })
            .unwrap();
        std::fs::write(claims.join(&job.id), b"").unwrap();
        std::fs::write(queue.path(Dir::Active, &job.id), serde_json::to_vec_pretty(&job).unwrap()).unwrap();
    }
    dead
}

/// Flushes the filesystem, so the state is on disk (as after a restart)
/// and its writeback does not land inside the measurement.
fn flush(dir: &Path) {
    let _ = Command::new("sync").arg("-f").arg(dir).status();
}

/// ms from spawning `ctl worker` to the first `started` event it writes.
fn ctl_round(url: &str, n: usize) -> f64 {
    let env = Env::new(url, "bench", "");
    let dead = killed_worker_state(&env.home, n);
    let local = env.local();
    flush(&env.home);
    let t_spawn = now_ns();
    let worker = env.spawn_worker(&[]);
    // `_completed` starts empty, so watching it costs nothing; once a job
    // is there, the first claim is among the jobs that left `_queue`.
    let done = env.queue_dir("_completed");
    wait_until("the first recovered job to complete", 120, Duration::from_millis(1), || {
        std::fs::read_dir(&done).is_ok_and(|mut d| d.next().is_some())
    });
    let mut first = i128::MAX;
    for dir in [Dir::Completed, Dir::Failed, Dir::Active] {
        for id in local.queue.list(dir).unwrap() {
            for ev in ctl::events::read_all(&local.home.events_path(&id)).unwrap() {
                if matches!(&ev.body, EventBody::Started { worker, .. } if *worker != dead) {
                    first = first.min(ev.ts.as_nanosecond());
                }
            }
        }
    }
    drop(worker);
    assert!(first < i128::MAX, "no started event from the new worker");
    (first - t_spawn) as f64 / 1e6
}

/// The floor: list `n` files in one directory, rename each into another,
/// fsync both, list that one and claim the first name by rename.
fn floor_round(n: usize) -> f64 {
    let dir = scratch();
    let (a, q) = (dir.path().join("a"), dir.path().join("q"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&q).unwrap();
    let body = vec![b'x'; 420];
    for _ in 0..n {
        std::fs::write(a.join(format!("{}.json", new_id())), &body).unwrap();
    }
    flush(dir.path());
    let t0 = std::time::Instant::now();
    let names: Vec<_> = std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name()).collect();
    for name in &names {
        std::fs::rename(a.join(name), q.join(name)).unwrap();
    }
    sync_dir(&q).unwrap();
    sync_dir(&a).unwrap();
    let first = std::fs::read_dir(&q).unwrap().map(|e| e.unwrap().file_name()).min().unwrap();
    std::fs::rename(q.join(&first), a.join(&first)).unwrap();
    t0.elapsed().as_secs_f64() * 1000.0
}

/// `recovery_10k_ms`.
pub fn bench(report: &mut Report, upstream_url: &str, rounds: usize, n: usize) {
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let (c, f) = if r % 2 == 0 {
            let c = ctl_round(upstream_url, n);
            (c, floor_round(n))
        } else {
            let f = floor_round(n);
            (ctl_round(upstream_url, n), f)
        };
        eprintln!("  round {r}: ctl {c:.0} ms, floor {f:.0} ms");
        ours.push(c);
        floor.push(f);
    }
    let ms = median(&ours);
    report.metric("recovery_10k_ms", ms, Target::AtMost(1000.0));
    report.row(Row {
        key: Some("recovery_10k_ms"),
        what: format!(
            "`ctl worker` spawned → its first `started` event, with {} jobs left in `_active` by a SIGKILLed worker",
            num(n as f64)
        ),
        ctl: format!("{} ms", num(ms)),
        baseline: format!(
            "{} ms (in-process: list, {} renames, 2 fsyncs, list, 1 rename)",
            num(median(&floor)),
            num(n as f64)
        ),
        notes: format!("median of {rounds} rounds"),
    });
    report.detail("recovery", json!({ "jobs": n, "ctl_ms": ours, "floor_ms": floor }));
}
