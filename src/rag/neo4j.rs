//! The note graph in a Neo4j server ([`Neo4jGraph`], over Bolt with
//! neo4rs). Every statement is parameterised Cypher ([`Statement`]); writes
//! use MERGE, so applying an update twice leaves the graph as once.
//!
//! ```text
//! (:Note {vault, path, title, headings})
//! (:Note)-[:NAMED]->(:Key {vault, key})        file name and aliases, lowercase
//! (:Note)-[:TAGGED]->(:Tag {vault, name})
//! (:Note)-[:LINKS_TO {line, heading, embed}]->(:Key {vault, key})
//! ```
//!
//! A link resolves to the notes NAMED by its key; backlinks are the same
//! pattern read the other way. A missing heading is stored as `""` (MERGE
//! refuses null properties). Every node carries the vault, so several
//! vaults share one database.

use std::collections::HashMap;

use super::db::NoteGraph;
use super::graph::{GraphError, GraphStore, GraphUpdate, aliases, target_key};
use super::parse::link_key;

/// A Cypher parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Param>),
    Map(Vec<(String, Param)>),
}

impl From<&str> for Param {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Param {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

/// One parameterised Cypher statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub cypher: &'static str,
    pub params: Vec<(&'static str, Param)>,
}

impl Statement {
    fn new(cypher: &'static str, vault: &str) -> Self {
        Self { cypher, params: vec![("vault", vault.into())] }
    }

    fn with(mut self, key: &'static str, value: impl Into<Param>) -> Self {
        self.params.push((key, value.into()));
        self
    }
}

pub const UPSERT_NOTE: &str =
    "MERGE (n:Note {vault: $vault, path: $path}) SET n.title = $title, n.headings = $headings";
pub const CLEAR_NOTE: &str = "MATCH (n:Note {vault: $vault, path: $path})-[r]->() DELETE r";
pub const NAME_NOTE: &str = "MATCH (n:Note {vault: $vault, path: $path}) UNWIND $keys AS key \
     MERGE (k:Key {vault: $vault, key: key}) MERGE (n)-[:NAMED]->(k)";
pub const TAG_NOTE: &str = "MATCH (n:Note {vault: $vault, path: $path}) UNWIND $tags AS tag \
     MERGE (t:Tag {vault: $vault, name: tag}) MERGE (n)-[:TAGGED]->(t)";
pub const LINK_NOTE: &str = "MATCH (n:Note {vault: $vault, path: $path}) UNWIND $links AS l \
     MERGE (k:Key {vault: $vault, key: l.key}) \
     MERGE (n)-[:LINKS_TO {line: l.line, heading: l.heading, embed: l.embed}]->(k)";
pub const DELETE_NOTE: &str = "MATCH (n:Note {vault: $vault, path: $path}) DETACH DELETE n";
pub const CLEAR_VAULT: &str = "MATCH (n {vault: $vault}) DETACH DELETE n";
pub const NEIGHBOURS_OUT: &str = "MATCH (n:Note {vault: $vault, path: $path})-[l:LINKS_TO]->(:Key)<-[:NAMED]-(m:Note) \
     WHERE m.path <> $path RETURN m.path AS path, l.heading AS heading ORDER BY l.line, path";
pub const NEIGHBOURS_IN: &str = "MATCH (n:Note {vault: $vault, path: $path})-[:NAMED]->(:Key)<-[:LINKS_TO]-(m:Note) \
     WHERE m.path <> $path RETURN DISTINCT m.path AS path ORDER BY path";
pub const NAMED: &str = "MATCH (n:Note {vault: $vault})-[:NAMED]->(:Key {vault: $vault, key: $word}) RETURN n.path AS path \
     UNION MATCH (n:Note {vault: $vault})-[:TAGGED]->(:Tag {vault: $vault, name: $word}) RETURN n.path AS path";
pub const NOTE_TAGS: &str =
    "MATCH (n:Note {vault: $vault, path: $path})-[:TAGGED]->(t:Tag) RETURN t.name AS v ORDER BY v";
/// One row per heading (not the list itself): engines differ in how they
/// return a list cell, rows are the same everywhere.
pub const NOTE_HEADINGS: &str = "MATCH (n:Note {vault: $vault, path: $path}) UNWIND n.headings AS v RETURN v";
pub const NOTE_LINKS: &str = "MATCH (n:Note {vault: $vault, path: $path})-[l:LINKS_TO]->(k:Key) \
     RETURN k.key AS v ORDER BY l.line, v";

/// The statements that write one update, in order.
pub fn apply_statements(vault: &str, update: &GraphUpdate<'_>) -> Vec<Statement> {
    let mut out = Vec::new();
    for path in update.deletes {
        out.push(Statement::new(DELETE_NOTE, vault).with("path", path.as_str()));
    }
    for (path, note) in update.upserts {
        let path = *path;
        let headings = Param::List(note.headings.iter().map(|h| Param::Str(h.text.clone())).collect());
        out.push(
            Statement::new(UPSERT_NOTE, vault)
                .with("path", path)
                .with("title", note.title.as_str())
                .with("headings", headings),
        );
        out.push(Statement::new(CLEAR_NOTE, vault).with("path", path));
        let mut keys = vec![link_key(path)];
        for a in aliases(path, note) {
            let k = a.trim().to_lowercase();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        out.push(
            Statement::new(NAME_NOTE, vault)
                .with("path", path)
                .with("keys", Param::List(keys.into_iter().map(Param::Str).collect())),
        );
        let mut tags: Vec<&String> = note.tags.iter().collect();
        tags.sort();
        tags.dedup();
        out.push(
            Statement::new(TAG_NOTE, vault)
                .with("path", path)
                .with("tags", Param::List(tags.into_iter().map(|t| Param::Str(t.clone())).collect())),
        );
        let links = note
            .links
            .iter()
            .map(|l| {
                Param::Map(vec![
                    ("key".into(), Param::Str(target_key(path, &l.target))),
                    ("line".into(), Param::Int(i64::from(l.line))),
                    ("heading".into(), Param::Str(l.heading.clone().unwrap_or_default())),
                    ("embed".into(), Param::Bool(l.embed)),
                ])
            })
            .collect();
        out.push(Statement::new(LINK_NOTE, vault).with("path", path).with("links", Param::List(links)));
    }
    out
}

/// A value a query returns, as [`Cypher`] engines hand it back.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Str(String),
    List(Vec<Cell>),
}

impl Cell {
    fn string(&self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// Something that runs parameterised Cypher: the Bolt driver here, another
/// Cypher engine in tests.
pub trait Cypher: Send {
    /// Runs the statements in one transaction.
    fn write(&self, statements: &[Statement]) -> Result<(), GraphError>;
    /// Runs one read; each row holds the named columns, in order.
    fn read(&self, statement: &Statement, columns: &[&str]) -> Result<Vec<Vec<Cell>>, GraphError>;
}

/// The graph of one vault in a Cypher database.
pub struct CypherGraph<C> {
    pub db: C,
    pub vault: String,
}

impl<C: Cypher> CypherGraph<C> {
    /// Removes every node of this graph.
    pub fn clear(&self) -> Result<(), GraphError> {
        self.db.write(&[Statement::new(CLEAR_VAULT, &self.vault)])
    }
}

impl<C: Cypher> GraphStore for CypherGraph<C> {
    fn apply(&self, update: &GraphUpdate<'_>) -> Result<(), GraphError> {
        let statements = apply_statements(&self.vault, update);
        if statements.is_empty() {
            return Ok(());
        }
        self.db.write(&statements)
    }

    fn neighbours(&self, path: &str) -> Result<Vec<(String, Option<String>)>, GraphError> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        let out_rows = self
            .db
            .read(&Statement::new(NEIGHBOURS_OUT, &self.vault).with("path", path), &["path", "heading"])?;
        for row in out_rows {
            let (Some(p), heading) = (row[0].string(), row[1].string().filter(|h| !h.is_empty())) else {
                continue;
            };
            if !out.contains(&(p.clone(), heading.clone())) {
                out.push((p, heading));
            }
        }
        for row in self.db.read(&Statement::new(NEIGHBOURS_IN, &self.vault).with("path", path), &["path"])? {
            if let Some(p) = row[0].string()
                && !out.iter().any(|(q, h)| *q == p && h.is_none())
            {
                out.push((p, None));
            }
        }
        Ok(out)
    }

    fn notes_named(&self, words: &[String]) -> Result<Vec<String>, GraphError> {
        let mut out: Vec<String> = Vec::new();
        for w in words {
            let mut found: Vec<String> = self
                .db
                .read(&Statement::new(NAMED, &self.vault).with("word", w.as_str()), &["path"])?
                .into_iter()
                .filter_map(|r| r[0].string())
                .collect();
            found.sort();
            for p in found {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    fn note(&self, path: &str) -> Result<NoteGraph, GraphError> {
        let strings = |cypher: &'static str| -> Result<Vec<String>, GraphError> {
            let rows = self.db.read(&Statement::new(cypher, &self.vault).with("path", path), &["v"])?;
            Ok(rows
                .into_iter()
                .flat_map(|r| match &r[0] {
                    Cell::List(items) => items.iter().filter_map(Cell::string).collect(),
                    other => other.string().into_iter().collect::<Vec<_>>(),
                })
                .collect())
        };
        let mut backlinks: Vec<String> = Vec::new();
        for (p, _) in self.neighbours(path)? {
            if !backlinks.contains(&p) {
                backlinks.push(p);
            }
        }
        Ok(NoteGraph {
            tags: strings(NOTE_TAGS)?,
            headings: strings(NOTE_HEADINGS)?,
            links: strings(NOTE_LINKS)?,
            backlinks,
        })
    }
}

/// Where the server is and who ctl is there.
#[derive(Debug, Clone)]
pub struct Neo4jConfig {
    pub uri: String,
    pub user: String,
    pub password: String,
}

impl Neo4jConfig {
    /// `CTL_NEO4J_URI`, `CTL_NEO4J_USER` (default `neo4j`) and
    /// `CTL_NEO4J_PASSWORD`, each also as `*_FILE`.
    pub fn from_env() -> Result<Self, String> {
        let uri = super::env_value("CTL_NEO4J_URI")?.ok_or(
            "[rag] graph = \"neo4j\" needs CTL_NEO4J_URI (or CTL_NEO4J_URI_FILE), e.g. bolt://localhost:7687",
        )?;
        Ok(Self {
            uri,
            user: super::env_value("CTL_NEO4J_USER")?.unwrap_or_else(|| "neo4j".into()),
            password: super::env_value("CTL_NEO4J_PASSWORD")?.unwrap_or_default(),
        })
    }
}

impl From<Param> for neo4rs::BoltType {
    fn from(p: Param) -> Self {
        match p {
            Param::Str(s) => s.into(),
            Param::Int(i) => i.into(),
            Param::Bool(b) => b.into(),
            Param::List(items) => items.into(),
            Param::Map(pairs) => pairs.into_iter().collect::<HashMap<String, Param>>().into(),
        }
    }
}

/// The Bolt driver.
pub struct Bolt {
    graph: neo4rs::Graph,
    rt: super::remote::Blocking,
}

fn bolt_err(e: impl std::fmt::Display) -> GraphError {
    GraphError(format!("neo4j: {e}"))
}

fn query(s: &Statement) -> neo4rs::Query {
    neo4rs::query(s.cypher).params(s.params.iter().map(|(k, v)| (*k, v.clone())))
}

fn cell(row: &neo4rs::Row, column: &str) -> Cell {
    if let Ok(s) = row.get::<String>(column) {
        Cell::Str(s)
    } else if let Ok(v) = row.get::<Vec<String>>(column) {
        Cell::List(v.into_iter().map(Cell::Str).collect())
    } else {
        Cell::Null
    }
}

impl Cypher for Bolt {
    fn write(&self, statements: &[Statement]) -> Result<(), GraphError> {
        self.rt.run(async {
            let mut txn = self.graph.start_txn().await.map_err(bolt_err)?;
            for s in statements {
                txn.run(query(s)).await.map_err(bolt_err)?;
            }
            txn.commit().await.map_err(bolt_err)
        })
    }

    fn read(&self, statement: &Statement, columns: &[&str]) -> Result<Vec<Vec<Cell>>, GraphError> {
        self.rt.run(async {
            let mut stream = self.graph.execute(query(statement)).await.map_err(bolt_err)?;
            let mut rows = Vec::new();
            while let Some(row) = stream.next().await.map_err(bolt_err)? {
                rows.push(columns.iter().map(|c| cell(&row, c)).collect());
            }
            Ok(rows)
        })
    }
}

/// The graph in Neo4j.
pub type Neo4jGraph = CypherGraph<Bolt>;

impl CypherGraph<Bolt> {
    /// Connects to the server for the graph of `vault`.
    pub fn open(cfg: &Neo4jConfig, vault: &str) -> Result<Self, GraphError> {
        let rt = super::remote::Blocking::new("ctl-neo4j").map_err(bolt_err)?;
        let config = neo4rs::ConfigBuilder::default()
            .uri(cfg.uri.as_str())
            .user(cfg.user.as_str())
            .password(cfg.password.as_str())
            .max_connections(2)
            .build()
            .map_err(bolt_err)?;
        let graph = rt.run(neo4rs::Graph::connect(config)).map_err(bolt_err)?;
        Ok(Self { db: Bolt { graph, rt }, vault: vault.to_owned() })
    }
}

#[cfg(test)]
#[path = "neo4j_tests.rs"]
mod tests;
