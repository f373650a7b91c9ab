//! What the OpenAI- and Ollama-compatible APIs share: every request
//! becomes a job, submitted like any other (so it is durable, replayable
//! and in the history with its usage), and the answer is read back from
//! the job's event log. A request repeated with the same `Idempotency-Key`
//! gets the first request's job, streamed again from its log.
//!
//! Also here: the per-token rate limit and the body size cap, and the
//! ways a request picks skills and a session (a model alias
//! `skill:NAME@provider:model`, the `X-Ctl-Skill` and `X-Ctl-Session`
//! headers, and the `user` field).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use futures_util::{Stream, StreamExt};

use super::AppState;
use crate::api::{ClientInfo, EventBody, FunctionSpec, JobSpec, Role, ToolCall, Usage};
use crate::config::ProviderKind;
use crate::store::{ChatMessage, KeyClaim, TokenInfo};

/// A failure in the terms both APIs answer in.
#[derive(Debug)]
pub(super) struct GatewayError {
    pub status: axum::http::StatusCode,
    /// OpenAI's `type`: `invalid_request_error`, `rate_limit_error`, ...
    pub kind: &'static str,
    pub message: String,
}

impl GatewayError {
    pub fn new(status: axum::http::StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(axum::http::StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }
}

impl From<super::ApiError> for GatewayError {
    fn from(e: super::ApiError) -> Self {
        let kind = match e.status.as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            400..=499 => "invalid_request_error",
            _ => "server_error",
        };
        Self { status: e.status, kind, message: e.message }
    }
}

/// Reads a request body up to the configured cap (413 beyond it).
pub(super) async fn read_body(state: &AppState, body: Body) -> Result<Bytes, GatewayError> {
    let cap = state.local().config.gateway.max_request_bytes;
    axum::body::to_bytes(body, cap).await.map_err(|_| {
        GatewayError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("the request body is larger than {cap} bytes (gateway.max_request_bytes)"),
        )
    })
}

/// Requests per token: a bucket that refills at the configured rate.
#[derive(Default)]
pub(super) struct RateLimits {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimits {
    /// Takes one request from `token`'s bucket; 429 when it is empty.
    pub fn take(&self, token: &str, per_minute: u32) -> Result<(), GatewayError> {
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let (level, at) = buckets.entry(token.to_owned()).or_insert((capacity, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * capacity / 60.0).min(capacity);
        *at = now;
        if *level < 1.0 {
            let wait = (1.0 - *level) * 60.0 / capacity;
            return Err(GatewayError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                format!(
                    "rate limit of {per_minute} requests per minute reached for this token; retry in {wait:.1} s"
                ),
            ));
        }
        *level -= 1.0;
        Ok(())
    }
}

/// A request in ctl's terms, whichever API it came through.
pub(super) struct Request {
    pub api: &'static str,
    /// The `model` field as sent (the answer names it back).
    pub model: String,
    pub messages: Vec<crate::api::Message>,
    pub params: crate::api::Params,
    /// Parameters of the other API's vocabulary, passed on only when the
    /// model's provider speaks that API.
    pub native: crate::api::Params,
    pub client_tools: Vec<FunctionSpec>,
    pub tool_choice: Option<String>,
    pub user: Option<String>,
}

/// The provider kind whose parameters `api` speaks.
fn native_kind(api: &str) -> ProviderKind {
    if api == "ollama" { ProviderKind::Ollama } else { ProviderKind::Openai }
}

/// Submits the job for `req`, or finds the one an earlier request with the
/// same `Idempotency-Key` made. Returns the job's id.
pub(super) async fn submit(
    state: &AppState,
    caller: &TokenInfo,
    headers: &HeaderMap,
    body: &[u8],
    req: Request,
) -> Result<String, GatewayError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let mut skills: Vec<String> = header("x-ctl-skill")
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    // `skill:research+summarize@local:tiny` picks skills and a model at once.
    let model = match req.model.strip_prefix("skill:").and_then(|rest| rest.split_once('@')) {
        Some((names, model)) => {
            skills.extend(names.split('+').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
            model.to_owned()
        }
        None => req.model.clone(),
    };
    let config = &state.local().config;
    let (provider, _) = config.resolve_model(Some(&model)).map_err(GatewayError::invalid)?;
    let mut params = req.params;
    if config.providers.get(&provider).is_some_and(|p| p.kind == native_kind(req.api)) {
        params.extend(req.native);
    }
    let client = ClientInfo {
        api: req.api.to_owned(),
        user_agent: header("user-agent").map(str::to_owned),
        token: Some(caller.name.clone()),
        user: req.user.clone(),
    };
    let session_header = header("x-ctl-session").map(str::to_owned);
    let idempotency = header("idempotency-key").filter(|k| !k.is_empty()).map(str::to_owned);
    if idempotency.as_ref().is_some_and(|k| k.len() > 255) {
        return Err(GatewayError::invalid("Idempotency-Key is longer than 255 characters"));
    }
    let body_sha = crate::store::hash_secret(&String::from_utf8_lossy(body));
    let catalog = state.skills();
    let token_id = caller.id.clone();
    let spec =
        JobSpec { messages: Some(req.messages), model: Some(model), params, skills, ..JobSpec::default() };
    let (client_tools, tool_choice) = (req.client_tools, req.tool_choice);
    let id = state
        .blocking(move |l| {
            let session = match (session_header, &client.user) {
                (Some(id), _) => match l.store.get_session(&id)? {
                    Some(s) => Some(s.id),
                    None => {
                        return Err(super::ApiError::not_found(format!("no session {id} (X-Ctl-Session)")));
                    }
                },
                // One session per token and user, made on first use.
                (None, Some(user)) => {
                    let id = format!("u{}", &crate::store::hash_secret(&format!("{token_id}\n{user}"))[..25]);
                    Some(l.store.create_session(&id, Some(user))?.id)
                }
                (None, None) => None,
            };
            let spec = JobSpec { session_id: session.clone(), ..spec };
            let mut job = l.build_job(spec, &catalog)?;
            job.client_tools = client_tools;
            job.tool_choice = tool_choice.or(job.tool_choice);
            job.client = Some(client);
            if let Some(key) = &idempotency {
                match l.store.claim_idempotency_key(&token_id, key, &body_sha, &job.id)? {
                    KeyClaim::New => {}
                    KeyClaim::Existing { job_id, same_request: true } => return Ok(job_id),
                    KeyClaim::Existing { .. } => {
                        return Err(super::ApiError::new(
                            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                            "bad_request",
                            "this Idempotency-Key was used with another request",
                        ));
                    }
                }
            }
            let last_user =
                job.messages.iter().rev().find(|m| m.role == Role::User).map(|m| m.content.clone());
            let job_id = job.id.clone();
            let job = match l.publish(job) {
                Ok(job) => job,
                Err(e) => {
                    if let Some(key) = &idempotency {
                        let _ = l.store.release_idempotency_key(&token_id, key, &job_id);
                    }
                    return Err(e.into());
                }
            };
            if let (Some(session), Some(content)) = (session, last_user) {
                l.store.add_message(&ChatMessage {
                    id: crate::queue::new_id(),
                    session_id: session,
                    role: Role::User,
                    content,
                    job_id: Some(job.id.clone()),
                    created_at: jiff::Timestamp::now(),
                })?;
            }
            Ok(job.id)
        })
        .await?;
    Ok(id)
}

/// The vectors of an embedding request, and its size in tokens.
pub(super) struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub prompt_tokens: u64,
}

/// Embeds `inputs` with `model`'s provider, and records the call in the
/// history and usage as a finished job.
pub(super) async fn embed(
    state: &AppState,
    caller: &TokenInfo,
    headers: &HeaderMap,
    api: &'static str,
    model: &str,
    inputs: Vec<String>,
) -> Result<Embedded, GatewayError> {
    let config = &state.local().config;
    let (provider_name, backend_model) = config.resolve_model(Some(model)).map_err(GatewayError::invalid)?;
    let cfg =
        config.providers.get(&provider_name).ok_or_else(|| GatewayError::invalid("no such provider"))?;
    let provider = crate::provider::build(&provider_name, cfg)
        .map_err(|e| GatewayError::new(axum::http::StatusCode::BAD_GATEWAY, "server_error", e.message))?;
    let started = jiff::Timestamp::now();
    let t0 = Instant::now();
    let chars: usize = inputs.iter().map(|i| i.chars().count()).sum();
    let count = inputs.len();
    let vectors = provider.embed(&backend_model, inputs).await.map_err(|e| {
        let status = if e.is_transient() {
            axum::http::StatusCode::BAD_GATEWAY
        } else {
            axum::http::StatusCode::BAD_REQUEST
        };
        GatewayError::new(status, "invalid_request_error", e.message)
    })?;
    // Embedding APIs rarely say how many tokens they read: about four characters each.
    let prompt_tokens = (chars as u64).div_ceil(4);
    let (id, created_at) = crate::queue::new_job_id();
    let view = crate::api::JobView {
        id,
        state: crate::api::JobState::Completed,
        model: format!("{provider_name}:{backend_model}"),
        priority: 0,
        created_at,
        started_at: Some(started),
        finished_at: Some(jiff::Timestamp::now()),
        attempts: 1,
        max_attempts: 1,
        worker: None,
        prompt: format!("[embeddings: {count} inputs]"),
        output: String::new(),
        error: None,
        usage: Some(Usage {
            prompt_tokens,
            completion_tokens: 0,
            ttft_ms: None,
            tokens_per_s: None,
            duration_ms: t0.elapsed().as_secs_f64() * 1000.0,
            estimated: true,
        }),
        params: crate::api::Params::new(),
        session_id: None,
        parent_id: None,
        skills: Vec::new(),
        tools: Vec::new(),
        tool_stats: crate::api::ToolStats::default(),
        client: Some(ClientInfo {
            api: api.to_owned(),
            user_agent: headers.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned),
            token: Some(caller.name.clone()),
            user: None,
        }),
        sources: Vec::new(),
        vault: None,
    };
    state.blocking(move |l| Ok(l.store.record(&view)?)).await?;
    Ok(Embedded { vectors, prompt_tokens })
}

/// A vector as OpenAI's `encoding_format: "base64"` sends it: the
/// little-endian f32 bytes, base64-encoded.
pub(super) fn base64_f32(v: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What a client is told, read from the job's log.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Piece {
    Token(String),
    /// The job completed.
    End {
        finish_reason: String,
        usage: Option<Usage>,
        tool_calls: Vec<ToolCall>,
    },
    /// The job failed or was cancelled; the message says why.
    Failed(String),
}

/// The job's answer as it is written: the tokens of its latest attempt,
/// then its end. A finished job replays from its log; a job that starts
/// a new attempt after tokens went out cannot take them back, so the
/// stream ends with an error telling the client to repeat the request
/// (with its `Idempotency-Key`, it then gets the whole answer).
pub(super) async fn pieces(state: &AppState, id: &str) -> impl Stream<Item = Piece> + Send + 'static {
    let events = state.local().events.clone();
    let job = id.to_owned();
    // Tokens of attempts that were over before this request came are void.
    let written = tokio::task::spawn_blocking(move || events.read_all(&job).unwrap_or_default())
        .await
        .unwrap_or_default();
    let skip_before =
        written.iter().rev().find(|e| matches!(e.body, EventBody::Started { .. })).map_or(0, |e| e.seq);
    let mut shutdown = state.inner.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let events = state.local().events.follow(id, None).take_until(stop).boxed();
    let reader = Reader { skip_before, sent_tokens: false, usage: None };
    futures_util::stream::unfold(Some((events, reader)), |state| async move {
        let (mut events, mut reader) = state?;
        while let Some(item) = events.next().await {
            if let Some(piece) = reader.piece(item) {
                let over = matches!(piece, Piece::End { .. } | Piece::Failed(_));
                return Some((piece, (!over).then_some((events, reader))));
            }
        }
        None
    })
}

/// Turns the events of a log into pieces.
struct Reader {
    /// Events up to this seq belong to attempts that were over already.
    skip_before: u64,
    sent_tokens: bool,
    usage: Option<Usage>,
}

impl Reader {
    fn piece(&mut self, item: Result<crate::api::Event, crate::events::EventError>) -> Option<Piece> {
        let ev = match item {
            Ok(ev) => ev,
            Err(e) => return Some(Piece::Failed(format!("cannot read the job's events: {e}"))),
        };
        match ev.body {
            EventBody::Token { text } if ev.seq > self.skip_before => {
                self.sent_tokens = true;
                Some(Piece::Token(text))
            }
            EventBody::Started { attempt, .. } if ev.seq > self.skip_before && self.sent_tokens => {
                Some(Piece::Failed(format!(
                    "the job started attempt {attempt} after part of the answer was sent; repeat the \
                     request with the same Idempotency-Key to get the whole answer"
                )))
            }
            EventBody::Usage(u) => {
                self.usage = Some(u);
                None
            }
            EventBody::Done { finish_reason, tool_calls } => Some(Piece::End {
                finish_reason: finish_reason.unwrap_or_else(|| "stop".to_owned()),
                usage: self.usage.take(),
                tool_calls,
            }),
            EventBody::Failed { error } => Some(Piece::Failed(error)),
            EventBody::Cancelled { reason } => {
                Some(Piece::Failed(reason.unwrap_or_else(|| "the job was cancelled".to_owned())))
            }
            _ => None,
        }
    }
}

/// Reads pieces to the end: the whole text, and how it ended.
pub(super) async fn collect(pieces: impl Stream<Item = Piece>) -> (String, Option<Piece>) {
    let mut text = String::new();
    let mut end = None;
    futures_util::pin_mut!(pieces);
    while let Some(piece) = pieces.next().await {
        match piece {
            Piece::Token(t) => text.push_str(&t),
            other => {
                end = Some(other);
                break;
            }
        }
    }
    (text, end)
}

/// OpenAI's finish reasons from ctl's (the providers' own, mostly).
pub(super) fn finish_reason(reason: &str, tool_calls: bool) -> &'static str {
    if tool_calls {
        return "tool_calls";
    }
    match reason {
        "length" | "max_tokens" => "length",
        "tool_calls" | "tool_use" => "tool_calls",
        _ => "stop",
    }
}

/// Unix seconds now.
pub(super) fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_refuses_then_refills() {
        let limits = RateLimits::default();
        for _ in 0..3 {
            limits.take("t", 3).unwrap();
        }
        let err = limits.take("t", 3).unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.message.contains("3 requests per minute"), "{}", err.message);
        // Another token has its own bucket; 0 means no limit.
        limits.take("u", 3).unwrap();
        for _ in 0..100 {
            limits.take("t", 0).unwrap();
        }
    }

    #[test]
    fn base64_vectors_are_little_endian_f32() {
        // 1.0f32 = 00 00 80 3f; -2.5 = 00 00 20 c0
        assert_eq!(base64_f32(&[1.0]), "AACAPw==");
        assert_eq!(base64_f32(&[1.0, -2.5]), "AACAPwAAIMA=");
        assert_eq!(base64_f32(&[]), "");
    }

    #[test]
    fn finish_reasons_map_to_openais() {
        assert_eq!(finish_reason("length", false), "length");
        assert_eq!(finish_reason("max_tokens", false), "length");
        assert_eq!(finish_reason("end_turn", false), "stop");
        assert_eq!(finish_reason("stop", true), "tool_calls");
    }
}
