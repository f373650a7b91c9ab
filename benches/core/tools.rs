//! The tools' overheads, each against a baseline measured in the same run:
//!
//! - `mcp_call_overhead_p50_ms`: a `tools/call` of `vault_read` over `ctl
//!   mcp`'s stdio, minus the tool's own time (the same call in-process
//!   through the library's `Toolbox`);
//! - `run_code_overhead_p50_ms`: `run_code` of `print(1)` over the same
//!   stdio session, minus a bare `python3 -c 'print(1)'`;
//! - `fetch_ratio`: `fetch` of a 1 MB HTML page on loopback (allow-listed)
//!   against a plain reqwest GET of it;
//! - `tool_round_overhead_p50_ms`: the worker's own time for one round of
//!   the tool loop: a job whose model (the fast upstream) calls
//!   `vault_read` once, minus the same job without tools, minus the tool's
//!   own time and the extra model call made directly.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use ctl::config::Config;
use ctl::tools::Toolbox;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::report::{Report, Row, Target, num};
use crate::util::{Env, Proc, http_client, median, ms_since};

/// `ctl mcp` over stdio, one JSON-RPC line at a time.
struct Mcp {
    _proc: Proc,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
}

impl Mcp {
    fn start(env: &Env) -> Self {
        let mut child = env
            .cmd()
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut mcp = Self { _proc: Proc::ctl(child), stdin, stdout, next: 1 };
        mcp.request(
            "initialize",
            &json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
        );
        writeln!(mcp.stdin, "{}", json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).unwrap();
        mcp
    }

    fn request(&mut self, method: &str, params: &Value) -> Value {
        let id = self.next;
        self.next += 1;
        writeln!(self.stdin, "{}", json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .unwrap();
        self.stdin.flush().unwrap();
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "ctl mcp closed stdout");
            let msg: Value = serde_json::from_str(&line).unwrap();
            if msg["id"] == id {
                assert!(msg.get("error").is_none() && msg["result"]["isError"] != true, "{msg}");
                return msg;
            }
        }
    }

    /// Milliseconds for one `tools/call`.
    fn call(&mut self, tool: &str, args: &Value) -> f64 {
        let t0 = Instant::now();
        self.request("tools/call", &json!({"name": tool, "arguments": args}));
        ms_since(t0)
    }
}

fn tools_env(url: &str) -> Env {
    let env = Env::new(url, "bench", "");
    let vault = env.dir.path().join("vault");
    std::fs::create_dir_all(&vault).unwrap();
    std::fs::write(vault.join("note.md"), "# Note\n\nA short note for the benchmark.\n".repeat(20)).unwrap();
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    let _ = write!(
        text,
        "\n[rag]\nvault = \"{}\"\n[tools.fetch]\nallow_private = [\"127.0.0.0/8\"]\nmax_output_bytes = 4000000\n",
        vault.display()
    );
    std::fs::write(&env.config, text).unwrap();
    env
}

fn toolbox(env: &Env) -> Toolbox {
    Toolbox::from_config(&Config::load(Some(&env.config), std::iter::empty()).unwrap()).unwrap()
}

pub fn bench(report: &mut Report, url: &str, n: usize) {
    let env = tools_env(url);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    mcp_overhead(report, &env, &rt, n);
    run_code_overhead(report, &env, (n / 5).max(10));
    fetch_ratio(report, &env, &rt, (n / 5).max(10));
    tool_round_overhead(report, url, &rt, (n / 2).max(20));
}

/// Milliseconds from a job's `started` to its `done`, and the tool time
/// its `tool_result` events report.
fn job_times(env: &Env, id: &str) -> (f64, f64) {
    let path = env.home.join("events").join(format!("{id}.ndjson"));
    let events: Vec<Value> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let at = |kind: &str| {
        let e = events.iter().rfind(|e| e["type"] == kind).unwrap_or_else(|| panic!("no {kind} in {id}"));
        e["ts"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap()
    };
    let took = at("done").duration_since(at("started")).as_secs_f64() * 1000.0;
    let tools: f64 = events
        .iter()
        .filter(|e| e["type"] == "tool_result")
        .filter_map(|e| e["data"]["duration_ms"].as_f64())
        .sum();
    (took, tools)
}

fn tool_round_overhead(report: &mut Report, url: &str, rt: &tokio::runtime::Runtime, n: usize) {
    let env = tools_env(url);
    let local = env.local();
    let worker = env.worker(&[]);
    let mut with_tool = ctl::api::JobSpec { prompt: Some("read the note".into()), ..Default::default() };
    with_tool.params.insert("max_tokens".into(), 1.into());
    with_tool.tools = vec!["vault_read".into()];
    let mut plain = with_tool.clone();
    plain.tools.clear();
    let done = env.queue_dir("_completed");
    let run = |spec: &ctl::api::JobSpec| {
        let id = local.submit(spec.clone()).unwrap().id;
        let file = done.join(format!("{id}.json"));
        crate::util::wait_until("a job to complete", 60, std::time::Duration::from_micros(200), || {
            assert!(!env.queue_dir("_failed").join(format!("{id}.json")).exists(), "job {id} failed");
            file.exists()
        });
        job_times(&env, &id)
    };
    // The model call a round adds, made directly: the upstream's tool-call answer.
    let client = http_client();
    let direct = || {
        rt.block_on(async {
            let body = json!({"model": "bench", "stream": true, "max_tokens": 1,
                "messages": [{"role": "user", "content": "read the note"}],
                "tools": [{"type": "function", "function": {"name": "vault_read", "parameters": {"type": "object"}}}]});
            let t0 = Instant::now();
            let resp = client.post(format!("{url}/chat/completions")).json(&body).send().await.unwrap();
            let text = resp.text().await.unwrap();
            assert!(text.contains("tool_calls"), "{text}");
            ms_since(t0)
        })
    };
    for _ in 0..5 {
        run(&with_tool);
        run(&plain);
        direct();
    }
    let (mut rounds, mut plains, mut directs, mut tool_ms) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let (a, t) = if i % 2 == 0 {
            let a = run(&with_tool);
            plains.push(run(&plain).0);
            a
        } else {
            plains.push(run(&plain).0);
            run(&with_tool)
        };
        rounds.push(a);
        tool_ms.push(t);
        directs.push(direct());
    }
    worker.terminate();
    let overhead = median(&rounds) - median(&plains) - median(&tool_ms) - median(&directs);
    report.metric("tool_round_overhead_p50_ms", overhead, Target::AtMost(2.0));
    report.row(Row {
        key: Some("tool_round_overhead_p50_ms"),
        what: format!(
            "the worker's own time per tool round: a job whose model calls `vault_read` once, minus the same job without tools, the tool's time and the extra model call made directly ({n} jobs each)"
        ),
        ctl: format!("{} ms ({} ms started → done with the round)", num(overhead), num(median(&rounds))),
        baseline: format!(
            "{} ms without tools; {} ms the tool; {} ms the extra model call",
            num(median(&plains)),
            num(median(&tool_ms)),
            num(median(&directs))
        ),
        notes: "p50s from the event log's timestamps, jobs interleaved; the fast upstream answers a request with tools by one call".into(),
    });
    report.detail(
        "tool_round",
        json!({ "with_round_ms": rounds, "without_ms": plains, "tool_ms": tool_ms, "direct_call_ms": directs }),
    );
}

fn mcp_overhead(report: &mut Report, env: &Env, rt: &tokio::runtime::Runtime, n: usize) {
    let mut mcp = Mcp::start(env);
    let tools = toolbox(env);
    let args = json!({"path": "note.md"});
    let direct = |rt: &tokio::runtime::Runtime| {
        let t0 = Instant::now();
        rt.block_on(tools.call("vault_read", args.clone())).unwrap();
        ms_since(t0)
    };
    for _ in 0..5 {
        mcp.call("vault_read", &args);
        direct(rt);
    }
    let (mut over_mcp, mut own) = (Vec::new(), Vec::new());
    for i in 0..n {
        if i % 2 == 0 {
            over_mcp.push(mcp.call("vault_read", &args));
            own.push(direct(rt));
        } else {
            own.push(direct(rt));
            over_mcp.push(mcp.call("vault_read", &args));
        }
    }
    let overhead = median(&over_mcp) - median(&own);
    report.metric("mcp_call_overhead_p50_ms", overhead, Target::AtMost(1.0));
    report.row(Row {
        key: Some("mcp_call_overhead_p50_ms"),
        what: format!(
            "`tools/call` of `vault_read` over `ctl mcp` stdio, minus the tool's own time ({n} calls)"
        ),
        ctl: format!("{} ms ({} ms round trip)", num(overhead), num(median(&over_mcp))),
        baseline: format!("{} ms (the same call in-process)", num(median(&own))),
        notes: "p50s, calls interleaved".into(),
    });
    report.detail("mcp_call", json!({ "over_stdio_ms": over_mcp, "in_process_ms": own }));
}

fn run_code_overhead(report: &mut Report, env: &Env, n: usize) {
    let mut mcp = Mcp::start(env);
    let args = json!({"code": "print(1)"});
    let bare = || {
        let t0 = Instant::now();
        let out =
            Command::new("/usr/bin/python3").args(["-c", "print(1)"]).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.stdout, b"1\n");
        ms_since(t0)
    };
    mcp.call("run_code", &args);
    bare();
    let (mut sandboxed, mut plain) = (Vec::new(), Vec::new());
    for i in 0..n {
        if i % 2 == 0 {
            sandboxed.push(mcp.call("run_code", &args));
            plain.push(bare());
        } else {
            plain.push(bare());
            sandboxed.push(mcp.call("run_code", &args));
        }
    }
    let overhead = median(&sandboxed) - median(&plain);
    report.metric("run_code_overhead_p50_ms", overhead, Target::AtMost(30.0));
    report.row(Row {
        key: Some("run_code_overhead_p50_ms"),
        what: format!(
            "`run_code` of `print(1)` over `ctl mcp` stdio, minus a bare `python3 -c 'print(1)'` ({n} runs)"
        ),
        ctl: format!("{} ms ({} ms per call)", num(overhead), num(median(&sandboxed))),
        baseline: format!("{} ms (bare python3)", num(median(&plain))),
        notes: "p50s, runs interleaved; bubblewrap + the rlimit/landlock helper".into(),
    });
    report.detail("run_code", json!({ "run_code_ms": sandboxed, "bare_python_ms": plain }));
}

/// About 1 MB of article-like HTML: headings, paragraphs, links, lists.
fn page() -> Vec<u8> {
    let mut html = String::from(
        "<!doctype html><html><head><title>Bench</title><style>p{margin:0}</style></head><body>",
    );
    let mut i = 0;
    while html.len() < 1024 * 1024 {
        let _ = write!(
            html,
            "<h2>Section {i}</h2><p>Some <b>bold</b> and <i>italic</i> text with a \
             <a href=\"https://example.org/{i}\">link</a>, then more words to read.</p>\
             <ul><li>first item</li><li>second item</li></ul>"
        );
        i += 1;
    }
    html.push_str("</body></html>");
    html.into_bytes()
}

async fn serve_page(body: Vec<u8>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = std::sync::Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let _ = sock.set_nodelay(true);
                let mut buf = vec![0u8; 8192];
                loop {
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let h = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if sock.write_all(h.as_bytes()).await.is_err() || sock.write_all(&body).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn fetch_ratio(report: &mut Report, env: &Env, rt: &tokio::runtime::Runtime, n: usize) {
    let body = page();
    let size = body.len();
    let port = rt.block_on(serve_page(body));
    let url = format!("http://127.0.0.1:{port}/page.html");
    let tools = toolbox(env);
    let client = http_client();
    let fetch = || {
        let t0 = Instant::now();
        let out = rt.block_on(tools.call("fetch", json!({ "url": url }))).unwrap();
        assert!(out.text.contains("## Section 1") && !out.truncated);
        ms_since(t0)
    };
    let get = || {
        let t0 = Instant::now();
        let bytes = rt.block_on(async { client.get(&url).send().await.unwrap().bytes().await.unwrap() });
        assert_eq!(bytes.len(), size);
        ms_since(t0)
    };
    fetch();
    get();
    let (mut ours, mut plain, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let (f, g) = if i % 2 == 0 {
            let f = fetch();
            (f, get())
        } else {
            let g = get();
            (fetch(), g)
        };
        ours.push(f);
        plain.push(g);
        ratios.push(f / g);
    }
    let ratio = median(&ours) / median(&plain);
    report.metric("fetch_ratio", ratio, Target::AtMost(1.5));
    report.row(Row {
        key: Some("fetch_ratio"),
        what: format!(
            "`fetch` of a {} KB HTML page on loopback, allow-listed, HTML to markdown ({n} rounds)",
            size / 1024
        ),
        ctl: format!("{} ms", num(median(&ours))),
        baseline: format!("{} ms (a plain reqwest GET of it)", num(median(&plain))),
        notes: format!("ratio {ratio:.2} of p50s"),
    });
    report.detail("fetch", json!({ "fetch_ms": ours, "reqwest_get_ms": plain, "ratios": ratios }));
}
