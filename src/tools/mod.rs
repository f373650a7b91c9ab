//! Tools that models and MCP clients can call: one implementation, served
//! two ways (to MCP hosts by `ctl mcp`, and to jobs by the worker's tool
//! loop). This room knows no jobs and no HTTP server.
//!
//! A tool is a name, a description, a JSON Schema for its input, what it
//! touches ([`ToolTraits`]) and an async handler. Handlers are cancel-safe:
//! dropping the future stops the work (child processes are killed, requests
//! dropped).

use serde::{Deserialize, Serialize};

/// What a tool touches, for the guards of the tool loop (the egress guard
/// and the reuse of read-only results after a crash).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolTraits {
    /// Calling it twice changes nothing outside ctl (search, fetch, vault
    /// reads, retrieval): a recorded result may be reused.
    pub read_only: bool,
    /// It reads the user's private data (vault, retrieval, skill files).
    pub private: bool,
    /// Its output comes from outside and may carry instructions (fetched
    /// pages, search results, external servers).
    pub untrusted: bool,
    /// It can send data out of the machine (fetch, web search, external servers).
    pub egress: bool,
}

/// A tool as listed to models and MCP clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    #[schema(value_type = Object)]
    pub input_schema: serde_json::Value,
    pub traits: ToolTraits,
}

/// What a call returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// The text a model or MCP client reads.
    pub text: String,
    /// The same result as JSON, where a tool has a useful shape for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<serde_json::Value>,
}

/// Why a call did not return a result. The message is fit for the model
/// (and the user): one line, no secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    #[error("no tool named {0:?}")]
    Unknown(String),
    #[error("tool {0} is turned off in the config")]
    Disabled(String),
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    /// A guard refused the call (SSRF, path escape, sandbox missing, ...).
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("{0}")]
    Failed(String),
}
