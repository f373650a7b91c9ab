//! `ctl token`: API tokens for the HTTP API.

use comfy_table::Table;
use comfy_table::presets::UTF8_BORDERS_ONLY;

use super::Context;

/// Create, list and revoke API tokens.
///
/// Only a hash of each token is stored; the token itself is printed once.
///
/// Examples:
///   ctl token create --name laptop
///   ctl token list
///   ctl token revoke laptop
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once) on stdout.
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke tokens by id, id prefix, or name.
    Revoke {
        /// Token id, unique id prefix, or name (revokes every token of that name).
        token: String,
    },
}

impl TokenArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let local = ctx.local()?;
        let json = ctx.json();
        super::blocking(move || {
            match self.command {
                TokenCommand::Create { name } => {
                    let (info, secret) = local.store.create_token(&name)?;
                    if json {
                        super::print_json(
                            &serde_json::json!({ "id": info.id, "name": info.name, "token": secret }),
                        )?;
                    } else {
                        println!("{secret}");
                        eprintln!("token {} ({}) created; it is shown only now", info.id, info.name);
                    }
                }
                TokenCommand::List => {
                    let tokens = local.store.list_tokens()?;
                    if json {
                        super::print_json(&tokens)?;
                    } else {
                        let mut t = Table::new();
                        t.load_style(UTF8_BORDERS_ONLY).set_header([
                            "ID",
                            "NAME",
                            "CREATED",
                            "LAST USED",
                            "REVOKED",
                        ]);
                        let fmt = |ts: Option<jiff::Timestamp>| {
                            ts.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
                        };
                        for k in tokens {
                            t.add_row([
                                k.id,
                                k.name,
                                fmt(Some(k.created_at)),
                                fmt(k.last_used_at),
                                fmt(k.revoked_at),
                            ]);
                        }
                        println!("{t}");
                    }
                }
                TokenCommand::Revoke { token } => {
                    let n = local.store.revoke_token(&token)?;
                    if n == 0 {
                        anyhow::bail!("no token matches {token:?}");
                    }
                    if json {
                        super::print_json(&serde_json::json!({ "revoked": n }))?;
                    } else {
                        println!("revoked {n} token{}", if n == 1 { "" } else { "s" });
                    }
                }
            }
            Ok(0)
        })
        .await
    }
}
