use super::*;
use crate::api::Usage;

fn token(t: &str) -> EventBody {
    EventBody::Token { text: t.into() }
}

#[test]
fn seq_continues_across_writers_and_torn_lines_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.ndjson");
    let mut w = EventWriter::open(&path).unwrap();
    w.append(EventBody::Queued { attempts: 0, reason: None }).unwrap();
    w.append(token("a")).unwrap();
    drop(w);
    // A writer died mid-line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"{\"seq\": 2, \"ts\": \"20")
        .unwrap();
    assert_eq!(read_all(&path).unwrap().len(), 2, "readers skip the torn line");
    let mut w = EventWriter::open(&path).unwrap();
    assert_eq!(w.next_seq(), 2);
    w.append_durable(token("b")).unwrap();
    let events = read_all(&path).unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(events[2].body, token("b"));
}

#[test]
fn seq_is_found_in_a_long_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.ndjson");
    let mut w = EventWriter::open(&path).unwrap();
    let long = "x".repeat(20_000);
    for _ in 0..50 {
        w.append(token(&long)).unwrap();
    }
    drop(w);
    assert_eq!(EventWriter::open(&path).unwrap().next_seq(), 50);
}

#[test]
fn decoder_handles_every_split() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.ndjson");
    let mut w = EventWriter::open(&path).unwrap();
    w.append(EventBody::Started { attempt: 1, worker: "w".into(), model: "m:x".into() }).unwrap();
    w.append(token("héllo\n")).unwrap();
    w.append(EventBody::Usage(Usage { prompt_tokens: 3, completion_tokens: 1, ..Usage::default() })).unwrap();
    w.append(EventBody::Done { finish_reason: Some("stop".into()) }).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let whole = read_all(&path).unwrap();
    for i in 0..=bytes.len() {
        let mut d = LineDecoder::default();
        let mut out = Vec::new();
        d.push(&bytes[..i], &mut out);
        d.push(&bytes[i..], &mut out);
        assert_eq!(out, whole, "split at {i}");
        assert_eq!(d.skipped, 0);
    }
}

#[test]
fn summary_tracks_the_latest_attempt() {
    let mut s = Summary::default();
    let ev = |seq, body| Event { seq, ts: jiff::Timestamp::now(), body };
    s.apply(&ev(0, EventBody::Queued { attempts: 0, reason: None }));
    s.apply(&ev(1, EventBody::Started { attempt: 1, worker: "w1".into(), model: "m".into() }));
    s.apply(&ev(2, token("lost ")));
    s.apply(&ev(3, EventBody::Started { attempt: 2, worker: "w2".into(), model: "m".into() }));
    s.apply(&ev(4, token("kept")));
    s.apply(&ev(5, EventBody::Done { finish_reason: None }));
    assert_eq!(s.attempts, 2);
    assert_eq!(s.output, "kept");
    assert_eq!(s.worker.as_deref(), Some("w2"));
    assert!(s.terminal.is_some());
    s.apply(&ev(6, EventBody::Queued { attempts: 0, reason: Some("retry".into()) }));
    assert_eq!((s.attempts, s.terminal.clone()), (0, None), "a retry resets");
}

#[tokio::test]
async fn follow_sees_appends_and_stops_at_the_end() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.ndjson");
    let mut stream = follow(path.clone(), None);
    let writer = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut w = EventWriter::open(&path).unwrap();
        for t in ["a", "b", "c"] {
            w.append(token(t)).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        w.append(EventBody::Done { finish_reason: None }).unwrap();
    });
    let mut seen = Vec::new();
    while let Some(ev) = stream.next().await {
        seen.push(ev.unwrap().body.kind());
    }
    writer.await.unwrap();
    assert_eq!(seen, vec!["token", "token", "token", "done"]);
}

#[tokio::test]
async fn follow_resumes_after_a_seq() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.ndjson");
    let mut w = EventWriter::open(&path).unwrap();
    for t in ["a", "b", "c"] {
        w.append(token(t)).unwrap();
    }
    w.append(EventBody::Done { finish_reason: None }).unwrap();
    let seqs: Vec<u64> = follow(path.clone(), Some(1)).map(|e| e.unwrap().seq).collect().await;
    assert_eq!(seqs, vec![2, 3]);
    let none: Vec<u64> = follow(path, Some(3)).map(|e| e.unwrap().seq).collect().await;
    assert!(none.is_empty(), "resuming after the terminal event ends at once");
}

/// Event logs written by version 1 must keep loading, and a retried
/// attempt's output replaces the earlier one.
#[test]
fn v1_event_log_fixture_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v1/01JDQ7T3ZK4M8X2B6N0C5V9WAE.ndjson");
    let events = read_all(&path).unwrap();
    assert_eq!(events.len(), 9);
    let s = Summary::from_events(&events);
    assert_eq!(s.attempts, 2);
    assert_eq!(s.output, "locks files.");
    assert_eq!(s.usage.unwrap().completion_tokens, 2);
    assert!(matches!(s.terminal, Some(EventBody::Done { .. })));
}
