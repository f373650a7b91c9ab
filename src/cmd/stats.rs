//! `ctl stats`: usage over finished jobs.

use anyhow::bail;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{CellAlignment, Table};

use super::Context;
use crate::stats::{Group, GroupBy};

/// Usage over finished jobs: jobs, failures, tokens, median time to first
/// token and tokens/s, and cost when the config has a price table; or, by
/// tool, the tool calls jobs and MCP clients made.
///
/// Examples:
///   ctl stats
///   ctl stats --since 7d --by day
///   ctl stats --by skill --json
///   ctl stats --by tool
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct StatsArgs {
    /// Only jobs that finished within this long ago: 90m, 36h, 7d, 4w.
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<jiff::SignedDuration>,
    /// How to group.
    #[arg(long, value_enum, default_value = "model")]
    pub by: By,
}

/// What `ctl stats` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    Model,
    Day,
    Skill,
    /// Tool calls per tool (from jobs and MCP clients).
    Tool,
}

/// Calls of one tool.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ToolGroup {
    pub tool: String,
    pub calls: u64,
    /// Calls that failed, were refused or timed out.
    pub failed: u64,
    /// Time of all its calls, in milliseconds.
    pub duration_ms: f64,
}

impl StatsArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        if ctx.global.server.is_some() {
            bail!("ctl stats reads the local data directory; on a server use GET /api/v1/stats");
        }
        let local = ctx.local()?;
        let since = match self.since {
            Some(d) => Some(jiff::Timestamp::now().checked_sub(d)?),
            None => None,
        };
        let by = match self.by {
            By::Model => GroupBy::Model,
            By::Day => GroupBy::Day,
            By::Skill => GroupBy::Skill,
            By::Tool => return tool_stats(ctx, local, since).await,
        };
        let groups = super::blocking(move || {
            let rows = local.store.usage_rows(since)?;
            Ok(crate::stats::group(&rows, by, &local.config.prices))
        })
        .await?;
        if ctx.json() {
            super::print_json(&groups)?;
        } else if groups.is_empty() {
            eprintln!("no finished jobs{}", if since.is_some() { " in that time" } else { "" });
        } else {
            println!("{}", table(&groups, by));
        }
        Ok(0)
    }
}

async fn tool_stats(
    ctx: &Context,
    local: crate::jobs::Local,
    since: Option<jiff::Timestamp>,
) -> anyhow::Result<i32> {
    let counts = super::blocking(move || Ok(local.store.tool_call_counts(since)?)).await?;
    let mut groups: Vec<ToolGroup> = Vec::new();
    for c in counts {
        if groups.last().is_none_or(|g| g.tool != c.tool) {
            groups.push(ToolGroup { tool: c.tool.clone(), calls: 0, failed: 0, duration_ms: 0.0 });
        }
        if let Some(g) = groups.last_mut() {
            g.calls += c.calls;
            g.failed += if c.outcome == "ok" { 0 } else { c.calls };
            g.duration_ms += c.duration_ms;
        }
    }
    if ctx.json() {
        super::print_json(&groups)?;
    } else if groups.is_empty() {
        eprintln!("no tool calls{}", if since.is_some() { " in that time" } else { "" });
    } else {
        println!("{}", tool_table(&groups));
    }
    Ok(0)
}

fn tool_table(groups: &[ToolGroup]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_header(["TOOL", "CALLS", "FAILED", "TIME", "AVG"]);
    for g in groups {
        let avg = if g.calls == 0 { 0.0 } else { g.duration_ms / g.calls as f64 };
        t.add_row([
            g.tool.clone(),
            g.calls.to_string(),
            g.failed.to_string(),
            format!("{:.0} ms", g.duration_ms),
            format!("{avg:.0} ms"),
        ]);
    }
    for i in 1..5 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn table(groups: &[Group], by: GroupBy) -> Table {
    let mut t = Table::new();
    let key = match by {
        GroupBy::Model => "MODEL",
        GroupBy::Day => "DAY",
        GroupBy::Skill => "SKILL",
    };
    t.load_style(UTF8_BORDERS_ONLY).set_header([
        key,
        "JOBS",
        "FAILED",
        "PROMPT TOK",
        "COMPL TOK",
        "TTFT P50",
        "TOK/S P50",
        "COST",
    ]);
    for g in groups {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} ms"));
        let rate = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
        let cost = g.cost.map_or_else(|| "-".to_owned(), |c| format!("{c:.4}"));
        t.add_row([
            g.key.clone(),
            g.jobs.to_string(),
            (g.failed + g.cancelled).to_string(),
            g.prompt_tokens.to_string(),
            g.completion_tokens.to_string(),
            ms(g.median_ttft_ms),
            rate(g.median_tokens_per_s),
            cost,
        ]);
    }
    for i in 1..8 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// `90m`, `36h`, `7d`, `4w` (or anything jiff's friendly format takes).
fn parse_duration(s: &str) -> Result<jiff::SignedDuration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 90m, 36h, 7d or 4w"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{s:?} is not a duration like 90m, 36h, 7d or 4w")),
    };
    Ok(jiff::SignedDuration::from_secs(n.saturating_mul(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The human form, pinned: a change here is a change users see.
    #[test]
    fn table_snapshot() {
        let g = |key: &str, jobs, failed, p, c, ttft, rate, cost| Group {
            key: key.into(),
            jobs,
            failed,
            cancelled: 0,
            prompt_tokens: p,
            completion_tokens: c,
            median_ttft_ms: ttft,
            median_tokens_per_s: rate,
            cost,
        };
        let groups = vec![
            g("local:tiny", 12, 1, 340, 2048, Some(3.2), Some(812.5), None),
            g("openai:gpt-4.1-mini", 3, 0, 12_000, 900, Some(410.0), Some(61.0), Some(0.00624)),
        ];
        let expected = "\
┌──────────────────────────────────────────────────────────────────────────────────────────────┐
│ MODEL                 JOBS   FAILED   PROMPT TOK   COMPL TOK   TTFT P50   TOK/S P50     COST │
╞══════════════════════════════════════════════════════════════════════════════════════════════╡
│ local:tiny              12        1          340        2048       3 ms       812.5        - │
│ openai:gpt-4.1-mini      3        0        12000         900     410 ms        61.0   0.0062 │
└──────────────────────────────────────────────────────────────────────────────────────────────┘";
        assert_eq!(table(&groups, GroupBy::Model).to_string(), expected);
    }

    #[test]
    fn tool_table_snapshot() {
        let groups = vec![
            ToolGroup { tool: "fetch".into(), calls: 3, failed: 1, duration_ms: 660.0 },
            ToolGroup { tool: "vault_read".into(), calls: 10, failed: 0, duration_ms: 12.4 },
        ];
        let expected = "\
┌───────────────────────────────────────────────┐
│ TOOL         CALLS   FAILED     TIME      AVG │
╞═══════════════════════════════════════════════╡
│ fetch            3        1   660 ms   220 ms │
│ vault_read      10        0    12 ms     1 ms │
└───────────────────────────────────────────────┘";
        assert_eq!(tool_table(&groups).to_string(), expected);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90m").unwrap(), jiff::SignedDuration::from_secs(5400));
        assert_eq!(parse_duration("7d").unwrap(), jiff::SignedDuration::from_secs(7 * 86_400));
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("d").is_err());
    }
}
