//! The fast upstream: a minimal OpenAI-compatible server that streams
//! tokens as fast as it can, so the streaming benchmarks measure ctl and
//! not a model.
//!
//! `POST /v1/chat/completions` streams `max_tokens` (default 16) chunks of
//! one token each, a finish chunk (`"finish_reason": "length"`), a usage
//! chunk and `[DONE]`; a request that offers tools gets one tool call
//! instead, until its last message is the tool's result (see
//! [`tool_to_call`]); `GET /v1/models` lists one model; `POST
//! /v1/embeddings` answers with [`bag_of_words`] vectors. A request whose
//! body has `"bench_hold": true` waits at the gate until the benchmark
//! releases it, so many readers can be lined up before the first token.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::sync::Semaphore;

/// The text of every token: four bytes, about an average English token.
pub const TOKEN: &str = " tok";

/// How every token chunk line starts (a reader counts tokens with it).
pub const TOKEN_PREFIX: &[u8] = br#"data: {"choices":[{"index":0,"delta":{"content""#;

/// Token chunks per write after the first (which goes out alone, so time to
/// first token is not held back by batching).
const BATCH: usize = 64;

struct Gate {
    permits: Semaphore,
    waiting: AtomicUsize,
}

/// A running fast upstream; stops when dropped.
pub struct Upstream {
    /// Base URL including `/v1`, as ctl's provider config wants it.
    pub url: String,
    gate: Arc<Gate>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Upstream {
    /// Binds 127.0.0.1:0 and serves on a runtime of its own (one thread).
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("upstream")
            .enable_all()
            .build()
            .unwrap();
        let gate = Arc::new(Gate { permits: Semaphore::new(0), waiting: AtomicUsize::new(0) });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .route("/v1/embeddings", post(embeddings))
            .with_state(gate.clone());
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        // Small writes go out at once: no Nagle delay waiting for an ACK.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self { url: format!("http://{addr}/v1"), gate, runtime: Some(runtime) }
    }

    /// Requests waiting at the gate now.
    pub fn waiting(&self) -> usize {
        self.gate.waiting.load(Ordering::SeqCst)
    }

    /// Lets `n` held requests go.
    pub fn release(&self, n: usize) {
        self.gate.permits.add_permits(n);
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Dimensions of [`bag_of_words`] vectors.
pub const EMBED_DIMS: usize = 384;

/// A cheap embedding that still means something: the normalised sum of a
/// fixed pseudo-random vector per word, so texts sharing words are near.
pub fn bag_of_words(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; EMBED_DIMS];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        // FNV-1a of the word seeds a xorshift stream.
        let seed = word
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let mut rng = crate::util::Rng(seed);
        for d in &mut v {
            *d += rng.next();
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    for x in &mut v {
        *x /= norm;
    }
    v
}

/// `POST /v1/embeddings`: [`bag_of_words`] of each input.
async fn embeddings(body: Bytes) -> Response {
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let inputs: Vec<String> = match &req["input"] {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect(),
        _ => Vec::new(),
    };
    let data: Vec<serde_json::Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({ "object": "embedding", "index": i, "embedding": bag_of_words(t) }))
        .collect();
    axum::Json(serde_json::json!({ "object": "list", "model": "bow", "data": data })).into_response()
}

async fn models() -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "object": "list",
        "data": [{ "id": "bench", "object": "model", "owned_by": "bench" }]
    }))
}

/// A request that offers tools, whose last message is not a tool result,
/// is answered with one call of its first tool (`vault_read` of
/// `note.md`; any other tool with no arguments).
fn tool_to_call(req: &serde_json::Value) -> Option<String> {
    let name = req["tools"].as_array()?.first()?["function"]["name"].as_str()?;
    let last = req["messages"].as_array()?.last()?;
    (last["role"] != "tool").then(|| name.to_owned())
}

fn tool_call_stream(name: &str) -> Response {
    let args = if name == "vault_read" { r#"{\"path\":\"note.md\"}"# } else { "{}" };
    let body = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"tool_calls\":[{{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{{\"name\":\"{name}\",\"arguments\":\"\"}}}}]}},\"finish_reason\":null}}],\"object\":\"chat.completion.chunk\",\"model\":\"bench\"}}\n\n\
         data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":\"{args}\"}}}}]}},\"finish_reason\":null}}],\"object\":\"chat.completion.chunk\",\"model\":\"bench\"}}\n\n\
         data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"tool_calls\"}}],\"object\":\"chat.completion.chunk\",\"model\":\"bench\"}}\n\n\
         data: [DONE]\n\n"
    );
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

async fn chat(State(gate): State<Arc<Gate>>, body: Bytes) -> Response {
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let n = req["max_tokens"].as_u64().unwrap_or(16) as usize;
    let usage = req["stream_options"]["include_usage"].as_bool() == Some(true);
    let prompt_chars: usize = req["messages"]
        .as_array()
        .map_or(0, |m| m.iter().filter_map(|m| m["content"].as_str()).map(str::len).sum());
    if let Some(tool) = tool_to_call(&req) {
        return tool_call_stream(&tool);
    }
    if req["bench_hold"].as_bool() == Some(true) {
        gate.waiting.fetch_add(1, Ordering::SeqCst);
        if let Ok(permit) = gate.permits.acquire().await {
            permit.forget();
        }
        gate.waiting.fetch_sub(1, Ordering::SeqCst);
    }
    let tail = {
        let mut t = String::from(
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"object\":\"chat.completion.chunk\",\"model\":\"bench\"}\n\n",
        );
        if usage {
            let p = prompt_chars.div_ceil(4);
            let _ = write!(
                t,
                "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":{p},\"completion_tokens\":{n},\"total_tokens\":{}}}}}\n\n",
                p + n
            );
        }
        t.push_str("data: [DONE]\n\n");
        Bytes::from(t)
    };
    // 0 tokens sent so far; the first chunk carries one token, then BATCH at a time.
    let chunks = futures_util::stream::unfold((0usize, Some(tail)), move |(sent, tail)| async move {
        if sent < n {
            let k = if sent == 0 { 1 } else { BATCH.min(n - sent) };
            let mut buf = Vec::with_capacity(k * 128);
            for _ in 0..k {
                buf.extend_from_slice(TOKEN_PREFIX);
                buf.extend_from_slice(b":\"");
                buf.extend_from_slice(TOKEN.as_bytes());
                buf.extend_from_slice(
                    b"\"},\"finish_reason\":null}],\"object\":\"chat.completion.chunk\",\"model\":\"bench\"}\n\n",
                );
            }
            return Some((Ok::<_, std::io::Error>(Bytes::from(buf)), (sent + k, tail)));
        }
        tail.map(|t| (Ok(t), (sent, None)))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")],
        Body::from_stream(chunks),
    )
        .into_response()
}
