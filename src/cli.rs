//! The command line: global options and the subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cmd;

/// A self-hosted control plane for LLM jobs.
///
/// Jobs go into a durable queue on disk; workers run them against Ollama or
/// any OpenAI-compatible or Anthropic API and stream the tokens into an event
/// log that any number of shells can follow.
#[derive(Debug, Parser)]
#[command(name = "ctl", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Examples:
  echo 'Explain flock in one paragraph' | ctl submit --follow -
  ctl worker --concurrency 2
  ctl jobs --state failed
  ctl tail 01JD          # any unique prefix of a job id
  ctl up                 # API + worker on 127.0.0.1:8000, prints a login link")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Data directory (default: $XDG_DATA_HOME/ctl).
    #[arg(long, global = true, env = "CTL_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists).
    #[arg(long, global = true, env = "CTL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Send job commands to a `ctl serve` at this URL instead of the local
    /// data directory; the API token comes from CTL_TOKEN.
    #[arg(long, global = true, env = "CTL_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Print machine-readable JSON instead of tables and text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines as text, or as JSON objects that carry trace and span ids.
    #[arg(
        long,
        global = true,
        env = "CTL_LOG_FORMAT",
        value_name = "FORMAT",
        default_value = "text",
        ignore_case = true
    )]
    pub log_format: crate::telemetry::LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Submit(cmd::submit::SubmitArgs),
    Tail(cmd::tail::TailArgs),
    Jobs(cmd::jobs::JobsArgs),
    Show(cmd::show::ShowArgs),
    Cancel(cmd::cancel::CancelArgs),
    Retry(cmd::retry::RetryArgs),
    Replay(cmd::replay::ReplayArgs),
    Diff(cmd::diff::DiffArgs),
    Stats(cmd::stats::StatsArgs),
    Skills(cmd::skills::SkillsArgs),
    Worker(cmd::worker::WorkerArgs),
    Serve(cmd::serve::ServeArgs),
    Up(cmd::up::UpArgs),
    Token(cmd::token::TokenArgs),
    Tools(cmd::tools::ToolsArgs),
    Mcp(cmd::mcp::McpArgs),
    Rag(cmd::rag::RagArgs),
    Doctor(cmd::doctor::DoctorArgs),
    Migrate(cmd::migrate::MigrateArgs),
    Export(cmd::transfer::ExportArgs),
    Import(cmd::transfer::ImportArgs),
    Alerts(cmd::alerts::AlertsArgs),
    Completions(cmd::completions::CompletionsArgs),
    Man(cmd::man::ManArgs),
}

impl Cli {
    /// Runs the chosen subcommand; the value is the process exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        let ctx = cmd::Context::new(self.global);
        match self.command {
            Command::Submit(a) => a.run(&ctx).await,
            Command::Tail(a) => a.run(&ctx).await,
            Command::Jobs(a) => a.run(&ctx).await,
            Command::Show(a) => a.run(&ctx).await,
            Command::Cancel(a) => a.run(&ctx).await,
            Command::Retry(a) => a.run(&ctx).await,
            Command::Replay(a) => a.run(&ctx).await,
            Command::Diff(a) => a.run(&ctx).await,
            Command::Stats(a) => a.run(&ctx).await,
            Command::Skills(a) => a.run(&ctx).await,
            Command::Worker(a) => a.run(&ctx).await,
            Command::Serve(a) => a.run(&ctx).await,
            Command::Up(a) => a.run(&ctx).await,
            Command::Token(a) => a.run(&ctx).await,
            Command::Tools(a) => a.run(&ctx).await,
            Command::Mcp(a) => Box::pin(a.run(&ctx)).await,
            Command::Rag(a) => a.run(&ctx).await,
            Command::Doctor(a) => a.run(&ctx).await,
            Command::Migrate(a) => a.run(&ctx).await,
            Command::Export(a) => a.run(&ctx).await,
            Command::Import(a) => a.run(&ctx).await,
            Command::Alerts(a) => a.run(&ctx).await,
            Command::Completions(a) => a.run(),
            Command::Man(a) => a.run(),
        }
    }
}
