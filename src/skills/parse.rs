//! One SKILL.md against the rules of the Agent Skills specification (and
//! ctl's own checks of its defaults in `metadata`), all problems collected
//! with their lines. Reading the front matter is [`super::front_matter`]'s job.

use std::collections::BTreeMap;

use super::front_matter::{At, Entry, Kind, Node, read_front_matter, split};
use super::{Skill, SkillError, SkillSource, Warning};

/// The longest skill name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest `description`, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// The longest `compatibility`, in characters.
pub const MAX_COMPATIBILITY_CHARS: usize = 500;

/// The RAG modes a job accepts, for the `rag` metadata default.
const RAG_MODES: &[&str] = &["off", "augment", "context-only"];

/// The specification recommends keeping SKILL.md under this many lines.
const RECOMMENDED_BODY_LINES: usize = 500;

/// Parses SKILL.md text. `folder` is the folder name the skill must be named
/// after; `location` names the file in messages and becomes the skill's
/// `path`. The first problem found is the error; [`super::validate`] reports
/// them all.
pub fn parse(text: &str, folder: &str, location: &str) -> Result<(Skill, Vec<Warning>), SkillError> {
    let mut checked = check(text, folder, location);
    match checked.skill.take() {
        Some(skill) => Ok((skill, checked.warnings)),
        None => Err(checked.errors.swap_remove(0)),
    }
}

/// Why `name` is not a valid skill name, if it is not.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("name must not be empty".to_owned());
    }
    let shown = quote(name);
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(format!("name {shown} is {chars} characters; the limit is {MAX_NAME_CHARS}"));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!("name {shown} must be lowercase letters, digits and hyphens"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!("name {shown} must not start or end with a hyphen"));
    }
    if name.contains("--") {
        return Err(format!("name {shown} must not contain two hyphens in a row"));
    }
    Ok(())
}

/// A value quoted for a message, cut short if long.
fn quote(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut:?}…")
    } else {
        format!("{s:?}")
    }
}

/// Everything [`check`] found. `skill` is set exactly when `errors` is empty.
pub(crate) struct Checked {
    pub skill: Option<Skill>,
    pub errors: Vec<SkillError>,
    pub warnings: Vec<Warning>,
}

/// Checks SKILL.md text against every rule and collects all problems.
pub(crate) fn check(text: &str, folder: &str, location: &str) -> Checked {
    let at = At(location);
    let read = split(text, &at).and_then(|fm| Ok((read_front_matter(fm.yaml, &at)?, fm)));
    let (entries, fm) = match read {
        Ok(read) => read,
        Err(e) => return Checked { skill: None, errors: vec![e], warnings: Vec::new() },
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut fields = Fields::default();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &entries {
        if let Some(first) = seen.get(entry.key.as_str()) {
            errors
                .push(at.line(entry.line, format!("duplicate key {:?} (first on line {first})", entry.key)));
            continue;
        }
        seen.insert(&entry.key, entry.line);
        let slot = match entry.key.as_str() {
            "name" => &mut fields.name,
            "description" => &mut fields.description,
            "license" => &mut fields.license,
            "compatibility" => &mut fields.compatibility,
            "allowed-tools" => &mut fields.allowed_tools,
            "metadata" => {
                fields.metadata = metadata(entry, &at, &mut errors, &mut warnings);
                continue;
            }
            other => {
                warnings.push(at.warn(
                    entry.line,
                    format!("unknown key {other:?} is not in the Agent Skills specification; it is ignored"),
                ));
                continue;
            }
        };
        *slot = string(entry, &at, &mut errors).map(|s| (s, entry.line));
    }

    let present = |key: &str| seen.contains_key(key);
    let name = required(fields.name, present("name"), "name", &at, &mut errors);
    if let Some((name, line)) = &name {
        if let Err(message) = check_name(name) {
            errors.push(at.line(*line, message));
        }
        if name != folder {
            errors
                .push(at.line(*line, format!("name {} must match its folder name {folder:?}", quote(name))));
        }
    }
    let description = required(fields.description, present("description"), "description", &at, &mut errors);
    if let Some((description, line)) = &description {
        let chars = description.chars().count();
        if description.trim().is_empty() {
            errors.push(at.line(*line, "description must not be empty"));
        } else if chars > MAX_DESCRIPTION_CHARS {
            errors.push(at.line(
                *line,
                format!("description is {chars} characters; the limit is {MAX_DESCRIPTION_CHARS}"),
            ));
        }
    }
    let compatibility = fields.compatibility.filter(|(s, _)| !s.trim().is_empty());
    if let Some((compatibility, line)) = &compatibility {
        let chars = compatibility.chars().count();
        if chars > MAX_COMPATIBILITY_CHARS {
            errors.push(at.line(
                *line,
                format!("compatibility is {chars} characters; the limit is {MAX_COMPATIBILITY_CHARS}"),
            ));
        }
    }
    if fm.body.trim().is_empty() {
        warnings.push(at.warn(fm.body_line, "SKILL.md has no instructions after the front matter"));
    } else {
        let lines = fm.body.lines().count();
        if lines > RECOMMENDED_BODY_LINES {
            warnings.push(at.warn(
                fm.body_line,
                format!(
                    "the instructions are {lines} lines; the specification recommends under \
                     {RECOMMENDED_BODY_LINES} (move details to references/)"
                ),
            ));
        }
    }

    // Report in file order, whatever order the rules ran in.
    errors.sort_by_key(|e| line_of(&e.location));
    warnings.sort_by_key(|w| line_of(&w.location));
    let (Some((name, _)), Some((description, _)), true) = (name, description, errors.is_empty()) else {
        return Checked { skill: None, errors, warnings };
    };
    let skill = Skill {
        name,
        description,
        license: fields.license.map(|(s, _)| s).filter(|s| !s.trim().is_empty()),
        compatibility: compatibility.map(|(s, _)| s),
        metadata: fields.metadata,
        allowed_tools: fields
            .allowed_tools
            .map(|(s, _)| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        body: fm.body.to_owned(),
        text: text.to_owned(),
        sha256: super::sha256_hex(text.as_bytes()),
        source: SkillSource::User,
        path: location.to_owned(),
    };
    Checked { skill: Some(skill), errors, warnings }
}

/// The line number at the end of a `file:line` location.
fn line_of(location: &str) -> usize {
    location.rsplit(':').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The string fields as found, with the line of each key.
#[derive(Default)]
struct Fields {
    name: Option<(String, usize)>,
    description: Option<(String, usize)>,
    license: Option<(String, usize)>,
    compatibility: Option<(String, usize)>,
    allowed_tools: Option<(String, usize)>,
    metadata: BTreeMap<String, String>,
}

/// A required field; a missing key is an error (a key of the wrong type
/// already has one).
fn required(
    field: Option<(String, usize)>,
    present: bool,
    key: &str,
    at: &At<'_>,
    errors: &mut Vec<SkillError>,
) -> Option<(String, usize)> {
    if !present {
        errors.push(at.line(1, format!("the required key {key:?} is missing from the front matter")));
    }
    field
}

/// A string value; an empty value (`key:`) is the empty string.
fn string(entry: &Entry, at: &At<'_>, errors: &mut Vec<SkillError>) -> Option<String> {
    match &entry.value {
        Node::Scalar(s, Kind::Str) => Some(s.clone()),
        Node::Scalar(_, Kind::Null) => Some(String::new()),
        other => {
            let hint = match (entry.key.as_str(), other) {
                ("allowed-tools", Node::List) => "; write the tools on one line, separated by spaces",
                (_, Node::Scalar(..)) => "; put the value in quotes",
                _ => "",
            };
            errors.push(
                at.line(
                    entry.line,
                    format!("{} must be a string, not {}{hint}", entry.key, other.describe()),
                ),
            );
            None
        }
    }
}

/// `metadata`: a mapping of strings to strings. ctl's own defaults in it
/// get a sanity check (warnings only: the job decides what to do with them).
fn metadata(
    entry: &Entry,
    at: &At<'_>,
    errors: &mut Vec<SkillError>,
    warnings: &mut Vec<Warning>,
) -> BTreeMap<String, String> {
    let pairs = match &entry.value {
        Node::Map(pairs) => pairs,
        Node::Scalar(_, Kind::Null) => return BTreeMap::new(),
        other => {
            errors.push(at.line(
                entry.line,
                format!("metadata must be a mapping of strings to strings, not {}", other.describe()),
            ));
            return BTreeMap::new();
        }
    };
    let mut out = BTreeMap::new();
    let mut lines: BTreeMap<&str, usize> = BTreeMap::new();
    for pair in pairs {
        if let Some(first) = lines.get(pair.key.as_str()) {
            errors.push(
                at.line(pair.line, format!("duplicate metadata key {:?} (first on line {first})", pair.key)),
            );
            continue;
        }
        lines.insert(&pair.key, pair.line);
        let value = match &pair.value {
            Node::Scalar(s, Kind::Str) => s.clone(),
            Node::Scalar(raw, _) => {
                errors.push(at.line(
                    pair.line,
                    format!(
                        "metadata {:?} must be a string, not {}; write {}: \"{raw}\"",
                        pair.key,
                        pair.value.describe(),
                        pair.key
                    ),
                ));
                continue;
            }
            other => {
                errors.push(at.line(
                    pair.line,
                    format!("metadata {:?} must be a string, not {}", pair.key, other.describe()),
                ));
                continue;
            }
        };
        if let Some(message) = ctl_default_problem(&pair.key, &value) {
            warnings.push(at.warn(pair.line, message));
        }
        out.insert(pair.key.clone(), value);
    }
    out
}

/// Checks the metadata keys ctl reads as job defaults.
fn ctl_default_problem(key: &str, value: &str) -> Option<String> {
    match key {
        "temperature" => match value.trim().parse::<f64>() {
            Ok(t) if (0.0..=2.0).contains(&t) => None,
            _ => Some(format!("metadata temperature {value:?} is not a number from 0 to 2; ctl ignores it")),
        },
        "rag" if !RAG_MODES.contains(&value) => Some(format!(
            "metadata rag {value:?} is not a RAG mode ({}); ctl ignores it",
            RAG_MODES.join(", ")
        )),
        "model" if value.trim().is_empty() => Some("metadata model is empty; ctl ignores it".to_owned()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
