//! `ctl rag reindex --extract`: entities and relations per chunk, from a
//! chat model made to answer through one tool whose parameters are a JSON
//! schema (so any provider that calls tools can do it, and a server with
//! grammar-constrained tool calls always returns valid JSON).
//!
//! Facts are cached by chunk hash and model in the index database: an
//! unchanged chunk is never sent twice, a renamed note costs nothing, and
//! the facts of chunks no note holds leave with them. Each fact keeps its
//! source chunk; queries reach chunks through the entities they name (see
//! the graph list in [`super::query`]).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::db::{Db, Entity, Pending, Relation};
use super::{RagError, VaultDir};
use crate::api::{Message, Role};
use crate::config::Config;
use crate::provider::{ChatEvent, ChatRequest, Provider, ToolChoice, ToolSpec};

/// The tool the model answers through.
const TOOL: &str = "record_facts";

const INSTRUCTIONS: &str = "You extract a knowledge graph from a passage of the user's notes. \
Call record_facts once with the named entities the passage mentions (people, projects, tools, \
places, organisations, concepts, files, commands) and the relations between them that the passage \
states, as subject, predicate, object. Use the entities' names as written. Do not invent facts.";

/// Tokens the instructions and the tool's schema add to each chunk, and
/// what an answer takes: the estimate's constants.
const OVERHEAD_TOKENS: u64 = 250;
const ANSWER_TOKENS: u64 = 200;

/// The chat model of `[rag] extract_model` (the default model when unset).
pub struct Extractor {
    provider: Arc<dyn Provider>,
    model: String,
    /// `provider:model`, as the cache records it.
    pub name: String,
    max_tokens: u32,
}

impl Extractor {
    pub fn from_config(cfg: &Config) -> Result<Self, RagError> {
        let wanted = cfg.rag.extract_model.as_deref().or(cfg.default_model.as_deref());
        let (backend, model, name) = super::model_of(cfg, wanted)?;
        Ok(Self::new(backend, model, name))
    }

    pub fn new(provider: Arc<dyn Provider>, model: String, name: String) -> Self {
        Self { provider, model, name, max_tokens: 512 }
    }

    /// One chunk's facts.
    pub async fn extract(&self, text: &str) -> Result<(Facts, Usage), String> {
        let mut params = crate::api::Params::new();
        params.insert("temperature".into(), serde_json::json!(0));
        params.insert("max_tokens".into(), serde_json::json!(self.max_tokens));
        let mut req = ChatRequest::new(
            self.model.clone(),
            vec![Message::new(Role::System, INSTRUCTIONS), Message::new(Role::User, text)],
            params,
        );
        req.tools = vec![ToolSpec {
            name: TOOL.into(),
            description: "Record the entities and relations found in the passage.".into(),
            parameters: schema(),
        }];
        req.tool_choice = ToolChoice::Tool(TOOL.into());
        let mut stream = self.provider.chat(req).await.map_err(|e| e.message)?;
        let (mut args, mut usage, mut said) = (None, Usage::default(), String::new());
        while let Some(event) = stream.next().await {
            match event.map_err(|e| e.message)? {
                ChatEvent::ToolCall(call) if call.name == TOOL => args = Some(call.arguments),
                ChatEvent::Token(t) => said.push_str(&t),
                ChatEvent::Usage { prompt_tokens, completion_tokens } => {
                    usage = Usage { prompt_tokens, completion_tokens };
                }
                _ => {}
            }
        }
        let Some(args) = args else {
            let said: String = said.chars().take(80).collect();
            return Err(format!("the model did not call {TOOL} (it said {said:?})"));
        };
        let facts: Facts = serde_json::from_value(args)
            .map_err(|e| format!("{TOOL} arguments do not fit the schema: {e}"))?;
        Ok((facts.clean(), usage))
    }
}

/// The schema of the tool's arguments.
fn schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "entities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "name": { "type": "string" }, "type": { "type": "string" } },
                    "required": ["name", "type"]
                }
            },
            "relations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "subject": { "type": "string" },
                        "predicate": { "type": "string" },
                        "object": { "type": "string" }
                    },
                    "required": ["subject", "predicate", "object"]
                }
            }
        },
        "required": ["entities", "relations"]
    })
}

/// What a model found in one chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    #[serde(default)]
    pub entities: Vec<Entity>,
    #[serde(default)]
    pub relations: Vec<Relation>,
}

impl Facts {
    /// Without empty names and duplicates, and bounded (a model that loops
    /// does not fill the index).
    fn clean(mut self) -> Self {
        let mut seen = std::collections::HashSet::new();
        self.entities.retain(|e| {
            let k = super::db::entity_key(&e.name);
            !k.is_empty() && k.chars().count() <= 200 && seen.insert(k)
        });
        self.entities.truncate(64);
        let mut seen = std::collections::HashSet::new();
        self.relations.retain(|r| {
            let key = (
                super::db::entity_key(&r.subject),
                r.predicate.trim().to_lowercase(),
                super::db::entity_key(&r.object),
            );
            !key.0.is_empty() && !key.2.is_empty() && !key.1.is_empty() && seen.insert(key)
        });
        self.relations.truncate(64);
        self
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// What an extraction run will send, before it starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Estimate {
    pub vault: String,
    pub model: String,
    /// Chunks not yet extracted with this model.
    pub chunks: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// In the currency of `[prices]`, when the model has a price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

/// What the chunks waiting for `extractor`'s model would cost.
pub fn estimate(cfg: &Config, home: &Path, vault: &str, model: &str) -> Result<Estimate, RagError> {
    let dir = VaultDir::new(home, vault).current().ok_or_else(|| RagError::NoIndex(vault.to_owned()))?;
    let db = Db::open(&dir, true)?;
    let pending = db.pending_extraction(model)?;
    let chunks = pending.len() as u64;
    let input_tokens = pending.iter().map(|p| u64::from(p.tokens) + OVERHEAD_TOKENS).sum();
    let output_tokens = chunks * ANSWER_TOKENS;
    let cost = cfg
        .prices
        .get(model)
        .map(|p| (input_tokens as f64 * p.input_per_mtok + output_tokens as f64 * p.output_per_mtok) / 1e6);
    Ok(Estimate {
        vault: vault.to_owned(),
        model: model.to_owned(),
        chunks,
        input_tokens,
        output_tokens,
        cost,
    })
}

/// What an extraction run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtractReport {
    pub vault: String,
    pub model: String,
    /// Another reindex of this vault held the lock; nothing was done.
    pub busy: bool,
    pub chunks_extracted: u64,
    /// Chunks the model did not answer for properly; tried again next run.
    pub chunks_failed: u64,
    /// Chunks whose facts left with them (no note holds them any more).
    pub chunks_pruned: u64,
    pub entities: u64,
    pub relations: u64,
    pub usage: Usage,
    pub elapsed_ms: u64,
    pub warnings: Vec<String>,
}

/// Extracts the facts of every live chunk of `vault` not yet extracted
/// with this model, `concurrency` chunks at a time; `progress` is called
/// with (done, total).
pub async fn run(
    home: &Path,
    vault: &str,
    extractor: &Extractor,
    concurrency: usize,
    progress: Option<Arc<dyn Fn(u64, u64) + Send + Sync>>,
) -> Result<ExtractReport, RagError> {
    let started = Instant::now();
    let vdir = VaultDir::new(home, vault);
    let mut report =
        ExtractReport { vault: vault.to_owned(), model: extractor.name.clone(), ..Default::default() };
    let Some(_lock) = vdir.lock_writer()? else { return Ok(ExtractReport { busy: true, ..report }) };
    let dir = vdir.current().ok_or_else(|| RagError::NoIndex(vault.to_owned()))?;
    let mut db = Db::open(&dir, true)?;
    report.chunks_pruned = db.prune_facts()?;
    let pending: Vec<Pending> = db.pending_extraction(&extractor.name)?;
    let total = pending.len() as u64;
    let db = Arc::new(Mutex::new(db));
    let mut results = futures_util::stream::iter(pending)
        .map(|p| async move {
            let r = extractor.extract(&p.text).await;
            (p.hash, r)
        })
        .buffer_unordered(concurrency.max(1));
    let mut done = 0u64;
    while let Some((hash, result)) = results.next().await {
        done += 1;
        match result {
            Ok((facts, usage)) => {
                let (db, model) = (db.clone(), extractor.name.clone());
                let f = facts.clone();
                tokio::task::spawn_blocking(move || {
                    db.lock().unwrap_or_else(PoisonError::into_inner).put_facts(
                        &hash,
                        &model,
                        &f.entities,
                        &f.relations,
                    )
                })
                .await
                .map_err(|e| RagError::Other(format!("extraction task failed: {e}")))??;
                report.chunks_extracted += 1;
                report.entities += facts.entities.len() as u64;
                report.relations += facts.relations.len() as u64;
                report.usage.prompt_tokens += usage.prompt_tokens;
                report.usage.completion_tokens += usage.completion_tokens;
            }
            Err(e) => {
                report.chunks_failed += 1;
                if report.warnings.len() < 10 {
                    report.warnings.push(format!("chunk {}: {e}", &hash[..hash.len().min(12)]));
                }
            }
        }
        if let Some(p) = &progress {
            p(done, total);
        }
    }
    if report.chunks_failed > 0 && report.chunks_extracted == 0 {
        return Err(RagError::Other(format!(
            "extraction failed for all {} chunks with {}: {}",
            report.chunks_failed,
            extractor.name,
            report.warnings.first().cloned().unwrap_or_default()
        )));
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
