use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::*;
use crate::skills::front_matter::resolve;
use crate::skills::{MAX_FRONT_MATTER_BYTES, MAX_SKILL_BYTES};

const LOC: &str = "skills/foo/SKILL.md";

/// A SKILL.md with the given front matter lines and a short body.
fn doc(front: &str) -> String {
    format!("---\n{front}---\n# Foo\n\nDo foo.\n")
}

fn ok(text: &str) -> (Skill, Vec<Warning>) {
    parse(text, "foo", LOC).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn err(text: &str) -> String {
    parse(text, "foo", LOC).map(|_| ()).unwrap_err().to_string()
}

/// All errors, as `check` (and so `validate`) reports them.
fn all_errors(text: &str) -> Vec<String> {
    check(text, "foo", LOC).errors.iter().map(ToString::to_string).collect()
}

#[test]
fn minimal_skill_parses_with_text_body_and_hash() {
    let text = "---\nname: foo\ndescription: Does foo.\n---\nBody\n";
    let (skill, warnings) = ok(text);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(skill.name, "foo");
    assert_eq!(skill.description, "Does foo.");
    assert_eq!(skill.body, "Body\n");
    assert_eq!(skill.text, text);
    assert_eq!(skill.sha256, "790a2eaf2caeca9d84edda17eaa205033c8339845995ba6cddb349df37181207");
    assert_eq!(skill.source, SkillSource::User);
    assert_eq!(skill.path, LOC);
    assert_eq!(skill.license, None);
    assert_eq!(skill.compatibility, None);
    assert!(skill.metadata.is_empty() && skill.allowed_tools.is_empty());
}

#[test]
fn optional_fields_parse() {
    let (skill, warnings) = ok(&doc("name: foo\n\
         description: >-\n  Folded\n  description.\n\
         license: Apache-2.0\n\
         compatibility: 'Needs git'\n\
         allowed-tools: Bash(git:*)  Read\n\
         metadata:\n  temperature: \"0.2\"\n  model: ollama:qwen2.5:7b\n  author: \"me\"\n"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(skill.description, "Folded description.");
    assert_eq!(skill.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(skill.compatibility.as_deref(), Some("Needs git"));
    assert_eq!(skill.allowed_tools, vec!["Bash(git:*)", "Read"]);
    assert_eq!(skill.metadata["temperature"], "0.2");
    assert_eq!(skill.metadata["model"], "ollama:qwen2.5:7b");
    assert_eq!(skill.metadata["author"], "me");
    assert_eq!(skill.body, "# Foo\n\nDo foo.\n");
}

#[test]
fn empty_optional_values_count_as_absent() {
    let (skill, _) =
        ok(&doc("name: foo\ndescription: d\nlicense:\ncompatibility: ''\nmetadata:\nallowed-tools:\n"));
    assert_eq!(skill.license, None);
    assert_eq!(skill.compatibility, None);
    assert!(skill.metadata.is_empty() && skill.allowed_tools.is_empty());
}

#[test]
fn name_rules_name_the_file_and_line() {
    let cases: &[(&str, &str)] = &[
        ("Foo", "name \"Foo\" must be lowercase letters, digits and hyphens"),
        ("foo_bar", "must be lowercase letters, digits and hyphens"),
        ("föo", "must be lowercase letters, digits and hyphens"),
        ("-foo", "must not start or end with a hyphen"),
        ("foo-", "must not start or end with a hyphen"),
        ("fo--o", "must not contain two hyphens in a row"),
        ("''", "name must not be empty"),
    ];
    for (name, want) in cases {
        let text = format!("---\ndescription: d\nname: {name}\n---\nbody\n");
        let e = err(&text);
        assert!(e.starts_with("skills/foo/SKILL.md:3: "), "{name}: {e}");
        assert!(e.contains(want), "{name}: {e}");
    }
    assert_eq!(
        err("---\ndescription: d\nname: Foo\n---\nbody\n"),
        "skills/foo/SKILL.md:3: name \"Foo\" must be lowercase letters, digits and hyphens"
    );
}

#[test]
fn name_length_limit_is_64() {
    let long = "a".repeat(MAX_NAME_CHARS);
    assert!(parse(&format!("---\nname: {long}\ndescription: d\n---\nb\n"), &long, LOC).is_ok());
    let longer = "a".repeat(MAX_NAME_CHARS + 1);
    let e = parse(&format!("---\nname: {longer}\ndescription: d\n---\nb\n"), &longer, LOC).unwrap_err();
    assert!(e.message.contains("65 characters; the limit is 64"), "{e}");
    let huge = "x".repeat(5000);
    let e = parse(&format!("---\nname: {huge}\ndescription: d\n---\nb\n"), "foo", LOC).unwrap_err();
    assert!(e.message.len() < 200, "long names are cut in messages: {}", e.message.len());
    assert_eq!(e.location, "skills/foo/SKILL.md:2");
}

#[test]
fn name_must_equal_the_folder() {
    let e = parse(&doc("name: bar\ndescription: d\n"), "foo", LOC).unwrap_err();
    assert_eq!(e.to_string(), "skills/foo/SKILL.md:2: name \"bar\" must match its folder name \"foo\"");
    assert!(check_name("bar").is_ok());
}

#[test]
fn description_rules() {
    assert!(err(&doc("name: foo\ndescription: '  '\n")).contains(":3: description must not be empty"));
    let max = "é".repeat(MAX_DESCRIPTION_CHARS);
    ok(&doc(&format!("name: foo\ndescription: {max}\n")));
    let over = "d".repeat(MAX_DESCRIPTION_CHARS + 1);
    let e = err(&doc(&format!("name: foo\ndescription: {over}\n")));
    assert!(e.contains(":3: description is 1025 characters; the limit is 1024"), "{e}");
}

#[test]
fn compatibility_limit_is_500() {
    ok(&doc(&format!("name: foo\ndescription: d\ncompatibility: {}\n", "c".repeat(500))));
    let e = err(&doc(&format!("name: foo\ndescription: d\ncompatibility: {}\n", "c".repeat(501))));
    assert!(e.contains(":4: compatibility is 501 characters; the limit is 500"), "{e}");
}

#[test]
fn missing_required_keys_point_at_the_front_matter() {
    assert_eq!(
        err(&doc("description: d\n")),
        "skills/foo/SKILL.md:1: the required key \"name\" is missing from the front matter"
    );
    assert!(err(&doc("name: foo\n")).contains(":1: the required key \"description\" is missing"));
    assert_eq!(all_errors(&doc("license: MIT\n")).len(), 2);
}

#[test]
fn wrong_types_are_refused_with_the_line() {
    let cases: &[(&str, &str)] = &[
        ("name: 123\ndescription: d\n", ":2: name must be a string, not a number; put the value in quotes"),
        ("name: foo\ndescription: [a, b]\n", ":3: description must be a string, not a list"),
        ("name: foo\ndescription: {a: b}\n", ":3: description must be a string, not a mapping"),
        ("name: foo\ndescription: d\nlicense: true\n", ":4: license must be a string, not a boolean"),
        (
            "name: foo\ndescription: d\ncompatibility: 1.5\n",
            ":4: compatibility must be a string, not a number",
        ),
        (
            "name: foo\ndescription: d\nmetadata: text\n",
            ":4: metadata must be a mapping of strings to strings",
        ),
        (
            "name: foo\ndescription: d\nmetadata: [a]\n",
            ":4: metadata must be a mapping of strings to strings",
        ),
        (
            "name: foo\ndescription: d\nmetadata:\n  temperature: 0.2\n",
            ":5: metadata \"temperature\" must be a string, not a number; write temperature: \"0.2\"",
        ),
        ("name: foo\ndescription: d\nmetadata:\n  x: ~\n", ":5: metadata \"x\" must be a string, not empty"),
        (
            "name: foo\ndescription: d\nmetadata:\n  x:\n    y: z\n",
            ":5: metadata \"x\" must be a string, not a mapping",
        ),
        (
            "name: foo\ndescription: d\nallowed-tools:\n  - Read\n",
            ":4: allowed-tools must be a string, not a list; write the tools on one line, separated by spaces",
        ),
    ];
    for (front, want) in cases {
        let e = err(&doc(front));
        assert!(e.starts_with(LOC) && e.contains(want), "{front:?}: {e}");
    }
    // Quoted or tagged, the same text is a string.
    let (skill, _) = ok(&doc("name: foo\ndescription: '123'\nlicense: !!str 2.0\n"));
    assert_eq!(skill.description, "123");
    assert_eq!(skill.license.as_deref(), Some("2.0"));
}

#[test]
fn unknown_keys_warn_with_key_and_line_and_are_ignored() {
    let text = doc("name: foo\ndescription: d\nversion: 1.0\ntags:\n  - a\n  - {b: [c, d]}\n");
    let (skill, warnings) = ok(&text);
    assert_eq!(skill.name, "foo");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0].location, "skills/foo/SKILL.md:4");
    assert!(warnings[0].message.contains("unknown key \"version\""), "{:?}", warnings[0]);
    assert_eq!(warnings[1].location, "skills/foo/SKILL.md:5");
    assert!(warnings[1].message.contains("\"tags\""));
}

#[test]
fn duplicate_keys_are_errors() {
    let e = err(&doc("name: foo\ndescription: d\nname: foo\n"));
    assert!(e.contains(":4: duplicate key \"name\" (first on line 2)"), "{e}");
    let e = err(&doc("name: foo\ndescription: d\nmetadata:\n  a: '1'\n  a: '2'\n"));
    assert!(e.contains(":6: duplicate metadata key \"a\" (first on line 5)"), "{e}");
}

#[test]
fn anchors_aliases_and_merge_keys_are_refused() {
    let cases = [
        "name: &n foo\ndescription: d\n",
        "name: foo\ndescription: d\nx: &a [1]\ny: *a\n",
        "name: foo\ndescription: d\nmetadata:\n  <<: {a: b}\n",
        "base: &b {a: '1'}\nname: foo\ndescription: d\nmetadata:\n  <<: *b\n",
        "name: foo\ndescription: d\nmetadata: &m {a: '1'}\n",
        "name: foo\ndescription: d\nx: *nowhere\n",
        "&top\nname: foo\ndescription: d\n",
    ];
    for front in cases {
        let e = err(&doc(front));
        assert!(e.starts_with("skills/foo/SKILL.md:"), "{front:?}: {e}");
        assert!(e.contains("anchors and aliases") || e.contains("merge keys"), "{front:?}: {e}");
    }
    assert!(err(&doc("name: &n foo\ndescription: d\n")).starts_with("skills/foo/SKILL.md:2: "));
}

/// The classic exponential-expansion document: nine levels of ten aliases
/// each. It must be refused at the first anchor, without expanding anything.
#[test]
fn billion_laughs_is_refused_fast() {
    let mut front = String::from("name: foo\ndescription: d\nlol0: &lol0 \"lol\"\n");
    for i in 1..10 {
        let refs = vec![format!("*lol{}", i - 1); 10].join(", ");
        writeln!(front, "lol{i}: &lol{i} [{refs}]").unwrap();
    }
    front.push_str("bomb: *lol9\n");
    let text = doc(&front);
    assert!(text.len() < MAX_FRONT_MATTER_BYTES);
    let started = Instant::now();
    let e = err(&text);
    assert!(started.elapsed() < Duration::from_millis(500), "took {:?}", started.elapsed());
    assert!(e.contains(":4: YAML anchors and aliases"), "{e}");
    // The same with the anchor hidden behind a merge key in metadata.
    let e = err(&doc("name: foo\ndescription: d\nmetadata:\n  <<: *lol9\n"));
    assert!(e.contains(":5: YAML merge keys"), "{e}");
}

#[test]
fn deep_nesting_is_refused_fast_and_moderate_nesting_skipped() {
    let nested = |depth: usize| {
        doc(&format!("name: foo\ndescription: d\nx: {}{}\n", "[".repeat(depth), "]".repeat(depth)))
    };
    let text = nested(7000);
    assert!(text.len() < MAX_FRONT_MATTER_BYTES);
    let started = Instant::now();
    let e = err(&text);
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert!(
        e.starts_with("skills/foo/SKILL.md:4: invalid YAML: recursion limit"),
        "{}",
        &e[..e.len().min(200)]
    );
    let (_, warnings) = ok(&nested(50));
    assert!(warnings[0].message.contains("\"x\""));
}

#[test]
fn tags_other_than_plain_strings_are_refused() {
    for front in [
        "name: foo\ndescription: !!python/object:os.system d\n",
        "name: foo\ndescription: !custom d\n",
        "name: foo\ndescription: !!int '5'\n",
        "name: foo\ndescription: d\nmetadata: !!set {a: '1'}\n",
    ] {
        let e = err(&doc(front));
        assert!(e.contains("YAML tags") && e.contains("not allowed"), "{front:?}: {e}");
    }
}

#[test]
fn front_matter_must_exist_and_be_closed() {
    assert_eq!(
        err("# Foo\nno front matter\n"),
        "skills/foo/SKILL.md:1: SKILL.md must start with YAML front matter: a \"---\" line, the keys, then another \"---\" line"
    );
    assert!(err("").contains(":1: SKILL.md must start with YAML front matter"));
    assert!(err("\n---\nname: foo\n---\n").contains(":1: SKILL.md must start"));
    assert!(err("---\nname: foo\ndescription: d\n").contains(":1: the front matter is not closed"));
    assert!(err("---").contains(":1: the front matter is not closed"));
    assert!(err("---\n---\nbody\n").contains(":1: the front matter is empty"));
    assert!(err("---\n# just a comment\n---\nbody\n").contains(":1: the front matter is empty"));
    assert!(err("---\n- a\n- b\n---\nbody\n").contains(":2: the front matter must be a YAML mapping"));
    assert!(err("---\njust text\n---\n").contains("the front matter must be a YAML mapping"));
    let e = err("---\nname: foo\ndescription: d\n...\nx: 1\n---\n");
    assert!(e.contains(":5: the front matter must hold a single YAML document"), "{e}");
    // A closing line may carry trailing spaces; what follows it is body.
    let (skill, _) = ok("---\nname: foo\ndescription: d\n--- \nx: 1\n---\n");
    assert_eq!(skill.body, "x: 1\n---\n");
}

#[test]
fn invalid_yaml_names_the_line() {
    let e = err(&doc("name: foo\ndescription: \"unterminated\nlicense: x\n"));
    assert!(e.starts_with("skills/foo/SKILL.md:") && e.contains("invalid YAML"), "{e}");
    let e = err(&doc("name: foo\ndescription: d\n  bad indent: x\n"));
    assert!(e.contains("skills/foo/SKILL.md:4: invalid YAML"), "{e}");
}

#[test]
fn size_limits_are_enforced() {
    // The whole file.
    let body = "x".repeat(MAX_SKILL_BYTES);
    let e = err(&format!("---\nname: foo\ndescription: d\n---\n{body}"));
    assert!(e.starts_with("skills/foo/SKILL.md: SKILL.md is "), "{e}");
    assert!(e.contains("the limit is 256 KiB"), "{e}");
    let head = "---\nname: foo\ndescription: d\n---\n";
    ok(&format!("{head}{}", "y".repeat(MAX_SKILL_BYTES - head.len())));
    // The front matter: padded with a comment to exactly the limit, then one byte more.
    let keys = "name: foo\ndescription: d\n";
    let pad = |n: usize| format!("{keys}#{}\n", "p".repeat(n - keys.len() - 2));
    let (skill, _) = ok(&format!("---\n{}---\nbody\n", pad(MAX_FRONT_MATTER_BYTES)));
    assert_eq!(skill.name, "foo");
    let e = err(&format!("---\n{}---\nbody\n", pad(MAX_FRONT_MATTER_BYTES + 1)));
    assert_eq!(e, "skills/foo/SKILL.md:1: the front matter is 16385 bytes; the limit is 16 KiB");
}

#[test]
fn crlf_and_bom_are_accepted() {
    let text = "\u{feff}---\r\nname: foo\r\ndescription: d\r\n---\r\nBody\r\n";
    let (skill, _) = ok(text);
    assert_eq!(skill.description, "d");
    assert_eq!(skill.body, "Body\r\n");
    assert_eq!(skill.text, text, "text is kept exactly as read");
}

#[test]
fn ctl_defaults_in_metadata_get_warnings_when_odd() {
    let (skill, warnings) = ok(&doc(
        "name: foo\ndescription: d\nmetadata:\n  temperature: \"hot\"\n  rag: \"maybe\"\n  model: ''\n",
    ));
    assert_eq!(skill.metadata["temperature"], "hot");
    let got: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("skills/foo/SKILL.md:5: metadata temperature"), "{got:?}");
    assert!(got[1].contains(":6: metadata rag \"maybe\" is not a RAG mode"), "{got:?}");
    assert!(got[2].contains(":7: metadata model is empty"), "{got:?}");
    let (_, warnings) =
        ok(&doc("name: foo\ndescription: d\nmetadata:\n  temperature: '1.5'\n  rag: context-only\n"));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn empty_or_long_bodies_warn() {
    let (_, warnings) = ok("---\nname: foo\ndescription: d\n---\n\n");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].location, "skills/foo/SKILL.md:5");
    assert!(warnings[0].message.contains("no instructions"));
    let (_, warnings) = ok(&format!("---\nname: foo\ndescription: d\n---\n{}", "line\n".repeat(501)));
    assert!(warnings[0].message.contains("501 lines"), "{warnings:?}");
}

#[test]
fn check_reports_every_problem_and_parse_the_first() {
    let text = doc("name: Foo\ndescription: ''\ncompatibility: [x]\nmetadata:\n  t: 1\n");
    let errors = all_errors(&text);
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert_eq!(err(&text), errors[0]);
}

#[test]
fn core_schema_resolution() {
    for s in ["", "~", "null", "NULL"] {
        assert_eq!(resolve(s), Kind::Null, "{s}");
    }
    for s in ["true", "False"] {
        assert_eq!(resolve(s), Kind::Bool, "{s}");
    }
    for s in ["0", "-12", "+3", "0o17", "0xFF"] {
        assert_eq!(resolve(s), Kind::Int, "{s}");
    }
    for s in ["0.2", ".5", "1.", "-1e3", "2.5E-2", ".inf", "-.Inf", ".nan"] {
        assert_eq!(resolve(s), Kind::Float, "{s}");
    }
    for s in ["yes", "no", "on", "1.2.3", "0x", "1e", ".", "e3", "-", "1_000", "0.2b", "v1"] {
        assert_eq!(resolve(s), Kind::Str, "{s}");
    }
}
