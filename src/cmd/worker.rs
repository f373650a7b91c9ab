//! `ctl worker`: run jobs from the queue until stopped.

use super::Context;
use crate::worker::Worker;

/// Claim and run jobs until SIGTERM or Ctrl-C.
///
/// Any number of workers can share one data directory. On start (and every
/// few seconds) a worker requeues the jobs of workers that died. On SIGTERM
/// it stops claiming, lets running jobs finish for `worker.grace_secs`, then
/// puts the rest back in the queue.
///
/// Examples:
///   ctl worker
///   ctl worker --concurrency 4 -v
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct WorkerArgs {
    /// Jobs to run at once (default: worker.concurrency from the config, 2).
    #[arg(short, long)]
    pub concurrency: Option<usize>,
}

impl WorkerArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let local = ctx.local()?;
        let worker = Worker::new(local, self.concurrency)?;
        eprintln!("worker {} running; Ctrl-C to stop", worker.id());
        worker.run(shutdown_signal()).await?;
        Ok(0)
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot install signal handlers; stop the worker with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}
