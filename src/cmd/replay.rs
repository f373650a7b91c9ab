//! `ctl replay`: run a job again, optionally with another model or parameters.

use super::Context;
use crate::api::ReplaySpec;

/// Submit a sibling of a job: the same messages and the same skill snapshots
/// (the exact skill text the original used, not the current files), with
/// `parent_id` set. Prints the new job's id.
///
/// Examples:
///   ctl replay 01JD4
///   ctl replay 01JD4 --model openai:gpt-4.1-mini --param temperature=0
///   ctl diff 01JD4 $(ctl replay 01JD4 --model local:tiny --follow)
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ReplayArgs {
    /// Job id or unique prefix.
    pub job: String,
    /// Model for the replay, as provider:model (default: the original's).
    #[arg(short, long)]
    pub model: Option<String>,
    /// Parameter override, repeatable: KEY=VALUE (JSON when it parses).
    #[arg(short, long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Give the model the results the original's read-only tool calls
    /// (search, fetch, vault, retrieval) got, instead of calling again.
    #[arg(long)]
    pub reuse_tool_results: bool,
    /// Search the vault again instead of reusing the sources the original
    /// retrieved (a replay reuses them by default).
    #[arg(long)]
    pub fresh_retrieval: bool,
    /// Stream the replay's output after submitting it.
    #[arg(short, long)]
    pub follow: bool,
}

impl ReplayArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let params = super::submit::parse_params(&self.params)?;
        let target = ctx.target()?;
        let original = target.job(&self.job).await?;
        let spec = ReplaySpec {
            model: self.model,
            params,
            reuse_tool_results: self.reuse_tool_results,
            fresh_retrieval: self.fresh_retrieval,
        };
        let id = target.replay(&original.id, spec).await?;
        if self.follow {
            eprintln!("job {id} (replay of {})", original.id);
            return super::tail::follow_job(&target, &id, ctx.json()).await;
        }
        if ctx.json() {
            super::print_json(&serde_json::json!({ "id": id, "parent_id": original.id }))?;
        } else {
            println!("{id}");
        }
        Ok(0)
    }
}
