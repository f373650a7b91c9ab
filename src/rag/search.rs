//! One query end to end, as every caller runs it (`ctl rag query`, the API,
//! jobs and the `rag_query` tool): the vault's current index, the query's
//! embedding, the fused lists and, when `[rag.rerank]` is set, the
//! reranker's order, then the cut to `k` and the token budget.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::query::{self, QueryOptions, Rank, Source};
use super::{Embedder, RagError, Reader};
use crate::config::{Config, RerankConfig};

/// What a search found.
#[derive(Debug)]
pub struct Searched {
    pub vault: String,
    pub sources: Vec<Source>,
    /// What went wrong without failing the search (a reranker that did not
    /// answer: the fused order stands).
    pub warnings: Vec<String>,
}

/// Searches the vault `vault` (the only or default one when `None`).
pub async fn search(
    cfg: &Config,
    home: &Path,
    vault: Option<&str>,
    text: &str,
    opts: QueryOptions,
) -> Result<Searched, RagError> {
    let (vault, _) = super::pick_vault(cfg, vault)?;
    let reader = {
        let (home, vault) = (home.to_path_buf(), vault.clone());
        blocking(move || Reader::open(&home, &vault)).await?
    };
    let vector = if opts.mode.needs_vector() {
        let embedder = Embedder::from_config(cfg)?;
        if reader.model.as_deref() != Some(embedder.name.as_str()) {
            return Err(RagError::Mismatch(format!(
                "the index of vault {vault} was built with {} and the config says {}",
                reader.model.as_deref().unwrap_or("no embedding model"),
                embedder.name
            )));
        }
        let q = format!("{}{text}", reader.query_prefix);
        embedder.embed(vec![q]).await.map_err(RagError::Query)?.pop()
    } else {
        None
    };
    let rerank = cfg.rag.rerank.clone();
    let wide = match &rerank {
        Some(r) => QueryOptions { k: r.candidates.max(opts.k), budget_tokens: usize::MAX, ..opts },
        None => opts,
    };
    let found = {
        let text = text.to_owned();
        blocking(move || query::retrieve(&reader, &text, vector.as_deref(), &wide)).await?
    };
    let mut warnings = Vec::new();
    let sources = match rerank {
        Some(r) if found.len() > 1 => match Reranker::new(r).rerank(text, found.clone()).await {
            Ok(sorted) => sorted,
            Err(e) => {
                tracing::warn!(error = %e, "reranking failed; the fused order stands");
                warnings.push(format!("{e}; the fused order stands"));
                found
            }
        },
        _ => found,
    };
    Ok(Searched { vault, sources: query::pack(sources, opts.k, opts.budget_tokens), warnings })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RagError> + Send + 'static,
) -> Result<T, RagError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| RagError::Other(format!("search task failed: {e}")))?
}

/// A client for the `POST /v1/rerank` shape (llama.cpp's server, LocalAI,
/// Jina, Cohere and TEI-style replies): it sends the query and the
/// candidates' text and sorts by the scores it gets back. The cut to
/// `top_n` is done here too, as some servers ignore it.
pub struct Reranker {
    cfg: RerankConfig,
    url: String,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct RerankRequest<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    model: &'a str,
    query: &'a str,
    documents: Vec<&'a str>,
    top_n: usize,
}

/// `{"results": [...]}` or a bare list.
#[derive(Deserialize)]
#[serde(untagged)]
enum RerankReply {
    Wrapped { results: Vec<Scored> },
    Bare(Vec<Scored>),
}

#[derive(Deserialize)]
struct Scored {
    index: usize,
    #[serde(alias = "score")]
    relevance_score: f64,
}

/// Why reranking failed.
#[derive(Debug, thiserror::Error)]
#[error("reranker {url}: {message}")]
pub struct RerankError {
    pub url: String,
    pub message: String,
}

impl Reranker {
    pub fn new(cfg: RerankConfig) -> Self {
        crate::provider::install_crypto();
        let url = format!("{}/rerank", cfg.url.trim_end_matches('/'));
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs_f64(cfg.timeout_secs))
            .user_agent(concat!("ctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { cfg, url, client }
    }

    /// `sources` in the reranker's order, each with its rerank rank and
    /// score; the ones it gave no score follow in their fused order.
    pub async fn rerank(&self, query: &str, sources: Vec<Source>) -> Result<Vec<Source>, RerankError> {
        let fail = |message: String| RerankError { url: self.url.clone(), message };
        let body = RerankRequest {
            model: &self.cfg.model,
            query,
            documents: sources.iter().map(|s| s.text.as_str()).collect(),
            top_n: sources.len(),
        };
        let resp = self.client.post(&self.url).json(&body).send().await.map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(fail(format!("HTTP {status}: {}", text.trim())));
        }
        let reply: RerankReply =
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("unexpected reply: {e}")))?;
        let mut scored = match reply {
            RerankReply::Wrapped { results } | RerankReply::Bare(results) => results,
        };
        if let Some(bad) = scored.iter().find(|s| s.index >= sources.len()) {
            return Err(fail(format!("index {} out of range for {} documents", bad.index, sources.len())));
        }
        scored.sort_by(|a, b| b.relevance_score.total_cmp(&a.relevance_score).then(a.index.cmp(&b.index)));
        let mut slots: Vec<Option<Source>> = sources.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(slots.len());
        for s in scored {
            if let Some(mut src) = slots[s.index].take() {
                src.rerank = Some(Rank { rank: out.len() as u32 + 1, score: s.relevance_score });
                out.push(src);
            }
        }
        out.extend(slots.into_iter().flatten());
        Ok(out)
    }
}
