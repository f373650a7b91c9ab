//! Configuration: one serde struct with defaults, read from `ctl.toml` and
//! overridden by `CTL_…` environment variables (`__` separates nested keys:
//! `CTL_WORKER__CONCURRENCY=4`, `CTL_PROVIDERS__LOCAL__BASE_URL=...`).
//!
//! Precedence: flag > environment > file > defaults. API keys are never read
//! from the file itself, only from the variable or file it names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Top-level keys the environment may override; other `CTL_` variables
/// (`CTL_HOME`, `CTL_CONFIG`, `CTL_TOKEN`, ...) belong to other parts.
const ENV_KEYS: &[&str] = &[
    "default_model",
    "providers",
    "worker",
    "home",
    "prices",
    "skills",
    "rag",
    "tools",
    "mcp",
    "gateway",
    "alerts",
    "telemetry",
    "backend",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The data directory; `--home` and `CTL_HOME` take precedence.
    pub home: Option<PathBuf>,
    /// The model a job uses when it names none, as `provider:model`.
    pub default_model: Option<String>,
    /// Model backends by name; the name is the prefix in `provider:model`.
    pub providers: BTreeMap<String, ProviderConfig>,
    pub worker: WorkerConfig,
    /// Prices per model (`provider:model`), for the cost column of `ctl stats`.
    pub prices: BTreeMap<String, Price>,
    pub skills: SkillsConfig,
    /// Markdown vaults for retrieval and the vault tools.
    pub rag: RagConfig,
    /// The OpenAI- and Ollama-compatible API of `ctl serve`.
    pub gateway: GatewayConfig,
    /// The tools MCP clients and jobs can call (see [`crate::tools`]).
    pub tools: crate::tools::ToolsConfig,
    /// The MCP endpoint's guards (see [`crate::mcp`]).
    pub mcp: crate::mcp::McpConfig,
    /// What `ctl serve` alerts on, and how often.
    pub alerts: crate::alerts::AlertsConfig,
    /// Where traces go (the standard `OTEL_*` variables win).
    pub telemetry: crate::telemetry::TelemetryConfig,
    /// Where the queue, the event logs and the records live.
    pub backend: BackendConfig,
}

/// Which storage backend holds the queue, the event logs and the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The data directory: queue files, NDJSON logs, SQLite (one host).
    #[default]
    Fs,
    /// PostgreSQL, at `CTL_DATABASE_URL` (or a file named by
    /// `CTL_DATABASE_URL_FILE`): any number of hosts.
    Postgres,
}

/// `[backend]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// Event rows of jobs that finished longer ago than this are deleted
    /// (PostgreSQL); 0 keeps them.
    pub keep_events_days: u32,
    /// How long a worker's lease on its jobs lasts without a heartbeat
    /// (PostgreSQL). Heartbeats come every `worker.rescan_secs`.
    pub lease_secs: f64,
    /// Connections at most in each process's pool (PostgreSQL).
    pub pool_size: usize,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self { kind: BackendKind::Fs, keep_events_days: 0, lease_secs: 30.0, pool_size: 8 }
    }
}

/// `[gateway]`: limits of the OpenAI- and Ollama-compatible API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Requests one API token may make per minute (a burst of as many is
    /// allowed); 0 turns the limit off.
    pub requests_per_minute: u32,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self { requests_per_minute: 120, max_request_bytes: 8 * 1024 * 1024 }
    }
}

/// `[rag]`: the markdown vaults ctl reads, for retrieval (`ctl rag`) and
/// for the vault tools. `vault` is the vault named `default`; more are
/// named under `[rag.vaults.NAME]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RagConfig {
    /// The default vault's folder (`~` expands to the home directory).
    pub vault: Option<PathBuf>,
    /// More vaults, by name.
    pub vaults: BTreeMap<String, VaultConfig>,
    /// The model that embeds chunks and queries, as `provider:model`.
    pub embed_model: Option<String>,
    /// The chat model `ctl rag reindex --extract` asks for entities and
    /// relations, as `provider:model` (default: `default_model`).
    pub extract_model: Option<String>,
    /// Text put before a query when it is embedded (`"query: "` for E5).
    pub query_prefix: String,
    /// Text put before a passage when it is embedded (`"passage: "` for E5).
    pub passage_prefix: String,
    /// Paths left out of every vault: a name ending in `/` is a folder at
    /// any depth; others are globs (`*`, `**`, `?`) matched from the root.
    pub exclude: Vec<String>,
    /// Notes larger than this many bytes are skipped with a warning.
    pub max_file_bytes: u64,
    /// Target size of a chunk, in (estimated) tokens.
    pub chunk_tokens: usize,
    /// Tokens a chunk repeats from the end of the one before it.
    pub chunk_overlap: usize,
    /// Texts per embedding request.
    pub embed_batch: usize,
    /// Embedding requests in flight at once.
    pub embed_concurrency: usize,
    /// Tokens of retrieved text a query returns at most.
    pub context_tokens: usize,
    /// An optional reranker (`POST /v1/rerank`); off when unset.
    pub rerank: Option<RerankConfig>,
    /// Where the vectors live: `embedded` (flat files beside the index) or
    /// `qdrant` (the server at `CTL_QDRANT_URL`).
    pub vectors: VectorBackend,
    /// Where the note graph lives: `embedded` (tables of the index
    /// database) or `neo4j` (the server at `CTL_NEO4J_URI`).
    pub graph: GraphBackend,
}

/// `[rag] vectors`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorBackend {
    #[default]
    Embedded,
    Qdrant,
}

/// `[rag] graph`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GraphBackend {
    #[default]
    Embedded,
    Neo4j,
}

impl Default for RagConfig {
    fn default() -> Self {
        Self {
            vault: None,
            vaults: BTreeMap::new(),
            embed_model: None,
            extract_model: None,
            query_prefix: String::new(),
            passage_prefix: String::new(),
            exclude: vec![".obsidian/".into(), ".trash/".into(), ".git/".into()],
            max_file_bytes: 2 * 1024 * 1024,
            chunk_tokens: 400,
            chunk_overlap: 50,
            embed_batch: 32,
            embed_concurrency: 2,
            context_tokens: 3000,
            rerank: None,
            vectors: VectorBackend::Embedded,
            graph: GraphBackend::Embedded,
        }
    }
}

/// `[rag.rerank]`: a reranker speaking the common `POST /v1/rerank` shape
/// (llama.cpp's server, LocalAI and others).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerankConfig {
    /// The server's base URL, with `/v1`.
    pub url: String,
    /// The reranking model's name on that server.
    #[serde(default)]
    pub model: String,
    /// How many of the fused results are sent to the reranker.
    #[serde(default = "default_rerank_candidates")]
    pub candidates: usize,
    /// Seconds a rerank request may take; past it the fused order stands.
    #[serde(default = "default_rerank_timeout")]
    pub timeout_secs: f64,
}

fn default_rerank_timeout() -> f64 {
    10.0
}

fn default_rerank_candidates() -> usize {
    30
}

/// One named vault.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    pub path: PathBuf,
    /// More exclude patterns for this vault, on top of `[rag] exclude`.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl RagConfig {
    /// The vault name `vault = ...` is known by.
    pub const DEFAULT_VAULT: &'static str = "default";

    /// Every configured vault's name and folder, `~` expanded, by name.
    pub fn vault_roots(&self) -> BTreeMap<String, PathBuf> {
        let mut out: BTreeMap<String, PathBuf> =
            self.vaults.iter().map(|(name, v)| (name.clone(), expand_tilde(&v.path))).collect();
        if let Some(path) = &self.vault {
            out.insert(Self::DEFAULT_VAULT.to_owned(), expand_tilde(path));
        }
        out
    }

    /// The folder of the vault called `name`, or of the only/default vault
    /// when `name` is `None`.
    pub fn vault_root(&self, name: Option<&str>) -> Result<PathBuf, String> {
        let roots = self.vault_roots();
        match name {
            Some(n) => roots.get(n).cloned().ok_or_else(|| {
                let known: Vec<_> = roots.keys().cloned().collect();
                if known.is_empty() {
                    format!("no vault named {n:?}: no vault is configured (set [rag] vault = \"~/notes\")")
                } else {
                    format!("no vault named {n:?}; configured: {}", known.join(", "))
                }
            }),
            None if roots.len() == 1 => Ok(roots.into_values().next().unwrap_or_default()),
            None => roots.get(Self::DEFAULT_VAULT).cloned().ok_or_else(|| {
                if roots.is_empty() {
                    "no vault is configured: set [rag] vault = \"~/notes\" in the config".to_owned()
                } else {
                    let known: Vec<_> = roots.keys().cloned().collect();
                    format!("several vaults are configured ({}); name one", known.join(", "))
                }
            }),
        }
    }
}

/// `~/x` → `$HOME/x`; other paths unchanged.
pub fn expand_tilde(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// Where user skills live (see [`crate::skills::search_path`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SkillsConfig {
    /// Skill directories, searched in order before the built-ins; empty
    /// means `$XDG_CONFIG_HOME/ctl/skills`. `CTL_SKILLS_PATH` replaces it.
    pub paths: Vec<PathBuf>,
}

/// What a model costs, in any one currency, per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            home: None,
            default_model: None,
            providers: BTreeMap::new(),
            worker: WorkerConfig::default(),
            prices: BTreeMap::new(),
            skills: SkillsConfig::default(),
            rag: RagConfig::default(),
            gateway: GatewayConfig::default(),
            tools: crate::tools::ToolsConfig::default(),
            mcp: crate::mcp::McpConfig::default(),
            alerts: crate::alerts::AlertsConfig::default(),
            telemetry: crate::telemetry::TelemetryConfig::default(),
            backend: BackendConfig::default(),
        }
        .with_builtin_providers()
    }
}

/// The protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Ollama,
    Openai,
    Anthropic,
}

/// One model backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Base URL; for `openai` it includes the `/v1` part.
    #[serde(default)]
    pub base_url: String,
    /// Name of the environment variable that holds the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Path of a file that holds the API key.
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: f64,
    /// Longest silence allowed in a response stream.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: f64,
    /// The models' context window in tokens, when the server does not say
    /// (llama.cpp's server and Ollama do; OpenAI, vLLM and
    /// llama-cpp-python do not). Prompts that cannot fit fail at once.
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Requests in flight at once, across every worker on the host; jobs
    /// wait for a slot (see [`crate::limits`]).
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// Requests started per minute, across every worker on the host.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
}

fn default_connect_timeout() -> f64 {
    5.0
}

fn default_idle_timeout() -> f64 {
    120.0
}

impl ProviderConfig {
    fn new(kind: ProviderKind, base_url: String) -> Self {
        Self {
            kind,
            base_url,
            api_key_env: None,
            api_key_file: None,
            connect_timeout_secs: default_connect_timeout(),
            idle_timeout_secs: default_idle_timeout(),
            context_window: None,
            max_concurrency: None,
            requests_per_minute: None,
        }
    }

    /// The API key from the named variable (or the file its `_FILE`
    /// variable names) or from `api_key_file`, if one is configured.
    pub fn api_key(&self) -> Result<Option<String>, String> {
        if let Some(var) = &self.api_key_env {
            return match crate::secrets::from_env(var) {
                Ok(Some(key)) => Ok(Some(key.expose().to_owned())),
                Ok(None) => Err(format!("the API key variable {var} (or {var}_FILE) is not set")),
                Err(e) => Err(e.to_string()),
            };
        }
        if let Some(path) = &self.api_key_file {
            let path = expand_tilde(path);
            return std::fs::read_to_string(&path)
                .map(|s| Some(crate::secrets::Secret::new(s.trim()).expose().to_owned()))
                .map_err(|e| format!("cannot read API key file {}: {e}", path.display()));
        }
        Ok(None)
    }
}

/// How workers run jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Jobs one worker runs at once.
    pub concurrency: usize,
    /// Attempts before a job goes to `_failed` (crashes count).
    pub max_attempts: u32,
    /// First retry delay after a transient error; doubles each attempt.
    pub backoff_base_ms: u64,
    /// Longest retry delay.
    pub backoff_max_ms: u64,
    /// Seconds running jobs get to finish after SIGTERM before they are requeued.
    pub grace_secs: f64,
    /// Safety-net rescan of the queue and of dead workers' jobs, in seconds.
    pub rescan_secs: f64,
    /// Tools a job gets when it names none and its skills declare no
    /// `allowed-tools`.
    pub default_tools: Vec<String>,
    /// Rounds of tool calls a job may make before it fails.
    pub max_tool_rounds: u32,
    /// Longest one tool call may run, in seconds.
    pub tool_timeout_secs: f64,
    /// Wall time all of one attempt's tool calls may take, in seconds.
    pub tool_budget_secs: f64,
    /// Longest tool result a model sees, in bytes (the rest is cut, and
    /// the result says so).
    pub tool_result_max_bytes: usize,
    /// Tool calls of one round that run at once.
    pub max_parallel_tools: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            max_attempts: 3,
            backoff_base_ms: 1000,
            backoff_max_ms: 60_000,
            grace_secs: 30.0,
            rescan_secs: 5.0,
            default_tools: Vec::new(),
            max_tool_rounds: 8,
            tool_timeout_secs: 60.0,
            tool_budget_secs: 300.0,
            tool_result_max_bytes: 32 * 1024,
            max_parallel_tools: 4,
        }
    }
}

impl Config {
    /// Loads the config file (if any) and applies `CTL_…` overrides from `env`.
    ///
    /// `explicit` is `--config` or `CTL_CONFIG`: it must exist. Without it the
    /// default location is used when present.
    pub fn load<I>(explicit: Option<&Path>, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let (path, required) = match explicit {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (default_path(), false),
        };
        let mut text = String::new();
        if let Some(path) = &path {
            match std::fs::read_to_string(path) {
                Ok(t) => text = t,
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(ConfigError::Read { path: path.clone(), source });
                }
            }
        }
        Self::parse(&text, path.as_deref(), env)
    }

    /// Parses config text (as read from `path`, named in errors) and applies
    /// `CTL_…` overrides from `env`.
    pub fn parse<I>(text: &str, path: Option<&Path>, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let path = path.map(Path::to_path_buf);
        let mut table = text.parse::<toml::Table>().map_err(|e| {
            let message = one_line(&e.to_string());
            match &path {
                Some(path) => ConfigError::Parse { path: path.clone(), message },
                None => ConfigError::Invalid(message),
            }
        })?;
        apply_env(&mut table, env)?;
        let config: Self = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            let message = one_line(&e.to_string());
            match &path {
                Some(path) => ConfigError::Parse { path: path.clone(), message },
                None => ConfigError::Invalid(message),
            }
        })?;
        let config = config.with_builtin_providers();
        config.validate()?;
        Ok(config)
    }

    /// Adds the `ollama` provider every installation has, unless the user
    /// declared one by that name.
    fn with_builtin_providers(mut self) -> Self {
        self.providers.entry("ollama".to_owned()).or_insert_with(|| {
            let host = std::env::var("OLLAMA_HOST").unwrap_or_default();
            ProviderConfig::new(ProviderKind::Ollama, ollama_base_url(&host))
        });
        for p in self.providers.values_mut() {
            if p.base_url.is_empty() {
                p.base_url = match p.kind {
                    ProviderKind::Ollama => ollama_base_url(""),
                    ProviderKind::Openai => "https://api.openai.com/v1".to_owned(),
                    ProviderKind::Anthropic => "https://api.anthropic.com".to_owned(),
                };
            }
        }
        self
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (name, p) in &self.providers {
            if name.is_empty() || name.contains(':') {
                return Err(ConfigError::Invalid(format!(
                    "provider name {name:?} must be non-empty and contain no ':'"
                )));
            }
            if p.max_concurrency == Some(0) || p.requests_per_minute == Some(0) {
                return Err(ConfigError::Invalid(format!(
                    "provider {name}: max_concurrency and requests_per_minute must be at least 1"
                )));
            }
            if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "provider {name}: base_url {:?} must start with http:// or https://",
                    p.base_url
                )));
            }
        }
        if self.worker.concurrency == 0 {
            return Err(ConfigError::Invalid("worker.concurrency must be at least 1".into()));
        }
        if self.worker.max_attempts == 0 {
            return Err(ConfigError::Invalid("worker.max_attempts must be at least 1".into()));
        }
        self.tools.validate().map_err(ConfigError::Invalid)?;
        self.alerts.validate().map_err(ConfigError::Invalid)?;
        Ok(())
    }

    /// Splits `provider:model` into the provider name and the backend's model
    /// name. A prefix that names no provider belongs to the model itself
    /// (`qwen2.5:7b` means `ollama:qwen2.5:7b`).
    pub fn resolve_model(&self, model: Option<&str>) -> Result<(String, String), String> {
        let model = model
            .or(self.default_model.as_deref())
            .ok_or("no model given: pass --model provider:model or set default_model in the config")?;
        if let Some((provider, name)) = model.split_once(':')
            && self.providers.contains_key(provider)
        {
            if name.is_empty() {
                return Err(format!("model {model:?} names no model after the provider"));
            }
            return Ok((provider.to_owned(), name.to_owned()));
        }
        if model.is_empty() {
            return Err("the model name is empty".to_owned());
        }
        Ok(("ollama".to_owned(), model.to_owned()))
    }
}

/// `$XDG_CONFIG_HOME/ctl/ctl.toml` (or `~/.config/ctl/ctl.toml`).
pub fn default_path() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("ctl").join("ctl.toml"))
}

/// `$XDG_DATA_HOME/ctl` (or `~/.local/share/ctl`).
pub fn default_home() -> Option<PathBuf> {
    xdg_dir("XDG_DATA_HOME", ".local/share").map(|d| d.join("ctl"))
}

fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)),
    }
}

/// Ollama's own rules for `OLLAMA_HOST`: a bare host or host:port, with or
/// without a scheme, defaulting to 127.0.0.1:11434.
fn ollama_base_url(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.is_empty() {
        return "http://127.0.0.1:11434".to_owned();
    }
    let (scheme, rest) = match host.split_once("://") {
        Some((s, r)) => (s, r),
        None => ("http", host),
    };
    let rest =
        if rest.starts_with('[') || rest.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            rest.to_owned()
        } else {
            format!("{rest}:11434")
        };
    let rest = rest.replace("0.0.0.0", "127.0.0.1");
    format!("{scheme}://{rest}")
}

/// Overlays `CTL_A__B=value` as `a.b = value`. Values parse as TOML
/// (numbers, booleans, arrays) when they can, and are strings otherwise.
fn apply_env<I>(table: &mut toml::Table, env: I) -> Result<(), ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut vars: Vec<_> = env.into_iter().filter(|(k, _)| k.starts_with("CTL_")).collect();
    vars.sort();
    for (var, raw) in vars {
        let path: Vec<String> = var["CTL_".len()..].split("__").map(str::to_ascii_lowercase).collect();
        if !ENV_KEYS.contains(&path[0].as_str()) || path.iter().any(String::is_empty) {
            continue;
        }
        let value = parse_env_value(&raw);
        let mut node = &mut *table;
        for key in &path[..path.len() - 1] {
            let entry = node.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry.as_table_mut().ok_or_else(|| ConfigError::Env {
                var: var.clone(),
                message: format!("{key} is not a table"),
            })?;
        }
        node.insert(path[path.len() - 1].clone(), value);
    }
    Ok(())
}

fn parse_env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn no_file_gives_builtin_ollama() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        // An explicit path must exist.
        assert!(Config::load(Some(&missing), env(&[])).is_err());
        let c = Config::default();
        assert_eq!(c.providers["ollama"].kind, ProviderKind::Ollama);
        assert_eq!(c.worker.max_attempts, 3);
    }

    #[test]
    fn issue_provider_shape_and_env_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.toml");
        std::fs::write(
            &path,
            r#"
default_model = "local:tiny"
[providers.local]
kind = "openai"                       # ollama | openai | anthropic
base_url = "http://127.0.0.1:18082/v1"
api_key_env = "LOCAL_API_KEY"
"#,
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("CTL_WORKER__CONCURRENCY", "7"),
                ("CTL_PROVIDERS__LOCAL__BASE_URL", "http://127.0.0.1:9/v1"),
                ("CTL_TOKEN", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.default_model.as_deref(), Some("local:tiny"));
        assert_eq!(c.providers["local"].kind, ProviderKind::Openai);
        assert_eq!(c.providers["local"].base_url, "http://127.0.0.1:9/v1");
        assert_eq!(c.providers["local"].api_key_env.as_deref(), Some("LOCAL_API_KEY"));
        assert_eq!(c.worker.concurrency, 7);
        assert!(c.providers.contains_key("ollama"));
        assert_eq!(c.resolve_model(None).unwrap(), ("local".into(), "tiny".into()));
        assert_eq!(c.resolve_model(Some("qwen2.5:7b")).unwrap(), ("ollama".into(), "qwen2.5:7b".into()));
        assert_eq!(
            c.resolve_model(Some("ollama:qwen2.5:7b")).unwrap(),
            ("ollama".into(), "qwen2.5:7b".into())
        );
    }

    #[test]
    fn unknown_keys_and_bad_urls_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.toml");
        std::fs::write(&path, "defualt_model = \"x\"\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("defualt_model"), "{err}");
        std::fs::write(&path, "[providers.x]\nkind = \"openai\"\nbase_url = \"ftp://x\"\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("must start with http"), "{err}");
    }

    #[test]
    fn ollama_host_forms() {
        assert_eq!(ollama_base_url(""), "http://127.0.0.1:11434");
        assert_eq!(ollama_base_url("gpu.lan"), "http://gpu.lan:11434");
        assert_eq!(ollama_base_url("0.0.0.0:9999"), "http://127.0.0.1:9999");
        assert_eq!(ollama_base_url("https://o.example.com:443/"), "https://o.example.com:443");
    }

    #[test]
    fn example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ops/ctl.example.toml");
        let c = Config::load(Some(&path), env(&[])).unwrap();
        assert!(c.providers.len() >= 3, "{:?}", c.providers.keys());
        // The example documents the defaults.
        let defaults = crate::tools::ToolsConfig::default();
        assert_eq!(serde_json::to_value(&c.tools).unwrap(), serde_json::to_value(&defaults).unwrap());
        let mcp = crate::mcp::McpConfig::default();
        assert_eq!(serde_json::to_value(&c.mcp).unwrap(), serde_json::to_value(&mcp).unwrap());
    }
}
