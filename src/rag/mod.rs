//! Hybrid retrieval over markdown (Obsidian) vaults: parsing, chunks, the
//! embedded stores under `<home>/rag/<vault>/`, incremental reindex and
//! fused queries. Knows no jobs and no HTTP.
//!
//! ```text
//! rag/<vault>/writer.lock    held by the one reindex running
//! rag/<vault>/CURRENT        the name of the complete generation readers use
//! rag/<vault>/BUILDING       a generation being built (first run, --full)
//! rag/<vault>/g-<id>/index.db     SQLite: chunks + FTS5, paths, graph, meta
//! rag/<vault>/g-<id>/vectors.f32  exact vectors, slot after slot
//! rag/<vault>/g-<id>/vectors.i8   int8 codes with their scale, same slots
//! ```

pub mod chunk;
pub mod db;
pub mod extract;
pub mod graph;
pub mod neo4j;
pub mod parse;
pub mod qdrant;
pub mod query;
pub mod reindex;
pub mod remote;
pub mod search;
pub mod status;
pub mod tool;
pub mod vectors;
pub mod walk;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::Config;
use crate::provider::{Provider, ProviderError};

pub use db::DbError;
pub use query::{Mode, QueryOptions, Source};
pub use reindex::{Options, Report};
pub use search::{Searched, search};

#[derive(Debug, thiserror::Error)]
pub enum RagError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Graph(#[from] graph::GraphError),
    #[error(
        "embedding failed: {message}; the {kept} chunks embedded in this run are kept and {left} are left: \
         run `ctl rag reindex` again once the server answers"
    )]
    Embed { message: String, kept: u64, left: u64 },
    #[error("cannot embed the query: {}", .0.message)]
    Query(ProviderError),
    #[error("{0}: run `ctl rag reindex --full` to rebuild the index with the configured model")]
    Mismatch(String),
    #[error("vault {0} has no index yet: run `ctl rag reindex`")]
    NoIndex(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Other(String),
}

impl RagError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}

/// The folder of one vault's index.
pub struct VaultDir(PathBuf);

impl VaultDir {
    pub fn new(home: &Path, vault: &str) -> Self {
        Self(home.join("rag").join(vault))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Takes the vault's writer lock (held until the file is dropped), or
    /// `None` when another reindex holds it.
    pub fn lock_writer(&self) -> Result<Option<std::fs::File>, RagError> {
        std::fs::create_dir_all(&self.0).map_err(|e| RagError::io(&self.0, e))?;
        let path = self.0.join("writer.lock");
        let lock = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| RagError::io(&path, e))?;
        match lock.try_lock() {
            Ok(()) => Ok(Some(lock)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(RagError::io(&path, e)),
        }
    }

    /// The complete generation readers use, if any.
    pub fn current(&self) -> Option<PathBuf> {
        let name = std::fs::read_to_string(self.0.join("CURRENT")).ok()?;
        let dir = self.0.join(name.trim());
        dir.is_dir().then_some(dir)
    }

    /// A generation to build: the one an interrupted build left (so its
    /// embeddings are kept), or a new one.
    pub fn new_generation(&self) -> std::io::Result<PathBuf> {
        if let Ok(name) = std::fs::read_to_string(self.0.join("BUILDING")) {
            let dir = self.0.join(name.trim());
            if dir.is_dir() && Some(&dir) != self.current().as_ref() {
                return Ok(dir);
            }
        }
        let name = format!("g-{}", crate::queue::new_id().to_lowercase());
        let dir = self.0.join(&name);
        std::fs::create_dir_all(&dir)?;
        write_atomic(&self.0, "BUILDING", &name)?;
        Ok(dir)
    }

    /// Forgets an interrupted build (a `--full` with other settings).
    pub fn discard_building(&self) {
        if let Ok(name) = std::fs::read_to_string(self.0.join("BUILDING")) {
            let dir = self.0.join(name.trim());
            if Some(&dir) != self.current().as_ref() {
                let _ = std::fs::remove_dir_all(dir);
            }
            let _ = std::fs::remove_file(self.0.join("BUILDING"));
        }
    }

    /// Makes `dir` the current generation and removes the others.
    pub fn switch_to(&self, dir: &Path) -> std::io::Result<()> {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        write_atomic(&self.0, "CURRENT", &name)?;
        let _ = std::fs::remove_file(self.0.join("BUILDING"));
        for entry in std::fs::read_dir(&self.0)?.flatten() {
            let n = entry.file_name();
            let n = n.to_string_lossy();
            if n.starts_with("g-") && n != name.as_str() {
                // Readers that opened the old files keep them until they close.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(())
    }
}

/// A store setting from the environment: `VAR`, or the file `VAR_FILE`
/// names (see [`crate::secrets`]).
pub fn env_value(var: &str) -> Result<Option<String>, String> {
    crate::secrets::from_env(var).map(|v| v.map(|s| s.expose().to_owned())).map_err(|e| e.to_string())
}

fn write_atomic(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut &f, text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// The embedding model of `[rag] embed_model`, with the worker's retry
/// rule for transient errors, counting the requests it makes.
pub struct Embedder {
    provider: Arc<dyn Provider>,
    model: String,
    /// `provider:model`, as recorded in the index.
    pub name: String,
    calls: AtomicU64,
    retries: u32,
    backoff: Duration,
}

impl Embedder {
    pub fn new(provider: Arc<dyn Provider>, model: String, name: String) -> Self {
        Self {
            provider,
            model,
            name,
            calls: AtomicU64::new(0),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }

    /// The embedder `[rag] embed_model` names.
    pub fn from_config(cfg: &Config) -> Result<Self, RagError> {
        let wanted = cfg.rag.embed_model.as_deref().ok_or_else(|| {
            RagError::Config(
                "no embedding model: set [rag] embed_model = \"provider:model\" in the config".into(),
            )
        })?;
        let (backend, model, name) = model_of(cfg, Some(wanted))?;
        Ok(Self::new(backend, model, name))
    }

    /// Requests made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Embeds `texts`, retrying transient failures with backoff.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ProviderError> {
        let mut attempt = 0;
        loop {
            self.calls.fetch_add(1, Ordering::Relaxed);
            match self.provider.embed(&self.model, texts.clone()).await {
                Ok(v) if v.len() == texts.len() => return Ok(v),
                Ok(v) => {
                    return Err(ProviderError::permanent(format!(
                        "{} returned {} vectors for {} texts",
                        self.name,
                        v.len(),
                        texts.len()
                    )));
                }
                Err(e) if e.is_transient() && attempt < self.retries => {
                    attempt += 1;
                    tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A configured vault: its name and folder.
pub fn pick_vault(cfg: &Config, name: Option<&str>) -> Result<(String, PathBuf), RagError> {
    let root = cfg.rag.vault_root(name).map_err(RagError::Config)?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => cfg
            .rag
            .vault_roots()
            .into_iter()
            .find(|(_, p)| *p == root)
            .map_or_else(|| crate::config::RagConfig::DEFAULT_VAULT.to_owned(), |(n, _)| n),
    };
    Ok((name, root))
}

/// Reindex options for a vault from the config.
pub fn options(cfg: &Config, name: Option<&str>, full: bool) -> Result<Options, RagError> {
    let (vault, root) = pick_vault(cfg, name)?;
    let mut exclude = cfg.rag.exclude.clone();
    if let Some(v) = cfg.rag.vaults.get(&vault) {
        exclude.extend(v.exclude.iter().cloned());
    }
    Ok(Options {
        vault,
        root,
        exclude,
        max_file_bytes: cfg.rag.max_file_bytes,
        sizes: chunk::Sizes { tokens: cfg.rag.chunk_tokens.max(16), overlap: cfg.rag.chunk_overlap },
        full,
        batch: cfg.rag.embed_batch,
        concurrency: cfg.rag.embed_concurrency,
        passage_prefix: cfg.rag.passage_prefix.clone(),
        query_prefix: cfg.rag.query_prefix.clone(),
        vectors: cfg.rag.vectors,
        graph: cfg.rag.graph,
        progress: None,
    })
}

/// The metadata keys that record which stores an index uses.
pub const VECTOR_STORE_KEY: &str = "vector_store";
pub const GRAPH_STORE_KEY: &str = "graph_store";
pub const QDRANT_COLLECTION_KEY: &str = "qdrant_collection";
pub const NEO4J_VAULT_KEY: &str = "neo4j_vault";

/// The vector store an index records (the embedded one when it records
/// none); `write` creates what is missing.
pub fn open_vectors(
    db: &db::Db,
    dir: &Path,
    dims: usize,
    write: bool,
) -> Result<Box<dyn vectors::VectorStore>, RagError> {
    match db.meta(VECTOR_STORE_KEY)?.as_deref() {
        None | Some("embedded") => {
            Ok(Box::new(vectors::FlatStore::open(dir, dims, write).map_err(|e| RagError::io(dir, e))?))
        }
        Some("qdrant") => {
            let cfg = qdrant::QdrantConfig::from_env().map_err(RagError::Config)?;
            let collection = db
                .meta(QDRANT_COLLECTION_KEY)?
                .ok_or_else(|| RagError::Other("the index names no Qdrant collection".into()))?;
            let store = qdrant::QdrantVectors::open(&cfg, &collection, dims, write)
                .map_err(|e| RagError::Other(format!("{}: {e}", cfg.url)))?;
            Ok(Box::new(store))
        }
        Some(other) => Err(RagError::Other(format!("the index names an unknown vector store {other:?}"))),
    }
}

/// The graph store an index records when it is a server's (`None`: the
/// index database's own tables).
pub fn open_graph(db: &db::Db) -> Result<Option<Box<dyn graph::GraphStore>>, RagError> {
    match db.meta(GRAPH_STORE_KEY)?.as_deref() {
        None | Some("embedded") => Ok(None),
        Some("neo4j") => {
            let cfg = neo4j::Neo4jConfig::from_env().map_err(RagError::Config)?;
            let vault = db.meta(NEO4J_VAULT_KEY)?.unwrap_or_default();
            let g = neo4j::Neo4jGraph::open(&cfg, &vault)
                .map_err(|e| RagError::Other(format!("{}: {e}", cfg.uri)))?;
            Ok(Some(Box::new(g)))
        }
        Some(other) => Err(RagError::Other(format!("the index names an unknown graph store {other:?}"))),
    }
}

/// Deletes what a replaced index generation kept in servers (its Qdrant
/// collection, its Neo4j nodes), given its metadata; what fails is
/// returned as warnings.
pub fn retire_remote<S: std::hash::BuildHasher>(
    meta: &std::collections::HashMap<String, String, S>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if meta.get(VECTOR_STORE_KEY).map(String::as_str) == Some("qdrant")
        && let Some(collection) = meta.get(QDRANT_COLLECTION_KEY)
    {
        let r = qdrant::QdrantConfig::from_env()
            .map_err(std::io::Error::other)
            .and_then(|cfg| qdrant::QdrantVectors::open(&cfg, collection, 0, false))
            .and_then(|s| s.drop_collection());
        if let Err(e) = r {
            warnings.push(format!("dropping the replaced Qdrant collection {collection}: {e}"));
        }
    }
    if meta.get(GRAPH_STORE_KEY).map(String::as_str) == Some("neo4j")
        && let Some(ns) = meta.get(NEO4J_VAULT_KEY)
    {
        let r = neo4j::Neo4jConfig::from_env()
            .map_err(graph::GraphError)
            .and_then(|cfg| neo4j::Neo4jGraph::open(&cfg, ns))
            .and_then(|g| g.clear());
        if let Err(e) = r {
            warnings.push(format!("removing the replaced graph {ns} from Neo4j: {e}"));
        }
    }
    warnings
}

/// A read-only view of a vault's current index.
pub struct Reader {
    pub vault: String,
    pub db: db::Db,
    pub vectors: Option<Box<dyn vectors::VectorStore>>,
    /// A server's graph; `None` reads the index database's graph tables.
    pub graph: Option<Box<dyn graph::GraphStore>>,
    /// `provider:model` the index was built with.
    pub model: Option<String>,
    pub query_prefix: String,
    pub dir: PathBuf,
}

impl Reader {
    pub fn open(home: &Path, vault: &str) -> Result<Self, RagError> {
        let vdir = VaultDir::new(home, vault);
        let dir = vdir.current().ok_or_else(|| RagError::NoIndex(vault.to_owned()))?;
        let db = db::Db::open(&dir, false)?;
        let dims: Option<usize> = db.meta("dims")?.and_then(|d| d.parse().ok());
        let vectors = match dims {
            Some(d) => Some(open_vectors(&db, &dir, d, false)?),
            None => None,
        };
        let graph = open_graph(&db)?;
        Ok(Self {
            vault: vault.to_owned(),
            graph,
            model: db.meta("model")?,
            query_prefix: db.meta("query_prefix")?.unwrap_or_default(),
            db,
            vectors,
            dir,
        })
    }

    /// The note graph of this index.
    pub fn graph(&self) -> &dyn graph::GraphStore {
        self.graph.as_deref().unwrap_or(&self.db)
    }
}

/// The provider serving `wanted` ("provider:model", or the default model
/// when `None`), the model's name there, and "provider:model".
pub(crate) fn model_of(
    cfg: &Config,
    wanted: Option<&str>,
) -> Result<(Arc<dyn Provider>, String, String), RagError> {
    let (provider, model) = cfg.resolve_model(wanted).map_err(RagError::Config)?;
    let pc =
        cfg.providers.get(&provider).ok_or_else(|| RagError::Config(format!("no provider {provider:?}")))?;
    let backend = crate::provider::build(&provider, pc).map_err(|e| RagError::Config(e.message))?;
    let name = format!("{provider}:{model}");
    Ok((backend, model, name))
}
