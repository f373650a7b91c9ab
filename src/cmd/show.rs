//! `ctl show`: everything about one job.

use std::fmt::Write as _;

use super::Context;
use crate::api::JobView;

/// Show one job: state, model, timings, usage and output.
///
/// Examples:
///   ctl show 01JD4
///   ctl show 01JD4 --json | jq .usage
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ShowArgs {
    /// Job id or unique prefix.
    pub job: String,
}

impl ShowArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let view = ctx.target()?.job(&self.job).await?;
        if ctx.json() {
            super::print_json(&view)?;
        } else {
            print!("{}", render(&view));
        }
        Ok(0)
    }
}

/// The human form: aligned fields, then the output.
pub fn render(v: &JobView) -> String {
    let mut s = String::new();
    let mut field = |k: &str, val: String| {
        let _ = writeln!(s, "{k:<10} {val}");
    };
    field("id", v.id.clone());
    field("state", v.state.to_string());
    field("model", v.model.clone());
    field("created", v.created_at.to_string());
    if let Some(t) = v.started_at {
        field("started", t.to_string());
    }
    if let Some(t) = v.finished_at {
        field("finished", t.to_string());
    }
    field("attempts", format!("{} of {}", v.attempts, v.max_attempts));
    if let Some(w) = &v.worker {
        field("worker", w.clone());
    }
    if !v.params.is_empty() {
        field("params", serde_json::to_string(&v.params).unwrap_or_default());
    }
    if let Some(u) = &v.usage {
        let est = if u.estimated { " (estimated: the server sent no counts)" } else { "" };
        field("tokens", format!("{} prompt + {} completion{est}", u.prompt_tokens, u.completion_tokens));
        let mut timing = format!("{:.0} ms total", u.duration_ms);
        if let Some(t) = u.ttft_ms {
            let _ = write!(timing, ", first token after {t:.0} ms");
        }
        if let Some(r) = u.tokens_per_s {
            let _ = write!(timing, ", {r:.1} tokens/s");
        }
        field("timing", timing);
    }
    if !v.tools.is_empty() {
        field("tools", v.tools.join(", "));
    }
    if !v.tool_stats.is_empty() {
        let t = &v.tool_stats;
        let failed = if t.errors > 0 { format!(" ({} failed)", t.errors) } else { String::new() };
        field("tool calls", format!("{}{failed}, {:.0} ms in tools", t.calls, t.duration_ms));
    }
    if let Some(e) = &v.error {
        field("error", e.clone());
    }
    field("prompt", super::jobs::preview(&v.prompt, 70));
    if !v.output.is_empty() {
        s.push('\n');
        s.push_str(&v.output);
        if !v.output.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}
