//! The index as tools see it: the lexical index behind `vault_search`
//! ([`LexicalIndex`]) and the `rag_query` tool (hybrid retrieval with
//! citations), plugged into the toolbox by [`toolbox`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{Mode, QueryOptions, RagError, Reader};
use crate::config::Config;
use crate::tools::{
    Limits, SearchHit, Tool, ToolError, ToolInfo, ToolOutput, ToolTraits, Toolbox, VaultIndex,
};

/// The configured tools, with the vaults' indexes under `home` behind
/// `vault_search` and, when an embedding model is configured, `rag_query`.
pub fn toolbox(config: &Config, home: &Path) -> Result<Toolbox, ToolError> {
    let mut builder =
        Toolbox::builder(config).vault_index(Arc::new(LexicalIndex { home: home.to_path_buf() }));
    if config.rag.embed_model.is_some() && !config.rag.vault_roots().is_empty() {
        builder = builder.tool(Arc::new(RagQuery { config: config.clone(), home: home.to_path_buf() }));
    }
    builder.build()
}

/// `vault_search` through the FTS5 index of a vault, where one is built.
pub struct LexicalIndex {
    pub home: PathBuf,
}

impl VaultIndex for LexicalIndex {
    fn search(
        &self,
        vault: &str,
        _root: &Path,
        query: &str,
        limit: usize,
    ) -> Option<Result<Vec<SearchHit>, ToolError>> {
        let reader = match Reader::open(&self.home, vault) {
            Ok(r) => r,
            Err(RagError::NoIndex(_)) => return None,
            Err(e) => return Some(Err(ToolError::Failed(e.to_string()))),
        };
        let opts = QueryOptions { k: limit, mode: Mode::Lexical, budget_tokens: usize::MAX };
        Some(
            super::query::retrieve(&reader, query, None, &opts)
                .map(|found| {
                    found
                        .into_iter()
                        .map(|s| SearchHit {
                            line: u64::from(s.line_start),
                            text: s.snippet(300),
                            score: s.lexical.map(|r| r.score),
                            path: s.path,
                        })
                        .collect()
                })
                .map_err(|e| ToolError::Failed(e.to_string())),
        )
    }
}

/// Arguments of `rag_query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RagQueryArgs {
    /// What to look for, in words.
    pub query: String,
    /// The vault's name; optional when there is one vault (or a default).
    #[serde(default)]
    pub vault: Option<String>,
    /// How many sources (default 5, at most 20).
    #[serde(default)]
    pub k: Option<u32>,
}

struct RagQuery {
    config: Config,
    home: PathBuf,
}

impl Tool for RagQuery {
    fn info(&self) -> ToolInfo {
        let names: Vec<String> = self.config.rag.vault_roots().into_keys().collect();
        ToolInfo {
            name: "rag_query".into(),
            description: format!(
                "Search the user's markdown notes (lexical, semantic and link graph, fused) and return the \
                 best passages, each with its citation path#heading:lines. Vaults: {}.",
                names.join(", ")
            ),
            input_schema: crate::tools::schema_of::<RagQueryArgs>(),
            traits: ToolTraits { read_only: true, private: true, untrusted: false, egress: false },
            limits: Limits {
                timeout_secs: self.config.tools.vault.timeout_secs.max(30.0),
                max_output_bytes: self.config.tools.vault.max_output_bytes,
            },
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: RagQueryArgs = crate::tools::parse_args(args)?;
            let query = args.query.trim().to_owned();
            if query.is_empty() {
                return Err(ToolError::InvalidArgs("query is empty".into()));
            }
            let opts = QueryOptions {
                k: args.k.unwrap_or(5).clamp(1, 20) as usize,
                mode: Mode::Hybrid,
                budget_tokens: self.config.rag.context_tokens,
            };
            let searched = super::search(&self.config, &self.home, args.vault.as_deref(), &query, opts)
                .await
                .map_err(|e| match e {
                    RagError::Config(_) => ToolError::InvalidArgs(e.to_string()),
                    other => ToolError::Failed(other.to_string()),
                })?;
            let (vault, found) = (searched.vault, searched.sources);
            let mut text = String::new();
            for (i, s) in found.iter().enumerate() {
                let _ = write!(text, "[{}] {}\n{}\n\n", i + 1, s.cite(), s.text.trim());
            }
            if found.is_empty() {
                text.push_str("No passages found.\n");
            }
            let structured = serde_json::json!({ "vault": vault, "sources": found });
            Ok(ToolOutput::with_structured(text, structured))
        })
    }
}
