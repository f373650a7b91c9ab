//! `/api/v1/rag/...` and `/api/v1/vault/{path}`: retrieval over the
//! configured vaults, an index's state, and a note's text (confined
//! beneath its vault's root).

use std::io::Read as _;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, ErrorBody};
use crate::api::RetrievedSource;
use crate::rag::{self, Mode, QueryOptions, RagError};

/// A retrieval request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RagQueryRequest {
    pub query: String,
    /// The vault (default: the only or the default one).
    #[serde(default)]
    pub vault: Option<String>,
    /// Results at most (default 10, at most 50).
    #[serde(default)]
    pub k: Option<u32>,
    /// `hybrid` (default), `lexical`, `vector` or `graph`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mode: Option<Mode>,
}

/// What retrieval found, numbered, with each index's score.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RagQueryReply {
    pub vault: String,
    pub sources: Vec<RetrievedSource>,
    /// What went wrong without failing the query (a reranker that did not
    /// answer: the fused order stands).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn rag_error(e: RagError) -> ApiError {
    match e {
        RagError::NoIndex(_) | RagError::Config(_) | RagError::Mismatch(_) => {
            ApiError::bad_request(e.to_string())
        }
        RagError::Query(_) => {
            ApiError::new(axum::http::StatusCode::BAD_GATEWAY, "bad_gateway", e.to_string())
        }
        other => ApiError::internal(other.to_string()),
    }
}

/// `POST /rag/query`: search a vault's index (lexical, vector, graph, fused).
#[utoipa::path(post, path = "/rag/query", operation_id = "rag_query", tag = "rag", request_body = RagQueryRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the sources found", body = RagQueryReply),
        (status = 400, description = "no such vault, no index yet, or an empty query", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody),
        (status = 422, description = "unknown or ill-typed fields", body = ErrorBody),
        (status = 502, description = "the embedding server failed", body = ErrorBody),
        (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn query(
    State(state): State<AppState>,
    body: Result<Json<RagQueryRequest>, JsonRejection>,
) -> Result<Json<RagQueryReply>, ApiError> {
    let Json(req) = body?;
    let config = state.local().config.clone();
    let text = req.query.trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::bad_request("the query is empty"));
    }
    let opts = QueryOptions {
        k: req.k.unwrap_or(10).clamp(1, 50) as usize,
        mode: req.mode.unwrap_or_default(),
        budget_tokens: config.rag.context_tokens,
    };
    let found = rag::search(&config, state.local().home.root(), req.vault.as_deref(), &text, opts)
        .await
        .map_err(rag_error)?;
    let vault = found.vault;
    let sources = found.sources.into_iter().enumerate().map(|(i, s)| s.into_wire(i as u32 + 1)).collect();
    Ok(Json(RagQueryReply { vault, sources, warnings: found.warnings }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The vault (default: the only or the default one).
    vault: Option<String>,
}

/// `GET /rag/status`: a vault's index (notes, chunks, model, last reindex)
/// and the files changed on disk since.
#[utoipa::path(get, path = "/rag/status", operation_id = "rag_status", tag = "rag", params(StatusQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the index's state", body = Object),
        (status = 400, description = "no such vault", body = ErrorBody),
        (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    Query(q): Query<StatusQuery>,
) -> Result<Json<rag::status::Status>, ApiError> {
    let config = state.local().config.clone();
    let home = state.local().home.root().to_path_buf();
    let opts = rag::options(&config, q.vault.as_deref(), false).map_err(rag_error)?;
    let status = tokio::task::spawn_blocking(move || rag::status::status(&home, &opts))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(rag_error)?;
    Ok(Json(status))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NotePath {
    /// The note's path from the vault root.
    path: String,
}

/// A note's text.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Note {
    pub vault: String,
    pub path: String,
    pub text: String,
}

/// `GET /vault/{path}` (the path may hold `/`): a note's text. The path is
/// resolved beneath the vault's root: `..`, absolute paths and symlinks
/// that leave it are refused (400); a missing note is 404.
pub async fn note(
    State(state): State<AppState>,
    Path(NotePath { path }): Path<NotePath>,
    Query(q): Query<StatusQuery>,
) -> Result<Json<Note>, ApiError> {
    let config = state.local().config.clone();
    let (vault, root) = rag::pick_vault(&config, q.vault.as_deref()).map_err(rag_error)?;
    let max = config.rag.max_file_bytes;
    let rel = path.clone();
    let text = tokio::task::spawn_blocking(move || -> Result<String, ApiError> {
        use crate::tools::beneath::{BeneathError, Root};
        let dir = Root::open(&root).map_err(|e| ApiError::internal(e.to_string()))?;
        let (file, size) = dir.open_file(&rel).map_err(|e| match e {
            BeneathError::NotFound(_) => ApiError::not_found(e.to_string()),
            other => ApiError::bad_request(other.to_string()),
        })?;
        if size > max {
            return Err(ApiError::bad_request(format!("the note is {size} bytes, over the {max}-byte cap")));
        }
        let mut text = String::new();
        file.take(max)
            .read_to_string(&mut text)
            .map_err(|_| ApiError::bad_request("the note is not UTF-8 text"))?;
        Ok(text)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(Note { vault, path, text }))
}
