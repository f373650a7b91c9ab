//! Tool calls: one row per call (migration 0004), counted by tool and
//! outcome for `/metrics` and `ctl stats`.

use jiff::Timestamp;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::sessions::ts_text;
use super::{Store, StoreError};

/// One tool call, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRow {
    pub ts: Timestamp,
    pub tool: String,
    /// SHA-256 of the arguments (canonical JSON), lowercase hex.
    pub args_sha256: String,
    pub duration_ms: f64,
    /// `ok`, or why not: `invalid`, `refused`, `timeout`, `error`, `unknown`, `disabled`, `cancelled`.
    pub outcome: String,
    /// Bytes of text returned.
    pub bytes: u64,
    /// Who called: `mcp`, `cli` or `job`.
    pub source: String,
    pub job_id: Option<String>,
}

/// Calls of one tool that ended one way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolCallCount {
    pub tool: String,
    pub outcome: String,
    pub calls: u64,
    /// Total time of those calls, in milliseconds.
    pub duration_ms: f64,
}

impl Store {
    /// Records one tool call.
    pub fn record_tool_call(&self, row: &ToolCallRow) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tool_calls (ts, tool, args_sha256, duration_ms, outcome, bytes, source, job_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    ts_text(row.ts),
                    row.tool,
                    row.args_sha256,
                    row.duration_ms,
                    row.outcome,
                    row.bytes as i64,
                    row.source,
                    row.job_id,
                ],
            )
            .map(drop)
        })
    }

    /// Calls by tool and outcome (made at or after `since`, when given), by
    /// tool name then outcome.
    pub fn tool_call_counts(&self, since: Option<Timestamp>) -> Result<Vec<ToolCallCount>, StoreError> {
        let since = since.map(ts_text);
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT tool, outcome, COUNT(*), TOTAL(duration_ms) FROM tool_calls
                 WHERE ?1 IS NULL OR ts >= ?1 GROUP BY tool, outcome ORDER BY tool, outcome",
            )?;
            let rows = stmt.query_map([since], |r| {
                Ok(ToolCallCount {
                    tool: r.get(0)?,
                    outcome: r.get(1)?,
                    calls: r.get::<_, i64>(2)? as u64,
                    duration_ms: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The calls a job made, oldest first.
    pub fn tool_calls_of_job(&self, job_id: &str) -> Result<Vec<ToolCallRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT ts, tool, args_sha256, duration_ms, outcome, bytes, source, job_id
                 FROM tool_calls WHERE job_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([job_id], |r| {
                Ok(ToolCallRow {
                    ts: super::sessions::ts_col(r, 0)?,
                    tool: r.get(1)?,
                    args_sha256: r.get(2)?,
                    duration_ms: r.get(3)?,
                    outcome: r.get(4)?,
                    bytes: r.get::<_, i64>(5)? as u64,
                    source: r.get(6)?,
                    job_id: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tool: &str, outcome: &str, ms: f64, job: Option<&str>) -> ToolCallRow {
        ToolCallRow {
            ts: Timestamp::now(),
            tool: tool.into(),
            args_sha256: "0".repeat(64),
            duration_ms: ms,
            outcome: outcome.into(),
            bytes: 10,
            source: if job.is_some() { "job" } else { "mcp" }.into(),
            job_id: job.map(str::to_owned),
        }
    }

    #[test]
    fn calls_are_counted_by_tool_and_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ctl.db")).unwrap();
        let before = Timestamp::now();
        store.record_tool_call(&row("fetch", "ok", 10.0, None)).unwrap();
        store.record_tool_call(&row("fetch", "ok", 5.0, Some("J1"))).unwrap();
        store.record_tool_call(&row("fetch", "refused", 1.0, None)).unwrap();
        store.record_tool_call(&row("run_code", "timeout", 100.0, Some("J1"))).unwrap();
        let counts = store.tool_call_counts(None).unwrap();
        let flat: Vec<_> = counts.iter().map(|c| (c.tool.as_str(), c.outcome.as_str(), c.calls)).collect();
        assert_eq!(flat, [("fetch", "ok", 2), ("fetch", "refused", 1), ("run_code", "timeout", 1)]);
        assert!((counts[0].duration_ms - 15.0).abs() < 1e-9);
        assert_eq!(store.tool_call_counts(Some(before)).unwrap().len(), 3);
        let future = Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
        assert!(store.tool_call_counts(Some(future)).unwrap().is_empty());
        let job = store.tool_calls_of_job("J1").unwrap();
        assert_eq!(job.iter().map(|r| r.tool.as_str()).collect::<Vec<_>>(), ["fetch", "run_code"]);
        assert_eq!(job[0].source, "job");
    }
}
