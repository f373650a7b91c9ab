//! `[mcp]`: the streamable HTTP endpoint's guards.

use serde::{Deserialize, Serialize};

/// `[mcp]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    /// `Host` values `/mcp` answers (names, or `name:port`); anything else
    /// gets 403 (against DNS rebinding). Add your public name when the
    /// server sits behind a tunnel or proxy.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed besides the server's own
    /// (`https://app.example.com`); any other `Origin` gets 403.
    pub allowed_origins: Vec<String>,
    /// Open MCP sessions at most; a new one past the cap gets 503.
    pub max_sessions: usize,
    /// Requests to `/mcp` per minute per API token; past it, 429.
    pub requests_per_minute: u32,
    /// External MCP servers whose tools jobs may call, as `NAME.tool`
    /// (`[mcp.servers.NAME]`).
    pub servers: std::collections::BTreeMap<String, super::ServerConfig>,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into(), "[::1]".into()],
            allowed_origins: Vec::new(),
            max_sessions: 32,
            requests_per_minute: 600,
            servers: std::collections::BTreeMap::new(),
        }
    }
}
