//! External MCP servers (`[mcp.servers.NAME]`) whose tools a job may call,
//! as `NAME.tool`. A server is a child process spoken to over stdio, or a
//! streamable HTTP endpoint; rmcp's client does the protocol.
//!
//! [`Servers`] starts a server when a job first needs it, lists its tools
//! once per start, starts it again when it has died (a call on a dead
//! server fails; the next one starts it afresh), and stops servers that
//! have been idle for `idle_secs`. A child gets a cleared environment: only
//! the variables its `env` list names are passed on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::tools::{Limits, ToolError, ToolInfo, ToolOutput, ToolTraits};

/// `[mcp.servers.NAME]`: one external MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The program and its arguments, run as a child over stdio
    /// (`["uvx", "mcp-server-git"]`).
    pub command: Vec<String>,
    /// A streamable HTTP endpoint (`https://host/mcp`), instead of `command`.
    pub url: Option<String>,
    /// Environment variables passed to the child; it gets no others.
    pub env: Vec<String>,
    /// The variable (or `VAR_FILE`) holding a bearer token for `url`.
    pub token_env: Option<String>,
    /// Its output is trusted (it is not marked untrusted for the egress
    /// guard). An external server can always send data out.
    pub trusted: bool,
    /// It reads private data: after a call to it, a job's egress calls are
    /// refused like after a vault read.
    pub private: bool,
    /// Seconds without a call before the server is stopped.
    pub idle_secs: u64,
    /// Seconds to start, connect and list the tools.
    pub start_timeout_secs: f64,
    /// Longest one call may run, in seconds.
    pub timeout_secs: f64,
    /// Bytes of a result the model sees; more is cut, and it says so.
    pub max_output_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            command: Vec::new(),
            url: None,
            env: Vec::new(),
            token_env: None,
            trusted: false,
            private: false,
            idle_secs: 300,
            start_timeout_secs: 20.0,
            timeout_secs: 60.0,
            max_output_bytes: 256 * 1024,
        }
    }
}

impl ServerConfig {
    /// What the server is, for `ctl tools list` and `ctl doctor`: the full
    /// command line, or the URL.
    pub fn target(&self) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => self.command.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" "),
        }
    }

    /// A one-line reason when the entry cannot work.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!(
                "[mcp.servers.{name}]: a server's name may hold only letters, digits, '_' and '-' (its tools are NAME.tool)"
            ));
        }
        match (&self.url, self.command.is_empty()) {
            (Some(_), false) => Err(format!("[mcp.servers.{name}]: set either command or url, not both")),
            (None, true) => {
                Err(format!("[mcp.servers.{name}]: set command = [\"program\", ...] or url = \"...\""))
            }
            (Some(url), true) => match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
                _ => Err(format!("[mcp.servers.{name}]: url must be an http(s) URL, not {url:?}")),
            },
            (None, false) if self.token_env.is_some() => Err(format!(
                "[mcp.servers.{name}]: token_env is for url servers; pass a child's token with env"
            )),
            (None, false) => Ok(()),
        }?;
        if self.timeout_secs <= 0.0 || self.start_timeout_secs <= 0.0 {
            return Err(format!("[mcp.servers.{name}]: timeouts must be above zero"));
        }
        Ok(())
    }
}

fn shell_quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Splits `server.tool` into its two names.
pub fn split_name(name: &str) -> Option<(&str, &str)> {
    name.split_once('.').filter(|(s, t)| !s.is_empty() && !t.is_empty())
}

/// A started server and the tools it listed.
struct Running {
    service: RunningService<RoleClient, ()>,
    tools: BTreeMap<String, ToolInfo>,
}

struct Slot {
    config: ServerConfig,
    running: Mutex<Option<Arc<Running>>>,
    /// The tools it listed when it last started (kept while it is stopped).
    listed: std::sync::Mutex<BTreeMap<String, ToolInfo>>,
    last_used: std::sync::Mutex<Instant>,
}

/// The external servers of a config, started on demand.
#[derive(Clone, Default)]
pub struct Servers {
    slots: Arc<BTreeMap<String, Slot>>,
}

impl std::fmt::Debug for Servers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Servers").field("names", &self.slots.keys().collect::<Vec<_>>()).finish()
    }
}

/// What `ctl tools list` and `ctl doctor` say of a server.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServerStatus {
    pub name: String,
    /// The full command line, or the URL.
    pub target: String,
    /// It started and listed its tools.
    pub answers: bool,
    /// Why it did not, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its tools, as `NAME.tool`.
    pub tools: Vec<ToolInfo>,
}

impl Servers {
    /// The servers `config` names (each checked; the first bad entry is the error).
    pub fn new(config: &BTreeMap<String, ServerConfig>) -> Result<Self, String> {
        let mut slots = BTreeMap::new();
        for (name, cfg) in config {
            cfg.validate(name)?;
            slots.insert(
                name.clone(),
                Slot {
                    config: cfg.clone(),
                    running: Mutex::new(None),
                    listed: std::sync::Mutex::new(BTreeMap::new()),
                    last_used: std::sync::Mutex::new(Instant::now()),
                },
            );
        }
        Ok(Self { slots: Arc::new(slots) })
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.slots.keys()
    }

    /// The limits `[mcp.servers.NAME]` sets for each call to `server`.
    pub fn limits(&self, server: &str) -> Option<Limits> {
        let cfg = &self.slots.get(server)?.config;
        Some(Limits { timeout_secs: cfg.timeout_secs, max_output_bytes: cfg.max_output_bytes })
    }

    /// Starts `server` if it is not running (or has died) and returns its tools.
    pub async fn tools(&self, server: &str) -> Result<Vec<ToolInfo>, ToolError> {
        let running = self.running(server).await?;
        Ok(running.tools.values().cloned().collect())
    }

    /// The description of `server.tool`, if the server listed it when it
    /// last started.
    pub fn cached_info(&self, name: &str) -> Option<ToolInfo> {
        let (server, tool) = split_name(name)?;
        let listed = self.slots.get(server)?.listed.lock().ok()?;
        listed.get(tool).cloned()
    }

    /// Calls `server.tool` with `args`, starting the server when needed.
    /// Dropping the future cancels the request.
    pub async fn call(&self, name: &str, args: serde_json::Value) -> Result<ToolOutput, ToolError> {
        let (server, tool) = split_name(name).ok_or_else(|| ToolError::Unknown(name.to_owned()))?;
        let running = self.running(server).await?;
        if !running.tools.contains_key(tool) {
            return Err(ToolError::Unknown(name.to_owned()));
        }
        let arguments = match args {
            serde_json::Value::Object(map) => Some(map),
            serde_json::Value::Null => None,
            _ => return Err(ToolError::InvalidArgs("the arguments must be a JSON object".into())),
        };
        let mut params = CallToolRequestParams::new(tool.to_owned());
        params.arguments = arguments;
        let result = running.service.call_tool(params).await;
        self.touch(server);
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                // A dead transport: forget it, so the next call starts the server again.
                if running.service.is_transport_closed() {
                    self.forget(server, &running).await;
                    return Err(ToolError::Failed(format!(
                        "MCP server {server} stopped during the call: {e}"
                    )));
                }
                return Err(ToolError::Failed(format!("MCP server {server}: {e}")));
            }
        };
        let mut text = String::new();
        for block in &result.content {
            if !text.is_empty() {
                text.push('\n');
            }
            match block.as_text() {
                Some(t) => text.push_str(&t.text),
                None => text.push_str(&serde_json::to_string(block).unwrap_or_default()),
            }
        }
        if text.is_empty()
            && let Some(s) = &result.structured_content
        {
            text = s.to_string();
        }
        if result.is_error == Some(true) {
            return Err(ToolError::Failed(if text.is_empty() { format!("{name} failed") } else { text }));
        }
        Ok(ToolOutput { text, structured: result.structured_content, truncated: false })
    }

    /// Starts every server and reports what each says, then stops the
    /// ones this call started.
    pub async fn status(&self) -> Vec<ServerStatus> {
        let mut out = Vec::new();
        for (name, slot) in self.slots.iter() {
            let was_running = slot.running.lock().await.is_some();
            let (answers, error, tools) = match self.tools(name).await {
                Ok(tools) => (true, None, tools),
                Err(e) => (false, Some(e.to_string()), Vec::new()),
            };
            if !was_running {
                self.stop(name).await;
            }
            out.push(ServerStatus {
                name: name.clone(),
                target: slot.config.target(),
                answers,
                error,
                tools,
            });
        }
        out
    }

    /// Stops servers that have had no call for their `idle_secs`.
    pub async fn stop_idle(&self) {
        for (name, slot) in self.slots.iter() {
            let idle = slot.last_used.lock().map(|t| t.elapsed()).unwrap_or_default();
            if idle >= Duration::from_secs(slot.config.idle_secs) && slot.running.lock().await.is_some() {
                tracing::info!(server = %name, "stopping idle MCP server");
                self.stop(name).await;
            }
        }
    }

    /// Stops every running server.
    pub async fn stop_all(&self) {
        for name in self.slots.keys() {
            self.stop(name).await;
        }
    }

    async fn stop(&self, server: &str) {
        let Some(slot) = self.slots.get(server) else { return };
        let taken = slot.running.lock().await.take();
        if let Some(running) = taken {
            // The last reference ends the service (and kills a child).
            if let Ok(running) = Arc::try_unwrap(running) {
                let _ = running.service.cancel().await;
            }
        }
    }

    async fn forget(&self, server: &str, dead: &Arc<Running>) {
        if let Some(slot) = self.slots.get(server) {
            let mut guard = slot.running.lock().await;
            if guard.as_ref().is_some_and(|r| Arc::ptr_eq(r, dead)) {
                *guard = None;
            }
        }
    }

    fn touch(&self, server: &str) {
        if let Some(slot) = self.slots.get(server)
            && let Ok(mut t) = slot.last_used.lock()
        {
            *t = Instant::now();
        }
    }

    async fn running(&self, server: &str) -> Result<Arc<Running>, ToolError> {
        let slot = self.slots.get(server).ok_or_else(|| {
            ToolError::Unknown(format!("{server}.* (no [mcp.servers.{server}] in the config)"))
        })?;
        self.touch(server);
        let mut guard = slot.running.lock().await;
        if let Some(r) = guard.as_ref() {
            if !r.service.is_transport_closed() {
                return Ok(r.clone());
            }
            tracing::warn!(server, "MCP server has stopped; starting it again");
            *guard = None;
        }
        let timeout = Duration::from_secs_f64(slot.config.start_timeout_secs);
        let started = tokio::time::timeout(timeout, start(server, &slot.config)).await.map_err(|_| {
            ToolError::Failed(format!(
                "MCP server {server} did not start and list its tools within {} s",
                timeout.as_secs()
            ))
        })??;
        if let Ok(mut listed) = slot.listed.lock() {
            listed.clone_from(&started.tools);
        }
        let running = Arc::new(started);
        *guard = Some(running.clone());
        Ok(running)
    }
}

async fn start(server: &str, cfg: &ServerConfig) -> Result<Running, ToolError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        ToolError::Failed(crate::secrets::redact(&format!("MCP server {server}: {what}: {e}")).into_owned())
    };
    let service = if let Some(url) = &cfg.url {
        use rmcp::transport::StreamableHttpClientTransport;
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
        if let Some(var) = &cfg.token_env {
            let token =
                crate::secrets::from_env(var).map_err(|e| fail("its token", &e))?.ok_or_else(|| {
                    ToolError::Failed(format!("MCP server {server}: {var} (or {var}_FILE) is not set"))
                })?;
            config = config.auth_header(token.expose().to_owned());
        }
        crate::provider::install_crypto();
        let client = reqwest::Client::builder()
            .user_agent(concat!("ctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| fail("HTTP client", &e))?;
        let transport = StreamableHttpClientTransport::with_client(client, config);
        ().serve(transport).await.map_err(|e| fail("connecting", &e))?
    } else {
        use rmcp::transport::TokioChildProcess;
        let (program, args) = cfg.command.split_first().ok_or_else(|| fail("start", &"no command"))?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args).env_clear().kill_on_drop(true);
        for var in &cfg.env {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        let (child, stderr) = TokioChildProcess::builder(cmd)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| fail(&format!("cannot run {program}"), &e))?;
        if let Some(stderr) = stderr {
            let name = server.to_owned();
            tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt as _;
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!(server = %name, "{}", crate::secrets::redact(&line));
                }
            });
        }
        ().serve(child).await.map_err(|e| fail("starting", &e))?
    };
    let listed = service.list_all_tools().await.map_err(|e| fail("listing its tools", &e))?;
    let traits = ToolTraits { read_only: false, private: cfg.private, untrusted: !cfg.trusted, egress: true };
    let limits = Limits { timeout_secs: cfg.timeout_secs, max_output_bytes: cfg.max_output_bytes };
    let tools = listed
        .into_iter()
        .map(|t| {
            let info = ToolInfo {
                name: format!("{server}.{}", t.name),
                description: t.description.map(std::borrow::Cow::into_owned).unwrap_or_default(),
                input_schema: serde_json::Value::Object((*t.input_schema).clone()),
                traits,
                limits,
            };
            (t.name.into_owned(), info)
        })
        .collect();
    Ok(Running { service, tools })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(toml: &str) -> Result<(), String> {
        let cfg: ServerConfig = toml::from_str(toml).map_err(|e| e.to_string())?;
        cfg.validate("docs")
    }

    #[test]
    fn a_server_is_a_command_or_a_url() {
        assert!(server(r#"command = ["python3", "server.py"]"#).is_ok());
        assert!(server(r#"url = "https://example.net/mcp""#).is_ok());
        assert!(server("").unwrap_err().contains("set command"));
        assert!(
            server(
                r#"command = ["x"]
url = "https://example.net/mcp""#
            )
            .unwrap_err()
            .contains("not both")
        );
        assert!(server(r#"url = "file:///etc/passwd""#).unwrap_err().contains("http(s)"));
        assert!(
            server(
                r#"command = ["x"]
token_env = "T""#
            )
            .unwrap_err()
            .contains("token_env")
        );
        let bad = ServerConfig { command: vec!["x".into()], ..ServerConfig::default() };
        assert!(bad.validate("a.b").unwrap_err().contains("only letters"));
    }

    #[test]
    fn the_target_is_the_whole_command_line() {
        let cfg = ServerConfig {
            command: vec!["python3".into(), "my server.py".into(), "--flag=1".into()],
            ..ServerConfig::default()
        };
        assert_eq!(cfg.target(), "python3 'my server.py' --flag=1");
    }

    #[test]
    fn names_split_at_the_first_dot() {
        assert_eq!(split_name("docs.search"), Some(("docs", "search")));
        assert_eq!(split_name("docs.a.b"), Some(("docs", "a.b")));
        assert_eq!(split_name("fetch"), None);
        assert_eq!(split_name(".x"), None);
    }
}
