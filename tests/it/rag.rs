//! `ctl rag` against the real test LLM server's `/v1/embeddings`: a vault
//! of Obsidian edge cases, incremental reindexes counted in embedding
//! calls, kill -9 at chosen points, a second writer, queries during a
//! reindex, symlinks that leave the vault.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helper::Env;

/// An installation with a vault folder and the tiny model as embedder.
fn rag_env(extra: &str) -> (Env, PathBuf) {
    let env = Env::new();
    let vault = env.dir.path().join("vault");
    std::fs::create_dir_all(&vault).unwrap();
    env.configure(&format!(
        "[rag]\nvault = \"{}\"\nembed_model = \"local:tiny\"\nmax_file_bytes = 20000\nembed_batch = 4\n{extra}",
        vault.display()
    ));
    (env, vault)
}

fn write(vault: &Path, rel: &str, text: &str) {
    let path = vault.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The Obsidian edge cases: front matter, aliases, wikilinks with alias and
/// heading, embeds, nested tags, non-ASCII names, and files to skip.
fn fixture(vault: &Path) {
    write(
        vault,
        "Projects/Alpha.md",
        "---\ntitle: Project Alpha\ntags: [project/alpha]\naliases: [PA]\n---\n\
         # Goals\nShip the zanzibar migration before spring. #status/active\n\n\
         # Risks\nSee [[Risk Register#Budget|the budget risks]] and ![[Diagram]].\n\n\
         # Team\nAda and Grace own quokka tooling.\n",
    );
    write(
        vault,
        "Risk Register.md",
        "# Budget\nThe budget overrun risk is tracked weekly by finance.\n\n# Vendors\nVendor lock-in with platypus cloud.\n",
    );
    write(vault, "Diagram.md", "An embedded diagram note about walrus pipelines.\n");
    write(
        vault,
        "Café ünïcode.md",
        "---\ntags: [lang/fr]\n---\nLe croissant est délicieux; see [[日本語ノート]].\n",
    );
    write(vault, "日本語ノート.md", "# 見出し\n東京 tanuki notes in Japanese.\n");
    write(vault, "Solo.md", "# Only\nA lonely ocelot paragraph.\n");
    // Skipped: excluded folder, binary, not UTF-8, over the size cap.
    write(vault, ".obsidian/workspace.md", "config narwhal\n");
    std::fs::write(vault.join("binary.md"), b"abc\0def narwhal").unwrap();
    std::fs::write(vault.join("latin1.md"), b"caf\xe9 narwhal\n").unwrap();
    write(vault, "huge.md", &"narwhal ".repeat(4000));
    // A symlink that leaves the vault is not followed; one inside is.
    let outside = vault.parent().unwrap().join("outside.md");
    std::fs::write(&outside, "secret yeti outside the vault\n").unwrap();
    std::os::unix::fs::symlink(&outside, vault.join("escape.md")).unwrap();
}

fn reindex(env: &Env) -> Value {
    serde_json::from_str(&env.ok(&["rag", "reindex", "--json"])).unwrap()
}

fn query(env: &Env, q: &str, mode: &str) -> Vec<Value> {
    let out = env.ok(&["rag", "query", q, "--mode", mode, "--json"]);
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

fn paths(results: &[Value]) -> Vec<String> {
    results.iter().map(|r| r["path"].as_str().unwrap().to_owned()).collect()
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn rag_reindex_is_incremental_across_edit_rename_move_and_delete() {
    let (env, vault) = rag_env("");
    fixture(&vault);

    let first = reindex(&env);
    assert_eq!(n(&first, "notes_new"), 6, "{first}");
    assert_eq!(n(&first, "notes_skipped"), 3, "{first}");
    let warnings = first["warnings"].to_string();
    for what in ["binary.md", "latin1.md", "huge.md", "escape.md: a symlink that leaves the vault"] {
        assert!(warnings.contains(what), "{what} in {warnings}");
    }
    let embedded = n(&first, "chunks_embedded");
    assert!(embedded >= 9, "{first}");
    assert_eq!(n(&first, "embed_calls"), embedded.div_ceil(4));

    // Edge cases reached every index.
    assert_eq!(paths(&query(&env, "zanzibar", "lexical"))[0], "Projects/Alpha.md");
    assert_eq!(paths(&query(&env, "tanuki", "lexical")), vec!["日本語ノート.md"]);
    assert_eq!(paths(&query(&env, "croissant délicieux", "lexical")), vec!["Café ünïcode.md"]);
    for word in ["narwhal", "yeti"] {
        assert!(query(&env, word, "lexical").is_empty(), "{word} must not be indexed");
    }
    let hit = &query(&env, "zanzibar", "lexical")[0];
    assert_eq!(hit["heading"], "Goals");
    assert_eq!((n(hit, "line_start"), n(hit, "line_end")), (6, 7));
    // Graph: the alias, the linked heading and the embed.
    let graph = query(&env, "PA", "graph");
    let g = paths(&graph);
    assert!(
        g.contains(&"Projects/Alpha.md".to_owned()) && g.contains(&"Risk Register.md".to_owned()),
        "{g:?}"
    );
    assert!(g.contains(&"Diagram.md".to_owned()), "{g:?}");
    let risk = graph.iter().find(|r| r["path"] == "Risk Register.md").unwrap();
    assert_eq!(risk["heading"], "Budget", "the link's heading picks the chunk");
    let v = query(&env, "ocelot", "vector");
    assert!(!v.is_empty() && v[0]["vector"]["rank"] == 1);
    let h = query(&env, "ocelot", "hybrid");
    assert_eq!(paths(&h)[0], "Solo.md");

    // Nothing changed: nothing read again, nothing embedded.
    let noop = reindex(&env);
    assert_eq!(
        (n(&noop, "notes_unchanged"), n(&noop, "chunks_embedded"), n(&noop, "embed_calls")),
        (6, 0, 0),
        "{noop}"
    );

    // An edit of one section embeds that section only.
    let alpha = vault.join("Projects/Alpha.md");
    let text = std::fs::read_to_string(&alpha).unwrap().replace("quokka tooling", "quokka and kiwi tooling");
    std::fs::write(&alpha, text).unwrap();
    let edit = reindex(&env);
    assert_eq!(
        (n(&edit, "notes_changed"), n(&edit, "chunks_embedded"), n(&edit, "embed_calls")),
        (1, 1, 1),
        "{edit}"
    );
    assert_eq!(n(&edit, "chunks_removed"), 1, "the old Team chunk left");
    assert_eq!(paths(&query(&env, "kiwi", "lexical")), vec!["Projects/Alpha.md"]);

    // A rename and a move between folders embed nothing.
    let dims_file = vectors_len(&env);
    std::fs::rename(vault.join("Solo.md"), vault.join("Alone.md")).unwrap();
    let rename = reindex(&env);
    assert_eq!(
        (n(&rename, "notes_renamed"), n(&rename, "chunks_embedded"), n(&rename, "embed_calls")),
        (1, 0, 0),
        "{rename}"
    );
    assert_eq!(paths(&query(&env, "ocelot", "lexical")), vec!["Alone.md"]);
    std::fs::create_dir_all(vault.join("Archive")).unwrap();
    std::fs::rename(vault.join("Alone.md"), vault.join("Archive/Alone.md")).unwrap();
    let moved = reindex(&env);
    assert_eq!((n(&moved, "notes_renamed"), n(&moved, "chunks_embedded")), (1, 0), "{moved}");
    assert_eq!(paths(&query(&env, "ocelot", "hybrid"))[0], "Archive/Alone.md");
    assert!(!paths(&query(&env, "ocelot", "hybrid")).contains(&"Alone.md".to_owned()));
    assert_eq!(vectors_len(&env), dims_file, "no vector was written");

    // A delete leaves every index in the same pass.
    std::fs::remove_file(vault.join("Diagram.md")).unwrap();
    let del = reindex(&env);
    assert_eq!((n(&del, "notes_deleted"), n(&del, "chunks_embedded")), (1, 0), "{del}");
    assert!(query(&env, "walrus", "lexical").is_empty());
    assert!(!paths(&query(&env, "walrus pipelines", "vector")).contains(&"Diagram.md".to_owned()));
    assert!(!paths(&query(&env, "PA", "graph")).contains(&"Diagram.md".to_owned()));

    // Status: counts, model, and what changed since.
    write(&vault, "New.md", "fresh\n");
    let status: Value = serde_json::from_str(&env.ok(&["rag", "status", "--files", "--json"])).unwrap();
    assert_eq!((n(&status, "notes"), status["model"].as_str()), (5, Some("local:tiny")), "{status}");
    assert_eq!(status["changed"], serde_json::json!([{"path": "New.md", "change": "new"}]));
    let human = env.ok(&["rag", "status", "--files"]);
    assert!(human.contains("new  New.md"), "{human}");
}

fn vectors_len(env: &Env) -> u64 {
    let dir = env.home.join("rag/default");
    let current = std::fs::read_to_string(dir.join("CURRENT")).unwrap();
    std::fs::metadata(dir.join(current.trim()).join("vectors.f32")).unwrap().len()
}

fn wait_for(path: &Path, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} did not appear", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a reindex that stops at `point`; returns it once it is there.
fn paused_reindex(env: &Env, point: &str) -> std::process::Child {
    let marker = env.home.join("rag/default").join(format!("paused-{point}"));
    let _ = std::fs::remove_file(&marker);
    let child = env
        .cmd()
        .args(["rag", "reindex", "--json"])
        .env("CTL_TEST_RAG_PAUSE_AT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&marker, 60);
    child
}

#[test]
fn rag_reindex_killed_with_sigkill_keeps_the_old_index_and_what_it_embedded() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    let first = reindex(&env);
    let total_first = n(&first, "chunks_embedded");
    assert!(total_first > 0);

    // Twenty new notes, embedded four chunks a call.
    for i in 0..20 {
        write(&vault, &format!("batch/note{i}.md"), &format!("# N{i}\nbilby{i} lemur text number {i}\n"));
    }

    // Killed after its first batch: the old index answers, the new notes
    // are not visible, and a second writer is told the first one runs.
    let mut child = paused_reindex(&env, "after_batch");
    let busy = env.ok(&["rag", "reindex"]);
    assert!(busy.contains("another reindex of vault default is running"), "{busy}");
    assert_eq!(
        paths(&query(&env, "zanzibar", "hybrid"))[0],
        "Projects/Alpha.md",
        "queries run during a reindex"
    );
    assert!(query(&env, "lemur", "lexical").is_empty(), "readers see the previous index until commit");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(paths(&query(&env, "zanzibar", "lexical"))[0], "Projects/Alpha.md");

    // Killed just before the commit: everything embedded, nothing visible.
    let mut child = paused_reindex(&env, "before_commit");
    assert!(query(&env, "lemur", "lexical").is_empty());
    child.kill().unwrap();
    child.wait().unwrap();

    // The next run embeds nothing again and commits all twenty.
    let after = reindex(&env);
    assert_eq!(
        (n(&after, "notes_new"), n(&after, "chunks_embedded"), n(&after, "embed_calls")),
        (20, 0, 0),
        "{after}"
    );
    assert_eq!(query(&env, "lemur", "lexical").len(), 10);
    assert_eq!(paths(&query(&env, "bilby7", "lexical")), vec!["batch/note7.md"]);
}

#[test]
fn rag_first_reindex_killed_resumes_without_re_embedding() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    let mut child = paused_reindex(&env, "after_batch");
    child.kill().unwrap();
    child.wait().unwrap();
    let out = env.run(&["rag", "query", "zanzibar"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no index yet"));
    let first = reindex(&env);
    assert_eq!(n(&first, "notes_new"), 6);
    // The first batch (four chunks) was kept.
    let (env2, vault2) = rag_env("");
    fixture(&vault2);
    let all = n(&reindex(&env2), "chunks_embedded");
    assert_eq!(n(&first, "chunks_embedded"), all - 4, "{first}");
}

#[test]
fn rag_a_different_model_is_refused_naming_full() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    reindex(&env);
    let text = std::fs::read_to_string(&env.config).unwrap().replace("local:tiny", "local:tiny2");
    std::fs::write(&env.config, text).unwrap();
    let out = env.run(&["rag", "reindex"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("local:tiny") && err.contains("--full"), "{err}");
    let q = env.run(&["rag", "query", "zanzibar"]);
    assert!(String::from_utf8_lossy(&q.stderr).contains("--full"));
    // --full builds a new index beside the old one and switches to it.
    let full: Value = serde_json::from_str(&env.ok(&["rag", "reindex", "--full", "--json"])).unwrap();
    assert_eq!(n(&full, "notes_new"), 6, "{full}");
    assert_eq!(paths(&query(&env, "zanzibar", "hybrid"))[0], "Projects/Alpha.md");
    let gens: Vec<_> = std::fs::read_dir(env.home.join("rag/default"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok().filter(|n| n.starts_with("g-")))
        .collect();
    assert_eq!(gens.len(), 1, "the old generation is gone: {gens:?}");
}

#[test]
fn rag_an_embedding_server_that_is_down_stops_reindex_with_a_clear_error() {
    let env = Env::without_model();
    let vault = env.dir.path().join("vault");
    fixture_dir(&vault);
    env.configure(&format!("[rag]\nvault = \"{}\"\nembed_model = \"local:tiny\"\n", vault.display()));
    let out = env.run(&["rag", "reindex"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("embedding failed") && err.contains("run `ctl rag reindex` again"), "{err}");
}

fn fixture_dir(vault: &Path) {
    std::fs::create_dir_all(vault).unwrap();
    fixture(vault);
}

fn event_types(env: &Env, id: &str) -> Vec<String> {
    env.events(id).iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

fn retrieval(env: &Env, id: &str) -> Value {
    env.events(id).into_iter().find(|e| e["type"] == "retrieval").expect("a retrieval event")["data"].clone()
}

#[test]
fn rag_jobs_retrieve_before_the_first_token_cite_and_replay_the_same_sources() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    reindex(&env);
    let _w = env.worker(&[]);
    let id = env.submit("zanzibar migration", &["--rag", "--param", "max_tokens=8"]);
    let view = env.wait_finished(&id, 60);
    assert_eq!(view["state"], "completed", "{view}");

    // The retrieval event comes after `started` and before the first token.
    let types = event_types(&env, &id);
    let r = types.iter().position(|t| t == "retrieval").expect("retrieval");
    assert!(types[..r].contains(&"started".to_owned()));
    assert!(types[r..].iter().any(|t| t == "token"), "{types:?}");
    assert!(!types[..r].contains(&"token".to_owned()));
    let data = retrieval(&env, &id);
    assert_eq!(
        (data["vault"].as_str(), data["query"].as_str(), data["mode"].as_str()),
        (Some("default"), Some("zanzibar migration"), Some("augment"))
    );
    let first = &data["sources"][0];
    assert_eq!(
        (first["n"].as_u64(), first["path"].as_str(), first["heading"].as_str()),
        (Some(1), Some("Projects/Alpha.md"), Some("Goals"))
    );
    assert_eq!((n(first, "line_start"), n(first, "line_end")), (6, 7));
    assert_eq!(first["hash"].as_str().unwrap().len(), 32);
    assert!(first["text"].as_str().unwrap().contains("zanzibar"));

    // `ctl show --json` lists them; `ctl tail` prints them after the answer.
    assert_eq!(view["sources"][0]["path"], "Projects/Alpha.md");
    let tail = env.ok(&["tail", &id]);
    let after = tail.split("\nSources:\n").nth(1).unwrap_or_else(|| panic!("{tail}"));
    assert!(after.starts_with("[1] Projects/Alpha.md#Goals:6-7"), "{tail}");

    // A replay answers from the same text, even after the note changed.
    std::fs::remove_file(vault.join("Projects/Alpha.md")).unwrap();
    reindex(&env);
    let replay = env.ok(&["replay", &id]).trim().to_owned();
    env.wait_finished(&replay, 60);
    let again = retrieval(&env, &replay);
    assert_eq!(again["reused"], true);
    assert_eq!(again["sources"], data["sources"]);
    // Unless asked to search again.
    let fresh = env.ok(&["replay", "--fresh-retrieval", &id]).trim().to_owned();
    env.wait_finished(&fresh, 60);
    let searched = retrieval(&env, &fresh);
    assert!(searched.get("reused").is_none());
    assert!(!searched["sources"].to_string().contains("Projects/Alpha.md"));
}

#[test]
fn rag_a_job_on_a_vault_without_an_index_fails_saying_what_to_run() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    let _w = env.worker(&[]);
    let id = env.submit("anything", &["--rag", "--rag-mode", "context-only"]);
    let view = env.wait_finished(&id, 60);
    assert_eq!(view["state"], "failed");
    assert!(view["error"].as_str().unwrap().contains("ctl rag reindex"), "{view}");
}

#[test]
fn rag_vault_search_uses_the_index_and_rag_query_cites() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    // Before an index exists, vault_search searches literally.
    let literal: Value = serde_json::from_str(&env.ok(&[
        "tools",
        "call",
        "vault_search",
        "--arg",
        "query=zanzibar",
        "--json",
    ]))
    .unwrap();
    assert_eq!(literal["structured"]["search"], "literal", "{literal}");
    reindex(&env);
    let indexed: Value = serde_json::from_str(&env.ok(&[
        "tools",
        "call",
        "vault_search",
        "--arg",
        "query=zanzibar",
        "--json",
    ]))
    .unwrap();
    assert_eq!(indexed["structured"]["search"], "index", "{indexed}");
    assert_eq!(indexed["structured"]["hits"][0]["path"], "Projects/Alpha.md");
    assert_eq!(indexed["structured"]["hits"][0]["line"], 6);
    let listed = env.ok(&["tools", "list"]);
    assert!(listed.contains("rag_query"), "{listed}");
    let out = env.ok(&["tools", "call", "rag_query", "--arg", "query=zanzibar migration"]);
    assert!(out.contains("[1] Projects/Alpha.md#Goals:6-7"), "{out}");
}

/// A request to the server: (status, JSON body).
fn call(url: &str, token: Option<&str>, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        ctl::provider::install_crypto();
        let client = reqwest::Client::new();
        let mut req = match method {
            "POST" => client.post(format!("{url}{path}")),
            _ => client.get(format!("{url}{path}")),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

#[test]
fn rag_api_queries_reports_status_and_reads_notes_confined_to_the_vault() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    reindex(&env);
    let token = env.token("rag");
    let server = env.serve();
    let url = &server.url;

    let (status, body) = call(
        url,
        Some(&token),
        "POST",
        "/api/v1/rag/query",
        Some(serde_json::json!({"query": "zanzibar", "k": 3})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["vault"], "default");
    let first = &body["sources"][0];
    assert_eq!((first["n"].as_u64(), first["path"].as_str()), (Some(1), Some("Projects/Alpha.md")));
    assert!(first["lexical"].as_f64().is_some() && first["vector"].as_f64().is_some(), "{first}");
    let (status, _) = call(url, None, "POST", "/api/v1/rag/query", Some(serde_json::json!({"query": "x"})));
    assert_eq!(status, 401);

    let (status, body) = call(url, Some(&token), "GET", "/api/v1/rag/status", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["notes"].as_u64(), body["indexed"].as_bool()), (Some(6), Some(true)));

    let (status, body) = call(url, Some(&token), "GET", "/api/v1/vault/Projects/Alpha.md", None);
    assert_eq!(status, 200, "{body}");
    assert!(body["text"].as_str().unwrap().contains("zanzibar"));
    let (status, body) = call(
        url,
        Some(&token),
        "GET",
        "/api/v1/vault/%E6%97%A5%E6%9C%AC%E8%AA%9E%E3%83%8E%E3%83%BC%E3%83%88.md",
        None,
    );
    assert_eq!(status, 200, "{body}");
    for escape in
        ["/api/v1/vault/..%2Foutside.md", "/api/v1/vault/escape.md", "/api/v1/vault/%2Fetc%2Fpasswd"]
    {
        let (status, body) = call(url, Some(&token), "GET", escape, None);
        assert_eq!(status, 400, "{escape}: {body}");
        assert!(!body.to_string().contains("yeti"));
    }
    let (status, _) = call(url, Some(&token), "GET", "/api/v1/vault/missing.md", None);
    assert_eq!(status, 404);
}

/// The index database of the default vault's current generation.
fn index_db(env: &Env) -> rusqlite::Connection {
    let vdir = env.home.join("rag/default");
    let current = std::fs::read_to_string(vdir.join("CURRENT")).unwrap();
    rusqlite::Connection::open(vdir.join(current.trim()).join("index.db")).unwrap()
}

fn extract(env: &Env) -> (Value, String) {
    let out = env.run(&["rag", "reindex", "--extract", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "reindex --extract failed:\n{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

/// `--extract` against the tool-calling test server (grammar-constrained
/// tool calls, so the tiny model's answers fit the schema): the estimate
/// first; every live chunk extracted once, cached by its hash; an edit
/// extracts only the chunk that changed; a deleted note's facts leave with
/// it; and a graph query reaches a chunk through an entity its facts name.
#[test]
fn rag_extract_keeps_facts_per_chunk_cached_by_hash() {
    let (env, vault) = rag_env(&format!(
        "extract_model = \"tools:tiny\"\n\n[providers.tools]\nkind = \"openai\"\nbase_url = \"{}\"\nidle_timeout_secs = 120\n",
        crate::helper::llm::tools_url()
    ));
    write(&vault, "Alpha.md", "# Goals\nAda ships the zanzibar migration with Grace.\n");
    write(&vault, "Beta.md", "# Vendors\nPlatypus cloud hosts the quokka service.\n");
    write(&vault, "Gamma.md", "# Team\nThe walrus team reviews the budget every week.\n");

    let (first, stderr) = extract(&env);
    assert!(stderr.contains("extraction: 3 chunks of vault default to tools:tiny: about"), "{stderr}");
    let x = &first["extract"];
    assert_eq!(n(x, "chunks_extracted") + n(x, "chunks_failed"), 3, "{first}");
    assert!(n(x, "chunks_extracted") >= 1, "{first}");
    let db = index_db(&env);
    let extracted: i64 = db.query_row("SELECT count(*) FROM extracted", [], |r| r.get(0)).unwrap();
    assert_eq!(extracted as u64, n(x, "chunks_extracted"));
    // Every fact names its source chunk, and that chunk is in the index.
    let orphans: i64 = db
        .query_row(
            "SELECT count(*) FROM entities e WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = e.hash)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);

    // Nothing changed: only chunks that failed before are sent again.
    let failed = n(x, "chunks_failed");
    let (second, stderr) = extract(&env);
    assert!(stderr.contains(&format!("extraction: {failed} chunks")), "{stderr}");
    assert_eq!(n(&second["extract"], "chunks_extracted") + n(&second["extract"], "chunks_failed"), failed);

    // An edit: one new chunk to extract; the old chunk's facts leave.
    write(&vault, "Alpha.md", "# Goals\nAda ships the zanzibar migration alone.\n");
    std::thread::sleep(Duration::from_millis(20));
    let (third, _) = extract(&env);
    let x = &third["extract"];
    assert_eq!(n(&third, "notes_changed"), 1, "{third}");
    let settled = n(&second["extract"], "chunks_failed");
    assert_eq!(n(x, "chunks_extracted") + n(x, "chunks_failed"), 1 + settled, "{third}");
    // A delete: its facts leave in the next extraction pass.
    let status: Value = serde_json::from_str(&env.ok(&["rag", "status", "--json"])).unwrap();
    let before = n(&status["facts"], "chunks");
    std::fs::remove_file(vault.join("Gamma.md")).unwrap();
    let (fourth, _) = extract(&env);
    let status: Value = serde_json::from_str(&env.ok(&["rag", "status", "--json"])).unwrap();
    let gamma_had_facts = n(&fourth["extract"], "chunks_pruned");
    let retried = n(&fourth["extract"], "chunks_extracted");
    assert_eq!(n(&status["facts"], "chunks"), before - gamma_had_facts + retried, "{status}");
    assert!(before >= 1);

    // A query naming an entity reaches the chunk whose facts hold it, in
    // graph mode (no note is called that). The tiny test model's facts are
    // noise, so this fact is written as a model's answer is stored.
    let db = index_db(&env);
    let hash: String = db
        .query_row("SELECT hash FROM file_chunks WHERE path = 'Beta.md' ORDER BY ord LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    db.execute(
        "INSERT INTO entities (hash, name, key, kind) VALUES (?1, 'Platypus Cloud', 'platypus cloud', 'organisation')",
        [&hash],
    )
    .unwrap();
    let found = paths(&query(&env, "who runs platypus cloud", "graph"));
    assert_eq!(found.first().map(String::as_str), Some("Beta.md"), "{found:?}");
}

/// The scores a reranking server gives `documents` for `query`, asked
/// directly (the same request shape ctl sends).
fn rerank_scores(url: &str, query: &str, documents: &[String]) -> Vec<f64> {
    let (status, body) = call(
        url,
        None,
        "POST",
        "/rerank",
        Some(
            serde_json::json!({"model": "tiny-rerank", "query": query, "documents": documents, "top_n": documents.len()}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let mut scores = vec![f64::NAN; documents.len()];
    for r in body["results"].as_array().unwrap() {
        scores[r["index"].as_u64().unwrap() as usize] = r["relevance_score"].as_f64().unwrap();
    }
    scores
}

#[test]
fn rag_reranker_orders_and_cuts_the_fused_results_and_its_failure_keeps_them() {
    let rerank = crate::helper::llm::rerank_url();
    let (env, vault) =
        rag_env(&format!("\n[rag.rerank]\nurl = \"{rerank}\"\nmodel = \"tiny-rerank\"\ncandidates = 8\n"));
    for (name, text) in [
        ("Garden.md", "# Garden\nTomatoes need sun and water every morning in the garden.\n"),
        ("Bikes.md", "# Bikes\nThe bike chain needs oil after rain; check the brakes too.\n"),
        ("Bread.md", "# Bread\nBread dough rises in a warm kitchen for two hours.\n"),
        ("Taxes.md", "# Taxes\nFile the tax return before April and keep the receipts.\n"),
        ("Sleep.md", "# Sleep\nA dark cool room and no screens help sleep at night.\n"),
    ] {
        write(&vault, name, text);
    }
    reindex(&env);
    let q = "what does the garden need in the morning";

    // Every candidate comes back in the server's order, each with its rank
    // and score; the scores agree with the server asked directly.
    let all = query(&env, q, "hybrid");
    assert_eq!(all.len(), 5, "{all:?}");
    let texts: Vec<String> = all.iter().map(|r| r["text"].as_str().unwrap().to_owned()).collect();
    let direct = rerank_scores(&rerank, q, &texts);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r["rerank"]["rank"].as_u64(), Some(i as u64 + 1), "{r}");
        let score = r["rerank"]["score"].as_f64().unwrap();
        assert!((score - direct[i]).abs() < 1e-3, "ctl {score} vs server {} for {r}", direct[i]);
        if i > 0 {
            assert!(direct[i - 1] >= direct[i] - 1e-3, "not in the server's order: {direct:?}");
        }
    }
    // The cut to k happens after reranking: the top two by the server's
    // scores, whatever their fused ranks were.
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by(|&a, &b| direct[b].total_cmp(&direct[a]));
    let two = env.ok(&["rag", "query", q, "--k", "2", "--json"]);
    let two: Vec<Value> = serde_json::from_str(&two).unwrap();
    let got: Vec<&str> = two.iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert_eq!(got.len(), 2);
    for (g, want) in got.iter().zip(&order) {
        let s = direct[texts.iter().position(|t| t == g).unwrap()];
        assert!((s - direct[*want]).abs() < 1e-3, "{got:?} are not the top two of {direct:?}");
    }
    // --explain shows the reranker's rank beside the indexes'.
    let explained = env.ok(&["rag", "query", q, "--k", "2", "--explain"]);
    assert!(explained.contains("rerank"), "{explained}");

    // Over the API too: each source carries its rerank score.
    let token = env.token("rerank");
    let api_query = |url: &str| {
        call(url, Some(&token), "POST", "/api/v1/rag/query", Some(serde_json::json!({"query": q, "k": 2})))
    };
    let server = env.serve();
    let (status, body) = api_query(&server.url);
    assert_eq!(status, 200, "{body}");
    assert!(body["sources"][0]["rerank"].as_f64().is_some(), "{body}");
    assert!(body.get("warnings").is_none(), "{body}");
    drop(server);

    // A reranker that does not answer: the fused order stands, with a
    // warning, on the CLI and in the API reply.
    let dead = format!("http://127.0.0.1:{}/v1", crate::helper::llm::free_port());
    let config = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, config.replace(&rerank, &dead)).unwrap();
    let out = env.run(&["rag", "query", q, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fused: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fused.len(), 5);
    assert!(fused.iter().all(|r| r.get("rerank").is_none()), "{fused:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reranker") && stderr.contains("the fused order stands"), "{stderr}");
    let server = env.serve();
    let (status, body) = api_query(&server.url);
    assert_eq!(status, 200, "{body}");
    assert!(body["warnings"][0].as_str().unwrap().contains("the fused order stands"), "{body}");
}

/// `ctl ARGS` with `ro` mounted read-only: a bind mount in a mount
/// namespace of the command's own (bubblewrap), the rest of the system as is.
fn run_with_read_only(env: &Env, ro: &Path, args: &[&str]) -> std::process::Output {
    let ctl = env.cmd();
    let mut c = std::process::Command::new("bwrap");
    c.args(["--dev-bind", "/", "/", "--ro-bind"]).arg(ro).arg(ro).arg("--").arg(ctl.get_program()).args(args);
    for (k, v) in ctl.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(Stdio::null()).output().expect("bwrap (bubblewrap) runs the read-only mounts")
}

#[test]
fn rag_a_vault_on_a_read_only_filesystem_indexes_and_a_read_only_index_fails_clearly() {
    let (env, vault) = rag_env("");
    fixture(&vault);
    // ctl never writes into the vault: a read-only one indexes in full.
    let out = run_with_read_only(&env, &vault, &["rag", "reindex", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(n(&report, "notes_new"), 6, "{report}");
    assert_eq!(paths(&query(&env, "zanzibar", "hybrid"))[0], "Projects/Alpha.md");

    // The index on a read-only filesystem: reindex stops with one line
    // naming the cause; queries still read the index.
    write(&vault, "New.md", "# New\nwombat burrows\n");
    let rag = env.home.join("rag");
    let out = run_with_read_only(&env, &rag, &["rag", "reindex"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("Read-only file system"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = run_with_read_only(&env, &rag, &["rag", "query", "zanzibar", "--json", "--mode", "lexical"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&found)[0], "Projects/Alpha.md");
    // Writable again, the next run picks the new note up.
    let after = reindex(&env);
    assert_eq!(n(&after, "notes_new"), 1, "{after}");
}

#[test]
fn rag_graph_finds_a_hyphenated_note_by_its_name_in_words() {
    let (env, vault) = rag_env("");
    write(&vault, "road-map.md", "# Plans\nQuarterly goals and milestones.\n");
    write(&vault, "package-json.md", "# Fields\nThe manifest's fields.\n");
    write(&vault, "Other.md", "# Other\nA road and a map, in passing; see [[road-map]].\n");
    reindex(&env);
    assert_eq!(paths(&query(&env, "where is the road map", "graph"))[0], "road-map.md");
    assert_eq!(paths(&query(&env, "package.json", "graph"))[0], "package-json.md");
}

#[test]
fn rag_lexical_finds_a_note_by_its_names_and_a_rename_renames_them_without_embedding() {
    let (env, vault) = rag_env("");
    write(
        &vault,
        "Runbooks/db-failover.md",
        "---\ntitle: Database failover\naliases: [DR drill]\n---\n# Steps\nPromote the replica, then repoint the pooler.\n",
    );
    // Enough other notes for the words to be rare (bm25 needs a corpus).
    for (i, animal) in
        ["otter", "heron", "badger", "lynx", "marten", "stoat", "vole", "wren"].iter().enumerate()
    {
        write(&vault, &format!("Journal/day-{i}.md"), &format!("# Walk\nSaw a {animal} by the river.\n"));
    }
    reindex(&env);
    // Its title, an alias and its file name find it; its text says none of them.
    for q in ["database failover", "DR drill", "db"] {
        assert_eq!(paths(&query(&env, q, "lexical")), vec!["Runbooks/db-failover.md"], "{q}");
    }
    assert!(query(&env, "walrus", "lexical").is_empty());

    // An index made before names were indexed answers without them, and
    // the next reindex fills them in from what it holds (nothing embedded).
    index_db(&env).execute_batch("DROP TABLE names_fts; DROP TABLE name_ids;").unwrap();
    assert!(query(&env, "db", "lexical").is_empty());
    let upgrade = reindex(&env);
    assert_eq!(n(&upgrade, "embed_calls"), 0, "{upgrade}");
    assert_eq!(paths(&query(&env, "db", "lexical")), vec!["Runbooks/db-failover.md"]);

    std::fs::rename(vault.join("Runbooks/db-failover.md"), vault.join("Runbooks/promote-replica.md"))
        .unwrap();
    let rename = reindex(&env);
    assert_eq!((n(&rename, "notes_renamed"), n(&rename, "embed_calls")), (1, 0), "{rename}");
    assert!(query(&env, "db", "lexical").is_empty(), "the old file name is gone");
    assert_eq!(paths(&query(&env, "DR drill", "lexical")), vec!["Runbooks/promote-replica.md"]);
    assert_eq!(paths(&query(&env, "promote", "hybrid"))[0], "Runbooks/promote-replica.md");

    // Deleted: its names go with it.
    std::fs::remove_file(vault.join("Runbooks/promote-replica.md")).unwrap();
    reindex(&env);
    assert!(query(&env, "database failover", "lexical").is_empty());
}
