//! `ctl mcp`: the MCP tool server, over stdio or streamable HTTP.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::sync::watch;

use super::Context;
use crate::web::{self, AppState};

/// Serve ctl's tools and skills to an MCP host (Claude Desktop, Claude
/// Code, Cursor, ...).
///
/// By default MCP runs over stdin/stdout (logs go to stderr only): point the
/// host at the command `ctl mcp`. With --http, it serves streamable HTTP at
/// http://ADDR/mcp instead, behind the API's bearer tokens (`ctl serve` and
/// `ctl up` serve the same endpoint beside the API).
///
/// Examples:
///   ctl mcp
///   claude mcp add ctl -- ctl mcp
///   ctl mcp --http 127.0.0.1:8765
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct McpArgs {
    /// Serve streamable HTTP on this address instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
}

impl McpArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let local = ctx.local()?;
        let Some(addr) = self.http else {
            let server = crate::mcp::server_for(&local)?;
            Box::pin(crate::mcp::serve_stdio(server)).await?;
            return Ok(0);
        };
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let state = AppState::new(local, stop_rx);
        eprintln!("ctl mcp listening on http://{}/mcp", listener.local_addr()?);
        web::serve_router(listener, web::mcp_router(state), async move {
            super::worker::shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await?;
        Ok(0)
    }
}
