//! Skills: folders in the open Agent Skills format (agentskills.io) that give
//! a job its instructions.
//!
//! A skill is a folder holding `SKILL.md`: YAML front matter (`name`,
//! `description`, and optionally `license`, `compatibility`, `metadata`,
//! `allowed-tools`) between `---` lines, then a markdown body of instructions;
//! `scripts/`, `references/` and `assets/` may sit beside it. ctl's own
//! defaults for a skill (`model`, `temperature`, `rag`) live in `metadata`
//! as strings.
//!
//! Skills come from the user's skill directories ([`search_path`]), then from
//! the built-ins compiled from the repository's `skills/` folder; the first
//! one found under a name wins. [`Catalog`] is one snapshot of them all and
//! [`LiveCatalog`] keeps a snapshot current while files change.
//!
//! SKILL.md files are treated as untrusted input: sizes are capped, YAML
//! anchors, aliases and tags are refused while the front matter is read (so
//! nothing is ever expanded), and symlinks may not lead out of their skills
//! directory. Every problem is a [`SkillError`] naming the file and line.

mod catalog;
mod files;
mod front_matter;
mod live;
mod parse;
mod tools;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use catalog::Catalog;
pub use files::{Report, check_path, scaffold, validate};
pub use live::LiveCatalog;
pub use parse::{MAX_COMPATIBILITY_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, check_name, parse};
pub use tools::granted_tools;

/// The largest SKILL.md accepted, in bytes.
pub const MAX_SKILL_BYTES: usize = 256 * 1024;
/// The largest front matter accepted, in bytes (between the `---` lines).
pub const MAX_FRONT_MATTER_BYTES: usize = 16 * 1024;

/// Where a skill came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SkillSource {
    /// A user's skill directory.
    User,
    /// Compiled into the binary from the repository's `skills/` folder.
    Builtin,
}

/// One loaded, valid skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Skill {
    pub name: String,
    pub description: String,
    pub license: Option<String>,
    pub compatibility: Option<String>,
    /// Free-form string pairs; ctl reads `model`, `temperature` and `rag`.
    pub metadata: BTreeMap<String, String>,
    /// `allowed-tools`, split at whitespace.
    pub allowed_tools: Vec<String>,
    /// The markdown after the front matter.
    pub body: String,
    /// The whole SKILL.md, exactly as read.
    pub text: String,
    /// Lowercase hex SHA-256 of the SKILL.md bytes.
    pub sha256: String,
    pub source: SkillSource,
    /// The SKILL.md path, or `builtin:NAME`.
    pub path: String,
}

/// A problem that makes a skill unusable: `file[:line]: message`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, Serialize)]
#[error("{location}: {message}")]
pub struct SkillError {
    /// `file` or `file:line`.
    pub location: String,
    pub message: String,
}

/// A problem that does not stop a skill from loading (an unknown key, a
/// suspicious ctl default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `file` or `file:line`.
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl SkillError {
    pub(crate) fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self { location: location.into(), message: message.into() }
    }
}

/// The user skill directories, in order: `CTL_SKILLS_PATH` (colon-separated)
/// when set, else the config's `skills.paths`, else [`default_dir`]. The
/// built-ins come after all of them.
pub fn search_path(config: &crate::config::Config) -> Vec<PathBuf> {
    search_path_from(std::env::var_os("CTL_SKILLS_PATH"), &config.skills.paths)
}

/// `$XDG_CONFIG_HOME/ctl/skills` (or `~/.config/ctl/skills`).
pub fn default_dir() -> Option<PathBuf> {
    crate::config::default_path().and_then(|p| p.parent().map(|d| d.join("skills")))
}

fn search_path_from(env: Option<OsString>, configured: &[PathBuf]) -> Vec<PathBuf> {
    if let Some(value) = env.filter(|v| !v.is_empty()) {
        return std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| crate::config::expand_tilde(&p))
            .collect();
    }
    if !configured.is_empty() {
        return configured.iter().map(|p| crate::config::expand_tilde(p)).collect();
    }
    default_dir().into_iter().collect()
}

/// Lowercase hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests;
