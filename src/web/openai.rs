//! The OpenAI-compatible API under `/v1`: chat completions (streamed as
//! OpenAI's chunks, or whole), models and embeddings. Any client that
//! speaks OpenAI's API works pointed at ctl, with an API token where it
//! puts an OpenAI key; every chat request becomes a ctl job.

use std::convert::Infallible;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::gateway::{self, GatewayError, Piece};
use crate::api::{FunctionSpec, Message, Params, Role, ToolCall, Usage};

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let code = match self.status.as_u16() {
            429 => Value::from("rate_limit_exceeded"),
            413 => Value::from("request_too_large"),
            _ => Value::Null,
        };
        let body =
            json!({"error": {"message": self.message, "type": self.kind, "param": null, "code": code}});
        (self.status, axum::Json(body)).into_response()
    }
}

/// Fields ctl reads itself; every other one is the provider's to take.
const OWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "user",
    "n",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "functions",
    "function_call",
];

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    state.gateway_limits().take(&caller.id, state.local().config.gateway.requests_per_minute)?;
    let bytes = gateway::read_body(&state, body).await?;
    let body: Map<String, Value> = serde_json::from_slice(&bytes)
        .map_err(|e| GatewayError::invalid(format!("the body is not a JSON object: {e}")))?;
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage =
        body.get("stream_options").and_then(|o| o.get("include_usage")).and_then(Value::as_bool)
            == Some(true);
    let req = parse_chat(&body)?;
    let model = req.model.clone();
    let id = gateway::submit(&state, &caller, &headers, &bytes, req).await?;
    let pieces = gateway::pieces(&state, &id).await;
    let mut resp = if stream {
        stream_chunks(pieces, format!("chatcmpl-{id}"), model, include_usage).into_response()
    } else {
        let (text, end) = gateway::collect(pieces).await;
        match end {
            Some(Piece::End { finish_reason, usage, tool_calls }) => {
                let completion = completion(&id, &model, &text, &finish_reason, usage.as_ref(), &tool_calls);
                axum::Json(completion).into_response()
            }
            Some(Piece::Failed(message)) => {
                GatewayError::new(axum::http::StatusCode::BAD_GATEWAY, "server_error", message)
                    .into_response()
            }
            _ => GatewayError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "the server is shutting down; repeat the request with the same Idempotency-Key",
            )
            .into_response(),
        }
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-ctl-job-id", v);
    }
    Ok(resp)
}

/// An OpenAI chat request in ctl's terms.
fn parse_chat(body: &Map<String, Value>) -> Result<gateway::Request, GatewayError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| GatewayError::invalid("model is required"))?
        .to_owned();
    if body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(GatewayError::invalid("n > 1 is not supported: ctl runs one answer per job"));
    }
    let raw = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::invalid("messages must be a non-empty array"))?;
    let messages = raw.iter().map(parse_message).collect::<Result<Vec<_>, _>>()?;
    let mut params = Params::new();
    for key in ["temperature", "top_p", "seed"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            params.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(v) =
        body.get("max_completion_tokens").or_else(|| body.get("max_tokens")).filter(|v| !v.is_null())
    {
        params.insert("max_tokens".to_owned(), v.clone());
    }
    if let Some(v) = body.get("stop").filter(|v| !v.is_null()) {
        params.insert("stop".to_owned(), v.clone());
    }
    let native = body
        .iter()
        .filter(|(k, v)| !OWN_FIELDS.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let client_tools = parse_tools(body.get("tools"))?;
    let tool_choice = match body.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Some(name.to_owned()),
            None => return Err(GatewayError::invalid("tool_choice must be a string or name a function")),
        },
    };
    let user = body.get("user").and_then(Value::as_str).filter(|u| !u.is_empty()).map(str::to_owned);
    Ok(gateway::Request { api: "openai", model, messages, params, native, client_tools, tool_choice, user })
}

fn parse_message(m: &Value) -> Result<Message, GatewayError> {
    let role = match m.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool" | "function") => Role::Tool,
        other => return Err(GatewayError::invalid(format!("unknown message role {other:?}"))),
    };
    let content = match m.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        text.push_str(part.get("text").and_then(Value::as_str).unwrap_or_default());
                    }
                    other => {
                        return Err(GatewayError::invalid(format!(
                            "content parts of type {other:?} are not supported; send text"
                        )));
                    }
                }
            }
            text
        }
        Some(_) => return Err(GatewayError::invalid("content must be a string or an array of parts")),
    };
    let tool_calls = m
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    let raw = c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}");
                    ToolCall {
                        id: c.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        name: c
                            .pointer("/function/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        arguments: serde_json::from_str(raw)
                            .unwrap_or_else(|_| Value::String(raw.to_owned())),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let tool_call_id = m.get("tool_call_id").and_then(Value::as_str).map(str::to_owned);
    Ok(Message { role, content, tool_calls, tool_call_id })
}

/// The client's functions, from OpenAI's `tools`.
pub(super) fn parse_tools(tools: Option<&Value>) -> Result<Vec<FunctionSpec>, GatewayError> {
    let Some(list) = tools.and_then(Value::as_array) else { return Ok(Vec::new()) };
    list.iter()
        .map(|t| {
            let f = t.get("function").unwrap_or(t);
            let name = f.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
            let name = name.ok_or_else(|| GatewayError::invalid("every tool needs a function name"))?;
            Ok(FunctionSpec {
                name: name.to_owned(),
                description: f.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
                parameters: f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object"})),
            })
        })
        .collect()
}

fn openai_calls(calls: &[ToolCall]) -> Vec<Value> {
    calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let arguments = match &c.arguments {
                Value::String(raw) => raw.clone(),
                v => v.to_string(),
            };
            json!({"index": i, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": arguments}})
        })
        .collect()
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    })
}

/// A whole `chat.completion`.
fn completion(
    id: &str,
    model: &str,
    text: &str,
    reason: &str,
    usage: Option<&Usage>,
    calls: &[ToolCall],
) -> Value {
    let mut message = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        message["tool_calls"] = openai_calls(calls)
            .into_iter()
            .map(|mut c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("index");
                }
                c
            })
            .collect();
    }
    let usage =
        usage.map_or(json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}), usage_json);
    json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": gateway::unix_now(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": gateway::finish_reason(reason, !calls.is_empty()),
            "logprobs": null,
        }],
        "usage": usage,
    })
}

/// The answer as `chat.completion.chunk` events, then `[DONE]`.
fn stream_chunks(
    pieces: impl futures_util::Stream<Item = Piece> + Send + 'static,
    id: String,
    model: String,
    include_usage: bool,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>> {
    let created = gateway::unix_now();
    let chunk = move |delta: Value, finish: Value| {
        json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let first = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    let data = |v: &Value| SseEvent::default().data(v.to_string());
    let head = futures_util::stream::once(std::future::ready(vec![data(&first)]));
    let body = pieces.map(move |piece| match piece {
        Piece::Token(text) => vec![data(&chunk(json!({"content": text}), Value::Null))],
        Piece::End { finish_reason, usage, tool_calls } => {
            let mut out = Vec::new();
            if !tool_calls.is_empty() {
                out.push(data(&chunk(json!({"tool_calls": openai_calls(&tool_calls)}), Value::Null)));
            }
            let reason = gateway::finish_reason(&finish_reason, !tool_calls.is_empty());
            out.push(data(&chunk(json!({}), json!(reason))));
            if include_usage {
                let mut last = chunk(json!({}), Value::Null);
                last["choices"] = json!([]);
                last["usage"] = usage.as_ref().map_or(Value::Null, usage_json);
                out.push(data(&last));
            }
            out.push(SseEvent::default().data("[DONE]"));
            out
        }
        Piece::Failed(message) => vec![
            data(
                &json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}}),
            ),
            SseEvent::default().data("[DONE]"),
        ],
    });
    let events = head.chain(body).flat_map(|batch| futures_util::stream::iter(batch.into_iter().map(Ok)));
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// `GET /v1/models`: every configured provider's models, as `provider:model`.
pub async fn models(State(state): State<AppState>) -> axum::Json<Value> {
    let providers = super::system::provider_models(&state).await;
    let data: Vec<Value> = providers
        .iter()
        .flat_map(|p| {
            p.models.iter().map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": p.provider}))
        })
        .collect();
    axum::Json(json!({"object": "list", "data": data}))
}

/// `POST /v1/embeddings`: passed to the model's provider; recorded in the
/// history and usage like a job.
pub async fn embeddings(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    state.gateway_limits().take(&caller.id, state.local().config.gateway.requests_per_minute)?;
    let bytes = gateway::read_body(&state, body).await?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| GatewayError::invalid(format!("the body is not JSON: {e}")))?;
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| GatewayError::invalid("model is required"))?;
    let inputs = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) && !items.is_empty() => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        _ => return Err(GatewayError::invalid("input must be a string or a non-empty array of strings")),
    };
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let embedded = gateway::embed(&state, &caller, &headers, "openai", model, inputs).await?;
    let data: Vec<Value> = embedded
        .vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 { Value::String(gateway::base64_f32(v)) } else { json!(v) };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let usage = json!({"prompt_tokens": embedded.prompt_tokens, "total_tokens": embedded.prompt_tokens});
    Ok(axum::Json(json!({"object": "list", "data": data, "model": model, "usage": usage})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: &Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_request_maps_to_a_job_and_keeps_unknown_fields_for_the_provider() {
        let req = parse_chat(&body(&json!({
            "model": "local:tiny",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
            "max_completion_tokens": 9, "temperature": 0.5, "stop": "\n", "presence_penalty": 0.1,
            "logit_bias": null, "stream": true, "user": "alice",
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
        })))
        .unwrap();
        assert_eq!(req.messages[0].role, Role::System);
        assert_eq!(req.messages[1].content, "hi there");
        assert_eq!(req.messages[2].tool_calls[0].arguments, json!({"a": 1}));
        assert_eq!(req.messages[3].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(req.params["max_tokens"], json!(9));
        assert_eq!(req.params["stop"], json!("\n"));
        assert_eq!(req.native.keys().collect::<Vec<_>>(), ["presence_penalty"]);
        assert_eq!(req.client_tools[0].name, "f");
        assert_eq!(req.tool_choice.as_deref(), Some("f"));
        assert_eq!(req.user.as_deref(), Some("alice"));
    }

    #[test]
    fn bad_requests_are_400s_with_a_reason() {
        for (b, needle) in [
            (json!({"messages": [{"role": "user", "content": "x"}]}), "model"),
            (json!({"model": "m", "messages": []}), "messages"),
            (json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}), "n > 1"),
            (json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}), "role"),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
                "image_url",
            ),
        ] {
            let err = parse_chat(&body(&b)).err().expect("an error");
            assert_eq!(err.status.as_u16(), 400);
            assert!(err.message.contains(needle), "{needle}: {}", err.message);
        }
    }
}
