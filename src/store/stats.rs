//! Usage statistics and Prometheus aggregates over the jobs table.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::params_from_iter;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::api::JobState;

/// Finished jobs of one model on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatRow {
    pub model: String,
    /// YYYY-MM-DD of finished_at, UTC.
    pub day: String,
    /// Finished jobs, whatever their end.
    pub jobs: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Over all finished jobs: a failed attempt may have used tokens too.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Over completed jobs that measured it.
    pub median_ttft_ms: Option<f64>,
    /// Over completed jobs that measured it.
    pub median_tokens_per_s: Option<f64>,
}

/// A Prometheus histogram: `buckets[i]` counts observations `<= bounds[i]`
/// (cumulative); `count` is the `+Inf` bucket.
/// One finished job's usage, for grouping.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    pub model: String,
    /// UTC day it finished, `YYYY-MM-DD`.
    pub day: String,
    pub state: String,
    /// Names of the skills it used.
    pub skills: Vec<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub ttft_ms: Option<f64>,
    pub tokens_per_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub bounds: Vec<f64>,
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum: f64,
}

/// What `/metrics` reports from the database.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsSnapshot {
    /// Recorded jobs per state. The finished states are always present, with
    /// 0 when no job ended so, so their series never vanish.
    pub jobs_by_state: BTreeMap<String, u64>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Seconds, of completed jobs.
    pub duration_seconds: Histogram,
    /// Seconds, of completed jobs.
    pub ttft_seconds: Histogram,
}

/// `finished_at` with its fraction padded to nine digits. The jobs table holds
/// jiff's shortest form ("…:05Z", "…:05.5Z"), whose string order is not time
/// order within one second.
const FINISHED_AT_PADDED: &str = "substr(finished_at, 1, 19) || '.'
    || substr(rtrim(substr(finished_at, 21), 'Z') || '000000000', 1, 9) || 'Z'";

impl Store {
    /// One row per finished job (at or after `since` when given): what
    /// [`crate::stats::group`] aggregates by model, day or skill.
    pub fn usage_rows(&self, since: Option<Timestamp>) -> Result<Vec<UsageRow>, StoreError> {
        let (second, exact) = match since {
            Some(t) => {
                let second = format!("{t:.0}");
                (second.trim_end_matches('Z').to_owned(), format!("{t:.9}"))
            }
            None => (String::new(), String::new()),
        };
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT model, substr(finished_at, 1, 10), state, skills, COALESCE(prompt_tokens, 0),
                    COALESCE(completion_tokens, 0), ttft_ms, tokens_per_s
                 FROM jobs WHERE finished_at >= ?1 AND {FINISHED_AT_PADDED} >= ?2 ORDER BY id"
            ))?;
            stmt.query_map([&second, &exact], |r| {
                let skills: String = r.get(3)?;
                let skills: Vec<crate::api::SkillRef> = serde_json::from_str(&skills).unwrap_or_default();
                Ok(UsageRow {
                    model: r.get(0)?,
                    day: r.get(1)?,
                    state: r.get(2)?,
                    skills: skills.into_iter().map(|s| s.name).collect(),
                    prompt_tokens: r.get::<_, i64>(4)? as u64,
                    completion_tokens: r.get::<_, i64>(5)? as u64,
                    ttft_ms: r.get(6)?,
                    tokens_per_s: r.get(7)?,
                })
            })?
            .collect()
        })
    }

    /// Finished jobs grouped by model and day, newest day first (models in
    /// name order within a day); only jobs finished at or after `since` when
    /// given. [`crate::stats::by_model_day`] over [`Store::usage_rows`].
    pub fn stats_by_model_day(&self, since: Option<Timestamp>) -> Result<Vec<StatRow>, StoreError> {
        Ok(crate::stats::by_model_day(&self.usage_rows(since)?))
    }

    /// Totals over all recorded jobs, and histograms of duration_ms/1000 and
    /// ttft_ms/1000 of completed jobs with the given bounds (seconds,
    /// ascending). Two aggregate queries on a covering index: cheap enough to
    /// run on every scrape.
    pub fn metrics(
        &self,
        duration_bounds: &[f64],
        ttft_bounds: &[f64],
    ) -> Result<MetricsSnapshot, StoreError> {
        let histograms = histogram_sql(duration_bounds.len(), ttft_bounds.len());
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let mut snap = MetricsSnapshot::default();
            for state in [JobState::Completed, JobState::Failed, JobState::Cancelled] {
                snap.jobs_by_state.insert(state.as_str().to_owned(), 0);
            }
            let mut stmt = tx.prepare(BY_STATE_SQL)?;
            let mut q = stmt.query([])?;
            while let Some(r) = q.next()? {
                snap.jobs_by_state.insert(r.get(0)?, r.get::<_, i64>(1)? as u64);
                snap.prompt_tokens += r.get::<_, i64>(2)? as u64;
                snap.completion_tokens += r.get::<_, i64>(3)? as u64;
            }
            let bounds = duration_bounds.iter().chain(ttft_bounds);
            tx.query_row(&histograms, params_from_iter(bounds), |r| {
                let n = duration_bounds.len();
                let counts = |first: usize, len: usize| -> rusqlite::Result<Vec<u64>> {
                    (first..first + len).map(|i| Ok(r.get::<_, i64>(i)? as u64)).collect()
                };
                snap.duration_seconds = Histogram {
                    bounds: duration_bounds.to_vec(),
                    buckets: counts(4, n)?,
                    count: r.get::<_, i64>(0)? as u64,
                    sum: r.get::<_, f64>(1)? / 1000.0,
                };
                snap.ttft_seconds = Histogram {
                    bounds: ttft_bounds.to_vec(),
                    buckets: counts(4 + n, ttft_bounds.len())?,
                    count: r.get::<_, i64>(2)? as u64,
                    sum: r.get::<_, f64>(3)? / 1000.0,
                };
                Ok(())
            })?;
            Ok(snap)
        })
    }
}

/// Job counts and token totals per state, for [`Store::metrics`].
const BY_STATE_SQL: &str = "SELECT state, COUNT(*), COALESCE(SUM(prompt_tokens), 0),
    COALESCE(SUM(completion_tokens), 0) FROM jobs GROUP BY state";

/// The query for both histograms of [`Store::metrics`]: the counts and sums,
/// then one cumulative bucket per bound, the bounds being its parameters.
fn histogram_sql(duration_bounds: usize, ttft_bounds: usize) -> String {
    let bucket = |column: &'static str, first: usize, n: usize| {
        (first..first + n).map(move |i| format!("COALESCE(SUM({column} / 1000.0 <= ?{}), 0)", i + 1))
    };
    let columns = ["COUNT(duration_ms)", "TOTAL(duration_ms)", "COUNT(ttft_ms)", "TOTAL(ttft_ms)"]
        .map(str::to_owned)
        .into_iter()
        .chain(bucket("duration_ms", 0, duration_bounds))
        .chain(bucket("ttft_ms", duration_bounds, ttft_bounds))
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT {columns} FROM jobs WHERE state = 'completed'")
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
