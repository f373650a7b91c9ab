//! Streaming through ctl: time to first token through a real `ctl serve` +
//! `ctl worker` + event log + SSE against reading the same upstream
//! directly, and one job's tokens fanned out to many SSE clients against
//! the upstream streaming to as many clients itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::report::{Report, Row, Target, num};
use crate::upstream::{TOKEN_PREFIX, Upstream};
use crate::util::{Env, Proc, for_each_line, http_client, median, ms_since, now_ns, percentile};

/// `ctl serve` and `ctl worker` on one data directory, and an API token.
struct Stack {
    env: Env,
    _serve: Proc,
    _worker: Proc,
    base: String,
    token: String,
}

impl Stack {
    fn start(url: &str, model: &str) -> Self {
        let env = Env::new(url, model, "");
        let token = env.token();
        let (serve, base) = env.serve();
        let worker = env.worker(&[]);
        Self { env, _serve: serve, _worker: worker, base, token }
    }

    /// `POST /api/v1/jobs`; the new job's id.
    async fn submit(&self, client: &reqwest::Client, spec: Value) -> String {
        let resp = client
            .post(format!("{}/api/v1/jobs", self.base))
            .bearer_auth(&self.token)
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "submit: {}", resp.text().await.unwrap_or_default());
        resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// `GET /api/v1/jobs/{id}/events` (SSE).
    async fn events(&self, client: &reqwest::Client, id: &str) -> reqwest::Response {
        let resp = client
            .get(format!("{}/api/v1/jobs/{id}/events", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// Does an OpenAI SSE line carry a (non-empty) token?
fn is_token_line(line: &[u8]) -> bool {
    let Some(data) = line.strip_prefix(b"data: ") else { return false };
    if data.starts_with(b"[DONE]") {
        return false;
    }
    serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| v["choices"][0]["delta"]["content"].as_str().map(|s| !s.is_empty()))
        .unwrap_or(false)
}

/// Time to the first token read straight from the upstream, in ms.
async fn direct(client: &reqwest::Client, url: &str, model: &str, max_tokens: u64) -> f64 {
    let t0 = Instant::now();
    let resp = client
        .post(format!("{url}/chat/completions"))
        .json(&json!({
            "model": model, "messages": [{ "role": "user", "content": "hi" }], "max_tokens": max_tokens,
            "stream": true, "stream_options": { "include_usage": true },
        }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "upstream answered {}", resp.status());
    let mut first = None;
    for_each_line(resp, |line| {
        if first.is_none() && is_token_line(line) {
            first = Some(ms_since(t0));
        }
        true
    })
    .await;
    first.expect("the upstream sent no token")
}

/// Where the time of one first token through ctl went, in ms from the start.
struct Through {
    /// `POST /jobs` answered.
    submitted: f64,
    /// The SSE response's headers arrived.
    headers: f64,
    /// The worker wrote the first `token` event (its `ts` in the log).
    logged: f64,
    /// The client read the first `token` event.
    first: f64,
}

/// Time to the first `token` event through ctl: `POST /jobs`, then the
/// job's SSE stream until its first token.
async fn through(client: &reqwest::Client, stack: &Stack, max_tokens: u64) -> Through {
    let (t0, t0_ns) = (Instant::now(), now_ns());
    let id = stack.submit(client, json!({ "prompt": "hi", "params": { "max_tokens": max_tokens } })).await;
    let submitted = ms_since(t0);
    let resp = stack.events(client, &id).await;
    let headers = ms_since(t0);
    let mut first = None;
    for_each_line(resp, |line| {
        if first.is_none() && line == b"event: token" {
            first = Some(ms_since(t0));
        }
        true
    })
    .await;
    let first = first.unwrap_or_else(|| panic!("job {id} streamed no token"));
    let log = ctl::events::read_all(&stack.env.home.join("events").join(format!("{id}.ndjson"))).unwrap();
    let token_ts = log.iter().find(|e| e.body.kind() == "token").map(|e| e.ts.as_nanosecond()).unwrap();
    Through { submitted, headers, logged: (token_ts - t0_ns) as f64 / 1e6, first }
}

/// `ttft_overhead_p50_ms` on the fast upstream (`key`), or the TTFT row
/// against a real model server (no key).
pub fn bench_ttft(
    report: &mut Report,
    url: &str,
    model: &str,
    rounds: usize,
    key: Option<&'static str>,
) -> f64 {
    let stack = Stack::start(url, model);
    let rt = runtime();
    let client = http_client();
    let max_tokens = 8;
    let (mut d, mut t, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    let (mut submit_ms, mut headers_ms, mut logged_ms) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        // Warm both paths (connections, page cache) before measuring.
        direct(&client, url, model, max_tokens).await;
        through(&client, &stack, max_tokens).await;
        for r in 0..rounds {
            let (a, th) = if r % 2 == 0 {
                let a = direct(&client, url, model, max_tokens).await;
                (a, through(&client, &stack, max_tokens).await)
            } else {
                let b = through(&client, &stack, max_tokens).await;
                (direct(&client, url, model, max_tokens).await, b)
            };
            submit_ms.push(th.submitted);
            headers_ms.push(th.headers);
            logged_ms.push(th.logged);
            d.push(a);
            t.push(th.first);
            overhead.push(th.first - a);
        }
    });
    let p50 = median(&overhead);
    if let Some(key) = key {
        report.metric(key, p50, Target::AtMost(5.0));
    }
    let source = if key.is_some() {
        "the fast upstream".to_owned()
    } else {
        format!("the model server at `CTL_BENCH_LLM_URL` (model `{model}`)")
    };
    report.row(Row {
        key,
        what: format!(
            "first token through HTTP submit + `ctl worker` + event log + `ctl serve` SSE, minus first token read directly from {source}"
        ),
        ctl: format!("{} ms (p90 {})", num(median(&t)), num(percentile(&t, 0.9))),
        baseline: format!("{} ms direct", num(median(&d))),
        notes: format!(
            "overhead p50 {} ms, p90 {} ms ({rounds} interleaved rounds, max_tokens={max_tokens})",
            num(p50),
            num(percentile(&overhead, 0.9))
        ),
    });
    let name = match key {
        Some("ttft_overhead_p50_ms") => "ttft",
        Some(k) => k,
        None => "ttft_llm",
    };
    report.detail(
        name,
        json!({ "url": url, "rounds": rounds, "through_ms": t, "direct_ms": d, "overhead_ms": overhead,
                "overhead_p50_ms": p50, "submit_answered_ms": submit_ms, "sse_headers_ms": headers_ms,
                "token_logged_ms": logged_ms }),
    );
    p50
}

/// Lines up `clients` readers of one held job, releases it, and returns
/// the tokens all of them received per second (clock: release → last
/// reader's stream ended). The job is submitted to the first server; the
/// readers are spread over all of `bases` (each `ctl serve`'s URL), with
/// `token` valid on each.
pub async fn ctl_fanout(
    client: &reqwest::Client,
    bases: &[String],
    token: &str,
    up: &Upstream,
    clients: usize,
    tokens: usize,
) -> f64 {
    let spec = json!({ "prompt": "fan out", "params": { "max_tokens": tokens, "bench_hold": true } });
    let resp =
        client.post(format!("{}/api/v1/jobs", bases[0])).bearer_auth(token).json(&spec).send().await.unwrap();
    assert_eq!(resp.status(), 202, "submit: {}", resp.text().await.unwrap_or_default());
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    wait(|| up.waiting() == 1, "the worker to call the upstream").await;
    let ready = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (client, id, ready) = (client.clone(), id.clone(), ready.clone());
        let url = format!("{}/api/v1/jobs/{id}/events", bases[i % bases.len()]);
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let resp = client.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(resp.status(), 200);
            let mut n = 0usize;
            for_each_line(resp, |line| {
                if line == b"event: token" {
                    n += 1;
                } else if line == b"event: started" {
                    ready.fetch_add(1, Ordering::SeqCst);
                }
                true
            })
            .await;
            n
        }));
    }
    wait(|| ready.load(Ordering::SeqCst) == clients, "every SSE client to see `started`").await;
    let t0 = Instant::now();
    up.release(1);
    let mut total = 0;
    for task in tasks {
        let n = task.await.unwrap();
        assert_eq!(n, tokens, "an SSE client of job {id} got {n} of {tokens} tokens");
        total += n;
    }
    total as f64 / t0.elapsed().as_secs_f64()
}

/// The floor: the upstream itself streaming `tokens` to each of `clients`
/// readers at once (the same SSE framing cost per token, no ctl).
pub async fn upstream_fanout(client: &reqwest::Client, up: &Upstream, clients: usize, tokens: usize) -> f64 {
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url) = (client.clone(), up.url.clone());
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(format!("{url}/chat/completions"))
                .json(&json!({
                    "model": "bench", "messages": [{ "role": "user", "content": "fan out" }],
                    "max_tokens": tokens, "stream": true, "bench_hold": true,
                }))
                .send()
                .await
                .unwrap();
            let mut n = 0usize;
            for_each_line(resp, |line| {
                n += usize::from(line.starts_with(TOKEN_PREFIX));
                true
            })
            .await;
            n
        }));
    }
    wait(|| up.waiting() == clients, "every direct client to reach the upstream").await;
    let t0 = Instant::now();
    up.release(clients);
    let mut total = 0;
    for task in tasks {
        let n = task.await.unwrap();
        assert_eq!(n, tokens);
        total += n;
    }
    total as f64 / t0.elapsed().as_secs_f64()
}

async fn wait(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `sse_fanout_tokens_per_s`.
pub fn bench_fanout(report: &mut Report, up: &Upstream, clients: usize, tokens: usize, rounds: usize) {
    let stack = Stack::start(&up.url, "bench");
    let bases = [stack.base.clone()];
    let rt = runtime();
    let client = http_client();
    let (mut ours, mut base, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for r in 0..rounds {
            let (c, b) = if r % 2 == 0 {
                let c = ctl_fanout(&client, &bases, &stack.token, up, clients, tokens).await;
                (c, upstream_fanout(&client, up, clients, tokens).await)
            } else {
                let b = upstream_fanout(&client, up, clients, tokens).await;
                (ctl_fanout(&client, &bases, &stack.token, up, clients, tokens).await, b)
            };
            eprintln!("  round {r}: ctl {c:.0} tokens/s, upstream {b:.0} tokens/s");
            ours.push(c);
            base.push(b);
            ratios.push(c / b);
        }
    });
    let rate = median(&ours);
    report.metric("sse_fanout_tokens_per_s", rate, Target::AtLeast(50_000.0));
    report.row(Row {
        key: Some("sse_fanout_tokens_per_s"),
        what: format!(
            "tokens delivered to {clients} SSE clients of one {}-token job, all clients together (release of the held upstream → last stream ended)",
            num(tokens as f64)
        ),
        ctl: format!("{} tokens/s", num(rate)),
        baseline: format!("{} tokens/s (the upstream streaming to {clients} clients itself)", num(median(&base))),
        notes: format!("ratio {:.2} (median of {rounds} rounds)", median(&ratios)),
    });
    report.detail(
        "sse_fanout",
        json!({ "clients": clients, "tokens": tokens, "ctl_tokens_per_s": ours, "upstream_tokens_per_s": base, "ratios": ratios }),
    );
}

/// Time to the first token through ctl's OpenAI-compatible endpoint: one
/// streamed `POST /v1/chat/completions`, which submits a job and streams
/// it back from the event log.
async fn through_gateway(client: &reqwest::Client, stack: &Stack, max_tokens: u64) -> f64 {
    let t0 = Instant::now();
    let resp = client
        .post(format!("{}/v1/chat/completions", stack.base))
        .bearer_auth(&stack.token)
        .json(&json!({
            "model": "bench:bench", "messages": [{ "role": "user", "content": "hi" }],
            "max_tokens": max_tokens, "stream": true,
        }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "the gateway answered {}", resp.status());
    let mut first = None;
    for_each_line(resp, |line| {
        if first.is_none() && is_token_line(line) {
            first = Some(ms_since(t0));
        }
        true
    })
    .await;
    first.expect("the gateway streamed no token")
}

/// `gateway_ttft_overhead_p50_ms`: first token through
/// `/v1/chat/completions` on ctl minus first token straight from the fast
/// upstream, interleaved.
pub fn bench_gateway_ttft(report: &mut Report, url: &str, rounds: usize) {
    let stack = Stack::start(url, "bench");
    let rt = runtime();
    let client = http_client();
    let max_tokens = 8;
    let (mut d, mut t, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        direct(&client, url, "bench", max_tokens).await;
        through_gateway(&client, &stack, max_tokens).await;
        for r in 0..rounds {
            let (a, b) = if r % 2 == 0 {
                let a = direct(&client, url, "bench", max_tokens).await;
                (a, through_gateway(&client, &stack, max_tokens).await)
            } else {
                let b = through_gateway(&client, &stack, max_tokens).await;
                (direct(&client, url, "bench", max_tokens).await, b)
            };
            d.push(a);
            t.push(b);
            overhead.push(b - a);
        }
    });
    let p50 = median(&overhead);
    report.metric("gateway_ttft_overhead_p50_ms", p50, Target::AtMost(5.0));
    report.row(Row {
        key: Some("gateway_ttft_overhead_p50_ms"),
        what: "first token through ctl's `/v1/chat/completions` (a job: submit, worker, event log, \
               OpenAI chunks), minus first token read directly from the fast upstream"
            .to_owned(),
        ctl: format!("{} ms (p90 {})", num(median(&t)), num(percentile(&t, 0.9))),
        baseline: format!("{} ms direct", num(median(&d))),
        notes: format!(
            "overhead p50 {} ms, p90 {} ms ({rounds} interleaved rounds, max_tokens={max_tokens})",
            num(p50),
            num(percentile(&overhead, 0.9))
        ),
    });
    report.detail(
        "gateway_ttft",
        json!({ "rounds": rounds, "through_ms": t, "direct_ms": d, "overhead_ms": overhead, "overhead_p50_ms": p50 }),
    );
}
