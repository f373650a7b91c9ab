//! The Ollama backend, spoken natively: `/api/chat` streamed as NDJSON,
//! `/api/embed` and `/api/tags`. The native API (rather than Ollama's OpenAI
//! shim) is used because it reports prompt and completion token counts in
//! every streamed answer and takes sampling options by their own names.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, Stream};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::decode::{self, Decoder, Flow};
use super::{ChatEvent, ChatRequest, ChatStream, ModelInfo, Provider, ProviderError, Timeouts, ToolChoice};
use crate::api::{Message, Role, ToolCall};

const PROVIDER: &str = "Ollama";

/// An Ollama server.
pub struct Ollama {
    client: reqwest::Client,
    base_url: String,
    timeouts: Timeouts,
}

impl Ollama {
    /// `base_url` is the server root, e.g. `http://127.0.0.1:11434`.
    pub fn new(client: reqwest::Client, base_url: String, timeouts: Timeouts) -> Self {
        let mut base_url = base_url;
        base_url.truncate(base_url.trim_end_matches('/').len());
        Self { client, base_url, timeouts }
    }
}

/// The streamed chat request. Sampling params go into `options`, under
/// Ollama's names; the few that are request fields stay at the top level,
/// where Ollama looks for them (in `options` they would be ignored).
fn chat_body(req: &ChatRequest) -> Value {
    let mut body = Map::new();
    let mut options = Map::new();
    // BTreeMap order: an explicit `num_predict` comes after `max_tokens` and wins.
    for (key, value) in &req.params {
        match key.as_str() {
            "max_tokens" => options.insert("num_predict".into(), value.clone()),
            "stop" if value.is_string() => options.insert(key.clone(), json!([value])),
            "format" | "keep_alive" | "think" => body.insert(key.clone(), value.clone()),
            _ => options.insert(key.clone(), value.clone()),
        };
    }
    body.insert("model".into(), json!(req.model));
    body.insert(
        "messages".into(),
        Value::Array(req.messages.iter().map(|m| wire_message(m, &req.messages)).collect()),
    );
    body.insert("stream".into(), json!(true));
    // Ollama has no tool_choice: `none` sends no tools, a named tool is
    // the only one sent.
    let tools: Vec<_> = match &req.tool_choice {
        ToolChoice::None => Vec::new(),
        ToolChoice::Tool(name) => req.tools.iter().filter(|t| &t.name == name).collect(),
        ToolChoice::Auto | ToolChoice::Required => req.tools.iter().collect(),
    };
    if !tools.is_empty() {
        let tools = tools.iter().map(|t| {
            json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters,
            }})
        });
        body.insert("tools".into(), tools.collect());
    }
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    Value::Object(body)
}

/// A message in Ollama's shape: tool calls carry their arguments as an
/// object, and a tool result names its tool (found through its call id).
fn wire_message(m: &Message, all: &[Message]) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut out = json!({ "role": role, "content": m.content });
    if !m.tool_calls.is_empty() {
        let calls = m.tool_calls.iter().map(|c| {
            let arguments = if c.arguments.is_object() { c.arguments.clone() } else { json!({}) };
            json!({"function": {"name": c.name, "arguments": arguments}})
        });
        out["tool_calls"] = calls.collect();
    }
    if let Some(id) = &m.tool_call_id {
        let name = all.iter().flat_map(|m| &m.tool_calls).find(|c| &c.id == id).map(|c| c.name.as_str());
        if let Some(name) = name {
            out["tool_name"] = json!(name);
        }
    }
    out
}

impl Provider for Ollama {
    fn chat(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        async move {
            let url = format!("{}/api/chat", self.base_url);
            let http = self.client.post(&url).json(&chat_body(&req));
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
            let url = format!("{}/api/embed", self.base_url);
            let http = self.client.post(&url).json(&body);
            let answer: Embeddings = decode::fetch_json(http, &url, self.timeouts.idle).await?;
            decode::check_count(&url, answer.embeddings.len(), texts.len())?;
            Ok(answer.embeddings)
        }
        .boxed()
    }

    fn models(&self) -> BoxFuture<'_, Result<Vec<ModelInfo>, ProviderError>> {
        async move {
            let url = format!("{}/api/tags", self.base_url);
            let tags: Tags = decode::fetch_json(self.client.get(&url), &url, self.timeouts.idle).await?;
            Ok(tags.models.into_iter().map(|m| ModelInfo { name: m.name }).collect())
        }
        .boxed()
    }
}

#[derive(Deserialize)]
struct Embeddings {
    embeddings: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct Tags {
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

/// Turns an Ollama NDJSON chat body into chat events.
pub(crate) fn decode_chat(
    bytes: impl Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
) -> ChatStream {
    decode::drive(decode::ndjson_lines(bytes), ChatDecoder::default())
}

#[derive(Deserialize)]
struct Line {
    message: Option<LineMessage>,
    #[serde(default)]
    done: bool,
    done_reason: Option<String>,
    prompt_eval_count: Option<u64>,
    eval_count: Option<u64>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct LineMessage {
    content: Option<String>,
    tool_calls: Option<Vec<LineCall>>,
}

/// Ollama sends each call whole, with its arguments as an object; newer
/// versions add an id.
#[derive(Deserialize)]
struct LineCall {
    id: Option<String>,
    function: LineFunction,
}

#[derive(Deserialize)]
struct LineFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

/// Counts the calls of the answer, to name those that come without an id.
#[derive(Default)]
struct ChatDecoder {
    calls: usize,
}

impl Decoder<Vec<u8>> for ChatDecoder {
    fn item(&mut self, line: Vec<u8>, out: &mut Vec<ChatEvent>) -> Result<Flow, ProviderError> {
        let line: Line = decode::parse(PROVIDER, &line)?;
        if let Some(err) = line.error {
            return Err(decode::stream_error(PROVIDER, &err));
        }
        let (content, calls) = match line.message {
            Some(m) => (m.content, m.tool_calls.unwrap_or_default()),
            None => (None, Vec::new()),
        };
        if let Some(text) = content.filter(|t| !t.is_empty()) {
            out.push(ChatEvent::Token(text));
        }
        for call in calls {
            let id = call.id.filter(|i| !i.is_empty()).unwrap_or_else(|| format!("call_{}", self.calls));
            self.calls += 1;
            let arguments = match call.function.arguments {
                Value::Null => json!({}),
                // Some models put the arguments in a JSON string.
                Value::String(raw) => super::calls::parse_arguments(&raw).unwrap_or(Value::String(raw)),
                v => v,
            };
            out.push(ChatEvent::ToolCall(ToolCall { id, name: call.function.name, arguments }));
        }
        if !line.done {
            return Ok(Flow::More);
        }
        // Ollama leaves out `prompt_eval_count` when the whole prompt was cached.
        if line.prompt_eval_count.is_some() || line.eval_count.is_some() {
            out.push(ChatEvent::Usage {
                prompt_tokens: line.prompt_eval_count.unwrap_or(0),
                completion_tokens: line.eval_count.unwrap_or(0),
            });
        }
        out.push(ChatEvent::Done { finish_reason: line.done_reason });
        Ok(Flow::Finished)
    }

    fn end(&mut self, _out: &mut Vec<ChatEvent>) -> Result<(), ProviderError> {
        Err(decode::ended_early(PROVIDER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Message, Role};
    use crate::provider::ErrorKind;
    use crate::provider::testkit::{self, chunked, done, last_error, response, serve, usage};

    #[tokio::test]
    async fn recorded_transcript_decodes_the_same_at_every_split() {
        let data = testkit::fixture("ollama_chat_stream.ndjson");
        let events = testkit::every_split(&data, decode_chat).await;
        testkit::every_prefix(&data, decode_chat).await;
        assert_eq!(events.len(), 12);
        let text = "The sky appears blue because of Rayleigh scattering.";
        assert_eq!(testkit::text(&events), text);
        assert_eq!(testkit::non_tokens(&events), [Ok(usage(26, 10)), Ok(done("stop"))]);
    }

    /// CRLF, a blank line, split UTF-8, text on the final line and no final newline.
    const ODD: &str = "{\"message\":{\"role\":\"assistant\",\"content\":\"Grüße\"},\"done\":false}\r\n\n\
        {\"message\":{\"content\":\" 🌍\"},\"done\":true,\"done_reason\":\"length\",\"eval_count\":2}";

    #[tokio::test]
    async fn odd_framing_decodes_the_same_at_every_split() {
        let events = testkit::every_split(ODD.as_bytes(), decode_chat).await;
        let tokens = ["Grüße", " 🌍"].map(|t| Ok(ChatEvent::Token(t.into())));
        assert_eq!(events[..2], tokens);
        assert_eq!(events[2..], [Ok(usage(0, 2)), Ok(done("length"))]);
    }

    #[tokio::test]
    async fn bad_streams_fail_with_the_right_kind() {
        let tok = "{\"message\":{\"content\":\"a\"},\"done\":false}\n";
        let cases = [
            ("", ErrorKind::Transient, "ended early"),
            ("{\"error\":\"model runner has unexpectedly stopped\"}\n", ErrorKind::Permanent, "runner"),
            ("{\"error\":\"server busy, please try again\"}", ErrorKind::Transient, "busy"),
            ("{\"message\":{\"content\":\"b\"},\"done\":fals\n", ErrorKind::Permanent, "\"done\":fals"),
            ("<html>502 Bad Gateway</html>\n", ErrorKind::Permanent, "<html>"),
        ];
        for (tail, kind, needle) in cases {
            let body = format!("{tok}{tok}{tail}");
            let events = testkit::every_split(body.as_bytes(), decode_chat).await;
            assert_eq!(events.len(), 3, "{tail}");
            let err = last_error(&events);
            assert_eq!(err.kind, kind, "{tail}");
            assert!(err.message.contains(PROVIDER) && err.message.contains(needle), "{err}");
        }
    }

    fn backend(url: &str) -> Ollama {
        Ollama::new(testkit::client(), format!("{url}/"), testkit::timeouts())
    }

    fn request(params: &[(&str, Value)]) -> ChatRequest {
        let messages = vec![Message::new(Role::System, "be brief"), Message::new(Role::User, "hi")];
        let params = params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        ChatRequest::new("llama3.2", messages, params)
    }

    #[tokio::test]
    async fn chat_over_http_maps_params_into_options() {
        let body = testkit::fixture("ollama_chat_stream.ndjson");
        let (url, server) = serve(chunked("application/x-ndjson", &body, true)).await;
        let params = [
            ("max_tokens", json!(64)),
            ("temperature", json!(0.2)),
            ("stop", json!("\n\n")),
            ("mirostat", json!(1)),
            ("keep_alive", json!("5m")),
        ];
        let events = testkit::chat(&backend(&url), request(&params)).await;
        assert_eq!(events.last(), Some(&Ok(done("stop"))));
        let req = server.await.expect("server");
        assert_eq!(req.line(), "POST /api/chat HTTP/1.1");
        let want = json!({
            "model": "llama3.2", "stream": true, "keep_alive": "5m",
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            "options": {"num_predict": 64, "temperature": 0.2, "stop": ["\n\n"], "mirostat": 1},
        });
        assert_eq!(req.json(), want);
    }

    #[tokio::test]
    async fn unknown_model_is_permanent_with_the_server_message() {
        let body = testkit::fixture("ollama_error.json");
        let (url, _server) = serve(response("404 Not Found", "application/json", &body)).await;
        let err = testkit::chat_error(&backend(&url), request(&[])).await;
        assert_eq!(err.kind, ErrorKind::Permanent);
        let message = "model \"llama3.2:70b\" not found, try pulling it first";
        assert!(err.message.ends_with(message), "{err}");
    }

    #[tokio::test]
    async fn connection_closed_mid_stream_is_transient() {
        let body = testkit::fixture("ollama_chat_stream.ndjson");
        let half = &body[..body.len() / 2];
        let (url, _server) = serve(chunked("application/x-ndjson", half, false)).await;
        let events = testkit::chat(&backend(&url), request(&[])).await;
        assert!(matches!(events[0], Ok(ChatEvent::Token(_))));
        assert!(last_error(&events).is_transient(), "{events:?}");
    }

    #[tokio::test]
    async fn embed_and_tags_over_http() {
        let body = testkit::fixture("ollama_embed.json");
        let (url, server) = serve(response("200 OK", "application/json", &body)).await;
        let texts = vec!["why is the sky blue?".to_owned(), "why is grass green?".to_owned()];
        let got = backend(&url).embed("nomic-embed-text", texts.clone()).await.expect("vectors");
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [768, 768]);
        assert!((got[0][0] - -0.009_218_94).abs() < 1e-7);
        let req = server.await.expect("server");
        assert_eq!(req.line(), "POST /api/embed HTTP/1.1");
        assert_eq!(req.json(), json!({"model": "nomic-embed-text", "input": texts}));
        assert_eq!(backend(&url).embed("m", vec![]).await, Ok(vec![]));

        let body = testkit::fixture("ollama_tags.json");
        let (url, server) = serve(response("200 OK", "application/json", &body)).await;
        let models = backend(&url).models().await.expect("tags");
        let names: Vec<String> = models.into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["llama3.2:latest", "nomic-embed-text:latest"]);
        assert_eq!(server.await.expect("server").line(), "GET /api/tags HTTP/1.1");
    }
}
