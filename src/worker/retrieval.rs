//! Retrieval for a job, before its first model call: the sources come from
//! the replayed job's snapshot, else from an earlier attempt's `retrieval`
//! event, else from a search of the vault's index. Either way one
//! `retrieval` event is appended before the first token.

use std::fmt::Write as _;

use super::Shared;
use crate::api::{EventBody, Job, RagMode, RetrievedSource};
use crate::provider::ProviderError;
use crate::rag::{self, Mode, QueryOptions, RagError};

/// The sources of this attempt, recorded in the log.
pub(super) async fn sources_for(
    shared: &Shared,
    job: &Job,
    writer: &mut dyn crate::backend::EventSink,
) -> Result<Vec<RetrievedSource>, ProviderError> {
    let Some(spec) = &job.rag else { return Ok(Vec::new()) };
    let earlier = match &spec.sources {
        Some(s) => Some(s.clone()),
        None => tokio::task::block_in_place(|| shared.local.events.read_all(&job.id))
            .unwrap_or_default()
            .into_iter()
            .rev()
            .find_map(|e| match e.body {
                EventBody::Retrieval { sources, .. } => Some(sources),
                _ => None,
            }),
    };
    let reused = earlier.is_some();
    let sources = match earlier {
        Some(s) => s,
        None => search(shared, &spec.vault, &spec.query, spec.k as usize).await?,
    };
    let event = EventBody::Retrieval {
        vault: spec.vault.clone(),
        query: spec.query.clone(),
        mode: spec.mode,
        sources: sources.clone(),
        reused,
    };
    writer.append(event).map_err(|e| ProviderError::transient(e.to_string()))?;
    Ok(sources)
}

async fn search(
    shared: &Shared,
    vault: &str,
    query: &str,
    k: usize,
) -> Result<Vec<RetrievedSource>, ProviderError> {
    let config = &shared.local.config;
    let opts = QueryOptions { k, mode: Mode::Hybrid, budget_tokens: config.rag.context_tokens };
    let found = rag::search(config, shared.local.home.root(), Some(vault), query, opts).await.map_err(
        |e| match e {
            RagError::Query(p) => ProviderError {
                kind: p.kind,
                message: format!("retrieval: cannot embed the query: {}", p.message),
            },
            RagError::Embed { .. } => ProviderError::transient(format!("retrieval: {e}")),
            other => ProviderError::permanent(format!("retrieval: {other}")),
        },
    )?;
    for w in &found.warnings {
        tracing::warn!(job.vault = vault, "retrieval: {w}");
    }
    Ok(found.sources.into_iter().enumerate().map(|(i, s)| s.into_wire(i as u32 + 1)).collect())
}

/// The system message that hands the model its numbered sources.
pub(super) fn sources_prompt(mode: RagMode, sources: &[RetrievedSource]) -> String {
    let mut text = String::from(
        "The numbered sources below come from the user's notes. Use them to answer, and cite each \
         source you use by its number in brackets, like [1] or [2].\n",
    );
    if mode == RagMode::ContextOnly {
        text.push_str(
            "Answer only from these sources. If they do not hold the answer, say that the notes do not \
             answer it, and do not answer from anything else.\n",
        );
    }
    if sources.is_empty() {
        text.push_str("\n(The search of the notes found nothing.)\n");
    }
    for s in sources {
        let _ =
            write!(text, "\n<source n=\"{}\" cite=\"{}\">\n{}\n</source>\n", s.n, s.cite(), s.text.trim());
    }
    text
}
