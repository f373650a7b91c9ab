//! Logs and traces: `tracing` to stderr (text, or JSON lines that carry
//! trace and span ids), and OTLP trace export over HTTP/protobuf.
//!
//! Export is off unless an endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `[telemetry] otlp_endpoint`);
//! off, no OpenTelemetry layer is installed at all. The standard
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`
//! (or `OTEL_EXPORTER_OTLP_HEADERS_FILE`, a secret) and
//! `OTEL_EXPORTER_OTLP_TIMEOUT` apply. Spans go through a batch processor
//! on a thread of its own with a blocking HTTP client, so exporting never
//! runs on the async runtime.
//!
//! One trace follows a job across processes: the API request (or `ctl
//! submit`) writes its W3C `traceparent` into the job file
//! ([`current_traceparent`]), and the worker continues it ([`job_span`]) for
//! the claim, each attempt and the model call ([`chat_span`]).

mod json;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `[telemetry]` in the config; the standard `OTEL_*` variables win.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Where to send traces: an OTLP/HTTP collector's base URL
    /// (`http://127.0.0.1:4318`; `/v1/traces` is appended).
    pub otlp_endpoint: Option<String>,
    /// The service name traces carry (default `ctl`).
    pub service_name: Option<String>,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the trace and span ids.
    Json,
}

/// What [`init`] needs to know about the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// `-v` count.
    pub verbose: u8,
    /// `--log-format` or `CTL_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `--config`, to read `[telemetry]` from.
    pub config: Option<PathBuf>,
    /// The subcommand (`serve`, `worker`, ...), recorded on every span.
    pub command: String,
}

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether traces are exported (and so worth propagating).
pub fn enabled() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Flushes and stops trace export when dropped or [`Guard::shutdown`].
#[must_use = "traces are flushed when the guard is shut down"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Guard {
    /// Exports what is buffered and stops the exporter.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("warning: traces not exported at exit: {e}");
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Installs the global subscriber: logs to stderr at the `-v` level (or
/// `CTL_LOG`/`RUST_LOG`), and the OpenTelemetry layer when export is on or
/// logs are JSON (whose lines carry trace ids). Call it once, before the
/// async runtime starts.
pub fn init(opts: &Options) -> Guard {
    let default = match opts.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("CTL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let json = opts.log_format == LogFormat::Json;

    let (provider, problem) = match exporter_endpoint(opts) {
        Some(endpoint) => match build_provider(opts, &endpoint) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        },
        // JSON logs carry trace ids even when nothing is exported: spans
        // get ids from a provider that exports nowhere.
        None if json => (Some(SdkTracerProvider::builder().build()), None),
        None => (None, None),
    };
    let otel = provider.as_ref().map(|p| {
        // The ctl spans at info and above, whatever the log level.
        let spans = tracing_subscriber::filter::Targets::new().with_target("ctl", tracing::Level::INFO);
        tracing_opentelemetry::layer().with_tracer(p.tracer("ctl")).with_filter(spans)
    });
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json {
        fmt.event_format(json::JsonLines).with_filter(filter).boxed()
    } else {
        fmt.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).with_filter(filter).boxed()
    };
    tracing_subscriber::registry().with(otel).with(fmt).init();
    if let Some(e) = problem {
        tracing::error!("traces will not be exported: {e}");
    }
    Guard { provider }
}

use tracing_subscriber::Layer as _;

/// Where traces go, when they are exported.
enum Endpoint {
    /// Named by the `OTEL_*` variables, which the exporter reads itself.
    FromEnv,
    /// From `[telemetry] otlp_endpoint`: the full traces URL.
    Url(String),
}

fn exporter_endpoint(opts: &Options) -> Option<Endpoint> {
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    if set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Some(Endpoint::FromEnv);
    }
    config(opts).otlp_endpoint.map(|e| Endpoint::Url(format!("{}/v1/traces", e.trim_end_matches('/'))))
}

/// `[telemetry]` from the config file and `CTL_TELEMETRY__*`; a config
/// that does not load (the command will say why) counts as empty.
fn config(opts: &Options) -> TelemetryConfig {
    crate::config::Config::load(opts.config.as_deref(), std::env::vars())
        .map(|c| c.telemetry)
        .unwrap_or_default()
}

fn build_provider(opts: &Options, endpoint: &Endpoint) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
    crate::provider::install_crypto();
    let mut builder =
        opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary);
    if let Endpoint::Url(url) = endpoint {
        builder = builder.with_endpoint(url);
    }
    // The headers often carry a collector's credentials: a secret, which
    // may come from a file. Set directly, the exporter reads them itself.
    let headers = crate::secrets::from_env("OTEL_EXPORTER_OTLP_HEADERS").map_err(|e| e.to_string())?;
    if let Some(headers) = headers {
        let parsed = parse_headers(headers.expose());
        if std::env::var("OTEL_EXPORTER_OTLP_HEADERS").is_err() {
            builder = builder.with_headers(parsed);
        }
    }
    let exporter = builder.build().map_err(|e| e.to_string())?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(config(opts).service_name.unwrap_or_else(|| "ctl".to_owned()));
    }
    let resource = resource
        .with_attributes([
            opentelemetry::KeyValue::new("ctl.command", opts.command.clone()),
            opentelemetry::KeyValue::new("process.pid", i64::from(std::process::id())),
            opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        ])
        .build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    EXPORTING.store(true, Ordering::Relaxed);
    Ok(provider)
}

/// The URL traces are sent to, from the same variables and config the
/// exporter uses; `None` when export is off.
pub fn traces_url(config: &crate::config::Config) -> Option<String> {
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(url) = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Some(url);
    }
    var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .or_else(|| config.telemetry.otlp_endpoint.clone())
        .map(|e| format!("{}/v1/traces", e.trim_end_matches('/')))
}

/// `ctl doctor`'s check: an empty OTLP export (a valid, empty
/// `ExportTraceServiceRequest`) to the traces URL, with the configured
/// headers, must be accepted. `None` when export is off.
pub async fn check_endpoint(
    config: &crate::config::Config,
    timeout: std::time::Duration,
) -> Option<Result<String, String>> {
    let url = traces_url(config)?;
    Some(
        async {
            let headers = match crate::secrets::from_env("OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
                Ok(Some(h)) => Some(h),
                Ok(None) => {
                    crate::secrets::from_env("OTEL_EXPORTER_OTLP_HEADERS").map_err(|e| e.to_string())?
                }
                Err(e) => return Err(e.to_string()),
            };
            crate::provider::install_crypto();
            let http = reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())?;
            let mut req = http.post(&url).header("content-type", "application/x-protobuf").body(Vec::new());
            for (k, v) in headers.map(|h| parse_headers(h.expose())).unwrap_or_default() {
                req = req.header(k, v);
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => Ok(format!("{url} accepts OTLP traces")),
                Ok(r) => Err(format!("{url} answered HTTP {}", r.status())),
                Err(e) => Err(format!("{url}: {}", crate::secrets::redact(&e.without_url().to_string()))),
            }
        }
        .await,
    )
}

/// `k1=v1,k2=v2` (values URL-encoded, as the OTLP spec says). Each value
/// is remembered as a secret.
fn parse_headers(text: &str) -> HashMap<String, String> {
    text.split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let v = percent_decode(v.trim());
            crate::secrets::Secret::new(v.clone());
            Some((k.trim().to_owned(), v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The W3C `traceparent` of the current span, when traces are exported.
pub fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the remote span `traceparent` names (ignored
/// when absent or malformed, or when traces are off).
pub fn set_remote_parent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(tp) = traceparent.filter(|_| enabled()) else { return };
    let carrier = HashMap::from([("traceparent".to_owned(), tp.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// The span a worker runs a job in, continuing the trace in the job file.
pub fn job_span(job: &crate::api::Job) -> tracing::Span {
    let span = tracing::info_span!(
        "job",
        otel.name = "job",
        otel.kind = "consumer",
        job.id = %job.id,
        gen_ai.request.model = %job.model,
    );
    set_remote_parent(&span, job.traceparent.as_deref());
    span
}

/// The span of one model call, a child of the current span. It is not
/// entered (the call spans many awaits): it measures from here until it is
/// dropped; [`record_chat`] adds what the call produced.
pub fn chat_span(model: &str) -> tracing::Span {
    tracing::info_span!(
        "chat",
        otel.name = %format!("chat {model}"),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = %model,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        ctl.ttft_ms = tracing::field::Empty,
        ctl.usage_estimated = tracing::field::Empty,
    )
}

/// Records a finished call's usage on its [`chat_span`].
pub fn record_chat(span: &tracing::Span, usage: &crate::api::Usage) {
    span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
    span.record("gen_ai.usage.output_tokens", usage.completion_tokens);
    if let Some(ttft) = usage.ttft_ms {
        span.record("ctl.ttft_ms", ttft);
    }
    span.record("ctl.usage_estimated", usage.estimated);
}

/// Axum middleware: a server span per request, continuing an incoming
/// `traceparent`. A pass-through when traces are off.
pub async fn trace_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument as _;
    if !enabled() {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_owned();
    let route = route_of(req.uri().path());
    let span = tracing::info_span!(
        "http",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        url.path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
    );
    let tp = req.headers().get("traceparent").and_then(|v| v.to_str().ok());
    set_remote_parent(&span, tp);
    let resp = next.run(req).instrument(span.clone()).await;
    span.record("http.response.status_code", resp.status().as_u16());
    resp
}

/// A path with its ids replaced, for a span name of low cardinality:
/// `/api/v1/jobs/01J…/events` → `/api/v1/jobs/{id}/events`.
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_lose_their_ids() {
        assert_eq!(route_of("/api/v1/jobs/01JD5Q9W3E8M7A3X2ZK4B6C8D0/events"), "/api/v1/jobs/{id}/events");
        assert_eq!(route_of("/api/v1/jobs"), "/api/v1/jobs");
    }

    #[test]
    fn otlp_headers_parse_and_decode() {
        let h = parse_headers("authorization=Basic%20abc%3D%3D, x-scope=team-a");
        assert_eq!(h["authorization"], "Basic abc==");
        assert_eq!(h["x-scope"], "team-a");
    }
}
