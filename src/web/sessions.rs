//! `/api/v1/sessions`: chat sessions. Sending a message stores it, then
//! submits a chat job carrying the whole history; the worker that finishes
//! the job adds the assistant's answer to the session.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::api::{JobSpec, Message, Role};
use crate::queue::new_id;
use crate::store::{ChatMessage, SessionSummary};

#[derive(Debug, Default, Deserialize)]
pub struct CreateBody {
    title: Option<String>,
}

/// `POST /sessions`: a new, empty session.
pub async fn create(
    State(state): State<AppState>,
    body: Option<Json<CreateBody>>,
) -> Result<(StatusCode, Json<SessionSummary>), ApiError> {
    let title = body.and_then(|Json(b)| b.title);
    let s = state.blocking(move |l| Ok(l.store.create_session(&new_id(), title.as_deref())?)).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
}

/// `GET /sessions`: most recently active first.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<SessionList>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let sessions = state.blocking(move |l| Ok(l.store.list_sessions(limit)?)).await?;
    Ok(Json(SessionList { sessions }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub summary: SessionSummary,
    pub messages: Vec<ChatMessage>,
}

/// `GET /sessions/{id}`: the session and every message, oldest first.
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

#[derive(Debug, Deserialize)]
pub struct RenameBody {
    title: String,
}

/// `PATCH /sessions/{id}` `{"title": ...}`.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    content: String,
    model: Option<String>,
    #[serde(default)]
    params: crate::api::Params,
    system: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Sent {
    pub message_id: String,
    pub job_id: String,
}

/// `POST /sessions/{id}/messages` `{"content", "model"?}`: stores the user's
/// message and submits a job with the whole conversation.
pub async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<SendBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let Json(body) = body?;
    if body.content.trim().is_empty() {
        return Err(ApiError::bad_request("content is empty"));
    }
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
                ..JobSpec::default()
            };
            let job = l.submit(spec)?;
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
