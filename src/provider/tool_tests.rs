//! Tool calling in each backend's own shape: streams of calls decoded at
//! every byte split, and the requests that carry tools, calls and results.

use serde_json::{Value, json};

use super::testkit::{self, chunked, done, last_error, serve, usage};
use super::{Anthropic, ChatEvent, ChatRequest, Ollama, OpenAi, ToolChoice, ToolSpec};
use super::{anthropic, ollama, openai};
use crate::api::{Message, Role, ToolCall};

fn calls(events: &testkit::Events) -> Vec<ToolCall> {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ChatEvent::ToolCall(c)) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn call(id: &str, name: &str, arguments: Value) -> ToolCall {
    ToolCall { id: id.into(), name: name.into(), arguments }
}

#[tokio::test]
async fn llamacpp_recorded_tool_call_decodes_the_same_at_every_split() {
    let data = testkit::fixture("openai_llamacpp_tool_call.txt");
    let events = testkit::every_split(&data, openai::decode_chat).await;
    testkit::every_prefix(&data, openai::decode_chat).await;
    let got = calls(&events);
    assert_eq!(got.len(), 1, "{events:?}");
    assert_eq!(got[0].name, "vault_read");
    assert!(got[0].id.starts_with("call__0_vault_read_"), "{}", got[0].id);
    assert_eq!(got[0].arguments, json!({"path": "notes/a.md"}));
    assert_eq!(testkit::text(&events), "");
    assert_eq!(events.last(), Some(&Ok(done("tool_calls"))));
}

#[tokio::test]
async fn openai_parallel_calls_split_anywhere_decode_in_order() {
    let data = testkit::fixture("openai_parallel_tool_calls.txt");
    let events = testkit::every_split(&data, openai::decode_chat).await;
    testkit::every_prefix(&data, openai::decode_chat).await;
    assert_eq!(
        calls(&events),
        [
            call("call_Qp3sV1", "vault_read", json!({"path": "notes/a.md"})),
            call("call_Zk8mT2", "fetch", json!({"url": "https://example.com/ü"})),
        ]
    );
    // Calls first, then usage and the end.
    assert_eq!(events[2..], [Ok(usage(81, 44)), Ok(done("tool_calls"))]);
}

#[tokio::test]
async fn a_call_cut_by_the_token_limit_fails_at_once() {
    let data = testkit::fixture("openai_tool_call_cut.txt");
    let events = testkit::every_split(&data, openai::decode_chat).await;
    let err = last_error(&events);
    assert!(!err.is_transient(), "{err}");
    assert!(err.message.contains("middle of a call to fetch") && err.message.contains("max_tokens"), "{err}");
}

/// Servers answer `stop` (not `tool_calls`) with calls; the calls decide.
#[tokio::test]
async fn calls_count_whatever_the_finish_reason() {
    let body = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n\
                data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let events = testkit::every_split(body.as_bytes(), openai::decode_chat).await;
    assert_eq!(calls(&events), [call("a", "f", json!({}))]);
    assert_eq!(events.last(), Some(&Ok(done("stop"))));
}

#[tokio::test]
async fn anthropic_tool_use_blocks_decode_at_every_split() {
    let data = testkit::fixture("anthropic_tool_use.sse");
    let events = testkit::every_split(&data, anthropic::decode_chat).await;
    testkit::every_prefix(&data, anthropic::decode_chat).await;
    assert_eq!(testkit::text(&events), "Let me read that note.");
    assert_eq!(
        calls(&events),
        [
            call(
                "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "vault_read",
                json!({"path": "notes/a.md", "lines": [1, 20]})
            ),
            call("toolu_01Ae2kXv", "run_code", json!({})),
        ]
    );
    assert_eq!(events.last(), Some(&Ok(done("tool_use"))));
}

#[tokio::test]
async fn ollama_whole_calls_decode_at_every_split() {
    let data = testkit::fixture("ollama_tool_calls.ndjson");
    let events = testkit::every_split(&data, ollama::decode_chat).await;
    testkit::every_prefix(&data, ollama::decode_chat).await;
    assert_eq!(
        calls(&events),
        [
            call("call_0", "vault_read", json!({"path": "notes/a.md"})),
            call("call_1", "web_search", json!({"query": "Grüße 🌍"})),
        ]
    );
    assert_eq!(testkit::non_tokens(&events)[2..], [Ok(usage(174, 41)), Ok(done("stop"))]);
}

/// A conversation in the middle of a tool loop: the assistant's calls and
/// the results that answer them.
fn request_with_tools(choice: ToolChoice) -> ChatRequest {
    let read = call("c1", "vault_read", json!({"path": "a.md"}));
    let run = call("c2", "run_code", json!({"code": "print(1)"}));
    let messages = vec![
        Message::new(Role::System, "be brief"),
        Message::new(Role::User, "what does a.md say?"),
        Message {
            role: Role::Assistant,
            content: String::new(),
            tool_calls: vec![read, run],
            tool_call_id: None,
        },
        Message { tool_call_id: Some("c1".into()), ..Message::new(Role::Tool, "it says 42") },
        Message { tool_call_id: Some("c2".into()), ..Message::new(Role::Tool, "1") },
    ];
    let mut req = ChatRequest::new("m", messages, [("max_tokens".to_owned(), json!(9))].into());
    req.tools = vec![ToolSpec {
        name: "vault_read".into(),
        description: "Read a note".into(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    }];
    req.tool_choice = choice;
    req
}

#[tokio::test]
async fn openai_request_carries_tools_calls_and_results() {
    let body = testkit::fixture("openai_parallel_tool_calls.txt");
    let (url, server) = serve(chunked("text/event-stream", &body, true)).await;
    let p = OpenAi::new(testkit::client(), format!("{url}/v1"), None, testkit::timeouts());
    let tool = ToolChoice::Tool("vault_read".into());
    testkit::chat(&p, request_with_tools(tool)).await;
    let got = server.await.expect("server").json();
    assert_eq!(got["tool_choice"], json!({"type": "function", "function": {"name": "vault_read"}}));
    assert_eq!(got["tools"][0]["function"]["name"], "vault_read");
    assert_eq!(got["tools"][0]["type"], "function");
    // `content: ""`, never null, beside the calls; arguments as JSON text.
    assert_eq!(
        got["messages"][2],
        json!({
            "role": "assistant", "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "vault_read", "arguments": "{\"path\":\"a.md\"}"}},
                {"id": "c2", "type": "function", "function": {"name": "run_code", "arguments": "{\"code\":\"print(1)\"}"}},
            ],
        })
    );
    assert_eq!(got["messages"][3], json!({"role": "tool", "content": "it says 42", "tool_call_id": "c1"}));
}

#[tokio::test]
async fn anthropic_request_carries_tool_use_and_one_turn_of_results() {
    let body = testkit::fixture("anthropic_tool_use.sse");
    let (url, server) = serve(chunked("text/event-stream", &body, true)).await;
    let p = Anthropic::new(testkit::client(), url.clone(), Some("k".into()), testkit::timeouts());
    testkit::chat(&p, request_with_tools(ToolChoice::Required)).await;
    let got = server.await.expect("server").json();
    assert_eq!(got["tool_choice"], json!({"type": "any"}));
    assert_eq!(got["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(
        got["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "c1", "name": "vault_read", "input": {"path": "a.md"}},
            {"type": "tool_use", "id": "c2", "name": "run_code", "input": {"code": "print(1)"}},
        ]})
    );
    assert_eq!(
        got["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "it says 42"},
            {"type": "tool_result", "tool_use_id": "c2", "content": "1"},
        ]})
    );
    assert_eq!(got["messages"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn ollama_request_names_each_result_and_drops_tools_for_none() {
    let body = testkit::fixture("ollama_tool_calls.ndjson");
    let (url, server) = serve(chunked("application/x-ndjson", &body, true)).await;
    let p = Ollama::new(testkit::client(), url.clone(), testkit::timeouts());
    testkit::chat(&p, request_with_tools(ToolChoice::Auto)).await;
    let got = server.await.expect("server").json();
    assert_eq!(got["tools"][0]["function"]["name"], "vault_read");
    assert_eq!(
        got["messages"][2]["tool_calls"][1],
        json!({"function": {"name": "run_code", "arguments": {"code": "print(1)"}}})
    );
    assert_eq!(got["messages"][4], json!({"role": "tool", "content": "1", "tool_name": "run_code"}));

    let (url, server) = serve(chunked("application/x-ndjson", &body, true)).await;
    let p = Ollama::new(testkit::client(), url.clone(), testkit::timeouts());
    testkit::chat(&p, request_with_tools(ToolChoice::None)).await;
    assert_eq!(server.await.expect("server").json().get("tools"), None);
}
