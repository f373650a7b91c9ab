//! Provider limits against a real llama.cpp server that serves one stream
//! at a time: started with llama-cpp-python's default `interrupt_requests`,
//! it cuts the first stream short when a second request arrives. With
//! `max_concurrency = 1`, two workers (two slots each) take turns, and
//! every job completes.

use crate::helper::{Env, llm};

#[test]
fn two_workers_take_turns_on_a_server_that_serves_one_stream_at_a_time() {
    let server = llm::dedicated_interrupting();
    let mut env = Env::with_provider_url(&server.url);
    env.set("CTL_PROVIDERS__LOCAL__MAX_CONCURRENCY", "1");
    env.set("CTL_WORKER__MAX_ATTEMPTS", "1");
    let ids: Vec<String> =
        (0..6).map(|i| env.submit(&format!("job {i}"), &["-p", "max_tokens=40"])).collect();
    let a = env.worker(&[("CTL_WORKER__CONCURRENCY", "2")]);
    let b = env.worker(&[("CTL_WORKER__CONCURRENCY", "2")]);
    for id in &ids {
        let job = env.wait_finished(id, 120);
        assert_eq!(
            job["state"],
            "completed",
            "{job}\nworker a:\n{}\nworker b:\n{}",
            a.log_text(),
            b.log_text()
        );
    }
    // One stream at a time: no job's tokens overlap another's.
    let mut spans: Vec<(String, String, String)> = ids
        .iter()
        .map(|id| {
            let tokens: Vec<String> = env
                .events(id)
                .iter()
                .filter(|e| e["type"] == "token")
                .map(|e| e["ts"].as_str().unwrap().to_owned())
                .collect();
            assert!(!tokens.is_empty(), "job {id} streamed nothing");
            (tokens[0].clone(), tokens[tokens.len() - 1].clone(), id.clone())
        })
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        let ts = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert!(ts(&pair[1].0) >= ts(&pair[0].1), "streams overlapped: {pair:?}");
    }
    // The wait is in the jobs' logs, where `ctl tail` and the web UI show it.
    let waited: Vec<_> = ids
        .iter()
        .filter(|id| {
            env.events(id).iter().any(|e| {
                e["type"] == "queued"
                    && e["data"]["reason"]
                        .as_str()
                        .is_some_and(|r| r.starts_with("waiting for provider local: "))
            })
        })
        .collect();
    assert!(!waited.is_empty(), "with 4 slots asking for 1, some job waited");
    let tail = env.ok(&["tail", "--json", waited[0]]);
    assert!(tail.contains("all 1 of its request slots are in use"), "{tail}");
}
