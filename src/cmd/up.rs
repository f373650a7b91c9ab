//! `ctl up`: the API and a worker in one process, on the embedded defaults.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;

use anyhow::Context as _;
use tokio::sync::watch;

use super::Context;
use crate::jobs::Local;
use crate::web::{self, AppState};
use crate::worker::Worker;

/// Run the API and a worker in one process: the quick start.
///
/// Prints a link that logs a browser in. The token behind it is created on
/// the first run and kept in the data directory (file `up.token`, mode 600).
///
/// Example:
///   ctl up
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct UpArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Jobs the embedded worker runs at once (default: worker.concurrency).
    #[arg(short, long)]
    pub concurrency: Option<usize>,
}

impl UpArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let local = ctx.local()?;
        let token = {
            let local = local.clone();
            super::blocking(move || login_token(&local)).await?
        };
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        let addr = listener.local_addr()?;
        let worker = Worker::new(local.clone(), self.concurrency)?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let state = AppState::new(local.clone(), stop_rx.clone());
        tokio::spawn(crate::alerts::run(local, format!("http://{addr}"), state.health(), stop_rx.clone()));
        println!("ctl is up: open http://{addr}/login?token={token}");
        // No model server? Say so now, not at the first chat (without
        // holding up the server meanwhile).
        let config = state.local().config.clone();
        let config_path = ctx.global.config.clone();
        tokio::spawn(async move {
            let timeout = std::time::Duration::from_secs(3);
            if let Some(hint) = crate::firstrun::check(&config, config_path.as_deref(), timeout).await {
                println!("\n{hint}");
            }
        });
        let mut worker_stop = stop_rx;
        let worker_task = tokio::spawn(worker.run(async move {
            let _ = worker_stop.wait_for(|s| *s).await;
        }));
        web::serve(listener, state, async move {
            super::worker::shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await?;
        worker_task.await??;
        Ok(0)
    }
}

/// The token `ctl up` logs browsers in with: kept in `up.token`, made anew
/// when the file is missing or its token was revoked.
fn login_token(local: &Local) -> anyhow::Result<String> {
    let path = local.home.root().join("up.token");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if local.store.verify_token(&existing)?.is_some() {
            return Ok(existing);
        }
    }
    let (_, secret) = local.store.create_token("ctl up")?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{secret}\n")).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, &path)?;
    Ok(secret)
}
