//! `ctl rag`: index a markdown vault, query it, and show its state.

use std::io::IsTerminal as _;
use std::sync::Arc;

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};

use super::Context;
use crate::rag::{self, Embedder, Mode, QueryOptions, extract};

/// Hybrid retrieval over a markdown (Obsidian) vault.
///
/// Vaults are configured under [rag] (`vault = "~/notes"`, or
/// `[rag.vaults.NAME] path = ...`) with `embed_model = "provider:model"`.
///
/// Examples:
///   ctl rag reindex                 # incremental; safe from cron
///   ctl rag query "how do I rotate the keys" --k 5
///   ctl rag status --files
///
/// A cron line that keeps the index fresh:
///   */10 * * * *  ctl rag reindex --json >/dev/null
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct RagArgs {
    #[command(subcommand)]
    command: RagCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RagCommand {
    Reindex(ReindexArgs),
    Query(QueryArgs),
    Status(StatusArgs),
}

/// Bring a vault's index up to date.
///
/// Only changed chunks are embedded; a rename embeds nothing and a deleted
/// note leaves every index. A second reindex of the same vault while one
/// runs says so and exits 0. Queries see the previous index until this one
/// commits; a killed reindex loses nothing it embedded.
///
/// Examples:
///   ctl rag reindex
///   ctl rag reindex --vault work --json
///   ctl rag reindex --full          # rebuild, e.g. after changing embed_model
///   ctl rag reindex --extract       # and a knowledge graph from a chat model
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct ReindexArgs {
    /// The vault (default: the only or the default one).
    #[arg(long, value_name = "NAME")]
    vault: Option<String>,
    /// Rebuild from scratch beside the current index, then switch to it.
    #[arg(long)]
    full: bool,
    /// Then extract entities and relations from every chunk not yet
    /// extracted, with `[rag] extract_model` (default: `default_model`).
    /// The estimated tokens (and cost, with `[prices]`) are printed first
    /// and, on a terminal, confirmed.
    #[arg(long)]
    extract: bool,
    /// Do not ask before extracting.
    #[arg(long, short = 'y', requires = "extract")]
    yes: bool,
}

/// Search a vault: ranked chunks with `path#heading:lines`.
///
/// Examples:
///   ctl rag query "backup schedule"
///   ctl rag query "flock vs fcntl" --mode lexical --k 3
///   ctl rag query "what did we decide about pricing" --explain
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct QueryArgs {
    /// What to look for.
    query: String,
    /// The vault (default: the only or the default one).
    #[arg(long, value_name = "NAME")]
    vault: Option<String>,
    /// How many results.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Which indexes to use: all three fused, or one.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Show each index's rank and score for every result.
    #[arg(long)]
    explain: bool,
}

/// Show a vault's index: notes, chunks, model, last reindex, and what
/// changed on disk since.
///
/// Examples:
///   ctl rag status
///   ctl rag status --files --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct StatusArgs {
    /// The vault (default: the only or the default one).
    #[arg(long, value_name = "NAME")]
    vault: Option<String>,
    /// List each changed file.
    #[arg(long)]
    files: bool,
}

impl RagArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        match self.command {
            RagCommand::Reindex(a) => a.run(ctx).await,
            RagCommand::Query(a) => a.run(ctx).await,
            RagCommand::Status(a) => a.run(ctx),
        }
    }
}

impl ReindexArgs {
    async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let config = ctx.config()?;
        let home = ctx.home_path(&config)?;
        let mut opts = rag::options(&config, self.vault.as_deref(), self.full)?;
        let embedder = Embedder::from_config(&config)?;
        let bar = (!ctx.json() && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template("embedding {bar:30} {pos}/{len} chunks ({eta})") {
                bar.set_style(style);
            }
            bar
        });
        if let Some(bar) = bar.clone() {
            opts.progress = Some(Arc::new(move |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            }));
        }
        let result = rag::reindex::reindex(&home, &embedder, opts).await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let report = result?;
        let extracted = if self.extract && !report.busy {
            extract(ctx, &config, &home, &report.vault, self.yes).await?
        } else {
            None
        };
        if ctx.json() {
            let mut out = serde_json::to_value(&report)?;
            if let Some(x) = &extracted {
                out["extract"] = serde_json::to_value(x)?;
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(0);
        }
        if report.busy {
            println!("another reindex of vault {} is running; nothing to do", report.vault);
            return Ok(0);
        }
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        print_counts(
            &[
                "vault",
                "new",
                "changed",
                "unchanged",
                "renamed",
                "deleted",
                "skipped",
                "embedded",
                "calls",
                "time",
            ],
            vec![
                report.vault.clone(),
                report.notes_new.to_string(),
                report.notes_changed.to_string(),
                report.notes_unchanged.to_string(),
                report.notes_renamed.to_string(),
                report.notes_deleted.to_string(),
                report.notes_skipped.to_string(),
                report.chunks_embedded.to_string(),
                report.embed_calls.to_string(),
                seconds(report.elapsed_ms),
            ],
            1,
        );
        if let Some(x) = extracted {
            for w in &x.warnings {
                eprintln!("warning: {w}");
            }
            print_counts(
                &["extracted", "failed", "entities", "relations", "tokens in", "tokens out", "time"],
                vec![
                    x.chunks_extracted.to_string(),
                    x.chunks_failed.to_string(),
                    x.entities.to_string(),
                    x.relations.to_string(),
                    x.usage.prompt_tokens.to_string(),
                    x.usage.completion_tokens.to_string(),
                    seconds(x.elapsed_ms),
                ],
                0,
            );
        }
        Ok(0)
    }
}

/// One row of counts under its header, numbers (the columns from
/// `first_number` on) aligned right.
fn print_counts(header: &[&str], row: Vec<String>, first_number: usize) {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY);
    t.set_header(header.to_vec());
    t.add_row(row);
    for i in first_number..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{t}");
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// The `--extract` step: the estimate, the confirmation on a terminal,
/// then the run with a progress bar. `None` when the user declined.
async fn extract(
    ctx: &Context,
    config: &crate::config::Config,
    home: &std::path::Path,
    vault: &str,
    yes: bool,
) -> anyhow::Result<Option<extract::ExtractReport>> {
    let extractor = extract::Extractor::from_config(config)?;
    let est = extract::estimate(config, home, vault, &extractor.name)?;
    let cost = est.cost.map(|c| format!(", about {c:.4} in the currency of [prices]")).unwrap_or_default();
    eprintln!(
        "extraction: {} chunks of vault {vault} to {}: about {} input and {} output tokens{cost}",
        est.chunks, extractor.name, est.input_tokens, est.output_tokens
    );
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if est.chunks > 0 && terminal && !yes {
        eprint!("extract now? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("extraction skipped");
            return Ok(None);
        }
    }
    let bar = (!ctx.json() && std::io::stderr().is_terminal() && est.chunks > 0).then(|| {
        let bar = ProgressBar::new(est.chunks);
        if let Ok(style) = ProgressStyle::with_template("extracting {bar:30} {pos}/{len} chunks ({eta})") {
            bar.set_style(style);
        }
        bar
    });
    let progress = bar.clone().map(|bar| {
        Arc::new(move |done: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(done);
        }) as Arc<dyn Fn(u64, u64) + Send + Sync>
    });
    let result = extract::run(home, vault, &extractor, config.rag.embed_concurrency, progress).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Some(result?))
}

impl QueryArgs {
    async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let config = ctx.config()?;
        let home = ctx.home_path(&config)?;
        let opts = QueryOptions { k: self.k, mode: self.mode, budget_tokens: config.rag.context_tokens };
        let found = rag::search(&config, &home, self.vault.as_deref(), &self.query, opts).await?;
        for w in &found.warnings {
            eprintln!("warning: {w}");
        }
        let sources = found.sources;
        if ctx.json() {
            println!("{}", serde_json::to_string_pretty(&sources)?);
            return Ok(0);
        }
        if sources.is_empty() {
            println!("no results");
            return Ok(0);
        }
        for (i, s) in sources.iter().enumerate() {
            println!("[{}] {}  {:.4}", i + 1, s.cite(), s.score);
            println!("    {}", s.snippet(160));
            if self.explain {
                let show = |name: &str, r: Option<rag::query::Rank>| match r {
                    Some(r) => format!("{name} #{} ({:.3})", r.rank, r.score),
                    None => format!("{name} -"),
                };
                let rerank = s.rerank.map(|r| format!("  rerank #{} ({:.3})", r.rank, r.score));
                println!(
                    "    {}  {}  {}{}  chunk {}",
                    show("lexical", s.lexical),
                    show("vector", s.vector),
                    show("graph", s.graph),
                    rerank.unwrap_or_default(),
                    &s.hash[..12]
                );
            }
        }
        Ok(0)
    }
}

impl StatusArgs {
    fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let config = ctx.config()?;
        let home = ctx.home_path(&config)?;
        let opts = rag::options(&config, self.vault.as_deref(), false)?;
        let mut status = rag::status::status(&home, &opts)?;
        let changed = status.changed.len();
        if !self.files && ctx.json() {
            status.changed.clear();
        }
        if ctx.json() {
            let mut v = serde_json::to_value(&status)?;
            v["changed_count"] = changed.into();
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(0);
        }
        let mut t = Table::new();
        t.load_style(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic);
        let none = || "-".to_owned();
        for (k, v) in [
            ("vault", format!("{} ({})", status.vault, status.root)),
            ("indexed", if status.indexed { "yes".into() } else { "no: run `ctl rag reindex`".into() }),
            ("notes", status.notes.to_string()),
            ("chunks", status.chunks.to_string()),
            ("model", status.model.clone().unwrap_or_else(none)),
            ("dimensions", status.dims.map_or_else(none, |d| d.to_string())),
            ("last reindex", status.last_reindex.clone().unwrap_or_else(none)),
            ("facts", {
                let f = status.facts;
                if f.chunks == 0 {
                    "none: `ctl rag reindex --extract` adds them".to_owned()
                } else {
                    format!(
                        "{} chunks extracted: {} entities, {} relations",
                        f.chunks, f.entities, f.relations
                    )
                }
            }),
            ("changed since", changed.to_string()),
        ] {
            t.add_row(vec![k.to_owned(), v]);
        }
        println!("{t}");
        if self.files {
            for c in &status.changed {
                let what = match c.change {
                    rag::status::Change::New => "new",
                    rag::status::Change::Changed => "changed",
                    rag::status::Change::Deleted => "deleted",
                };
                println!("{what:>8}  {}", c.path);
            }
        }
        Ok(0)
    }
}
