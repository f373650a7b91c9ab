//! Alerts from a real `ctl serve` to a local webhook receiver that records
//! every request and answers like Discord (429 with `retry_after` included):
//! each rule fires once, is de-duplicated, and resolves.

use std::io::Write as _;
use std::time::Duration;

use serde_json::Value;

use crate::helper::Env;
use crate::helper::webhook::Receiver;

/// An installation whose server checks every 0.2 s and sends alerts to `rx`.
fn env_with_alerts(rx: &Receiver, alerts: &str) -> Env {
    let mut env = Env::with_provider_url(&format!("{}/v1", rx.url));
    append(
        &env,
        &format!(
            "\n[providers.dead]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\nconnect_timeout_secs = 1\n\n\
             [alerts]\nbase_url = \"https://ctl.example.net\"\ncheck_secs = 0.2\nproviders = [\"local\"]\n{alerts}\n"
        ),
    );
    env.set("CTL_DISCORD_WEBHOOK_URL", &format!("{}/discord", rx.url));
    env.set("CTL_ALERT_WEBHOOK_URL", &format!("{}/hook", rx.url));
    env
}

fn append(env: &Env, text: &str) {
    std::fs::OpenOptions::new().append(true).open(&env.config).unwrap().write_all(text.as_bytes()).unwrap();
}

fn statuses(alerts: &[Value]) -> Vec<&str> {
    alerts.iter().map(|a| a["status"].as_str().unwrap()).collect()
}

#[test]
fn a_burst_of_100_failed_jobs_is_one_alert_and_one_resolved_with_the_count() {
    let rx = Receiver::start();
    // The first Discord message is refused with 429 and retry_after 0.6 s.
    rx.rate_limit_next(1, Duration::from_millis(600));
    let env = env_with_alerts(&rx, "min_interval_secs = 3");
    let server = env.serve();
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(env.submit(&format!("job {i}"), &["--model", "dead:x"]));
    }
    let worker = env.worker(&[("CTL_WORKER__MAX_ATTEMPTS", "1"), ("CTL_WORKER__CONCURRENCY", "4")]);
    let log = || format!("{}\nworker:\n{}", server.proc.log_text(), worker.log_text());
    rx.wait_alerts("job_failed", 120, log, |a| statuses(a) == ["firing", "resolved"]);

    let alerts = rx.alerts("job_failed");
    let (firing, resolved) = (&alerts[0], &alerts[1]);
    let latest = firing["link"].as_str().unwrap().strip_prefix("https://ctl.example.net/job/").unwrap();
    assert!(ids.iter().any(|id| id == latest), "the link names a failed job: {firing}");
    assert!(firing["text"].as_str().unwrap().starts_with("model dead:x: "), "{firing}");
    assert_eq!(resolved["count"], 100, "the resolved message counts every failure: {resolved}");
    for id in &ids {
        assert_eq!(env.show(id)["state"], "failed");
    }

    // Discord got the same two messages, the first after a 429 it honoured.
    let discord = rx.requests("/discord");
    let codes: Vec<u16> = discord.iter().map(|r| r.status).collect();
    assert_eq!(codes, [429, 204, 204], "{discord:#?}");
    assert!(discord[1].at - discord[0].at >= Duration::from_millis(600), "retried before retry_after");
    assert_eq!(discord[0].body, discord[1].body, "the retry sends the same message");
    for r in &discord {
        assert_eq!(r.body["allowed_mentions"]["parse"], serde_json::json!([]), "{:?}", r.body);
    }
    assert!(
        discord[1].body["content"]
            .as_str()
            .unwrap()
            .contains(&format!("https://ctl.example.net/job/{latest}"))
    );
    // Nothing else fired: the watched backend answered all along.
    assert!(rx.alerts("backend_down").is_empty());
}

#[test]
fn an_unreachable_backend_and_a_stuck_queue_fire_once_and_resolve() {
    let rx = Receiver::start();
    rx.set_models_up(false);
    let env = env_with_alerts(&rx, "queue_stuck_minutes = 0.02\nbackend_down_checks = 2");
    let token = env.token("prometheus");
    let server = env.serve();

    // Backend: down for a while (one alert however many checks), then up.
    rx.wait_alerts("backend_down", 30, || server.proc.log_text(), |a| statuses(a) == ["firing"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(statuses(&rx.alerts("backend_down")), ["firing"], "de-duplicated");
    let text = metrics(&server, &token);
    assert!(text.contains("ctl_provider_up{provider=\"local\"} 0"), "{text}");
    rx.set_models_up(true);
    rx.wait_alerts("backend_down", 30, || server.proc.log_text(), |a| statuses(a) == ["firing", "resolved"]);
    let down = &rx.alerts("backend_down")[0];
    assert_eq!(down["subject"], "local");
    assert_eq!(down["title"], "Model backend local is unreachable");

    // Queue: a worker whose one slot is held by a paused job, and a second
    // job waiting behind it, is a stuck queue; a second worker unsticks it.
    let first = env.submit("held", &["--model", "dead:x"]);
    let stuck_worker = env.worker(&[("CTL_TEST_PAUSE_AT", "after_claim"), ("CTL_WORKER__CONCURRENCY", "1")]);
    Env::wait_file(&env.home.join("paused-after_claim"), 20);
    let waiting = env.submit("waits", &["--model", "dead:x"]);
    rx.wait_alerts("queue_stuck", 30, || server.proc.log_text(), |a| statuses(a) == ["firing"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(statuses(&rx.alerts("queue_stuck")), ["firing"], "de-duplicated");
    // The same state, as the Prometheus rules in ops/prometheus see it.
    let text = metrics(&server, &token);
    assert!(text.contains("ctl_provider_up{provider=\"local\"} 1"), "{text}");
    assert!(text.contains("\nctl_workers_alive 1\n"), "{text}");
    let age: f64 = gauge(&text, "ctl_queue_oldest_job_age_seconds");
    assert!(age > 1.2, "{text}");
    assert!(gauge(&text, "ctl_data_dir_free_bytes") > 0.0 && gauge(&text, "ctl_data_dir_size_bytes") > 0.0);
    let helper = env.worker(&[("CTL_WORKER__MAX_ATTEMPTS", "1")]);
    env.wait_finished(&waiting, 30);
    rx.wait_alerts("queue_stuck", 30, || server.proc.log_text(), |a| statuses(a) == ["firing", "resolved"]);
    drop((stuck_worker, helper));
    assert_ne!(first, waiting);
}

#[test]
fn a_data_directory_low_on_disk_fires_once_and_resolves() {
    let rx = Receiver::start();
    let env = env_with_alerts(&rx, "disk_free_min_percent = 50");
    // The data directory on a small file system of its own, so the test can
    // fill it: a 32 MiB tmpfs (the tests run as root, as CI does).
    std::fs::create_dir_all(&env.home).unwrap();
    let _mount = Tmpfs::mount(&env.home, "32m");
    let server = env.serve();
    std::thread::sleep(Duration::from_secs(1));
    assert!(rx.alerts("disk_low").is_empty(), "an empty file system is not low");
    let filler = env.home.join("filler");
    std::fs::write(&filler, vec![7u8; 24 << 20]).unwrap();
    rx.wait_alerts("disk_low", 30, || server.proc.log_text(), |a| statuses(a) == ["firing"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(statuses(&rx.alerts("disk_low")), ["firing"], "de-duplicated");
    std::fs::remove_file(&filler).unwrap();
    rx.wait_alerts("disk_low", 30, || server.proc.log_text(), |a| statuses(a) == ["firing", "resolved"]);
    let low = &rx.alerts("disk_low")[0];
    assert!(low["title"].as_str().unwrap().starts_with("The data directory is low on disk: "), "{low}");
    drop(server);
}

#[test]
fn alerts_test_sends_to_each_destination_and_says_when_there_is_none() {
    let rx = Receiver::start();
    let env = env_with_alerts(&rx, "");
    let out = env.ok(&["alerts", "test"]);
    assert!(out.contains("ok   discord") && out.contains("ok   webhook"), "{out}");
    assert_eq!(rx.alerts("test").len(), 1);
    assert_eq!(rx.requests("/discord").len(), 1);

    let bare = Env::with_provider_url(&format!("{}/v1", rx.url));
    let out = bare.run(&["alerts", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no alert destination: set CTL_DISCORD_WEBHOOK_URL or CTL_ALERT_WEBHOOK_URL"),
        "{err}"
    );

    // A destination that refuses: the error says so, without its URL.
    let mut refused = Env::with_provider_url(&format!("{}/v1", rx.url));
    let secret_url = format!("{}/no-such-hook/secret-token-123", rx.url);
    refused.set("CTL_ALERT_WEBHOOK_URL", &secret_url);
    let out = refused.run(&["alerts", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("FAIL webhook  webhook: HTTP 404"), "{all}");
    assert!(!all.contains("secret-token-123"), "{all}");
}

/// `GET /metrics` with a token.
fn metrics(server: &crate::helper::Server, token: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = crate::helper::client()
            .get(format!("{}/metrics", server.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    })
}

/// The value of an unlabelled gauge in Prometheus text.
fn gauge(text: &str, name: &str) -> f64 {
    let prefix = format!("{name} ");
    let line =
        text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {name} in:\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

/// A tmpfs mounted for one test, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str) -> Self {
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cannot mount a tmpfs for the low-disk test (it needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
