//! `ctl tail`: stream a job's output (or raw events) until it ends.

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
