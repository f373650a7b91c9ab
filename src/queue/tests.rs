use std::collections::BTreeMap;

use super::*;
use crate::api::{Message, Role};

fn home() -> (tempfile::TempDir, Queue) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::open(dir.path().join("home")).unwrap();
    (dir, Queue::new(home))
}

fn job(priority: i32) -> Job {
    Job {
        rag: None,
        v: JOB_SCHEMA_VERSION,
        id: new_id(),
        created_at: jiff::Timestamp::now(),
        model: "local:tiny".into(),
        messages: vec![Message::new(Role::User, "hi")],
        params: BTreeMap::new(),
        priority,
        max_attempts: 3,
        traceparent: None,
        session_id: None,
        parent_id: None,
        skills: Vec::new(),
        tools: Vec::new(),
        tool_choice: None,
        allow_egress_after_private: false,
        tool_results_from: None,
        client_tools: Vec::new(),
        client: None,
    }
}

#[test]
fn publish_claim_finish_moves_one_file() {
    let (_d, q) = home();
    let lease = WorkerLease::acquire(&q.home().workers_dir()).unwrap();
    let j = job(0);
    q.publish(&j).unwrap();
    assert_eq!(q.list(Dir::Queued).unwrap(), vec![j.id.clone()]);
    assert!(q.list(Dir::Tmp).unwrap().is_empty());
    let Claim::Won(claimed) = q.claim(&j.id, &lease).unwrap() else { panic!("claim lost") };
    assert_eq!(*claimed, j);
    // A second claim of the same job loses.
    assert!(matches!(q.claim(&j.id, &lease).unwrap(), Claim::Lost));
    q.finish(&j.id, Dir::Completed).unwrap();
    assert_eq!(q.locate(&j.id), Some(Dir::Completed));
    for d in [Dir::Queued, Dir::Active, Dir::Failed] {
        assert!(q.list(d).unwrap().is_empty());
    }
}

#[test]
fn ids_are_increasing_and_valid() {
    let ids: Vec<String> = (0..1000).map(|_| new_id()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(ids.iter().all(|i| valid_id(i)));
    for bad in [
        "",
        "../../etc/passwd",
        "01JD4ZZZZZZZZZZZZZZZZZZZZ/",
        "01jd4zzzzzzzzzzzzzzzzzzzzz",
        "0123456789012345678901234I",
    ] {
        assert!(!valid_id(bad), "{bad}");
    }
}

#[test]
fn garbage_is_named_precisely() {
    let id = new_id();
    assert_eq!(parse_job(b"", &id).unwrap_err(), "empty file");
    assert!(parse_job(b"{\"v\": 1, \"id\": ", &id).unwrap_err().starts_with("truncated JSON"));
    assert!(parse_job(b"not json", &id).unwrap_err().starts_with("invalid JSON"));
    assert!(parse_job(b"{\"v\": 2}", &id).unwrap_err().contains("unknown schema version 2"));
    assert!(parse_job(b"{\"id\": \"x\"}", &id).unwrap_err().contains("no schema version"));
    assert!(parse_job(b"{\"v\": 1, \"id\": \"x\"}", &id).unwrap_err().starts_with("invalid job"));
    let mut other = job(0);
    other.id = new_id();
    let bytes = serde_json::to_vec(&other).unwrap();
    assert!(parse_job(&bytes, &id).unwrap_err().contains("file name says"));
}

#[test]
fn corrupt_claim_goes_to_corrupt_with_reason() {
    let (_d, q) = home();
    let lease = WorkerLease::acquire(&q.home().workers_dir()).unwrap();
    let id = new_id();
    std::fs::write(q.path(Dir::Queued, &id), b"{\"v\": 1, \"id\"").unwrap();
    let Claim::Corrupt(reason) = q.claim(&id, &lease).unwrap() else { panic!("not corrupt") };
    assert!(reason.contains("truncated"), "{reason}");
    let corrupt = q.dir(Dir::Corrupt);
    assert!(corrupt.join(format!("{id}.json")).exists());
    let why = std::fs::read_to_string(corrupt.join(format!("{id}.json.reason"))).unwrap();
    assert!(why.contains("truncated"));
    assert!(q.list(Dir::Active).unwrap().is_empty());
}

#[test]
fn recovery_requeues_only_dead_workers_jobs() {
    let (_d, q) = home();
    let workers = q.home().workers_dir();
    let live = WorkerLease::acquire(&workers).unwrap();
    let (a, b) = (job(0), job(0));
    q.publish(&a).unwrap();
    q.publish(&b).unwrap();
    assert!(matches!(q.claim(&a.id, &live).unwrap(), Claim::Won(_)));
    assert!(matches!(q.claim(&b.id, &live).unwrap(), Claim::Won(_)));
    // Hand `b` over to a worker that then died.
    live.release(&b.id);
    let dead = FakeDead::new(&workers, &b.id);
    assert_eq!(q.recover().unwrap(), vec![b.id.clone()]);
    assert_eq!(q.locate(&b.id), Some(Dir::Queued));
    assert_eq!(q.locate(&a.id), Some(Dir::Active), "a live worker's job is never requeued");
    assert!(q.recover().unwrap().is_empty(), "recovery is idempotent");
    assert!(!dead.lock.exists(), "the dead worker's lock file is reaped");
    assert_eq!(lease::live_worker_count(&workers).unwrap(), 1);
}

/// A worker lock file nobody holds, with an intent for one job: what a
/// SIGKILLed worker leaves behind.
struct FakeDead {
    lock: PathBuf,
}

impl FakeDead {
    fn new(workers: &std::path::Path, job: &str) -> Self {
        let id = new_id();
        let lock = workers.join(format!("{id}.lock"));
        std::fs::write(&lock, b"pid 0\n").unwrap();
        std::fs::write(workers.join(format!("{id}.claims")), format!("+{job}\n")).unwrap();
        Self { lock }
    }
}

#[test]
fn cancel_queued_and_retry_move_files() {
    let (_d, q) = home();
    let j = job(0);
    q.publish(&j).unwrap();
    assert!(q.cancel_queued(&j.id).unwrap());
    assert!(!q.cancel_queued(&j.id).unwrap(), "second cancel finds nothing");
    assert_eq!(q.locate(&j.id), Some(Dir::Failed));
    assert!(q.retry(&j.id).unwrap());
    assert_eq!(q.locate(&j.id), Some(Dir::Queued));
    q.request_cancel(&j.id).unwrap();
    assert!(q.cancel_requested(&j.id));
    q.clear_cancel(&j.id);
    assert!(!q.cancel_requested(&j.id));
}

#[test]
fn stray_files_are_found() {
    let (_d, q) = home();
    std::fs::write(q.dir(Dir::Queued).join("notes.txt"), b"x").unwrap();
    std::fs::write(q.dir(Dir::Queued).join("../_queue/x.json"), b"x").unwrap();
    let mut stray = q.stray_files().unwrap();
    stray.sort();
    assert_eq!(stray, vec!["notes.txt".to_owned(), "x.json".to_owned()]);
}

/// Job files written by version 1 must keep loading.
#[test]
fn v1_job_file_fixture_loads() {
    let id = "01JDQ7T3ZK4M8X2B6N0C5V9WAE";
    let bytes = include_bytes!("../../tests/fixtures/v1/01JDQ7T3ZK4M8X2B6N0C5V9WAE.json");
    let job = parse_job(bytes, id).unwrap();
    assert_eq!(job.model, "local:tiny");
    assert_eq!(job.priority, 2);
    assert_eq!(job.messages.len(), 2);
    assert_eq!(job.messages[0].role, Role::System);
    assert_eq!(job.prompt_preview(), "Explain flock in one paragraph.");
    assert_eq!(job.params["max_tokens"], 40);
}

#[test]
fn a_second_claim_of_a_job_its_worker_holds_keeps_the_first() {
    // A worker that sees a job land twice (its queue watcher and its main
    // loop) tries to claim it twice; the losing try must not drop the
    // winner's claim, or recovery would take a running job away.
    let (_d, q) = home();
    let lease = WorkerLease::acquire(&q.home().workers_dir()).unwrap();
    let a = job(0);
    q.publish(&a).unwrap();
    assert!(matches!(q.claim(&a.id, &lease).unwrap(), Claim::Won(_)));
    assert!(matches!(q.claim(&a.id, &lease).unwrap(), Claim::Lost));
    assert!(q.recover().unwrap().is_empty(), "the running job stays claimed");
    assert_eq!(q.locate(&a.id), Some(Dir::Active));
}

#[test]
fn a_worker_that_loses_a_claim_does_not_cancel_the_winners() {
    // The loser records `+a` then `-a` (it still holds `b`, so its claims
    // file is not emptied); the winner's `+a` must still count, whatever
    // order recovery reads the two files in.
    let (_d, q) = home();
    let workers = q.home().workers_dir();
    let (winner, loser) = (WorkerLease::acquire(&workers).unwrap(), WorkerLease::acquire(&workers).unwrap());
    let (a, b) = (job(0), job(0));
    q.publish(&a).unwrap();
    q.publish(&b).unwrap();
    assert!(matches!(q.claim(&b.id, &loser).unwrap(), Claim::Won(_)));
    assert!(matches!(q.claim(&a.id, &winner).unwrap(), Claim::Won(_)));
    assert!(matches!(q.claim(&a.id, &loser).unwrap(), Claim::Lost));
    assert!(q.recover().unwrap().is_empty(), "both running jobs stay claimed");
    assert_eq!(q.locate(&a.id), Some(Dir::Active));
}
