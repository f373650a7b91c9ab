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
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::api::{Created, Event, JobPage, JobSpec, JobState, JobView, SseData, StateReply};
use crate::jobs::CancelOutcome;

/// `POST /jobs`: queue a job; 202 with its id.
pub async fn submit(
    State(state): State<AppState>,
    body: Result<Json<JobSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(spec) = body?;
    let job = state.blocking(move |l| Ok(l.submit(spec)?)).await?;
    Ok((StatusCode::ACCEPTED, Json(Created { id: job.id })))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<JobState>,
    limit: Option<usize>,
    /// Cursor: only jobs older than this id (the `next` of the previous page).
    before: Option<String>,
}

/// `GET /jobs?state=&limit=&before=`: newest first.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<JobPage>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
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
pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<JobView>, ApiError> {
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
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
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
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
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

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    last_event_id: Option<u64>,
}

/// `GET /jobs/{id}/events`: the event log as Server-Sent Events. SSE `id` is
/// the event's `seq`, `event` its type, `data` its JSON. With
/// `Last-Event-ID` (header or `?last_event_id=`) only later events are
/// sent. The stream ends after the terminal event, or when the server
/// shuts down; keep-alive comments flow while it is idle.
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(q) = query?;
    let after = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::bad_request("Last-Event-ID must be a number (an event seq)"))?,
        ),
        None => q.last_event_id,
    };
    let id = state.blocking(move |l| Ok(l.resolve(&id)?)).await?;
    let mut shutdown = state.inner.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let stream = state.inner.hub.follow(&id, after).take_until(stop).filter_map(|item| async move {
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
