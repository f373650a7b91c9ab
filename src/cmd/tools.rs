//! `ctl tools`: list the tools and call one locally.

use std::sync::Arc;

use anyhow::Context as _;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};

use super::Context;
use crate::tools::StoreRecorder;

/// The tools MCP clients and jobs can call: web_search, fetch, vault_list,
/// vault_read, vault_search, run_code, skill_read.
///
/// `[tools]` in the config turns them on and off and sets their limits.
///
/// Examples:
///   ctl tools list
///   ctl tools call fetch --arg url="$URL"
///   ctl tools call vault_read --arg path=notes/a.md --arg start_line=1 --arg end_line=40
///   ctl tools call run_code --arg code='print(6 * 7)'
///   ctl tools call web_search --args '{"query": "flock", "max_results": 3}' --json
///   ctl tools servers                       # external MCP servers: command or URL, do they answer
///   ctl tools call docs.search --arg query=lease   # a tool of [mcp.servers.docs]
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ToolsArgs {
    #[command(subcommand)]
    command: ToolsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ToolsCommand {
    List(ListArgs),
    Call(CallArgs),
    Servers(ServersArgs),
}

/// List the enabled tools with their limits (`--json`: names, schemas,
/// traits), the external MCP servers' tools (`NAME.tool`) among them.
#[derive(Debug, clap::Args)]
struct ListArgs {}

/// Start each external MCP server of `[mcp.servers]`, say whether it
/// answers and list its tools, then stop it. Exit code 1 when one does not
/// answer.
#[derive(Debug, clap::Args)]
struct ServersArgs {}

/// Run a tool here, with the same guards and limits as over MCP; prints its
/// text (`--json`: the whole result). Exit code 1 when the tool fails.
#[derive(Debug, clap::Args)]
struct CallArgs {
    /// The tool's name.
    name: String,
    /// An argument, `KEY=VALUE` (repeatable); VALUE is read as JSON when it
    /// parses (numbers, true, false), else as a string.
    #[arg(long = "arg", value_name = "KEY=VALUE")]
    args: Vec<String>,
    /// All arguments as one JSON object (the --arg values are merged into it).
    #[arg(long = "args", value_name = "JSON")]
    json_args: Option<String>,
}

impl ToolsArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        match self.command {
            ToolsCommand::List(_) => list(ctx).await,
            ToolsCommand::Call(a) => call(ctx, a).await,
            ToolsCommand::Servers(_) => servers(ctx).await,
        }
    }
}

async fn list(ctx: &Context) -> anyhow::Result<i32> {
    let config = ctx.config()?;
    let home = ctx.home_path(&config)?;
    let toolbox = crate::rag::tool::toolbox(&config, &home)?;
    let mut tools = toolbox.list();
    let servers = toolbox.servers().status().await;
    tools.extend(servers.iter().flat_map(|s| s.tools.iter().cloned()));
    if ctx.json() {
        super::print_json(&tools)?;
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_header([
        "NAME",
        "TOUCHES",
        "TIMEOUT",
        "MAX OUTPUT",
        "DESCRIPTION",
    ]);
    for tool in tools {
        let tr = tool.traits;
        let touches: Vec<&str> = [
            (tr.read_only, "read-only"),
            (!tr.read_only, "writes"),
            (tr.private, "private"),
            (tr.untrusted, "untrusted"),
            (tr.egress, "egress"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        t.add_row([
            tool.name,
            touches.join(", "),
            format!("{} s", tool.limits.timeout_secs),
            format!("{} B", tool.limits.max_output_bytes),
            tool.description,
        ]);
    }
    println!("{t}");
    if !servers.is_empty() {
        println!("\n{}", servers_table(&servers));
    }
    Ok(0)
}

async fn servers(ctx: &Context) -> anyhow::Result<i32> {
    let config = ctx.config()?;
    let servers = crate::mcp::Servers::new(&config.mcp.servers).map_err(anyhow::Error::msg)?;
    let status = servers.status().await;
    if ctx.json() {
        super::print_json(&status)?;
    } else if status.is_empty() {
        println!(
            "no external MCP servers (add one as [mcp.servers.NAME] with command = [...] or url = \"...\")"
        );
    } else {
        println!("{}", servers_table(&status));
    }
    Ok(i32::from(status.iter().any(|s| !s.answers)))
}

fn servers_table(servers: &[crate::mcp::ServerStatus]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_header([
        "MCP SERVER",
        "COMMAND OR URL",
        "ANSWERS",
        "TOOLS",
    ]);
    for s in servers {
        let tools: Vec<&str> = s.tools.iter().map(|t| t.name.as_str()).collect();
        t.add_row([
            s.name.clone(),
            s.target.clone(),
            match &s.error {
                None => "yes".to_owned(),
                Some(e) => format!("no: {e}"),
            },
            tools.join(", "),
        ]);
    }
    t
}

/// `KEY=VALUE` pairs (and a JSON object) as one arguments object.
fn build_args(pairs: &[String], json: Option<&str>) -> anyhow::Result<serde_json::Value> {
    let mut map = match json {
        Some(text) => match serde_json::from_str(text).context("--args is not JSON")? {
            serde_json::Value::Object(map) => map,
            _ => anyhow::bail!("--args must be a JSON object"),
        },
        None => serde_json::Map::new(),
    };
    for pair in pairs {
        let (key, value) =
            pair.split_once('=').with_context(|| format!("--arg {pair:?} is not KEY=VALUE"))?;
        let value = match serde_json::from_str::<serde_json::Value>(value) {
            Ok(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_) | serde_json::Value::Null)) => {
                v
            }
            _ => serde_json::Value::String(value.to_owned()),
        };
        map.insert(key.to_owned(), value);
    }
    Ok(serde_json::Value::Object(map))
}

async fn call(ctx: &Context, a: CallArgs) -> anyhow::Result<i32> {
    let args = build_args(&a.args, a.json_args.as_deref())?;
    let local = ctx.local()?;
    let recorder = StoreRecorder { store: local.store.clone(), source: "cli", job_id: None };
    let toolbox =
        crate::rag::tool::toolbox(&local.config, local.home.root())?.with_recorder(Arc::new(recorder));
    let result = toolbox.call(&a.name, args).await;
    toolbox.servers().stop_all().await;
    match result {
        Ok(out) => {
            if ctx.json() {
                super::print_json(&out)?;
            } else {
                print!("{}", out.text);
                if !out.text.ends_with('\n') {
                    println!();
                }
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {}: {e}", a.name);
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_merge_and_values_parse_as_json_scalars() {
        let v = build_args(
            &["path=notes/a.md".into(), "start_line=3".into(), "raw=true".into(), "code=print(1)".into()],
            Some(r#"{"vault": "work", "path": "x"}"#),
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"vault": "work", "path": "notes/a.md", "start_line": 3, "raw": true, "code": "print(1)"})
        );
        assert!(build_args(&["novalue".into()], None).unwrap_err().to_string().contains("KEY=VALUE"));
        assert!(build_args(&[], Some("[1]")).is_err());
    }
}
