//! The Ollama-compatible API under `/ollama`: clients configured with an
//! Ollama host URL (`http://HOST:8000/ollama`) chat, generate, embed and
//! list models through ctl, each chat or generate request a ctl job.
//! Answers stream as Ollama's NDJSON lines (or come whole with
//! `"stream": false`), and errors are Ollama's `{"error": "..."}`.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::gateway::{self, GatewayError, Piece};
use crate::api::{Message, Params, Role, ToolCall, Usage};

/// An error in Ollama's shape.
pub struct OllamaError(GatewayError);

impl From<GatewayError> for OllamaError {
    fn from(e: GatewayError) -> Self {
        Self(e)
    }
}

impl IntoResponse for OllamaError {
    fn into_response(self) -> Response {
        (self.0.status, axum::Json(json!({"error": self.0.message}))).into_response()
    }
}

/// Options every backend knows, under ctl's names.
const SHARED_OPTIONS: &[(&str, &str)] = &[
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("seed", "seed"),
    ("stop", "stop"),
    ("num_predict", "max_tokens"),
];

/// `GET /ollama`: what Ollama answers at its root.
pub async fn root() -> &'static str {
    "Ollama is running"
}

/// `GET /ollama/api/version`.
pub async fn version() -> axum::Json<Value> {
    axum::Json(json!({"version": env!("CARGO_PKG_VERSION")}))
}

/// `GET /ollama/api/tags`: every configured provider's models.
pub async fn tags(State(state): State<AppState>) -> axum::Json<Value> {
    let providers = super::system::provider_models(&state).await;
    let models: Vec<Value> = providers
        .iter()
        .flat_map(|p| {
            p.models.iter().map(|m| {
                json!({
                    "name": m, "model": m, "modified_at": "1970-01-01T00:00:00Z", "size": 0, "digest": "",
                    "details": {"format": "", "family": p.kind, "families": null, "parameter_size": "", "quantization_level": ""},
                })
            })
        })
        .collect();
    axum::Json(json!({"models": models}))
}

/// `POST /ollama/api/chat`.
pub async fn chat(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OllamaError> {
    let (bytes, body) = read(&state, &caller, body).await?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::invalid("messages must be a non-empty array"))?
        .iter()
        .map(parse_message)
        .collect::<Result<Vec<_>, _>>()?;
    respond(&state, &caller, &headers, &bytes, &body, messages, Shape::Chat).await
}

/// `POST /ollama/api/generate`: a prompt (and an optional system prompt).
pub async fn generate(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OllamaError> {
    let (bytes, body) = read(&state, &caller, body).await?;
    if body.get("images").is_some_and(|i| !i.is_null()) {
        return Err(GatewayError::invalid("images are not supported; send text").into());
    }
    let prompt = body
        .get("prompt")
        .and_then(Value::as_str)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| GatewayError::invalid("prompt is required"))?;
    let mut messages = Vec::new();
    if let Some(system) = body.get("system").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        messages.push(Message::new(Role::System, system));
    }
    messages.push(Message::new(Role::User, prompt));
    respond(&state, &caller, &headers, &bytes, &body, messages, Shape::Generate).await
}

/// `POST /ollama/api/embed`: `input` is a string or a list of strings.
pub async fn embed(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OllamaError> {
    let (_, body) = read(&state, &caller, body).await?;
    let model = model_of(&body)?;
    let inputs = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        _ => {
            return Err(GatewayError::invalid("input must be a string or a non-empty list of strings").into());
        }
    };
    let t0 = std::time::Instant::now();
    let out = gateway::embed(&state, &caller, &headers, "ollama", &model, inputs).await?;
    let nanos = t0.elapsed().as_nanos() as u64;
    let body = json!({
        "model": model, "embeddings": out.vectors, "total_duration": nanos, "load_duration": 0,
        "prompt_eval_count": out.prompt_tokens,
    });
    Ok(axum::Json(body).into_response())
}

/// `POST /ollama/api/embeddings`: the older single-prompt form.
pub async fn embeddings(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OllamaError> {
    let (_, body) = read(&state, &caller, body).await?;
    let model = model_of(&body)?;
    let prompt = body
        .get("prompt")
        .and_then(Value::as_str)
        .ok_or_else(|| GatewayError::invalid("prompt is required"))?;
    let out = gateway::embed(&state, &caller, &headers, "ollama", &model, vec![prompt.to_owned()]).await?;
    let vector = out.vectors.into_iter().next().unwrap_or_default();
    Ok(axum::Json(json!({"embedding": vector})).into_response())
}

/// Rate limit, size cap and JSON: what every write starts with.
async fn read(
    state: &AppState,
    caller: &crate::store::TokenInfo,
    body: Body,
) -> Result<(axum::body::Bytes, Map<String, Value>), OllamaError> {
    state.gateway_limits().take(&caller.id, state.local().config.gateway.requests_per_minute)?;
    let bytes = gateway::read_body(state, body).await?;
    let map = serde_json::from_slice(&bytes)
        .map_err(|e| GatewayError::invalid(format!("the body is not a JSON object: {e}")))?;
    Ok((bytes, map))
}

fn model_of(body: &Map<String, Value>) -> Result<String, GatewayError> {
    body.get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| GatewayError::invalid("model is required"))
}

fn parse_message(m: &Value) -> Result<Message, GatewayError> {
    let role = match m.get("role").and_then(Value::as_str) {
        Some("system") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool") => Role::Tool,
        other => return Err(GatewayError::invalid(format!("unknown message role {other:?}"))),
    };
    if m.get("images").is_some_and(|i| !i.is_null()) {
        return Err(GatewayError::invalid("images are not supported; send text"));
    }
    let content = m.get("content").and_then(Value::as_str).unwrap_or_default().to_owned();
    let tool_calls = m
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| ToolCall {
                    id: c
                        .get("id")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("call_{i}"), str::to_owned),
                    name: c.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    arguments: c.pointer("/function/arguments").cloned().unwrap_or_else(|| json!({})),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Message { role, content, tool_calls, tool_call_id: None })
}

/// Which of Ollama's answer shapes to write.
#[derive(Clone, Copy)]
enum Shape {
    Chat,
    Generate,
}

async fn respond(
    state: &AppState,
    caller: &crate::store::TokenInfo,
    headers: &HeaderMap,
    bytes: &[u8],
    body: &Map<String, Value>,
    messages: Vec<Message>,
    shape: Shape,
) -> Result<Response, OllamaError> {
    let model = model_of(body)?;
    let (params, native) = options(body);
    let client_tools = super::openai::parse_tools(body.get("tools"))?;
    let req = gateway::Request {
        api: "ollama",
        model: model.clone(),
        messages,
        params,
        native,
        client_tools,
        tool_choice: None,
        user: None,
    };
    let id = gateway::submit(state, caller, headers, bytes, req).await?;
    let pieces = gateway::pieces(state, &id).await;
    // Ollama streams unless told not to.
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    let mut resp = if stream {
        let lines = pieces.map(move |piece| {
            let line = match piece {
                Piece::Token(text) => part(shape, &model, &text, &[]),
                Piece::End { finish_reason, usage, tool_calls } => {
                    let mut last = part(shape, &model, "", &tool_calls);
                    finish(&mut last, &finish_reason, usage.as_ref());
                    last
                }
                Piece::Failed(message) => json!({"error": message}),
            };
            Ok::<_, std::convert::Infallible>(format!("{line}\n"))
        });
        let mut r = Body::from_stream(lines).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
        r
    } else {
        let (text, end) = gateway::collect(pieces).await;
        match end {
            Some(Piece::End { finish_reason, usage, tool_calls }) => {
                let mut whole = part(shape, &model, &text, &tool_calls);
                finish(&mut whole, &finish_reason, usage.as_ref());
                axum::Json(whole).into_response()
            }
            Some(Piece::Failed(message)) => {
                (StatusCode::BAD_GATEWAY, axum::Json(json!({"error": message}))).into_response()
            }
            _ => {
                (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": "the server is shutting down"})))
                    .into_response()
            }
        }
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-ctl-job-id", v);
    }
    Ok(resp)
}

/// `options` split into the parameters every backend knows and the rest,
/// which only an Ollama provider is given.
fn options(body: &Map<String, Value>) -> (Params, Params) {
    let mut params = Params::new();
    let mut native = Params::new();
    if let Some(options) = body.get("options").and_then(Value::as_object) {
        for (k, v) in options.iter().filter(|(_, v)| !v.is_null()) {
            match SHARED_OPTIONS.iter().find(|(ollama, _)| ollama == k) {
                Some((_, ours)) => params.insert((*ours).to_owned(), v.clone()),
                None => native.insert(k.clone(), v.clone()),
            };
        }
    }
    for key in ["format", "keep_alive", "think"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            native.insert(key.to_owned(), v.clone());
        }
    }
    (params, native)
}

/// One line of the answer (not the last).
fn part(shape: Shape, model: &str, text: &str, calls: &[ToolCall]) -> Value {
    let created_at = jiff::Timestamp::now().to_string();
    match shape {
        Shape::Chat => {
            let mut message = json!({"role": "assistant", "content": text});
            if !calls.is_empty() {
                message["tool_calls"] = calls
                    .iter()
                    .map(|c| json!({"function": {"name": c.name, "arguments": c.arguments}}))
                    .collect();
            }
            json!({"model": model, "created_at": created_at, "message": message, "done": false})
        }
        Shape::Generate => json!({"model": model, "created_at": created_at, "response": text, "done": false}),
    }
}

/// Makes a line the last one: `done`, why, and the counts.
fn finish(line: &mut Value, reason: &str, usage: Option<&Usage>) {
    let reason = match reason {
        "length" | "max_tokens" => "length",
        _ => "stop",
    };
    line["done"] = json!(true);
    line["done_reason"] = json!(reason);
    let u = usage.cloned().unwrap_or_default();
    let nanos = |ms: f64| (ms * 1_000_000.0) as u64;
    line["total_duration"] = json!(nanos(u.duration_ms));
    line["load_duration"] = json!(0);
    line["prompt_eval_count"] = json!(u.prompt_tokens);
    line["prompt_eval_duration"] = json!(nanos(u.ttft_ms.unwrap_or(0.0)));
    line["eval_count"] = json!(u.completion_tokens);
    line["eval_duration"] = json!(nanos(u.duration_ms - u.ttft_ms.unwrap_or(0.0)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_shared_and_ollama_only() {
        let body = json!({"options": {"num_predict": 5, "temperature": 0.1, "num_ctx": 4096, "top_k": 3}, "format": "json"});
        let (params, native) = options(body.as_object().unwrap());
        assert_eq!(params["max_tokens"], json!(5));
        assert_eq!(params["temperature"], json!(0.1));
        assert_eq!(native.keys().collect::<Vec<_>>(), ["format", "num_ctx", "top_k"]);
    }

    #[test]
    fn the_last_line_says_done_with_ollamas_counts() {
        let mut line = part(Shape::Generate, "m", "", &[]);
        let usage = Usage {
            prompt_tokens: 3,
            completion_tokens: 7,
            ttft_ms: Some(2.0),
            duration_ms: 10.0,
            ..Usage::default()
        };
        finish(&mut line, "length", Some(&usage));
        assert_eq!(line["done"], json!(true));
        assert_eq!(line["done_reason"], json!("length"));
        assert_eq!(line["eval_count"], json!(7));
        assert_eq!(line["total_duration"], json!(10_000_000));
        assert_eq!(line["eval_duration"], json!(8_000_000));
    }
}
