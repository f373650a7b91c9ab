//! Comparing two jobs: a unified diff of their outputs and the inputs and
//! usage that differ. What `ctl diff` prints and `/api/v1/diff` returns.

use serde::{Deserialize, Serialize};

use crate::api::JobView;

/// Two jobs compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobDiff {
    pub a: String,
    pub b: String,
    /// The outputs as a unified diff (`---`/`+++` headers name the jobs).
    pub unified: String,
    /// True when the outputs are the same text.
    pub same_output: bool,
    /// Inputs and usage that differ, field by field.
    pub fields: Vec<FieldDiff>,
}

/// One field that differs; `None` where a job has no value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldDiff {
    pub field: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// Compares `a` and `b`.
pub fn diff(a: &JobView, b: &JobView) -> JobDiff {
    let text = similar::TextDiff::from_lines(&a.output, &b.output);
    let unified = text.unified_diff().context_radius(3).header(&a.id, &b.id).to_string();
    let mut fields = Vec::new();
    let mut field = |name: &str, x: Option<String>, y: Option<String>| {
        if x != y {
            fields.push(FieldDiff { field: name.to_owned(), a: x, b: y });
        }
    };
    field("model", Some(a.model.clone()), Some(b.model.clone()));
    let keys: std::collections::BTreeSet<&String> = a.params.keys().chain(b.params.keys()).collect();
    for key in keys {
        let show = |v: &JobView| v.params.get(key).map(ToString::to_string);
        field(&format!("params.{key}"), show(a), show(b));
    }
    let skills = |v: &JobView| {
        let list: Vec<String> =
            v.skills.iter().map(|s| format!("{}@{}", s.name, &s.sha256[..s.sha256.len().min(12)])).collect();
        (!list.is_empty()).then(|| list.join(" "))
    };
    field("skills", skills(a), skills(b));
    field("state", Some(a.state.to_string()), Some(b.state.to_string()));
    field("attempts", Some(a.attempts.to_string()), Some(b.attempts.to_string()));
    let usage = |v: &JobView, f: &dyn Fn(&crate::api::Usage) -> Option<String>| v.usage.as_ref().and_then(f);
    field(
        "prompt_tokens",
        usage(a, &|u| Some(u.prompt_tokens.to_string())),
        usage(b, &|u| Some(u.prompt_tokens.to_string())),
    );
    field(
        "completion_tokens",
        usage(a, &|u| Some(u.completion_tokens.to_string())),
        usage(b, &|u| Some(u.completion_tokens.to_string())),
    );
    field(
        "ttft_ms",
        usage(a, &|u| u.ttft_ms.map(|t| format!("{t:.0}"))),
        usage(b, &|u| u.ttft_ms.map(|t| format!("{t:.0}"))),
    );
    field(
        "tokens_per_s",
        usage(a, &|u| u.tokens_per_s.map(|t| format!("{t:.1}"))),
        usage(b, &|u| u.tokens_per_s.map(|t| format!("{t:.1}"))),
    );
    JobDiff { a: a.id.clone(), b: b.id.clone(), same_output: a.output == b.output, unified, fields }
}
