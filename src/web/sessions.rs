//! `/api/v1/sessions`: chat sessions. Sending a message stores it, then
//! submits a chat job carrying the whole history; the worker that finishes
//! the job adds the assistant's answer to the session.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, ErrorBody};
use crate::api::{JobSpec, Message, Role};
use crate::queue::new_id;
use crate::store::{ChatMessage, SessionSummary};

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    title: Option<String>,
}

/// `POST /sessions`: a new, empty session.
#[utoipa::path(post, path = "/sessions", tag = "sessions", request_body(content = Option<CreateBody>, content_type = "application/json"), security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "created", body = SessionSummary), (status = 400, description = "invalid request", body = ErrorBody), (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "unknown or ill-typed fields", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<SessionSummary>), ApiError> {
    // The body is optional, so it is parsed here rather than by `Json`.
    let title = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let parsed: Option<CreateBody> = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_request", format!("invalid session: {e}"))
        })?;
        parsed.and_then(|b| b.title)
    };
    let s = state.blocking(move |l| Ok(l.store.create_session(&new_id(), title.as_deref())?)).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
}

/// `GET /sessions`: most recently active first.
#[utoipa::path(get, path = "/sessions", operation_id = "list_sessions", tag = "sessions", params(ListQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "most recently active first", body = SessionList), (status = 400, description = "invalid request", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<SessionList>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let sessions = state.blocking(move |l| Ok(l.store.list_sessions(limit)?)).await?;
    Ok(Json(SessionList { sessions }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub summary: SessionSummary,
    pub messages: Vec<ChatMessage>,
}

/// `GET /sessions/{id}`: the session and every message, oldest first.
#[utoipa::path(get, path = "/sessions/{id}", operation_id = "show_session", tag = "sessions", params(("id" = String, Path, description = "session id")), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the session with its messages", body = SessionDetail), (status = 404, description = "no such session", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SessionDetail>, ApiError> {
    let detail = state
        .blocking(move |l| {
            let summary =
                l.store.get_session(&id)?.ok_or_else(|| ApiError::not_found(format!("no session {id}")))?;
            let messages = l.store.session_messages(&id)?;
            Ok(SessionDetail { summary, messages })
        })
        .await?;
    Ok(Json(detail))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RenameBody {
    /// Must contain a non-space character.
    #[schema(pattern = "\\S")]
    title: String,
}

/// `PATCH /sessions/{id}` `{"title": ...}`.
#[utoipa::path(patch, path = "/sessions/{id}", tag = "sessions", params(("id" = String, Path, description = "session id")), request_body = RenameBody, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "renamed"), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such session", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "unknown or ill-typed fields", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<RenameBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    let title = body.title.trim().to_owned();
    if title.is_empty() {
        return Err(ApiError::bad_request("title is empty"));
    }
    let found = state.blocking(move |l| Ok(l.store.rename_session(&id, &title)?)).await?;
    if found { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("no such session")) }
}

/// `DELETE /sessions/{id}`: cancels the session's unfinished jobs, then
/// deletes it with its messages.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "sessions", params(("id" = String, Path, description = "session id")), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "deleted; its running jobs cancelled"), (status = 404, description = "no such session", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let found = state
        .blocking(move |l| {
            for m in l.store.session_messages(&id)? {
                if let Some(job) = m.job_id.filter(|_| m.role == Role::User)
                    && l.view(&job).is_ok_and(|v| !v.state.is_finished())
                {
                    // Best effort: it may finish between the look and the cancel.
                    let _ = l.cancel(&job);
                }
            }
            Ok(l.store.delete_session(&id)?)
        })
        .await?;
    if found { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("no such session")) }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// Must contain a non-space character.
    #[schema(pattern = "\\S")]
    content: String,
    /// `provider:model`; the configured default when absent.
    #[schema(min_length = 1)]
    model: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    params: crate::api::Params,
    system: Option<String>,
    /// Skills to answer with, by name; their defaults apply unless set here.
    #[serde(default)]
    skills: Vec<String>,
    /// Tools the model may call, by name (`GET /tools`), or `["all"]`.
    #[serde(default)]
    tools: Vec<String>,
    /// How the model picks tools: `auto` (default), `none`, `required`, or
    /// a tool's name to force that call; a comma-separated list sets one
    /// choice per round (`vault_read,none`: read, then answer in text).
    #[schema(min_length = 1)]
    tool_choice: Option<String>,
    /// Answer from a markdown vault: the worker retrieves sources for this
    /// message (by default, from the message's own text) and numbers them.
    #[serde(default)]
    rag: Option<crate::api::RagRequest>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sent {
    pub message_id: String,
    pub job_id: String,
}

/// `POST /sessions/{id}/messages` `{"content", "model"?}`: stores the user's
/// message and submits a job with the whole conversation.
#[utoipa::path(post, path = "/sessions/{id}/messages", tag = "sessions", params(("id" = String, Path, description = "session id")), request_body = SendBody, security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "stored, and a job submitted", body = Sent), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such session", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "unknown or ill-typed fields", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<SendBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let Json(body) = body?;
    if body.content.trim().is_empty() {
        return Err(ApiError::bad_request("content is empty"));
    }
    let catalog = state.skills();
    let sent = state
        .blocking(move |l| {
            if l.store.get_session(&id)?.is_none() {
                return Err(ApiError::not_found(format!("no session {id}")));
            }
            let mut history: Vec<Message> = l
                .store
                .session_messages(&id)?
                .into_iter()
                .filter(|m| matches!(m.role, Role::User | Role::Assistant))
                .map(|m| Message::new(m.role, m.content))
                .collect();
            history.push(Message::new(Role::User, body.content.clone()));
            // Stamped before the submit, so a fast answer never sorts first.
            let created_at = Timestamp::now();
            let spec = JobSpec {
                messages: Some(history),
                model: body.model,
                system: body.system,
                params: body.params,
                session_id: Some(id.clone()),
                skills: body.skills,
                tools: body.tools,
                tool_choice: body.tool_choice,
                rag: body.rag,
                ..JobSpec::default()
            };
            let job = l.submit_with(spec, &catalog)?;
            let message = ChatMessage {
                id: new_id(),
                session_id: id,
                role: Role::User,
                content: body.content,
                job_id: Some(job.id.clone()),
                created_at,
            };
            l.store.add_message(&message)?;
            Ok(Sent { message_id: message.id, job_id: job.id })
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}
