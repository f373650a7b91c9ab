//! `ctl skills` as a user meets it: list, show, new and validate, with the
//! skill directories in the test's TempDir (CTL_SKILLS_PATH or the config).

use std::path::{Path, PathBuf};

use crate::helper::Env;

/// An installation whose user skill directories are `skills0`, `skills1`, ...
fn env_with_dirs(n: usize) -> (Env, Vec<PathBuf>) {
    let mut env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let dirs: Vec<PathBuf> = (0..n).map(|i| env.dir.path().join(format!("skills{i}"))).collect();
    let joined: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    env.set("CTL_SKILLS_PATH", &joined.join(":"));
    (env, dirs)
}

fn write_skill(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    let file = dir.join(name).join("SKILL.md");
    std::fs::write(&file, text).unwrap();
    file
}

fn skill_text(name: &str, description: &str) -> String {
    format!(
        "---\nname: {name}\ndescription: {description}\nmetadata:\n  temperature: \"0.1\"\n---\n# {name}\n\nDo it.\n"
    )
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!s.contains("panicked"), "{s}");
    s
}

#[test]
fn list_shows_user_and_builtin_skills_and_warns_about_broken_ones() {
    let (env, dirs) = env_with_dirs(2);
    write_skill(&dirs[0], "mine", &skill_text("mine", "My own skill for testing the list."));
    write_skill(&dirs[1], "summarize", &skill_text("summarize", "My summaries."));
    write_skill(&dirs[1], "mine", &skill_text("mine", "Hidden by the first directory."));
    let bad = write_skill(&dirs[0], "bad", "---\nname: Bad\ndescription: d\n---\n");

    let out = env.run(&["skills", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    for word in ["NAME", "SOURCE", "DESCRIPTION", "SHA256", "code-review", "explain", "research"] {
        assert!(table.contains(word), "{word}: {table}");
    }
    let row =
        |name: &str| table.lines().find(|l| l.contains(&format!(" {name} "))).unwrap_or_default().to_owned();
    assert!(row("mine").contains("user") && row("mine").contains("My own skill"), "{table}");
    assert!(row("summarize").contains("user") && row("summarize").contains("My summaries."), "{table}");
    assert!(row("research").contains("builtin"), "{table}");
    assert!(!table.contains("bad") && !table.contains("Hidden"), "{table}");
    let warnings = stderr(&out);
    assert_eq!(warnings.lines().count(), 2, "{warnings}");
    assert!(
        warnings.starts_with(&format!(
            "warning: {}:2: name \"Bad\" must be lowercase letters, digits and hyphens",
            bad.display()
        )),
        "{warnings}"
    );

    let json: serde_json::Value = serde_json::from_str(&env.ok(&["skills", "list", "--json"])).unwrap();
    let skills = json.as_array().unwrap();
    let names: Vec<&str> = skills.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["code-review", "explain", "mine", "research", "summarize"]);
    let mine = &skills[2];
    assert_eq!(mine["source"], "user");
    assert_eq!(mine["description"], "My own skill for testing the list.");
    assert_eq!(mine["path"], dirs[0].join("mine/SKILL.md").display().to_string());
    assert_eq!(mine["metadata"]["temperature"], "0.1");
    assert!(mine.get("text").is_none() && mine.get("body").is_none(), "list leaves the text out");
    let sha = mine["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert!(row("mine").contains(&sha[..12]) && !row("mine").contains(&sha[..13]), "{table}");
    assert_eq!(skills[3]["source"], "builtin");
    assert_eq!(skills[3]["path"], "builtin:research");
}

#[test]
fn show_prints_the_exact_text_or_the_skill_as_json() {
    let (env, dirs) = env_with_dirs(1);
    let text = skill_text("mine", "Shown.");
    write_skill(&dirs[0], "mine", &text);
    assert_eq!(env.ok(&["skills", "show", "mine"]), text);

    let v: serde_json::Value = serde_json::from_str(&env.ok(&["skills", "show", "--json", "mine"])).unwrap();
    assert_eq!(v["name"], "mine");
    assert_eq!(v["description"], "Shown.");
    assert_eq!(v["text"], text.as_str());
    assert_eq!(v["body"], "# mine\n\nDo it.\n");
    assert_eq!(v["source"], "user");
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(v["allowed_tools"], serde_json::json!([]));
    assert_eq!(v["license"], serde_json::Value::Null);

    let research = env.ok(&["skills", "show", "research"]);
    assert!(research.starts_with("---\nname: research\n"), "{research}");
    assert_eq!(research, include_str!("../../skills/research/SKILL.md"));

    // A broken user skill hides nothing, and `show` says why it was passed over;
    // problems with other skills are not its business.
    let broken = write_skill(&dirs[0], "research", "---\nname: research\n---\n");
    write_skill(&dirs[0], "other", "no front matter");
    let out = env.run(&["skills", "show", "research"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), research);
    let warnings = stderr(&out);
    assert_eq!(warnings.lines().count(), 1, "{warnings}");
    assert!(
        warnings.starts_with(&format!("warning: {}:1: the required key", broken.display())),
        "{warnings}"
    );

    let out = env.run(&["skills", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: no skill named \"nope\""), "{err}");
}

#[test]
fn new_creates_a_skill_that_validates_and_lists() {
    let (env, dirs) = env_with_dirs(2);
    let path = env.ok(&["skills", "new", "release-notes"]);
    let file = dirs[0].join("release-notes/SKILL.md");
    assert_eq!(path.trim(), file.display().to_string());
    assert!(std::fs::read_to_string(&file).unwrap().contains("name: release-notes\n"));

    let out = env.run(&["skills", "validate"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out), format!("ok {}\n", dirs[0].join("release-notes").display()));
    assert!(env.ok(&["skills", "list"]).contains("release-notes"));

    let out = env.run(&["skills", "new", "release-notes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let out = env.run(&["skills", "new", "Release_Notes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("must be lowercase letters, digits and hyphens"), "{}", stderr(&out));

    let other = env.dir.path().join("elsewhere");
    let path = env.ok(&["skills", "new", "triage", "--dir", other.to_str().unwrap()]);
    assert_eq!(path.trim(), other.join("triage/SKILL.md").display().to_string());
    assert!(!dirs[1].exists());
}

#[test]
fn validate_prints_each_problem_with_its_line_and_fails_on_errors() {
    let (env, dirs) = env_with_dirs(1);
    let good = write_skill(&dirs[0], "good", "---\nname: good\ndescription: d\nversion: 2\n---\nDo it.\n");
    let bad =
        write_skill(&dirs[0], "bad", "---\nname: Bad\ndescription: d\nmetadata:\n  temperature: 0.2\n---\n");

    let out = env.run(&["skills", "validate"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let b = bad.display();
    let g = good.display();
    assert_eq!(
        lines,
        [
            format!("error: {b}:2: name \"Bad\" must be lowercase letters, digits and hyphens"),
            format!("error: {b}:2: name \"Bad\" must match its folder name \"bad\""),
            format!(
                "error: {b}:5: metadata \"temperature\" must be a string, not a number; write temperature: \"0.2\""
            ),
            format!("warning: {b}:7: SKILL.md has no instructions after the front matter"),
            format!(
                "warning: {g}:4: unknown key \"version\" is not in the Agent Skills specification; it is ignored"
            ),
            format!("ok {}", dirs[0].join("good").display()),
        ]
    );

    // One folder, one file, JSON.
    let out = env.run(&["skills", "validate", good.parent().unwrap().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let out = env.run(&["skills", "validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with(&format!("error: {b}:2: ")), "{}", stdout(&out));
    let out = env.run(&["skills", "validate", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["path"], dirs[0].join("bad").display().to_string());
    assert_eq!(v[0]["errors"][0]["location"], format!("{b}:2"));
    assert_eq!(v[1]["errors"], serde_json::json!([]));
    assert_eq!(v[1]["warnings"][0]["location"], format!("{g}:4"));

    // A path that does not exist.
    let out = env.run(&["skills", "validate", "/nonexistent/skill"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("error: /nonexistent/skill: cannot read"), "{}", stdout(&out));
}

#[test]
fn validate_without_user_directories_is_not_an_error() {
    let (env, dirs) = env_with_dirs(1);
    let out = env.run(&["skills", "validate"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains(&dirs[0].display().to_string()), "{}", stderr(&out));
}

#[test]
fn config_skills_paths_are_searched_without_the_variable() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let dir = env.dir.path().join("configured");
    write_skill(&dir, "from-config", &skill_text("from-config", "Configured."));
    let config = std::fs::read_to_string(&env.config).unwrap()
        + &format!("\n[skills]\npaths = [\"{}\"]\n", dir.display());
    std::fs::write(&env.config, config).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["skills", "show", "--json", "from-config"])).unwrap();
    assert_eq!(v["description"], "Configured.");
    let path = env.ok(&["skills", "new", "made-here"]);
    assert_eq!(path.trim(), dir.join("made-here/SKILL.md").display().to_string());
}

#[test]
fn help_has_examples() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let help = env.ok(&["skills", "--help"]);
    for word in ["list", "show", "new", "validate", "CTL_SKILLS_PATH", "Examples:"] {
        assert!(help.contains(word), "{word}: {help}");
    }
    assert!(env.ok(&["skills", "validate", "--help"]).contains("error: FILE:LINE: message"));
}
