//! Skills on disk: the skill folders of a skills directory, reading one
//! SKILL.md within the limits, `validate` and `scaffold`.
//!
//! A SKILL.md is read only when it resolves to a regular file inside its
//! skills directory (symlinks are fine as long as they stay inside), and never
//! past [`MAX_SKILL_BYTES`], so neither a symlink to `/etc`, a FIFO nor
//! `/dev/zero` can leak data, hang or fill memory.

use std::fs;
use std::io::{ErrorKind, Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::parse::{self, Checked};
use super::{MAX_SKILL_BYTES, SkillError, Warning};

/// The file that makes a folder a skill.
pub const SKILL_FILE: &str = "SKILL.md";

/// What [`check_path`] found for one skill folder (or for a path holding none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The skill folder, or the file or directory that was given.
    pub path: String,
    pub errors: Vec<SkillError>,
    pub warnings: Vec<Warning>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Validates one skill folder (or a SKILL.md path, or a directory of skill
/// folders): all errors and warnings found.
pub fn validate(path: &Path) -> (Vec<SkillError>, Vec<Warning>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for report in check_path(path) {
        errors.extend(report.errors);
        warnings.extend(report.warnings);
    }
    (errors, warnings)
}

/// Like [`validate`], one report per skill folder found.
pub fn check_path(path: &Path) -> Vec<Report> {
    let shown = path.display().to_string();
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            let error = SkillError::new(&shown, format!("cannot read: {e}"));
            return vec![Report { path: shown, errors: vec![error], warnings: Vec::new() }];
        }
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if meta.is_file() {
        // A SKILL.md: its folder is the parent, its skills directory the grandparent.
        let folder = absolute.parent().unwrap_or(&absolute);
        let root = folder.parent().unwrap_or(folder);
        let checked = match read_skill_file(root, folder, path) {
            Ok(text) => parse::check(&text, &folder_name(folder), &shown),
            Err(e) => failed(e),
        };
        return vec![report(shown, checked)];
    }
    if fs::symlink_metadata(path.join(SKILL_FILE)).is_ok() {
        let root = absolute.parent().unwrap_or(&absolute);
        return vec![report(shown, check_folder_in(root, path))];
    }
    match skill_folders(path) {
        Ok(folders) if folders.is_empty() => {
            let warning = Warning { location: shown.clone(), message: "no skill folders here".to_owned() };
            vec![Report { path: shown, errors: Vec::new(), warnings: vec![warning] }]
        }
        Ok(folders) => folders
            .into_iter()
            .map(|folder| report(folder.display().to_string(), check_folder_in(path, &folder)))
            .collect(),
        Err(e) => {
            let error = SkillError::new(&shown, format!("cannot read the skills directory: {e}"));
            vec![Report { path: shown, errors: vec![error], warnings: Vec::new() }]
        }
    }
}

fn report(path: String, checked: Checked) -> Report {
    Report { path, errors: checked.errors, warnings: checked.warnings }
}

fn failed(error: SkillError) -> Checked {
    Checked { skill: None, errors: vec![error], warnings: Vec::new() }
}

/// Creates `<dir>/<name>/SKILL.md` from a template that passes validation;
/// refuses an invalid name or an existing folder. Returns the SKILL.md path.
pub fn scaffold(dir: &Path, name: &str) -> Result<PathBuf, SkillError> {
    let folder = dir.join(name);
    let shown = folder.display().to_string();
    parse::check_name(name).map_err(|message| SkillError::new(&shown, message))?;
    fs::create_dir_all(dir).map_err(|e| {
        SkillError::new(dir.display().to_string(), format!("cannot create the skills directory: {e}"))
    })?;
    match fs::create_dir(&folder) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(SkillError::new(shown, "already exists; pick another name or edit the skill there"));
        }
        Err(e) => return Err(SkillError::new(shown, format!("cannot create the skill folder: {e}"))),
    }
    let file = folder.join(SKILL_FILE);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
        .and_then(|mut f| f.write_all(template(name).as_bytes()))
        .map_err(|e| SkillError::new(file.display().to_string(), format!("cannot write: {e}")))?;
    Ok(file)
}

fn template(name: &str) -> String {
    format!(
        r#"---
name: {name}
description: Say what this skill does and when to use it, in a sentence or two. A model reads this to decide whether the skill fits a task, so name the tasks and the words a user would use.
# license: MIT
# compatibility: Needs network access.
# allowed-tools: Read Grep
metadata:
  # ctl's defaults for jobs that use this skill; the job's own settings win.
  temperature: "0.3"
  # model: "ollama:qwen2.5:7b"
  # rag: "augment"  # off | augment | context-only
---

# {name}

The instructions a model follows when a job uses this skill. Write them to
the model, in the imperative, as you would brief a careful colleague.

## Steps

1. What to read or look at first.
2. What to do with it.
3. How to check the result before answering.

## Output

The shape of the answer: sections, lists or a table, and how long.

## Pitfalls

- A mistake to avoid, and what to do instead.

Longer material can go in `references/`, scripts in `scripts/` and templates
in `assets/`, beside this file.
"#
    )
}

/// The skill folders of a skills directory, sorted: its subdirectories (and
/// symlinks to directories) whose names do not start with a dot.
pub(crate) fn skill_folders(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            folders.push(path);
        }
    }
    folders.sort();
    Ok(folders)
}

/// Reads and checks the skill folder `folder` of the skills directory `root`.
pub(crate) fn check_folder_in(root: &Path, folder: &Path) -> Checked {
    let file = folder.join(SKILL_FILE);
    match read_skill_file(root, folder, &file) {
        Ok(text) => parse::check(&text, &folder_name(folder), &file.display().to_string()),
        Err(e) => failed(e),
    }
}

/// The name a folder's skill must have: its last component as written, or
/// the resolved one for paths like `..`.
fn folder_name(folder: &Path) -> String {
    folder
        .file_name()
        .map(PathBuf::from)
        .or_else(|| folder.canonicalize().ok().and_then(|p| p.file_name().map(PathBuf::from)))
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads `file`, the SKILL.md of `folder` in the skills directory `root`,
/// if it resolves to a regular file inside `root` of at most
/// [`MAX_SKILL_BYTES`] of UTF-8.
fn read_skill_file(root: &Path, folder: &Path, file: &Path) -> Result<String, SkillError> {
    let shown = file.display().to_string();
    let root_real = root.canonicalize().map_err(|e| {
        SkillError::new(root.display().to_string(), format!("cannot open the skills directory: {e}"))
    })?;
    let folder_meta = fs::symlink_metadata(folder)
        .map_err(|e| SkillError::new(folder.display().to_string(), format!("cannot read: {e}")))?;
    if folder_meta.file_type().is_symlink() {
        let target = folder.canonicalize().map_err(|e| {
            SkillError::new(
                folder.display().to_string(),
                format!("the skill folder is a broken symlink: {e}"),
            )
        })?;
        if !target.starts_with(&root_real) {
            return Err(SkillError::new(
                folder.display().to_string(),
                format!(
                    "the skill folder is a symlink leading outside its skills directory {} (to {})",
                    root.display(),
                    target.display()
                ),
            ));
        }
    }
    match fs::symlink_metadata(file) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(SkillError::new(folder.display().to_string(), "no SKILL.md in this skill folder"));
        }
        Err(e) => return Err(SkillError::new(shown, format!("cannot read: {e}"))),
    }
    let real = file
        .canonicalize()
        .map_err(|e| SkillError::new(&shown, format!("SKILL.md is a broken symlink: {e}")))?;
    if !real.starts_with(&root_real) {
        return Err(SkillError::new(
            shown,
            format!(
                "SKILL.md is a symlink leading outside its skills directory {} (to {})",
                root.display(),
                real.display()
            ),
        ));
    }
    let meta = fs::metadata(&real).map_err(|e| SkillError::new(&shown, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(SkillError::new(shown, "SKILL.md is not a regular file"));
    }
    let too_big = |len: u64| {
        SkillError::new(
            &shown,
            format!("SKILL.md is {len} bytes; the limit is {} KiB", MAX_SKILL_BYTES / 1024),
        )
    };
    let limit = MAX_SKILL_BYTES as u64;
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::new();
    fs::File::open(&real)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| SkillError::new(&shown, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].split(|&b| b == b'\n').count();
        SkillError::new(format!("{shown}:{line}"), "SKILL.md is not valid UTF-8")
    })
}
