//! `[tools]`: which tools are on, and their limits and settings.
//!
//! Every tool has `enabled`, `timeout_secs` and `max_output_bytes`; the
//! rest is its own. Defaults are safe: `fetch` refuses every private
//! address until `allow_private` names a network, `run_code` has no
//! network at all, and `web_search` is off until `searxng_url` is set.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[tools]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// Tools turned off by name (`["vault_search", "run_code"]`), whatever
    /// their own `enabled` says.
    pub disabled: Vec<String>,
    pub fetch: FetchConfig,
    pub web_search: WebSearchConfig,
    /// `vault_list`, `vault_read` and `vault_search`.
    pub vault: VaultConfig,
    pub run_code: RunCodeConfig,
    pub skill_read: SkillReadConfig,
}

/// `[tools.fetch]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    pub enabled: bool,
    /// The whole call, redirects and body included.
    pub timeout_secs: f64,
    /// The text handed back (after HTML became markdown).
    pub max_output_bytes: usize,
    /// Body bytes read, after decompression: a compression bomb stops here.
    pub max_body_bytes: usize,
    /// All response headers together.
    pub max_header_bytes: usize,
    /// Networks fetch may reach although they are private or special
    /// (a LAN wiki: `["10.1.0.0/16"]`). Empty: none.
    pub allow_private: Vec<ipnet::IpNet>,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout_secs: 30.0,
            max_output_bytes: 256 * 1024,
            max_body_bytes: 5 * 1024 * 1024,
            max_header_bytes: 32 * 1024,
            allow_private: Vec::new(),
        }
    }
}

/// `[tools.web_search]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSearchConfig {
    /// Off when false, and off while `searxng_url` is unset.
    pub enabled: bool,
    /// A SearXNG instance whose settings allow the `json` format.
    pub searxng_url: Option<String>,
    pub timeout_secs: f64,
    pub max_output_bytes: usize,
    /// Results returned at most (a call may ask for fewer).
    pub max_results: usize,
}

impl Default for WebSearchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            searxng_url: None,
            timeout_secs: 15.0,
            max_output_bytes: 64 * 1024,
            max_results: 10,
        }
    }
}

/// `[tools.vault]`: the vault tools (roots come from `[rag]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaultConfig {
    /// Off when false, and off while no vault is configured.
    pub enabled: bool,
    pub timeout_secs: f64,
    pub max_output_bytes: usize,
    /// Bytes `vault_read` returns at most; larger notes are read by line range.
    pub max_read_bytes: usize,
    /// Entries `vault_list` returns at most.
    pub max_list_entries: usize,
    /// Matches `vault_search` returns at most.
    pub max_search_results: usize,
    /// Notes larger than this are skipped by the literal search.
    pub max_search_file_bytes: usize,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout_secs: 20.0,
            max_output_bytes: 256 * 1024,
            max_read_bytes: 128 * 1024,
            max_list_entries: 1000,
            max_search_results: 50,
            max_search_file_bytes: 2 * 1024 * 1024,
        }
    }
}

/// `[tools.run_code]`: the sandbox's limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunCodeConfig {
    pub enabled: bool,
    /// Wall-clock limit; the whole sandbox is killed when it passes.
    pub timeout_secs: f64,
    pub max_output_bytes: usize,
    /// CPU seconds (RLIMIT_CPU).
    pub cpu_secs: u64,
    /// Address space in MiB (RLIMIT_AS).
    pub memory_mb: u64,
    /// Processes and threads (RLIMIT_NPROC).
    pub max_processes: u64,
    /// Largest file the code may write, in MiB (RLIMIT_FSIZE).
    pub max_file_mb: u64,
    /// Open files (RLIMIT_NOFILE).
    pub max_open_files: u64,
    /// Size of the fresh work directory (a tmpfs), in MiB.
    pub workdir_mb: u64,
    /// Captured bytes of stdout and of stderr, each; more ends the run.
    pub max_stream_bytes: usize,
    /// The bubblewrap binary.
    pub bwrap: PathBuf,
    /// The Python interpreter, inside the sandbox's read-only `/usr`.
    pub python: PathBuf,
    /// The host user the sandbox runs as when ctl runs as root (the process
    /// limit is enforced per user, and never for root).
    pub uid: u32,
}

impl Default for RunCodeConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout_secs: 30.0,
            max_output_bytes: 128 * 1024,
            cpu_secs: 20,
            memory_mb: 512,
            max_processes: 64,
            max_file_mb: 16,
            max_open_files: 64,
            workdir_mb: 64,
            max_stream_bytes: 64 * 1024,
            bwrap: PathBuf::from("bwrap"),
            python: PathBuf::from("/usr/bin/python3"),
            uid: 65534,
        }
    }
}

/// `[tools.skill_read]`: a skill's bundled files, read-only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SkillReadConfig {
    pub enabled: bool,
    pub timeout_secs: f64,
    pub max_output_bytes: usize,
}

impl Default for SkillReadConfig {
    fn default() -> Self {
        Self { enabled: true, timeout_secs: 10.0, max_output_bytes: 256 * 1024 }
    }
}

impl ToolsConfig {
    /// Checks what serde cannot: positive limits, a usable SearXNG URL.
    pub fn validate(&self) -> Result<(), String> {
        let timeouts = [
            ("fetch", self.fetch.timeout_secs),
            ("web_search", self.web_search.timeout_secs),
            ("vault", self.vault.timeout_secs),
            ("run_code", self.run_code.timeout_secs),
            ("skill_read", self.skill_read.timeout_secs),
        ];
        for (name, t) in timeouts {
            if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
                return Err(format!("tools.{name}.timeout_secs must be between 0 and 3600 (got {t})"));
            }
        }
        if let Some(url) = &self.web_search.searxng_url {
            let parsed = url::Url::parse(url)
                .map_err(|e| format!("tools.web_search.searxng_url {url:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!(
                    "tools.web_search.searxng_url {url:?} must start with http:// or https://"
                ));
            }
        }
        let rc = &self.run_code;
        if rc.uid == 0 {
            return Err("tools.run_code.uid must not be 0: root's processes escape the process limit".into());
        }
        if rc.memory_mb < 32 || rc.cpu_secs == 0 || rc.max_processes == 0 || rc.workdir_mb == 0 {
            return Err(
                "tools.run_code: memory_mb must be at least 32, and cpu_secs, max_processes and workdir_mb at least 1"
                    .into(),
            );
        }
        Ok(())
    }
}
