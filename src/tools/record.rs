//! Recording tool calls: what [`super::Toolbox::call`] hands a
//! [`Recorder`], and the recorder that writes them to `ctl.db`.

use std::sync::Arc;

use crate::backend::Records;
use crate::store::ToolCallRow;

/// One finished call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub ts: jiff::Timestamp,
    pub tool: String,
    /// SHA-256 of the arguments as canonical JSON, lowercase hex.
    pub args_sha256: String,
    pub duration_ms: f64,
    /// `ok` or [`super::ToolError::outcome`].
    pub outcome: &'static str,
    /// Bytes of text returned.
    pub bytes: u64,
}

/// Where finished calls go. Called on the blocking pool.
pub trait Recorder: Send + Sync + 'static {
    fn record(&self, call: &CallRecord);
}

/// Records calls in the store's `tool_calls` table, with who made them.
#[derive(Debug, Clone)]
pub struct StoreRecorder {
    pub store: Arc<dyn Records>,
    /// `mcp`, `cli` or `job`.
    pub source: &'static str,
    pub job_id: Option<String>,
}

impl Recorder for StoreRecorder {
    fn record(&self, call: &CallRecord) {
        let row = ToolCallRow {
            ts: call.ts,
            tool: call.tool.clone(),
            args_sha256: call.args_sha256.clone(),
            duration_ms: call.duration_ms,
            outcome: call.outcome.to_owned(),
            bytes: call.bytes,
            source: self.source.to_owned(),
            job_id: self.job_id.clone(),
        };
        if let Err(e) = self.store.record_tool_call(&row) {
            tracing::warn!(tool = %call.tool, "cannot record a tool call: {e}");
        }
    }
}

/// SHA-256 of `args` serialized with sorted keys (serde_json's maps are
/// ordered), lowercase hex.
pub fn args_hash(args: &serde_json::Value) -> String {
    crate::store::hash_secret(&serde_json::to_string(args).unwrap_or_default())
}
