//! Skills on jobs, provenance, replay, diff and stats, against the real
//! llama.cpp server.

use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helper::Env;

fn write_skill(dir: &std::path::Path, name: &str, body: &str, temperature: &str) -> std::path::PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("SKILL.md");
    std::fs::write(
        &path,
        format!(
            "---\nname: {name}\ndescription: Answers tersely, for tests.\nmetadata:\n  temperature: \"{temperature}\"\n---\n\n{body}\n"
        ),
    )
    .unwrap();
    path
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[test]
fn skills_are_snapshotted_and_replays_use_the_snapshot() {
    let mut env = Env::new();
    let skills = env.dir.path().join("skills");
    let path = write_skill(&skills, "terse", "Answer in one short sentence.", "0");
    env.set("CTL_SKILLS_PATH", skills.to_str().unwrap());
    let first_hash = sha256_hex(&std::fs::read(&path).unwrap());

    let a =
        env.submit("Tell me about the people.", &["--skill", "terse", "-p", "max_tokens=12", "-p", "seed=3"]);
    let v = env.show(&a);
    assert_eq!(v["skills"][0]["name"], "terse");
    assert_eq!(v["skills"][0]["sha256"], first_hash.as_str());
    assert_eq!(v["skills"][0]["source"], path.to_str().unwrap());
    assert_eq!(v["params"]["temperature"], 0, "the skill's metadata default applied");
    let job_file: Value = serde_json::from_str(
        &std::fs::read_to_string(env.queue_dir("_queue").join(format!("{a}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(job_file["skills"][0]["text"], std::fs::read_to_string(&path).unwrap().as_str());

    // A flag beats the skill's default.
    let hot = env.submit("hi", &["--skill", "terse", "-p", "temperature=0.9", "-p", "max_tokens=2"]);
    assert_eq!(env.show(&hot)["params"]["temperature"], 0.9);

    // Edit the skill: the next job records the new hash, a replay the old one.
    write_skill(&skills, "terse", "Answer in one long paragraph.", "0");
    let second_hash = sha256_hex(&std::fs::read(&path).unwrap());
    assert_ne!(first_hash, second_hash);
    let b =
        env.submit("Tell me about the people.", &["--skill", "terse", "-p", "max_tokens=12", "-p", "seed=3"]);
    assert_eq!(env.show(&b)["skills"][0]["sha256"], second_hash.as_str());
    let r = env.ok(&["replay", &a]).trim().to_owned();
    let rv = env.show(&r);
    assert_eq!(rv["parent_id"], a.as_str());
    assert_eq!(rv["skills"][0]["sha256"], first_hash.as_str(), "a replay runs the original's snapshot");
    assert_eq!(rv["params"], v["params"]);
    let r2 = env.ok(&["replay", &a, "-p", "max_tokens=4"]).trim().to_owned();
    assert_eq!(env.show(&r2)["params"]["max_tokens"], 4);

    let _w = env.worker(&[]);
    for id in [&a, &hot, &b, &r, &r2] {
        assert_eq!(env.wait_finished(id, 60)["state"], "completed", "{id}");
    }
    // Same snapshot, same params, temperature 0 and a seed: the same text.
    assert_eq!(env.show(&a)["output"], env.show(&r)["output"]);
    let same = env.ok(&["diff", &a, &r]);
    assert!(same.starts_with("outputs are identical"), "{same}");
    let json: Value = serde_json::from_str(&env.ok(&["diff", "--json", &a, &r2])).unwrap();
    let fields: Vec<&str> =
        json["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"params.max_tokens"), "{json}");
    assert_eq!(json["same_output"], false);
    assert!(json["unified"].as_str().unwrap().starts_with(&format!("--- {a}\n+++ {r2}\n")), "{json}");

    let stats: Value = serde_json::from_str(&env.ok(&["stats", "--by", "skill", "--json"])).unwrap();
    let terse = stats.as_array().unwrap().iter().find(|g| g["key"] == "terse").unwrap();
    assert_eq!(terse["jobs"], 5);
    let by_model: Value = serde_json::from_str(&env.ok(&["stats", "--json", "--since", "1h"])).unwrap();
    assert_eq!(by_model[0]["key"], "local:tiny");
    assert_eq!(by_model[0]["jobs"], 5);
    assert_eq!(by_model[0]["completion_tokens"], 12 + 2 + 12 + 12 + 4);
    let table = env.ok(&["stats"]);
    assert!(table.contains("MODEL") && table.contains("local:tiny"), "{table}");

    // The family, oldest first, over the API.
    let token = env.token("t");
    let srv = env.serve();
    let family = srv.get_json(&token, &format!("/api/v1/jobs/{r2}/siblings"));
    let ids: Vec<&str> =
        family["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a.as_str(), r.as_str(), r2.as_str()]);
}

#[test]
fn unknown_skills_are_refused_at_submit() {
    let env = Env::with_provider_url("http://127.0.0.1:9/v1");
    let prompt = env.dir.path().join("p.txt");
    std::fs::write(&prompt, "hi").unwrap();
    let out = env.cmd().args(["submit", "--skill", "no-such-skill"]).arg(&prompt).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no skill named \"no-such-skill\""), "{err}");
    assert!(env.ids_in("_queue").is_empty());
    // Built-in skills are always there.
    let id = env.submit("hi", &["--skill", "summarize"]);
    assert_eq!(env.show(&id)["skills"][0]["source"], "builtin:summarize");
}

#[test]
fn the_server_sees_skill_changes_within_two_seconds() {
    let mut env = Env::new();
    let skills = env.dir.path().join("skills");
    std::fs::create_dir_all(&skills).unwrap();
    env.set("CTL_SKILLS_PATH", skills.to_str().unwrap());
    let token = env.token("t");
    let srv = env.serve();
    let list = || -> Vec<Value> { serde_json::from_value(srv.get_json(&token, "/api/v1/skills")).unwrap() };
    let find = |name: &str| list().into_iter().find(|s| s["name"] == name);
    assert!(find("summarize").is_some(), "built-ins are listed");
    let wait = |what: &str, ok: &dyn Fn() -> bool| {
        let t0 = Instant::now();
        while !ok() {
            assert!(t0.elapsed() < Duration::from_secs(2), "{what} not seen within 2 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let path = write_skill(&skills, "fresh", "Be fresh.", "0.5");
    wait("an added skill", &|| find("fresh").is_some());
    let old = find("fresh").unwrap()["sha256"].clone();
    write_skill(&skills, "fresh", "Be fresher.", "0.5");
    wait("an edited skill", &|| find("fresh").is_some_and(|s| s["sha256"] != old));
    // A user skill overrides a built-in of the same name.
    write_skill(&skills, "summarize", "My own summaries.", "0");
    wait("an override", &|| find("summarize").is_some_and(|s| s["source"] == "user"));
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    wait("a removed skill", &|| find("fresh").is_none());
}
