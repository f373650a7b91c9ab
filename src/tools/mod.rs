//! Tools that models and MCP clients can call: one implementation, served
//! two ways (to MCP hosts by `ctl mcp`, and to jobs by the worker's tool
//! loop). This room knows no jobs and no HTTP server.
//!
//! A tool is a name, a description, a JSON Schema for its input, what it
//! touches ([`ToolTraits`]), limits and an async handler ([`Tool`]).
//! [`Toolbox`] is the one entry point: it holds the tools the config turns
//! on, validates arguments, applies each tool's time and output limits,
//! and records every call. Handlers are cancel-safe: dropping the future
//! stops the work (child processes are killed, requests dropped).
//!
//! The guards live beside the tools: [`net`] (addresses a request may
//! reach), [`beneath`] (paths confined beneath a root) and [`sandbox`]
//! (bubblewrap, rlimits and landlock for `run_code`).

pub mod beneath;
mod config;
mod fetch;
pub mod net;
mod record;
mod run_code;
pub mod sandbox;
mod skill_read;
mod vault;
mod web_search;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use config::{FetchConfig, RunCodeConfig, SkillReadConfig, ToolsConfig, VaultConfig, WebSearchConfig};
pub use net::{BoxFuture, Resolve, SystemResolver};
pub use record::{CallRecord, Recorder, StoreRecorder};
pub use skill_read::{SkillFile, read_skill_file, skill_files};
pub use vault::{SearchHit, VaultIndex, literal_search};

/// What a tool touches, for the guards of the tool loop (the egress guard
/// and the reuse of read-only results after a crash).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolTraits {
    /// Calling it twice changes nothing outside ctl (search, fetch, vault
    /// reads, retrieval): a recorded result may be reused.
    pub read_only: bool,
    /// It reads the user's private data (vault, retrieval, skill files).
    pub private: bool,
    /// Its output comes from outside and may carry instructions (fetched
    /// pages, search results, external servers).
    pub untrusted: bool,
    /// It can send data out of the machine (fetch, web search, external servers).
    pub egress: bool,
}

/// A tool as listed to models and MCP clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    #[schema(value_type = Object)]
    pub input_schema: serde_json::Value,
    pub traits: ToolTraits,
    /// The limits [`Toolbox::call`] applies.
    pub limits: Limits,
}

/// A tool's limits, applied by [`Toolbox::call`] around its handler.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limits {
    /// Wall-clock time for one call, in seconds.
    pub timeout_secs: f64,
    /// Bytes of text handed back; more is cut, and the result says so.
    pub max_output_bytes: usize,
}

/// What a call returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// The text a model or MCP client reads.
    pub text: String,
    /// The same result as JSON, where a tool has a useful shape for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<serde_json::Value>,
    /// The text was cut at the tool's `max_output_bytes` (the text ends
    /// with a line that says so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl ToolOutput {
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }

    pub fn with_structured(text: impl Into<String>, structured: serde_json::Value) -> Self {
        Self { text: text.into(), structured: Some(structured), truncated: false }
    }
}

/// Why a call did not return a result. The message is fit for the model
/// (and the user): one line, no secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    #[error("no tool named {0:?}")]
    Unknown(String),
    #[error("tool {0} is turned off in the config")]
    Disabled(String),
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    /// A guard refused the call (SSRF, path escape, sandbox missing, ...).
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("{0}")]
    Failed(String),
}

impl ToolError {
    /// The short name recorded as a call's outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            ToolError::Unknown(_) => "unknown",
            ToolError::Disabled(_) => "disabled",
            ToolError::InvalidArgs(_) => "invalid",
            ToolError::Refused(_) => "refused",
            ToolError::Timeout(_) => "timeout",
            ToolError::Failed(_) => "error",
        }
    }
}

impl From<beneath::BeneathError> for ToolError {
    fn from(e: beneath::BeneathError) -> Self {
        use beneath::BeneathError as B;
        match e {
            B::Refused { .. } | B::NotRegular { .. } => ToolError::Refused(e.to_string()),
            B::NotFound(_) | B::NotDirectory(_) => ToolError::InvalidArgs(e.to_string()),
            B::Io { .. } => ToolError::Failed(e.to_string()),
        }
    }
}

/// One tool: its description and its handler.
pub trait Tool: Send + Sync + 'static {
    fn info(&self) -> ToolInfo;
    /// Runs one call with already-parsed JSON arguments. The arguments are
    /// validated here (against the same type the schema came from).
    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>>;
}

/// The JSON Schema of `T`, as tools list it (no `$schema` or `title`).
/// Subschemas are inlined and optional fields are plain (not nullable), so
/// the schema reads simply for models and grammar-constrained decoders.
pub fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::RecursiveTransform(|schema: &mut schemars::Schema| {
            // `Option<T>`: `"type": ["T", "null"]` becomes `"type": "T"`, and
            // its `"default": null` goes.
            if let Some(serde_json::Value::Array(types)) = schema.get("type")
                && types.len() == 2
                && types.iter().any(|t| t == "null")
            {
                let kept = types.iter().find(|t| *t != "null").cloned().unwrap_or_default();
                schema.insert("type".into(), kept);
                if schema.get("default") == Some(&serde_json::Value::Null) {
                    schema.remove("default");
                }
            }
        }))
        .into_generator();
    let mut v = serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
        map.remove("description");
    }
    v
}

/// Parses a tool's arguments; unknown fields and wrong types are one-line
/// errors.
pub fn parse_args<T: serde::de::DeserializeOwned>(args: serde_json::Value) -> Result<T, ToolError> {
    let args = if args.is_null() { serde_json::Value::Object(serde_json::Map::new()) } else { args };
    if !args.is_object() {
        return Err(ToolError::InvalidArgs("the arguments must be a JSON object".into()));
    }
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArgs(e.to_string()))
}

/// Runs blocking work (files, child setup) off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ToolError> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ToolError::Failed(format!("the tool panicked: {e}")))?
}

/// Each enabled tool by name, with its description made once.
type Registry = BTreeMap<String, (Arc<dyn Tool>, ToolInfo)>;

/// The enabled tools, built from the config. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Toolbox {
    /// Each tool with its description, made once.
    tools: Arc<Registry>,
    disabled: Arc<Vec<String>>,
    recorder: Option<Arc<dyn Recorder>>,
    /// External MCP servers (`[mcp.servers]`), whose tools are `NAME.tool`.
    servers: crate::mcp::Servers,
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Toolbox")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Toolbox`]: the config, plus the seams tests and other rooms
/// plug into (a resolver, the RAG index behind `vault_search`).
pub struct ToolboxBuilder<'a> {
    config: &'a crate::config::Config,
    resolver: Arc<dyn Resolve>,
    vault_index: Option<Arc<dyn VaultIndex>>,
    extra: Vec<Arc<dyn Tool>>,
}

impl ToolboxBuilder<'_> {
    /// Host names resolve through `resolver` instead of the system's.
    #[must_use]
    pub fn resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
    }

    /// `vault_search` asks `index` first and searches literally only where
    /// it has no index.
    #[must_use]
    pub fn vault_index(mut self, index: Arc<dyn VaultIndex>) -> Self {
        self.vault_index = Some(index);
        self
    }

    /// Adds a tool built elsewhere (`rag_query`); `[tools] disabled` applies.
    #[must_use]
    pub fn tool(mut self, tool: Arc<dyn Tool>) -> Self {
        self.extra.push(tool);
        self
    }

    pub fn build(self) -> Result<Toolbox, ToolError> {
        let cfg = &self.config.tools;
        cfg.validate().map_err(ToolError::InvalidArgs)?;
        let mut list: Vec<Arc<dyn Tool>> = Vec::new();
        if cfg.fetch.enabled {
            list.push(Arc::new(fetch::Fetch::new(cfg.fetch.clone(), self.resolver.clone())?));
        }
        if cfg.web_search.enabled
            && let Some(url) = &cfg.web_search.searxng_url
        {
            list.push(Arc::new(web_search::WebSearch::new(cfg.web_search.clone(), url)?));
        }
        if cfg.vault.enabled && !self.config.rag.vault_roots().is_empty() {
            let vaults = Arc::new(vault::Vaults::new(
                self.config.rag.clone(),
                cfg.vault.clone(),
                self.vault_index.clone(),
            ));
            list.extend(vault::tools(&vaults));
        }
        if cfg.run_code.enabled {
            list.push(Arc::new(run_code::RunCode::new(cfg.run_code.clone())));
        }
        if cfg.skill_read.enabled {
            let dirs = crate::skills::search_path(self.config);
            list.push(Arc::new(skill_read::SkillRead::new(dirs, cfg.skill_read.clone())));
        }
        list.extend(self.extra);
        let servers = crate::mcp::Servers::new(&self.config.mcp.servers).map_err(ToolError::InvalidArgs)?;
        let tools = list
            .into_iter()
            .map(|t| {
                let info = t.info();
                (info.name.clone(), (t, info))
            })
            .filter(|(name, _)| !cfg.disabled.contains(name))
            .collect();
        Ok(Toolbox {
            tools: Arc::new(tools),
            disabled: Arc::new(cfg.disabled.clone()),
            recorder: None,
            servers,
        })
    }
}

impl Toolbox {
    /// The tools `config` turns on, with the system resolver.
    pub fn from_config(config: &crate::config::Config) -> Result<Self, ToolError> {
        Self::builder(config).build()
    }

    pub fn builder(config: &crate::config::Config) -> ToolboxBuilder<'_> {
        ToolboxBuilder { config, resolver: Arc::new(SystemResolver), vault_index: None, extra: Vec::new() }
    }

    /// The same tools, with every call recorded by `recorder`.
    #[must_use]
    pub fn with_recorder(&self, recorder: Arc<dyn Recorder>) -> Self {
        Self { recorder: Some(recorder), ..self.clone() }
    }

    /// The enabled tools, sorted by name.
    pub fn list(&self) -> Vec<ToolInfo> {
        self.tools.values().map(|(_, info)| info.clone()).collect()
    }

    /// A built-in tool, or an external server's (`server.tool`) as the
    /// server listed it when it last started.
    pub fn info(&self, name: &str) -> Option<ToolInfo> {
        match self.tools.get(name) {
            Some((_, info)) => Some(info.clone()),
            None => self.servers.cached_info(name),
        }
    }

    /// The external MCP servers.
    pub fn servers(&self) -> &crate::mcp::Servers {
        &self.servers
    }

    /// Starts the external servers `names` call on and expands `server.*`
    /// to the tools the server lists, so that [`Toolbox::info`] knows them.
    pub async fn prepare(&self, names: &[String]) -> Result<Vec<String>, ToolError> {
        let mut out = Vec::new();
        for name in names {
            let Some((server, tool)) = crate::mcp::client::split_name(name) else {
                out.push(name.clone());
                continue;
            };
            let listed = self.servers.tools(server).await?;
            if tool == "*" {
                out.extend(listed.into_iter().map(|t| t.name));
            } else if listed.iter().any(|t| &t.name == name) {
                out.push(name.clone());
            } else {
                return Err(ToolError::Unknown(format!(
                    "{name} (MCP server {server} lists {})",
                    listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(out)
    }

    /// Validates `args`, applies the tool's limits (timeout, output cap: a
    /// truncated result says so), runs it and records the call. Cancel-safe:
    /// dropping the future stops the tool.
    pub async fn call(&self, name: &str, args: serde_json::Value) -> Result<ToolOutput, ToolError> {
        let mut pending = self.recorder.clone().map(|recorder| Pending {
            recorder,
            started: Instant::now(),
            // A client can name any tool; keep what is recorded short.
            tool: name.chars().take(64).collect(),
            args_sha256: record::args_hash(&args),
            done: false,
        });
        let result = self.run(name, args).await;
        if let Some(p) = &mut pending {
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => e.outcome(),
            };
            let (recorder, rec) = p.finish(outcome, result.as_ref().map_or(0, |o| o.text.len() as u64));
            if let Err(e) = tokio::task::spawn_blocking(move || recorder.record(&rec)).await {
                tracing::warn!("recording a tool call failed: {e}");
            }
        }
        result
    }

    async fn run(&self, name: &str, args: serde_json::Value) -> Result<ToolOutput, ToolError> {
        if let Some((tool, info)) = self.tools.get(name) {
            return limited(info.limits, tool.call(args)).await;
        }
        if self.disabled.iter().any(|d| d == name) {
            return Err(ToolError::Disabled(name.to_owned()));
        }
        match crate::mcp::client::split_name(name).and_then(|(server, _)| self.servers.limits(server)) {
            Some(limits) => limited(limits, self.servers.call(name, args)).await,
            None => Err(ToolError::Unknown(name.to_owned())),
        }
    }
}

/// Runs `call` within `limits`: cut at the timeout, the text capped.
async fn limited(
    limits: Limits,
    call: impl Future<Output = Result<ToolOutput, ToolError>>,
) -> Result<ToolOutput, ToolError> {
    let timeout = Duration::from_secs_f64(limits.timeout_secs);
    let out = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| ToolError::Timeout(timeout.as_millis() as u64))??;
    Ok(cap_output(out, limits.max_output_bytes))
}

/// A call being made, to be recorded when it ends, or as `cancelled` when
/// its future is dropped first.
struct Pending {
    recorder: Arc<dyn Recorder>,
    started: Instant,
    tool: String,
    args_sha256: String,
    done: bool,
}

impl Pending {
    fn finish(&mut self, outcome: &'static str, bytes: u64) -> (Arc<dyn Recorder>, CallRecord) {
        self.done = true;
        let rec = CallRecord {
            ts: jiff::Timestamp::now(),
            tool: std::mem::take(&mut self.tool),
            args_sha256: std::mem::take(&mut self.args_sha256),
            duration_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            outcome,
            bytes,
        };
        (self.recorder.clone(), rec)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // A finished call has been recorded; one whose future was dropped
        // mid-call is recorded now, as cancelled.
        if !self.done
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let (recorder, rec) = self.finish("cancelled", 0);
            rt.spawn_blocking(move || recorder.record(&rec));
        }
    }
}

/// Cuts `out.text` to `max` bytes (at a character boundary) and says so.
fn cap_output(mut out: ToolOutput, max: usize) -> ToolOutput {
    if out.text.len() <= max {
        return out;
    }
    let total = out.text.len();
    let mut cut = max;
    while !out.text.is_char_boundary(cut) {
        cut -= 1;
    }
    out.text.truncate(cut);
    let _ = write!(out.text, "\n\n[truncated: showing {cut} of {total} bytes]");
    out.truncated = true;
    out
}

/// The names of every tool ctl has, whether or not the config turns it on.
pub const ALL_TOOLS: &[&str] =
    &["fetch", "run_code", "skill_read", "vault_list", "vault_read", "vault_search", "web_search"];

#[cfg(test)]
mod tests;
