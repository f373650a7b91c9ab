//! Retrieval: the lexical (BM25 over chunk text, plus the note's names),
//! vector (int8 scan + f32 rescore) and graph (links and backlinks from
//! the best notes, one or two hops with decaying weight) lists, fused by
//! reciprocal rank per note, de-duplicated and packed to a token budget.

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
    /// 1-based. On a note's first result of a hybrid query: the note's
    /// rank among the list's notes (fusion is by note); otherwise the
    /// chunk's among the list's chunks.
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
    /// The fused (reciprocal-rank) score: its note's, on a note's first
    /// result of a hybrid query.
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
    if mode == Mode::Vector && vector.is_none() {
        return Err(RagError::Other("a vector query needs the query's embedding".into()));
    }
    // The vector scan (the longest leg: every vector is read) runs on a
    // thread of its own while this one runs the lexical query.
    let store = r.vectors.as_deref().filter(|_| mode.needs_vector());
    let (lexical, found) = std::thread::scope(|s| {
        let scan = store.zip(vector).map(|(store, q)| s.spawn(move || store.search(q, DEPTH)));
        let lexical = if mode == Mode::Vector { Ok(Vec::new()) } else { r.db.lexical(text, DEPTH) };
        let found = scan.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (lexical, found)
    });
    let lexical = lexical?;
    let mut vector_list = Vec::new();
    if let Some(found) = found {
        for (slot, score) in found.map_err(|e| RagError::io(&r.dir, e))? {
            // Slots no note holds (removed, or not yet committed) drop out here.
            for hit in r.db.by_slot(slot)? {
                vector_list.push((hit, f64::from(score)));
            }
        }
    }
    let graph = if matches!(mode, Mode::Hybrid | Mode::Graph) {
        graph_list(r, text, &lexical, &vector_list)?
    } else {
        Vec::new()
    };

    // Graph mode reads the lexical list only to seed the graph.
    let lexical_fused: &[(Hit, f64)] = if mode == Mode::Graph { &[] } else { &lexical };
    let lists: [(&[(Hit, f64)], usize); 3] = [(lexical_fused, 0), (&vector_list, 1), (&graph, 2)];
    let all = fuse(&lists, mode == Mode::Hybrid);

    // A note's chunks, best first, for its lead's place.
    let mut of_note: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_chunk: Vec<usize> = (0..all.len()).collect();
    by_chunk.sort_by(|&a, &b| {
        all[b].chunk.total_cmp(&all[a].chunk).then_with(|| all[a].hit.ord.cmp(&all[b].hit.ord))
    });
    for i in by_chunk {
        of_note.entry(all[i].hit.path.as_str()).or_default().push(i);
    }
    // The same text in two notes is one source (a note whose best chunk
    // went out with another note is shown by its next best); then the
    // budget.
    let mut seen = std::collections::HashSet::new();
    let mut emitted = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut used = 0usize;
    for (i, e) in all.iter().enumerate() {
        if out.len() >= opts.k {
            break;
        }
        let usable = |j: &usize| {
            let h = &all[*j].hit;
            !emitted.contains(j)
                && !seen.contains(&h.hash)
                && fits(out.is_empty(), used, h.tokens, opts.budget_tokens)
        };
        let pick = if e.lead {
            of_note.get(e.hit.path.as_str()).and_then(|chunks| chunks.iter().copied().find(usable))
        } else {
            Some(i).filter(usable)
        };
        let Some(j) = pick else { continue };
        emitted.insert(j);
        let hit = &all[j].hit;
        seen.insert(hit.hash.clone());
        used += hit.tokens as usize;
        let ranks = if e.lead { e.ranks } else { all[j].ranks };
        out.push(Source {
            path: hit.path.clone(),
            heading: hit.heading.clone(),
            line_start: hit.line_start,
            line_end: hit.line_end,
            hash: hit.hash.clone(),
            score: e.score,
            lexical: ranks[0],
            vector: ranks[1],
            graph: ranks[2],
            rerank: None,
            tokens: hit.tokens,
            text: r.db.chunk_text(&hit.hash)?,
        });
    }
    Ok(out)
}

/// A chunk of the fused lists.
struct Fused {
    hit: Hit,
    /// Its place in the fused order: its note's score if it leads it.
    score: f64,
    /// Each list's opinion: of its note if it leads it, else of it.
    ranks: [Option<Rank>; 3],
    /// Its own fused score.
    chunk: f64,
    /// It stands for its note (by-note fusion).
    lead: bool,
}

/// Reciprocal-rank fusion of `lists` (each with its index in the ranks),
/// best first.
///
/// `by_note`: the lists vote for notes, not chunks. A note's score sums,
/// over the lists, the reciprocal of its rank among that list's notes
/// (where its first chunk there stands); its best chunk (by the chunks'
/// own fused scores) leads it, with that score and the note's ranks. Its
/// other chunks keep their own, lower, chunk scores, so a second chunk of
/// a note comes before another note only when the lists rank that chunk
/// itself that high. Chunk by chunk, the lists would split a note's
/// votes whenever they pick different chunks of it (the graph list names
/// notes, the lexical and vector lists chunks): a note all three agree
/// on would lose to one a single list ranks high.
///
/// Otherwise (one list) every chunk keeps its own score: the list's order.
fn fuse(lists: &[(&[(Hit, f64)], usize)], by_note: bool) -> Vec<Fused> {
    let mut chunks: HashMap<(String, u32), Fused> = HashMap::new();
    let mut notes: HashMap<String, (f64, [Option<Rank>; 3])> = HashMap::new();
    for &(list, which) in lists {
        let (mut rank, mut note_rank) = (0u32, 0u32);
        // The same text with the same score in several notes is one
        // result of the list, tied at one rank (else a paragraph that ten
        // notes share would push every other note ten places down).
        let mut ties: HashMap<(&str, u64), (u32, Option<u32>)> = HashMap::new();
        for (hit, score) in list {
            let key = (hit.path.clone(), hit.ord);
            if chunks.get(&key).is_some_and(|e| e.ranks[which].is_some()) {
                continue;
            }
            let tie = ties.entry((hit.hash.as_str(), score.to_bits())).or_insert_with(|| {
                rank += 1;
                (rank, None)
            });
            let rank = tie.0;
            let e = chunks.entry(key).or_insert_with(|| Fused {
                hit: hit.clone(),
                score: 0.0,
                ranks: [None; 3],
                chunk: 0.0,
                lead: false,
            });
            e.chunk += 1.0 / (RRF_K + f64::from(rank));
            e.score = e.chunk;
            e.ranks[which] = Some(Rank { rank, score: *score });
            let n = notes.entry(hit.path.clone()).or_insert((0.0, [None; 3]));
            if n.1[which].is_none() {
                let at = *tie.1.get_or_insert_with(|| {
                    note_rank += 1;
                    note_rank
                });
                n.0 += 1.0 / (RRF_K + f64::from(at));
                n.1[which] = Some(Rank { rank: at, score: *score });
            }
        }
    }
    let mut all: Vec<Fused> = chunks.into_values().collect();
    if by_note {
        // Each note's lead: its best chunk, the first in the note on a tie.
        let mut lead: HashMap<&str, usize> = HashMap::new();
        for (i, f) in all.iter().enumerate() {
            let best = lead.entry(f.hit.path.as_str()).or_insert(i);
            let b = &all[*best];
            if f.chunk.total_cmp(&b.chunk).then(b.hit.ord.cmp(&f.hit.ord)).is_gt() {
                *best = i;
            }
        }
        let leads: Vec<usize> = lead.into_values().collect();
        for i in leads {
            let f = &mut all[i];
            if let Some((score, ranks)) = notes.get(&f.hit.path) {
                f.score = *score;
                f.ranks = *ranks;
                f.lead = true;
            }
        }
    }
    all.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| (&a.hit.path, a.hit.ord).cmp(&(&b.hit.path, b.hit.ord)))
    });
    all
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(path: &str, ord: u32, hash: &str) -> (Hit, f64) {
        let h = Hit {
            path: path.into(),
            ord,
            hash: hash.into(),
            heading: String::new(),
            line_start: 1,
            line_end: 1,
            tokens: 10,
            slot: 0,
        };
        (h, 1.0)
    }

    fn order(fused: &[Fused]) -> Vec<(String, u32)> {
        fused.iter().map(|f| (f.hit.path.clone(), f.hit.ord)).collect()
    }

    #[test]
    fn a_note_every_list_ranks_first_wins_though_each_picked_another_chunk_of_it() {
        // Note a is first in all three lists, by three different chunks;
        // note b second in all three, by the same chunk.
        let lexical = [hit("a.md", 0, "a0"), hit("b.md", 0, "b0")];
        let vector = [hit("a.md", 1, "a1"), hit("b.md", 0, "b0")];
        let graph = [hit("a.md", 2, "a2"), hit("b.md", 0, "b0")];
        let lists: [(&[(Hit, f64)], usize); 3] = [(&lexical, 0), (&vector, 1), (&graph, 2)];

        // Chunk by chunk, b's one chunk collects three votes and wins.
        let by_chunk = fuse(&lists, false);
        assert_eq!(order(&by_chunk)[0], ("b.md".into(), 0));

        let by_note = fuse(&lists, true);
        let first = &by_note[0];
        assert_eq!(first.hit.path, "a.md");
        assert!(first.lead);
        let ranks: Vec<u32> = first.ranks.iter().map(|r| r.unwrap().rank).collect();
        assert_eq!(ranks, [1, 1, 1], "a leads with its note's ranks");
        assert!((first.score - 3.0 / (RRF_K + 1.0)).abs() < 1e-12);
        assert_eq!(order(&by_note)[1], ("b.md".into(), 0), "then b");
        // a's other chunks follow on their own, lower, scores.
        assert!(by_note[2..].iter().all(|f| f.hit.path == "a.md" && !f.lead && f.score < by_note[1].score));
    }

    #[test]
    fn the_same_text_in_several_notes_ties_at_one_rank() {
        // A paragraph two notes share is the vector list's best result;
        // the next note is its second result, not its third.
        let vector = [hit("c.md", 0, "shared"), hit("d.md", 3, "shared"), hit("e.md", 0, "e0")];
        let lists: [(&[(Hit, f64)], usize); 1] = [(&vector, 1)];
        let fused = fuse(&lists, true);
        let rank = |path: &str| fused.iter().find(|f| f.hit.path == path).unwrap().ranks[1].unwrap().rank;
        assert_eq!((rank("c.md"), rank("d.md"), rank("e.md")), (1, 1, 2));
    }
}
