//! The PostgreSQL backend end to end: real `ctl` processes, each with a
//! data directory of its own (as on separate hosts), sharing one database.
//! Run when `CTL_TEST_DATABASE_URL` is set (CI sets it).

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::Value;

use crate::helper::pg::Schema;
use crate::helper::{Env, Server, client};

/// An installation ("host") on the shared database.
fn host(schema: &Schema) -> Env {
    let mut env = Env::new();
    env.configure("[backend]\nkind = \"postgres\"\nlease_secs = 5\n");
    env.set("CTL_DATABASE_URL", &schema.url());
    env
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
    assert_eq!(env.ok(&["migrate"]).trim(), "schema version 1: up to date");
    let version = schema.text(&format!("SELECT version::text FROM {}.ctl_schema", schema.name));
    assert_eq!(version.as_deref(), Some("1"));

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
