//! `ctl cancel`: stop a queued or running job.

use std::time::{Duration, Instant};

use super::Context;

/// Cancel a job. A queued job is cancelled at once; a running one is stopped
/// by its worker within a second (this waits up to --wait seconds for that).
///
/// Example:
///   ctl cancel 01JD4
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CancelArgs {
    /// Job id or unique prefix.
    pub job: String,
    /// Seconds to wait for a running job to stop (0: don't wait).
    #[arg(long, default_value_t = 5.0)]
    pub wait: f64,
}

impl CancelArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let target = ctx.target()?;
        let reply = target.cancel(&self.job).await?;
        let mut state = reply.state;
        if state == "cancelling" && self.wait > 0.0 {
            let deadline = Instant::now() + Duration::from_secs_f64(self.wait);
            while Instant::now() < deadline {
                let view = target.job(&reply.id).await?;
                if view.state.is_finished() {
                    state = view.state.to_string();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if ctx.json() {
            super::print_json(&serde_json::json!({ "id": reply.id, "state": state }))?;
        } else {
            println!("{} {state}", reply.id);
        }
        Ok(0)
    }
}
