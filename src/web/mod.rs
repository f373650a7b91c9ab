//! `ctl serve`: the JSON + SSE API under `/api/v1`, health and metrics.
//!
//! The server shares nothing with workers but the data directory: it
//! publishes jobs into the queue, reads the event logs for SSE, and reads
//! the store. [`router`] builds the routes; [`serve`] runs them on a
//! listener until a shutdown future resolves (tests bind `127.0.0.1:0`).

mod auth;
mod error;
mod jobs;
mod sessions;
mod system;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use error::ApiError;

use crate::events::Hub;
use crate::jobs::Local;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    local: Local,
    hub: Arc<Hub>,
    shutdown: watch::Receiver<bool>,
    started: std::time::Instant,
}

impl AppState {
    /// State for a server on `local`; `shutdown` turning true ends SSE streams.
    pub fn new(local: Local, shutdown: watch::Receiver<bool>) -> Self {
        let hub = Hub::new(local.home.events_dir());
        Self { inner: Arc::new(Inner { local, hub, shutdown, started: std::time::Instant::now() }) }
    }

    pub fn local(&self) -> &Local {
        &self.inner.local
    }

    /// Runs blocking work (files, SQLite) on the blocking pool.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Local) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state.inner.local)).await?
    }
}

/// Every route. `/healthz` and `/readyz` are open; everything else needs
/// a bearer token or a login cookie.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/jobs", post(jobs::submit).get(jobs::list))
        .route("/jobs/{id}", get(jobs::show))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/retry", post(jobs::retry))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/sessions", post(sessions::create).get(sessions::list))
        .route("/sessions/{id}", get(sessions::show).delete(sessions::delete).patch(sessions::rename))
        .route("/sessions/{id}/messages", post(sessions::send))
        .route("/models", get(system::models))
        .route("/stats", get(system::stats))
        .route("/logout", post(auth::logout))
        .route("/whoami", get(auth::whoami));
    let protected = Router::new()
        .nest("/api/v1", api)
        .route("/metrics", get(system::metrics))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require));
    Router::new()
        .merge(protected)
        .route("/api/v1/login", post(auth::login))
        .route("/login", get(auth::login_link))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/", get(system::index))
        .fallback(system::not_found)
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves. In-flight
/// requests finish; SSE streams end when the state's shutdown flag is set.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Routes the auth test enumerates: (method, path template, needs auth).
pub const ROUTES: &[(&str, &str, bool)] = &[
    ("POST", "/api/v1/jobs", true),
    ("GET", "/api/v1/jobs", true),
    ("GET", "/api/v1/jobs/{id}", true),
    ("POST", "/api/v1/jobs/{id}/cancel", true),
    ("POST", "/api/v1/jobs/{id}/retry", true),
    ("GET", "/api/v1/jobs/{id}/events", true),
    ("POST", "/api/v1/sessions", true),
    ("GET", "/api/v1/sessions", true),
    ("GET", "/api/v1/sessions/{id}", true),
    ("PATCH", "/api/v1/sessions/{id}", true),
    ("DELETE", "/api/v1/sessions/{id}", true),
    ("POST", "/api/v1/sessions/{id}/messages", true),
    ("GET", "/api/v1/models", true),
    ("GET", "/api/v1/stats", true),
    ("POST", "/api/v1/logout", true),
    ("GET", "/api/v1/whoami", true),
    ("GET", "/metrics", true),
    ("POST", "/api/v1/login", false),
    ("GET", "/login", false),
    ("GET", "/healthz", false),
    ("GET", "/readyz", false),
    ("GET", "/", false),
];
