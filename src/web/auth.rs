//! Authentication: API tokens (`Authorization: Bearer ctl_…`) for scripts
//! and the CLI, and an HttpOnly, SameSite=Strict session cookie for
//! browsers. Writes made with the cookie must carry an `Origin` equal to
//! the server's own, so another site cannot drive the API through a
//! logged-in browser. Secrets are never logged.

use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::{ApiError, AppState, ErrorBody};
use crate::store::TokenInfo;

pub const COOKIE_NAME: &str = "ctl_session";
/// How long a browser login lasts.
const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Who made the request, for handlers that care.
#[derive(Debug, Clone)]
pub struct Caller(pub TokenInfo);

/// Middleware: admits a request with a valid bearer token or session cookie.
pub async fn require(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = req.headers();
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned());
    let caller = if let Some(token) = bearer {
        let found = state.blocking(move |l| Ok(l.store.verify_token(&token)?)).await?;
        found.ok_or_else(|| ApiError::unauthorized("invalid or revoked API token"))?
    } else if let Some(secret) = cookie(headers, COOKIE_NAME) {
        if is_write(req.method()) && !same_origin(headers) {
            return Err(ApiError::forbidden("cross-origin write refused: Origin does not match this server"));
        }
        let found = state.blocking(move |l| Ok(l.store.verify_web_session(&secret)?)).await?;
        found.ok_or_else(|| ApiError::unauthorized("session expired; log in again"))?
    } else {
        return Err(ApiError::unauthorized(
            "authentication required: send Authorization: Bearer <token> (create one with `ctl token create`)",
        ));
    };
    req.extensions_mut().insert(Caller(caller));
    Ok(next.run(req).await)
}

fn is_write(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The `Origin` header names this very server (scheme-less host match).
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) =
        (headers.get(ORIGIN).and_then(|v| v.to_str().ok()), headers.get(HOST).and_then(|v| v.to_str().ok()))
    else {
        return false;
    };
    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")).is_some_and(|o| o == host)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn session_cookie(secret: &str, max_age: u64) -> HeaderValue {
    let value = format!("{COOKIE_NAME}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    token: String,
}

/// `POST /api/v1/login {"token": "ctl_…"}`: sets the session cookie.
#[utoipa::path(post, path = "/api/v1/login", tag = "auth", request_body = LoginBody, security(()),
    responses((status = 200, description = "logged in; sets the ctl_session cookie", body = Object),
        (status = 400, description = "invalid request", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody),
        (status = 422, description = "missing token", body = ErrorBody),
        (status = 401, description = "invalid or revoked token", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let secret = start_session(&state, body.token).await?;
    let mut resp = Json(serde_json::json!({ "ok": true })).into_response();
    resp.headers_mut().insert(SET_COOKIE, session_cookie(&secret, SESSION_TTL.as_secs()));
    Ok(resp)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// An API token, as printed by `ctl up`.
    token: String,
}

/// `GET /login?token=…`: the link `ctl up` prints. Logs the browser in and
/// sends it to `/`, so the token leaves the address bar at once.
#[utoipa::path(get, path = "/login", tag = "auth", params(LinkQuery), security(()),
    responses((status = 303, description = "logged in; sets the ctl_session cookie and redirects to /"),
        (status = 400, description = "missing token", body = ErrorBody),
        (status = 401, description = "invalid or revoked token", body = ErrorBody)))]
pub async fn login_link(
    State(state): State<AppState>,
    query: Result<Query<LinkQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let secret = start_session(&state, q.token).await?;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(SET_COOKIE, session_cookie(&secret, SESSION_TTL.as_secs()));
    Ok(resp)
}

async fn start_session(state: &AppState, token: String) -> Result<String, ApiError> {
    state
        .blocking(move |l| {
            let info = l
                .store
                .verify_token(&token)?
                .ok_or_else(|| ApiError::unauthorized("invalid or revoked API token"))?;
            Ok(l.store.create_web_session(&info.id, SESSION_TTL)?)
        })
        .await
}

/// `POST /api/v1/logout`: ends the browser session (if any) and clears the cookie.
#[utoipa::path(post, path = "/logout", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "logged out; the cookie is cleared"), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = cookie(&headers, COOKIE_NAME) {
        state.blocking(move |l| Ok(l.store.delete_web_session(&secret)?)).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(SET_COOKIE, session_cookie("", 0));
    Ok(resp)
}

/// `GET /api/v1/whoami`: the token the request authenticated as.
#[utoipa::path(get, path = "/whoami", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the token this request authenticated with", body = TokenInfo), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn whoami(Extension(Caller(info)): Extension<Caller>) -> Json<TokenInfo> {
    Json(info)
}
