//! `ctl serve`: the JSON + SSE API under `/api/v1`, health, metrics and
//! the embedded web UI.
//!
//! The server shares nothing with workers but the data directory: it
//! publishes jobs into the queue, reads the event logs for SSE, and reads
//! the store. [`router`] builds the routes; [`serve`] runs them on a
//! listener until a shutdown future resolves (tests bind `127.0.0.1:0`).

mod auth;
mod error;
mod gateway;
mod jobs;
mod mcp;
mod ollama;
mod openai;
mod rag;
mod sessions;
mod skills;
mod system;
mod tools;
mod ui;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};

use crate::jobs::Local;
use crate::skills::{Catalog, LiveCatalog};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    local: Local,
    gateway_limits: gateway::RateLimits,
    skills: LiveCatalog,
    shutdown: watch::Receiver<bool>,
    started: std::time::Instant,
    /// `/mcp`; `None` when the tools config could not be built.
    mcp: Option<mcp::McpHttp>,
    health: crate::alerts::Health,
}

impl AppState {
    /// State for a server on `local`; `shutdown` turning true ends SSE streams.
    pub fn new(local: Local, shutdown: watch::Receiver<bool>) -> Self {
        let skills = LiveCatalog::start(crate::skills::search_path(&local.config));
        let mcp = match crate::mcp::server_for(&local) {
            Ok(server) => Some(mcp::McpHttp::new(server, local.config.mcp.clone())),
            Err(e) => {
                tracing::error!("the MCP endpoint is off: {e}");
                None
            }
        };
        let gateway_limits = gateway::RateLimits::default();
        let started = std::time::Instant::now();
        let health = crate::alerts::Health::default();
        let state =
            Self { inner: Arc::new(Inner { local, gateway_limits, skills, shutdown, started, mcp, health }) };
        // Open MCP sessions end with the server, like SSE streams.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (weak, mut stop) = (Arc::downgrade(&state.inner), state.inner.shutdown.clone());
            rt.spawn(async move {
                let _ = stop.wait_for(|s| *s).await;
                if let Some(inner) = weak.upgrade()
                    && let Some(mcp) = &inner.mcp
                {
                    mcp.shutdown();
                }
            });
        }
        state
    }

    /// The MCP endpoint, when it is on.
    fn mcp(&self) -> Option<&mcp::McpHttp> {
        self.inner.mcp.as_ref()
    }

    /// The skills as of now (reloaded when their files change).
    pub fn skills(&self) -> Arc<Catalog> {
        self.inner.skills.current()
    }

    /// The watched providers' reachability, kept by the alert loop
    /// ([`crate::alerts::run`]) and shown in `/metrics`.
    pub fn health(&self) -> crate::alerts::Health {
        self.inner.health.clone()
    }

    pub fn local(&self) -> &Local {
        &self.inner.local
    }

    /// Per-token request buckets of the OpenAI- and Ollama-compatible API.
    fn gateway_limits(&self) -> &gateway::RateLimits {
        &self.inner.gateway_limits
    }

    /// Runs blocking work (files, SQLite) on the blocking pool.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Local) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        // The request's span goes along, so a job submitted from the pool
        // carries the request's trace.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| f(&state.inner.local))).await?
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "ctl", description = "The ctl control plane: jobs, their event streams, chat sessions, models, usage."),
    modifiers(&SecuritySchemes),
    components(schemas(crate::api::Event, crate::api::EventBody, crate::api::SseData)),
    tags(
        (name = "jobs", description = "Submit, inspect, steer and stream jobs"),
        (name = "sessions", description = "Chat sessions"),
        (name = "skills", description = "Agent Skills packages jobs can use"),
        (name = "tools", description = "Tools jobs and MCP clients can call"),
        (name = "rag", description = "Retrieval over the markdown vaults"),
        (name = "system", description = "Health, metrics, models, stats"),
        (name = "auth", description = "Browser login"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::COOKIE_NAME))),
        );
    }
}

/// The routes that need credentials, with their OpenAPI descriptions.
fn protected_routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(jobs::submit, jobs::list))
        .routes(routes!(jobs::show))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::retry))
        .routes(routes!(jobs::events))
        .routes(routes!(jobs::replay))
        .routes(routes!(jobs::siblings))
        .routes(routes!(jobs::skills))
        .routes(routes!(jobs::diff))
        .routes(routes!(skills::list))
        .routes(routes!(skills::show))
        .routes(routes!(tools::list))
        .routes(routes!(rag::query))
        .routes(routes!(rag::status))
        .route("/vault/{*path}", axum::routing::get(rag::note))
        .routes(routes!(sessions::create, sessions::list))
        .routes(routes!(sessions::show, sessions::delete, sessions::rename))
        .routes(routes!(sessions::send))
        .routes(routes!(system::models))
        .routes(routes!(system::stats))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::whoami));
    OpenApiRouter::new().nest("/api/v1", api).routes(routes!(system::metrics))
}

/// The routes open to anyone: health, the start page, and logging in.
fn open_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::login_link))
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(ui::index))
}

/// The OpenAPI 3 document of the API, as served at `/api/v1/openapi.json`.
/// It is built from the handlers' own annotations, so it cannot drift from
/// the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(protected_routes())
        .merge(open_routes())
        .into_openapi()
}

/// Every route. `/healthz`, `/readyz`, `/`, and the login routes are open;
/// everything else needs a bearer token or a login cookie.
pub fn router(state: AppState) -> Router {
    let protected =
        protected_routes().route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require));
    let (router, doc) = OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(protected)
        .merge(open_routes())
        .split_for_parts();
    let doc = Arc::new(doc);
    let openapi_json = Router::new()
        .route("/api/v1/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require));
    // The OpenAI- and Ollama-compatible APIs are those projects' own, not
    // ctl's: they stay out of ctl's OpenAPI document.
    let compatible = Router::new()
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/models", get(openai::models))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/ollama", get(ollama::root))
        .route("/ollama/", get(ollama::root))
        .route("/ollama/api/chat", post(ollama::chat))
        .route("/ollama/api/generate", post(ollama::generate))
        .route("/ollama/api/tags", get(ollama::tags))
        .route("/ollama/api/embed", post(ollama::embed))
        .route("/ollama/api/embeddings", post(ollama::embeddings))
        .route("/ollama/api/version", get(ollama::version))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require));
    router
        .merge(openapi_json)
        .merge(compatible)
        .merge(mcp::routes(&state))
        .fallback(ui::fallback)
        .layer(axum::middleware::from_fn(crate::telemetry::trace_request))
        .with_state(state)
}

/// Only `/mcp` (and the health routes), for `ctl mcp --http`.
pub fn mcp_router(state: AppState) -> Router {
    let (health, _) = OpenApiRouter::new()
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .split_for_parts();
    health.merge(mcp::routes(&state)).with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves. In-flight
/// requests finish; SSE streams end when the state's shutdown flag is set.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), shutdown).await
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY a token written to an SSE stream can wait ~40 ms
    // for a delayed ACK (Nagle's algorithm); streams are latency-bound.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
