//! What a skill's `allowed-tools` lets its jobs call. Agent Skills written
//! for other agents name those agents' tools (`WebFetch`, `Bash(git:*)`,
//! `mcp__server__tool`); each is mapped to the ctl tool that does the same
//! job, so such a skill bounds ctl's tools the way its author meant. Names
//! ctl does not know are kept as they are (they may be external MCP tools,
//! `server.tool`).

use std::collections::BTreeSet;

/// The ctl tool names the entries of an `allowed-tools` list grant.
pub fn granted_tools(allowed: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in allowed {
        // `Bash(git:*)`: the part before the parenthesis names the tool.
        let name = entry.split('(').next().unwrap_or_default().trim();
        let mapped: &[&str] = match name {
            "" => &[],
            "WebFetch" => &["fetch"],
            "WebSearch" => &["web_search"],
            "Bash" => &["run_code"],
            "Read" => &["vault_read", "skill_read"],
            "Glob" | "LS" => &["vault_list"],
            "Grep" => &["vault_search"],
            _ => {
                // Claude Code names MCP tools `mcp__SERVER__TOOL`.
                let mcp = name.strip_prefix("mcp__").and_then(|rest| rest.split_once("__"));
                match mcp {
                    Some((server, tool)) => out.insert(format!("{server}.{tool}")),
                    None => out.insert(name.to_owned()),
                };
                &[]
            }
        };
        out.extend(mapped.iter().map(|m| (*m).to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_agents_tool_names_map_to_ctls() {
        let allowed: Vec<String> = ["WebFetch", "Bash(git:*)", "Grep", "mcp__docs__search", "fetch", "x.y"]
            .map(str::to_owned)
            .into();
        let got: Vec<String> = granted_tools(&allowed).into_iter().collect();
        assert_eq!(got, ["docs.search", "fetch", "run_code", "vault_search", "x.y"]);
        assert!(granted_tools(&[]).is_empty());
    }
}
