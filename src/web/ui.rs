//! The web UI: the Vite build in `ui/dist`, embedded in the binary (so
//! `cargo install` needs no Node) and served with an SPA fallback: any GET
//! that is not an API route, an asset, or a file-like path gets
//! `index.html`, and the UI's router takes it from there.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "ui/dist/"]
struct Assets;

/// What the page may load: only this origin, no frames, no plugins.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// `GET /`: the UI's shell page.
#[utoipa::path(get, path = "/", tag = "system", security(()),
    responses((status = 200, description = "the web UI", content_type = "text/html", body = String)))]
pub async fn index() -> Response {
    page("index.html")
}

/// The fallback for every path no route matched.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let is_api = path == "api" || path.starts_with("api/") || path == "metrics";
    if is_api || !(method == Method::GET || method == Method::HEAD) {
        return ApiError::not_found("no such route").into_response();
    }
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        return asset(path, file, &headers);
    }
    // A missing file (`/assets/gone.js`) is a 404, not the shell page.
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    page("index.html")
}

fn page(name: &str) -> Response {
    let Some(file) = Assets::get(name) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the web UI was not built into this binary: run `npm --prefix ui ci && npm --prefix ui run build`\n",
        )
            .into_response();
    };
    let mut resp = Response::new(body(file.data));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

fn asset(path: &str, file: rust_embed::EmbeddedFile, headers: &HeaderMap) -> Response {
    let hash = file.metadata.sha256_hash();
    let etag = format!("\"{:032x}\"", u128::from_be_bytes(hash[..16].try_into().unwrap_or_default()));
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut resp = Response::new(body(file.data));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(path)));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Vite puts a content hash in every name under assets/.
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file's bytes as a body: embedded (release) files are served from
/// the binary without a copy.
fn body(data: std::borrow::Cow<'static, [u8]>) -> Body {
    match data {
        std::borrow::Cow::Borrowed(b) => Body::from(bytes::Bytes::from_static(b)),
        std::borrow::Cow::Owned(v) => Body::from(v),
    }
}
