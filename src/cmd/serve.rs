//! `ctl serve`: the HTTP API.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::sync::watch;

use super::Context;
use crate::web::{self, AppState};

/// Serve the JSON + SSE API (and health and metrics) until SIGTERM.
///
/// Every route but /healthz and /readyz needs an API token
/// (`ctl token create --name laptop`) or a browser login.
///
/// Examples:
///   ctl serve
///   ctl serve --listen 0.0.0.0:8000      # behind a TLS tunnel or proxy
///   ctl serve --openapi > openapi.json   # the API's OpenAPI 3 document
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    /// Print the API's OpenAPI 3 document (JSON) and exit, e.g. to generate a client.
    #[arg(long)]
    pub openapi: bool,
}

impl ServeArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        if self.openapi {
            println!("{}", web::openapi().to_pretty_json()?);
            return Ok(0);
        }
        let local = ctx.local()?;
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let addr = listener.local_addr()?;
        let state = AppState::new(local.clone(), stop_rx.clone());
        // The server is the deployment's one alert sender.
        tokio::spawn(crate::alerts::run(local, format!("http://{addr}"), state.health(), stop_rx));
        eprintln!("ctl serve listening on http://{addr}");
        web::serve(listener, state, async move {
            super::worker::shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await?;
        Ok(0)
    }
}
