//! `ctl submit`: put a job in the queue.

use std::io::Read;

use anyhow::{Context as _, bail};
use tracing::Instrument as _;

use super::Context;
use crate::api::{JobSpec, Params, RagMode, RagRequest};

/// `--rag-mode`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RagModeArg {
    /// Numbered sources in the prompt; the answer cites them.
    Augment,
    /// Answer only from the sources.
    ContextOnly,
}

/// Queue a job. Prints the new job's id.
///
/// Examples:
///   ctl submit prompt.md
///   ctl submit --skill research --skill summarize question.md
///   echo "Summarise RFC 9110 in 5 bullets" | ctl submit --model local:tiny -
///   ctl submit --param temperature=0.2 --param max_tokens=400 --follow prompt.md
///   ctl submit --tool fetch --tool web_search --follow question.md
///   ctl submit --tools all --skill research question.md
///   ctl submit --rag --follow question.md          # answer from the vault, with sources
///   ctl submit --rag work --rag-mode context-only question.md
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SubmitArgs {
    /// File holding the prompt, or - to read it from stdin.
    #[arg(value_name = "PROMPT_FILE|-")]
    pub prompt: String,
    /// Model as provider:model (e.g. ollama:qwen2.5:7b); default: `default_model` from the config.
    #[arg(short, long)]
    pub model: Option<String>,
    /// System prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Skill to run the job with, repeatable (see `ctl skills list`). Its
    /// metadata defaults (model, temperature) apply unless set here.
    #[arg(short = 'k', long = "skill", value_name = "NAME")]
    pub skills: Vec<String>,
    /// Generation parameter, repeatable: temperature=0.2, max_tokens=500, `stop=["\n\n"]`.
    /// Values are JSON when they parse as JSON, strings otherwise.
    #[arg(short, long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Tool the model may call, repeatable (see `ctl tools list`). Without
    /// it the job gets its skills' allowed-tools, else `worker.default_tools`.
    #[arg(long = "tool", value_name = "NAME")]
    pub tools: Vec<String>,
    /// Tools as one comma-separated list; `all` is every enabled tool the
    /// job's skills allow.
    #[arg(long = "tools", value_name = "LIST", value_delimiter = ',')]
    pub tool_list: Vec<String>,
    /// How the model picks tools: auto, none, required or a tool's name
    /// (that call is forced); a comma-separated list gives one per model
    /// call, then auto (e.g. vault_read,none).
    #[arg(long, value_name = "CHOICE")]
    pub tool_choice: Option<String>,
    /// Let tools that send data out (fetch, web_search) run after the job
    /// has read private data (vault, retrieval). The job records it.
    #[arg(long)]
    pub allow_egress_after_private: bool,
    /// Answer from a vault (default: the only or the default one): the
    /// worker retrieves sources before the model call and numbers them in
    /// the prompt; `ctl tail` prints them after the answer.
    #[arg(long, value_name = "VAULT", num_args = 0..=1, default_missing_value = "")]
    pub rag: Option<String>,
    /// How the sources are used: augment (cite them) or context-only
    /// (answer only from them).
    #[arg(long, value_name = "MODE", requires = "rag")]
    pub rag_mode: Option<RagModeArg>,
    /// Higher runs first (default 0); jobs of equal priority run in submit order.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Stream the output after submitting, like `ctl tail`.
    #[arg(short, long)]
    pub follow: bool,
}

impl SubmitArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let prompt = read_prompt(&self.prompt)?;
        let spec = JobSpec {
            prompt: Some(prompt),
            model: self.model,
            system: self.system,
            params: parse_params(&self.params)?,
            priority: self.priority,
            skills: self.skills,
            tools: self.tools.into_iter().chain(self.tool_list).filter(|t| !t.trim().is_empty()).collect(),
            tool_choice: self.tool_choice,
            allow_egress_after_private: self.allow_egress_after_private,
            rag: self.rag.map(|vault| RagRequest {
                vault: Some(vault).filter(|v| !v.is_empty()),
                mode: match self.rag_mode {
                    Some(RagModeArg::ContextOnly) => RagMode::ContextOnly,
                    _ => RagMode::Augment,
                },
                ..RagRequest::default()
            }),
            ..JobSpec::default()
        };
        let target = ctx.target()?;
        // The job's trace starts here; the worker (through the job file's
        // traceparent) or the server (through the request's) continues it.
        let span = tracing::info_span!("submit", otel.name = "ctl submit", otel.kind = "producer");
        let id = target.submit(spec).instrument(span).await?;
        if !self.follow {
            if ctx.json() {
                super::print_json(&serde_json::json!({ "id": id }))?;
            } else {
                println!("{id}");
            }
            return Ok(0);
        }
        eprintln!("job {id}");
        super::tail::follow_job(&target, &id, ctx.json()).await
    }
}

fn read_prompt(source: &str) -> anyhow::Result<String> {
    let text = if source == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("cannot read the prompt from stdin")?;
        s
    } else {
        std::fs::read_to_string(source).with_context(|| format!("cannot read prompt file {source}"))?
    };
    if text.trim().is_empty() {
        bail!("the prompt is empty");
    }
    Ok(text)
}

/// Parses `KEY=VALUE` pairs; values are JSON when they parse, strings otherwise.
pub fn parse_params(pairs: &[String]) -> anyhow::Result<Params> {
    let mut params = Params::new();
    for pair in pairs {
        let (key, value) =
            pair.split_once('=').with_context(|| format!("--param {pair:?} is not KEY=VALUE"))?;
        let key = key.trim();
        if key.is_empty() {
            bail!("--param {pair:?} has an empty key");
        }
        let value =
            serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        params.insert(key.to_owned(), value);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_json_or_string() {
        let p =
            parse_params(&["temperature=0.2".into(), "stop=[\"\\n\"]".into(), "name=bob".into()]).unwrap();
        assert_eq!(p["temperature"], serde_json::json!(0.2));
        assert_eq!(p["stop"], serde_json::json!(["\n"]));
        assert_eq!(p["name"], serde_json::json!("bob"));
        assert!(parse_params(&["novalue".into()]).is_err());
        assert!(parse_params(&["=1".into()]).is_err());
    }
}
