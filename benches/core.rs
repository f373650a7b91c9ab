//! Core benchmarks: queue throughput against its physical baseline, jobs/s
//! through a real worker, and time to first token through the worker versus
//! straight from the same server.
//!
//! `cargo bench --bench core` (set `CTL_BENCH_LLM_URL` to an OpenAI-compatible
//! server's `/v1` URL for the worker and TTFT parts). Results are printed as
//! a markdown table for BENCHMARKS.md.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ctl::api::{EventBody, JobSpec, JobState};
use ctl::config::Config;
use ctl::events::{EventWriter, Summary};
use ctl::jobs::{Local, view_of};
use ctl::queue::{Claim, Dir, WorkerLease, sync_dir};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn config(url: &str) -> Config {
    let text = format!(
        "default_model = \"local:tiny\"\n[providers.local]\nkind = \"openai\"\nbase_url = \"{url}\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(Some(&path), std::iter::empty()).unwrap()
}

fn spec(prompt: &str) -> JobSpec {
    JobSpec { prompt: Some(prompt.into()), ..JobSpec::default() }
}

/// The floor any durable queue pays per job on this disk: a durable
/// enqueue (write, fsync, rename, fsync dir) and two rename + fsync-dir steps.
fn baseline_round(root: &Path, n: usize) -> f64 {
    let dirs: Vec<_> = ["tmp", "q", "a", "c"].iter().map(|d| root.join(d)).collect();
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
    }
    let body = vec![b'x'; 400];
    let t0 = Instant::now();
    for i in 0..n {
        let name = format!("{i}.json");
        let tmp = dirs[0].join(&name);
        std::fs::write(&tmp, &body).unwrap();
        std::fs::File::open(&tmp).unwrap().sync_all().unwrap();
        std::fs::rename(&tmp, dirs[1].join(&name)).unwrap();
        sync_dir(&dirs[1]).unwrap();
        std::fs::rename(dirs[1].join(&name), dirs[2].join(&name)).unwrap();
        sync_dir(&dirs[2]).unwrap();
        std::fs::rename(dirs[2].join(&name), dirs[3].join(&name)).unwrap();
        sync_dir(&dirs[3]).unwrap();
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

/// The same life of a job through ctl's own code, minus the model call:
/// submit, claim, `started`, durable `done`, SQLite record, finish.
fn ctl_round(root: &Path, n: usize) -> f64 {
    let local = Local::open(root.to_path_buf(), config("http://127.0.0.1:9/v1")).unwrap();
    let lease = WorkerLease::acquire(&local.home.workers_dir()).unwrap();
    let t0 = Instant::now();
    for _ in 0..n {
        let job = local.submit(spec("noop")).unwrap();
        let Claim::Won(job) = local.queue.claim(&job.id, &lease).unwrap() else { panic!("lost") };
        let path = local.home.events_path(&job.id);
        let mut w = EventWriter::open(&path).unwrap();
        w.append(EventBody::Started { attempt: 1, worker: lease.id().into(), model: job.model.clone() })
            .unwrap();
        w.append_durable(EventBody::Done { finish_reason: None }).unwrap();
        let summary = Summary::from_events(&ctl::events::read_all(&path).unwrap());
        local.store.record(&view_of(&job, JobState::Completed, &summary)).unwrap();
        local.queue.finish(&job.id, Dir::Completed).unwrap();
        lease.release(&job.id);
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

fn bench_queue(rounds: usize, n: usize) -> Vec<String> {
    let (mut base, mut ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let dir =
            tempfile::tempdir_in(std::env::var("CTL_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
        let b = baseline_round(&dir.path().join(format!("base{r}")), n);
        let c = ctl_round(&dir.path().join(format!("ctl{r}")), n);
        base.push(b);
        ours.push(c);
        ratios.push(c / b);
    }
    vec![format!(
        "| durable queue, no-op job life (library) | {:.0} jobs/s | baseline {:.0} jobs/s | ratio {:.2} (median of {rounds} rounds of {n}) |",
        median(ours),
        median(base),
        median(ratios)
    )]
}

/// Jobs/s through a real `ctl worker` process with max_tokens=1.
fn bench_worker(url: &str, n: usize) -> String {
    let dir = tempfile::tempdir_in(std::env::var("CTL_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let cfg_path = dir.path().join("ctl.toml");
    std::fs::write(
        &cfg_path,
        format!("default_model = \"local:tiny\"\n[providers.local]\nkind = \"openai\"\nbase_url = \"{url}\"\n[worker]\nconcurrency = 4\n"),
    )
    .unwrap();
    let home = dir.path().join("home");
    let local = Local::open(home.clone(), config(url)).unwrap();
    let mut ids = Vec::new();
    let mut spec = spec("hi");
    spec.params.insert("max_tokens".into(), 1.into());
    let t0 = Instant::now();
    let mut worker = Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(["worker"])
        .env("CTL_HOME", &home)
        .env("CTL_CONFIG", &cfg_path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..n {
        ids.push(local.submit(spec.clone()).unwrap().id);
    }
    while local.queue.list(Dir::Completed).unwrap().len() < n {
        std::thread::sleep(Duration::from_millis(5));
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    let _ = worker.kill();
    let _ = worker.wait();
    format!(
        "| end to end through `ctl worker` (concurrency 4, max_tokens=1, tiny llama.cpp model) | {rate:.0} jobs/s | | {n} jobs |"
    )
}

/// First token: straight from the server vs. submit → worker → event log → follower.
fn bench_ttft(url: &str, rounds: usize) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir_in(std::env::var("CTL_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let cfg_path = dir.path().join("ctl.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "default_model = \"local:tiny\"\n[providers.local]\nkind = \"openai\"\nbase_url = \"{url}\"\n"
        ),
    )
    .unwrap();
    let home = dir.path().join("home");
    let local = Local::open(home.clone(), config(url)).unwrap();
    let mut worker = Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(["worker"])
        .env("CTL_HOME", &home)
        .env("CTL_CONFIG", &cfg_path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let provider = ctl::provider::build("local", &local.config.providers["local"]).unwrap();
    let (mut direct, mut through, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut params = ctl::api::Params::new();
        params.insert("max_tokens".into(), 8.into());
        let d = rt.block_on(async {
            use futures_util::StreamExt;
            let t0 = Instant::now();
            let req = ctl::provider::ChatRequest {
                model: "tiny".into(),
                messages: vec![ctl::api::Message::new(ctl::api::Role::User, "hi")],
                params: params.clone(),
            };
            let mut s = provider.chat(req).await.unwrap();
            while let Some(ev) = s.next().await {
                if matches!(ev.unwrap(), ctl::provider::ChatEvent::Token(_)) {
                    break;
                }
            }
            let d = t0.elapsed().as_secs_f64() * 1000.0;
            while s.next().await.is_some() {}
            d
        });
        let mut sp = spec("hi");
        sp.params = params;
        let t = rt.block_on(async {
            use futures_util::StreamExt;
            let t0 = Instant::now();
            let job = local.submit(sp).unwrap();
            let mut ev = ctl::events::follow(local.home.events_path(&job.id), None);
            let mut first = None;
            while let Some(e) = ev.next().await {
                if first.is_none() && matches!(e.unwrap().body, EventBody::Token { .. }) {
                    first = Some(t0.elapsed().as_secs_f64() * 1000.0);
                }
            }
            first.unwrap()
        });
        direct.push(d);
        through.push(t);
        overhead.push(t - d);
    }
    let _ = worker.kill();
    let _ = worker.wait();
    format!(
        "| time to first token, direct vs. through submit + worker + event log | {:.1} ms through ctl (p90 {:.1}) | {:.1} ms direct | overhead p50 {:.1} ms ({rounds} rounds) |",
        median(through.clone()),
        percentile(through, 0.9),
        median(direct),
        median(overhead)
    )
}

/// `ctl up`: start to `/readyz` answering 200, and resident memory after
/// `idle` seconds of doing nothing (serve + worker in one process).
fn bench_up(rounds: usize, idle: Duration) -> Vec<String> {
    use std::io::BufRead;
    let mut ready = Vec::new();
    let mut rss = Vec::new();
    for r in 0..rounds {
        let dir =
            tempfile::tempdir_in(std::env::var("CTL_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
        let cfg = dir.path().join("ctl.toml");
        std::fs::write(&cfg, "").unwrap();
        // The first start creates the database and the login token; time
        // the second, like a user's every-day start.
        for start in 0..2 {
            let t0 = Instant::now();
            let mut child = Command::new(env!("CARGO_BIN_EXE_ctl"))
                .args(["up", "--listen", "127.0.0.1:0"])
                .env("CTL_HOME", dir.path().join("home"))
                .env("CTL_CONFIG", &cfg)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
            let base =
                line.trim().trim_start_matches("ctl is up: open ").split("/login").next().unwrap().to_owned();
            let addr = base.trim_start_matches("http://").to_owned();
            loop {
                if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                    use std::io::{Read, Write};
                    let _ = write!(s, "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                    let mut resp = String::new();
                    let _ = s.read_to_string(&mut resp);
                    if resp.starts_with("HTTP/1.1 200") {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            if start == 1 {
                ready.push(ms);
                if r == 0 {
                    std::thread::sleep(idle);
                    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
                    let kb: f64 = status
                        .lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse().ok())
                        .unwrap();
                    rss.push(kb / 1024.0);
                }
            }
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
    vec![
        format!(
            "| `ctl up` start to `/readyz` 200 | {:.1} ms (median of {rounds}) | | second start on a data directory |",
            median(ready)
        ),
        format!(
            "| `ctl up` resident memory after {} s idle | {:.1} MB | | serve + worker, VmRSS |",
            idle.as_secs(),
            median(rss)
        ),
    ]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 200 } else { 1000 };
    let mut rows = bench_queue(5, n);
    rows.extend(bench_up(5, Duration::from_secs(if quick { 5 } else { 60 })));
    match std::env::var("CTL_BENCH_LLM_URL") {
        Ok(url) => {
            rows.push(bench_worker(&url, if quick { 100 } else { 300 }));
            rows.push(bench_ttft(&url, if quick { 10 } else { 30 }));
        }
        Err(_) => eprintln!("CTL_BENCH_LLM_URL not set: skipping the worker and TTFT benchmarks"),
    }
    println!("| benchmark | ctl | baseline | notes |\n|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
