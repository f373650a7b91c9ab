//! Skills on disk: loading, override order, hostile folders, validate,
//! scaffold, the built-ins and the search path.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::*;

fn skill_text(name: &str, description: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\n---\n# {name}\n\nDo {name}.\n")
}

/// Writes `<dir>/<name>/SKILL.md`; returns the SKILL.md path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("SKILL.md");
    std::fs::write(&file, text).unwrap();
    file
}

fn names(catalog: &Catalog) -> Vec<&str> {
    catalog.list().iter().map(|s| s.name.as_str()).collect()
}

fn messages(errors: &[SkillError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

#[test]
fn catalog_lists_user_skills_then_builtins_sorted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("skills");
    let file = write(&dir, "zeta", &skill_text("zeta", "Last."));
    write(&dir, "alpha", &skill_text("alpha", "First."));
    let (catalog, errors) = Catalog::load(std::slice::from_ref(&dir));
    assert!(errors.is_empty(), "{}", messages(&errors));
    assert_eq!(names(&catalog), ["alpha", "code-review", "explain", "research", "summarize", "zeta"]);
    let zeta = catalog.get("zeta").unwrap();
    assert_eq!(zeta.source, SkillSource::User);
    assert_eq!(zeta.path, file.display().to_string());
    assert_eq!(zeta.description, "Last.");
    assert!(catalog.get("nope").is_none());
}

#[test]
fn first_directory_wins_and_users_override_builtins() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    write(&first, "shared", &skill_text("shared", "From first."));
    write(&second, "shared", &skill_text("shared", "From second."));
    write(&second, "only-second", &skill_text("only-second", "Second only."));
    write(&second, "summarize", &skill_text("summarize", "My summaries."));
    let (catalog, errors) = Catalog::load(&[first.clone(), second.clone()]);
    assert!(errors.is_empty(), "{}", messages(&errors));
    assert_eq!(catalog.get("shared").unwrap().description, "From first.");
    assert_eq!(catalog.get("only-second").unwrap().description, "Second only.");
    let summarize = catalog.get("summarize").unwrap();
    assert_eq!(summarize.source, SkillSource::User);
    assert_eq!(summarize.description, "My summaries.");
    assert_eq!(catalog.get("research").unwrap().source, SkillSource::Builtin);
    // Reversed order, reversed winner.
    let (catalog, _) = Catalog::load(&[second, first]);
    assert_eq!(catalog.get("shared").unwrap().description, "From second.");
}

#[test]
fn broken_skills_are_skipped_and_reported_never_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("skills");
    write(&dir, "good", &skill_text("good", "Fine."));
    write(&dir, "bad-name", &skill_text("Bad", "Wrong name."));
    write(&dir, "no-front", "# just markdown\n");
    write(&dir, "laughs", "---\nname: laughs\ndescription: &a d\nx: *a\n---\n");
    std::fs::create_dir_all(dir.join("empty-folder")).unwrap();
    // A broken user skill named like a built-in hides nothing.
    write(&dir, "explain", "---\nname: explain\n---\n");
    // Ignored: hidden folders and loose files.
    write(&dir, ".git", "not a skill");
    std::fs::write(dir.join("README.md"), "notes").unwrap();
    let (catalog, errors) = Catalog::load(std::slice::from_ref(&dir));
    assert_eq!(names(&catalog), ["code-review", "explain", "good", "research", "summarize"]);
    assert_eq!(catalog.get("explain").unwrap().source, SkillSource::Builtin);
    let text = messages(&errors);
    assert_eq!(errors.len(), 6, "{text}");
    let d = dir.display();
    assert!(text.contains(&format!("{d}/bad-name/SKILL.md:2: name \"Bad\" must be lowercase")), "{text}");
    assert!(text.contains(&format!("{d}/no-front/SKILL.md:1: SKILL.md must start")), "{text}");
    assert!(text.contains(&format!("{d}/laughs/SKILL.md:3: YAML anchors")), "{text}");
    assert!(text.contains(&format!("{d}/empty-folder: no SKILL.md in this skill folder")), "{text}");
    assert!(text.contains(&format!("{d}/explain/SKILL.md:1: the required key \"description\"")), "{text}");
}

#[test]
fn missing_directories_are_fine_and_unreadable_ones_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (catalog, errors) = Catalog::load(&[tmp.path().join("absent")]);
    assert!(errors.is_empty());
    assert_eq!(catalog.len(), 4);
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (_, errors) = Catalog::load(std::slice::from_ref(&file));
    assert!(messages(&errors).contains("cannot read the skills directory"), "{}", messages(&errors));
    // A skill folder given where a directory of skill folders belongs.
    let folder = write(tmp.path(), "solo", &skill_text("solo", "d")).parent().unwrap().to_path_buf();
    let (_, errors) = Catalog::load(&[folder]);
    assert!(messages(&errors).contains("this is a skill folder"), "{}", messages(&errors));
}

#[test]
fn symlinks_leading_outside_the_skills_directory_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("skills");
    let outside = tmp.path().join("outside");
    write(&outside, "evil", &skill_text("evil", "Outside."));
    write(&outside, "secret-file", &skill_text("leak", "Outside."));
    std::fs::create_dir_all(&dir).unwrap();
    // A skill folder that is a symlink out.
    symlink(outside.join("evil"), dir.join("evil")).unwrap();
    // A SKILL.md that is a symlink out.
    std::fs::create_dir_all(dir.join("leak")).unwrap();
    symlink(outside.join("secret-file/SKILL.md"), dir.join("leak/SKILL.md")).unwrap();
    // A SKILL.md symlinked to /etc/passwd.
    std::fs::create_dir_all(dir.join("passwd")).unwrap();
    symlink("/etc/passwd", dir.join("passwd/SKILL.md")).unwrap();
    // Symlinks that stay inside are fine, and so is a symlinked skills directory.
    write(&dir, ".shared/inside", &skill_text("inside", "Inside."));
    std::fs::create_dir_all(dir.join("inside")).unwrap();
    symlink(dir.join(".shared/inside/SKILL.md"), dir.join("inside/SKILL.md")).unwrap();
    let linked_dir = tmp.path().join("linked-skills");
    symlink(&dir, &linked_dir).unwrap();

    for root in [&dir, &linked_dir] {
        let (catalog, errors) = Catalog::load(std::slice::from_ref(root));
        let text = messages(&errors);
        assert_eq!(errors.len(), 3, "{text}");
        let d = root.display();
        assert!(
            text.contains(&format!(
                "{d}/evil: the skill folder is a symlink leading outside its skills directory"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("{d}/leak/SKILL.md: SKILL.md is a symlink leading outside")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{d}/passwd/SKILL.md: SKILL.md is a symlink leading outside")),
            "{text}"
        );
        assert!(catalog.get("evil").is_none() && catalog.get("leak").is_none());
        assert_eq!(catalog.get("inside").unwrap().description, "Inside.");
    }
    // validate says the same about a symlinked folder.
    let (errors, _) = validate(&dir.join("evil"));
    assert!(messages(&errors).contains("symlink leading outside"), "{}", messages(&errors));
}

#[test]
fn special_oversized_and_non_utf8_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("skills");
    // A FIFO would block a naive read forever.
    std::fs::create_dir_all(dir.join("fifo")).unwrap();
    let status = std::process::Command::new("mkfifo").arg(dir.join("fifo/SKILL.md")).status().unwrap();
    assert!(status.success());
    std::fs::create_dir_all(dir.join("folder-file/SKILL.md")).unwrap();
    let big = format!("{}{}", skill_text("big", "d"), "x".repeat(MAX_SKILL_BYTES));
    write(&dir, "big", &big);
    std::fs::create_dir_all(dir.join("latin1")).unwrap();
    std::fs::write(dir.join("latin1/SKILL.md"), b"---\nname: latin1\ndescription: caf\xe9\n---\n").unwrap();
    let (catalog, errors) = Catalog::load(std::slice::from_ref(&dir));
    let text = messages(&errors);
    assert_eq!(errors.len(), 4, "{text}");
    assert_eq!(catalog.len(), 4, "only the built-ins");
    let d = dir.display();
    assert!(text.contains(&format!("{d}/fifo/SKILL.md: SKILL.md is not a regular file")), "{text}");
    assert!(text.contains(&format!("{d}/folder-file/SKILL.md: SKILL.md is not a regular file")), "{text}");
    assert!(
        text.contains(&format!("{d}/big/SKILL.md: SKILL.md is {} bytes; the limit is 256 KiB", big.len()))
    );
    assert!(text.contains(&format!("{d}/latin1/SKILL.md:3: SKILL.md is not valid UTF-8")), "{text}");
}

#[test]
fn validate_takes_a_folder_a_file_or_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("skills");
    let good = write(&dir, "good", &skill_text("good", "d").replace("---\n#", "version: 2\n---\n#"));
    let bad = write(&dir, "bad", "---\nname: Bad\ndescription: ''\n---\nbody\n");

    let (errors, warnings) = validate(good.parent().unwrap());
    assert!(errors.is_empty(), "{}", messages(&errors));
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].location, format!("{}:4", good.display()));
    assert!(warnings[0].message.contains("unknown key \"version\""));

    let (errors, _) = validate(&bad);
    assert_eq!(errors.len(), 3, "every problem: {}", messages(&errors));
    assert!(errors.iter().all(|e| e.location.starts_with(&bad.display().to_string())));

    let reports = check_path(&dir);
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].path, dir.join("bad").display().to_string());
    assert!(!reports[0].ok() && reports[1].ok());

    let (errors, _) = validate(&tmp.path().join("nope"));
    assert!(messages(&errors).contains("cannot read"), "{}", messages(&errors));
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (errors, warnings) = validate(&empty);
    assert!(errors.is_empty() && warnings[0].message.contains("no skill folders"));
}

#[test]
fn scaffold_creates_a_skill_that_validates_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deep/skills");
    let file = scaffold(&dir, "release-notes").unwrap();
    assert_eq!(file, dir.join("release-notes/SKILL.md"));
    let (errors, warnings) = validate(file.parent().unwrap());
    assert!(errors.is_empty() && warnings.is_empty(), "{errors:?} {warnings:?}");
    let (catalog, _) = Catalog::load(std::slice::from_ref(&dir));
    let skill = catalog.get("release-notes").unwrap();
    assert_eq!(skill.metadata["temperature"], "0.3");

    let e = scaffold(&dir, "release-notes").unwrap_err();
    assert!(e.message.contains("already exists"), "{e}");
    let e = scaffold(&dir, "Release_Notes").unwrap_err();
    assert!(e.message.contains("must be lowercase letters, digits and hyphens"), "{e}");
    assert!(!dir.join("Release_Notes").exists());
    assert!(scaffold(&dir, "../escape").is_err());
}

#[test]
fn each_builtin_validates_without_warnings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("skills");
    let sources = catalog::builtin_sources();
    assert!(sources.len() >= 4);
    for (name, text) in sources {
        let (skill, warnings) = parse(text, name, &format!("builtin:{name}")).unwrap();
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        assert!(skill.body.lines().count() > 20, "{name}: real instructions");
        assert!(!skill.metadata.is_empty(), "{name}: a ctl default");
        // The embedded text is the file in the repository.
        let on_disk = std::fs::read_to_string(root.join(name).join("SKILL.md")).unwrap();
        assert_eq!(&on_disk, text, "{name}");
    }
    // Every folder in skills/ is embedded, and the folder validates.
    let folders: Vec<String> = files::skill_folders(&root)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into())
        .collect();
    let embedded: Vec<&str> = sources.iter().map(|(n, _)| *n).collect();
    assert_eq!(folders, embedded);
    let (errors, warnings) = validate(&root);
    assert!(errors.is_empty() && warnings.is_empty(), "{errors:?} {warnings:?}");

    let catalog = Catalog::builtin();
    assert_eq!(names(&catalog), ["code-review", "explain", "research", "summarize"]);
    for skill in catalog.list() {
        assert_eq!(skill.source, SkillSource::Builtin);
        assert_eq!(skill.path, format!("builtin:{}", skill.name));
        assert_eq!(skill.sha256.len(), 64);
    }
}

#[test]
fn search_path_prefers_env_then_config_then_default() {
    let configured = vec![PathBuf::from("/c/one"), PathBuf::from("/c/two")];
    assert_eq!(
        search_path_from(Some("/e/a::/e/b".into()), &configured),
        [PathBuf::from("/e/a"), PathBuf::from("/e/b")]
    );
    assert_eq!(search_path_from(Some("".into()), &configured), configured);
    assert_eq!(search_path_from(None, &configured), configured);
    assert_eq!(search_path_from(None, &[]), default_dir().into_iter().collect::<Vec<_>>());
    if let Some(home) = std::env::var_os("HOME") {
        assert_eq!(search_path_from(None, &[PathBuf::from("~/s")]), [PathBuf::from(home).join("s")]);
    }
    let default = default_dir().unwrap();
    assert!(default.ends_with("ctl/skills"), "{}", default.display());
}

#[test]
fn config_reads_skills_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ctl.toml");
    std::fs::write(&path, "[skills]\npaths = [\"/a\", \"/b\"]\n").unwrap();
    let config = crate::config::Config::load(Some(&path), Vec::new()).unwrap();
    assert_eq!(config.skills.paths, [PathBuf::from("/a"), PathBuf::from("/b")]);
    std::fs::write(&path, "[skills]\npath = \"/a\"\n").unwrap();
    assert!(crate::config::Config::load(Some(&path), Vec::new()).is_err(), "unknown keys are refused");
    let env = vec![("CTL_SKILLS__PATHS".to_owned(), "[\"/x\"]".to_owned())];
    let config = crate::config::Config::load(Some(&path.with_file_name("none.toml")), env.clone());
    assert!(config.is_err(), "an explicit config must exist");
    std::fs::write(&path, "").unwrap();
    let config = crate::config::Config::load(Some(&path), env).unwrap();
    assert_eq!(config.skills.paths, [PathBuf::from("/x")]);
}
