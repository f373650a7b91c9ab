use jiff::SignedDuration;

use super::*;
use crate::api::{JobView, Params, Usage};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ctl.db")).unwrap();
    (dir, store)
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A finished job; `timing` is (duration_ms, ttft_ms, tokens_per_s).
fn job(
    id: &str,
    model: &str,
    state: JobState,
    finished: Option<Timestamp>,
    tokens: (u64, u64),
    timing: Option<(f64, Option<f64>, Option<f64>)>,
) -> JobView {
    JobView {
        sources: Vec::new(),
        vault: None,
        id: id.into(),
        state,
        model: model.into(),
        priority: 0,
        created_at: at("2026-01-01T00:00:00Z"),
        started_at: None,
        finished_at: finished,
        attempts: 1,
        max_attempts: 3,
        worker: None,
        prompt: "p".into(),
        output: "o".into(),
        error: None,
        usage: timing.map(|(duration_ms, ttft_ms, tokens_per_s)| Usage {
            prompt_tokens: tokens.0,
            completion_tokens: tokens.1,
            ttft_ms,
            tokens_per_s,
            duration_ms,
            estimated: false,
        }),
        params: Params::default(),
        session_id: None,
        parent_id: None,
        skills: Vec::new(),
        tools: Vec::new(),
        tool_stats: crate::api::ToolStats::default(),
        client: None,
    }
}

fn completed(id: &str, model: &str, finished: &str, ttft: f64, tps: f64) -> JobView {
    job(id, model, JobState::Completed, Some(at(finished)), (10, 20), Some((1000.0, Some(ttft), Some(tps))))
}

#[test]
fn stats_group_by_model_and_day_newest_first() {
    let (_dir, store) = open();
    // Day 2, model b: three completed (odd median), one failed, one cancelled without usage.
    store.record(&completed("01", "b", "2026-03-02T10:00:00Z", 300.0, 10.0)).unwrap();
    store.record(&completed("02", "b", "2026-03-02T11:00:00.25Z", 100.0, 30.0)).unwrap();
    store.record(&completed("03", "b", "2026-03-02T23:59:59.999999999Z", 200.0, 20.0)).unwrap();
    store
        .record(&job(
            "04",
            "b",
            JobState::Failed,
            Some(at("2026-03-02T12:00:00Z")),
            (7, 1),
            Some((50.0, Some(1.0), None)),
        ))
        .unwrap();
    store
        .record(&job("05", "b", JobState::Cancelled, Some(at("2026-03-02T13:00:00Z")), (0, 0), None))
        .unwrap();
    // Day 2, model a: two completed (even median), one without timings.
    store.record(&completed("06", "a", "2026-03-02T01:00:00Z", 100.0, 40.0)).unwrap();
    store.record(&completed("07", "a", "2026-03-02T02:00:00Z", 400.0, 50.0)).unwrap();
    store
        .record(&job(
            "08",
            "a",
            JobState::Completed,
            Some(at("2026-03-02T03:00:00Z")),
            (1, 1),
            Some((10.0, None, None)),
        ))
        .unwrap();
    // Day 1, model b: a nanosecond before midnight UTC.
    store.record(&completed("09", "b", "2026-03-01T23:59:59.999999999Z", 50.0, 5.0)).unwrap();
    // Not finished: not counted.
    store.record(&job("10", "b", JobState::Failed, None, (99, 99), None)).unwrap();

    let rows = store.stats_by_model_day(None).unwrap();
    let keys: Vec<(&str, &str)> = rows.iter().map(|r| (r.day.as_str(), r.model.as_str())).collect();
    assert_eq!(keys, [("2026-03-02", "a"), ("2026-03-02", "b"), ("2026-03-01", "b")]);

    assert_eq!(
        rows[0],
        StatRow {
            model: "a".into(),
            day: "2026-03-02".into(),
            jobs: 3,
            failed: 0,
            cancelled: 0,
            prompt_tokens: 21,
            completion_tokens: 41,
            median_ttft_ms: Some(250.0),
            median_tokens_per_s: Some(45.0),
        }
    );
    assert_eq!(
        rows[1],
        StatRow {
            model: "b".into(),
            day: "2026-03-02".into(),
            jobs: 5,
            failed: 1,
            cancelled: 1,
            prompt_tokens: 37,
            completion_tokens: 61,
            // The failed job's ttft of 1 ms is left out.
            median_ttft_ms: Some(200.0),
            median_tokens_per_s: Some(20.0),
        }
    );
    assert_eq!(
        (rows[2].jobs, rows[2].median_ttft_ms, rows[2].median_tokens_per_s),
        (1, Some(50.0), Some(5.0))
    );
}

#[test]
fn stats_without_any_timing_have_no_medians() {
    let (_dir, store) = open();
    store.record(&job("01", "m", JobState::Failed, Some(at("2026-03-02T12:00:00Z")), (3, 4), None)).unwrap();
    let rows = store.stats_by_model_day(None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].jobs, rows[0].failed, rows[0].prompt_tokens), (1, 1, 0));
    assert_eq!((rows[0].median_ttft_ms, rows[0].median_tokens_per_s), (None, None));
    assert!(open().1.stats_by_model_day(None).unwrap().is_empty());
}

#[test]
fn stats_since_is_inclusive_and_exact_within_a_second() {
    let (_dir, store) = open();
    // jiff writes the shortest form: "…:00Z", "…:00.5Z", "…:00.25Z", "…:01Z".
    let base = at("2026-03-02T12:00:00Z");
    let ms = |n: i64| base + SignedDuration::from_millis(n);
    for (id, t) in [("a", ms(-1000)), ("b", ms(0)), ("c", ms(250)), ("d", ms(500)), ("e", ms(1000))] {
        store.record(&completed(id, id, &t.to_string(), 1.0, 1.0)).unwrap();
    }
    let models = |since: Timestamp| -> Vec<String> {
        let mut m: Vec<String> =
            store.stats_by_model_day(Some(since)).unwrap().into_iter().map(|r| r.model).collect();
        m.sort();
        m
    };
    assert_eq!(models(ms(-5000)), ["a", "b", "c", "d", "e"]);
    assert_eq!(models(ms(0)), ["b", "c", "d", "e"]);
    assert_eq!(models(ms(1)), ["c", "d", "e"]);
    assert_eq!(models(ms(250)), ["c", "d", "e"]);
    assert_eq!(models(ms(250) + SignedDuration::from_nanos(1)), ["d", "e"]);
    assert_eq!(models(ms(700)), ["e"]);
    assert_eq!(models(ms(1000)), ["e"]);
    assert!(models(ms(1001)).is_empty());
    // Across days: the filter is on the time, the grouping on the day.
    assert_eq!(models(at("2026-03-01T00:00:00Z")).len(), 5);
}

#[test]
fn metrics_totals_and_histograms_on_known_values() {
    let (_dir, store) = open();
    let done = |id: &str, duration_ms: f64, ttft_ms: Option<f64>| {
        let finished = Some(at("2026-03-02T12:00:00Z"));
        let timing = Some((duration_ms, ttft_ms, None));
        store.record(&job(id, "m", JobState::Completed, finished, (10, 100), timing)).unwrap();
    };
    // Durations 0.05 s, 0.1 s (on a bound), 0.7 s, 2.5 s, 30 s (beyond all).
    done("1", 50.0, Some(10.0));
    done("2", 100.0, Some(100.0));
    done("3", 700.0, Some(250.0));
    done("4", 2500.0, None);
    done("5", 30_000.0, Some(2000.0));
    // Failed and cancelled jobs count and cost tokens, but are not timed.
    store
        .record(&job(
            "6",
            "m",
            JobState::Failed,
            Some(at("2026-03-02T12:00:00Z")),
            (5, 1),
            Some((1.0, Some(1.0), None)),
        ))
        .unwrap();
    store.record(&job("7", "m", JobState::Failed, None, (0, 0), None)).unwrap();

    let snap = store.metrics(&[0.1, 1.0, 10.0], &[0.05, 0.5]).unwrap();
    let states: Vec<(&str, u64)> = snap.jobs_by_state.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(states, [("cancelled", 0), ("completed", 5), ("failed", 2)]);
    assert_eq!(snap.prompt_tokens, 55);
    assert_eq!(snap.completion_tokens, 501);
    assert_eq!(
        snap.duration_seconds,
        Histogram { bounds: vec![0.1, 1.0, 10.0], buckets: vec![2, 3, 4], count: 5, sum: 33.35 }
    );
    assert_eq!(snap.ttft_seconds.bounds, [0.05, 0.5]);
    assert_eq!(snap.ttft_seconds.buckets, [1, 3]);
    assert_eq!(snap.ttft_seconds.count, 4);
    assert!((snap.ttft_seconds.sum - 2.36).abs() < 1e-9, "{}", snap.ttft_seconds.sum);
}

#[test]
fn metrics_of_an_empty_database_are_zero() {
    let (_dir, store) = open();
    let snap = store.metrics(&[0.5, 1.0], &[]).unwrap();
    assert_eq!(snap.jobs_by_state.values().sum::<u64>(), 0);
    assert_eq!(snap.jobs_by_state.len(), 3);
    assert_eq!((snap.prompt_tokens, snap.completion_tokens), (0, 0));
    assert_eq!(
        snap.duration_seconds,
        Histogram { bounds: vec![0.5, 1.0], buckets: vec![0, 0], count: 0, sum: 0.0 }
    );
    assert_eq!(snap.ttft_seconds, Histogram::default());
}

#[test]
fn metrics_queries_read_only_the_covering_index() {
    let (_dir, store) = open();
    for (sql, bounds) in [(BY_STATE_SQL.to_owned(), 0), (histogram_sql(3, 2), 5)] {
        let plan: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = stmt.query_map(params_from_iter(vec![1.0; bounds]), |r| r.get(3))?;
                rows.collect()
            })
            .unwrap();
        assert!(plan.iter().any(|p: &String| p.contains("COVERING INDEX jobs_metrics")), "{sql}\n{plan:?}");
    }
}
