//! `ctl export` and `ctl import`: everything an installation holds, as one
//! archive that either backend writes and either backend loads. This is how
//! a data directory moves into PostgreSQL and back.
//!
//! The archive is NDJSON: a header line, the record rows (table by table,
//! in the order they were written), one line per job (its queue state, the
//! job itself and its whole event log), and an end line with the counts,
//! so a cut-off archive is refused before anything is loaded.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::api::{Event, Job};
use crate::backend::{Row, Table};
use crate::jobs::Local;
use crate::queue::{Dir, JOB_DIRS};

/// The archive format this ctl writes and reads.
const FORMAT: u32 = 1;

/// One line of an archive.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Header { ctl_export: u32, created_at: String, backend: String, ctl_version: String },
    Row { table: Table, row: Row },
    Job { dir: String, job: Box<Job>, events: Vec<Event> },
    End { end: Counts },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Counts {
    rows: u64,
    jobs: u64,
}

/// Write everything this installation holds to one archive.
///
/// The archive holds the queue (every job with its state and its whole
/// event log), the job records, chat sessions and their messages, API
/// tokens (their hashes, never a secret), tool calls and idempotency keys;
/// not web logins (log in again) nor the RAG index (run `ctl rag reindex`).
/// Either backend writes it and either backend loads it with `ctl import`:
/// this is how a data directory moves into PostgreSQL and back.
///
/// Stop the workers first: a running job would be exported as it stands
/// (it comes back queued and runs again). `--force` exports anyway.
///
/// Examples:
///   ctl export -o ctl-export.ndjson
///   ctl export | CTL_DATABASE_URL=postgres://ctl@db/ctl ctl --config pg.toml import -
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ExportArgs {
    /// Where to write the archive; `-` for stdout. A file is written whole
    /// or not at all.
    #[arg(short, long, default_value = "-")]
    out: PathBuf,
    /// Export even while workers are running.
    #[arg(long)]
    force: bool,
}

/// Load an archive written by `ctl export` into this installation.
///
/// Jobs, records, sessions and tokens that are here already (the same id)
/// are left as they are, so an import that was interrupted can simply run
/// again. Jobs that were running when exported come back queued. The whole
/// archive is checked before anything is loaded: a truncated or foreign
/// file changes nothing.
///
/// Examples:
///   ctl import ctl-export.ndjson
///   ctl --json import ctl-export.ndjson
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ImportArgs {
    /// The archive; `-` for stdin.
    file: PathBuf,
}

/// What an import did, per kind: loaded now, or there already.
#[derive(Debug, Default, Serialize)]
struct Loaded {
    imported: u64,
    existing: u64,
}

impl ExportArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let local = ctx.local()?;
        let json = ctx.json();
        let out = self.out;
        let force = self.force;
        if json && out == Path::new("-") {
            bail!("--json prints a summary on stdout: write the archive to a file with -o FILE");
        }
        let counts = super::blocking(move || {
            let workers = local.queue.live_workers()?;
            if !workers.is_empty() && !force {
                bail!(
                    "{} worker(s) running ({}): stop them first, or pass --force to export running jobs as they stand",
                    workers.len(),
                    workers.join(", ")
                );
            }
            if out == Path::new("-") {
                let stdout = std::io::stdout().lock();
                write_archive(&local, &mut BufWriter::new(stdout))
            } else {
                let tmp = out.with_extension("partial");
                let result = std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot create {}", tmp.display()))
                    .and_then(|f| {
                        let mut w = BufWriter::new(f);
                        let counts = write_archive(&local, &mut w)?;
                        w.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_all()?;
                        Ok(counts)
                    })
                    .and_then(|counts| {
                        std::fs::rename(&tmp, &out).with_context(|| format!("cannot write {}", out.display()))?;
                        Ok(counts)
                    });
                if result.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                result
            }
        })
        .await?;
        if json {
            super::print_json(&serde_json::json!({ "rows": counts.rows, "jobs": counts.jobs }))?;
        } else {
            eprintln!("exported {} jobs and {} record rows", counts.jobs, counts.rows);
        }
        Ok(0)
    }
}

fn backend_name(local: &Local) -> &'static str {
    match local.config.backend.kind {
        crate::config::BackendKind::Fs => "fs",
        crate::config::BackendKind::Postgres => "postgres",
    }
}

fn write_line(w: &mut dyn Write, line: &Line) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *w, line)?;
    w.write_all(b"\n").context("cannot write the archive")?;
    Ok(())
}

fn write_archive(local: &Local, w: &mut dyn Write) -> anyhow::Result<Counts> {
    write_line(
        w,
        &Line::Header {
            ctl_export: FORMAT,
            created_at: jiff::Timestamp::now().to_string(),
            backend: backend_name(local).to_owned(),
            ctl_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
    )?;
    let mut counts = Counts::default();
    for table in Table::ALL {
        let mut failed = None;
        local.store.export_rows(table, &mut |row| match write_line(w, &Line::Row { table, row }) {
            Ok(()) => {
                counts.rows += 1;
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    for dir in JOB_DIRS {
        let mut ids = local.queue.list(dir)?;
        ids.sort();
        for id in ids {
            // A job that moved on since the listing is exported where it is now.
            let (dir, job) = match local.queue.read(dir, &id) {
                Ok(job) => (dir, job),
                Err(_) => match local.queue.locate(&id) {
                    Some(now) => {
                        (now, local.queue.read(now, &id).map_err(|e| anyhow::anyhow!("job {id}: {e:?}"))?)
                    }
                    None => continue,
                },
            };
            let events = local.events.read_all(&id)?;
            write_line(
                w,
                &Line::Job { dir: dir.state().unwrap_or("failed").to_owned(), job: Box::new(job), events },
            )?;
            counts.jobs += 1;
        }
    }
    write_line(w, &Line::End { end: counts })?;
    w.flush().context("cannot write the archive")?;
    Ok(counts)
}

impl ImportArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let local = ctx.local()?;
        let file = self.file;
        let (rows, jobs) = super::blocking(move || {
            let text = if file == Path::new("-") {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)
                    .context("cannot read stdin")?;
                buf
            } else {
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?
            };
            let lines = check(&text).map_err(|e| anyhow::anyhow!("{e}: nothing was imported"))?;
            load(&local, lines)
        })
        .await?;
        if ctx.json() {
            super::print_json(&serde_json::json!({ "rows": rows, "jobs": jobs }))?;
        } else {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY).set_header([
                "",
                "IMPORTED",
                "ALREADY HERE",
            ]);
            t.add_row(["jobs".to_owned(), jobs.imported.to_string(), jobs.existing.to_string()]);
            for table in Table::ALL {
                let l = rows.get(table.name()).map_or((0, 0), |l| (l.imported, l.existing));
                t.add_row([table.name().to_owned(), l.0.to_string(), l.1.to_string()]);
            }
            println!("{t}");
        }
        Ok(0)
    }
}

/// Parses and checks a whole archive: a header this ctl reads, lines it
/// understands, and an end line whose counts match.
fn check(text: &[u8]) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::new();
    let last = text.lines().count().saturating_sub(1);
    for (n, raw) in text.lines().enumerate() {
        let raw = raw.with_context(|| format!("line {}: not UTF-8", n + 1))?;
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&raw).map_err(|e| {
            if n == 0 {
                anyhow::anyhow!("not a ctl export (its first line is not an export header)")
            } else if n == last && !text.ends_with(b"\n") {
                anyhow::anyhow!("the archive is truncated (its last line, {}, is cut off)", n + 1)
            } else {
                anyhow::anyhow!("line {}: not a line of a ctl export: {e}", n + 1)
            }
        })?;
        lines.push(line);
    }
    match lines.first() {
        Some(Line::Header { ctl_export, .. }) if *ctl_export > FORMAT => {
            bail!("the archive has format {ctl_export}, newer than this ctl reads ({FORMAT}); upgrade ctl")
        }
        Some(Line::Header { .. }) => {}
        _ => bail!("not a ctl export (its first line is not an export header)"),
    }
    let mut seen = Counts::default();
    for line in &lines[1..] {
        match line {
            Line::Row { .. } => seen.rows += 1,
            Line::Job { dir, .. } => {
                Dir::of_state(dir).with_context(|| format!("job line with an unknown state {dir:?}"))?;
                seen.jobs += 1;
            }
            Line::Header { .. } => bail!("a second header inside the archive"),
            Line::End { .. } => {}
        }
    }
    match lines.last() {
        Some(Line::End { end }) if *end == seen => Ok(lines),
        Some(Line::End { end }) => bail!(
            "the archive is damaged: its end line counts {} rows and {} jobs, it holds {} and {}",
            end.rows,
            end.jobs,
            seen.rows,
            seen.jobs
        ),
        _ => bail!("the archive is truncated (no end line)"),
    }
}

fn load(
    local: &Local,
    lines: Vec<Line>,
) -> anyhow::Result<(std::collections::BTreeMap<&'static str, Loaded>, Loaded)> {
    let mut rows: std::collections::BTreeMap<&'static str, Loaded> = std::collections::BTreeMap::new();
    let mut jobs = Loaded::default();
    for line in lines {
        match line {
            Line::Row { table, row } => {
                let l = rows.entry(table.name()).or_default();
                if local.store.import_row(table, &row)? {
                    l.imported += 1;
                } else {
                    l.existing += 1;
                }
            }
            Line::Job { dir, job, events } => {
                // A job that was running when exported has no worker here:
                // it waits in the queue again.
                let dir = match Dir::of_state(&dir) {
                    Some(Dir::Active) | None => Dir::Queued,
                    Some(d) => d,
                };
                if local.queue.import(dir, &job, &events)? {
                    jobs.imported += 1;
                } else {
                    jobs.existing += 1;
                }
            }
            Line::Header { .. } | Line::End { .. } => {}
        }
    }
    Ok((rows, jobs))
}
