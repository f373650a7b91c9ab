//! `/api/v1/jobs`: submit, list, show, cancel, retry, and the SSE stream of
//! a job's event log.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, ErrorBody};
use crate::api::{
    Created, Event, JobPage, JobSpec, JobState, JobView, ReplaySpec, SkillSnapshot, SseData, StateReply,
};
use crate::jobs::CancelOutcome;
use crate::queue::ReadError;

/// `POST /jobs`: queue a job; 202 with its id.
#[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = JobSpec, security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "queued", body = Created), (status = 400, description = "invalid request", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody),
        (status = 422, description = "unknown or ill-typed fields", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    body: Result<Json<JobSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(spec) = body?;
    let catalog = state.skills();
    let job = state.blocking(move |l| Ok(l.submit_with(spec, &catalog)?)).await?;
    Ok((StatusCode::ACCEPTED, Json(Created { id: job.id })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    state: Option<JobState>,
    /// Page size, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Cursor: only jobs older than this id (the `next` of the previous page).
    #[param(pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    before: Option<String>,
}

/// `GET /jobs?state=&limit=&before=`: newest first.
#[utoipa::path(get, path = "/jobs", operation_id = "list_jobs", tag = "jobs", params(ListQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "a page of jobs, newest first", body = JobPage), (status = 400, description = "invalid request", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<JobPage>, ApiError> {
    let Query(q) = query?;
    if q.before.as_deref().is_some_and(|b| !crate::queue::valid_id(b)) {
        return Err(ApiError::bad_request("before must be a job id (the `next` of the previous page)"));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let jobs = state
        .blocking(move |l| {
            // One extra tells whether another page exists.
            Ok(l.list_before(q.state, limit + 1, q.before.as_deref())?)
        })
        .await?;
    let mut jobs = jobs;
    let next = if jobs.len() > limit {
        jobs.truncate(limit);
        jobs.last().map(|j| j.id.clone())
    } else {
        None
    };
    Ok(Json(JobPage { jobs, next }))
}

/// `GET /jobs/{id}`: one job; `id` may be a unique prefix.
#[utoipa::path(get, path = "/jobs/{id}", operation_id = "show_job", tag = "jobs", params(JobPath), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the job", body = JobView), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs, or the job is in the wrong state", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<JobView>, ApiError> {
    let view = state
        .blocking(move |l| {
            let id = l.resolve(&id)?;
            Ok(l.view(&id)?)
        })
        .await?;
    Ok(Json(view))
}

/// `POST /jobs/{id}/cancel`: `cancelled` for a queued job, `cancelling`
/// while the worker stops a running one.
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs", params(JobPath), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "cancelled, or cancelling while its worker stops it", body = StateReply), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs, or the job is in the wrong state", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<StateReply>, ApiError> {
    let (id, outcome) = state
        .blocking(move |l| {
            let id = l.resolve(&id)?;
            let outcome = l.cancel(&id)?;
            Ok((id, outcome))
        })
        .await?;
    let state = match outcome {
        CancelOutcome::Cancelled => "cancelled",
        CancelOutcome::Requested => "cancelling",
    };
    Ok(Json(StateReply { id, state: state.to_owned() }))
}

/// `POST /jobs/{id}/retry`: requeue a failed or cancelled job.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "jobs", params(JobPath), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "queued again", body = StateReply), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs, or the job is in the wrong state", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<StateReply>, ApiError> {
    let id = state
        .blocking(move |l| {
            let id = l.resolve(&id)?;
            l.retry(&id)?;
            Ok(id)
        })
        .await?;
    Ok(Json(StateReply { id, state: "queued".to_owned() }))
}

/// A job id or a unique prefix of one (case-insensitive).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct JobPath {
    /// Job id or unique prefix.
    #[param(pattern = "^[0-9A-Za-z]{1,26}$")]
    pub id: String,
}

/// The SSE `Last-Event-ID` header: resume after this seq. Only documents
/// the header; the handler reads it from the header map.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "describes a header for the OpenAPI document")]
pub struct LastEventId {
    #[param(rename = "Last-Event-ID", required = false, pattern = "^[0-9]{1,18}$")]
    pub last_event_id: String,
}

/// One Server-Sent Event as it travels: `id` is the seq, `event` the type,
/// and `data` the JSON of an [`SseData`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SseFrame {
    pub id: String,
    pub event: String,
    pub data: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this seq (for clients that cannot set headers).
    #[param(minimum = 0)]
    last_event_id: Option<i64>,
}

/// `GET /jobs/{id}/events`: the event log as Server-Sent Events. SSE `id` is
/// the event's `seq`, `event` its type, `data` its JSON. With
/// `Last-Event-ID` (header or `?last_event_id=`) only later events are
/// sent. The stream ends after the terminal event, or when the server
/// shuts down; keep-alive comments flow while it is idle.
#[utoipa::path(get, path = "/jobs/{id}/events", tag = "jobs",
    params(JobPath, EventsQuery, LastEventId), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Server-Sent Events: id = seq, event = type, data = SseData JSON",
        content_type = "text/event-stream", body = SseFrame), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs, or the job is in the wrong state", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    Path(JobPath { id }): Path<JobPath>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(q) = query?;
    let from_query = match q.last_event_id {
        Some(n) => {
            Some(u64::try_from(n).map_err(|_| ApiError::bad_request("last_event_id must not be negative"))?)
        }
        None => None,
    };
    let after = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::bad_request("Last-Event-ID must be a number (an event seq)"))?,
        ),
        None => from_query,
    };
    let id = state.blocking(move |l| Ok(l.resolve(&id)?)).await?;
    let mut shutdown = state.inner.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let stream = state.local().events.follow(&id, after).take_until(stop).filter_map(|item| async move {
        match item {
            Ok(ev) => Some(Ok(to_sse(&ev))),
            Err(e) => {
                tracing::warn!("event stream ended: {e}");
                None
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn to_sse(ev: &Event) -> SseEvent {
    let value = serde_json::to_value(&ev.body).unwrap_or_default();
    let data = value.get("data").cloned().unwrap_or(serde_json::Value::Null);
    SseEvent::default()
        .id(ev.seq.to_string())
        .event(ev.body.kind())
        .json_data(SseData { seq: ev.seq, ts: ev.ts, data })
        .unwrap_or_default()
}

/// `POST /jobs/{id}/replay`: a sibling with the same messages and skill
/// snapshots; `model` and `params` override the original's.
#[utoipa::path(post, path = "/jobs/{id}/replay", tag = "jobs", params(JobPath), request_body = ReplaySpec, security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "the replay is queued", body = Created), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "unknown or ill-typed fields", body = ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    Path(JobPath { id }): Path<JobPath>,
    body: Result<Json<ReplaySpec>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(spec) = body?;
    let job = state
        .blocking(move |l| {
            let id = l.resolve(&id)?;
            Ok(l.replay(&id, spec)?)
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Created { id: job.id })))
}

/// `GET /jobs/{id}/skills`: the exact SKILL.md text of each skill the job
/// ran with, as snapshotted when it was submitted.
#[utoipa::path(get, path = "/jobs/{id}/skills", tag = "jobs", params(JobPath), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the job's skill snapshots, in the order they were applied", body = Vec<SkillSnapshot>), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn skills(
    State(state): State<AppState>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<Vec<SkillSnapshot>>, ApiError> {
    let snapshots = state
        .blocking(move |l| {
            let id = l.resolve(&id)?;
            // The file may move on (claimed, finished) between the look and the read.
            for _ in 0..3 {
                let dir = l.queue.locate(&id).ok_or_else(|| ApiError::not_found(format!("no job {id}")))?;
                match l.queue.read(dir, &id) {
                    Ok(job) => return Ok(job.skills),
                    Err(ReadError::Missing) => {}
                    Err(ReadError::Io(e) | ReadError::Corrupt(e)) => {
                        return Err(ApiError::internal(format!("cannot read job {id}: {e}")));
                    }
                }
            }
            Err(ApiError::not_found(format!("job {id} moved while being read; try again")))
        })
        .await?;
    Ok(Json(snapshots))
}

/// `GET /jobs/{id}/siblings`: the first job of the replay chain and every
/// replay of it, oldest first.
#[utoipa::path(get, path = "/jobs/{id}/siblings", tag = "jobs", params(JobPath), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the family, oldest first", body = JobPage), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn siblings(
    State(state): State<AppState>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<JobPage>, ApiError> {
    let jobs = state
        .blocking(move |l| {
            let id = l.resolve(&id)?;
            Ok(l.siblings(&id)?)
        })
        .await?;
    Ok(Json(JobPage { jobs, next: None }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// First job (id or unique prefix).
    #[param(pattern = "^[0-9A-Za-z]{1,26}$")]
    a: String,
    /// Second job (id or unique prefix).
    #[param(pattern = "^[0-9A-Za-z]{1,26}$")]
    b: String,
}

/// `GET /diff?a=&b=`: the outputs' unified diff and the fields that differ.
#[utoipa::path(get, path = "/diff", tag = "jobs", params(DiffQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the comparison", body = crate::diff::JobDiff), (status = 400, description = "invalid request", body = ErrorBody), (status = 404, description = "no such job", body = ErrorBody), (status = 409, description = "the id prefix matches several jobs", body = ErrorBody), (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn diff(
    State(state): State<AppState>,
    query: Result<Query<DiffQuery>, QueryRejection>,
) -> Result<Json<crate::diff::JobDiff>, ApiError> {
    let Query(q) = query?;
    let d = state
        .blocking(move |l| {
            let a = l.view(&l.resolve(&q.a)?)?;
            let b = l.view(&l.resolve(&q.b)?)?;
            Ok(crate::diff::diff(&a, &b))
        })
        .await?;
    Ok(Json(d))
}
