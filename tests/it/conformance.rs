//! One conformance suite for every storage backend: the queue with its
//! leases, the event logs and the records, driven through the seam's
//! traits (`ctl::backend`) exactly as the worker, the API and the CLI
//! drive them. Each case is written once, as a function of a [`Harness`];
//! each backend has a module below that runs every case on itself.

use std::collections::HashSet;
use std::sync::Arc;

use ctl::api::{EventBody, JobSpec, JobState, Role, Usage};
use ctl::backend::WorkerLease;
use ctl::events::Summary;
use ctl::jobs::{Local, view_of};
use ctl::queue::Dir;
use ctl::store::ChatMessage;
use futures_util::StreamExt;

/// A backend under test, and what the suite cannot do through the traits.
pub trait Harness {
    /// The backend, opened as a process opens it. Every call opens a new
    /// handle on the same state (another process).
    fn open(&self) -> Local;
    /// Makes the lease of the worker holding `id` lapse while that worker
    /// lives on, as it does when the worker stops heartbeating (paused,
    /// partitioned). Only called when [`Harness::leases_lapse`].
    fn lapse(&self, local: &Local, id: &str);
    /// The worker holding `lease` dies (however it dies).
    fn crash(&self, local: &Local, lease: Arc<dyn WorkerLease>, id: &str);
    /// Whether a live worker's lease can lapse. The filesystem's cannot: a
    /// worker holds its flock as long as it lives, and recovery never takes
    /// a live worker's job, so there is no stale writer to fence.
    fn leases_lapse(&self) -> bool;
}

fn spec(prompt: &str) -> JobSpec {
    JobSpec { prompt: Some(prompt.into()), model: Some("ollama:tiny".into()), ..JobSpec::default() }
}

fn start(lease: &Arc<dyn WorkerLease>, local: &Local, id: &str) -> Box<dyn ctl::backend::EventSink> {
    let (mut log, _) = lease.open_log(id).unwrap();
    let job = local.queue.read(Dir::Active, id).unwrap();
    log.append(EventBody::Started { attempt: 1, worker: lease.id().into(), model: job.model }).unwrap();
    log
}

/// Ends a held job as the worker does: terminal event, record, move.
fn complete(
    lease: &Arc<dyn WorkerLease>,
    local: &Local,
    log: &mut dyn ctl::backend::EventSink,
    id: &str,
) -> Result<(), String> {
    let job = local.queue.read(Dir::Active, id).map_err(|e| format!("{e:?}"))?;
    log.append(EventBody::Usage(Usage {
        prompt_tokens: 3,
        completion_tokens: 2,
        ttft_ms: Some(1.0),
        tokens_per_s: Some(100.0),
        duration_ms: 5.0,
        estimated: false,
    }))
    .map_err(|e| e.to_string())?;
    log.append_durable(EventBody::Done { finish_reason: Some("stop".into()), tool_calls: Vec::new() })
        .map_err(|e| e.to_string())?;
    log.sync_dir().map_err(|e| e.to_string())?;
    let mut events = local.events.read_all(id).map_err(|e| e.to_string())?;
    events.extend(log.unflushed());
    let view = view_of(&job, JobState::Completed, &Summary::from_events(&events));
    lease.finish(id, Dir::Completed, log, &view, None).map_err(|e| e.to_string())?;
    lease.release(id);
    Ok(())
}

pub fn publish_claim_finish(h: &impl Harness) {
    let local = h.open();
    let job = local.submit(spec("hello")).unwrap();
    assert_eq!(local.queue.locate(&job.id), Some(Dir::Queued));
    assert_eq!(local.view(&job.id).unwrap().state, JobState::Queued);
    let lease = local.queue.join(1).unwrap();
    let claimed = lease.claim_next().unwrap().job.expect("the job is claimed");
    assert_eq!(claimed.id, job.id);
    assert!(lease.claim_next().unwrap().job.is_none(), "a claimed job is not claimed twice");
    assert_eq!(local.queue.locate(&job.id), Some(Dir::Active));
    let mut log = start(&lease, &local, &job.id);
    log.append(EventBody::Token { text: "hi".into() }).unwrap();
    complete(&lease, &local, log.as_mut(), &job.id).unwrap();
    assert_eq!(local.queue.locate(&job.id), Some(Dir::Completed));

    let other = h.open();
    let view = other.view(&job.id).unwrap();
    assert_eq!(view.state, JobState::Completed);
    assert_eq!(view.output, "hi");
    assert_eq!(view.worker.as_deref(), Some(lease.id()));
    let kinds: Vec<(u64, String)> = other
        .events
        .read_all(&job.id)
        .unwrap()
        .iter()
        .map(|e| (e.seq, serde_json::to_value(&e.body).unwrap()["type"].as_str().unwrap().to_owned()))
        .collect();
    let want = ["queued", "started", "token", "usage", "done"];
    assert_eq!(kinds, want.iter().enumerate().map(|(i, k)| (i as u64, (*k).to_owned())).collect::<Vec<_>>());
}

pub fn priority_then_age(h: &impl Harness) {
    let local = h.open();
    let low = local.submit(spec("low")).unwrap();
    let high = local.submit(JobSpec { priority: 5, ..spec("high") }).unwrap();
    let low2 = local.submit(spec("low2")).unwrap();
    let lease = local.queue.join(1).unwrap();
    let order: Vec<String> = (0..3).map(|_| lease.claim_next().unwrap().job.expect("a job").id).collect();
    assert_eq!(order, [high.id, low.id, low2.id]);
}

pub fn two_workers_race_for_every_job(h: &impl Harness) {
    let local = h.open();
    let ids: HashSet<String> = (0..60).map(|i| local.submit(spec(&format!("job {i}"))).unwrap().id).collect();
    let claimed: Vec<Vec<String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let local = h.open();
                s.spawn(move || {
                    let lease = local.queue.join(1).unwrap();
                    let mut mine = Vec::new();
                    while let Some(job) = lease.claim_next().unwrap().job {
                        let mut log = start(&lease, &local, &job.id);
                        complete(&lease, &local, log.as_mut(), &job.id).unwrap();
                        mine.push(job.id);
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let all: Vec<&String> = claimed.iter().flatten().collect();
    assert_eq!(all.len(), ids.len(), "every job claimed exactly once");
    assert_eq!(all.into_iter().cloned().collect::<HashSet<_>>(), ids);
    for id in &ids {
        let events = local.events.read_all(id).unwrap();
        let terminal = events.iter().filter(|e| e.body.terminal_state().is_some()).count();
        assert_eq!(terminal, 1, "one terminal event for {id}");
        assert_eq!(local.store.get(id).unwrap().unwrap().state, JobState::Completed);
    }
}

pub fn a_dead_workers_job_is_requeued_and_runs_once_elsewhere(h: &impl Harness) {
    let local = h.open();
    let job = local.submit(spec("crash")).unwrap();
    let a = local.queue.join(1).unwrap();
    assert_eq!(a.claim_next().unwrap().job.unwrap().id, job.id);
    drop(start(&a, &local, &job.id));
    h.crash(&local, a, &job.id);
    let b_local = h.open();
    let b = b_local.queue.join(1).unwrap();
    assert_eq!(b.maintain().unwrap(), std::slice::from_ref(&job.id));
    assert_eq!(b.maintain().unwrap(), Vec::<String>::new(), "recovery is idempotent");
    assert_eq!(local.queue.locate(&job.id), Some(Dir::Queued));
    let again = b.claim_next().unwrap().job.expect("requeued");
    assert_eq!(again.id, job.id);
    let mut log = b.open_log(&job.id).unwrap().0;
    log.append(EventBody::Started { attempt: 2, worker: b.id().into(), model: again.model }).unwrap();
    complete(&b, &b_local, log.as_mut(), &job.id).unwrap();
    let view = local.view(&job.id).unwrap();
    assert_eq!((view.state, view.attempts), (JobState::Completed, 2));
    let seqs: Vec<u64> = local.events.read_all(&job.id).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "seq stays gapless across owners");
}

pub fn a_stale_workers_late_completion_is_refused(h: &impl Harness) {
    if !h.leases_lapse() {
        return;
    }
    let local = h.open();
    let job = local.submit(spec("stale")).unwrap();
    let a = local.queue.join(1).unwrap();
    assert_eq!(a.claim_next().unwrap().job.unwrap().id, job.id);
    let mut stale_log = start(&a, &local, &job.id);
    // A stops heartbeating; B requeues and takes the job.
    h.lapse(&local, &job.id);
    let b_local = h.open();
    let b = b_local.queue.join(1).unwrap();
    b.maintain().unwrap();
    assert_eq!(local.queue.locate(&job.id), Some(Dir::Queued));
    assert_eq!(b.claim_next().unwrap().job.unwrap().id, job.id);
    let mut log = b.open_log(&job.id).unwrap().0;
    // What B has written so far (a database backend buffers appends).
    log.sync_dir().unwrap();
    let before = local.events.read_all(&job.id).unwrap();

    // A wakes up: its appends (where leases lapse) and its finish are refused.
    {
        // A buffered append may be taken into the stale writer's own buffer
        // (a database backend batches tokens); it is refused when written,
        // and nothing of it reaches the log (checked below).
        let _ = stale_log.append(EventBody::Token { text: "late".into() });
        assert!(stale_log.append_durable(EventBody::Cancelled { reason: None }).is_err());
    }
    let view = view_of(&job, JobState::Completed, &Summary::default());
    assert!(a.finish(&job.id, Dir::Completed, stale_log.as_mut(), &view, None).is_err());
    assert_eq!(local.queue.locate(&job.id), Some(Dir::Active), "a refused finish changes nothing");
    assert!(local.store.get(&job.id).unwrap().is_none());
    {
        assert_eq!(local.events.read_all(&job.id).unwrap(), before);
    }

    log.append(EventBody::Started { attempt: 2, worker: b.id().into(), model: job.model.clone() }).unwrap();
    complete(&b, &b_local, log.as_mut(), &job.id).unwrap();
    let view = local.view(&job.id).unwrap();
    assert_eq!((view.state, view.worker.as_deref()), (JobState::Completed, Some(b.id())));
}

pub fn cancel_queued_and_running(h: &impl Harness) {
    let local = h.open();
    let queued = local.submit(spec("never runs")).unwrap();
    assert_eq!(local.cancel(&queued.id).unwrap(), ctl::jobs::CancelOutcome::Cancelled);
    let view = h.open().view(&queued.id).unwrap();
    assert_eq!(view.state, JobState::Cancelled);
    let kinds: Vec<_> = local.events.read_all(&queued.id).unwrap().into_iter().map(|e| e.seq).collect();
    assert_eq!(kinds, [0, 1]);

    let running = local.submit(spec("runs")).unwrap();
    let lease = local.queue.join(1).unwrap();
    assert_eq!(lease.claim_next().unwrap().job.unwrap().id, running.id);
    let other = h.open();
    assert!(!other.queue.cancel_requested(&running.id));
    assert_eq!(other.cancel(&running.id).unwrap(), ctl::jobs::CancelOutcome::Requested);
    assert!(local.queue.cancel_requested(&running.id), "the holder sees the cancel");

    // Retry puts the cancelled job back, with fresh attempts.
    local.retry(&queued.id).unwrap();
    assert_eq!(local.view(&queued.id).unwrap().state, JobState::Queued);
    assert_eq!(lease.claim_next().unwrap().job.unwrap().id, queued.id);
}

pub fn resume_from_seq_loses_and_repeats_nothing(h: &impl Harness) {
    let local = h.open();
    let job = local.submit(spec("stream")).unwrap();
    let lease = local.queue.join(1).unwrap();
    lease.claim_next().unwrap().job.unwrap();
    let mut log = start(&lease, &local, &job.id);
    for i in 0..20 {
        log.append(EventBody::Token { text: format!("t{i} ") }).unwrap();
    }
    log.sync_dir().unwrap();
    let reader = h.open();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // A reader that saw up to seq 10 reconnects; the rest arrives live.
        let mut stream = reader.events.follow(&job.id, Some(10));
        let mut seen = Vec::new();
        while seen.len() < 11 {
            seen.push(
                tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap()
                    .seq,
            );
        }
        let writer = std::thread::spawn(move || {
            for i in 20..40 {
                log.append(EventBody::Token { text: format!("t{i} ") }).unwrap();
            }
            complete(&lease, &local, log.as_mut(), &job.id).unwrap();
        });
        while let Some(ev) =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.next()).await.unwrap()
        {
            seen.push(ev.unwrap().seq);
        }
        writer.join().unwrap();
        assert_eq!(seen, (11..=43).collect::<Vec<u64>>());
    });
}

pub fn sessions_tokens_and_usage(h: &impl Harness) {
    let local = h.open();
    let session = local.store.create_session("01JSESSION00000000000000AA", Some("  first  ")).unwrap();
    assert_eq!(session.title, "first");
    let msg = |id: &str, role, job: &str| ChatMessage {
        id: id.into(),
        session_id: session.id.clone(),
        role,
        content: format!("{role:?}"),
        job_id: Some(job.into()),
        created_at: jiff::Timestamp::now(),
    };
    assert!(local.store.add_message(&msg("m1", Role::User, "j1")).unwrap());
    assert!(local.store.add_message(&msg("m2", Role::Assistant, "j1")).unwrap());
    assert!(!local.store.add_message(&msg("m3", Role::Assistant, "j1")).unwrap(), "one answer per job");
    let other = h.open();
    assert_eq!(other.store.session_messages(&session.id).unwrap().len(), 2);
    assert_eq!(other.store.get_session(&session.id).unwrap().unwrap().message_count, 2);

    let (info, secret) = local.store.create_token("ci").unwrap();
    assert_eq!(other.store.verify_token(&secret).unwrap().map(|t| t.id), Some(info.id.clone()));
    assert_eq!(other.store.revoke_token("ci").unwrap(), 1);
    assert!(local.store.verify_token(&secret).unwrap().is_none());

    let job = local.submit(spec("usage")).unwrap();
    let lease = local.queue.join(1).unwrap();
    lease.claim_next().unwrap().job.unwrap();
    let mut log = start(&lease, &local, &job.id);
    complete(&lease, &local, log.as_mut(), &job.id).unwrap();
    let rows = other.store.usage_rows(None).unwrap();
    let row = rows.iter().find(|r| r.model == "ollama:tiny").expect("a usage row");
    assert_eq!((row.prompt_tokens, row.completion_tokens, row.state.as_str()), (3, 2, "completed"));
    let stats = ctl::stats::by_model_day(&rows);
    assert_eq!(stats.iter().map(|r| r.jobs).sum::<u64>(), rows.len() as u64);
}

/// Runs every case of the suite through `$run` (which gives each case a
/// fresh state of its backend).
macro_rules! conformance {
    ($run:path) => {
        conformance!(@cases $run;
            publish_claim_finish,
            priority_then_age,
            two_workers_race_for_every_job,
            a_dead_workers_job_is_requeued_and_runs_once_elsewhere,
            a_stale_workers_late_completion_is_refused,
            cancel_queued_and_running,
            resume_from_seq_loses_and_repeats_nothing,
            sessions_tokens_and_usage,
        );
    };
    (@cases $run:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $run(|h| super::$case(h));
            }
        )*
    };
}

/// The embedded backend: a data directory.
mod fs {
    use std::sync::Arc;

    use ctl::backend::WorkerLease;
    use ctl::config::Config;
    use ctl::jobs::Local;

    pub struct Fs(tempfile::TempDir);

    impl Fs {
        fn new() -> Self {
            Self(tempfile::tempdir().unwrap())
        }
    }

    impl super::Harness for Fs {
        fn open(&self) -> Local {
            Local::open(self.0.path().to_path_buf(), Config::default()).unwrap()
        }

        fn lapse(&self, _local: &Local, _id: &str) {
            unreachable!("a live worker's flock does not lapse")
        }

        /// The kernel drops a dead process's flock; dropping the lease
        /// is the closest a test can come in-process.
        fn crash(&self, _local: &Local, lease: Arc<dyn WorkerLease>, _id: &str) {
            drop(lease);
        }

        fn leases_lapse(&self) -> bool {
            false
        }
    }

    fn run(case: impl FnOnce(&Fs)) {
        case(&Fs::new());
    }

    conformance!(run);
}

/// PostgreSQL, when `CTL_TEST_DATABASE_URL` names a database (CI sets it;
/// `.ci/run` fails when the database is not reachable): each case in a
/// schema of its own, dropped afterwards.
mod pg {
    use std::sync::Arc;
    use std::time::Duration;

    use ctl::backend::WorkerLease;
    use ctl::backend::pg::PgSettings;
    use ctl::config::{BackendKind, Config};
    use ctl::home::Home;
    use ctl::jobs::Local;

    use crate::helper::pg::Schema;

    pub struct Pg {
        schema: Schema,
        home: tempfile::TempDir,
    }

    impl super::Harness for Pg {
        fn open(&self) -> Local {
            let mut config = Config::default();
            config.backend.kind = BackendKind::Postgres;
            let settings = PgSettings {
                url: self.schema.url(),
                pool_size: 4,
                lease: Duration::from_secs(30),
                keep_events_days: None,
            };
            let backend = ctl::backend::pg::open(&settings).unwrap();
            Local::with_backend(Home::open(self.home.path()).unwrap(), backend, config)
        }

        fn lapse(&self, _local: &Local, id: &str) {
            self.schema.sql(&format!(
                "UPDATE {}.ctl_queue SET lease_expires = now() - interval '1 second' WHERE id = '{id}'",
                self.schema.name
            ));
        }

        /// A dead worker stops heartbeating: its leases lapse.
        fn crash(&self, local: &Local, lease: Arc<dyn WorkerLease>, id: &str) {
            drop(lease);
            self.lapse(local, id);
        }

        fn leases_lapse(&self) -> bool {
            true
        }
    }

    /// Runs `case` on a fresh schema (when a test database is set).
    fn on_pg(case: impl FnOnce(&Pg)) {
        if let Some(schema) = Schema::new() {
            case(&Pg { schema, home: tempfile::tempdir().unwrap() });
        }
    }

    conformance!(on_pg);
}
