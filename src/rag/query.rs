//! Retrieval: the lexical (BM25), vector (int8 scan + f32 rescore) and
//! graph (links and backlinks from the best notes, one or two hops with
//! decaying weight) lists, fused by reciprocal rank, de-duplicated and
//! packed to a token budget.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::db::Hit;
use super::{RagError, Reader};

/// Which lists a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Hybrid,
    Lexical,
    Vector,
    Graph,
}

impl Mode {
    pub fn needs_vector(self) -> bool {
        matches!(self, Self::Hybrid | Self::Vector)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct QueryOptions {
    pub k: usize,
    pub mode: Mode,
    /// Tokens of chunk text returned at most (the first result always fits).
    pub budget_tokens: usize,
}

/// One index's opinion of a result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rank {
    /// 1-based.
    pub rank: u32,
    pub score: f64,
}

/// A retrieved chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub path: String,
    pub heading: String,
    pub line_start: u32,
    pub line_end: u32,
    pub hash: String,
    /// The fused (reciprocal-rank) score.
    pub score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical: Option<Rank>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<Rank>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<Rank>,
    /// The reranker's opinion, when `[rag.rerank]` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerank: Option<Rank>,
    pub tokens: u32,
    pub text: String,
}

impl Source {
    /// `path#heading:start-end`, the form citations use.
    pub fn cite(&self) -> String {
        let last = self.heading.rsplit(" > ").next().unwrap_or_default();
        if last.is_empty() {
            format!("{}:{}-{}", self.path, self.line_start, self.line_end)
        } else {
            format!("{}#{}:{}-{}", self.path, last, self.line_start, self.line_end)
        }
    }

    /// The wire form jobs and the API use, numbered `n`.
    pub fn into_wire(self, n: u32) -> crate::api::RetrievedSource {
        crate::api::RetrievedSource {
            n,
            path: self.path,
            heading: self.heading,
            line_start: self.line_start,
            line_end: self.line_end,
            hash: self.hash,
            score: self.score,
            lexical: self.lexical.map(|r| r.score),
            vector: self.vector.map(|r| r.score),
            graph: self.graph.map(|r| r.score),
            rerank: self.rerank.map(|r| r.score),
            text: self.text,
        }
    }

    /// The text on one line, cut to about `chars` characters.
    pub fn snippet(&self, chars: usize) -> String {
        let flat = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= chars {
            flat
        } else {
            let mut s: String = flat.chars().take(chars).collect();
            s.push('…');
            s
        }
    }
}

/// How many candidates each list contributes to the fusion.
const DEPTH: usize = 50;
/// The reciprocal-rank constant.
const RRF_K: f64 = 60.0;

/// Runs a query on a reader. `vector` is the query's embedding (needed by
/// the hybrid and vector modes).
pub fn retrieve(
    r: &Reader,
    text: &str,
    vector: Option<&[f32]>,
    opts: &QueryOptions,
) -> Result<Vec<Source>, RagError> {
    r.db.begin_read()?;
    let out = retrieve_in(r, text, vector, opts);
    r.db.end_read();
    out
}

fn retrieve_in(
    r: &Reader,
    text: &str,
    vector: Option<&[f32]>,
    opts: &QueryOptions,
) -> Result<Vec<Source>, RagError> {
    let mode = opts.mode;
    let lexical = if mode == Mode::Vector { Vec::new() } else { r.db.lexical(text, DEPTH)? };
    let vector_list = match (mode.needs_vector(), vector, &r.vectors) {
        (true, Some(q), Some(store)) => {
            let found = store.search(q, DEPTH).map_err(|e| RagError::io(&r.dir, e))?;
            let mut out = Vec::new();
            for (slot, score) in found {
                // Slots no note holds (removed, or not yet committed) drop out here.
                for hit in r.db.by_slot(slot)? {
                    out.push((hit, f64::from(score)));
                }
            }
            out
        }
        (true, None, _) if mode == Mode::Vector => {
            return Err(RagError::Other("a vector query needs the query's embedding".into()));
        }
        _ => Vec::new(),
    };
    let graph = if matches!(mode, Mode::Hybrid | Mode::Graph) {
        graph_list(r, text, &lexical, &vector_list)?
    } else {
        Vec::new()
    };

    // Graph mode reads the lexical list only to seed the graph.
    let lexical_fused: &[(Hit, f64)] = if mode == Mode::Graph { &[] } else { &lexical };
    let lists: [(&[(Hit, f64)], usize); 3] = [(lexical_fused, 0), (&vector_list, 1), (&graph, 2)];
    type Fused = (Hit, f64, [Option<Rank>; 3]);
    let mut fused: HashMap<(String, u32), Fused> = HashMap::new();
    for (list, which) in lists {
        let mut rank = 0u32;
        for (hit, score) in list {
            let key = (hit.path.clone(), hit.ord);
            if fused.get(&key).is_some_and(|e| e.2[which].is_some()) {
                continue;
            }
            rank += 1;
            let e = fused.entry(key).or_insert_with(|| (hit.clone(), 0.0, [None; 3]));
            e.1 += 1.0 / (RRF_K + f64::from(rank));
            e.2[which] = Some(Rank { rank, score: *score });
        }
    }
    let mut all: Vec<_> = fused.into_values().collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| (&a.0.path, a.0.ord).cmp(&(&b.0.path, b.0.ord))));

    // The same text in two notes is one source; then the budget.
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut used = 0usize;
    for (hit, score, ranks) in all {
        if out.len() >= opts.k {
            break;
        }
        if !seen.insert(hit.hash.clone()) {
            continue;
        }
        if !fits(out.is_empty(), used, hit.tokens, opts.budget_tokens) {
            continue;
        }
        used += hit.tokens as usize;
        let text = r.db.chunk_text(&hit.hash)?;
        out.push(Source {
            path: hit.path,
            heading: hit.heading,
            line_start: hit.line_start,
            line_end: hit.line_end,
            hash: hit.hash,
            score,
            lexical: ranks[0],
            vector: ranks[1],
            graph: ranks[2],
            rerank: None,
            tokens: hit.tokens,
            text,
        });
    }
    Ok(out)
}

/// Whether a chunk of `tokens` fits a budget with `used` spent (the first
/// always does).
fn fits(first: bool, used: usize, tokens: u32, budget: usize) -> bool {
    first || used.saturating_add(tokens as usize) <= budget
}

/// The first `k` of `sources`, in order, that fit `budget` tokens.
pub fn pack(sources: Vec<Source>, k: usize, budget: usize) -> Vec<Source> {
    let mut out = Vec::new();
    let mut used = 0usize;
    for s in sources {
        if out.len() >= k {
            break;
        }
        if fits(out.is_empty(), used, s.tokens, budget) {
            used += s.tokens as usize;
            out.push(s);
        }
    }
    out
}

/// Notes reached from the query's best notes (and from notes named by a
/// query word: title, alias, tag) through links and backlinks, one hop at
/// half weight and two at a quarter, each as its best chunk.
fn graph_list(
    r: &Reader,
    text: &str,
    lexical: &[(Hit, f64)],
    vector: &[(Hit, f64)],
) -> Result<Vec<(Hit, f64)>, RagError> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '/' && c != '-' && c != '_')
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect();
    words.push(text.trim().to_lowercase());
    // A note is often named with hyphens where a query has spaces or dots
    // ("npm team" → npm-team.md, "package.json" → package-json.md): runs
    // of two or three words, and the whole query, joined by hyphens.
    for p in phrases(text).into_iter().chain([text.trim().to_lowercase()]) {
        let joined: String = p
            .split(|c: char| c.is_whitespace() || c == '.' || c == '_')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if joined.contains('-') && !words.contains(&joined) {
            words.push(joined);
        }
    }
    let graph = r.graph();
    let named = graph.notes_named(&words)?;

    // Seeds: the best notes of the other lists, interleaved, then named notes.
    let mut seeds: Vec<(String, f64)> = Vec::new();
    for i in 0..5 {
        for list in [lexical, vector] {
            if let Some((h, _)) = list.get(i)
                && !seeds.iter().any(|(p, _)| *p == h.path)
            {
                seeds.push((h.path.clone(), 1.0 / (1.0 + i as f64)));
            }
        }
    }
    for p in &named {
        if !seeds.iter().any(|(s, _)| s == p) {
            seeds.push((p.clone(), 1.0));
        }
    }
    // First the seeds, each by its own weight plus half the weight of every
    // other seed linked with it (what the graph says about the other lists'
    // best: a note the others' best notes link is likelier the answer);
    // then the notes the expansion reaches from them. Neighbours never
    // outrank the seeds: in a densely linked vault a hub is a neighbour of
    // everything, and ranking it first would put the same wrong note at the
    // top of every query.
    let linked: Vec<Vec<String>> = seeds
        .iter()
        .map(|(p, _)| Ok(graph.neighbours(p)?.into_iter().map(|(n, _)| n).collect()))
        .collect::<Result<_, super::graph::GraphError>>()?;
    let mut first: Vec<(String, (f64, Option<String>))> = seeds
        .iter()
        .enumerate()
        .map(|(i, (p, w))| {
            let support: f64 = seeds
                .iter()
                .zip(&linked)
                .enumerate()
                .filter(|(j, (_, links))| *j != i && links.contains(p))
                .map(|(_, ((_, wj), _))| 0.5 * wj)
                .sum();
            let bonus = if named.contains(p) { 1.0 } else { 0.0 };
            (p.clone(), (w + bonus + support, None))
        })
        .collect();
    first.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let mut rest: Vec<(String, (f64, Option<String>))> = graph
        .expand(&seeds, &named)?
        .into_iter()
        .filter(|(p, _)| !seeds.iter().any(|(s, _)| s == p))
        .collect();
    rest.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let mut ranked = first;
    ranked.extend(rest);
    ranked.truncate(DEPTH);
    let mut out = Vec::new();
    for (path, (w, heading)) in ranked {
        let chunks = r.db.note_chunks(&path)?;
        let pick = heading
            .as_deref()
            .and_then(|h| {
                let h = h.to_lowercase();
                chunks.iter().find(|c| c.heading.rsplit(" > ").next().is_some_and(|l| l.to_lowercase() == h))
            })
            .or_else(|| {
                lexical
                    .iter()
                    .find(|(l, _)| l.path == path)
                    .and_then(|(l, _)| chunks.iter().find(|c| c.ord == l.ord))
            })
            .or_else(|| chunks.first());
        if let Some(c) = pick {
            out.push((c.clone(), w));
        }
    }
    // Chunks whose extracted facts (`ctl rag reindex --extract`) name an
    // entity of the query, or one a relation ties to it.
    let mut facts = Vec::new();
    for (hash, w) in r.db.fact_chunks(&phrases(text))?.into_iter().take(DEPTH) {
        for hit in r.db.places(&hash)? {
            facts.push((hit, w));
        }
    }
    // They name what the query names: ahead of the notes' tiers (a chunk
    // listed twice keeps its first place when the lists are fused).
    if !facts.is_empty() {
        facts.sort_by(|a, b| b.1.total_cmp(&a.1));
        facts.extend(out);
        out = facts;
        out.truncate(DEPTH);
    }
    Ok(out)
}

/// The query's words and runs of up to three words, as entity keys.
fn phrases(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    for n in 1..=3 {
        for run in words.windows(n) {
            let p = run.join(" ");
            if p.chars().count() > 2 && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}
