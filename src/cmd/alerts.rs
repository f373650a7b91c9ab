//! `ctl alerts`: check the alert destinations.

use super::Context;

/// Alerts that `ctl serve` sends (job failures, low disk, unreachable
/// backends, a stuck queue).
///
/// Destinations come from CTL_DISCORD_WEBHOOK_URL and CTL_ALERT_WEBHOOK_URL,
/// or from the files CTL_DISCORD_WEBHOOK_URL_FILE and
/// CTL_ALERT_WEBHOOK_URL_FILE name; the thresholds from the alerts section
/// of the config.
///
/// Example:
///   ctl alerts test
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// Send a test message to every configured destination; exits non-zero
    /// when none is configured or one fails.
    Test,
}

impl AlertsArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        match self.command {
            AlertsCommand::Test => {
                let local = ctx.local()?;
                let results = crate::alerts::send_test(&local).await?;
                if results.is_empty() {
                    anyhow::bail!(
                        "no alert destination: set {} or {} (or their _FILE forms)",
                        crate::alerts::DISCORD_VAR,
                        crate::alerts::WEBHOOK_VAR
                    );
                }
                let failed = results.iter().filter(|(_, r)| r.is_err()).count();
                if ctx.json() {
                    let rows: Vec<_> = results
                        .iter()
                        .map(|(kind, r)| serde_json::json!({ "destination": kind, "ok": r.is_ok(), "error": r.as_ref().err() }))
                        .collect();
                    super::print_json(&rows)?;
                } else {
                    for (kind, r) in &results {
                        match r {
                            Ok(()) => println!("ok   {kind:<8} test message sent"),
                            Err(e) => println!("FAIL {kind:<8} {e}"),
                        }
                    }
                }
                Ok(i32::from(failed > 0))
            }
        }
    }
}
