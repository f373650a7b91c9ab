//! submit → worker → tail → show against the real llama.cpp server.

use std::time::{Duration, Instant};

use crate::helper::Env;

#[test]
fn a_job_runs_end_to_end_with_real_usage() {
    let env = Env::new();
    let id = env.submit(
        "Tell me about the people.",
        &["--param", "max_tokens=40", "--param", "seed=1", "--param", "temperature=0"],
    );
    assert_eq!(id.len(), 26, "submit prints only the id: {id:?}");
    assert_eq!(env.ids_in("_queue"), vec![id.clone()]);
    assert_eq!(env.show(&id)["state"], "queued");

    let _worker = env.worker(&[]);
    let tail = env.cmd().args(["tail", &id[..10]]).output().unwrap();
    assert!(tail.status.success(), "tail failed: {}", String::from_utf8_lossy(&tail.stderr));
    let text = String::from_utf8(tail.stdout).unwrap();
    assert!(text.trim().len() > 20, "tail printed {text:?}");
    assert!(text.chars().all(|c| c == '\n' || (' '..='~').contains(&c)), "{text:?}");

    let v = env.show(&id);
    assert_eq!(v["state"], "completed");
    assert_eq!(v["model"], "local:tiny");
    assert_eq!(v["attempts"], 1);
    assert_eq!(v["output"].as_str().unwrap().trim_end(), text.trim_end(), "tail and show agree");
    assert!(v["error"].is_null());
    for key in ["created_at", "started_at", "finished_at"] {
        assert!(v[key].is_string(), "{key}: {v}");
    }
    let u = &v["usage"];
    // llama-cpp-python streams one token per chunk and sends no usage, so
    // the completion count is exact and marked estimated.
    assert_eq!(u["completion_tokens"], 40, "{u}");
    assert_eq!(u["estimated"], true);
    assert!(u["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(u["ttft_ms"].as_f64().unwrap() > 0.0);
    assert!(u["tokens_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(env.ids_in("_completed"), vec![id.clone()]);

    let kinds: Vec<String> = env.events(&id).iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds.first().map(String::as_str), Some("queued"));
    assert_eq!(kinds[1], "started");
    assert_eq!(kinds.iter().filter(|k| *k == "token").count(), 40);
    assert_eq!(&kinds[kinds.len() - 2..], ["usage", "done"]);
    let seqs: Vec<u64> = env.events(&id).iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());

    // Same seed, temperature 0: the same text again, through `submit --follow`.
    let prompt = env.dir.path().join("again.txt");
    std::fs::write(&prompt, "Tell me about the people.").unwrap();
    let out = env
        .cmd()
        .args(["submit", "--follow", "-p", "max_tokens=40", "-p", "seed=1", "-p", "temperature=0"])
        .arg(&prompt)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), text.trim_end());
}

#[test]
fn tail_json_prints_the_event_log() {
    let env = Env::new();
    let id = env.submit("hello", &["-p", "max_tokens=5"]);
    let _w = env.worker(&[]);
    let out = env.cmd().args(["tail", "--json", &id]).output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, env.events(&id), "tail --json is the log, line for line");
}

#[test]
fn cancel_stops_a_running_job_within_a_second() {
    let env = Env::new();
    let id = env.submit("Write a very long story.", &["-p", "max_tokens=1900"]);
    let w = env.worker(&[]);
    env.wait_event(&id, "token", 30, &w);
    let t0 = Instant::now();
    let out = env.ok(&["cancel", &id]);
    let elapsed = t0.elapsed();
    assert_eq!(out.trim(), format!("{id} cancelled"));
    assert!(elapsed < Duration::from_secs(2), "cancel took {elapsed:?}");
    let v = env.show(&id);
    assert_eq!(v["state"], "cancelled");
    assert!(v["output"].as_str().unwrap().len() < 1900 * 3, "stopped early");
    assert_eq!(env.ids_in("_failed"), vec![id.clone()]);
    let tail = env.run(&["tail", &id]);
    assert_eq!(tail.status.code(), Some(3), "tail exits 3 for a cancelled job");
    // Retry gives it fresh attempts and it runs again.
    assert!(env.ok(&["retry", &id]).contains("queued"));
    env.ok(&["cancel", &id]);
    assert!(env.wait_finished(&id, 20)["state"] == "cancelled");
}

#[test]
fn cancel_of_a_queued_job_is_immediate() {
    let env = Env::new();
    let id = env.submit("hi", &[]);
    assert_eq!(env.ok(&["cancel", &id]).trim(), format!("{id} cancelled"));
    assert_eq!(env.show(&id)["state"], "cancelled");
    assert!(env.ids_in("_queue").is_empty());
    let err = env.run(&["cancel", &id]);
    assert!(!err.status.success());
    let stderr = String::from_utf8(err.stderr).unwrap();
    assert!(stderr.starts_with("error: job ") && stderr.contains("cancelled"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn priority_orders_the_queue() {
    let mut env = Env::new();
    env.set("CTL_WORKER__CONCURRENCY", "1");
    let low = env.submit("low", &["-p", "max_tokens=2"]);
    let high = env.submit("high", &["-p", "max_tokens=2", "--priority", "5"]);
    let mid = env.submit("mid", &["-p", "max_tokens=2", "--priority", "1"]);
    let _w = env.worker(&[]);
    for id in [&low, &high, &mid] {
        env.wait_finished(id, 30);
    }
    let started = |id: &str| env.show(id)["started_at"].as_str().unwrap().to_owned();
    assert!(started(&high) < started(&mid) && started(&mid) < started(&low));
}

#[test]
fn sigterm_lets_running_jobs_finish_then_exits() {
    let env = Env::new();
    let id = env.submit("hi", &["-p", "max_tokens=300"]);
    let mut w = env.worker(&[]);
    env.wait_event(&id, "token", 30, &w);
    let status = w.terminate(20);
    assert!(status.success(), "{}", w.log_text());
    assert!(w.log_text().contains("running=1"), "SIGTERM came while the job ran: {}", w.log_text());
    assert_eq!(env.show(&id)["state"], "completed", "the grace period let it finish");
    assert!(env.ids_in("_active").is_empty());
}

#[test]
fn sigterm_past_the_grace_period_requeues() {
    let mut env = Env::new();
    env.set("CTL_WORKER__GRACE_SECS", "0.2");
    let id = env.submit("long", &["-p", "max_tokens=1900"]);
    let mut w = env.worker(&[]);
    env.wait_event(&id, "token", 30, &w);
    assert!(w.terminate(10).success(), "{}", w.log_text());
    assert_eq!(env.ids_in("_queue"), vec![id.clone()], "handed back to the queue");
    let last = env.events(&id).last().cloned().unwrap();
    assert_eq!(last["type"], "queued");
    assert_eq!(last["data"]["attempts"], 0, "an interrupted attempt is not counted");
    let _w2 = env.worker(&[]);
    let v = env.wait_finished(&id, 60);
    assert_eq!(v["state"], "completed");
    assert_eq!(v["attempts"], 1);
}
