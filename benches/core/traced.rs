//! The cost of trace export: pickup and TTFT overhead again with every
//! `ctl` exporting OTLP traces to a receiver on loopback, against the same
//! rows with tracing off measured earlier in the same run, and `ctl up`'s
//! idle memory with tracing on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::report::{Report, Row, Target, num};
use crate::up::{ctl_up, start};
use crate::util::{Env, rss_mb, set_trace_endpoint};
use crate::{pickup, stream};

/// An OTLP/HTTP receiver that accepts every export and counts the bytes;
/// it runs until the process ends.
fn receiver() -> (String, Arc<AtomicUsize>) {
    let bytes = Arc::new(AtomicUsize::new(0));
    let counted = bytes.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(move |body: axum::body::Bytes| {
                    counted.fetch_add(body.len(), Ordering::Relaxed);
                    async { axum::http::StatusCode::OK }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, bytes)
}

/// `untraced` are this run's `pickup_p50_ms` and `ttft_overhead_p50_ms`.
pub fn bench(
    report: &mut Report,
    upstream_url: &str,
    pickup_args: (usize, f64, usize),
    ttft_rounds: usize,
    idle: Duration,
    untraced: (Option<f64>, Option<f64>),
) {
    let (url, bytes) = receiver();
    set_trace_endpoint(Some(url));
    let keys = pickup::Keys {
        p50: "pickup_p50_ms_traced",
        p99: "pickup_p99_ms_traced",
        note: ", traces exported",
        detail: "pickup_traced",
    };
    let (total, per_s, rounds) = pickup_args;
    let pickup = pickup::bench(report, upstream_url, total, per_s, rounds, &keys);
    let ttft =
        stream::bench_ttft(report, upstream_url, "bench", ttft_rounds, Some("ttft_overhead_p50_ms_traced"));

    let env = Env::new(upstream_url, "bench", "");
    let (up, _) = start(ctl_up(&env), true);
    std::thread::sleep(idle);
    let rss = rss_mb(up.pid());
    up.terminate();
    set_trace_endpoint(None);
    let exported = bytes.load(Ordering::Relaxed);
    assert!(exported > 0, "no trace reached the receiver: tracing was not on");

    let ratio = |traced: f64, plain: Option<f64>| plain.filter(|p| *p > 0.0).map(|p| traced / p);
    if let Some(r) = ratio(pickup, untraced.0) {
        report.metric("tracing_pickup_ratio", r, Target::AtMost(1.1));
        report.row(Row {
            key: Some("tracing_pickup_ratio"),
            what: "`pickup_p50_ms` with traces exported to an OTLP receiver on loopback ÷ the same with tracing off".into(),
            ctl: format!("{} ms", num(pickup)),
            baseline: format!("{} ms (tracing off, earlier in this run)", num(untraced.0.unwrap_or_default())),
            notes: format!("ratio {}; the two runs are sequential, not interleaved", num(r)),
        });
    }
    if let Some(r) = ratio(ttft, untraced.1) {
        report.metric("tracing_ttft_ratio", r, Target::AtMost(1.1));
        report.row(Row {
            key: Some("tracing_ttft_ratio"),
            what:
                "`ttft_overhead_p50_ms` with traces exported (serve and worker) ÷ the same with tracing off"
                    .into(),
            ctl: format!("{} ms", num(ttft)),
            baseline: format!(
                "{} ms (tracing off, earlier in this run)",
                num(untraced.1.unwrap_or_default())
            ),
            notes: format!("ratio {}; overheads of a few ms swing by more than 10 % between runs", num(r)),
        });
    }
    report.metric("idle_rss_mb_traced", rss, Target::AtMost(30.0));
    report.row(Row {
        key: Some("idle_rss_mb_traced"),
        what: format!("`ctl up` VmRSS after {} s idle with traces exported", idle.as_secs()),
        ctl: format!("{} MB", num(rss)),
        baseline: "see `idle_rss_mb` (tracing off)".into(),
        notes: format!("{} bytes of OTLP received during the tracing rows", num(exported as f64)),
    });
    report.detail("tracing", json!({ "pickup_p50_ms": pickup, "ttft_overhead_p50_ms": ttft, "idle_rss_mb": rss, "otlp_bytes": exported }));
}
