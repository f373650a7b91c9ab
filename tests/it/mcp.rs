//! `ctl mcp` and `/mcp` against real MCP clients: the official Python SDK
//! and the MCP Inspector CLI, over stdio and streamable HTTP; raw JSON-RPC
//! for the protocol versions and the Skills extension; the HTTP guards.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helper::{Env, Server, client, mcp};

/// An installation with a vault and a user skill that bundles a reference.
fn env(extra: &str) -> Env {
    let env = Env::without_model();
    let vault = env.dir.path().join("vault");
    std::fs::create_dir_all(vault.join("notes")).unwrap();
    std::fs::write(vault.join("notes/a.md"), "# A\nThe alpha note.\n").unwrap();
    let skill = env.dir.path().join("skills/release-notes");
    std::fs::create_dir_all(skill.join("references")).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: release-notes\ndescription: Turn merged changes into release notes.\n---\n\nGroup the changes.\n",
    )
    .unwrap();
    std::fs::write(skill.join("references/style.md"), "Write for users.\n").unwrap();
    std::os::unix::fs::symlink(env.dir.path().join("ctl.toml"), skill.join("references/leak.md")).unwrap();
    env.configure(&format!(
        "[rag]\nvault = \"{}\"\n[skills]\npaths = [\"{}\"]\n{extra}",
        vault.display(),
        env.dir.path().join("skills").display()
    ));
    env
}

const CALLS: &str = r#"[["vault_read", {"path": "notes/a.md"}], ["vault_read", {"path": "../ctl.toml"}], ["run_code", {"code": "print(6 * 7)"}]]"#;

/// What the Python SDK client saw, checked the same way for both transports.
fn check_sdk_session(out: &Value) {
    assert_eq!(out["server"], "ctl");
    assert_eq!(out["protocol"], "2025-11-25", "the SDK's newest version with initialize");
    let tools = out["tools"].as_object().unwrap();
    let names: Vec<&String> = tools.keys().collect();
    assert_eq!(names, ["fetch", "run_code", "skill_read", "vault_list", "vault_read", "vault_search"]);
    assert_eq!(tools["vault_read"]["required"], json!(["path"]));
    let calls = out["calls"].as_array().unwrap();
    assert_eq!(
        (calls[0]["is_error"].as_bool(), calls[0]["text"].as_str()),
        (Some(false), Some("# A\nThe alpha note.\n"))
    );
    assert_eq!(calls[0]["structured"]["vault"], "default");
    assert_eq!(calls[1]["is_error"], true);
    assert!(calls[1]["text"].as_str().unwrap().contains("`..` is refused"), "{}", calls[1]);
    assert_eq!(calls[2]["structured"]["stdout"], "42\n");
    let resources: Vec<&str> =
        out["resources"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(resources.contains(&"skill://release-notes/SKILL.md"), "{resources:?}");
    assert!(resources.contains(&"skill://research/SKILL.md"), "{resources:?}");
    assert!(out["first_resource"].as_str().unwrap().starts_with("---\nname: code-review"));
}

/// The tool calls recorded in the store: (tool, outcome, source).
fn recorded(env: &Env) -> Vec<(String, String, String)> {
    let db = rusqlite::Connection::open(env.home.join("ctl.db")).unwrap();
    db.prepare("SELECT tool, outcome, source FROM tool_calls ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn python(env: &Env, args: &[&str]) -> Value {
    let out = Command::new(mcp::python())
        .arg(mcp::fixture("mcp_client.py"))
        .args(args)
        .env("CTL_HOME", &env.home)
        .env("CTL_CONFIG", &env.config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "the MCP client failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_python_sdk_uses_ctl_mcp_over_stdio() {
    let env = env("");
    let out = python(&env, &["stdio", env!("CARGO_BIN_EXE_ctl"), CALLS]);
    check_sdk_session(&out);
    let calls = recorded(&env);
    assert_eq!(
        calls,
        [("vault_read", "ok", "mcp"), ("vault_read", "refused", "mcp"), ("run_code", "ok", "mcp")]
            .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    );
}

#[test]
fn the_python_sdk_uses_mcp_over_http_in_ctl_serve_and_calls_show_in_metrics() {
    let env = env("");
    let token = env.token("mcp");
    let srv = env.serve();
    let out = python(&env, &["http", &format!("{}/mcp", srv.url), &token, CALLS]);
    check_sdk_session(&out);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let metrics = rt.block_on(async {
        client()
            .get(format!("{}/metrics", srv.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    for line in [
        "ctl_tool_calls_total{tool=\"vault_read\",outcome=\"ok\"} 1",
        "ctl_tool_calls_total{tool=\"vault_read\",outcome=\"refused\"} 1",
        "ctl_tool_calls_total{tool=\"run_code\",outcome=\"ok\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

/// The MCP Inspector CLI: (exit ok, stdout JSON).
fn inspector(args: &[&str], env: &Env) -> Value {
    let out = Command::new(mcp::inspector())
        .arg("--cli")
        .args(args)
        .env("CTL_HOME", &env.home)
        .env("CTL_CONFIG", &env.config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mcp-inspector {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn check_inspector(env: &Env, target: &[&str]) {
    let list = inspector(&[target, &["--method", "tools/list"]].concat(), env);
    let names: Vec<&str> =
        list["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"vault_read") && names.contains(&"run_code"), "{names:?}");
    let read = inspector(
        &[target, &["--method", "tools/call", "--tool-name", "vault_read", "--tool-arg", "path=notes/a.md"]]
            .concat(),
        env,
    );
    assert_eq!(read["content"][0]["text"], "# A\nThe alpha note.\n", "{read}");
    let code = inspector(
        &[target, &["--method", "tools/call", "--tool-name", "run_code", "--tool-arg", "code=print(2**10)"]]
            .concat(),
        env,
    );
    assert_eq!(code["structuredContent"]["stdout"], "1024\n", "{code}");
}

#[test]
fn the_mcp_inspector_uses_ctl_mcp_over_stdio() {
    let env = env("");
    check_inspector(&env, &[env!("CARGO_BIN_EXE_ctl"), "mcp"]);
}

#[test]
fn the_mcp_inspector_uses_mcp_over_http() {
    let env = env("");
    let token = env.token("inspector");
    let srv = env.serve();
    // The inspector's CLI (the last release for Node 20) sends no headers;
    // a host would. A loopback proxy adds the bearer token, as a host's
    // header setting does, and passes everything else through.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt.block_on(auth_proxy(format!("{}/mcp", srv.url), token));
    check_inspector(&env, &[&format!("{proxy}/mcp"), "--transport", "http"]);
}

/// A loopback HTTP proxy to `upstream` that adds `Authorization: Bearer token`.
async fn auth_proxy(upstream: String, token: String) -> String {
    use axum::body::Body;
    use axum::extract::Request;
    use futures_util::StreamExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (upstream, token) = (upstream.clone(), token.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 24).await.unwrap();
            let mut fwd = client().request(parts.method, &upstream).bearer_auth(&token).body(body);
            for (k, v) in &parts.headers {
                if !matches!(k.as_str(), "host" | "content-length" | "authorization") {
                    fwd = fwd.header(k, v);
                }
            }
            let resp = fwd.send().await.unwrap();
            let mut out = axum::http::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            out.body(Body::from_stream(resp.bytes_stream().map(|r| r.map_err(std::io::Error::other))))
                .unwrap()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// `ctl mcp` over stdio, spoken to line by line.
struct StdioPeer {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
    next: u64,
}

impl StdioPeer {
    fn start(env: &Env) -> Self {
        let mut child = env
            .cmd()
            .args(["mcp", "-vv"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Self { child, out, next: 1 }
    }

    fn send(&mut self, msg: &Value) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns the response with its id. Every line
    /// on stdout must be JSON-RPC: logs go to stderr only.
    #[allow(clippy::needless_pass_by_value)]
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": &params}));
        loop {
            let mut line = String::new();
            assert!(self.out.read_line(&mut line).unwrap() > 0, "ctl mcp closed stdout");
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not JSON-RPC on stdout ({e}): {line}"));
            assert_eq!(msg["jsonrpc"], "2.0", "{line}");
            if msg["id"] == id {
                return msg;
            }
        }
    }

    fn initialize(&mut self, version: &str) -> Value {
        let init = self.request(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "it", "version": "0"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        init
    }
}

impl Drop for StdioPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn protocol_versions_are_negotiated_and_stdout_carries_only_the_protocol() {
    let env = env("");
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let mut s = StdioPeer::start(&env);
        let init = s.initialize(version);
        assert_eq!(init["result"]["protocolVersion"], version, "{init}");
        assert_eq!(init["result"]["serverInfo"]["name"], "ctl");
        let tools = s.request("tools/list", json!({}));
        assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 6, "{tools}");
        let hints = &tools["result"]["tools"][0]["annotations"];
        assert_eq!(
            (hints["readOnlyHint"].as_bool(), hints["openWorldHint"].as_bool()),
            (Some(true), Some(true)),
            "fetch: {hints}"
        );
    }
    // 2026-07-28 has no initialize: `server/discover`, then requests that
    // carry the version in `_meta`.
    let mut s = StdioPeer::start(&env);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let found = s.request("server/discover", json!({ "_meta": &meta }));
    let versions = &found["result"]["supportedVersions"];
    assert_eq!(
        versions,
        &json!(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"]),
        "{found}"
    );
    let read = s.request(
        "tools/call",
        json!({"name": "vault_read", "arguments": {"path": "notes/a.md"}, "_meta": &meta}),
    );
    assert_eq!(read["result"]["content"][0]["text"], "# A\nThe alpha note.\n", "{read}");
    // An unknown tool is a protocol error; a refused call is a tool error.
    let mut s = StdioPeer::start(&env);
    s.initialize("2025-11-25");
    let unknown = s.request("tools/call", json!({"name": "nope", "arguments": {}}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let refused =
        s.request("tools/call", json!({"name": "fetch", "arguments": {"url": "http://169.254.169.254/"}}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(refused["result"]["content"][0]["text"].as_str().unwrap().contains("metadata"));
}

#[test]
fn skills_are_served_through_the_skills_extension_confined_to_their_folders() {
    let env = env("");
    let mut s = StdioPeer::start(&env);
    let init = s.initialize("2025-11-25");
    assert!(
        init["result"]["capabilities"]["extensions"].get("io.modelcontextprotocol/skills").is_some(),
        "{init}"
    );
    let list = s.request("skills/list", json!({}));
    let skills = list["result"]["skills"].as_array().unwrap_or_else(|| panic!("{list}"));
    let mine = skills.iter().find(|s| s["frontmatter"]["name"] == "release-notes").unwrap();
    assert_eq!(mine["uri"], "skill://release-notes/SKILL.md");
    let files: Vec<&str> =
        mine["resources"].as_array().unwrap().iter().map(|f| f["uri"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        ["skill://release-notes/SKILL.md", "skill://release-notes/references/style.md"],
        "the symlink is not listed"
    );
    let style = &mine["resources"][1];
    assert_eq!(style["size"], 17);
    assert!(style["digest"].as_str().unwrap().starts_with("sha256:"));
    let got = s.request("skills/get", json!({"uri": "skill://release-notes/SKILL.md"}));
    assert_eq!(
        got["result"]["skill"]["frontmatter"]["description"], "Turn merged changes into release notes.",
        "{got}"
    );
    let read = s.request("resources/read", json!({"uri": "skill://release-notes/references/style.md"}));
    assert_eq!(read["result"]["contents"][0]["text"], "Write for users.\n", "{read}");
    for escape in [
        "skill://release-notes/references/leak.md",
        "skill://release-notes/../../ctl.toml",
        "skill://release-notes//etc/passwd",
    ] {
        let r = s.request("resources/read", json!({ "uri": escape }));
        assert!(r.get("error").is_some(), "{escape}: {r}");
        assert!(!r.to_string().contains("[rag]"), "{escape} leaked the config: {r}");
    }
    // skill_read: the same files as a tool.
    let listed =
        s.request("tools/call", json!({"name": "skill_read", "arguments": {"skill": "release-notes"}}));
    assert_eq!(
        listed["result"]["content"][0]["text"], "SKILL.md (101 bytes)\nreferences/style.md (17 bytes)\n",
        "{listed}"
    );
}

async fn post_mcp(srv: &Server, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}/mcp", srv.url))
        .header("accept", "application/json, text/event-stream")
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
           "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "it", "version": "0"}}})
}

#[tokio::test]
async fn mcp_over_http_checks_auth_origin_host_rate_and_sessions() {
    let env = env(
        "[mcp]\nmax_sessions = 2\nrequests_per_minute = 6\nallowed_origins = [\"https://app.example.com\"]\n",
    );
    let token = env.token("guards");
    let srv = env.serve();
    let bearer = format!("Bearer {token}");
    let init = initialize_body();
    let host = srv.url.trim_start_matches("http://").to_owned();

    let r = post_mcp(&srv, &[], &init).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post_mcp(&srv, &[("authorization", &bearer), ("origin", "https://evil.example")], &init).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("allowed_origins"));
    let r = post_mcp(&srv, &[("authorization", &bearer), ("host", "evil.example")], &init).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "DNS rebinding: a foreign Host");
    // A cookie does not get past a foreign origin either.
    let r =
        post_mcp(&srv, &[("cookie", "ctl_session=whatever"), ("origin", "http://evil.example")], &init).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The server's own origin and a listed one pass; sessions open up to the cap.
    let own = format!("http://{host}");
    let r = post_mcp(&srv, &[("authorization", &bearer), ("origin", &own)], &init).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("mcp-session-id"));
    let r = post_mcp(&srv, &[("authorization", &bearer), ("origin", "https://app.example.com")], &init).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = post_mcp(&srv, &[("authorization", &bearer)], &init).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "a third session past max_sessions = 2");
    assert!(r.text().await.unwrap().contains("max_sessions"));
    // The 2026-07-28 revision has no sessions: the cap does not apply.
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": meta}});
    let r = post_mcp(
        &srv,
        &[("authorization", &bearer), ("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")],
        &list,
    )
    .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("vault_read"), "{text}");

    // Six requests a minute per token: the seventh waits.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(post_mcp(&srv, &[("authorization", &bearer)], &init).await.status());
    }
    let last = statuses.last().copied().unwrap();
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let r = post_mcp(&srv, &[("authorization", &bearer)], &init).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=11).contains(&wait), "{wait}");
    // Another token has its own budget.
    let other = format!("Bearer {}", env.token("other"));
    let r =
        post_mcp(&srv, &[("authorization", &other)], &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
            .await;
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[test]
fn ctl_mcp_http_serves_only_mcp_behind_the_token() {
    let env = env("");
    let token = env.token("standalone");
    let mut child = env
        .cmd()
        .args(["mcp", "--http", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.ends_with("/mcp"), "{line}");
    let out = python(&env, &["http", &url, &token, r#"[["vault_list", {}]]"#]);
    assert_eq!(out["calls"][0]["text"], "notes/\n");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let base = url.trim_end_matches("/mcp").to_owned();
    rt.block_on(async {
        assert_eq!(
            client().get(format!("{base}/api/v1/jobs")).bearer_auth(&token).send().await.unwrap().status(),
            404
        );
        assert_eq!(client().get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    });
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(10));
}

/// Processes on the host whose command line holds `needle`.
fn processes_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(needle))
        .count()
}

fn wait_until_gone(needle: &str, secs: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while processes_with(needle) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "processes with {needle} still running after {secs} s: {:?}",
            std::process::Command::new("ps").args(["-eo", "pid,ppid,stat,args"]).output().map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.contains(needle))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_until_running(needle: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while processes_with(needle) == 0 {
        assert!(std::time::Instant::now() < deadline, "the sandbox with {needle} never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_cancelled_call_kills_its_sandbox() {
    let env = env("[tools.run_code]\ntimeout_secs = 60\n");
    let mut s = StdioPeer::start(&env);
    s.initialize("2025-11-25");
    s.send(&json!({"jsonrpc": "2.0", "id": 99, "method": "tools/call",
                   "params": {"name": "run_code", "arguments": {"code": "import time # cancel-marker-4242\ntime.sleep(60)"}}}));
    wait_until_running("cancel-marker-4242");
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99, "reason": "test"}}));
    wait_until_gone("cancel-marker-4242", 10);
    // The server goes on serving.
    let tools = s.request("tools/list", json!({}));
    assert!(tools["result"]["tools"].is_array(), "{tools}");
}

#[test]
fn a_sandbox_outlives_a_killed_ctl_by_its_wall_clock_at_most() {
    let env = env("[tools.run_code]\ntimeout_secs = 2\n");
    let mut s = StdioPeer::start(&env);
    s.initialize("2025-11-25");
    s.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                   "params": {"name": "run_code", "arguments": {"code": "import time # orphan-marker-5151\ntime.sleep(60)"}}}));
    wait_until_running("orphan-marker-5151");
    let _ = s.child.kill();
    let _ = s.child.wait();
    // The helper inside kills the program at the wall clock (2 s + 1 s).
    wait_until_gone("orphan-marker-5151", 15);
}
