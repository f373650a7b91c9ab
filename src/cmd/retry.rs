//! `ctl retry`: run a failed or cancelled job again.

use super::Context;

/// Put a failed or cancelled job back in the queue, with fresh attempts.
///
/// Example:
///   ctl retry 01JD4 && ctl tail 01JD4
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct RetryArgs {
    /// Job id or unique prefix.
    pub job: String,
}

impl RetryArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let id = ctx.target()?.retry(&self.job).await?.id;
        if ctx.json() {
            super::print_json(&serde_json::json!({ "id": id, "state": "queued" }))?;
        } else {
            println!("{id} queued");
        }
        Ok(0)
    }
}
