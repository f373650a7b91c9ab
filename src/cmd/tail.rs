//! `ctl tail`: stream a job's output (or raw events) until it ends.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::Context;
use crate::api::{EventBody, JobState};
use crate::client::Target;

/// Exit code of `tail` (and `submit --follow`) when the job was cancelled.
pub const EXIT_CANCELLED: i32 = 3;

/// Stream a job's output as it is generated, until the job ends.
///
/// Works on running and finished jobs (it replays the log). Exits 0 when the
/// job completed, 1 when it failed, 3 when it was cancelled.
///
/// Examples:
///   ctl tail 01JD4            # any unique prefix of the id
///   ctl tail --json 01JD4     # one event per line, as NDJSON
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct TailArgs {
    /// Job id or unique prefix.
    pub job: String,
}

impl TailArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let target = ctx.target()?;
        let id = target.job(&self.job).await?.id;
        follow_job(&target, &id, ctx.json()).await
    }
}

/// Follows a job's log to its end, printing text (or NDJSON events).
pub async fn follow_job(target: &Target, id: &str, json: bool) -> anyhow::Result<i32> {
    let mut events = target.events(id);
    let spinner = spinner();
    let mut out = std::io::stdout().lock();
    let mut at_line_start = true;
    let mut state = None;
    // What each running tool call is about, for its line when it ends.
    let mut calls: HashMap<String, String> = HashMap::new();
    let dim = std::io::stderr().is_terminal();
    let mut sources: Vec<crate::api::RetrievedSource> = Vec::new();
    while let Some(event) = events.next().await {
        let event = event?;
        if json {
            serde_json::to_writer(&mut out, &event)?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
        match &event.body {
            EventBody::Queued { reason, .. } => {
                if let Some(s) = &spinner {
                    s.set_message(match reason {
                        Some(r) => format!("queued: {r}"),
                        None => "waiting for a worker".to_owned(),
                    });
                }
            }
            EventBody::Started { attempt, model, .. } => {
                if *attempt > 1 && !json {
                    if !at_line_start {
                        writeln!(out)?;
                    }
                    writeln!(out, "--- attempt {attempt} ---")?;
                    at_line_start = true;
                }
                if let Some(s) = &spinner {
                    s.set_message(format!("running on {model}, waiting for the first token"));
                }
            }
            EventBody::Token { text } => {
                if let Some(s) = &spinner {
                    s.finish_and_clear();
                }
                if !json {
                    out.write_all(text.as_bytes())?;
                    out.flush()?;
                    at_line_start = text.ends_with('\n');
                }
            }
            EventBody::ToolCall { id: call, tool, arguments, .. } => {
                let target = crate::api::call_target(arguments);
                if let Some(s) = &spinner {
                    s.set_message(format!("{tool} {target}"));
                }
                calls.insert(call.clone(), target);
            }
            EventBody::ToolResult { id: call, tool, duration_ms, bytes, error, reused, .. } => {
                if !json {
                    let target = calls.remove(call).unwrap_or_default();
                    let line = tool_line(tool, &target, *duration_ms, *bytes, error.as_deref(), *reused);
                    out.flush()?;
                    match &spinner {
                        Some(s) => s.suspend(|| print_dim(&line, dim)),
                        None => print_dim(&line, dim),
                    }
                }
            }
            EventBody::Retrieval { sources: got, .. } => sources.clone_from(got),
            EventBody::Usage(_) => {}
            body => state = body.terminal_state(),
        }
        if let (Some(_), EventBody::Failed { error }) = (state, &event.body)
            && !json
        {
            if !at_line_start {
                writeln!(out)?;
                at_line_start = true;
            }
            eprintln!("error: job {id} failed: {error}");
        }
    }
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    if !json && !at_line_start {
        writeln!(out)?;
    }
    if !json && !sources.is_empty() {
        writeln!(out, "\nSources:")?;
        for s in &sources {
            writeln!(out, "[{}] {}", s.n, s.cite())?;
        }
    }
    Ok(match state {
        Some(JobState::Completed) => 0,
        Some(JobState::Cancelled) => {
            if !json {
                eprintln!("job {id} was cancelled");
            }
            EXIT_CANCELLED
        }
        _ => 1,
    })
}

/// One line of tool activity: `→ fetch https://… 220 ms, 14 KB`.
fn tool_line(tool: &str, target: &str, ms: f64, bytes: u64, error: Option<&str>, reused: bool) -> String {
    let target = if target.is_empty() { String::new() } else { format!(" {target}") };
    let took = if ms >= 1000.0 { format!("{:.1} s", ms / 1000.0) } else { format!("{ms:.0} ms") };
    if let Some(e) = error {
        return format!("→ {tool}{target} {took}, failed: {e}");
    }
    let size = if bytes >= 1024 { format!("{} KB", bytes.div_ceil(1024)) } else { format!("{bytes} B") };
    let reused = if reused { " (reused)" } else { "" };
    format!("→ {tool}{target} {took}, {size}{reused}")
}

/// Prints a line on stderr, dim on a terminal.
fn print_dim(line: &str, dim: bool) {
    if dim {
        eprintln!("\x1b[2m{line}\x1b[0m");
    } else {
        eprintln!("{line}");
    }
}

/// A spinner on stderr while the job waits, only on a terminal.
fn spinner() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").ok()?);
    bar.set_message("waiting for a worker");
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::tool_line;

    #[test]
    fn tool_lines_say_what_how_long_and_how_much() {
        assert_eq!(
            tool_line("fetch", "https://a.b", 220.4, 14_000, None, false),
            "→ fetch https://a.b 220 ms, 14 KB"
        );
        assert_eq!(
            tool_line("vault_read", "a.md", 1500.0, 12, None, true),
            "→ vault_read a.md 1.5 s, 12 B (reused)"
        );
        assert_eq!(
            tool_line("run_code", "", 3.0, 0, Some("timed out"), false),
            "→ run_code 3 ms, failed: timed out"
        );
    }
}
