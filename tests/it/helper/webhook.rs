//! A local stand-in for the services alerts go to, recording every request:
//! `POST /discord` answers like Discord's webhook API (204, or 429 with a
//! `retry_after` body and a `Retry-After` header while told to), `POST
//! /hook` is a generic webhook, and `GET /v1/models` is a model backend
//! whose reachability a test switches on and off. `POST
//! /echo/v1/chat/completions` is a model server whose 401 quotes the API
//! key it was sent.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub body: Value,
    pub at: Instant,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    /// Discord requests still to refuse with 429.
    rate_limit: AtomicU32,
    /// The `retry_after` a 429 carries, in milliseconds.
    retry_after_ms: AtomicU32,
    models_up: AtomicBool,
}

/// The receiver, on its own thread and runtime; stops on drop.
pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Self {
        let shared = Arc::new(Shared::default());
        shared.models_up.store(true, Ordering::SeqCst);
        shared.retry_after_ms.store(600, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/discord", post(discord))
            .route("/hook", post(hook))
            .route("/v1/models", get(models))
            .route("/echo/v1/chat/completions", post(echo_key))
            .with_state(shared.clone());
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", std_listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self { url, shared, stop: Some(stop), thread: Some(thread) }
    }

    /// Answer the next `n` Discord requests with 429 and `retry_after`.
    pub fn rate_limit_next(&self, n: u32, retry_after: Duration) {
        self.shared.retry_after_ms.store(retry_after.as_millis() as u32, Ordering::SeqCst);
        self.shared.rate_limit.store(n, Ordering::SeqCst);
    }

    /// Whether `GET /v1/models` answers 200 (else 503).
    pub fn set_models_up(&self, up: bool) {
        self.shared.models_up.store(up, Ordering::SeqCst);
    }

    /// Every request so far, to `path`.
    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    /// The generic webhook's accepted alerts for `rule`, as JSON.
    pub fn alerts(&self, rule: &str) -> Vec<Value> {
        self.requests("/hook").into_iter().map(|r| r.body).filter(|b| b["rule"] == rule).collect()
    }

    /// Waits until `pred` holds over the webhook's alerts for `rule`; on
    /// timeout the panic shows `log` (the server's).
    pub fn wait_alerts(
        &self,
        rule: &str,
        secs: u64,
        log: impl Fn() -> String,
        pred: impl Fn(&[Value]) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.alerts(rule);
            if pred(&got) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "alerts for {rule} after {secs}s: {got:#?}\nserver log:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn record(shared: &Shared, path: &str, body: Value, status: StatusCode) {
    shared.requests.lock().unwrap().push(Recorded {
        path: path.to_owned(),
        body,
        at: Instant::now(),
        status: status.as_u16(),
    });
}

async fn discord(State(s): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let limited = s.rate_limit.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if limited {
        record(&s, "/discord", body, StatusCode::TOO_MANY_REQUESTS);
        let secs = f64::from(s.retry_after_ms.load(Ordering::SeqCst)) / 1000.0;
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", secs.ceil().to_string().parse().unwrap());
        let body = json!({ "message": "You are being rate limited.", "retry_after": secs, "global": false });
        return (StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response();
    }
    record(&s, "/discord", body, StatusCode::NO_CONTENT);
    StatusCode::NO_CONTENT.into_response()
}

async fn hook(State(s): State<Arc<Shared>>, Json(body): Json<Value>) -> StatusCode {
    record(&s, "/hook", body, StatusCode::OK);
    StatusCode::OK
}

/// A careless model server: its 401 quotes the key it was sent.
async fn echo_key(headers: HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = json!({ "error": { "message": format!("Incorrect API key provided: {auth}"), "type": "invalid_request_error" } });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn models(State(s): State<Arc<Shared>>) -> Response {
    if s.models_up.load(Ordering::SeqCst) {
        Json(json!({ "object": "list", "data": [{ "id": "tiny", "object": "model", "owned_by": "test" }] }))
            .into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down for the test").into_response()
    }
}
