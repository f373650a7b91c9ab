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
    w.append(EventBody::Done { finish_reason: Some("stop".into()), tool_calls: Vec::new() }).unwrap();
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
    s.apply(&ev(5, EventBody::Done { finish_reason: None, tool_calls: Vec::new() }));
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
        w.append(EventBody::Done { finish_reason: None, tool_calls: Vec::new() }).unwrap();
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
    w.append(EventBody::Done { finish_reason: None, tool_calls: Vec::new() }).unwrap();
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

/// Submit writes no log: readers show the job's implied `queued` event
/// until its first owner creates the log with that same event, and then
/// go on from seq 1, so nothing is shown twice or skipped.
#[test]
fn a_reader_shows_the_implied_queued_event_until_the_log_exists() {
    let dir = tempfile::tempdir().unwrap();
    let id = crate::queue::new_id();
    let path = dir.path().join(format!("{id}.ndjson"));
    let mut early = Follower::new(path.clone(), None);
    let shown = early.read_new().unwrap();
    assert_eq!(shown, vec![implied_queued(&id)]);
    assert_eq!(shown[0].seq, 0);
    assert_eq!(Some(shown[0].ts), crate::queue::id_time(&id), "stamped with the id's time");
    assert!(early.read_new().unwrap().is_empty(), "shown once");
    // A client that resumes after seq 0 is not shown it again.
    let mut resumed = Follower::new(path.clone(), Some(0));
    assert!(resumed.read_new().unwrap().is_empty());

    // The owner creates the log: the same event first, then `started`.
    let (mut w, implied) = EventWriter::open_job(&path, &id, None).unwrap();
    assert_eq!(implied.as_ref(), Some(&shown[0]), "the log starts with what readers were shown");
    w.append(EventBody::Started { attempt: 1, worker: "w".into(), model: "m:x".into() }).unwrap();
    let kinds = |evs: Vec<Event>| evs.iter().map(|e| (e.seq, e.body.kind())).collect::<Vec<_>>();
    assert_eq!(kinds(early.read_new().unwrap()), vec![(1, "started")]);
    assert_eq!(kinds(resumed.read_new().unwrap()), vec![(1, "started")]);
    let late = kinds(Follower::new(path.clone(), None).read_new().unwrap());
    assert_eq!(late, vec![(0, "queued"), (1, "started")], "a later reader reads the file");
    assert_eq!(read_all(&path).unwrap()[0], shown[0]);

    // The next owner (a retry, a recovered job) appends after what is there.
    drop(w);
    let (w, implied) = EventWriter::open_job(&path, &id, None).unwrap();
    assert!(implied.is_none());
    assert_eq!(w.next_seq(), 2);
}

/// A log created but not written yet reads like a missing one.
#[test]
fn an_empty_log_reads_as_queued() {
    let dir = tempfile::tempdir().unwrap();
    let id = crate::queue::new_id();
    let path = dir.path().join(format!("{id}.ndjson"));
    std::fs::write(&path, b"").unwrap();
    let mut f = Follower::new(path.clone(), None);
    assert_eq!(f.read_new().unwrap(), vec![implied_queued(&id)]);
    let (_w, implied) = EventWriter::open_job(&path, &id, None).unwrap();
    assert!(implied.is_some());
    assert!(f.read_new().unwrap().is_empty(), "its seq 0 was shown already");
}

/// A new log is made from a spare file by a rename; a log that exists is
/// never replaced by one.
#[test]
fn spares_become_new_logs_and_never_replace_one() {
    let dir = tempfile::tempdir().unwrap();
    let spares = Spares::new(dir.path().join("spares"), 2).unwrap();
    spares.fill();
    let count = || std::fs::read_dir(dir.path().join("spares")).unwrap().count();
    assert_eq!(count(), 2);
    let id = crate::queue::new_id();
    let path = dir.path().join(format!("{id}.ndjson"));
    let (mut w, implied) = EventWriter::open_job(&path, &id, Some(&spares)).unwrap();
    assert!(implied.is_some());
    assert_eq!(count(), 1, "one spare used");
    w.append(token("a")).unwrap();
    w.sync_dir().unwrap();
    drop(w);
    let (w, implied) = EventWriter::open_job(&path, &id, Some(&spares)).unwrap();
    assert!(implied.is_none());
    assert_eq!(w.next_seq(), 2);
    assert_eq!(count(), 1, "an existing log uses no spare");
    assert_eq!(read_all(&path).unwrap().len(), 2);
    drop(spares);
    assert!(!dir.path().join("spares").exists(), "the pool's directory goes with it");
}
