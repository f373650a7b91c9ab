//! `ctl migrate`: bring the database's schema up to date.

use super::Context;
use crate::config::BackendKind;

/// Apply the pending schema migrations of the configured backend.
///
/// `ctl serve` and `ctl worker` migrate on start too, under an advisory
/// lock, so any number of processes starting at once are safe; run this
/// before starting a new version across many hosts. The data directory's
/// SQLite database migrates itself when it is opened.
///
/// Example:
///   CTL_DATABASE_URL=postgres://ctl@db/ctl ctl migrate
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct MigrateArgs {}

impl MigrateArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let config = ctx.config()?;
        let version = match config.backend.kind {
            BackendKind::Postgres => {
                let settings = crate::backend::pg::PgSettings::from_config(&config)?;
                super::blocking(move || {
                    let db = crate::backend::pg::Db::new(&settings)?;
                    Ok(db.migrate()?)
                })
                .await?
            }
            BackendKind::Fs => {
                let home = ctx.home_path(&config)?;
                super::blocking(move || {
                    let home = crate::home::Home::open(home)?;
                    crate::store::Store::open(&home.db_path())?;
                    Ok(crate::store::MIGRATIONS.len())
                })
                .await?
            }
        };
        if ctx.json() {
            super::print_json(&serde_json::json!({ "schema_version": version }))?;
        } else {
            println!("schema version {version}: up to date");
        }
        Ok(0)
    }
}
