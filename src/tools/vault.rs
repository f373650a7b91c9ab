//! `vault_list`, `vault_read`, `vault_search`: the markdown vaults of
//! `[rag]`, read-only and confined beneath each vault's root
//! ([`super::beneath`]).
//!
//! `vault_search` asks a [`VaultIndex`] first (the RAG lexical index, when
//! one is built for that vault) and otherwise searches the notes literally
//! ([`literal_search`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::beneath::Root;
use super::{BoxFuture, Limits, Tool, ToolError, ToolInfo, ToolOutput, ToolTraits, VaultConfig};

/// One match of a vault search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The note's path from the vault root.
    pub path: String,
    /// 1-based line of the match (the first line of a chunk, for an index).
    pub line: u64,
    /// The matching line or passage.
    pub text: String,
    /// The index's score, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// A search index over a vault (the RAG lexical index). Called on the
/// blocking pool; `None` means "no index for this vault", and the literal
/// search runs instead.
pub trait VaultIndex: Send + Sync + 'static {
    fn search(
        &self,
        vault: &str,
        root: &Path,
        query: &str,
        limit: usize,
    ) -> Option<Result<Vec<SearchHit>, ToolError>>;
}

/// The configured vaults and the settings the three tools share.
pub struct Vaults {
    rag: crate::config::RagConfig,
    roots: BTreeMap<String, PathBuf>,
    cfg: VaultConfig,
    index: Option<Arc<dyn VaultIndex>>,
}

impl Vaults {
    pub fn new(rag: crate::config::RagConfig, cfg: VaultConfig, index: Option<Arc<dyn VaultIndex>>) -> Self {
        Self { roots: rag.vault_roots(), rag, cfg, index }
    }

    /// The vault's name and root: the one named, or the only/default one.
    fn pick(&self, name: Option<&str>) -> Result<(String, PathBuf), ToolError> {
        let root = self.rag.vault_root(name).map_err(ToolError::InvalidArgs)?;
        let name = match name {
            Some(n) => n.to_owned(),
            None => self.roots.iter().find(|(_, p)| **p == root).map(|(n, _)| n.clone()).unwrap_or_default(),
        };
        Ok((name, root))
    }

    fn open(&self, name: Option<&str>) -> Result<(String, PathBuf, Root), ToolError> {
        let (name, path) = self.pick(name)?;
        let root = Root::open(&path).map_err(|e| ToolError::Failed(format!("vault {name}: {e}")))?;
        Ok((name, path, root))
    }

    fn vault_schema_note(&self) -> String {
        let names: Vec<_> = self.roots.keys().cloned().collect();
        if names.len() == 1 {
            format!("One vault is configured ({}).", names[0])
        } else {
            format!("Vaults: {}.", names.join(", "))
        }
    }

    fn limits(&self) -> Limits {
        Limits { timeout_secs: self.cfg.timeout_secs, max_output_bytes: self.cfg.max_output_bytes }
    }
}

/// The three tools over one set of vaults.
pub fn tools(vaults: &Arc<Vaults>) -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(VaultList(vaults.clone())),
        Arc::new(VaultRead(vaults.clone())),
        Arc::new(VaultSearch(vaults.clone())),
    ]
}

const TRAITS: ToolTraits = ToolTraits { read_only: true, private: true, untrusted: false, egress: false };

/// Arguments of `vault_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// The vault's name; optional when there is one vault (or a default).
    #[serde(default)]
    pub vault: Option<String>,
    /// A folder inside the vault, relative to its root (default: the root).
    #[serde(default)]
    pub path: Option<String>,
    /// List the whole tree below the folder.
    #[serde(default)]
    pub recursive: bool,
}

struct VaultList(Arc<Vaults>);

impl Tool for VaultList {
    fn info(&self) -> ToolInfo {
        ToolInfo {
            name: "vault_list".into(),
            description: format!(
                "List the notes and folders of a markdown vault (at most {} entries). {}",
                self.0.cfg.max_list_entries,
                self.0.vault_schema_note()
            ),
            input_schema: super::schema_of::<ListArgs>(),
            traits: TRAITS,
            limits: self.0.limits(),
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        let vaults = self.0.clone();
        Box::pin(async move {
            let args: ListArgs = super::parse_args(args)?;
            super::blocking(move || {
                let (name, _, root) = vaults.open(args.vault.as_deref())?;
                let rel = args.path.unwrap_or_default();
                let (entries, more) =
                    root.list(&rel, args.recursive, vaults.cfg.max_list_entries).map_err(ToolError::from)?;
                let mut text = String::new();
                for e in &entries {
                    let _ = match (e.kind, e.size) {
                        (super::beneath::Kind::Dir, _) => writeln!(text, "{}/", e.path),
                        (_, Some(size)) => writeln!(text, "{} ({size} bytes)", e.path),
                        (kind, None) => writeln!(text, "{} ({kind:?})", e.path),
                    };
                }
                if entries.is_empty() {
                    text.push_str("(empty)\n");
                }
                if more {
                    let _ = writeln!(
                        text,
                        "[more entries not shown: the limit is {}]",
                        vaults.cfg.max_list_entries
                    );
                }
                let structured = serde_json::json!({ "vault": name, "entries": entries, "more": more });
                Ok(ToolOutput::with_structured(text, structured))
            })
            .await
        })
    }
}

/// Arguments of `vault_read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// The vault's name; optional when there is one vault (or a default).
    #[serde(default)]
    pub vault: Option<String>,
    /// The note's path, relative to the vault root (`notes/a.md`).
    pub path: String,
    /// First line to return (1-based), for large notes.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub start_line: Option<u64>,
    /// Last line to return (inclusive).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub end_line: Option<u64>,
}

struct VaultRead(Arc<Vaults>);

impl Tool for VaultRead {
    fn info(&self) -> ToolInfo {
        ToolInfo {
            name: "vault_read".into(),
            description: format!(
                "Read a note of a markdown vault, whole (up to {} bytes) or by line range. {}",
                self.0.cfg.max_read_bytes,
                self.0.vault_schema_note()
            ),
            input_schema: super::schema_of::<ReadArgs>(),
            traits: TRAITS,
            limits: self.0.limits(),
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        let vaults = self.0.clone();
        Box::pin(async move {
            let args: ReadArgs = super::parse_args(args)?;
            if let (Some(s), Some(e)) = (args.start_line, args.end_line)
                && e < s
            {
                return Err(ToolError::InvalidArgs(format!("end_line {e} is before start_line {s}")));
            }
            if args.start_line == Some(0) || args.end_line == Some(0) {
                return Err(ToolError::InvalidArgs("lines are numbered from 1".into()));
            }
            super::blocking(move || {
                let (name, _, root) = vaults.open(args.vault.as_deref())?;
                let (file, size) = root.open_file(&args.path).map_err(ToolError::from)?;
                read_note(file, size, &args, vaults.cfg.max_read_bytes).map(|(text, s)| {
                    let mut s = s;
                    s["vault"] = name.into();
                    ToolOutput::with_structured(text, s)
                })
            })
            .await
        })
    }
}

/// A note's text, whole or by line range, at most `cap` bytes.
fn read_note(
    file: std::fs::File,
    size: u64,
    args: &ReadArgs,
    cap: usize,
) -> Result<(String, serde_json::Value), ToolError> {
    let io = |e: std::io::Error| ToolError::Failed(format!("{}: {e}", args.path));
    let ranged = args.start_line.is_some() || args.end_line.is_some();
    let mut buf = Vec::new();
    let mut truncated = false;
    let (first, mut last) = (args.start_line.unwrap_or(1), 0u64);
    if ranged {
        let end = args.end_line.unwrap_or(u64::MAX);
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            // One line is capped too: a note with no newlines stays bounded.
            let read = reader.by_ref().take(cap as u64 + 1).read_until(b'\n', &mut line).map_err(io)?;
            if read == 0 {
                break;
            }
            n += 1;
            if n < first {
                continue;
            }
            if n > end {
                break;
            }
            if buf.len() + line.len() > cap {
                truncated = true;
                break;
            }
            buf.extend_from_slice(&line);
            last = n;
        }
    } else {
        file.take(cap as u64 + 1).read_to_end(&mut buf).map_err(io)?;
        if buf.len() > cap {
            buf.truncate(cap);
            truncated = true;
        }
    }
    if buf.contains(&0) {
        return Err(ToolError::Failed(format!("{} is a binary file, not a note", args.path)));
    }
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    if truncated {
        let lines = if ranged { format!(" (lines {first}-{last} shown)") } else { String::new() };
        let _ = writeln!(
            text,
            "\n[the note is {size} bytes; {} shown{lines}. Ask for start_line and end_line to read further.]",
            buf.len()
        );
    }
    let structured = serde_json::json!({
        "path": args.path,
        "size": size,
        "start_line": ranged.then_some(first),
        "end_line": ranged.then_some(last),
        "truncated": truncated,
    });
    Ok((text, structured))
}

/// Arguments of `vault_search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// The vault's name; optional when there is one vault (or a default).
    #[serde(default)]
    pub vault: Option<String>,
    /// Words to look for.
    pub query: String,
    /// Only notes below this folder.
    #[serde(default)]
    pub path: Option<String>,
    /// Matches wanted (at most the configured cap).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_results: Option<u32>,
}

struct VaultSearch(Arc<Vaults>);

impl Tool for VaultSearch {
    fn info(&self) -> ToolInfo {
        ToolInfo {
            name: "vault_search".into(),
            description: format!(
                "Search the notes of a markdown vault; returns path, line and text of each match (at most {}). {}",
                self.0.cfg.max_search_results,
                self.0.vault_schema_note()
            ),
            input_schema: super::schema_of::<SearchArgs>(),
            traits: TRAITS,
            limits: self.0.limits(),
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        let vaults = self.0.clone();
        Box::pin(async move {
            let args: SearchArgs = super::parse_args(args)?;
            let query = args.query.trim().to_owned();
            if query.is_empty() {
                return Err(ToolError::InvalidArgs("query is empty".into()));
            }
            let limit = args.max_results.map_or(vaults.cfg.max_search_results, |n| {
                (n as usize).clamp(1, vaults.cfg.max_search_results)
            });
            super::blocking(move || {
                let (name, path, root) = vaults.open(args.vault.as_deref())?;
                let folder = args.path.unwrap_or_default();
                let indexed = if folder.is_empty() {
                    vaults.index.as_ref().and_then(|ix| ix.search(&name, &path, &query, limit))
                } else {
                    None
                };
                let (hits, how) = match indexed {
                    Some(hits) => (hits?, "index"),
                    None => (
                        literal_search(&root, &folder, &query, limit, vaults.cfg.max_search_file_bytes)?,
                        "literal",
                    ),
                };
                let mut text = String::new();
                for h in &hits {
                    let _ = writeln!(text, "{}:{}: {}", h.path, h.line, h.text);
                }
                if hits.is_empty() {
                    let _ = writeln!(text, "No matches for {query:?}.");
                }
                let structured = serde_json::json!({ "vault": name, "search": how, "hits": hits });
                Ok(ToolOutput::with_structured(text, structured))
            })
            .await
        })
    }
}

/// The longest line text a hit shows, in characters.
const HIT_CHARS: usize = 240;

/// Case-insensitive literal search of the notes below `folder`: every line
/// that holds all the query's words, in path order, at most `limit`. Files
/// larger than `max_file_bytes` and binary files are skipped.
pub fn literal_search(
    root: &Root,
    folder: &str,
    query: &str,
    limit: usize,
    max_file_bytes: usize,
) -> Result<Vec<SearchHit>, ToolError> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut hits = Vec::new();
    root.each_file(folder, &mut |path, file, size| {
        if size as usize > max_file_bytes {
            return true;
        }
        let mut bytes = Vec::new();
        if file.take(max_file_bytes as u64).read_to_end(&mut bytes).is_err() || bytes.contains(&0) {
            return true;
        }
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            if words.iter().all(|w| lower.contains(w.as_str())) {
                let shown: String = line.trim().chars().take(HIT_CHARS).collect();
                hits.push(SearchHit { path: path.to_owned(), line: i as u64 + 1, text: shown, score: None });
                if hits.len() >= limit {
                    return false;
                }
            }
        }
        true
    })
    .map_err(ToolError::from)?;
    Ok(hits)
}
