//! The OpenAI-compatible backend: `/chat/completions` streamed as SSE,
//! `/embeddings` and `/models`. llama.cpp's `llama-server`, llama-cpp-python,
//! vLLM, LM Studio, OpenRouter and OpenAI itself speak it, each a little
//! differently (usage chunk or none, `[DONE]` or not), so the decoder only
//! relies on what they share.

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
use crate::api::{Message, Role};

const PROVIDER: &str = "OpenAI-compatible";

/// How the end of an empty stream is told apart from other failures.
const EMPTY_STREAM: &str = "server sent an empty stream";

/// Which tokenizer endpoint a server has, once known.
const TOKENIZER_UNKNOWN: u8 = 0;
const TOKENIZER_LLAMA_CPP: u8 = 1;
const TOKENIZER_LLAMA_CPP_PYTHON: u8 = 2;
const TOKENIZER_NONE: u8 = 3;

/// A server speaking the OpenAI API.
pub struct OpenAi {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    timeouts: Timeouts,
    tokenizer: std::sync::atomic::AtomicU8,
}

impl OpenAi {
    /// `base_url` includes the `/v1` part, e.g. `http://127.0.0.1:8080/v1`.
    pub fn new(
        client: reqwest::Client,
        base_url: String,
        api_key: Option<String>,
        timeouts: Timeouts,
    ) -> Self {
        let mut base_url = base_url;
        base_url.truncate(base_url.trim_end_matches('/').len());
        Self { client, base_url, api_key, timeouts, tokenizer: TOKENIZER_UNKNOWN.into() }
    }

    fn request(&self, method: Method, path: &str) -> (String, reqwest::RequestBuilder) {
        let url = format!("{}{path}", self.base_url);
        self.request_url(method, url)
    }

    /// A request to the server root (`/props`, `/tokenize`), outside `/v1`.
    fn request_root(&self, method: Method, path: &str) -> (String, reqwest::RequestBuilder) {
        let root = self.base_url.strip_suffix("/v1").unwrap_or(&self.base_url);
        self.request_url(method, format!("{root}{path}"))
    }

    fn request_url(&self, method: Method, url: String) -> (String, reqwest::RequestBuilder) {
        let mut req = self.client.request(method, &url);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        (url, req)
    }

    /// Counts with llama.cpp's `/tokenize`.
    async fn count_llama_cpp(&self, text: &str) -> Result<u64, ProviderError> {
        let (url, http) = self.request_root(Method::POST, "/tokenize");
        let body = json!({ "content": text, "add_special": false });
        let answer: Value = decode::fetch_json(http.json(&body), &url, self.timeouts.idle).await?;
        let tokens = answer.get("tokens").and_then(Value::as_array);
        tokens.map(|t| t.len() as u64).ok_or_else(|| ProviderError::permanent("no tokens"))
    }

    /// Counts with llama-cpp-python's `/extras/tokenize/count`.
    async fn count_llama_cpp_python(&self, model: &str, text: &str) -> Result<u64, ProviderError> {
        let (url, http) = self.request_root(Method::POST, "/extras/tokenize/count");
        let body = json!({ "input": text, "model": model });
        let answer: Value = decode::fetch_json(http.json(&body), &url, self.timeouts.idle).await?;
        answer.get("count").and_then(Value::as_u64).ok_or_else(|| ProviderError::permanent("no count"))
    }
}

/// The streamed chat request. Params go in first so that none of them can
/// replace a field the decoder relies on (`stream`, `stream_options`).
fn chat_body(req: &ChatRequest) -> Value {
    let mut body: Map<String, Value> = req.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    body.insert("model".into(), json!(req.model));
    body.insert("messages".into(), Value::Array(req.messages.iter().map(wire_message).collect()));
    body.insert("stream".into(), json!(true));
    // Ask for the usage chunk; servers that ignore this simply send none.
    body.insert("stream_options".into(), json!({ "include_usage": true }));
    if !req.tools.is_empty() {
        let tools = req.tools.iter().map(|t| {
            json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters,
            }})
        });
        body.insert("tools".into(), tools.collect());
        let choice = match &req.tool_choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        body.insert("tool_choice".into(), choice);
    }
    Value::Object(body)
}

/// A message in the API's shape. An assistant turn that called tools has
/// `content: ""`, not `null`: llama-cpp-python rejects `null` there.
fn wire_message(m: &Message) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut out = json!({ "role": role, "content": m.content });
    if !m.tool_calls.is_empty() {
        let calls = m.tool_calls.iter().map(|c| {
            let arguments = match &c.arguments {
                Value::String(raw) => raw.clone(),
                v => v.to_string(),
            };
            json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": arguments}})
        });
        out["tool_calls"] = calls.collect();
    }
    if let Some(id) = &m.tool_call_id {
        out["tool_call_id"] = json!(id);
    }
    out
}

impl Provider for OpenAi {
    fn chat(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        async move {
            let (url, http) = self.request(Method::POST, "/chat/completions");
            let http = http.json(&chat_body(&req));
            Ok(decode_chat(decode::open_stream(http, url, self.timeouts.idle).await?))
        }
        .boxed()
    }

    fn embed(&self, model: &str, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        let body = json!({ "model": model, "input": texts });
        async move {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            let (url, http) = self.request(Method::POST, "/embeddings");
            let answer: Embeddings = decode::fetch_json(http.json(&body), &url, self.timeouts.idle).await?;
            let mut data = answer.data;
            // The API numbers the vectors; nothing promises they arrive in order.
            data.sort_by_key(|d| d.index);
            decode::check_count(&url, data.len(), texts.len())?;
            Ok(data.into_iter().map(|d| d.embedding).collect())
        }
        .boxed()
    }

    fn models(&self) -> BoxFuture<'_, Result<Vec<ModelInfo>, ProviderError>> {
        async move {
            let (url, http) = self.request(Method::GET, "/models");
            let list: ModelList = decode::fetch_json(http, &url, self.timeouts.idle).await?;
            Ok(list.data.into_iter().map(|m| ModelInfo { name: m.id }).collect())
        }
        .boxed()
    }

    /// llama.cpp's server says its context size in `/props`; other servers
    /// (OpenAI, llama-cpp-python, vLLM) do not say it anywhere cheap.
    fn context_window<'a>(&'a self, _model: &'a str) -> BoxFuture<'a, Option<u64>> {
        async move {
            let (url, http) = self.request_root(Method::GET, "/props");
            let props: Value = decode::fetch_json(http, &url, self.timeouts.idle).await.ok()?;
            let settings = props.get("default_generation_settings");
            [settings.and_then(|s| s.get("n_ctx")), props.get("n_ctx")]
                .into_iter()
                .flatten()
                .find_map(Value::as_u64)
                .filter(|n| *n > 0)
        }
        .boxed()
    }

    /// llama.cpp's `/tokenize` or llama-cpp-python's
    /// `/extras/tokenize/count`, whichever the server has (found once).
    fn count_tokens<'a>(&'a self, model: &'a str, text: &'a str) -> BoxFuture<'a, Option<u64>> {
        use std::sync::atomic::Ordering;
        async move {
            let known = self.tokenizer.load(Ordering::Relaxed);
            if matches!(known, TOKENIZER_UNKNOWN | TOKENIZER_LLAMA_CPP)
                && let Ok(n) = self.count_llama_cpp(text).await
            {
                self.tokenizer.store(TOKENIZER_LLAMA_CPP, Ordering::Relaxed);
                return Some(n);
            }
            if matches!(known, TOKENIZER_UNKNOWN | TOKENIZER_LLAMA_CPP_PYTHON)
                && let Ok(n) = self.count_llama_cpp_python(model, text).await
            {
                self.tokenizer.store(TOKENIZER_LLAMA_CPP_PYTHON, Ordering::Relaxed);
                return Some(n);
            }
            if known == TOKENIZER_UNKNOWN {
                self.tokenizer.store(TOKENIZER_NONE, Ordering::Relaxed);
            }
            None
        }
        .boxed()
    }

    /// An empty stream gets the same request again, unstreamed:
    /// llama-cpp-python then answers 400 with the reason (a prompt longer
    /// than its context) that the stream left out.
    fn explain_failure<'a>(
        &'a self,
        req: &'a ChatRequest,
        err: &'a ProviderError,
    ) -> BoxFuture<'a, Option<ProviderError>> {
        async move {
            if !err.message.contains(EMPTY_STREAM) {
                return None;
            }
            // The same request, the same answer budget: servers count the
            // prompt and max_tokens together against the window.
            let mut body = chat_body(req);
            body["stream"] = json!(false);
            if let Some(obj) = body.as_object_mut() {
                obj.remove("stream_options");
            }
            // The connection the empty stream came over may be the one the
            // server closed: a transient failure is tried again, once.
            for _ in 0..2 {
                let (url, http) = self.request(Method::POST, "/chat/completions");
                match decode::fetch_json::<Value>(http.json(&body), &url, self.timeouts.idle).await {
                    Err(e) if !e.is_transient() => return Some(e),
                    Err(_) => {}
                    Ok(_) => return None,
                }
            }
            None
        }
        .boxed()
    }
}

#[derive(Deserialize)]
struct Embeddings {
    data: Vec<Embedding>,
}

#[derive(Deserialize)]
struct Embedding {
    #[serde(default)]
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelId>,
}

#[derive(Deserialize)]
struct ModelId {
    id: String,
}

/// Turns an OpenAI-style SSE body into chat events.
pub(crate) fn decode_chat(
    bytes: impl Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
) -> ChatStream {
    decode::drive(decode::sse_events(bytes, PROVIDER), ChatDecoder::default())
}

#[derive(Deserialize)]
struct Chunk {
    choices: Option<Vec<Choice>>,
    usage: Option<Usage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: u64,
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    tool_calls: Option<Vec<CallDelta>>,
}

/// A fragment of a tool call: `id` and `name` come first (llama-cpp-python
/// repeats them), `arguments` is split anywhere.
#[derive(Deserialize)]
struct CallDelta {
    #[serde(default)]
    index: u64,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

#[derive(Default)]
struct ChatDecoder {
    finish_reason: Option<String>,
    /// Kept until the end: some servers repeat usage in every chunk, and the
    /// stream contract allows one `Usage`, right before `Done`.
    usage: Option<Usage>,
    seen_data: bool,
    calls: CallParts,
}

impl ChatDecoder {
    /// Ends the answer: whole tool calls (whatever the finish reason says:
    /// some servers answer `stop` with calls), usage, then `Done`.
    fn finish(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), ProviderError> {
        let cut = self.finish_reason.as_deref() == Some("length");
        self.calls.finish_all(PROVIDER, cut, out)?;
        if let Some(u) = self.usage.take() {
            out.push(ChatEvent::Usage {
                prompt_tokens: u.prompt_tokens.unwrap_or(0),
                completion_tokens: u.completion_tokens.unwrap_or(0),
            });
        }
        out.push(ChatEvent::Done { finish_reason: self.finish_reason.take() });
        Ok(())
    }
}

impl Decoder<Event> for ChatDecoder {
    fn item(&mut self, ev: Event, out: &mut Vec<ChatEvent>) -> Result<Flow, ProviderError> {
        let data = ev.data.trim();
        if data == "[DONE]" {
            // Every OpenAI-compatible server names a finish reason before
            // `[DONE]`; one that does not cut the answer short (for example
            // llama-cpp-python interrupting a stream for a newer request).
            if self.finish_reason.is_none() {
                return Err(ProviderError::transient(format!(
                    "{PROVIDER} server ended the stream without a finish reason (answer cut short)"
                )));
            }
            self.finish(out)?;
            return Ok(Flow::Finished);
        }
        if ev.event == "error" {
            let v = serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.to_owned()));
            return Err(decode::stream_error(PROVIDER, v.get("error").unwrap_or(&v)));
        }
        if data.is_empty() {
            return Ok(Flow::More);
        }
        let chunk: Chunk = decode::parse(PROVIDER, data.as_bytes())?;
        if let Some(err) = chunk.error {
            return Err(decode::stream_error(PROVIDER, &err));
        }
        self.seen_data = true;
        // Only the first choice: ctl never asks for `n > 1`.
        for choice in chunk.choices.unwrap_or_default().into_iter().filter(|c| c.index == 0) {
            let delta = choice.delta.unwrap_or(Delta { content: None, tool_calls: None });
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                out.push(ChatEvent::Token(text));
            }
            for call in delta.tool_calls.unwrap_or_default() {
                let (name, arguments) = match call.function {
                    Some(f) => (f.name, f.arguments),
                    None => (None, None),
                };
                self.calls.fragment(call.index, call.id.as_deref(), name.as_deref(), arguments.as_deref());
            }
            // Some servers send `""` rather than `null` while still generating.
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish_reason = Some(reason);
            }
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        Ok(Flow::More)
    }

    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), ProviderError> {
        // A finish reason means the answer is complete even if `[DONE]` was lost.
        if self.finish_reason.is_some() {
            return self.finish(out);
        }
        if self.seen_data {
            return Err(decode::ended_early(PROVIDER));
        }
        Err(ProviderError::transient(format!(
            "{PROVIDER} {EMPTY_STREAM} (llama-cpp-python does so when the prompt does not fit \
             the context)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::{Message, Role};
    use crate::provider::ErrorKind;
    use crate::provider::testkit::{self, chunked, done, last_error, response, serve, usage};

    #[tokio::test]
    async fn llamacpp_transcript_decodes_the_same_at_every_split() {
        let data = testkit::fixture("openai_llamacpp_stream.txt");
        let events = testkit::every_split(&data, decode_chat).await;
        testkit::every_prefix(&data, decode_chat).await;
        let tokens = String::from_utf8_lossy(&data).matches("\"content\":").count();
        assert_eq!(events.len(), tokens + 1);
        assert!(testkit::text(&events).starts_with(" anedvu hi theiedv my__"));
        // llama-cpp-python sends no usage chunk.
        assert_eq!(testkit::non_tokens(&events), [Ok(done("length"))]);
    }

    /// llama-server's shape: a usage chunk after the finish reason; plus CRLF,
    /// a comment, a second choice and multi-byte characters to split.
    const WITH_USAGE: &str = ": keep-alive\r\n\r\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\r\n\r\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Grüße, \"}}],\"usage\":null}\r\n\r\n\
        data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other choice\"}}]}\r\n\r\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"🌍!\"}}]}\r\n\r\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n\
        data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3},\"timings\":{}}\r\n\r\n\
        data: [DONE]\r\n\r\n";

    #[tokio::test]
    async fn usage_crlf_and_split_utf8_decode_the_same_at_every_split() {
        let events = testkit::every_split(WITH_USAGE.as_bytes(), decode_chat).await;
        let tokens = ["Grüße, ", "🌍!"].map(|t| Ok(ChatEvent::Token(t.into())));
        assert_eq!(events[..2], tokens);
        assert_eq!(events[2..], [Ok(usage(12, 3)), Ok(done("stop"))]);
    }

    #[tokio::test]
    async fn stream_ends_without_done() {
        let tok = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
        let fin = "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n";
        let events = testkit::every_split(tok.as_bytes(), decode_chat).await;
        assert_eq!(last_error(&events), decode::ended_early(PROVIDER));
        let events = testkit::whole(format!("{tok}{fin}").as_bytes(), decode_chat).await;
        assert_eq!(testkit::non_tokens(&events), [Ok(done("length"))]);
        let err = last_error(&testkit::whole(b"", decode_chat).await);
        assert!(err.is_transient() && err.message.contains("empty"), "{err}");
    }

    /// llama-cpp-python ends a stream it interrupts for a newer request with
    /// `[DONE]` and no finish reason; that answer is cut short, not complete.
    #[tokio::test]
    async fn done_without_a_finish_reason_is_a_cut_short_answer() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n";
        let events = testkit::every_split(body.as_bytes(), decode_chat).await;
        let err = last_error(&events);
        assert!(err.is_transient() && err.message.contains("cut short"), "{err}");
    }

    #[tokio::test]
    async fn error_objects_in_the_stream_are_classified() {
        let cases = [
            (r#"{"message":"slot crashed","type":"server_error","code":500}"#, ErrorKind::Transient),
            (r#"{"message":"bad stop","type":"invalid_request_error"}"#, ErrorKind::Permanent),
        ];
        for (error, kind) in cases {
            let tok = r#"data: {"choices":[{"delta":{"content":"a"}}]}"#;
            let body = format!("{tok}\n\ndata: {{\"error\":{error}}}\n\n");
            let events = testkit::every_split(body.as_bytes(), decode_chat).await;
            assert_eq!(events[0], Ok(ChatEvent::Token("a".into())));
            let err = last_error(&events);
            assert_eq!((events.len(), err.kind), (2, kind), "{error}");
            assert!(err.message.contains(PROVIDER), "{err}");
        }
        let named = testkit::whole(b"event: error\ndata: overloaded\n\n", decode_chat).await;
        let err = last_error(&named);
        assert!(err.is_transient() && err.message.ends_with("overloaded"), "{err}");
    }

    #[tokio::test]
    async fn malformed_line_is_permanent_and_quoted() {
        let body = b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\": [tru\n\n";
        let err = last_error(&testkit::every_split(body, decode_chat).await);
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(err.message.contains(PROVIDER), "{err}");
        assert!(err.message.contains("{\"choices\": [tru"), "{err}");
        let body = b"data: {\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}\n\n";
        let err = last_error(&testkit::every_split(body, decode_chat).await);
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(err.message.contains("UTF-8"), "{err}");
    }

    fn request() -> ChatRequest {
        let params = [("temperature", json!(0.2)), ("max_tokens", json!(64)), ("stream", json!(false))];
        let messages = vec![Message::new(Role::System, "be brief"), Message::new(Role::User, "hi")];
        let params = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        ChatRequest::new("tiny", messages, params)
    }

    fn backend(url: &str, key: Option<&str>, idle_ms: u64) -> OpenAi {
        let t = Timeouts { idle: Duration::from_millis(idle_ms), ..testkit::timeouts() };
        OpenAi::new(testkit::client(), format!("{url}/v1/"), key.map(str::to_owned), t)
    }

    #[tokio::test]
    async fn chat_over_http_sends_key_and_merged_params() {
        let (url, server) = serve(chunked("text/event-stream", WITH_USAGE.as_bytes(), true)).await;
        let events = testkit::chat(&backend(&url, Some("sk-test"), 5000), request()).await;
        assert_eq!(testkit::text(&events), "Grüße, 🌍!");
        assert_eq!(events.last(), Some(&Ok(done("stop"))));
        let req = server.await.expect("server");
        assert_eq!(req.line(), "POST /v1/chat/completions HTTP/1.1");
        assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
        let want = json!({
            "model": "tiny", "stream": true, "stream_options": {"include_usage": true},
            "temperature": 0.2, "max_tokens": 64,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        });
        assert_eq!(req.json(), want);
    }

    #[tokio::test]
    async fn http_errors_keep_the_server_message() {
        let body = testkit::fixture("openai_error.json");
        let (url, _server) = serve(response("400 Bad Request", "application/json", &body)).await;
        let err = testkit::chat_error(&backend(&url, None, 5000), request()).await;
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(err.message.contains("400 Bad Request"), "{err}");
        assert!(err.message.contains("maximum context length is 2048"), "{err}");
        let (url, server) = serve(response("503 Service Unavailable", "text/plain", b"loading")).await;
        let err = testkit::chat_error(&backend(&url, None, 5000), request()).await;
        assert_eq!(err.kind, ErrorKind::Transient);
        assert!(err.message.ends_with("loading"), "{err}");
        assert_eq!(server.await.expect("server").header("authorization"), None);
    }

    #[tokio::test]
    async fn connection_closed_mid_stream_is_transient() {
        let half = &WITH_USAGE.as_bytes()[..WITH_USAGE.len() / 2];
        let (url, _server) = serve(chunked("text/event-stream", half, false)).await;
        let events = testkit::chat(&backend(&url, None, 5000), request()).await;
        assert!(matches!(events[0], Ok(ChatEvent::Token(_))));
        assert!(last_error(&events).is_transient(), "{events:?}");
    }

    #[tokio::test]
    async fn silence_longer_than_idle_timeout_is_transient() {
        let mut parts = chunked("text/event-stream", WITH_USAGE.as_bytes(), true);
        let first = parts.remove(1);
        parts[0].extend(first);
        let (url, _server) = testkit::serve_slowly(parts, Duration::from_secs(4)).await;
        let events = testkit::chat(&backend(&url, None, 1000), request()).await;
        let url = format!("{url}/v1/chat/completions");
        assert_eq!(last_error(&events), decode::idle_error(&url, Duration::from_secs(1)));
    }

    #[tokio::test]
    async fn embed_and_models_over_http() {
        let body = r#"{"data":[{"index":1,"embedding":[0.5,-1]},{"index":0,"embedding":[1,2]}]}"#;
        let (url, server) = serve(response("200 OK", "application/json", body.as_bytes())).await;
        let got = backend(&url, Some("k"), 5000).embed("e5", vec!["a".into(), "b".into()]).await;
        assert_eq!(got, Ok(vec![vec![1.0, 2.0], vec![0.5, -1.0]]));
        let req = server.await.expect("server");
        assert_eq!(req.line(), "POST /v1/embeddings HTTP/1.1");
        assert_eq!(req.json(), json!({"model": "e5", "input": ["a", "b"]}));

        let body = r#"{"object":"list","data":[{"id":"tiny","object":"model"},{"id":"e5"}]}"#;
        let (url, server) = serve(response("200 OK", "application/json", body.as_bytes())).await;
        let models = backend(&url, None, 5000).models().await.expect("models");
        let names: Vec<String> = models.into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["tiny", "e5"]);
        assert_eq!(server.await.expect("server").line(), "GET /v1/models HTTP/1.1");
    }
}
