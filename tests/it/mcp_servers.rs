//! External MCP servers (`[mcp.servers.NAME]`): a stdio server written with
//! the official MCP Python SDK (tests/fixtures/mcp_server.py), and `ctl mcp`
//! itself over streamable HTTP, called from the CLI and from jobs on the
//! real function-calling llama.cpp server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helper::{Env, llm, mcp};
use crate::tool_jobs::{one, pinned, tool_results};

/// `[mcp.servers.fx]`: the Python fixture server, passed one variable.
fn fixture_server(extra: &str) -> String {
    format!(
        "[mcp.servers.fx]\ncommand = [\"{}\", \"{}\"]\nenv = [\"CTL_FX_ALLOWED\"]\n{extra}\n",
        mcp::python().display(),
        mcp::fixture("mcp_server.py").display()
    )
}

#[test]
fn a_stdio_server_is_listed_called_and_gets_only_the_variables_it_is_allowed() {
    let mut env = Env::without_model();
    env.configure(&fixture_server(""));
    env.set("CTL_FX_ALLOWED", "passed");
    env.set("CTL_FX_SECRET", "kept-back");

    let servers: Vec<Value> = serde_json::from_str(&env.ok(&["--json", "tools", "servers"])).unwrap();
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0]["name"], "fx");
    assert_eq!(servers[0]["answers"], true, "{}", servers[0]);
    assert!(servers[0]["target"].as_str().unwrap().ends_with("mcp_server.py"), "{}", servers[0]);
    let names: Vec<&str> =
        servers[0]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["fx.crash", "fx.env", "fx.lookup", "fx.pid"]);
    let lookup = &servers[0]["tools"].as_array().unwrap()[2];
    assert_eq!(lookup["input_schema"]["required"], json!(["key"]));
    // Marked for the egress guard: untrusted (not `trusted`) and egress.
    assert_eq!(
        lookup["traits"],
        json!({"read_only": false, "private": false, "untrusted": true, "egress": true})
    );

    let table = env.ok(&["tools", "list"]);
    assert!(table.contains("fx.lookup") && table.contains("mcp_server.py"), "{table}");
    // (The doctor fails on the provider this env has none of; the server passes.)
    let doctor = String::from_utf8(env.run(&["doctor"]).stdout).unwrap();
    assert!(doctor.contains("ok   MCP server fx") && doctor.contains("answers, 4 tools"), "{doctor}");

    assert_eq!(env.ok(&["tools", "call", "fx.lookup", "--arg", "key=alpha"]).trim(), "the alpha value is 7");
    assert_eq!(env.ok(&["tools", "call", "fx.env", "--arg", "name=CTL_FX_ALLOWED"]).trim(), "passed");
    // Everything else of ctl's environment stays out of the child.
    for var in ["CTL_FX_SECRET", "CTL_HOME", "PATH", "HOME"] {
        let got = env.ok(&["tools", "call", "fx.env", "--arg", &format!("name={var}")]);
        assert_eq!(got.trim(), "<unset>", "{var} reached the server");
    }
    let out = env.run(&["tools", "call", "fx.nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fx.nope"), "{err}");
}

#[test]
fn a_server_that_cannot_start_is_reported_not_hidden() {
    let env = Env::without_model();
    env.configure("[mcp.servers.gone]\ncommand = [\"/nonexistent/mcp-server\", \"--stdio\"]\n");
    let out = env.run(&["tools", "servers"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/nonexistent/mcp-server --stdio") && text.contains("cannot run"), "{text}");
    let doctor = env.run(&["doctor"]);
    assert!(!doctor.status.success());
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("FAIL MCP server gone"));
    // A bad entry is one clear line, naming the table.
    env.configure("[mcp.servers.both]\ncommand = [\"x\"]\nurl = \"https://example.net/mcp\"\n");
    let out = env.run(&["tools", "call", "both.x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[mcp.servers.both]") && err.contains("not both"), "{err}");
}

#[test]
fn ctl_mcp_over_http_serves_as_an_external_server() {
    let mut env = Env::without_model();
    let vault = env.dir.path().join("vault");
    std::fs::create_dir_all(vault.join("notes")).unwrap();
    std::fs::write(vault.join("notes/a.md"), "# A\n\nThe answer is 42.\n").unwrap();
    env.configure(&format!("[rag]\nvault = \"{}\"\n", vault.display()));
    let token = env.token("peer");
    let srv = env.serve();
    env.configure(&format!(
        "[mcp.servers.peer]\nurl = \"{}/mcp\"\ntoken_env = \"CTL_PEER_TOKEN\"\n",
        srv.url
    ));

    // Without its token the peer refuses, and the error says where it failed.
    let out = env.run(&["tools", "call", "peer.vault_read", "--arg", "path=notes/a.md"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CTL_PEER_TOKEN"), "{err}");

    env.set("CTL_PEER_TOKEN", &token);
    let text = env.ok(&["tools", "call", "peer.vault_read", "--arg", "path=notes/a.md"]);
    assert!(text.contains("The answer is 42."), "{text}");
    let servers: Vec<Value> = serde_json::from_str(&env.ok(&["--json", "tools", "servers"])).unwrap();
    assert_eq!(servers[0]["target"], format!("{}/mcp", srv.url));
    assert!(servers[0]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "peer.vault_search"));
    // The token is a secret: it is in no output.
    assert!(!serde_json::to_string(&servers).unwrap().contains(&token));
}

/// A vault and the fixture server, on the function-calling model.
fn job_env(extra: &str) -> Env {
    let env = Env::with_provider_url(&llm::tools_url());
    let vault = env.dir.path().join("vault");
    std::fs::create_dir_all(vault.join("notes")).unwrap();
    std::fs::write(vault.join("notes/secret.md"), "# Secret\n\nThe launch code is 0000.\n").unwrap();
    env.configure(&format!("[rag]\nvault = \"{}\"\n\n{}", vault.display(), fixture_server(extra)));
    env
}

fn alive(pid: u32) -> bool {
    // A killed child not yet reaped is a zombie: gone for this purpose.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

#[test]
fn a_job_calls_an_external_server_which_is_restarted_after_it_dies_and_stopped_when_idle() {
    let env = job_env("idle_secs = 2");
    let schemas = pinned(&[
        ("fx.pid", json!({})),
        ("fx.crash", json!({})),
        ("fx.lookup", json!({"key": one("alpha")})),
    ]);
    let mut worker = env.worker(&[("CTL_TEST_TOOL_SCHEMAS", &schemas)]);
    let id = env.submit(
        "Which process are you, and what is alpha?",
        &["--tool", "fx.*", "--tool-choice", "fx.pid,fx.crash,fx.pid,fx.lookup,none", "-p", "max_tokens=60"],
    );
    let view = env.wait_finished(&id, 240);
    assert_eq!(view["state"], "completed", "{view}\n{}", worker.log_text());
    // The job records the set it asked for; its calls name the tools.
    assert_eq!(view["tools"], json!(["fx.*"]));
    let results = tool_results(&env, &id);
    let tools: Vec<&str> = results.iter().map(|r| r["tool"].as_str().unwrap()).collect();
    assert_eq!(tools, ["fx.pid", "fx.crash", "fx.pid", "fx.lookup"], "{results:?}");
    let first: u32 = results[0]["result"].as_str().unwrap().trim().parse().unwrap();
    assert!(results[1]["error"].as_str().is_some_and(|e| e.contains("fx")), "{}", results[1]);
    let second: u32 = results[2]["result"].as_str().unwrap().trim().parse().unwrap();
    assert_ne!(first, second, "the server that died was not started again");
    assert!(!alive(first));
    assert_eq!(results[3]["result"].as_str().unwrap().trim(), "the alpha value is 7");

    // Idle for its idle_secs: the worker stops it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(second) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!alive(second), "the idle server is still running\n{}", worker.log_text());
    worker.terminate(10);
}

#[test]
fn after_a_vault_read_the_egress_guard_refuses_an_external_server() {
    let env = job_env("");
    let schemas = pinned(&[
        ("vault_read", json!({"path": one("notes/secret.md")})),
        ("fx.lookup", json!({"key": one("alpha")})),
    ]);
    let _worker = env.worker(&[("CTL_TEST_TOOL_SCHEMAS", &schemas)]);
    let id = env.submit(
        "Read the secret note, then look alpha up.",
        &[
            "--tool",
            "vault_read",
            "--tool",
            "fx.lookup",
            "--tool-choice",
            "vault_read,fx.lookup,none",
            "-p",
            "max_tokens=40",
        ],
    );
    let view = env.wait_finished(&id, 240);
    assert_eq!(view["state"], "completed", "{view}");
    let results = tool_results(&env, &id);
    assert!(results[0]["result"].as_str().unwrap().contains("launch code"), "{}", results[0]);
    let refused = results[1]["error"].as_str().unwrap_or_default();
    assert!(refused.contains("egress guard") && refused.contains("fx.lookup"), "{}", results[1]);
}
