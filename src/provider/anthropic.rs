//! The Anthropic Messages backend: `/v1/messages` streamed as SSE and
//! `/v1/models`. Anthropic has no embeddings API; asking for one is a
//! permanent error so the job fails at once instead of retrying.

use bytes::Bytes;
use eventsource_stream::Event;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, Stream};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::calls::CallParts;
use super::decode::{self, Decoder, Flow};
use super::{ChatEvent, ChatRequest, ChatStream, ModelInfo, Provider, ProviderError, Timeouts, ToolChoice};
use crate::api::Role;

const PROVIDER: &str = "Anthropic";
const API_VERSION: &str = "2023-06-01";
/// The API requires `max_tokens`; this is the answer length when a job sets none.
const DEFAULT_MAX_TOKENS: u64 = 4096;
/// Bounds the pagination of `/v1/models` against a server that never says "no more".
const MAX_MODEL_PAGES: usize = 20;

/// The Anthropic API (or a server that speaks it).
pub struct Anthropic {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    timeouts: Timeouts,
}

impl Anthropic {
    /// `base_url` is the server root, e.g. `https://api.anthropic.com`.
    pub fn new(
        client: reqwest::Client,
        base_url: String,
        api_key: Option<String>,
        timeouts: Timeouts,
    ) -> Self {
        let mut base_url = base_url;
        base_url.truncate(base_url.trim_end_matches('/').len());
        Self { client, base_url, api_key, timeouts }
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, url).header("anthropic-version", API_VERSION);
        if let Some(key) = &self.api_key {
            req = req.header("x-api-key", key);
        }
        req
    }
}

/// The streamed request. System messages become the top-level `system`
/// field; an assistant turn's tool calls become `tool_use` blocks, and the
/// results that follow it one user turn of `tool_result` blocks (a tool
/// message without a call id travels as user text). Unknown params are
/// left out: the API rejects fields it does not know.
fn chat_body(req: &ChatRequest) -> Value {
    let mut system = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    // Whether the last message is a user turn of tool results, which the
    // next result joins.
    let mut results_open = false;
    for m in &req.messages {
        let message = match (m.role, &m.tool_call_id) {
            (Role::System, _) => {
                system.push(m.content.as_str());
                continue;
            }
            (Role::Tool, Some(id)) => {
                let block = json!({"type": "tool_result", "tool_use_id": id, "content": m.content});
                if results_open
                    && let Some(blocks) = messages.last_mut().and_then(|l| l["content"].as_array_mut())
                {
                    blocks.push(block);
                    continue;
                }
                results_open = true;
                messages.push(json!({"role": "user", "content": [block]}));
                continue;
            }
            (Role::Assistant, _) if !m.tool_calls.is_empty() => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                for c in &m.tool_calls {
                    let input = if c.arguments.is_object() { c.arguments.clone() } else { json!({}) };
                    blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
                }
                json!({"role": "assistant", "content": blocks})
            }
            (Role::Assistant, _) => json!({"role": "assistant", "content": m.content}),
            (Role::User | Role::Tool, _) => json!({"role": "user", "content": m.content}),
        };
        results_open = false;
        messages.push(message);
    }
    let mut body = Map::new();
    for (key, value) in &req.params {
        let to = match key.as_str() {
            "max_tokens" | "temperature" | "top_p" | "top_k" => key.as_str(),
            "stop" | "stop_sequences" => "stop_sequences",
            _ => continue,
        };
        let value = if value.is_string() && to == "stop_sequences" { json!([value]) } else { value.clone() };
        body.insert(to.into(), value);
    }
    body.entry("max_tokens").or_insert(json!(DEFAULT_MAX_TOKENS));
    body.insert("model".into(), json!(req.model));
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(true));
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}));
        body.insert("tools".into(), tools.collect());
        let choice = match &req.tool_choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Required => json!({"type": "any"}),
            ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
        };
        body.insert("tool_choice".into(), choice);
    }
    Value::Object(body)
}

impl Provider for Anthropic {
    fn chat(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        async move {
            let url = format!("{}/v1/messages", self.base_url);
            let http = self.request(Method::POST, &url).json(&chat_body(&req));
            Ok(decode_chat(decode::open_stream(http, url, self.timeouts.idle).await?))
        }
        .boxed()
    }

    fn embed(
        &self,
        _model: &str,
        _texts: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        async { Err(ProviderError::permanent("Anthropic has no embeddings API")) }.boxed()
    }

    fn models(&self) -> BoxFuture<'_, Result<Vec<ModelInfo>, ProviderError>> {
        async move {
            let base = format!("{}/v1/models", self.base_url);
            let mut models = Vec::new();
            let mut after: Option<String> = None;
            for _ in 0..MAX_MODEL_PAGES {
                let mut url = reqwest::Url::parse(&base)
                    .map_err(|e| ProviderError::permanent(format!("invalid URL {base}: {e}")))?;
                url.query_pairs_mut().append_pair("limit", "1000");
                if let Some(id) = &after {
                    url.query_pairs_mut().append_pair("after_id", id);
                }
                let url = url.to_string();
                let http = self.request(Method::GET, &url);
                let page: ModelPage = decode::fetch_json(http, &url, self.timeouts.idle).await?;
                models.extend(page.data.into_iter().map(|m| ModelInfo { name: m.id }));
                match page.last_id {
                    Some(last) if page.has_more => after = Some(last),
                    _ => break,
                }
            }
            Ok(models)
        }
        .boxed()
    }
}

#[derive(Deserialize)]
struct ModelPage {
    data: Vec<ModelId>,
    #[serde(default)]
    has_more: bool,
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct ModelId {
    id: String,
}

/// Turns an Anthropic Messages SSE body into chat events.
pub(crate) fn decode_chat(
    bytes: impl Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
) -> ChatStream {
    decode::drive(decode::sse_events(bytes, PROVIDER), ChatDecoder::default())
}

/// An event's payload; its `type` repeats the SSE event name.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payload {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        #[serde(default)]
        index: u64,
        content_block: Block,
    },
    ContentBlockDelta {
        #[serde(default)]
        index: u64,
        delta: Block,
    },
    ContentBlockStop {
        #[serde(default)]
        index: u64,
    },
    MessageDelta {
        delta: Option<MessageDelta>,
        usage: Option<Usage>,
    },
    MessageStop,
    Error {
        error: Value,
    },
    /// `ping`, and event types added after this was written.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct StartMessage {
    usage: Option<Usage>,
}

/// A content block or a delta of one: text is an answer token, a
/// `tool_use` block a tool call whose input arrives as `input_json_delta`
/// pieces (the first often empty); thinking and signatures are neither.
#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    id: Option<String>,
    name: Option<String>,
    partial_json: Option<String>,
}

#[derive(Deserialize)]
struct MessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
#[expect(clippy::struct_field_names, reason = "the API's own field names")]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

#[derive(Default)]
struct ChatDecoder {
    prompt: Option<u64>,
    completion: Option<u64>,
    stop_reason: Option<String>,
    calls: CallParts,
}

impl ChatDecoder {
    /// Counts are cumulative, so the latest wins. Cached prompt tokens are
    /// reported apart from `input_tokens` but were part of the prompt.
    fn usage(&mut self, u: &Usage) {
        if let Some(input) = u.input_tokens {
            // Saturating: the numbers come from the network.
            let cached = [u.cache_creation_input_tokens, u.cache_read_input_tokens];
            let cached = cached.into_iter().flatten().fold(0, u64::saturating_add);
            self.prompt = Some(input.saturating_add(cached));
        }
        if u.output_tokens.is_some() {
            self.completion = u.output_tokens;
        }
    }

    fn finish(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), ProviderError> {
        let cut = self.stop_reason.as_deref() == Some("max_tokens");
        self.calls.finish_all(PROVIDER, cut, out)?;
        if self.prompt.is_some() || self.completion.is_some() {
            out.push(ChatEvent::Usage {
                prompt_tokens: self.prompt.unwrap_or(0),
                completion_tokens: self.completion.unwrap_or(0),
            });
        }
        out.push(ChatEvent::Done { finish_reason: self.stop_reason.take() });
        Ok(())
    }
}

impl Decoder<Event> for ChatDecoder {
    fn item(&mut self, ev: Event, out: &mut Vec<ChatEvent>) -> Result<Flow, ProviderError> {
        match decode::parse::<Payload>(PROVIDER, ev.data.as_bytes())? {
            Payload::MessageStart { message } => {
                if let Some(u) = message.usage {
                    self.usage(&u);
                }
            }
            Payload::ContentBlockStart { index, content_block: block }
            | Payload::ContentBlockDelta { index, delta: block } => match block.kind.as_str() {
                "text" | "text_delta" => {
                    if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                        out.push(ChatEvent::Token(text));
                    }
                }
                "tool_use" => self.calls.fragment(index, block.id.as_deref(), block.name.as_deref(), None),
                "input_json_delta" if self.calls.has(index) => {
                    self.calls.fragment(index, None, None, block.partial_json.as_deref());
                }
                _ => {}
            },
            Payload::ContentBlockStop { index } => {
                let cut = self.stop_reason.as_deref() == Some("max_tokens");
                self.calls.finish_one(index, PROVIDER, cut, out)?;
            }
            Payload::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.and_then(|d| d.stop_reason) {
                    self.stop_reason = Some(reason);
                }
                if let Some(u) = usage {
                    self.usage(&u);
                }
            }
            Payload::MessageStop => {
                self.finish(out)?;
                return Ok(Flow::Finished);
            }
            Payload::Error { error } => return Err(decode::stream_error(PROVIDER, &error)),
            Payload::Other => {}
        }
        Ok(Flow::More)
    }

    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), ProviderError> {
        // A stop reason means the answer is complete even if `message_stop` was lost.
        if self.stop_reason.is_none() {
            return Err(decode::ended_early(PROVIDER));
        }
        self.finish(out)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::Message;
    use crate::provider::ErrorKind;
    use crate::provider::testkit::{
        self, Events, chunked, done, last_error, response, serve, serve_each, usage,
    };

    #[tokio::test]
    async fn recorded_transcript_decodes_the_same_at_every_split() {
        let data = testkit::fixture("anthropic_stream.sse");
        let events = testkit::every_split(&data, decode_chat).await;
        testkit::every_prefix(&data, decode_chat).await;
        let text = "Hello! The sky looks blue because air molecules scatter short (blue) \
                    wavelengths of sunlight more than long ones.";
        assert_eq!(testkit::text(&events), text);
        assert_eq!(testkit::non_tokens(&events), [Ok(usage(25, 23)), Ok(done("end_turn"))]);
    }

    #[tokio::test]
    async fn overloaded_error_event_is_transient() {
        let data = testkit::fixture("anthropic_error_stream.sse");
        let events = testkit::every_split(&data, decode_chat).await;
        assert_eq!(testkit::text(&events), "Here is a short summary of the");
        let want = ProviderError::transient("Anthropic reported an error: Overloaded");
        assert_eq!(last_error(&events), want);
    }

    /// CRLF, cached prompt tokens, thinking and tool deltas, an unknown event.
    const ODD: &str = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":\
        {\"input_tokens\":3,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":null,\"output_tokens\":1}}}\r\n\r\n\
        data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\r\n\r\n\
        data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Grüße 🌍\"}}\r\n\r\n\
        data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\r\n\r\n\
        event: future_thing\r\ndata: {\"type\":\"future_thing\"}\r\n\r\n\
        data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":7}}\r\n\r\n";

    #[tokio::test]
    async fn odd_stream_decodes_the_same_at_every_split() {
        // No `message_stop`: the stop reason already says the answer is complete.
        let events = testkit::every_split(ODD.as_bytes(), decode_chat).await;
        let want = [Ok(ChatEvent::Token("Grüße 🌍".into())), Ok(usage(103, 7)), Ok(done("max_tokens"))];
        assert_eq!(events, want);
    }

    #[tokio::test]
    async fn bad_streams_fail_with_the_right_kind() {
        let error = |t: &str| format!("event: error\ndata: {{\"type\":\"error\",\"error\":{t}}}\n\n");
        let cases = [
            (String::new(), ErrorKind::Transient, "ended early"),
            (error(r#"{"type":"api_error","message":"oops"}"#), ErrorKind::Transient, "oops"),
            (error(r#"{"type":"invalid_request_error","message":"no"}"#), ErrorKind::Permanent, "no"),
            (
                "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\"\n\n".into(),
                ErrorKind::Permanent,
                "{\"text\"",
            ),
        ];
        for (tail, kind, needle) in cases {
            let body = format!("event: ping\ndata: {{\"type\":\"ping\"}}\n\n{tail}");
            let events = testkit::every_split(body.as_bytes(), decode_chat).await;
            assert_eq!(events.len(), 1, "{tail}");
            let err = last_error(&events);
            assert_eq!(err.kind, kind, "{tail}");
            assert!(err.message.contains(PROVIDER) && err.message.contains(needle), "{err}");
        }
    }

    fn backend(url: &str, key: Option<&str>) -> Anthropic {
        let key = key.map(str::to_owned);
        Anthropic::new(testkit::client(), format!("{url}/"), key, testkit::timeouts())
    }

    fn request(params: &[(&str, Value)]) -> ChatRequest {
        let messages = vec![
            Message::new(Role::System, "be brief"),
            Message::new(Role::User, "hi"),
            Message::new(Role::Assistant, "hello"),
            Message::new(Role::System, "in English"),
            Message::new(Role::Tool, "42"),
        ];
        let params = params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        ChatRequest::new("claude-sonnet-4-5", messages, params)
    }

    #[tokio::test]
    async fn chat_over_http_sends_key_version_and_mapped_body() {
        let body = testkit::fixture("anthropic_stream.sse");
        let (url, server) = serve(chunked("text/event-stream", &body, true)).await;
        let params = [("temperature", json!(0.5)), ("stop", json!("END")), ("seed", json!(7))];
        let events = testkit::chat(&backend(&url, Some("sk-ant")), request(&params)).await;
        assert_eq!(events.last(), Some(&Ok(done("end_turn"))));
        let req = server.await.expect("server");
        assert_eq!(req.line(), "POST /v1/messages HTTP/1.1");
        assert_eq!(req.header("x-api-key"), Some("sk-ant"));
        assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
        let want = json!({
            "model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": true,
            "temperature": 0.5, "stop_sequences": ["END"], "system": "be brief\n\nin English",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "42"},
            ],
        });
        assert_eq!(req.json(), want);
    }

    #[tokio::test]
    async fn http_errors_are_classified_with_the_server_message() {
        let body = testkit::fixture("anthropic_error.json");
        let (url, _server) = serve(response("400 Bad Request", "application/json", &body)).await;
        let err = testkit::chat_error(&backend(&url, None), request(&[])).await;
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(err.message.ends_with("max_tokens: Field required"), "{err}");
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let (url, _server) = serve(response("529 Overloaded", "application/json", body)).await;
        let err = testkit::chat_error(&backend(&url, None), request(&[])).await;
        assert_eq!(err.kind, ErrorKind::Transient);
        assert!(err.message.contains("529") && err.message.ends_with("Overloaded"), "{err}");
    }

    #[tokio::test]
    async fn connection_closed_mid_stream_is_transient() {
        let body = testkit::fixture("anthropic_stream.sse");
        let (url, _server) = serve(chunked("text/event-stream", &body[..body.len() / 2], false)).await;
        let events: Events = testkit::chat(&backend(&url, None), request(&[])).await;
        assert!(last_error(&events).is_transient());
    }

    #[tokio::test]
    async fn embed_is_a_permanent_error() {
        let err = backend("http://127.0.0.1:9", None).embed("m", vec!["a".into()]).await;
        assert_eq!(err, Err(ProviderError::permanent("Anthropic has no embeddings API")));
    }

    #[tokio::test]
    async fn models_follow_pagination() {
        let pages = [
            r#"{"data":[{"id":"claude-a","type":"model"}],"has_more":true,"last_id":"claude-a"}"#,
            r#"{"data":[{"id":"claude-b","type":"model"}],"has_more":false,"last_id":"claude-b"}"#,
        ];
        let pages = pages.map(|p| response("200 OK", "application/json", p.as_bytes())).to_vec();
        let (url, server) = serve_each(pages, Duration::ZERO).await;
        let models = backend(&url, Some("k")).models().await.expect("models");
        let names: Vec<String> = models.into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["claude-a", "claude-b"]);
        let reqs = server.await.expect("server");
        assert_eq!(reqs[0].line(), "GET /v1/models?limit=1000 HTTP/1.1");
        assert_eq!(reqs[1].line(), "GET /v1/models?limit=1000&after_id=claude-a HTTP/1.1");
        assert_eq!(reqs[1].header("x-api-key"), Some("k"));
    }
}
