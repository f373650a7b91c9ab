//! The Toolbox: what the config turns on, the traits each tool declares,
//! argument validation, limits and recording.

use std::sync::Mutex;

use super::*;
use crate::config::Config;

fn config(toml: &str) -> Config {
    Config::parse(toml, None, std::iter::empty()).unwrap()
}

/// A tool that sleeps, then answers `size` bytes.
struct Slow {
    sleep: Duration,
    size: usize,
}

impl Tool for Slow {
    fn info(&self) -> ToolInfo {
        ToolInfo {
            name: "slow".into(),
            description: "test".into(),
            input_schema: serde_json::json!({"type": "object"}),
            traits: ToolTraits::default(),
            limits: Limits { timeout_secs: 0.2, max_output_bytes: 10 },
        }
    }

    fn call(&self, _args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            tokio::time::sleep(self.sleep).await;
            Ok(ToolOutput::text("é".repeat(self.size)))
        })
    }
}

#[derive(Default)]
struct Calls(Mutex<Vec<CallRecord>>);

impl Recorder for Calls {
    fn record(&self, call: &CallRecord) {
        self.0.lock().unwrap().push(call.clone());
    }
}

#[test]
fn the_config_decides_which_tools_exist() {
    let names = |t: &Toolbox| t.list().into_iter().map(|i| i.name).collect::<Vec<_>>();
    let bare = Toolbox::from_config(&config("")).unwrap();
    assert_eq!(
        names(&bare),
        ["fetch", "run_code", "skill_read"],
        "no vault, no SearXNG: no vault tools, no search"
    );
    let full = Toolbox::from_config(&config(
        "[rag]\nvault = \"/tmp\"\n[tools.web_search]\nsearxng_url = \"http://127.0.0.1:9/\"\n",
    ))
    .unwrap();
    assert_eq!(names(&full), ALL_TOOLS);
    let some = Toolbox::from_config(&config(
        "[rag]\nvault = \"/tmp\"\n[tools]\ndisabled = [\"vault_search\"]\n[tools.run_code]\nenabled = false\n",
    ))
    .unwrap();
    assert_eq!(names(&some), ["fetch", "skill_read", "vault_list", "vault_read"]);
}

#[test]
fn each_tool_declares_what_it_touches() {
    let t = Toolbox::from_config(&config(
        "[rag]\nvault = \"/tmp\"\n[tools.web_search]\nsearxng_url = \"http://127.0.0.1:9/\"\n",
    ))
    .unwrap();
    let private = ToolTraits { read_only: true, private: true, untrusted: false, egress: false };
    let outside = ToolTraits { read_only: true, private: false, untrusted: true, egress: true };
    for (name, traits) in [
        ("vault_list", private),
        ("vault_read", private),
        ("vault_search", private),
        ("skill_read", private),
        ("fetch", outside),
        ("web_search", outside),
        ("run_code", ToolTraits { read_only: false, private: false, untrusted: false, egress: false }),
    ] {
        assert_eq!(t.info(name).unwrap().traits, traits, "{name}");
    }
}

#[test]
fn schemas_are_plain_objects_without_refs() {
    let t = Toolbox::from_config(&config("[rag]\nvault = \"/tmp\"\n")).unwrap();
    for info in t.list() {
        let s = &info.input_schema;
        assert_eq!(s["type"], "object", "{}: {s}", info.name);
        let text = s.to_string();
        assert!(!text.contains("$ref") && !text.contains("null"), "{}: {text}", info.name);
    }
    let run_code = t.info("run_code").unwrap().input_schema;
    assert_eq!(run_code["properties"]["language"]["enum"], serde_json::json!(["python", "sh"]));
    assert_eq!(run_code["required"], serde_json::json!(["code"]));
}

#[tokio::test]
async fn bad_arguments_unknown_and_disabled_tools_are_clear_errors() {
    let t =
        Toolbox::from_config(&config("[rag]\nvault = \"/tmp\"\n[tools]\ndisabled = [\"fetch\"]\n")).unwrap();
    let err = t.call("vault_read", serde_json::json!({"path": 3})).await.unwrap_err();
    assert!(
        matches!(err, ToolError::InvalidArgs(_)) && err.to_string().contains("expected a string"),
        "{err}"
    );
    let err = t.call("vault_read", serde_json::json!({"path": "a", "bogus": 1})).await.unwrap_err();
    assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
    let err = t.call("vault_read", serde_json::json!([1])).await.unwrap_err();
    assert!(err.to_string().contains("must be a JSON object"), "{err}");
    assert_eq!(t.call("nope", serde_json::Value::Null).await.unwrap_err(), ToolError::Unknown("nope".into()));
    assert_eq!(
        t.call("fetch", serde_json::Value::Null).await.unwrap_err(),
        ToolError::Disabled("fetch".into())
    );
}

#[tokio::test]
async fn limits_cut_output_and_time_and_every_call_is_recorded() {
    let calls = Arc::new(Calls::default());
    let t = Toolbox::builder(&config(""))
        .tool(Arc::new(Slow { sleep: Duration::ZERO, size: 20 }))
        .build()
        .unwrap()
        .with_recorder(calls.clone());
    let out = t.call("slow", serde_json::json!({"b": 1, "a": 2})).await.unwrap();
    assert!(out.truncated);
    assert!(out.text.starts_with("ééééé\n\n[truncated: showing 10 of 40 bytes]"), "{}", out.text);

    let slow = Toolbox::builder(&config(""))
        .tool(Arc::new(Slow { sleep: Duration::from_secs(5), size: 1 }))
        .build()
        .unwrap()
        .with_recorder(calls.clone());
    let started = Instant::now();
    assert_eq!(slow.call("slow", serde_json::Value::Null).await.unwrap_err(), ToolError::Timeout(200));
    assert!(started.elapsed() < Duration::from_secs(2));
    let _ = slow.call("missing", serde_json::Value::Null).await;

    let recorded = calls.0.lock().unwrap().clone();
    let seen: Vec<_> = recorded.iter().map(|c| (c.tool.as_str(), c.outcome, c.bytes)).collect();
    assert_eq!(
        seen,
        [("slow", "ok", out.text.len() as u64), ("slow", "timeout", 0), ("missing", "unknown", 0)]
    );
    // The hash is of canonical JSON: key order does not matter.
    assert_eq!(recorded[0].args_sha256, record::args_hash(&serde_json::json!({"a": 2, "b": 1})));
    assert!(recorded[1].duration_ms >= 200.0);
}
