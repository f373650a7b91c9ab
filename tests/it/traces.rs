//! Traces and JSON logs: a real `ctl serve` and `ctl worker` exporting
//! OTLP over HTTP/protobuf to a receiver that decodes opentelemetry-proto.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helper::otlp::{Collector, RecvSpan};
use crate::helper::{Env, client};

/// An installation that exports traces to `collector` quickly.
fn traced_env(collector: &Collector) -> Env {
    let mut env = Env::new();
    env.set("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url);
    env.set("OTEL_BSP_SCHEDULE_DELAY", "100");
    env
}

fn one<'a>(spans: &'a [RecvSpan], name: &str) -> &'a RecvSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "spans named {name:?}: {found:#?}");
    found[0]
}

#[test]
fn one_job_over_the_api_is_one_trace_across_serve_and_worker() {
    let collector = Collector::start();
    let env = traced_env(&collector);
    let token = env.token("t");
    let server = env.serve();
    let mut worker = env.worker(&[]);
    // The client's own trace: ctl honours the incoming traceparent.
    let (trace_id, client_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let id = rt.block_on(async {
        let r = client()
            .post(format!("{}/api/v1/jobs", server.url))
            .bearer_auth(&token)
            .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
            .json(&json!({ "prompt": "trace me", "params": { "max_tokens": 8 } }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    });
    let job = env.wait_finished(&id, 60);
    assert_eq!(job["state"], "completed", "{job}");
    // The job file carries the request's trace.
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.queue_dir("_completed").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    assert!(file["traceparent"].as_str().unwrap().starts_with(&format!("00-{trace_id}-")), "{file}");
    worker.terminate(20);

    let spans = collector.wait(30, "the job's spans", |s| {
        ["POST /api/v1/jobs", "job", "claim", "attempt", "chat local:tiny"]
            .iter()
            .all(|n| s.iter().any(|x| x.name == *n))
    });
    let spans: Vec<RecvSpan> = spans.into_iter().filter(|s| s.trace_id == trace_id).collect();
    let http = one(&spans, "POST /api/v1/jobs");
    let job_span = one(&spans, "job");
    let claim = one(&spans, "claim");
    let attempt = one(&spans, "attempt");
    let chat = one(&spans, "chat local:tiny");
    // Parent order: client → request → job → claim, attempt → model call.
    assert_eq!(http.parent_id, client_span);
    assert_eq!(job_span.parent_id, http.span_id);
    assert_eq!(claim.parent_id, job_span.span_id);
    assert_eq!(attempt.parent_id, job_span.span_id);
    assert_eq!(chat.parent_id, attempt.span_id);
    // Two processes: the request's span from serve, the rest from the worker.
    assert_eq!(http.resource["ctl.command"], "serve");
    for s in [job_span, claim, attempt, chat] {
        assert_eq!(s.resource["ctl.command"], "worker", "{s:#?}");
    }
    let pids: BTreeSet<_> = [http, chat].iter().map(|s| s.resource["process.pid"].clone()).collect();
    assert_eq!(pids.len(), 2);
    assert_eq!(http.resource["service.name"], "ctl");
    assert_eq!((http.kind, job_span.kind, chat.kind), (2, 5, 3), "server, consumer, client");
    assert_eq!(http.attrs["http.response.status_code"], "202");
    // The model call's attributes match what the job recorded.
    assert_eq!(job_span.attrs["job.id"], id);
    assert_eq!(attempt.attrs["attempt"], "1");
    assert_eq!(chat.attrs["gen_ai.request.model"], "local:tiny");
    assert_eq!(chat.attrs["gen_ai.usage.output_tokens"], job["usage"]["completion_tokens"].to_string());
    assert_eq!(chat.attrs["gen_ai.usage.input_tokens"], job["usage"]["prompt_tokens"].to_string());
    let ttft: f64 = chat.attrs["ctl.ttft_ms"].parse().unwrap();
    assert!(ttft > 0.0 && ttft < 60_000.0, "{chat:#?}");
    drop(server);
}

#[test]
fn ctl_submit_starts_the_trace_and_json_logs_carry_its_ids() {
    let collector = Collector::start();
    let mut env = traced_env(&collector);
    env.set("OTEL_SERVICE_NAME", "ctl-test");
    env.set("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test");
    let id = env.submit("trace me too", &["-p", "max_tokens=4"]);
    let mut worker = env.worker(&[("CTL_LOG_FORMAT", "json")]);
    env.wait_finished(&id, 60);
    worker.terminate(20);
    let spans = collector.wait(30, "submit and job spans", |s| {
        s.iter().any(|x| x.name == "ctl submit") && s.iter().any(|x| x.name == "job")
    });
    let submit = one(&spans, "ctl submit");
    let job = one(&spans, "job");
    assert_eq!(job.trace_id, submit.trace_id);
    assert_eq!(job.parent_id, submit.span_id);
    assert_eq!(submit.resource["ctl.command"], "submit");
    assert_eq!(submit.kind, 4, "producer");
    assert_eq!(job.resource["service.name"], "ctl-test");
    assert_eq!(job.resource["deployment.environment"], "test");

    // Every log line is one JSON object; the lines written inside the job
    // carry its trace id.
    let log = worker.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.starts_with("worker ")) // the banner on stderr
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let started = lines.iter().find(|l| l["fields"]["message"] == "job started").expect("a job started line");
    assert_eq!(started["level"], "INFO");
    assert_eq!(started["trace_id"], job.trace_id.as_str(), "{started}");
    assert_eq!(started["fields"]["id"], id.as_str());
    assert!(started["span_id"].as_str().is_some_and(|s| s.len() == 16), "{started}");
}

#[test]
fn json_logs_without_export_still_carry_trace_ids_and_tracing_off_exports_nothing() {
    let collector = Collector::start();
    let env = Env::new();
    let id = env.submit("no export", &["-p", "max_tokens=4"]);
    let mut worker = env.worker(&[("CTL_LOG_FORMAT", "json")]);
    env.wait_finished(&id, 60);
    worker.terminate(20);
    let log = worker.log_text();
    let started = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "job started")
        .unwrap_or_else(|| panic!("no JSON job started line in:\n{log}"));
    assert!(started["trace_id"].as_str().is_some_and(|s| s.len() == 32), "{started}");
    // No endpoint: no trace context in the job file, nothing sent anywhere.
    let file = std::fs::read_to_string(env.queue_dir("_completed").join(format!("{id}.json"))).unwrap();
    assert!(!file.contains("traceparent"), "{file}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(collector.spans().is_empty());
}

#[test]
fn doctor_checks_that_the_trace_endpoint_answers() {
    let collector = Collector::start();
    let mut env = traced_env(&collector);
    env.set("OTEL_EXPORTER_OTLP_HEADERS_FILE", &{
        let p = env.dir.path().join("otlp-headers");
        std::fs::write(&p, "authorization=Bearer%20doctor-secret-77\n").unwrap();
        p.to_str().unwrap().to_owned()
    });
    let out = env.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.contains("traces")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("ok") && line.contains(&format!("{}/v1/traces", collector.url)), "{text}");
    assert!(!text.contains("doctor-secret-77"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while collector.headers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(collector.headers()[0]["authorization"], "Bearer doctor-secret-77", "headers from the _FILE");

    // Nothing listening: the check fails and says where it looked.
    let mut dead = Env::new();
    dead.set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1");
    let out = dead.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.contains("traces")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("FAIL") && line.contains("http://127.0.0.1:1/v1/traces"), "{text}");
}
