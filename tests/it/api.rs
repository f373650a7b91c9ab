//! `ctl serve` and `ctl up` over real HTTP: jobs, SSE with resume, sessions,
//! auth on every route, metrics, the remote CLI, and shutdown.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helper::{Env, Server, client, get, post};

/// Reads a job's SSE stream to its end: (seq, type, data) per event.
async fn sse(srv: &Server, token: &str, id: &str, last: Option<u64>) -> Vec<(u64, String, Value)> {
    let mut req = client().get(format!("{}/api/v1/jobs/{id}/events", srv.url)).bearer_auth(token);
    if let Some(last) = last {
        req = req.header("Last-Event-ID", last.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream().eventsource();
    while let Some(ev) = stream.next().await {
        let ev = ev.unwrap();
        let data: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(ev.id, data["seq"].to_string(), "SSE id is the seq");
        out.push((data["seq"].as_u64().unwrap(), ev.event, data["data"].clone()));
    }
    out
}

async fn wait_done(srv: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, v) = get(srv, token, &format!("/api/v1/jobs/{id}")).await;
        if matches!(v["state"].as_str(), Some("completed" | "failed" | "cancelled")) {
            return v;
        }
        assert!(Instant::now() < deadline, "job {id} did not finish: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn submit_stream_and_resume_over_sse() {
    let env = Env::new();
    let token = env.token("test");
    let srv = env.serve();
    let _w = env.worker(&[]);
    let (status, body) =
        post(&srv, &token, "/api/v1/jobs", json!({"prompt": "hello", "params": {"max_tokens": 30}})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let events = sse(&srv, &token, &id, None).await;
    let log = env.events(&id);
    assert_eq!(events.len(), log.len(), "every logged event, once");
    for ((seq, kind, data), line) in events.iter().zip(&log) {
        assert_eq!(*seq, line["seq"].as_u64().unwrap());
        assert_eq!(kind, line["type"].as_str().unwrap());
        assert_eq!(data, &line["data"]);
    }
    assert_eq!(events.last().unwrap().1, "done");
    // Resume after seq 5: exactly the rest.
    let rest = sse(&srv, &token, &id, Some(5)).await;
    assert_eq!(rest.first().unwrap().0, 6);
    assert_eq!(rest.len(), events.len() - 6);
    // The query form works too.
    let r = client()
        .get(format!("{}/api/v1/jobs/{id}/events?last_event_id={}", srv.url, events.len() - 2))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("event: done") && !text.contains("event: token"), "{text}");

    let (_, job) = get(&srv, &token, &format!("/api/v1/jobs/{}", &id[..12])).await;
    assert_eq!(job["state"], "completed");
    assert_eq!(job["usage"]["completion_tokens"], 30);
    let (_, page) = get(&srv, &token, "/api/v1/jobs?state=completed&limit=10").await;
    assert_eq!(page["jobs"][0]["id"], id.as_str());
    let (status, err) = post(&srv, &token, "/api/v1/jobs", json!({"prompt": "x", "bogus": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err["error"]["message"].as_str().unwrap().contains("bogus"), "{err}");
    let (status, err) = get(&srv, &token, "/api/v1/jobs/ZZZZ").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "not_found");
}

/// Every route in the OpenAPI document (which is built from the router's
/// own handlers) refuses a request without credentials, with a revoked
/// token, and with a made-up one, unless the document marks it open.
#[tokio::test]
async fn every_route_needs_credentials() {
    let env = Env::new();
    let token = env.token("revoke-me");
    let srv = env.serve();
    let doc = serde_json::to_value(ctl::web::openapi()).unwrap();
    let (status, served) = get(&srv, &token, "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(served, doc, "the served document is the router's");
    env.ok(&["token", "revoke", "revoke-me"]);
    let fake_id = "01JDQ7T3ZK4M8X2B6N0C5V9WAE";
    let mut checked = 0;
    let mut routes: Vec<(String, String, bool)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let open = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(serde_json::Map::is_empty)));
            routes.push((method.to_uppercase(), path.clone(), !open));
        }
    }
    routes.push(("GET".into(), "/api/v1/openapi.json".into(), true));
    assert!(routes.len() >= 20, "{routes:?}");
    for (method, path, needs_auth) in &routes {
        let url = format!("{}{}", srv.url, path.replace("{id}", fake_id));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for auth in [None, Some(token.as_str()), Some("ctl_0000")] {
            let mut req =
                client().request(method.clone(), &url).header("content-type", "application/json").body("{}");
            if let Some(t) = auth {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            if *needs_auth {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with {auth:?}");
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized", "{method} {path}");
                checked += 1;
            } else {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path} is open");
            }
        }
    }
    assert!(checked >= 17 * 3, "{checked}");
    for open in ["/healthz", "/readyz", "/", "/login", "/api/v1/login"] {
        assert!(routes.iter().any(|(_, p, auth)| p == open && !auth), "{open} is documented as open");
    }
}

#[tokio::test]
async fn sessions_round_trip() {
    let env = Env::new();
    let token = env.token("t");
    let srv = env.serve();
    let _w = env.worker(&[]);
    let (status, s) = post(&srv, &token, "/api/v1/sessions", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let sid = s["id"].as_str().unwrap().to_owned();
    let (status, sent) = post(
        &srv,
        &token,
        &format!("/api/v1/sessions/{sid}/messages"),
        json!({"content": "What is flock?\nAnd why?", "params": {"max_tokens": 12}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let job1 = sent["job_id"].as_str().unwrap().to_owned();
    let done = wait_done(&srv, &token, &job1).await;
    // The assistant's message lands when the worker finishes the job.
    let deadline = Instant::now() + Duration::from_secs(10);
    let detail = loop {
        let (_, d) = get(&srv, &token, &format!("/api/v1/sessions/{sid}")).await;
        if d["messages"].as_array().unwrap().len() == 2 {
            break d;
        }
        assert!(Instant::now() < deadline, "{d}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(detail["title"], "What is flock?");
    let msgs = detail["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[0]["job_id"], job1.as_str());
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["content"], done["output"]);
    // The second turn carries the whole history.
    let (_, sent) = post(
        &srv,
        &token,
        &format!("/api/v1/sessions/{sid}/messages"),
        json!({"content": "more", "params": {"max_tokens": 3}}),
    )
    .await;
    let job2 = sent["job_id"].as_str().unwrap().to_owned();
    wait_done(&srv, &token, &job2).await;
    let job_file: Value = serde_json::from_str(
        &std::fs::read_to_string(env.queue_dir("_completed").join(format!("{job2}.json"))).unwrap(),
    )
    .unwrap();
    let roles: Vec<&str> =
        job_file["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    let (_, list) = get(&srv, &token, "/api/v1/sessions").await;
    assert_eq!(list["sessions"][0]["id"], sid.as_str());
    let r = client()
        .delete(format!("{}/api/v1/sessions/{sid}", srv.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = get(&srv, &token, &format!("/api/v1/sessions/{sid}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn chat_messages_carry_tools_and_a_tool_choice_into_the_job() {
    // Nothing runs the job: no model server needed.
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let token = env.token("t");
    let srv = env.serve();
    let (_, s) = post(&srv, &token, "/api/v1/sessions", json!({})).await;
    let url = format!("/api/v1/sessions/{}/messages", s["id"].as_str().unwrap());
    let (status, body) =
        post(&srv, &token, &url, json!({"content": "x", "tools": ["fetch"], "tool_choice": "vault_read"}))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("\"vault_read\""), "{body}");
    let (status, sent) =
        post(&srv, &token, &url, json!({"content": "x", "tools": ["fetch"], "tool_choice": "fetch,none"}))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let job = sent["job_id"].as_str().unwrap();
    let job_file: Value = serde_json::from_str(
        &std::fs::read_to_string(env.queue_dir("_queue").join(format!("{job}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(job_file["tools"], json!(["fetch"]));
    assert_eq!(job_file["tool_choice"], "fetch,none");
}

#[tokio::test]
async fn cancel_mid_stream_over_the_api() {
    let env = Env::new();
    let token = env.token("t");
    let srv = env.serve();
    let w = env.worker(&[]);
    let (_, body) =
        post(&srv, &token, "/api/v1/jobs", json!({"prompt": "long", "params": {"max_tokens": 1900}})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    env.wait_event(&id, "token", 30, &w);
    let (status, reply) = post(&srv, &token, &format!("/api/v1/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["state"], "cancelling");
    let t0 = Instant::now();
    let events = sse(&srv, &token, &id, None).await;
    assert_eq!(events.last().unwrap().1, "cancelled");
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(wait_done(&srv, &token, &id).await["state"], "cancelled");
}

#[tokio::test]
async fn two_hundred_sse_clients_each_get_every_event_in_order() {
    let env = Env::new();
    let token = env.token("t");
    let srv = env.serve();
    let (_, body) =
        post(&srv, &token, "/api/v1/jobs", json!({"prompt": "fan out", "params": {"max_tokens": 200}})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let srv = std::sync::Arc::new(srv);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (srv, token, id) = (srv.clone(), token.clone(), id.clone());
        tasks.push(tokio::spawn(async move { sse(&srv, &token, &id, None).await }));
    }
    // The worker starts once every client is connected and waiting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _w = env.worker(&[]);
    let expected: Vec<u64> = {
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        let seqs: Vec<u64> = (0..all[0].len() as u64).collect();
        for got in &all {
            assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), seqs, "in order, none missing");
            assert_eq!(got.last().unwrap().1, "done");
        }
        seqs
    };
    assert_eq!(expected.len(), env.events(&id).len());
    assert!(expected.len() > 200, "the stream carried the tokens");
}

#[tokio::test]
async fn metrics_health_and_readiness() {
    let env = Env::new();
    let token = env.token("t");
    let srv = env.serve();
    let r = client().get(format!("{}/healthz", srv.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client().get(format!("{}/readyz", srv.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let id = env.submit("count me", &["-p", "max_tokens=4"]);
    let _w = env.worker(&[]);
    wait_done(&srv, &token, &id).await;
    let text = client()
        .get(format!("{}/metrics", srv.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "ctl_jobs_total{state=\"completed\"} 1",
        "ctl_queue_depth 0",
        "ctl_tokens_total{kind=\"completion\"} 4",
        "ctl_job_duration_seconds_count 1",
        "ctl_ttft_seconds_bucket{le=\"+Inf\"} 1",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    // The shared llama.cpp server answers `/models` only between two
    // completions (other tests' jobs), which can outlast the 3 s probe.
    let mut tries = 0;
    let local = loop {
        let (status, models) = get(&srv, &token, "/api/v1/models").await;
        assert_eq!(status, 200);
        let local = models.as_array().unwrap().iter().find(|p| p["provider"] == "local").unwrap().clone();
        tries += 1;
        if local["reachable"] == true || tries == 10 {
            break local;
        }
    };
    assert_eq!(local["reachable"], true, "{local}");
    assert_eq!(local["models"][0], "local:tiny");
    let (_, stats) = get(&srv, &token, "/api/v1/stats").await;
    assert_eq!(stats["rows"][0]["model"], "local:tiny");
    assert_eq!(stats["rows"][0]["jobs"], 1);
}

#[test]
fn the_cli_drives_a_remote_server() {
    let env = Env::new();
    let token = env.token("laptop");
    let srv = env.serve();
    let _w = env.worker(&[]);
    // A client with no data directory of its own.
    let remote = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ctl"))
            .args(args)
            .env("CTL_SERVER", &srv.url)
            .env("CTL_TOKEN", &token)
            .env("CTL_HOME", env.dir.path().join("nonexistent-client-home"))
            .env("CTL_CONFIG", &env.config)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let prompt = env.dir.path().join("p.txt");
    std::fs::write(&prompt, "hello remote").unwrap();
    let p = prompt.to_str().unwrap();
    let (code, id, err) = remote(&["submit", "-p", "max_tokens=20", p]);
    assert_eq!(code, Some(0), "{err}");
    let id = id.trim().to_owned();
    let (code, text, _) = remote(&["tail", &id[..10]]);
    assert_eq!(code, Some(0));
    let (_, show, _) = remote(&["show", "--json", &id]);
    let v: Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["output"].as_str().unwrap().trim_end(), text.trim_end());
    let (_, jobs, _) = remote(&["jobs", "--json"]);
    assert_eq!(serde_json::from_str::<Value>(&jobs).unwrap()[0]["id"], id.as_str());
    let (code, _, err) = remote(&["retry", &id]);
    assert_eq!(code, Some(1));
    assert!(err.contains("only failed or cancelled jobs can be retried"), "{err}");
    // A bad token is one clear line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(["jobs"])
        .env("CTL_SERVER", &srv.url)
        .env("CTL_TOKEN", "ctl_nope")
        .env("CTL_CONFIG", &env.config)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim(), "error: invalid or revoked API token");
    assert!(
        !env.dir.path().join("nonexistent-client-home").exists(),
        "remote mode never touches a local home"
    );
}

#[test]
fn remote_tail_resumes_across_a_server_restart() {
    let env = Env::new();
    let token = env.token("t");
    let mut srv = env.serve();
    let w = env.worker(&[]);
    let id = env.submit("long", &["-p", "max_tokens=1500"]);
    let mut tail = std::process::Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(["tail", &id])
        .env("CTL_SERVER", &srv.url)
        .env("CTL_TOKEN", &token)
        .env("CTL_CONFIG", &env.config)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    env.wait_event(&id, "token", 30, &w);
    // Once the tail has printed text, drop the server mid-stream and bring
    // it back on the same port.
    let mut stdout = tail.stdout.take().unwrap();
    let mut first = [0u8; 16];
    let n = std::io::Read::read(&mut stdout, &mut first).unwrap();
    assert!(n > 0);
    let port = srv.url.rsplit(':').next().unwrap().to_owned();
    srv.proc.kill9();
    let mut c = env.cmd();
    c.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _srv2 = crate::helper::Proc { child: c.spawn().unwrap(), log: env.dir.path().join("none") };
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut stdout, &mut rest).unwrap();
    assert_eq!(tail.wait().unwrap().code(), Some(0));
    let text = String::from_utf8([&first[..n], &rest[..]].concat()).unwrap();
    let v = env.wait_finished(&id, 60);
    assert_eq!(text.trim_end(), v["output"].as_str().unwrap().trim_end(), "nothing lost, nothing repeated");
}

#[test]
fn up_prints_a_login_link_and_guards_cookie_writes() {
    let env = Env::new();
    let mut c = env.cmd();
    c.args(["up", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line)
        .unwrap();
    let mut up = crate::helper::Proc { child, log: env.dir.path().join("none") };
    let link = line.trim().strip_prefix("ctl is up: open ").unwrap_or_else(|| panic!("{line}")).to_owned();
    let base = link.split("/login").next().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = client().get(&link).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let r = client().get(format!("{base}/api/v1/jobs")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body = json!({"prompt": "hi", "params": {"max_tokens": 3}});
        let r = client()
            .post(format!("{base}/api/v1/jobs"))
            .header("cookie", &cookie)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a cookie write without Origin");
        let r = client()
            .post(format!("{base}/api/v1/jobs"))
            .header("cookie", &cookie)
            .header("origin", "http://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a cross-site write");
        let host = base.strip_prefix("http://").unwrap();
        let r = client()
            .post(format!("{base}/api/v1/jobs"))
            .header("cookie", &cookie)
            .header("origin", format!("http://{host}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        // The embedded worker runs it.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v: Value = client()
                .get(format!("{base}/api/v1/jobs/{id}"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["state"] == "completed" {
                break;
            }
            assert!(Instant::now() < deadline, "{v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(up.terminate(15).success());
    // The link keeps working on the next start.
    let saved = std::fs::read_to_string(env.home.join("up.token")).unwrap();
    assert!(link.ends_with(saved.trim()));
}

#[test]
fn sigterm_closes_open_sse_streams() {
    let env = Env::new();
    let token = env.token("t");
    let mut srv = env.serve();
    let id = env.submit("never runs: no worker", &[]);
    let url = format!("{}/api/v1/jobs/{id}/events", srv.url);
    let reader = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let resp = client().get(url).bearer_auth(token).send().await.unwrap();
            resp.text().await.is_ok()
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    assert!(srv.proc.terminate(10).success());
    assert!(t0.elapsed() < Duration::from_secs(5), "shutdown waited for the stream");
    assert!(reader.join().unwrap(), "the stream ended cleanly");
}

/// schemathesis (installed by `.ci/setup-llm`) fuzzes every operation in the
/// served OpenAPI document: no 5xx, and no response that contradicts the
/// document. The `positive_data_acceptance` check is left out: JobSpec's
/// "prompt or messages, not both" cannot be said in the document's schema,
/// so some schema-valid bodies are rightly refused.
#[test]
fn schemathesis_finds_no_server_errors_and_no_undocumented_responses() {
    let st = crate::helper::llm::venv().join("bin/schemathesis");
    assert!(st.exists(), "schemathesis is not installed at {}; run .ci/setup-llm", st.display());
    // Jobs fail fast against a port where nothing listens, so event
    // streams end quickly and the shared LLM server stays free.
    let env = Env::with_provider_url(&format!("http://127.0.0.1:{}/v1", crate::helper::llm::free_port()));
    let token = env.token("schemathesis");
    let srv = env.serve();
    let _w = env.worker(&[]);
    let out = std::process::Command::new(st)
        .args(["run", &format!("{}/api/v1/openapi.json", srv.url)])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", "25", "--seed", "1", "--checks", "all"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--request-timeout", "10"])
        .env("NO_COLOR", "1")
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every operation of the document was exercised.
    let ops: usize = serde_json::to_value(ctl::web::openapi()).unwrap()["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert!(text.contains(&format!("Tested: {ops}")), "{ops} operations:\n{text}");
}

/// Generated clients (the web UI's types among them) key operations by
/// their id, so two operations must never share one.
#[test]
fn operation_ids_are_unique() {
    let doc = serde_json::to_value(ctl::web::openapi()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id =
                op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId {id} is used by both {other} and {method} {path}");
            }
        }
    }
}
