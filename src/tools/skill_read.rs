//! `skill_read`: a skill's bundled files (`SKILL.md`, `references/`,
//! `scripts/`, `assets/`), read-only and confined beneath the skill's
//! folder like the vault ([`super::beneath`]). The MCP Skills extension
//! serves the same files through [`skill_files`] and [`read_skill_file`].

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::beneath::{Kind, Root};
use super::{BoxFuture, Limits, SkillReadConfig, Tool, ToolError, ToolInfo, ToolOutput, ToolTraits};
use crate::skills::{Catalog, Skill, SkillSource};

/// Files listed per skill at most.
pub const MAX_SKILL_FILES: usize = 512;

/// One file of a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillFile {
    /// The path from the skill's folder (`SKILL.md`, `references/api.md`).
    pub path: String,
    pub size: u64,
}

fn find(dirs: &[PathBuf], name: &str) -> Result<Skill, ToolError> {
    let (catalog, _) = Catalog::load(dirs);
    catalog.get(name).cloned().ok_or_else(|| {
        let known: Vec<_> = catalog.list().iter().map(|s| s.name.clone()).collect();
        ToolError::InvalidArgs(format!("no skill named {name:?}; skills: {}", known.join(", ")))
    })
}

fn folder(skill: &Skill) -> Option<PathBuf> {
    (skill.source == SkillSource::User)
        .then(|| PathBuf::from(&skill.path))
        .and_then(|p| p.parent().map(PathBuf::from))
}

/// The skill's files, `SKILL.md` first (a built-in skill has only that).
/// Blocking.
pub fn skill_files(dirs: &[PathBuf], name: &str) -> Result<Vec<SkillFile>, ToolError> {
    let skill = find(dirs, name)?;
    let Some(folder) = folder(&skill) else {
        return Ok(vec![SkillFile { path: "SKILL.md".into(), size: skill.text.len() as u64 }]);
    };
    let root = Root::open(&folder).map_err(ToolError::from)?;
    let (entries, _) = root.list("", true, MAX_SKILL_FILES).map_err(ToolError::from)?;
    let mut files: Vec<SkillFile> = entries
        .into_iter()
        .filter(|e| e.kind == Kind::File)
        .map(|e| SkillFile { path: e.path, size: e.size.unwrap_or(0) })
        .collect();
    files.sort_by_key(|f| (f.path != "SKILL.md", f.path.clone()));
    Ok(files)
}

/// One file of a skill, at most `cap` bytes; the size is the whole file's.
/// Blocking.
pub fn read_skill_file(
    dirs: &[PathBuf],
    name: &str,
    path: &str,
    cap: usize,
) -> Result<(Vec<u8>, u64), ToolError> {
    let skill = find(dirs, name)?;
    let Some(folder) = folder(&skill) else {
        return if super::beneath::components(path).map_err(ToolError::from)? == ["SKILL.md"] {
            let bytes = skill.text.as_bytes();
            Ok((bytes[..bytes.len().min(cap)].to_vec(), bytes.len() as u64))
        } else {
            Err(ToolError::InvalidArgs(format!(
                "the built-in skill {name} has no file {path:?}, only SKILL.md"
            )))
        };
    };
    let root = Root::open(&folder).map_err(ToolError::from)?;
    let (file, size) = root.open_file(path).map_err(ToolError::from)?;
    let mut bytes = Vec::new();
    file.take(cap as u64).read_to_end(&mut bytes).map_err(|e| ToolError::Failed(format!("{path}: {e}")))?;
    Ok((bytes, size))
}

/// Arguments of `skill_read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillReadArgs {
    /// The skill's name.
    pub skill: String,
    /// A file in the skill's folder (`SKILL.md`, `references/guide.md`);
    /// without it, the list of the skill's files.
    #[serde(default)]
    pub path: Option<String>,
}

pub struct SkillRead {
    dirs: Vec<PathBuf>,
    cfg: SkillReadConfig,
}

impl SkillRead {
    pub fn new(dirs: Vec<PathBuf>, cfg: SkillReadConfig) -> Self {
        Self { dirs, cfg }
    }
}

impl Tool for SkillRead {
    fn info(&self) -> ToolInfo {
        ToolInfo {
            name: "skill_read".into(),
            description: "Read a file bundled with a skill (SKILL.md, references/, scripts/, assets/), \
                          or list a skill's files when no path is given."
                .into(),
            input_schema: super::schema_of::<SkillReadArgs>(),
            traits: ToolTraits { read_only: true, private: true, untrusted: false, egress: false },
            limits: Limits {
                timeout_secs: self.cfg.timeout_secs,
                max_output_bytes: self.cfg.max_output_bytes,
            },
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        let dirs = self.dirs.clone();
        let cap = self.cfg.max_output_bytes;
        Box::pin(async move {
            let args: SkillReadArgs = super::parse_args(args)?;
            super::blocking(move || match args.path.filter(|p| !p.trim().is_empty()) {
                None => {
                    let files = skill_files(&dirs, &args.skill)?;
                    let text = files.iter().fold(String::new(), |mut s, f| {
                        let _ = writeln!(s, "{} ({} bytes)", f.path, f.size);
                        s
                    });
                    Ok(ToolOutput::with_structured(
                        text,
                        serde_json::json!({ "skill": args.skill, "files": files }),
                    ))
                }
                Some(path) => {
                    let (bytes, size) = read_skill_file(&dirs, &args.skill, &path, cap + 1)?;
                    if bytes.contains(&0) {
                        return Err(ToolError::Failed(format!("{path} is a binary file")));
                    }
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let structured = serde_json::json!({ "skill": args.skill, "path": path, "size": size });
                    Ok(ToolOutput::with_structured(text, structured))
                }
            })
            .await
        })
    }
}
