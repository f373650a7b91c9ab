//! The first run: `ctl up` with no model server reachable says so, with
//! the two ways to fix it; with one reachable it says nothing more.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::helper::{Env, Proc, llm};

/// Runs `ctl up` and collects its stdout for `secs` (or until `until`).
fn up_output(env: &Env, secs: u64, until: &str) -> String {
    let mut c = env.cmd();
    c.args(["up", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _up = Proc { child, log: env.dir.path().join("none") };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut text = String::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
                if line.contains(until) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    text
}

#[test]
fn up_without_a_model_server_says_how_to_get_one() {
    let env = Env::with_provider_url("http://127.0.0.1:1/v1");
    let text = up_output(&env, 20, "ctl doctor");
    assert!(text.starts_with("ctl is up: open http://"), "{text}");
    assert!(text.contains("No model server answers: provider local (http://127.0.0.1:1/v1): "), "{text}");
    assert!(text.contains("1. Start Ollama"), "{text}");
    assert!(text.contains("ollama pull qwen2.5:7b"), "{text}");
    assert!(text.contains(&format!("add to {}", env.config.display())), "names the config in use: {text}");
    assert!(text.contains("[providers.local]\n       kind = \"openai\""), "{text}");
    assert!(text.contains("Then check with `ctl doctor`."), "{text}");
}

#[test]
fn up_with_a_model_server_prints_only_the_link() {
    let env = Env::with_provider_url(&llm::url());
    let text = up_output(&env, 5, "never printed");
    assert!(text.starts_with("ctl is up: open http://"), "{text}");
    assert!(!text.contains("No model server"), "{text}");
}
