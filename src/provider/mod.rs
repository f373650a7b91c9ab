//! Model backends behind one trait: stream a chat, embed texts, list models.
//!
//! Three wire protocols are spoken: Ollama's native NDJSON API, the
//! OpenAI-compatible chat completions API (SSE), and Anthropic Messages (SSE).
//! Each backend turns its protocol into the same [`ChatEvent`] stream and
//! classifies failures as [`ErrorKind::Transient`] (worth a retry) or
//! [`ErrorKind::Permanent`] (fail the job now, with the server's message).

mod anthropic;
mod calls;
mod decode;
mod ollama;
mod openai;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tool_tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::api::{Message, ToolCall};
use crate::config::{ProviderConfig, ProviderKind};

pub use anthropic::Anthropic;
pub use ollama::Ollama;
pub use openai::OpenAi;

/// One chat request, already resolved to a backend model name.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model name as the backend knows it (without the `provider:` prefix).
    pub model: String,
    pub messages: Vec<Message>,
    /// Free-form generation parameters (`temperature`, `max_tokens`, `top_p`,
    /// `seed`, `stop`, ...). Each backend maps the ones it knows.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Tools the model may call; none means a plain chat.
    pub tools: Vec<ToolSpec>,
    /// How the model may use `tools`.
    pub tool_choice: ToolChoice,
}

impl ChatRequest {
    /// A plain chat: no tools.
    pub fn new(model: impl Into<String>, messages: Vec<Message>, params: crate::api::Params) -> Self {
        Self { model: model.into(), messages, params, tools: Vec::new(), tool_choice: ToolChoice::Auto }
    }
}

/// A tool as a model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The name on the wire (letters, digits, `_` and `-`: every API takes those).
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Whether and which tool the model must call in one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// No tool calls: answer in text.
    None,
    /// At least one tool call.
    Required,
    /// This tool, by its wire name.
    Tool(String),
}

/// What a chat stream yields, in order: tokens and tool calls, then at most
/// one usage, then exactly one `Done` when the stream ended normally.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// A piece of generated text.
    Token(String),
    /// A whole tool call, once the stream has delivered all of it. Its
    /// `arguments` are the parsed object, or the raw text as a JSON string
    /// when the model wrote something that is not JSON.
    ToolCall(ToolCall),
    /// Token counts as reported by the server.
    Usage { prompt_tokens: u64, completion_tokens: u64 },
    /// The server finished the answer.
    Done { finish_reason: Option<String> },
}

/// A stream of chat events; dropping it cancels the request.
pub type ChatStream = BoxStream<'static, Result<ChatEvent, ProviderError>>;

/// Whether a failure is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Connection refused or reset, timeouts, HTTP 408/429/5xx, overload.
    Transient,
    /// Bad request, unknown model, authentication, malformed responses.
    Permanent,
}

/// A backend failure with a message fit for a user.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ProviderError {
    // Messages quote servers, and a server may echo the key it was sent:
    // secrets are scrubbed here, before a message reaches a job's log,
    // its record, an alert or a log line.
    pub fn transient(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Transient, message: crate::secrets::redact(&message.into()).into_owned() }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Permanent, message: crate::secrets::redact(&message.into()).into_owned() }
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

/// A model a backend offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The backend's name for it (no provider prefix).
    pub name: String,
}

/// A model backend.
pub trait Provider: Send + Sync {
    /// Starts a streamed chat. Errors before the first byte (connection,
    /// HTTP status) come from the future; errors after it come from the stream.
    fn chat(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>>;

    /// Embeds texts, one vector per input, in order.
    fn embed(&self, model: &str, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>>;

    /// Lists the models the backend serves.
    fn models(&self) -> BoxFuture<'_, Result<Vec<ModelInfo>, ProviderError>>;

    /// The model's context window in tokens, when the server tells
    /// (llama.cpp's `/props`, Ollama's `/api/show`); `None` when it does not.
    fn context_window<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Option<u64>> {
        let _ = model;
        Box::pin(async { None })
    }

    /// How many tokens `text` is for the model, when the server has a
    /// tokenizer endpoint; `None` when it has none.
    fn count_tokens<'a>(&'a self, model: &'a str, text: &'a str) -> BoxFuture<'a, Option<u64>> {
        let _ = (model, text);
        Box::pin(async { None })
    }

    /// Asks the server why `req` failed with `err`, when the failure says
    /// too little (llama-cpp-python answers a prompt too long for its
    /// context with an empty stream; the same request unstreamed gets the
    /// reason). A permanent error with the server's reason, or `None`.
    fn explain_failure<'a>(
        &'a self,
        req: &'a ChatRequest,
        err: &'a ProviderError,
    ) -> BoxFuture<'a, Option<ProviderError>> {
        let _ = (req, err);
        Box::pin(async { None })
    }
}

/// Decodes a recorded chat response body as `kind`'s backend does, fed in
/// the given chunks: the stream parsers without a network, for fuzzing.
#[doc(hidden)]
pub async fn decode_recorded(
    kind: ProviderKind,
    chunks: Vec<bytes::Bytes>,
) -> Vec<Result<ChatEvent, ProviderError>> {
    use futures_util::StreamExt;
    let body = futures_util::stream::iter(chunks.into_iter().map(Ok));
    let stream = match kind {
        ProviderKind::Ollama => ollama::decode_chat(body),
        ProviderKind::Openai => openai::decode_chat(body),
        ProviderKind::Anthropic => anthropic::decode_chat(body),
    };
    stream.collect().await
}

/// Timeouts shared by every backend.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Time allowed to open a connection.
    pub connect: Duration,
    /// Longest silence allowed between two pieces of a stream (and before
    /// the response headers).
    pub idle: Duration,
}

/// Builds the backend a provider entry of the config describes. Reads the API
/// key from the environment variable or file the entry names.
pub fn build(name: &str, cfg: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
    let timeouts = Timeouts {
        connect: Duration::from_secs_f64(cfg.connect_timeout_secs),
        idle: Duration::from_secs_f64(cfg.idle_timeout_secs),
    };
    let key = cfg.api_key().map_err(|e| ProviderError::permanent(format!("provider {name}: {e}")))?;
    let client = http_client(timeouts)?;
    let base = cfg.base_url.trim_end_matches('/').to_owned();
    Ok(match cfg.kind {
        ProviderKind::Ollama => Arc::new(Ollama::new(client, base, timeouts)),
        ProviderKind::Openai => Arc::new(OpenAi::new(client, base, key, timeouts)),
        ProviderKind::Anthropic => Arc::new(Anthropic::new(client, base, key, timeouts)),
    })
}

fn http_client(timeouts: Timeouts) -> Result<reqwest::Client, ProviderError> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.idle)
        .user_agent(concat!("ctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProviderError::permanent(format!("cannot build HTTP client: {e}")))
}

/// Installs the process-wide rustls crypto provider (ring, which builds
/// fast and portably). Safe to call any number of times.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Classifies a reqwest failure (no response, or a broken body).
pub(crate) fn classify_reqwest(err: &reqwest::Error, url: &str) -> ProviderError {
    let what = if err.is_connect() {
        "cannot connect to"
    } else if err.is_timeout() {
        "timed out talking to"
    } else if err.is_body() || err.is_decode() {
        "broken response from"
    } else {
        "request failed for"
    };
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if err.is_builder() {
        return ProviderError::permanent(format!("invalid request to {url}: {detail}"));
    }
    ProviderError::transient(format!("{what} {url}: {detail}"))
}

/// Classifies an HTTP error status, keeping the server's own message.
pub(crate) fn classify_status(status: reqwest::StatusCode, body: &str, url: &str) -> ProviderError {
    let message = server_message(body);
    let text = format!("{url} answered {status}: {message}");
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        ProviderError::transient(text)
    } else {
        ProviderError::permanent(text)
    }
}

/// Pulls the human message out of the error bodies the three APIs send
/// (`{"error": "..."}`, `{"error": {"message": "..."}}`), or a short raw body.
pub(crate) fn server_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let err = v.get("error").unwrap_or(&v);
        if let Some(s) = err.as_str() {
            return s.to_owned();
        }
        if let Some(s) = err.get("message").and_then(|m| m.as_str()) {
            return s.to_owned();
        }
        if let Some(s) = v.get("detail").and_then(|m| m.as_str()) {
            return s.to_owned();
        }
    }
    let trimmed = body.trim();
    let mut short: String = trimmed.chars().take(300).collect();
    if short.len() < trimmed.len() {
        short.push('…');
    }
    if short.is_empty() { "(empty body)".to_owned() } else { short }
}
