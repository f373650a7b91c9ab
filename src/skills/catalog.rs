//! A snapshot of every usable skill: the user's, in search-path order, then
//! the built-ins compiled from the repository's `skills/` folder.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::OnceLock;

use super::files::{self, SKILL_FILE};
use super::{Skill, SkillError, SkillSource, parse};

/// The built-in skills: (folder name, SKILL.md text).
const BUILTIN: &[(&str, &str)] = &[
    ("code-review", include_str!("../../skills/code-review/SKILL.md")),
    ("explain", include_str!("../../skills/explain/SKILL.md")),
    ("research", include_str!("../../skills/research/SKILL.md")),
    ("summarize", include_str!("../../skills/summarize/SKILL.md")),
];

/// Skills by name. Cheap to clone behind an `Arc` (see [`super::LiveCatalog`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    skills: BTreeMap<String, Skill>,
}

impl Catalog {
    /// Loads user skills from `dirs` (in order) and then the built-ins. A
    /// skill from an earlier directory hides one of the same name in a later
    /// directory and a built-in. Broken skills are skipped and reported,
    /// never fatal (a broken skill hides nothing); missing directories are
    /// not a problem.
    pub fn load(dirs: &[PathBuf]) -> (Catalog, Vec<SkillError>) {
        let mut skills = BTreeMap::new();
        let mut errors = Vec::new();
        for dir in dirs {
            load_dir(dir, &mut skills, &mut errors);
        }
        let (builtins, builtin_errors) = builtins();
        for skill in builtins {
            skills.entry(skill.name.clone()).or_insert_with(|| skill.clone());
        }
        errors.extend(builtin_errors.iter().cloned());
        (Catalog { skills }, errors)
    }

    /// Only the built-in skills.
    pub fn builtin() -> Catalog {
        Catalog::load(&[]).0
    }

    pub fn get(&self, name: &str) -> Option<&Skill> {
        self.skills.get(name)
    }

    /// Every skill, sorted by name.
    pub fn list(&self) -> Vec<&Skill> {
        self.skills.values().collect()
    }

    pub fn len(&self) -> usize {
        self.skills.len()
    }

    pub fn is_empty(&self) -> bool {
        self.skills.is_empty()
    }
}

fn load_dir(dir: &std::path::Path, skills: &mut BTreeMap<String, Skill>, errors: &mut Vec<SkillError>) {
    let shown = dir.display().to_string();
    let folders = match files::skill_folders(dir) {
        Ok(folders) => folders,
        Err(e) if e.kind() == ErrorKind::NotFound => return,
        Err(e) => {
            errors.push(SkillError::new(shown, format!("cannot read the skills directory: {e}")));
            return;
        }
    };
    if std::fs::symlink_metadata(dir.join(SKILL_FILE)).is_ok() {
        errors.push(SkillError::new(
            shown,
            "this is a skill folder; the skills path names the directories that hold skill folders",
        ));
    }
    for folder in folders {
        let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if skills.contains_key(&name) {
            tracing::debug!(skill = %name, path = %folder.display(), "skill hidden by an earlier directory");
            continue;
        }
        let checked = files::check_folder_in(dir, &folder);
        errors.extend(checked.errors);
        if let Some(skill) = checked.skill {
            skills.insert(skill.name.clone(), skill);
        }
    }
}

/// The built-ins, parsed once. An error here is a bug the tests catch.
fn builtins() -> &'static (Vec<Skill>, Vec<SkillError>) {
    static BUILTINS: OnceLock<(Vec<Skill>, Vec<SkillError>)> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        let mut skills = Vec::new();
        let mut errors = Vec::new();
        for (name, text) in BUILTIN {
            let path = format!("builtin:{name}");
            match parse::parse(text, name, &path) {
                Ok((mut skill, _)) => {
                    skill.source = SkillSource::Builtin;
                    skills.push(skill);
                }
                Err(e) => errors.push(e),
            }
        }
        (skills, errors)
    })
}

/// The built-ins' (name, SKILL.md text).
#[cfg(test)]
pub(crate) fn builtin_sources() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}
