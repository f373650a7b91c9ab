//! `ctl jobs`: list jobs, newest first.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};

use super::Context;
use crate::api::{JobState, JobView};

/// List jobs, newest first.
///
/// Examples:
///   ctl jobs
///   ctl jobs --state failed --limit 5
///   ctl jobs --json | jq -r '.[].id'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct JobsArgs {
    /// Only jobs in this state.
    #[arg(short, long, value_enum)]
    pub state: Option<JobState>,
    /// At most this many jobs.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub limit: usize,
}

impl JobsArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let jobs = ctx.target()?.jobs(self.state, self.limit).await?;
        if ctx.json() {
            super::print_json(&jobs)?;
        } else if jobs.is_empty() {
            eprintln!("no jobs");
        } else {
            println!("{}", table(&jobs));
        }
        Ok(0)
    }
}

fn table(jobs: &[JobView]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["ID", "STATE", "MODEL", "CREATED", "TOKENS", "PROMPT"]);
    for j in jobs {
        let tokens = j.usage.as_ref().map_or_else(String::new, |u| {
            format!("{}+{}{}", u.prompt_tokens, u.completion_tokens, if u.estimated { "~" } else { "" })
        });
        let created = j.created_at.strftime("%Y-%m-%d %H:%M:%S").to_string();
        t.add_row([
            j.id.clone(),
            j.state.to_string(),
            j.model.clone(),
            created,
            tokens,
            preview(&j.prompt, 40),
        ]);
    }
    t
}

/// The first line of `s`, cut to `max` characters.
pub fn preview(s: &str, max: usize) -> String {
    let line = s.trim().lines().next().unwrap_or("");
    if line.chars().count() > max {
        let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        line.to_owned()
    }
}
