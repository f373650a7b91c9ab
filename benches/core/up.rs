//! `ctl up`: start to `/readyz` answering 200, and resident memory when
//! idle, against a minimal tokio + axum process (this binary, re-run with
//! [`BASELINE_FLAG`]) doing the same.

use std::io::{BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::report::{Report, Row, Target, num};
use crate::util::{Env, Proc, median, ms_since, rss_mb};

/// Runs this binary as the baseline server instead of the benchmarks.
pub const BASELINE_FLAG: &str = "--baseline-server";

/// The baseline process: a multi-threaded tokio runtime (as `ctl` starts)
/// and an axum router whose `/readyz` answers 200. Prints its address.
pub fn baseline_server() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/readyz", axum::routing::get(|| async { "ready" }));
        axum::serve(listener, app).await.unwrap();
    });
}

/// Spawns `cmd`, reads the address from its first stdout line, and polls
/// `/readyz` until it answers 200. Returns the process and the ms taken.
pub fn start(mut cmd: Command, wrapped: bool) -> (Proc, f64) {
    let t0 = Instant::now();
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut proc = if wrapped { Proc::ctl(child) } else { Proc::new(child) };
    let mut line = String::new();
    std::io::BufReader::new(proc.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '\n']).next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = write!(s, "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            if resp.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    (proc, ms_since(t0))
}

pub fn ctl_up(env: &Env) -> Command {
    let mut c = env.cmd();
    c.args(["up", "--listen", "127.0.0.1:0"]);
    c
}

fn baseline() -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.arg(BASELINE_FLAG);
    c
}

/// `ready_ms` and `idle_rss_mb`.
pub fn bench(report: &mut Report, upstream_url: &str, rounds: usize, idle: Duration) {
    let (mut first, mut ready, mut base) = (Vec::new(), Vec::new(), Vec::new());
    let mut envs = Vec::new();
    for r in 0..rounds {
        let env = Env::new(upstream_url, "bench", "");
        // The first start creates the database and the login token; the
        // second is a user's every-day start.
        let (p, ms) = start(ctl_up(&env), true);
        p.terminate();
        first.push(ms);
        let mut measure = || {
            let (p, ms) = start(baseline(), false);
            p.terminate();
            base.push(ms);
        };
        if r % 2 == 1 {
            measure();
        }
        let (p, ms) = start(ctl_up(&env), true);
        p.terminate();
        ready.push(ms);
        if r % 2 == 0 {
            measure();
        }
        envs.push(env);
    }
    // Idle: both processes side by side for `idle`, then their VmRSS.
    let (ctl, _) = start(ctl_up(&envs[0]), true);
    let (floor, _) = start(baseline(), false);
    let (ctl_rss_ready, floor_rss_ready) = (rss_mb(ctl.pid()), rss_mb(floor.pid()));
    std::thread::sleep(idle);
    let (ctl_rss, floor_rss) = (rss_mb(ctl.pid()), rss_mb(floor.pid()));
    ctl.terminate();
    floor.terminate();

    let ready_ms = median(&ready);
    report.metric("ready_ms", ready_ms, Target::AtMost(100.0));
    report.row(Row {
        key: Some("ready_ms"),
        what: "`ctl up` spawned → `/readyz` answers 200 (every-day start on an existing data directory)"
            .into(),
        ctl: format!("{} ms", num(ready_ms)),
        baseline: format!("{} ms (tokio + axum hello-world process)", num(median(&base))),
        notes: format!("median of {rounds}; first start on an empty directory: {} ms", num(median(&first))),
    });
    report.metric("idle_rss_mb", ctl_rss, Target::AtMost(30.0));
    report.row(Row {
        key: Some("idle_rss_mb"),
        what: format!("`ctl up` (serve + worker) VmRSS after {} s idle", idle.as_secs()),
        ctl: format!("{} MB", num(ctl_rss)),
        baseline: format!("{} MB (the hello-world process, same {} s)", num(floor_rss), idle.as_secs()),
        notes: format!("at ready: ctl {} MB, baseline {} MB", num(ctl_rss_ready), num(floor_rss_ready)),
    });
    report.detail(
        "up",
        json!({ "ready_ms": ready, "first_start_ms": first, "baseline_ready_ms": base, "idle_secs": idle.as_secs(),
                "idle_rss_mb": ctl_rss, "rss_at_ready_mb": ctl_rss_ready,
                "baseline_idle_rss_mb": floor_rss, "baseline_rss_at_ready_mb": floor_rss_ready }),
    );
}
