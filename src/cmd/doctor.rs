//! `ctl doctor`: check the installation, one verdict per line.

use std::time::Duration;

use serde::Serialize;

use super::Context;
use crate::home::Home;
use crate::queue::{Dir, Queue};
use crate::store::Store;

/// Check the data directory, the database and every configured provider.
///
/// Exits non-zero when any check fails.
///
/// Example:
///   ctl doctor
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct DoctorArgs {
    /// Seconds to wait for each provider.
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
}

#[derive(Debug, Serialize)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
}

impl DoctorArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let mut checks = Vec::new();
        let mut add = |name: &str, result: Result<String, String>| {
            let (ok, detail) = match result {
                Ok(d) => (true, d),
                Err(d) => (false, d),
            };
            checks.push(Check { name: name.to_owned(), ok, detail });
        };
        let config = match ctx.config() {
            Ok(c) => {
                add("config", Ok("loaded".to_owned()));
                Some(c)
            }
            Err(e) => {
                add("config", Err(format!("{e:#}")));
                None
            }
        };
        let config = config.unwrap_or_default();
        let home = ctx
            .home_path(&config)
            .map_err(|e| e.to_string())
            .and_then(|p| Home::open(p).map_err(|e| e.to_string()));
        add("data directory", home.as_ref().map(|h| h.root().display().to_string()).map_err(Clone::clone));
        if let Ok(home) = &home {
            add("writable", writable(home));
            add(
                "database",
                Store::open(&home.db_path()).map_err(|e| e.to_string()).and_then(|s| {
                    match s.quick_check().map_err(|e| e.to_string())? {
                        ok if ok == "ok" => Ok(format!("{} (integrity ok)", home.db_path().display())),
                        bad => Err(format!("integrity check: {bad}")),
                    }
                }),
            );
            add("queue", queue_summary(home));
        }
        if config.backend.kind == crate::config::BackendKind::Postgres {
            let cfg = config.clone();
            let results = tokio::task::spawn_blocking(move || crate::backend::pg::doctor(&cfg)).await?;
            for (name, result) in results {
                add(name, result);
            }
        }
        match config.resolve_model(None) {
            Ok((p, m)) => add("default model", Ok(format!("{p}:{m}"))),
            Err(e) => add("default model", Err(e)),
        }
        let timeout = Duration::from_secs_f64(self.timeout.max(0.1));
        for (name, cfg) in &config.providers {
            let result = match crate::provider::build(name, cfg) {
                Err(e) => Err(e.to_string()),
                Ok(p) => match tokio::time::timeout(timeout, p.models()).await {
                    Err(_) => Err(format!("{}: no answer within {:.1}s", cfg.base_url, self.timeout)),
                    Ok(Err(e)) => Err(e.to_string()),
                    Ok(Ok(models)) => Ok(format!("{} reachable, {} models", cfg.base_url, models.len())),
                },
            };
            add(&format!("provider {name}"), result);
        }
        if config.tools.run_code.enabled {
            let result = match crate::tools::sandbox::check(&config.tools.run_code).await {
                Ok(()) => Ok("bubblewrap works: run_code is sandboxed".to_owned()),
                Err(e) => Err(format!("{e} (run_code will refuse to run)")),
            };
            add("run_code sandbox", result);
        }
        match crate::mcp::Servers::new(&config.mcp.servers) {
            Err(e) => add("MCP servers", Err(e)),
            Ok(servers) => {
                for st in servers.status().await {
                    let result = match &st.error {
                        None => Ok(format!("{} answers, {} tools", st.target, st.tools.len())),
                        Some(e) => Err(format!("{}: {e}", st.target)),
                    };
                    add(&format!("MCP server {}", st.name), result);
                }
            }
        }
        if let Some(result) = crate::telemetry::check_endpoint(&config, timeout).await {
            add("traces", result);
        }
        let failed = checks.iter().filter(|c| !c.ok).count();
        if ctx.json() {
            super::print_json(&checks)?;
        } else {
            for c in &checks {
                println!("{} {:<18} {}", if c.ok { "ok  " } else { "FAIL" }, c.name, c.detail);
            }
            println!(
                "{}",
                if failed == 0 { "all checks passed".to_owned() } else { format!("{failed} checks failed") }
            );
        }
        Ok(i32::from(failed > 0))
    }
}

fn writable(home: &Home) -> Result<String, String> {
    let probe = home.root().join(format!(".doctor-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(|e| format!("cannot write in {}: {e}", home.root().display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok("yes".to_owned())
}

fn queue_summary(home: &Home) -> Result<String, String> {
    let q = Queue::new(home.clone());
    let count = |d| q.list(d).map(|v| v.len()).map_err(|e| e.to_string());
    let corrupt = std::fs::read_dir(q.dir(Dir::Corrupt)).map_or(0, |r| {
        r.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count()
    });
    let workers = crate::queue::lease::live_worker_count(&home.workers_dir()).map_err(|e| e.to_string())?;
    let text = format!(
        "{} queued, {} active, {} workers alive, {} corrupt files",
        count(Dir::Queued)?,
        count(Dir::Active)?,
        workers,
        corrupt
    );
    if corrupt > 0 { Err(format!("{text} (see {})", q.dir(Dir::Corrupt).display())) } else { Ok(text) }
}
