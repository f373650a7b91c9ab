//! The MCP server: ctl's tools ([`crate::tools::Toolbox`]) and skills
//! served to MCP hosts (Claude Desktop, Claude Code, Cursor, ...) over
//! rmcp, on stdio (`ctl mcp`) and as streamable HTTP (mounted at `/mcp`
//! by `ctl serve` and `ctl up`, behind the API's auth; see
//! [`crate::web`]).
//!
//! Every protocol version rmcp speaks is offered: 2024-11-05, 2025-03-26,
//! 2025-06-18, 2025-11-25 and 2026-07-28. Skills are served through the
//! Skills extension (`io.modelcontextprotocol/skills`): `skills/list`,
//! `skills/get` and `resources/read` of `skill://NAME/PATH`.

pub mod client;
mod config;
mod server;

use std::sync::Arc;

pub use client::{ServerConfig, ServerStatus, Servers};
pub use config::McpConfig;
pub use server::CtlMcp;

use crate::tools::StoreRecorder;

/// The MCP protocol versions ctl speaks, oldest first.
pub fn protocol_versions() -> Vec<String> {
    rmcp::model::ProtocolVersion::KNOWN_VERSIONS.iter().map(ToString::to_string).collect()
}

/// Serves MCP on stdin/stdout until the client hangs up. Logs go to
/// stderr only; stdout carries the protocol and nothing else.
pub async fn serve_stdio(server: CtlMcp) -> anyhow::Result<()> {
    use rmcp::ServiceExt as _;
    let running = Box::pin(server.serve(rmcp::transport::stdio())).await?;
    running.waiting().await?;
    Ok(())
}

/// A server on the tools of `local`'s config, recording calls in its store
/// with `source` (`mcp`).
pub fn server_for(local: &crate::jobs::Local) -> Result<CtlMcp, crate::tools::ToolError> {
    let toolbox = crate::rag::tool::toolbox(&local.config, local.home.root())?;
    let recorder = StoreRecorder { store: local.store.clone(), source: "mcp", job_id: None };
    Ok(CtlMcp::new(toolbox.with_recorder(Arc::new(recorder)), crate::skills::search_path(&local.config)))
}
