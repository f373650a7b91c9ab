//! A real OTLP/HTTP trace receiver: `POST /v1/traces` bodies decoded as
//! `ExportTraceServiceRequest` with the opentelemetry-proto messages, the
//! spans kept with their resource's attributes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message as _;

/// One received span, flattened.
#[derive(Debug, Clone)]
pub struct RecvSpan {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_id: String,
    /// OTLP's SpanKind: 2 server, 3 client, 4 producer, 5 consumer.
    pub kind: i32,
    pub attrs: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
}

#[derive(Default)]
struct Shared {
    spans: Mutex<Vec<RecvSpan>>,
    /// Every request's headers, to check what the exporter sends.
    headers: Mutex<Vec<HeaderMap>>,
}

/// The receiver on its own thread; stops on drop.
pub struct Collector {
    /// The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    pub fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new().route("/v1/traces", post(traces)).with_state(shared.clone());
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

    pub fn spans(&self) -> Vec<RecvSpan> {
        self.shared.spans.lock().unwrap().clone()
    }

    pub fn headers(&self) -> Vec<HeaderMap> {
        self.shared.headers.lock().unwrap().clone()
    }

    /// Waits until `pred` holds over the spans received so far.
    pub fn wait(&self, secs: u64, what: &str, pred: impl Fn(&[RecvSpan]) -> bool) -> Vec<RecvSpan> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let spans = self.spans();
            if pred(&spans) {
                return spans;
            }
            assert!(Instant::now() < deadline, "{what}: not received in {secs}s; spans: {spans:#?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn traces(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    s.headers.lock().unwrap().push(headers);
    let Ok(req) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut out = s.spans.lock().unwrap();
    for rs in req.resource_spans {
        let resource = rs.resource.map(|r| attrs(&r.attributes)).unwrap_or_default();
        for ss in rs.scope_spans {
            for span in ss.spans {
                out.push(RecvSpan {
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    attrs: attrs(&span.attributes),
                    resource: resource.clone(),
                });
            }
        }
    }
    StatusCode::OK
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter().map(|kv| (kv.key.clone(), kv.value.as_ref().map(value).unwrap_or_default())).collect()
}

fn value(v: &AnyValue) -> String {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
