//! PostgreSQL rows, each against a bare-SQL baseline in the same run:
//! `pg_queue_ratio` (no-op jobs through ctl on PostgreSQL vs. a bare SQL
//! loop doing the same inserts, `SKIP LOCKED` claims and updates) and
//! `pg_pickup_p50_ms` (submit → `started` with an idle worker, vs. a bare
//! INSERT + NOTIFY → LISTEN → claim round trip). Needs a database:
//! `CTL_BENCH_DATABASE_URL` (or `CTL_TEST_DATABASE_URL`); each run works in
//! a schema of its own, dropped afterwards.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctl::backend::pg::PgSettings;
use ctl::config::Config;
use ctl::home::Home;
use ctl::jobs::Local;
use ctl::queue::Dir;
use futures_util::StreamExt;
use serde_json::json;

use crate::queue::noop_spec;
use crate::report::{Report, Row, Target, num};
use crate::upstream::Upstream;
use crate::util::{Env, Proc, http_client, median, now_ns, percentile, wait_until};

/// The database the PostgreSQL rows run against, if one is set.
pub fn database_url() -> Option<String> {
    ["CTL_BENCH_DATABASE_URL", "CTL_TEST_DATABASE_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
}

/// A schema of its own for one run.
struct Schema {
    base: String,
    name: String,
    rt: tokio::runtime::Runtime,
}

impl Schema {
    fn new(base: &str) -> Self {
        let name = format!("bench_{}", ctl::queue::new_id().to_ascii_lowercase());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let s = Self { base: base.to_owned(), name, rt };
        s.sql(&format!("CREATE SCHEMA {}", s.name));
        s
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }

    async fn connect(url: String) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    fn sql(&self, sql: &str) {
        let (url, sql) = (self.base.clone(), sql.to_owned());
        self.rt.block_on(async move { Self::connect(url).await.batch_execute(&sql).await.unwrap() });
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// An installation on the schema: its Local (as `ctl submit` opens it) and
/// a way to start workers.
struct PgEnv {
    env: Env,
    local: Local,
}

impl PgEnv {
    fn new(upstream_url: &str, schema: &Schema) -> Self {
        let mut env = Env::new(upstream_url, "bench", "[backend]\nkind = \"postgres\"\n");
        let url = schema.url();
        env.vars.push(("CTL_DATABASE_URL".into(), url.clone()));
        let config = Config::load(Some(&env.config), std::iter::empty()).unwrap();
        let settings =
            PgSettings { url, pool_size: 4, lease: Duration::from_secs(30), keep_events_days: None };
        let backend = ctl::backend::pg::open(&settings).unwrap();
        let local = Local::with_backend(Home::open(env.home.clone()).unwrap(), backend, config);
        Self { env, local }
    }

    /// `ctl worker`, once it has joined the queue.
    fn worker(&self) -> Proc {
        let before = self.local.queue.live_workers().unwrap().len();
        let log = std::fs::File::create(self.env.dir.path().join("worker.log")).unwrap();
        let child = self.env.cmd().arg("worker").stdout(Stdio::null()).stderr(log).spawn().unwrap();
        let proc = Proc::ctl(child);
        wait_until("the worker to join", 20, Duration::from_millis(5), || {
            self.local.queue.live_workers().unwrap().len() > before
        });
        std::thread::sleep(Duration::from_millis(300));
        proc
    }
}

/// The same job life in bare SQL, one job after the other on one
/// connection: insert, claim with `SKIP LOCKED`, two event rows, finish
/// (update + record). Jobs/s.
fn bare_queue_round(schema: &Schema, n: usize) -> f64 {
    let url = schema.url();
    schema.rt.block_on(async move {
        let mut c = Schema::connect(url).await;
        c.batch_execute(
            "CREATE TABLE IF NOT EXISTS bare_q (id TEXT PRIMARY KEY, state TEXT NOT NULL, priority INT NOT NULL, job JSONB NOT NULL, lease TEXT);
             CREATE INDEX IF NOT EXISTS bare_q_next ON bare_q (priority DESC, id) WHERE state = 'queued';
             CREATE TABLE IF NOT EXISTS bare_e (job_id TEXT, first_seq BIGINT, last_seq BIGINT, lines TEXT, PRIMARY KEY (job_id, first_seq));
             CREATE TABLE IF NOT EXISTS bare_r (id TEXT PRIMARY KEY, state TEXT, output TEXT)",
        )
        .await
        .unwrap();
        let body = serde_json::to_string(&json!({"v": 1, "prompt": "noop", "pad": "x".repeat(300)})).unwrap();
        // Each statement prepared once, as a hand-written loop would (ctl
        // keeps its prepared statements per connection too).
        let insert = c.prepare("INSERT INTO bare_q VALUES ($1, 'queued', 0, $2::text::jsonb, NULL)").await.unwrap();
        let claim = c
            .prepare(
                "WITH next AS (SELECT id FROM bare_q WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 UPDATE bare_q q SET state = 'active', lease = 'l' FROM next WHERE q.id = next.id RETURNING q.id, q.job::text",
            )
            .await
            .unwrap();
        let event = c.prepare("INSERT INTO bare_e VALUES ($1, $2, $3, $4)").await.unwrap();
        let lease = c.prepare("SELECT lease FROM bare_q WHERE id = $1 FOR UPDATE").await.unwrap();
        let done = c.prepare("UPDATE bare_q SET state = 'completed', lease = NULL WHERE id = $1").await.unwrap();
        let record = c.prepare("INSERT INTO bare_r VALUES ($1, 'completed', 'x')").await.unwrap();
        let t0 = Instant::now();
        for _ in 0..n {
            let id = ctl::queue::new_id();
            c.execute(&insert, &[&id, &body]).await.unwrap();
            let tx = c.transaction().await.unwrap();
            let row = tx.query_one(&claim, &[]).await.unwrap();
            tx.commit().await.unwrap();
            let got: String = row.get(0);
            c.execute(&event, &[&got, &0i64, &1i64, &"queued\nstarted\n"]).await.unwrap();
            let tx = c.transaction().await.unwrap();
            tx.query_one(&lease, &[&got]).await.unwrap();
            tx.execute(&event, &[&got, &2i64, &3i64, &"token\ndone\n"]).await.unwrap();
            tx.execute(&done, &[&got]).await.unwrap();
            tx.execute(&record, &[&got]).await.unwrap();
            tx.commit().await.unwrap();
        }
        n as f64 / t0.elapsed().as_secs_f64()
    })
}

/// Bare INSERT + NOTIFY on one connection → the notification on a
/// LISTENing one → its `SKIP LOCKED` claim and an event row committed. ms each.
fn bare_pickup(schema: &Schema, n: usize) -> Vec<f64> {
    let url = schema.url();
    schema.rt.block_on(async move {
        let producer = Schema::connect(url.clone()).await;
        let (consumer, mut conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(Ok(m)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = m {
                    let _ = tx.send(n.payload().to_owned());
                }
            }
        });
        consumer
            .batch_execute(
                "CREATE TABLE pick_q (id TEXT PRIMARY KEY, state TEXT NOT NULL, priority INT NOT NULL DEFAULT 0);
                 CREATE TABLE pick_e (job_id TEXT, seq BIGINT, body TEXT);
                 LISTEN pick",
            )
            .await
            .unwrap();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let id = ctl::queue::new_id();
            let t0 = Instant::now();
            producer
                .execute(
                    "WITH ins AS (INSERT INTO pick_q (id, state) VALUES ($1, 'queued') RETURNING id) SELECT pg_notify('pick', id) FROM ins",
                    &[&id],
                )
                .await
                .unwrap();
            rx.recv().await.unwrap();
            let row = consumer
                .query_one(
                    "WITH next AS (SELECT id FROM pick_q WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     UPDATE pick_q q SET state = 'active' FROM next WHERE q.id = next.id RETURNING q.id",
                    &[],
                )
                .await
                .unwrap();
            let got: String = row.get(0);
            consumer.execute("INSERT INTO pick_e VALUES ($1, 1, 'started')", &[&got]).await.unwrap();
            out.push(t0.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        out
    })
}

/// `pg_sse_fanout_tokens_per_s`: one job on a worker process of its own,
/// its tokens read by `clients` SSE clients split over two `ctl serve`
/// instances (each with a data directory of its own, as on two hosts),
/// against the upstream streaming to as many clients itself.
pub fn bench_fanout(report: &mut Report, up: &Upstream, clients: usize, tokens: usize, rounds: usize) {
    let Some(base) = database_url() else {
        eprintln!("CTL_BENCH_DATABASE_URL (or CTL_TEST_DATABASE_URL) not set: skipping the PostgreSQL rows");
        return;
    };
    let schema = Schema::new(&base);
    let (a, b) = (PgEnv::new(&up.url, &schema), PgEnv::new(&up.url, &schema));
    let worker = a.worker();
    let (serve_a, url_a) = a.env.serve();
    let (serve_b, url_b) = b.env.serve();
    let token = a.env.token();
    let bases = [url_a, url_b];
    let rt = crate::stream::runtime();
    let client = http_client();
    let (mut ours, mut base_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for r in 0..rounds {
            let (c, b) = if r % 2 == 0 {
                let c = crate::stream::ctl_fanout(&client, &bases, &token, up, clients, tokens).await;
                (c, crate::stream::upstream_fanout(&client, up, clients, tokens).await)
            } else {
                let b = crate::stream::upstream_fanout(&client, up, clients, tokens).await;
                (crate::stream::ctl_fanout(&client, &bases, &token, up, clients, tokens).await, b)
            };
            eprintln!("  round {r}: ctl on PostgreSQL {c:.0} tokens/s, upstream {b:.0} tokens/s");
            ours.push(c);
            base_rates.push(b);
            ratios.push(c / b);
        }
    });
    drop((serve_a, serve_b));
    worker.terminate();
    let rate = median(&ours);
    report.metric("pg_sse_fanout_tokens_per_s", rate, Target::AtLeast(50_000.0));
    report.row(Row {
        key: Some("pg_sse_fanout_tokens_per_s"),
        what: format!(
            "tokens delivered to {clients} SSE clients split over two `ctl serve` instances on PostgreSQL, one {}-token job on a worker process of its own (release of the held upstream → last stream ended)",
            num(tokens as f64)
        ),
        ctl: format!("{} tokens/s", num(rate)),
        baseline: format!("{} tokens/s (the upstream streaming to {clients} clients itself)", num(median(&base_rates))),
        notes: format!("ratio {:.2} (median of {rounds} rounds)", median(&ratios)),
    });
    report.detail(
        "pg_sse_fanout",
        json!({ "clients": clients, "tokens": tokens, "ctl_tokens_per_s": ours, "upstream_tokens_per_s": base_rates, "ratios": ratios }),
    );
}

pub fn bench(report: &mut Report, upstream_url: &str, n_queue: usize, n_pickup: usize) {
    let Some(base) = database_url() else {
        eprintln!("CTL_BENCH_DATABASE_URL (or CTL_TEST_DATABASE_URL) not set: skipping the PostgreSQL rows");
        return;
    };
    let schema = Arc::new(Schema::new(&base));

    // Queue throughput: n no-op jobs submitted back to back, one worker;
    // rounds of the bare loop and of ctl interleaved, the median ratio
    // (one round each swings by ±15% on a busy 2-core machine).
    let pg = PgEnv::new(upstream_url, &schema);
    let worker = pg.worker();
    let spec = noop_spec();
    let mut rounds: Vec<(f64, f64)> = Vec::new();
    for round in 1..=3 {
        let bare = bare_queue_round(&schema, n_queue);
        let t0 = Instant::now();
        let ids: Vec<String> = (0..n_queue).map(|_| pg.local.submit(spec.clone()).unwrap().id).collect();
        let last = ids.last().cloned().unwrap_or_default();
        wait_until("the jobs to complete", 300, Duration::from_millis(2), || {
            pg.local.queue.locate(&last) == Some(Dir::Completed)
        });
        let rate = n_queue as f64 / t0.elapsed().as_secs_f64();
        eprintln!("  round {round}: ctl on PostgreSQL {} jobs/s, bare SQL {} jobs/s", num(rate), num(bare));
        rounds.push((rate, bare));
    }
    rounds.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
    let (rate, bare) = rounds[rounds.len() / 2];
    let ratio = rate / bare;
    report.metric("pg_queue_ratio", ratio, Target::AtLeast(0.7));
    report.row(Row {
        key: Some("pg_queue_ratio"),
        what: format!("no-op jobs through ctl on PostgreSQL (library submit, one `ctl worker`, {n_queue} jobs) vs. a bare SQL loop doing the same inserts, `SKIP LOCKED` claims, event rows and updates"),
        ctl: format!("{} jobs/s", num(rate)),
        baseline: format!("{} jobs/s", num(bare)),
        notes: format!("ratio {} (median of 3 interleaved rounds)", num(ratio)),
    });

    // Pickup: jobs one at a time, the worker idle between them.
    let floor = bare_pickup(&schema, n_pickup / 2);
    let mut samples = Vec::with_capacity(n_pickup);
    for _ in 0..n_pickup {
        let t_submit = now_ns();
        let id = pg.local.submit(spec.clone()).unwrap().id;
        wait_until("the job to complete", 60, Duration::from_millis(1), || {
            pg.local.queue.locate(&id) == Some(Dir::Completed)
        });
        let events = pg.local.events.read_all(&id).unwrap();
        let started =
            events.iter().find(|e| e.body.kind() == "started").map(|e| e.ts.as_nanosecond()).unwrap();
        samples.push((started - t_submit) as f64 / 1e6);
        std::thread::sleep(Duration::from_millis(30));
    }
    worker.terminate();
    let p50 = percentile(&samples, 0.5);
    report.metric("pg_pickup_p50_ms", p50, Target::AtMost(5.0));
    report.row(Row {
        key: Some("pg_pickup_p50_ms"),
        what: format!(
            "submit → `started` on PostgreSQL with an idle worker ({n_pickup} jobs, one at a time)"
        ),
        ctl: format!("{} ms", num(p50)),
        baseline: format!(
            "{} ms (bare INSERT + NOTIFY → LISTEN → SKIP LOCKED claim + event row)",
            num(percentile(&floor, 0.5))
        ),
        notes: format!("p99 {} ms", num(percentile(&samples, 0.99))),
    });
    report.detail(
        "pg",
        json!({
            "queue": { "jobs": n_queue, "ctl_jobs_per_s": rate, "bare_jobs_per_s": bare },
            "pickup_ms": { "n": samples.len(), "p50": p50, "p99": percentile(&samples, 0.99), "floor_p50": percentile(&floor, 0.5) },
        }),
    );
}
