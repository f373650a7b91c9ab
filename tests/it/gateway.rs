//! The OpenAI- and Ollama-compatible APIs, driven by the official Python
//! clients (PyPI `openai` and `ollama`, installed by `.ci/setup-gateway`)
//! against a real `ctl up` and the real llama.cpp server: each request is
//! a job, in the history with who sent it.

use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helper::{Env, Server, client, get};

/// The venv `.ci/setup-gateway` installs the clients into.
fn python() -> PathBuf {
    let venv = std::env::var_os("CTL_TEST_GATEWAY_VENV").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/ctl-test/gateway-venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(python.exists(), "{} is missing: run .ci/setup-gateway", python.display());
    python
}

fn run_clients(srv: &Server, token: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gateway_clients.py");
    let out = Command::new(python()).args([script, &srv.url, token, "local:tiny"]).output().unwrap();
    assert!(
        out.status.success(),
        "the clients failed:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        srv.proc.log_text()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_official_openai_and_ollama_clients_work_unchanged_against_ctl_up() {
    let mut env = Env::new();
    // Slow enough that the dropping client drops in the middle of an answer.
    env.set("CTL_TEST_TOKEN_DELAY_MS", "25");
    let (up, token) = env.up();
    let got = run_clients(&up, &token);

    assert!(got["models"].as_array().unwrap().contains(&json!("local:tiny")), "{}", got["models"]);

    // A whole answer is a job, recorded with the client that sent it.
    let whole = &got["whole"];
    let job = env.show(whole["job"].as_str().unwrap());
    assert_eq!(job["state"], "completed");
    assert_eq!(whole["content"], job["output"]);
    assert_eq!(whole["id"], format!("chatcmpl-{}", job["id"].as_str().unwrap()));
    assert_eq!(whole["finish_reason"], "length");
    assert_eq!(whole["completion_tokens"], job["usage"]["completion_tokens"]);
    assert_eq!(job["client"]["api"], "openai");
    assert_eq!(job["client"]["user"], "alice");
    assert!(job["client"]["user_agent"].as_str().unwrap().starts_with("OpenAI/Python"), "{}", job["client"]);
    assert_eq!(job["params"], json!({"max_tokens": 8, "temperature": 0.1, "seed": 7}));
    // `user` names a session that holds the exchange.
    let session = job["session_id"].as_str().expect("a session for the user");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (status, s) = rt.block_on(get(&up, &token, &format!("/api/v1/sessions/{session}")));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["title"], "alice");
    let roles: Vec<&str> =
        s["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant"], "{s}");

    let stream = &got["stream"];
    assert_eq!(stream["finish_reason"], json!(["length"]));
    assert_eq!(stream["usage"], json!(12), "the final usage chunk");
    assert!(stream["chunks"].as_u64().unwrap() >= 14, "role, 12 tokens, finish, usage: {stream}");

    assert_eq!(got["embeddings"]["count"], 2);
    assert_eq!(got["embeddings"]["dims"], 64);
    assert_eq!(got["embeddings"]["first"], got["embeddings_float_first"], "base64 and float agree");

    assert_eq!(got["errors"]["empty_messages"][0], 400);
    assert!(got["errors"]["empty_messages"][1].as_str().unwrap().contains("messages"));
    assert_eq!(got["errors"]["bad_key"], json!([401]));

    assert!(got["ollama_tags"].as_array().unwrap().contains(&json!("local:tiny")));
    assert_eq!(got["ollama_chat"]["done"], true);
    assert_eq!(got["ollama_chat"]["eval_count"], 6);
    assert_eq!(got["ollama_stream"]["last_done"], true);
    assert_eq!(got["ollama_generate"]["done_reason"], "length");
    assert_eq!(got["ollama_embed"], json!({"count": 2, "dims": 64}));
    assert_eq!(got["ollama_error"][0], 400);

    // The dropped stream's job ran on; the repeat got the same job, whole.
    let idem = &got["idempotency"];
    assert_eq!(idem["first_job"], idem["second_job"], "{idem}");
    let job = env.wait_finished(idem["first_job"].as_str().unwrap(), 60);
    assert_eq!(idem["text"], job["output"], "the repeat streams the whole answer once");
    assert_eq!(idem["ended"], true);
    assert_eq!(idem["other_body_status"], 422, "a key reused with another body is refused");

    // Every chat and generate request is a job in the history.
    let jobs: Value = serde_json::from_str(&env.ok(&["jobs", "--json", "--limit", "100"])).unwrap();
    let by_api = |api: &str| jobs.as_array().unwrap().iter().filter(|j| j["client"]["api"] == api).count();
    // openai: whole, stream, two embeddings, the dropped one; ollama: chat x2, generate, embed.
    assert_eq!((by_api("openai"), by_api("ollama")), (5, 4), "{jobs}");
}

#[test]
fn the_rate_limit_and_the_size_cap_answer_in_openais_shape() {
    let env = Env::new();
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str("\n[gateway]\nrequests_per_minute = 2\nmax_request_bytes = 2000\n");
    std::fs::write(&env.config, config).unwrap();
    let token = env.token("t");
    let srv = env.serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let post = |body: Value| {
            client().post(format!("{}/v1/chat/completions", srv.url)).bearer_auth(&token).json(&body).send()
        };
        let big = json!({"model": "local:tiny", "messages": [{"role": "user", "content": "x".repeat(3000)}]});
        let r = post(big).await.unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert!(body["error"]["message"].as_str().unwrap().contains("2000 bytes"), "{body}");
        let r = post(json!({"model": "local:tiny", "messages": []})).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the second request is within the limit");
        let r = post(json!({"model": "local:tiny", "messages": []})).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        // Without a token nothing gets in.
        let r = client().get(format!("{}/v1/models", srv.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = client().get(format!("{}/ollama/api/tags", srv.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    });
}
