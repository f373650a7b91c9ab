//! Core benchmarks of ctl, each against a physical baseline measured in the
//! same run, interleaved with it: these machines are shared, and an
//! absolute disk figure swings by several times within minutes.
//!
//! Run with `bench/run [--quick]`, which builds this in release mode, runs
//! it, and puts the results into BENCHMARKS.md. On its own:
//! `cargo bench --bench core -- [--quick]` writes `target/bench/summary.json`
//! and `target/bench/results.md`.
//!
//! Environment: `CTL_BENCH_DIR` (where data directories go, default
//! `target/bench/work`), `CTL_BENCH_OUT` (default `target/bench`),
//! `CTL_BENCH_ONLY` (comma-separated sections: queue, pickup, append, ttft,
//! gateway, fanout, up, pg, recovery, tools, tracing, rag, llm), `CTL_BENCH_WRAP` (a profiler command every
//! `ctl` process runs under), and `CTL_BENCH_LLM_URL` (+
//! `CTL_BENCH_LLM_MODEL`, default `tiny`): an OpenAI-compatible server's
//! `/v1` URL for the rows against a real model.

mod append;
mod pg;
mod pickup;
mod queue;
mod rag;
mod recovery;
mod report;
mod stream;
mod tools;
mod traced;
mod up;
mod upstream;
mod util;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use report::{Machine, Report};
use upstream::Upstream;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == up::BASELINE_FLAG) {
        up::baseline_server();
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only: Option<Vec<String>> =
        std::env::var("CTL_BENCH_ONLY").ok().map(|s| s.split(',').map(|p| p.trim().to_owned()).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|p| p == name));
    let pick = |q: usize, full: usize| if quick { q } else { full };
    let t0 = Instant::now();
    let upstream = Upstream::start();
    let url = upstream.url.clone();
    let mut report = Report::default();
    let section = |name: &str| eprintln!("== {name} ({:.0} s)", t0.elapsed().as_secs_f64());

    if wanted("queue") {
        section("queue_durable_ratio");
        queue::bench(&mut report, &url, 5, pick(200, 1000));
    }
    let pickup_args = if quick { (200, 20.0, 5) } else { (1000, 10.0, 5) };
    let mut pickup_p50 = None;
    if wanted("pickup") {
        section("pickup");
        let (n, rate, rounds) = pickup_args;
        pickup_p50 = Some(pickup::bench(&mut report, &url, n, rate, rounds, &pickup::PLAIN));
    }
    if wanted("append") {
        section("append_tokens_per_s");
        append::bench(&mut report, 5, pick(100_000, 200_000));
    }
    let mut ttft_p50 = None;
    if wanted("ttft") {
        section("ttft_overhead_p50_ms");
        ttft_p50 =
            Some(stream::bench_ttft(&mut report, &url, "bench", pick(20, 50), Some("ttft_overhead_p50_ms")));
    }
    if wanted("gateway") {
        section("gateway_ttft_overhead_p50_ms");
        stream::bench_gateway_ttft(&mut report, &url, pick(20, 50));
    }
    if wanted("fanout") {
        section("sse_fanout_tokens_per_s");
        stream::bench_fanout(&mut report, &upstream, 100, pick(10_000, 20_000), 5);
    }
    if wanted("up") {
        section("ready_ms, idle_rss_mb");
        up::bench(&mut report, &url, 5, Duration::from_secs(if quick { 10 } else { 60 }));
    }
    if wanted("tracing") {
        section("tracing: pickup, ttft, idle_rss_mb with traces exported");
        let idle = Duration::from_secs(if quick { 10 } else { 60 });
        traced::bench(&mut report, &url, pickup_args, pick(20, 50), idle, (pickup_p50, ttft_p50));
    }
    if wanted("pg") {
        section("pg_queue_ratio, pg_pickup_p50_ms");
        pg::bench(&mut report, &url, pick(200, 1000), pick(50, 200));
        section("pg_sse_fanout_tokens_per_s");
        pg::bench_fanout(&mut report, &upstream, 100, pick(10_000, 20_000), pick(3, 5));
    }
    if wanted("recovery") {
        section("recovery_10k_ms");
        recovery::bench(&mut report, &url, 5, 10_000);
    }
    if wanted("tools") {
        section(
            "mcp_call_overhead_p50_ms, run_code_overhead_p50_ms, fetch_ratio, tool_round_overhead_p50_ms",
        );
        tools::bench(&mut report, &url, pick(100, 300));
    }
    if wanted("rag") {
        section("rag_vector_scan_ratio");
        rag::bench_scan(&mut report, pick(50_000, 200_000), 384, pick(20, 50), 5);
        section("rag_mrr10_*, rag_recall10_*");
        rag::bench_quality(&mut report);
        section("rag_reindex_*, rag_query_p50_ms, rag_serve_rss_mb");
        rag::bench_scale(&mut report, &upstream, pick(2_000, 10_000), pick(50, 200), 5);
    }
    match std::env::var("CTL_BENCH_LLM_URL") {
        Ok(llm) if wanted("llm") => {
            let model = std::env::var("CTL_BENCH_LLM_MODEL").unwrap_or_else(|_| "tiny".into());
            section("against CTL_BENCH_LLM_URL");
            queue::bench_llm(&mut report, &llm, &model, pick(100, 300));
            stream::bench_ttft(&mut report, &llm, &model, pick(10, 30), None);
        }
        Ok(_) => {}
        Err(_) => eprintln!("CTL_BENCH_LLM_URL not set: skipping the rows against a real model server"),
    }
    drop(upstream);

    let out = std::env::var_os("CTL_BENCH_OUT").map_or_else(|| PathBuf::from("target/bench"), PathBuf::from);
    let mut mode = if quick { "quick" } else { "full" }.to_owned();
    if let Some(only) = &only {
        mode = format!("{mode}, only {}", only.join(", "));
    }
    report.write(&out, &Machine::detect(), &mode, t0.elapsed().as_secs_f64());
    print!("{}", std::fs::read_to_string(out.join("results.md")).unwrap());
}
