//! The PostgreSQL backend end to end: real `ctl` processes, each with a
//! data directory of its own (as on separate hosts), sharing one database.
//! Run when `CTL_TEST_DATABASE_URL` is set (CI sets it).

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helper::pg::{Cluster, Schema, base_url};
use crate::helper::{Env, Server, client};

/// An installation ("host") on the shared database.
fn host(schema: &Schema) -> Env {
    host_with_lease(schema, 5.0)
}

/// A host whose workers' leases last `secs` without a heartbeat (they
/// heartbeat every 0.5 s: the helper's `rescan_secs`).
fn host_with_lease(schema: &Schema, secs: f64) -> Env {
    let mut env = Env::new();
    env.configure(&format!("[backend]\nkind = \"postgres\"\nlease_secs = {secs}\n"));
    env.set("CTL_DATABASE_URL", &schema.url());
    env
}

/// Waits until `cond` holds (or panics after `secs`, saying `what`).
fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "{what} did not happen in {secs}s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A job's events as written so far, straight from the database.
fn events(schema: &Schema, id: &str) -> Vec<Value> {
    let text = schema.text(&format!(
        "SELECT string_agg(lines, '' ORDER BY first_seq) FROM {}.ctl_events WHERE job_id = '{id}'",
        schema.name
    ));
    text.unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// One `done` and one record, `seq` gapless: the job completed exactly once.
fn completed_once(env: &Env, schema: &Schema, id: &str) -> Vec<Value> {
    let v = env.wait_finished(id, 120);
    assert_eq!(v["state"], "completed", "{v}");
    let evs = events(schema, id);
    let seqs: Vec<u64> = evs.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..evs.len() as u64).collect::<Vec<_>>(), "gapless seq: {evs:?}");
    assert_eq!(evs.iter().filter(|e| e["type"] == "done").count(), 1, "one terminal event: {evs:?}");
    assert_eq!(evs.iter().filter(|e| e["type"] == "failed" || e["type"] == "cancelled").count(), 0);
    let n = schema.text(&format!("SELECT count(*)::text FROM {}.ctl_jobs WHERE id = '{id}'", schema.name));
    assert_eq!(n.as_deref(), Some("1"), "one record");
    evs
}

/// Reads a job's SSE stream from `srv`, after `last` when given, until
/// `stop` events were read or the stream ends: `(seq, type, token text)`.
async fn sse(
    srv: &Server,
    token: &str,
    id: &str,
    last: Option<u64>,
    stop: usize,
) -> Vec<(u64, String, String)> {
    let mut req = client().get(format!("{}/api/v1/jobs/{id}/events", srv.url)).bearer_auth(token);
    if let Some(last) = last {
        req = req.header("Last-Event-ID", last.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream().eventsource();
    while out.len() < stop {
        let Some(ev) = tokio::time::timeout(Duration::from_secs(60), stream.next()).await.unwrap() else {
            break;
        };
        let ev = ev.unwrap();
        let data: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(ev.id, data["seq"].to_string(), "SSE id is the seq");
        let text = data["data"]["text"].as_str().unwrap_or_default().to_owned();
        out.push((data["seq"].as_u64().unwrap(), ev.event, text));
    }
    out
}

#[test]
fn two_hosts_on_one_database_run_every_job_once_and_sse_moves_between_servers() {
    let Some(schema) = Schema::new() else { return };
    let (a, b) = (host(&schema), host(&schema));
    let _workers = (a.worker(&[]), b.worker(&[]));
    let (sa, sb) = (a.serve(), b.serve());
    // A token made on one host works on the other: the records are shared.
    let token = a.token("two-hosts");

    let ids: Vec<String> =
        (0..8).map(|i| b.submit(&format!("Count to {i}."), &["--param", "max_tokens=60"])).collect();
    for id in &ids {
        let v = a.wait_finished(id, 90);
        assert_eq!(v["state"], "completed", "{v}");
        assert!(v["attempts"] == 1, "{v}");
    }
    let workers: std::collections::BTreeSet<String> =
        ids.iter().map(|id| b.show(id)["worker"].as_str().unwrap().to_owned()).collect();
    assert!(!workers.is_empty());

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for id in &ids {
            // The whole log from one server, then a client that read part of
            // it from the other server resumes on this one.
            let whole = sse(&sa, &token, id, None, usize::MAX).await;
            let seqs: Vec<u64> = whole.iter().map(|e| e.0).collect();
            assert_eq!(seqs, (0..whole.len() as u64).collect::<Vec<_>>(), "gapless seq");
            assert_eq!(whole.iter().filter(|e| e.1 == "done").count(), 1);
            let cut = whole.len() / 2;
            let first = sse(&sb, &token, id, None, cut).await;
            let last_seen = first.last().unwrap().0;
            let rest = sse(&sa, &token, id, Some(last_seen), usize::MAX).await;
            let mut joined = first;
            joined.extend(rest);
            assert_eq!(joined, whole, "nothing lost or repeated when the stream moves");
        }
    });
    let n = schema.text(&format!("SELECT count(*)::text FROM {}.ctl_jobs", schema.name)).unwrap();
    assert_eq!(n, ids.len().to_string(), "one record per job");
}

#[test]
fn a_live_stream_follows_a_worker_on_another_host() {
    let Some(schema) = Schema::new() else { return };
    let (a, b) = (host(&schema), host(&schema));
    let sb = b.serve();
    let token = b.token("live");
    // The job is queued before any worker runs: the stream starts with the
    // implied `queued` event and follows the run live.
    let id = b.submit("Tell a long story.", &["--param", "max_tokens=120"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let events = rt.block_on(async {
        let reader = tokio::spawn({
            let (url, token, id) = (sb.url.clone(), token.clone(), id.clone());
            async move {
                let srv_url = url;
                let req = client().get(format!("{srv_url}/api/v1/jobs/{id}/events")).bearer_auth(&token);
                let resp = req.send().await.unwrap();
                let mut stream = resp.bytes_stream().eventsource();
                let mut out = Vec::new();
                while let Some(ev) =
                    tokio::time::timeout(Duration::from_secs(60), stream.next()).await.unwrap()
                {
                    let ev = ev.unwrap();
                    let data: Value = serde_json::from_str(&ev.data).unwrap();
                    out.push((data["seq"].as_u64().unwrap(), ev.event));
                }
                out
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let worker = a.worker(&[]);
        let events = reader.await.unwrap();
        drop(worker);
        events
    });
    assert_eq!(events.first().map(|e| e.1.as_str()), Some("queued"));
    assert_eq!(events.last().map(|e| e.1.as_str()), Some("done"), "{events:?}");
    let seqs: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
    assert!(events.iter().filter(|e| e.1 == "token").count() > 1);
}

#[test]
fn migrate_is_safe_from_many_processes_at_once_and_doctor_checks_the_database() {
    let Some(schema) = Schema::new() else { return };
    let env = host(&schema);
    let runs: Vec<_> = (0..4).map(|_| env.cmd().arg("migrate").spawn().unwrap()).collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    assert_eq!(env.ok(&["migrate"]).trim(), "schema version 2: up to date");
    let version = schema.text(&format!("SELECT version::text FROM {}.ctl_schema", schema.name));
    assert_eq!(version.as_deref(), Some("2"));

    let out = env.run(&["doctor", "--json"]);
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for name in ["postgres", "schema", "clock skew"] {
        let check =
            checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}: {checks:?}"));
        assert_eq!(check["ok"], true, "{check}");
    }

    // A database without the schema is named as such.
    schema.sql(&format!("UPDATE {}.ctl_schema SET version = 0", schema.name));
    let out = env.run(&["doctor", "--json"]);
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let check = checks.iter().find(|c| c["name"] == "schema").unwrap();
    assert_eq!(check["ok"], false);
    assert!(check["detail"].as_str().unwrap().contains("ctl migrate"), "{check}");
}

#[test]
fn a_worker_stopped_past_its_lease_is_fenced_and_the_job_completes_once_elsewhere() {
    let Some(schema) = Schema::new() else { return };
    let env = host_with_lease(&schema, 2.0);
    let id = env.submit("Write a long answer.", &["--param", "max_tokens=80"]);
    let mut slow = env.worker(&[("CTL_TEST_TOKEN_DELAY_MS", "50")]);
    wait_until("the slow worker streaming", 60, || {
        events(&schema, &id).iter().filter(|e| e["type"] == "token").count() >= 3
    });
    let stopped = env.show(&id)["worker"].as_str().map(str::to_owned);
    let pid = slow.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    // Its lease lapses; another worker requeues the job and runs it.
    let _other = env.worker(&[]);
    let evs = completed_once(&env, &schema, &id);
    let runner = env.show(&id)["worker"].as_str().unwrap().to_owned();
    assert_ne!(Some(runner.as_str()), stopped.as_deref(), "the job was finished by the other worker");
    // The stopped worker wakes up: every write it tries is refused.
    assert!(std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    wait_until("the woken worker to hear its lease is gone", 30, || slow.log_text().contains("lease on job"));
    assert_eq!(events(&schema, &id), evs, "the stale worker changed nothing");
    assert_eq!(env.show(&id)["worker"].as_str(), Some(runner.as_str()));
    slow.kill9();
}

#[test]
fn terminated_database_connections_mid_job_lose_nothing() {
    let Some(schema) = Schema::new() else { return };
    let env = host(&schema);
    let ids: Vec<String> =
        (0..3).map(|i| env.submit(&format!("Story {i}."), &["--param", "max_tokens=60"])).collect();
    let _w = env.worker(&[("CTL_TEST_TOKEN_DELAY_MS", "20")]);
    wait_until("a job streaming", 60, || {
        events(&schema, &ids[0]).iter().filter(|e| e["type"] == "token").count() >= 3
    });
    let mut killed = 0;
    for _ in 0..5 {
        killed += schema.terminate_backends();
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(killed > 0, "no connection was terminated");
    for id in &ids {
        completed_once(&env, &schema, id);
    }
}

#[test]
fn sigkill_soak_on_postgres_completes_every_job_once() {
    let Some(schema) = Schema::new() else { return };
    let mut env = host_with_lease(&schema, 1.0);
    // As in the filesystem soak: a requeued job is the oldest, so the next
    // claim takes it again, and with a kill after every completion the same
    // job can die three times and be failed by the poison-job guard
    // (max_attempts, tested on its own). Here a kill must only cost a rerun.
    env.set("CTL_WORKER__MAX_ATTEMPTS", "1000");
    let jobs = 500;
    let kills = 25;
    let prompt = env.dir.path().join("p.txt");
    std::fs::write(&prompt, "Say one word.").unwrap();
    let ids: Vec<String> = (0..jobs)
        .map(|_| env.ok(&["submit", "--param", "max_tokens=2", prompt.to_str().unwrap()]).trim().to_owned())
        .collect();
    let mut workers = [env.worker(&[]), env.worker(&[])];
    let done = || {
        schema
            .text(&format!("SELECT count(*)::text FROM {}.ctl_queue WHERE state = 'completed'", schema.name))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    for k in 0..kills {
        // Kill one worker while jobs run, then start a fresh one.
        let before = done();
        wait_until("progress between kills", 120, || done() > before || before == jobs);
        workers[k % 2].kill9();
        workers[k % 2] = env.worker(&[]);
    }
    wait_until("every job to complete", 300, || done() == jobs);
    let n = |sql: &str| schema.text(&format!("SELECT ({sql})::text")).unwrap();
    let s = &schema.name;
    assert_eq!(n(&format!("SELECT count(*) FROM {s}.ctl_jobs WHERE state = 'completed'")), jobs.to_string());
    assert_eq!(n(&format!("SELECT count(*) FROM {s}.ctl_jobs")), jobs.to_string(), "one record per job");
    // One terminal event per job, and gapless seqs, straight from the rows.
    let terminals = n(&format!(
        "SELECT count(*) FROM {s}.ctl_events e, regexp_split_to_table(e.lines, E'\\n') AS line
         WHERE line LIKE '%\"type\":\"done\"%' OR line LIKE '%\"type\":\"failed\"%'
            OR line LIKE '%\"type\":\"cancelled\"%'"
    ));
    assert_eq!(terminals, jobs.to_string(), "one terminal event per job");
    let gaps = n(&format!(
        "SELECT count(*) FROM (SELECT job_id, first_seq, lag(last_seq) OVER (PARTITION BY job_id ORDER BY first_seq) AS prev
         FROM {s}.ctl_events) x WHERE (prev IS NULL AND first_seq <> 0) OR prev + 1 <> first_seq"
    ));
    assert_eq!(gaps, "0", "no gap or overlap in any job's seq");
    drop(ids);
}

#[test]
fn event_rows_of_jobs_older_than_keep_events_days_are_deleted() {
    let Some(schema) = Schema::new() else { return };
    let mut env = Env::without_model();
    env.configure("[backend]\nkind = \"postgres\"\nkeep_events_days = 7\n");
    env.set("CTL_DATABASE_URL", &schema.url());
    let old = env.submit("old", &[]);
    let new = env.submit("new", &[]);
    for id in [&old, &new] {
        env.ok(&["cancel", id]);
    }
    assert_eq!(events(&schema, &old).len(), 2);
    schema.sql(&format!(
        "UPDATE {}.ctl_queue SET finished_at = now() - interval '8 days' WHERE id = '{old}'",
        schema.name
    ));
    // A worker's upkeep, on start, deletes the old job's rows only.
    let w = env.worker(&[]);
    wait_until("the old job's events to go", 30, || events(&schema, &old).is_empty());
    assert_eq!(events(&schema, &new).len(), 2, "a recent job keeps its events");
    assert!(w.log_text().contains("deleted event rows of old jobs"), "{}", w.log_text());
    assert_eq!(env.show(&old)["state"], "cancelled", "the record stays");
}

/// Follows a job's SSE stream to its end as a browser's EventSource does:
/// when the stream breaks, it reconnects with `Last-Event-ID`.
async fn sse_reconnecting(base: &str, token: &str, id: &str) -> (Vec<(u64, String, String)>, usize) {
    let mut out: Vec<(u64, String, String)> = Vec::new();
    let mut reconnects = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while out.last().is_none_or(|e| e.1 != "done") {
        assert!(std::time::Instant::now() < deadline, "the stream did not reach done: {out:?}");
        let mut req = client().get(format!("{base}/api/v1/jobs/{id}/events")).bearer_auth(token);
        if let Some(last) = out.last() {
            req = req.header("Last-Event-ID", last.0.to_string());
        }
        let resp = match req.send().await {
            Ok(r) if r.status() == 200 => r,
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                reconnects += 1;
                continue;
            }
        };
        let mut stream = resp.bytes_stream().eventsource();
        while let Ok(Some(Ok(ev))) = tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
            let data: Value = serde_json::from_str(&ev.data).unwrap();
            let text = data["data"]["text"].as_str().unwrap_or_default().to_owned();
            out.push((data["seq"].as_u64().unwrap(), ev.event, text));
        }
        if out.last().is_none_or(|e| e.1 != "done") {
            reconnects += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    (out, reconnects)
}

#[test]
fn postgresql_restarted_mid_run_loses_nothing_and_the_processes_carry_on() {
    if base_url().is_none() {
        eprintln!("CTL_TEST_DATABASE_URL is not set: this PostgreSQL test did not run");
        return;
    }
    // A server of the test's own: the shared one stays up for the others.
    let pg = Cluster::start();
    let schema = Schema::on(pg.url());
    let env = host(&schema);
    let srv = env.serve();
    let token = env.token("restart");
    let ids: Vec<String> =
        (0..3).map(|i| env.submit(&format!("Story {i}."), &["--param", "max_tokens=80"])).collect();
    let mut worker = env.worker(&[("CTL_TEST_TOKEN_DELAY_MS", "25")]);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let follower = {
        let (url, token, id) = (srv.url.clone(), token.clone(), ids[0].clone());
        rt.spawn(async move { sse_reconnecting(&url, &token, &id).await })
    };
    wait_until("a job streaming", 60, || {
        events(&schema, &ids[0]).iter().filter(|e| e["type"] == "token").count() >= 3
    });

    // The database goes away as in a crash (no checkpoint, every
    // connection cut) and comes back a few seconds later.
    pg.crash();
    let prompt = env.dir.path().join("down.txt");
    std::fs::write(&prompt, "While down.").unwrap();
    let down = env.run(&["submit", prompt.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(!down.status.success(), "a submit with the database down must fail");
    assert!(err.contains("PostgreSQL"), "one clear line naming the database: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    std::thread::sleep(Duration::from_secs(2));
    pg.start_again();

    for id in &ids {
        completed_once(&env, &schema, id);
    }
    assert!(worker.child.try_wait().unwrap().is_none(), "the worker rode out the restart");
    let (seen, _reconnects) = rt.block_on(follower).unwrap();
    let seqs: Vec<u64> = seen.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (0..seen.len() as u64).collect::<Vec<_>>(), "the stream lost or repeated nothing");
    assert_eq!(seen.iter().filter(|e| e.1 == "done").count(), 1);
    let logged = events(&schema, &ids[0]);
    assert_eq!(seen.len(), logged.len(), "the client saw the whole log");
    // The server carries on too: a new job after the restart runs and streams.
    let after = env.submit("After.", &["--param", "max_tokens=5"]);
    completed_once(&env, &schema, &after);
    let v = srv.get_json(&token, &format!("/api/v1/jobs/{after}"));
    assert_eq!(v["state"], "completed", "{v}");
}

/// What must read the same wherever a job was moved: its state, output and
/// usage, and its whole event log.
fn same_job(
    a: &Env,
    b: &Env,
    b_events: &dyn Fn(&str) -> Vec<Value>,
    a_events: &dyn Fn(&str) -> Vec<Value>,
    id: &str,
) {
    let (va, vb) = (a.show(id), b.show(id));
    for key in ["state", "output", "model", "attempts", "usage", "worker", "finished_at"] {
        assert_eq!(va[key], vb[key], "{key} of {id}: {va} vs {vb}");
    }
    assert_eq!(a_events(id), b_events(id), "the event log of {id}");
}

#[test]
fn export_moves_a_data_directory_into_postgresql_and_back() {
    let Some(schema) = Schema::new() else { return };
    // A host on files with finished jobs, a chat, an API token and a job
    // still waiting.
    let files = Env::new();
    let token = files.token("moved");
    let done: Vec<String> =
        (0..3).map(|i| files.submit(&format!("Count to {i}."), &["--param", "max_tokens=20"])).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let session = {
        let _w = files.worker(&[]);
        for id in &done {
            assert_eq!(files.wait_finished(id, 60)["state"], "completed");
        }
        let srv = files.serve();
        rt.block_on(async {
            let (status, s) =
                crate::helper::post(&srv, &token, "/api/v1/sessions", json!({"title": "kept"})).await;
            assert!(status.is_success(), "{s}");
            let sid = s["id"].as_str().unwrap().to_owned();
            let (status, m) = crate::helper::post(
                &srv,
                &token,
                &format!("/api/v1/sessions/{sid}/messages"),
                json!({"content": "Hello there.", "params": {"max_tokens": 10}}),
            )
            .await;
            assert!(status.is_success(), "{m}");
            let job = m["job_id"].as_str().unwrap().to_owned();
            files.wait_finished(&job, 60);
            sid
        })
    };
    let waiting = files.submit("Still waiting.", &["--param", "max_tokens=5"]);
    let archive = files.dir.path().join("export.ndjson");
    files.ok(&["export", "-o", archive.to_str().unwrap()]);

    // Into PostgreSQL: everything reads the same there.
    let pg = host(&schema);
    let v: Value = serde_json::from_str(&pg.ok(&["--json", "import", archive.to_str().unwrap()])).unwrap();
    assert_eq!(v["jobs"]["imported"], 5, "{v}");
    assert_eq!(v["rows"]["sessions"]["imported"], 1, "{v}");
    assert_eq!(v["rows"]["tokens"]["imported"], 1, "{v}");
    let pg_events = |id: &str| events(&schema, id);
    let file_events = |id: &str| files.events(id);
    for id in &done {
        same_job(&files, &pg, &pg_events, &file_events, id);
    }
    // The token and the chat came along: the session reads the same
    // through a server on PostgreSQL, with the same token.
    let srv = pg.serve();
    let (a, b) = (files.serve(), &srv);
    let path = format!("/api/v1/sessions/{session}");
    assert_eq!(a.get_json(&token, &path), b.get_json(&token, &path));
    assert_eq!(files.ok(&["--json", "stats"]), pg.ok(&["--json", "stats"]), "the same usage statistics");

    // A second import adds nothing; a cut-off archive loads nothing.
    let again: Value =
        serde_json::from_str(&pg.ok(&["--json", "import", archive.to_str().unwrap()])).unwrap();
    assert_eq!(again["jobs"]["imported"], 0, "{again}");
    assert_eq!(again["jobs"]["existing"], 5, "{again}");
    let text = std::fs::read_to_string(&archive).unwrap();
    let cut = files.dir.path().join("cut.ndjson");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let out = pg.run(&["import", cut.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("nothing was imported"), "{err}");

    // The waiting job runs on PostgreSQL.
    let mut worker = pg.worker(&[]);
    completed_once(&pg, &schema, &waiting);
    let out = pg.run(&["export", "-o", "/dev/null"]);
    assert!(!out.status.success(), "export refuses while a worker runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop them first"));
    worker.terminate(10);

    // And back into a fresh data directory.
    let archive2 = files.dir.path().join("back.ndjson");
    pg.ok(&["export", "--force", "-o", archive2.to_str().unwrap()]);
    let back = Env::new();
    let v: Value = serde_json::from_str(&back.ok(&["--json", "import", archive2.to_str().unwrap()])).unwrap();
    assert_eq!(v["jobs"]["imported"], 5, "{v}");
    let back_events = |id: &str| back.events(id);
    for id in done.iter().chain([&waiting]) {
        same_job(&pg, &back, &back_events, &pg_events, id);
    }
    assert_eq!(pg.ok(&["--json", "stats"]), back.ok(&["--json", "stats"]));
}
