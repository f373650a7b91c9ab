//! One file per subcommand: its clap arguments and its `run`. No domain
//! logic lives here; commands turn flags into calls on [`crate::jobs`],
//! [`crate::worker`] and friends, and print the result.

pub mod alerts;
pub mod cancel;
pub mod completions;
pub mod diff;
pub mod doctor;
pub mod jobs;
pub mod man;
pub mod mcp;
pub mod migrate;
pub mod rag;
pub mod replay;
pub mod retry;
pub mod serve;
pub mod show;
pub mod skills;
pub mod stats;
pub mod submit;
pub mod tail;
pub mod token;
pub mod tools;
pub mod transfer;
pub mod up;
pub mod worker;

use std::path::PathBuf;

use anyhow::Context as _;

use crate::cli::GlobalArgs;
use crate::client::{Client, Target};
use crate::config::Config;
use crate::jobs::Local;

/// What every command gets: the global options, and lazily the config and
/// the data directory.
pub struct Context {
    pub global: GlobalArgs,
}

impl Context {
    pub fn new(global: GlobalArgs) -> Self {
        Self { global }
    }

    pub fn json(&self) -> bool {
        self.global.json
    }

    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.global.config.as_deref(), std::env::vars())?)
    }

    /// The data directory: `--home`/`CTL_HOME`, then the config, then XDG.
    pub fn home_path(&self, config: &Config) -> anyhow::Result<PathBuf> {
        self.global
            .home
            .clone()
            .or_else(|| config.home.clone())
            .or_else(crate::config::default_home)
            .context("no data directory: pass --home, set CTL_HOME, or set HOME")
    }

    /// Where job commands go: the server named by `--server`/`CTL_SERVER`
    /// (with the token in `CTL_TOKEN` or `CTL_TOKEN_FILE`), else the local
    /// data directory.
    pub fn target(&self) -> anyhow::Result<Target> {
        match &self.global.server {
            Some(url) => {
                let token = crate::secrets::from_env("CTL_TOKEN")?.map(|t| t.expose().to_owned());
                Ok(Target::Remote(Client::new(url, token)?))
            }
            None => Ok(Target::Local(Box::new(self.local()?))),
        }
    }

    /// Opens the local data directory for job operations.
    pub fn local(&self) -> anyhow::Result<Local> {
        let config = self.config()?;
        let home = self.home_path(&config)?;
        Ok(Local::open(home, config)?)
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Runs blocking work (file system, SQLite) off the async runtime.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await?
}
