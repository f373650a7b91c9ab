//! Health, readiness, Prometheus metrics, models and stats.

use std::fmt::Write as _;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, ErrorBody};
use crate::queue::Dir;
use crate::store::{Histogram, StatRow};

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "the process is up", body = Object)))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the data directory is writable and the database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", security(()),
    responses((status = 200, description = "ready", body = Object), (status = 503, description = "not ready", body = Object)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let result = state
        .blocking(|l| {
            let probe = l.home.root().join(format!(".ready-{}", std::process::id()));
            std::fs::write(&probe, b"ok")
                .map_err(|e| ApiError::internal(format!("data directory not writable: {e}")))?;
            let _ = std::fs::remove_file(&probe);
            l.store.quick_check()?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not ready", "error": e.message })),
        )
            .into_response(),
    }
}

const DURATION_BOUNDS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
const TTFT_BOUNDS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// `GET /metrics`: Prometheus text format. Counts come from the store and
/// the queue directories, so they cover every worker process, not only
/// this one.
#[utoipa::path(get, path = "/metrics", tag = "system", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (snap, queued, active, tool_calls, ops) = state
        .blocking(|l| {
            let snap = l.store.metrics(DURATION_BOUNDS, TTFT_BOUNDS)?;
            let count = |d| l.queue.list(d).map(|v| v.len()).map_err(|e| ApiError::internal(e.to_string()));
            let tools = l.store.tool_call_counts(None)?;
            Ok((snap, count(Dir::Queued)?, count(Dir::Active)?, tools, ops_metrics(l)))
        })
        .await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP ctl_jobs_total Jobs by state (finished states from the store, live ones from the queue)."
    );
    let _ = writeln!(out, "# TYPE ctl_jobs_total gauge");
    for s in ["completed", "failed", "cancelled"] {
        let _ = writeln!(
            out,
            "ctl_jobs_total{{state=\"{s}\"}} {}",
            snap.jobs_by_state.get(s).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(out, "ctl_jobs_total{{state=\"queued\"}} {queued}");
    let _ = writeln!(out, "ctl_jobs_total{{state=\"active\"}} {active}");
    let _ = writeln!(out, "# HELP ctl_queue_depth Jobs waiting for a worker.");
    let _ = writeln!(out, "# TYPE ctl_queue_depth gauge");
    let _ = writeln!(out, "ctl_queue_depth {queued}");
    let _ = writeln!(out, "# HELP ctl_tokens_total Tokens used by finished jobs.");
    let _ = writeln!(out, "# TYPE ctl_tokens_total counter");
    let _ = writeln!(out, "ctl_tokens_total{{kind=\"prompt\"}} {}", snap.prompt_tokens);
    let _ = writeln!(out, "ctl_tokens_total{{kind=\"completion\"}} {}", snap.completion_tokens);
    histogram(
        &mut out,
        "ctl_job_duration_seconds",
        "Duration of completed jobs' model calls.",
        &snap.duration_seconds,
    );
    histogram(&mut out, "ctl_ttft_seconds", "Time to first token of completed jobs.", &snap.ttft_seconds);
    let _ = writeln!(out, "# HELP ctl_uptime_seconds Seconds since this server started.");
    let _ = writeln!(out, "# TYPE ctl_uptime_seconds gauge");
    let _ = writeln!(out, "ctl_uptime_seconds {:.3}", state.inner.started.elapsed().as_secs_f64());
    let _ = writeln!(
        out,
        "# HELP ctl_tool_calls_total Tool calls by tool and outcome (MCP clients, the CLI and jobs)."
    );
    let _ = writeln!(out, "# TYPE ctl_tool_calls_total counter");
    for c in tool_calls {
        let (tool, outcome) = (label(&c.tool), label(&c.outcome));
        let _ = writeln!(out, "ctl_tool_calls_total{{tool=\"{tool}\",outcome=\"{outcome}\"}} {}", c.calls);
    }
    out.push_str(&ops);
    let providers = state.health().providers();
    if !providers.is_empty() {
        let _ = writeln!(
            out,
            "# HELP ctl_provider_up Whether a watched model backend answered its last check (1) or not (0)."
        );
        let _ = writeln!(out, "# TYPE ctl_provider_up gauge");
        for (name, up) in providers {
            let _ = writeln!(out, "ctl_provider_up{{provider=\"{name}\"}} {}", u8::from(up));
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response())
}

/// A Prometheus label value: backslash, quote and newline escaped (a
/// client may name a tool that does not exist).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The gauges the alert rules (and `ops/prometheus/alerts.yaml`) watch:
/// free disk, the oldest queued job, live workers. A value that cannot be
/// read is left out rather than reported as zero.
fn ops_metrics(l: &crate::jobs::Local) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name} {value}");
    };
    if let Ok(d) = crate::alerts::probe::disk(l.home.root()) {
        gauge(
            "ctl_data_dir_free_bytes",
            "Bytes free for ctl on the data directory's file system.",
            d.free_bytes.to_string(),
        );
        gauge(
            "ctl_data_dir_size_bytes",
            "Size of the data directory's file system.",
            d.total_bytes.to_string(),
        );
    }
    if let Ok(oldest) = l.queue.oldest_queued_age() {
        gauge(
            "ctl_queue_oldest_job_age_seconds",
            "How long the longest-waiting queued job has waited (0 when none waits).",
            format!("{:.3}", oldest.unwrap_or_default().as_secs_f64()),
        );
    }
    if let Ok(n) = crate::queue::lease::live_worker_count(&l.home.workers_dir()) {
        gauge("ctl_workers_alive", "Worker processes alive on this data directory.", n.to_string());
    }
    out
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, count) in h.bounds.iter().zip(&h.buckets) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderModels {
    pub provider: String,
    pub kind: String,
    pub base_url: String,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fully qualified `provider:model` names.
    pub models: Vec<String>,
}

/// `GET /models`: every configured provider, asked in parallel (3 s each).
#[utoipa::path(get, path = "/models", tag = "system", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "every configured provider and its models", body = Vec<ProviderModels>), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn models(State(state): State<AppState>) -> Json<Vec<ProviderModels>> {
    Json(provider_models(&state).await)
}

/// Every configured provider and its models, asked in parallel (3 s each).
pub(super) async fn provider_models(state: &AppState) -> Vec<ProviderModels> {
    let providers = state.local().config.providers.clone();
    let asks = providers.into_iter().map(|(name, cfg)| async move {
        let kind = format!("{:?}", cfg.kind).to_lowercase();
        let result = match crate::provider::build(&name, &cfg) {
            Err(e) => Err(e.to_string()),
            Ok(p) => match tokio::time::timeout(Duration::from_secs(3), p.models()).await {
                Err(_) => Err("no answer within 3 s".to_owned()),
                Ok(r) => r.map_err(|e| e.to_string()),
            },
        };
        let (reachable, error, models) = match result {
            Ok(m) => (true, None, m.into_iter().map(|m| format!("{name}:{}", m.name)).collect()),
            Err(e) => (false, Some(e), Vec::new()),
        };
        ProviderModels { provider: name, kind, base_url: cfg.base_url, reachable, error, models }
    });
    futures_util::future::join_all(asks).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Only jobs finished in the last N days (1 to 36500).
    #[param(minimum = 1, maximum = 36500)]
    days: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    pub rows: Vec<StatRow>,
}

/// `GET /stats?days=N`: jobs and tokens by model and day.
#[utoipa::path(get, path = "/stats", tag = "system", params(StatsQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "jobs and tokens by model and day", body = Stats), (status = 400, description = "invalid request", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    query: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Stats>, ApiError> {
    let Query(q) = query?;
    if q.days.is_some_and(|d| !(1..=36_500).contains(&d)) {
        return Err(ApiError::bad_request("days must be between 1 and 36500"));
    }
    let since = q.days.and_then(|d| {
        jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(i64::from(d) * 24)).ok()
    });
    let rows = state.blocking(move |l| Ok(crate::stats::by_model_day(&l.store.usage_rows(since)?))).await?;
    Ok(Json(Stats { rows }))
}
