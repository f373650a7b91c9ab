//! The note graph: notes, their titles and aliases, tags, headings and
//! links (backlinks are links read the other way). [`GraphStore`] is the
//! seam a server-backed graph plugs into; the embedded one is the graph
//! tables of the index database ([`super::db::Db`]), written in the same
//! transaction as the chunks.
//!
//! A link resolves to a note by its key: the file name without `.md`,
//! lowercase, or one of the note's aliases (its title included when it
//! differs from the file name).

use std::collections::HashMap;

use super::db::{Db, NoteGraph};
use super::parse::{Note, link_key};

#[derive(Debug, thiserror::Error)]
#[error("graph store: {0}")]
pub struct GraphError(pub String);

impl From<super::db::DbError> for GraphError {
    fn from(e: super::db::DbError) -> Self {
        Self(e.to_string())
    }
}

/// Notes to (re)write in a graph and notes to remove from it.
#[derive(Debug, Default, Clone, Copy)]
pub struct GraphUpdate<'a> {
    /// (path, parsed note): each replaces what the graph held for the path.
    pub upserts: &'a [(&'a str, &'a Note)],
    pub deletes: &'a [String],
}

/// The aliases a note is also linked by: its front-matter aliases, and its
/// title when that differs from the file name.
pub fn aliases<'a>(path: &str, note: &'a Note) -> Vec<&'a str> {
    let mut out: Vec<&str> = note.aliases.iter().map(String::as_str).collect();
    if note.title.to_lowercase() != link_key(path) {
        out.push(&note.title);
    }
    out
}

/// The key a link from `src` points at.
pub fn target_key(src: &str, target: &str) -> String {
    if target.is_empty() { link_key(src) } else { link_key(target) }
}

/// A note graph. Writes are idempotent: applying the same update twice
/// leaves the graph as applying it once.
pub trait GraphStore: Send {
    /// Replaces the notes of `update.upserts` and removes `update.deletes`.
    fn apply(&self, update: &GraphUpdate<'_>) -> Result<(), GraphError>;

    /// Notes a link from `path` resolves to (with the linked heading, if
    /// any) and notes linking to it; never `path` itself.
    fn neighbours(&self, path: &str) -> Result<Vec<(String, Option<String>)>, GraphError>;

    /// Notes whose file name, title, alias or tag is one of `words`
    /// (lowercase), in the order of the words.
    fn notes_named(&self, words: &[String]) -> Result<Vec<String>, GraphError>;

    /// What the graph holds about one note.
    fn note(&self, path: &str) -> Result<NoteGraph, GraphError>;

    /// Weights of the notes one and two hops from `seeds` (path, weight):
    /// a hop passes on half the weight, two hops a quarter. Notes in
    /// `named` start at 1. Seeds are not reached again unless named.
    /// Returns note → (weight, the first linked heading that reached it).
    fn expand(
        &self,
        seeds: &[(String, f64)],
        named: &[String],
    ) -> Result<HashMap<String, (f64, Option<String>)>, GraphError> {
        let mut weights: HashMap<String, (f64, Option<String>)> = HashMap::new();
        for p in named {
            weights.entry(p.clone()).or_insert((0.0, None)).0 += 1.0;
        }
        let mut frontier = seeds.to_vec();
        for hop in 1..=2 {
            let decay = 0.5f64.powi(hop);
            let mut next = Vec::new();
            for (path, w) in &frontier {
                for (n, heading) in self.neighbours(path)? {
                    if seeds.iter().any(|(s, _)| *s == n) && !named.contains(&n) {
                        continue;
                    }
                    let e = weights.entry(n.clone()).or_insert((0.0, None));
                    e.0 += w * decay;
                    if e.1.is_none() {
                        e.1 = heading;
                    }
                    next.push((n, *w));
                }
            }
            frontier = next;
            if frontier.len() > 200 {
                break;
            }
        }
        Ok(weights)
    }
}

/// The embedded graph: the index database's tables. `apply` writes them in
/// its own transaction; a reindex writes them with the chunks instead.
impl GraphStore for Db {
    fn apply(&self, update: &GraphUpdate<'_>) -> Result<(), GraphError> {
        Ok(self.apply_graph(update)?)
    }

    fn neighbours(&self, path: &str) -> Result<Vec<(String, Option<String>)>, GraphError> {
        Ok(Db::neighbours(self, path)?)
    }

    fn notes_named(&self, words: &[String]) -> Result<Vec<String>, GraphError> {
        Ok(Db::notes_named(self, words)?)
    }

    fn note(&self, path: &str) -> Result<NoteGraph, GraphError> {
        Ok(self.note_graph(path)?)
    }
}

/// The conformance suite every [`GraphStore`] passes: run on the embedded
/// graph always and on a server's when one is configured for tests.
#[cfg(test)]
pub mod conformance {
    use super::*;
    use crate::rag::parse::parse;

    fn note(text: &str, stem: &str) -> Note {
        parse(text, stem)
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    fn neighbours(g: &dyn GraphStore, path: &str) -> Vec<String> {
        let mut v: Vec<String> = g.neighbours(path).unwrap().into_iter().map(|(p, _)| p).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Runs every check on an empty store.
    #[allow(clippy::many_single_char_names)]
    pub fn run(g: &dyn GraphStore) {
        let a = note(
            "---\ntitle: Alpha Note\naliases: [first]\ntags: [proj/x]\n---\n# Intro\nsee [[b#Part two]] and [[C|sea]]\n",
            "a",
        );
        let b = note("# Part one\n## Part two\n#topic text, back to [[first]]\n", "b");
        let c = note("plain, links ![[d]]\n", "c");
        let d = note("# D\nleaf\n", "d");
        let e = note("# E\nlinks [[missing]]\n", "e");
        let up: Vec<(&str, &Note)> =
            vec![("a.md", &a), ("dir/b.md", &b), ("C.md", &c), ("d.md", &d), ("e.md", &e)];
        g.apply(&GraphUpdate { upserts: &up, deletes: &[] }).unwrap();
        // Idempotent: the same update again changes nothing.
        g.apply(&GraphUpdate { upserts: &up, deletes: &[] }).unwrap();

        // Links resolve by file name (any folder, any case) and by alias.
        assert_eq!(neighbours(g, "a.md"), ["C.md", "dir/b.md"]);
        let to_b: Vec<_> = g.neighbours("a.md").unwrap();
        assert!(to_b.contains(&("dir/b.md".to_owned(), Some("Part two".to_owned()))), "{to_b:?}");
        // A backlink: b links to a through its alias, c is linked from a.
        assert_eq!(neighbours(g, "dir/b.md"), ["a.md"]);
        assert_eq!(neighbours(g, "C.md"), ["a.md", "d.md"]);
        assert_eq!(neighbours(g, "d.md"), ["C.md"]);
        // A link to no note reaches nothing.
        assert!(neighbours(g, "e.md").is_empty());

        // Names: file name, title, alias, tag (nested tags count as their parent).
        assert_eq!(g.notes_named(&["alpha note".into()]).unwrap(), ["a.md"]);
        assert_eq!(g.notes_named(&["first".into()]).unwrap(), ["a.md"]);
        assert_eq!(g.notes_named(&["b".into()]).unwrap(), ["dir/b.md"]);
        assert_eq!(g.notes_named(&["proj".into()]).unwrap(), ["a.md"]);
        assert_eq!(g.notes_named(&["topic".into(), "d".into()]).unwrap(), ["dir/b.md", "d.md"]);
        assert!(g.notes_named(&["nothing".into()]).unwrap().is_empty());

        let ga = g.note("a.md").unwrap();
        assert_eq!(ga.tags, ["proj", "proj/x"]);
        assert_eq!(ga.headings, ["Intro"]);
        assert_eq!(ga.links, ["b", "c"]);
        assert_eq!(sorted(ga.backlinks), ["C.md", "dir/b.md"]);
        let gb = g.note("dir/b.md").unwrap();
        assert_eq!(gb.headings, ["Part one", "Part two"]);
        assert_eq!(gb.tags, ["topic"]);

        // Expansion: one hop at half weight, two at a quarter.
        let w = g.expand(&[("d.md".into(), 1.0)], &[]).unwrap();
        assert_eq!(w.get("C.md").map(|x| x.0), Some(0.5));
        assert_eq!(w.get("a.md").map(|x| x.0), Some(0.25));
        assert!(!w.contains_key("d.md"));
        let w = g.expand(&[("a.md".into(), 1.0)], &["e.md".into()]).unwrap();
        assert_eq!(w.get("dir/b.md").map(|x| x.1.clone()), Some(Some("Part two".into())));
        assert_eq!(w.get("e.md").map(|x| x.0), Some(1.0));

        // Rewriting a note replaces its rows; deleting removes them and its backlinks.
        let c2 = note("now links [[e]] #newtag\n", "c");
        g.apply(&GraphUpdate { upserts: &[("C.md", &c2)], deletes: &["d.md".into()] }).unwrap();
        assert_eq!(neighbours(g, "C.md"), ["a.md", "e.md"]);
        assert!(neighbours(g, "d.md").is_empty());
        assert!(g.notes_named(&["d".into()]).unwrap().is_empty());
        assert_eq!(g.note("C.md").unwrap().tags, ["newtag"]);
        assert_eq!(g.note("d.md").unwrap(), NoteGraph::default());
        // A rename: the old path goes, the new one answers.
        g.apply(&GraphUpdate { upserts: &[("x/a2.md", &a)], deletes: &["a.md".into()] }).unwrap();
        assert_eq!(neighbours(g, "dir/b.md"), ["x/a2.md"]);
        assert_eq!(g.notes_named(&["first".into()]).unwrap(), ["x/a2.md"]);
        // Non-ASCII names.
        let u = note("# Überblick\n[[Ärger]]\n", "Ärger");
        g.apply(&GraphUpdate { upserts: &[("Ärger.md", &u)], deletes: &[] }).unwrap();
        assert_eq!(g.notes_named(&["ärger".into()]).unwrap(), ["Ärger.md"]);
    }

    #[test]
    fn sqlite_graph_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), true).unwrap();
        run(&db);
    }
}
