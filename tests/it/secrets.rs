//! Secrets never leak: a canary value planted in every secret ctl reads
//! (provider keys from a variable and from a `_FILE`, the remote CLI's
//! token from `CTL_TOKEN_FILE`, both alert webhook URLs, the OTLP headers),
//! then searched for in every output and file afterwards: the logs of
//! `ctl serve` (JSON) and `ctl worker` (text), every command's output, the
//! data directory (database, job files, event logs), SSE, the alerts sent,
//! the spans exported, error messages and `ctl doctor`.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::helper::otlp::Collector;
use crate::helper::webhook::Receiver;
use crate::helper::{Env, Proc, client, llm};

#[test]
fn canaries_in_every_secret_appear_in_no_output_and_no_file() {
    let tag = std::process::id();
    let key_file_canary = format!("canary-key-file-{tag}-7f3a");
    let echoed_canary = format!("canary-echoed-key-{tag}-91c2");
    let discord_canary = format!("canary-discord-{tag}-0d1e");
    let hook_canary = format!("canary-hook-{tag}-5b6a");
    let otlp_canary = format!("canary-otlp-{tag}-c4d8");

    let rx = Receiver::start();
    let collector = Collector::start();
    let mut env = Env::new();
    let secrets_dir = env.dir.path().join("credentials");
    std::fs::create_dir(&secrets_dir).unwrap();
    let write = |name: &str, value: &str| {
        let p = secrets_dir.join(name);
        std::fs::write(&p, format!("{value}\n")).unwrap();
        p.to_str().unwrap().to_owned()
    };
    // The real model server takes the key from a file; a careless one
    // (401 quoting the key it got) takes another from a variable.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&env.config)
        .unwrap()
        .write_all(
            format!(
                "\n[providers.local2]\nkind = \"openai\"\nbase_url = \"{}\"\napi_key_env = \"CANARY_FILE_KEY\"\n\n\
                 [providers.careless]\nkind = \"openai\"\nbase_url = \"{}/echo/v1\"\napi_key_env = \"CANARY_ECHO_KEY\"\n\n\
                 [alerts]\ncheck_secs = 0.2\nmin_interval_secs = 1\nproviders = [\"local2\", \"careless\"]\n",
                llm::url(),
                rx.url
            )
            .as_bytes(),
        )
        .unwrap();
    env.set("CANARY_FILE_KEY_FILE", &write("llm-key", &key_file_canary));
    env.set("CANARY_ECHO_KEY", &echoed_canary);
    env.set("CTL_DISCORD_WEBHOOK_URL", &format!("{}/discord?token={discord_canary}", rx.url));
    env.set("CTL_ALERT_WEBHOOK_URL_FILE", &write("hook", &format!("{}/hook?token={hook_canary}", rx.url)));
    env.set("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url);
    env.set("OTEL_BSP_SCHEDULE_DELAY", "100");
    env.set(
        "OTEL_EXPORTER_OTLP_HEADERS_FILE",
        &write("otlp", &format!("authorization=Bearer%20{otlp_canary}")),
    );

    let token = env.token("canary");
    let token_file = write("ctl-token", &token);
    let mut outputs: Vec<(String, String)> = Vec::new();
    let (mut server, url) = {
        let mut c = env.cmd();
        c.args(["serve", "--listen", "127.0.0.1:0", "-vv", "--log-format", "json"]);
        spawn_server(c, &env.dir.path().join("serve.log"))
    };
    let mut worker = env.worker(&[]);

    // Jobs: one over the API, one through the remote CLI with CTL_TOKEN_FILE,
    // one that fails against the careless server.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let api_job = rt.block_on(async {
        let r = client()
            .post(format!("{url}/api/v1/jobs"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "prompt": "hello", "model": "local2:tiny", "params": { "max_tokens": 6 } }))
            .send()
            .await
            .unwrap();
        r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    });
    let remote = env
        .cmd()
        .env("CTL_SERVER", &url)
        .env("CTL_TOKEN_FILE", &token_file)
        .args(["submit", "--model", "local2:tiny", "-p", "max_tokens=6", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"hi from afar")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(remote.status.success(), "{remote:?}");
    let remote_job = String::from_utf8(remote.stdout.clone()).unwrap().trim().to_owned();
    outputs.push(("ctl submit --server".into(), format!("{remote:?}")));
    let failing = env.submit("fail", &["--model", "careless:x"]);
    for id in [&api_job, &remote_job, &failing] {
        env.wait_finished(id, 60);
    }
    let failed = env.show(&failing);
    assert_eq!(failed["state"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("Incorrect API key provided: Bearer [redacted]"), "{error}");
    rx.wait_alerts("job_failed", 30, || server.log_text(), |a| a.len() >= 2);

    // SSE, the CLI's views, doctor, alerts test: every output a user sees.
    for id in [&api_job, &remote_job, &failing] {
        let body = rt.block_on(async {
            let r = client()
                .get(format!("{url}/api/v1/jobs/{id}/events"))
                .bearer_auth(&token)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .unwrap();
            r.text().await.unwrap_or_default()
        });
        assert!(body.contains("event: done") || body.contains("event: failed"), "{body}");
        outputs.push((format!("SSE of {id}"), body));
        for args in [vec!["show", "--json", id.as_str()], vec!["tail", "--json", id.as_str()]] {
            let out = env.run(&args);
            outputs.push((format!("ctl {args:?}"), format!("{out:?}")));
        }
    }
    for args in [
        vec!["doctor"],
        vec!["doctor", "--json"],
        vec!["alerts", "test"],
        vec!["jobs", "--json"],
        vec!["token", "list"],
    ] {
        let out = env.run(&args);
        outputs.push((format!("ctl {args:?}"), format!("{out:?}")));
    }
    // A bad secret setup gives an error that names the variable, not the value.
    let mut both = env.cmd();
    both.env("CTL_ALERT_WEBHOOK_URL", format!("http://x/{hook_canary}")).args(["alerts", "test"]);
    let out = both.output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("both CTL_ALERT_WEBHOOK_URL and CTL_ALERT_WEBHOOK_URL_FILE are set")
    );
    outputs.push(("ctl alerts test with both set".into(), format!("{out:?}")));

    worker.terminate(20);
    server.terminate(20);
    collector.wait(30, "spans from both processes", |s| s.iter().any(|x| x.name == "job"));
    outputs.push(("ctl serve log".into(), server.log_text()));
    outputs.push(("ctl worker log".into(), worker.log_text()));
    assert!(server.log_text().contains("\"level\":\"DEBUG\""), "the server logged JSON lines");
    for r in rx.requests("/discord").into_iter().chain(rx.requests("/hook")) {
        outputs.push((format!("alert to {}", r.path), r.body.to_string()));
    }
    for s in collector.spans() {
        outputs.push((format!("span {}", s.name), format!("{:?} {:?}", s.attrs, s.resource)));
    }
    // The OTLP headers did reach the collector, and only it.
    assert!(
        collector.headers().iter().any(|h| h["authorization"] == format!("Bearer {otlp_canary}").as_str())
    );

    let canaries = [&key_file_canary, &echoed_canary, &discord_canary, &hook_canary, &otlp_canary, &token];
    for (what, text) in &outputs {
        for canary in canaries {
            assert!(!text.contains(canary.as_str()), "a secret leaked into {what}:\n{text}");
        }
    }
    let mut files = Vec::new();
    walk(&env.home, &mut |path, bytes| {
        files.push(path.strip_prefix(&env.home).unwrap().to_string_lossy().into_owned());
        for canary in canaries {
            let found = bytes.windows(canary.len()).any(|w| w == canary.as_bytes());
            assert!(!found, "a secret leaked into {}", path.display());
        }
    });
    // The search reached the database, the job files and the event logs.
    for part in ["ctl.db", "queue/_completed/", "events/"] {
        assert!(files.iter().any(|f| f.starts_with(part)), "no {part} among the files searched: {files:?}");
    }
}

/// Starts a server (killed on drop); it and its URL.
fn spawn_server(mut c: std::process::Command, log: &Path) -> (Proc, String) {
    c.stdout(std::process::Stdio::null()).stderr(std::fs::File::create(log).unwrap());
    let child = Proc { child: c.spawn().unwrap(), log: log.to_path_buf() };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split("listening on ").nth(1) {
            let url = rest.lines().next().unwrap().trim().to_owned();
            return (child, url);
        }
        assert!(std::time::Instant::now() < deadline, "ctl serve did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn walk(dir: &Path, f: &mut impl FnMut(&Path, &[u8])) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, f);
        } else if let Ok(bytes) = std::fs::read(&path) {
            f(&path, &bytes);
        }
    }
}
