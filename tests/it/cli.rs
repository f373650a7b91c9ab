//! The command line as a user meets it: errors, prefixes, tables, JSON,
//! doctor, and the generated completions and man page.

use crate::helper::{Env, llm};

fn stderr_line(out: &std::process::Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(s.lines().count(), 1, "one line on stderr, got: {s}");
    assert!(!s.contains("panicked") && !s.contains("RUST_BACKTRACE"), "{s}");
    s
}

#[test]
fn bad_input_gets_one_clear_line() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let cases: &[(&[&str], &str)] = &[
        (&["submit", "/nonexistent/prompt.md"], "cannot read prompt file /nonexistent/prompt.md"),
        (&["show", "ZZZZ"], "no job matches \"ZZZZ\""),
        (&["show", "../../etc"], "is not a job id"),
        (&["tail", "01"], "no job matches"),
        (&["retry", "0123"], "no job matches"),
    ];
    for (args, want) in cases {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let line = stderr_line(&out);
        assert!(line.starts_with("error: ") && line.contains(want), "{args:?}: {line}");
    }
    let prompt = env.dir.path().join("p.txt");
    std::fs::write(&prompt, "hi").unwrap();
    let out = env.cmd().args(["submit", "--model", "local:"]).arg(&prompt).output().unwrap();
    assert!(stderr_line(&out).contains("names no model"));
    let out = env.cmd().args(["submit", "--model", "nosuch:x", "-p", "x"]).arg(&prompt).output().unwrap();
    assert!(stderr_line(&out).contains("is not KEY=VALUE"));
    // An empty prompt on stdin.
    let out = env.cmd().args(["submit", "-"]).stdin(std::process::Stdio::piped()).output().unwrap();
    assert!(stderr_line(&out).contains("the prompt is empty"));
    // A broken config file names the file.
    std::fs::write(&env.config, "default_model = [").unwrap();
    let out = env.run(&["jobs"]);
    let line = stderr_line(&out);
    assert!(line.contains(env.config.to_str().unwrap()), "{line}");
}

#[test]
fn ids_resolve_by_unique_prefix() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let a = env.submit("one", &[]);
    let b = env.submit("two", &[]);
    // Ids made in the same millisecond share a long prefix.
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let out = env.run(&["show", &a[..common]]);
    assert!(stderr_line(&out).contains("matches several jobs"));
    let v = env.show(&a[..=common].to_lowercase());
    assert_eq!(v["id"], a.as_str(), "prefixes are case-insensitive");
}

#[test]
fn jobs_lists_as_table_and_json() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let a = env.submit("first prompt", &[]);
    let b = env.submit("second prompt", &[]);
    env.ok(&["cancel", &a]);
    let table = env.ok(&["jobs"]);
    assert!(table.contains("ID") && table.contains("STATE") && table.contains("MODEL"), "{table}");
    assert!(table.contains(&b) && table.contains("queued") && table.contains("cancelled"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["jobs", "--json"])).unwrap();
    let ids: Vec<&str> = json.as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![b.as_str(), a.as_str()], "newest first");
    let only: serde_json::Value =
        serde_json::from_str(&env.ok(&["jobs", "--json", "--state", "cancelled"])).unwrap();
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["state"], "cancelled");
}

#[test]
fn show_json_has_the_documented_fields() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let id = env.submit("hello", &["-p", "temperature=0.5", "--system", "be brief"]);
    let v = env.show(&id);
    for key in [
        "id",
        "state",
        "model",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "output",
        "error",
        "usage",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["params"]["temperature"], 0.5);
    let human = env.ok(&["show", &id]);
    assert!(human.contains("state      queued"), "{human}");
}

#[test]
fn doctor_reports_each_check() {
    let env = Env::new();
    let out = env.run(&["doctor"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ok   provider local"), "{text}");
    // The built-in ollama provider is not running here.
    assert!(text.contains("FAIL provider ollama"), "{text}");
    // bubblewrap is installed for the tests: run_code is sandboxed.
    assert!(text.contains("ok   run_code sandbox"), "{text}");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&env.run(&["doctor", "--json"]).stdout).unwrap();
    let local = json.as_array().unwrap().iter().find(|c| c["name"] == "provider local").unwrap();
    assert_eq!(local["ok"], true);
    assert!(llm::url().contains("127.0.0.1"));
}

#[test]
fn help_teaches_with_examples() {
    let env = Env::new();
    let help = env.ok(&["submit", "--help"]);
    assert!(help.contains("Examples:") && help.contains("--param"), "{help}");
    let help = env.ok(&["--help"]);
    for cmd in ["submit", "tail", "jobs", "show", "cancel", "retry", "worker", "doctor", "completions", "man"]
    {
        assert!(help.contains(cmd), "{cmd} missing from --help");
    }
}

/// The committed completions and man page match the CLI. Run with
/// CTL_UPDATE_GENERATED=1 to rewrite them.
#[test]
fn generated_files_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let files = [
        ("completions/ctl.bash", vec!["completions", "bash"]),
        ("completions/_ctl", vec!["completions", "zsh"]),
        ("completions/ctl.fish", vec!["completions", "fish"]),
        ("man/ctl.1", vec!["man"]),
        ("ui/openapi.json", vec!["serve", "--openapi"]),
    ];
    let update = std::env::var_os("CTL_UPDATE_GENERATED").is_some();
    for (path, args) in files {
        let fresh = env.ok(&args);
        let file = root.join(path);
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            committed == fresh,
            "{path} is stale: run CTL_UPDATE_GENERATED=1 cargo nextest run generated_files"
        );
    }
}
