//! `/mcp`: the MCP server ([`crate::mcp`]) as streamable HTTP, behind
//! four guards, outermost first:
//!
//! 1. the `Host` allow-list (`[mcp] allowed_hosts`; 403): a page on
//!    another name cannot reach a local server through DNS rebinding;
//! 2. the `Origin` check (403 unless it is this server's own origin or in
//!    `[mcp] allowed_origins`);
//! 3. the API's auth (a bearer token, or the login cookie; 401);
//! 4. a per-token rate limit (`requests_per_minute`; 429) and a cap on open
//!    sessions (`max_sessions`; 503).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::auth::{Caller, same_origin};
use super::{ApiError, AppState};
use crate::mcp::{CtlMcp, McpConfig};

/// The header a client names its session with.
const SESSION_HEADER: &str = "mcp-session-id";

/// The MCP endpoint of one server process.
pub struct McpHttp {
    service: StreamableHttpService<CtlMcp, LocalSessionManager>,
    sessions: Arc<LocalSessionManager>,
    config: McpConfig,
    buckets: Mutex<HashMap<String, Bucket>>,
    cancel: tokio_util::sync::CancellationToken,
}

/// A token bucket: `tokens` left, refilled continuously.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl McpHttp {
    pub fn new(server: CtlMcp, config: McpConfig) -> Self {
        let sessions = Arc::new(LocalSessionManager::default());
        let cancel = tokio_util::sync::CancellationToken::new();
        let http_config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(config.allowed_hosts.clone())
            .with_cancellation_token(cancel.clone());
        let service = StreamableHttpService::new(move || Ok(server.clone()), sessions.clone(), http_config);
        Self { service, sessions, config, buckets: Mutex::new(HashMap::new()), cancel }
    }

    /// Ends every session (the server is shutting down).
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// Takes one request from `token`'s bucket; `Err(seconds)` until the next.
    fn take(&self, token: &str) -> Result<(), u64> {
        let rate = f64::from(self.config.requests_per_minute.max(1)) / 60.0;
        let burst = f64::from(self.config.requests_per_minute.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let b = buckets.entry(token.to_owned()).or_insert(Bucket { tokens: burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil() as u64)
        }
    }
}

/// `Host` without its port, lowercased; IPv6 keeps its brackets off.
fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_owned();
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.parse::<u16>().is_ok())
        .map_or(host.clone(), |(h, _)| h.to_owned())
}

/// Whether `host` (a `Host` header) is one of `allowed`: an entry with a
/// port must match exactly, one without matches the name on any port.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = host_name(&host);
    !name.is_empty()
        && allowed.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            if has_port(&a) { a == host } else { a.trim_matches(['[', ']']) == name }
        })
}

fn has_port(authority: &str) -> bool {
    if authority.starts_with('[') {
        return authority.contains("]:");
    }
    authority.matches(':').count() == 1
        && authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok())
}

/// Guards 1 and 2: Host and Origin.
pub async fn guard_host_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(mcp) = state.mcp() else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the MCP endpoint is off")
            .into_response();
    };
    let headers = req.headers();
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !host_allowed(host, &mcp.config.allowed_hosts) {
        return ApiError::forbidden(format!(
            "Host {host:?} is not allowed for /mcp: add it to [mcp] allowed_hosts"
        ))
        .into_response();
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let listed = mcp.config.allowed_origins.iter().any(|o| o.trim_end_matches('/') == origin);
        if !listed && !same_origin(headers) {
            return ApiError::forbidden(format!(
                "Origin {origin:?} is not allowed for /mcp: add it to [mcp] allowed_origins"
            ))
            .into_response();
        }
    }
    next.run(req).await
}

/// Guard 4: the rate limit and the session cap (after auth).
pub async fn guard_limits(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(mcp) = state.mcp() else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the MCP endpoint is off")
            .into_response();
    };
    let token = req.extensions().get::<Caller>().map(|c| c.0.id.clone()).unwrap_or_default();
    if let Err(wait) = mcp.take(&token) {
        let mut resp = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("more than {} MCP requests a minute with this token", mcp.config.requests_per_minute),
        )
        .into_response();
        resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait.max(1)));
        return resp;
    }
    // A POST without a session opens one, unless it speaks 2026-07-28,
    // which has no sessions.
    let stateless =
        req.headers().get("mcp-protocol-version").is_some_and(|v| v.as_bytes() >= b"2026-07-28".as_slice());
    let opens_session =
        req.method() == axum::http::Method::POST && !req.headers().contains_key(SESSION_HEADER) && !stateless;
    if opens_session && mcp.sessions.sessions.read().await.len() >= mcp.config.max_sessions {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sessions",
            format!("{} MCP sessions are open, the most [mcp] max_sessions allows", mcp.config.max_sessions),
        )
        .into_response();
    }
    next.run(req).await
}

/// `/mcp` with its guards, for [`super::router`] and `ctl mcp --http`.
pub fn routes(state: &AppState) -> Router<AppState> {
    use axum::middleware::from_fn_with_state;
    let router = match state.mcp() {
        Some(mcp) => Router::new().route_service("/mcp", mcp.service.clone()),
        None => Router::new().route("/mcp", axum::routing::any(|| async { StatusCode::SERVICE_UNAVAILABLE })),
    };
    router
        .route_layer(from_fn_with_state(state.clone(), guard_limits))
        .route_layer(from_fn_with_state(state.clone(), super::auth::require))
        .route_layer(from_fn_with_state(state.clone(), guard_host_origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_name_with_any_port_or_exactly() {
        let allowed: Vec<String> = McpConfig::default().allowed_hosts;
        for ok in ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000", "127.0.0.1"] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in ["evil.example", "evil.example:8000", "127.0.0.2:8000", "localhost.evil.example", ""] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
        let exact = vec!["ctl.example.net:443".to_owned()];
        assert!(host_allowed("ctl.example.net:443", &exact));
        assert!(!host_allowed("ctl.example.net:444", &exact));
    }
}
