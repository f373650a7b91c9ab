//! Wire types: the job file, the event log lines and the views of a job.
//!
//! Everything that speaks about jobs (queue, worker, CLI, and later the HTTP
//! API and MCP) imports these types, so the formats are defined once.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The schema version written into every job file.
pub const JOB_SCHEMA_VERSION: u32 = 1;

/// Who said a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// The tools an assistant message asked to call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
    }
}

/// A model's request to call a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolCall {
    /// The id the model gave the call (or one ctl made up when it gave none).
    pub id: String,
    /// The tool's name as ctl knows it (`fetch`, `server.tool`).
    pub name: String,
    /// The arguments object.
    #[schema(value_type = Object)]
    pub arguments: serde_json::Value,
}

/// Generation parameters, passed to the backend by name.
pub type Params = BTreeMap<String, serde_json::Value>;

/// What a client asks for when it submits a job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// A single user prompt; `messages` is used instead for a chat. Exactly
    /// one of the two is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "\\S")]
    pub prompt: Option<String>,
    /// A whole conversation, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1)]
    pub messages: Option<Vec<Message>>,
    /// `provider:model`; the configured default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1)]
    pub model: Option<String>,
    /// A system prompt put before the messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub params: Params,
    /// Higher runs first; FIFO within one priority.
    #[serde(default)]
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Skills to run the job with, by name (`ctl skills list`). Their
    /// `metadata` defaults (model, temperature, ...) apply unless set here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// Tools the model may call, by name (`ctl tools list`), or `["all"]`
    /// for every enabled tool the job's skills allow. Without it the job
    /// gets its skills' `allowed-tools`, else the config's default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// How the first model call picks tools: `auto` (default), `none`,
    /// `required`, or a tool's name to force that call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1)]
    pub tool_choice: Option<String>,
    /// Lets calls that send data out (fetch, web search) run after the job
    /// has read private data (vault, retrieval). Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_egress_after_private: bool,
    /// Answer from a markdown vault: the worker retrieves sources before
    /// the model call and numbers them in the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rag: Option<RagRequest>,
}

/// How a job uses retrieval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RagMode {
    /// Numbered sources in the prompt; the model cites them as `[1]`, `[2]`.
    #[default]
    Augment,
    /// Answer only from the sources, and say when they do not hold it.
    ContextOnly,
}

/// A job's request for retrieval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RagRequest {
    /// The vault (default: the only or the default one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    #[serde(default)]
    pub mode: RagMode,
    /// What to search for (default: the last user message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// How many sources at most (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u32>,
}

/// Retrieval as a job file records it: what was asked and, for a replay,
/// the sources of the original (reused instead of searching again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRag {
    pub vault: String,
    pub mode: RagMode,
    pub query: String,
    pub k: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<RetrievedSource>>,
}

/// One retrieved chunk, as the prompt numbered it and the job cites it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetrievedSource {
    /// The number the prompt gave it: cited as `[n]`.
    pub n: u32,
    /// The note's path from the vault root.
    pub path: String,
    /// Headings from the top, joined by ` > `.
    pub heading: String,
    pub line_start: u32,
    pub line_end: u32,
    /// The chunk's content hash.
    pub hash: String,
    /// The fused score.
    pub score: f64,
    /// Each index's score, where the chunk was in its list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lexical: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<f64>,
    /// The reranker's score, when one is configured (`[rag.rerank]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerank: Option<f64>,
    /// The chunk's text, as the model saw it.
    pub text: String,
}

impl RetrievedSource {
    /// `path#heading:start-end`.
    pub fn cite(&self) -> String {
        let last = self.heading.rsplit(" > ").next().unwrap_or_default();
        if last.is_empty() {
            format!("{}:{}-{}", self.path, self.line_start, self.line_end)
        } else {
            format!("{}#{}:{}-{}", self.path, last, self.line_start, self.line_end)
        }
    }
}

/// A skill exactly as a job used it: the SKILL.md text and its SHA-256, so
/// the job (and any replay of it) runs that text even if the file changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkillSnapshot {
    pub name: String,
    /// Lowercase hex SHA-256 of the SKILL.md bytes.
    pub sha256: String,
    /// Where it was read from: a path, or `builtin:NAME`.
    pub source: String,
    /// The whole SKILL.md.
    pub text: String,
}

impl SkillSnapshot {
    /// The instructions: the text after the YAML front matter.
    pub fn instructions(&self) -> &str {
        let text = self.text.trim_start_matches('\u{feff}');
        let mut lines = text.split_inclusive('\n');
        if lines.next().map(str::trim_end) != Some("---") {
            return text.trim();
        }
        let mut pos = text.find('\n').map_or(text.len(), |i| i + 1);
        for line in lines {
            pos += line.len();
            if line.trim_end() == "---" {
                return text[pos..].trim();
            }
        }
        text.trim()
    }

    /// Name, hash and source, without the text.
    pub fn reference(&self) -> SkillRef {
        SkillRef { name: self.name.clone(), sha256: self.sha256.clone(), source: self.source.clone() }
    }
}

/// Which skill a job used: enough to tell versions apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkillRef {
    pub name: String,
    pub sha256: String,
    pub source: String,
}

/// A job as stored in the queue (`queue/_queue/<id>.json` and onwards).
///
/// The file is written once when the job is published and never rewritten:
/// its state is the directory it lies in, its progress is its event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Schema version, [`JOB_SCHEMA_VERSION`].
    pub v: u32,
    pub id: String,
    pub created_at: Timestamp,
    /// Fully qualified `provider:model`.
    pub model: String,
    /// The conversation sent to the model, system prompt included.
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: Params,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub max_attempts: u32,
    /// W3C trace context of the request that created the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The job this one replays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Snapshots of the skills the job runs with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillSnapshot>,
    /// The tools the model may call, resolved at submit (names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// `auto`, `none`, `required` or a tool name, for the first model call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
    /// The job opted out of the egress guard.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_egress_after_private: bool,
    /// A replay that reuses the read-only tool results of this job's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_results_from: Option<String>,
    /// Functions the client runs itself (OpenAI-compatible `tools`): when
    /// the model calls one, the job ends with the calls for the client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_tools: Vec<FunctionSpec>,
    /// Who sent the job through the OpenAI- or Ollama-compatible API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientInfo>,
    /// Retrieval from a vault before the model call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rag: Option<JobRag>,
}

/// A function a client offers the model, which the client itself runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FunctionSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the arguments object.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
}

/// The client that sent a job through a compatible API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientInfo {
    /// `openai` or `ollama`: which API the request came through.
    pub api: String,
    /// The client's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The name of the API token it used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The request's `user` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Job {
    /// The last user message, for previews.
    pub fn prompt_preview(&self) -> &str {
        self.messages.iter().rev().find(|m| m.role == Role::User).map_or("", |m| m.content.as_str())
    }
}

/// A short line naming what a tool call is about (its URL, path, query or
/// first line of code), for one-line displays of tool activity.
pub fn call_target(arguments: &serde_json::Value) -> String {
    const MAX: usize = 60;
    let obj = arguments.as_object();
    let pick = ["url", "path", "query", "q", "code", "name"]
        .iter()
        .find_map(|k| obj.and_then(|o| o.get(*k)).and_then(serde_json::Value::as_str))
        .or_else(|| obj.and_then(|o| o.values().find_map(serde_json::Value::as_str)))
        .unwrap_or_default();
    let line = pick.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    if line.chars().count() <= MAX {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(MAX - 1).collect();
    short.push('…');
    short
}

/// Where a job is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Active,
    Completed,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "active" => Self::Active,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token counts and timings of one job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Time from the request to the first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Completion tokens per second after the first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// Time from the request to the end of the stream.
    #[serde(default)]
    pub duration_ms: f64,
    /// True when the server sent no counts and ctl counted them itself.
    #[serde(default)]
    pub estimated: bool,
}

/// One line of a job's event log (`events/<id>.ndjson`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// 0, 1, 2, ... within one job; the SSE `id`.
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub ts: Timestamp,
    #[serde(flatten)]
    pub body: EventBody,
}

/// The typed part of an event: `{"type": ..., "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventBody {
    /// The job is (again) waiting for a worker. `attempts` is how many
    /// attempts it has used so far; 0 after a submit or a retry.
    Queued {
        attempts: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A worker began an attempt. Output of earlier attempts is void.
    Started { attempt: u32, worker: String, model: String },
    /// What retrieval returned, before the first token: the sources the
    /// prompt numbers.
    Retrieval {
        vault: String,
        query: String,
        mode: RagMode,
        sources: Vec<RetrievedSource>,
        /// Taken from an earlier attempt or the replayed job, not searched again.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reused: bool,
    },
    /// A piece of output text.
    Token { text: String },
    /// The model asked to call a tool; written before the call runs.
    ToolCall {
        /// The call's id, shared with its `tool_result`.
        id: String,
        tool: String,
        #[schema(value_type = Object)]
        arguments: serde_json::Value,
        /// Which model round asked for it, from 1.
        round: u32,
    },
    /// A tool call ended (with a result or an error).
    ToolResult {
        id: String,
        tool: String,
        duration_ms: f64,
        /// Size of the whole result, before any cap.
        bytes: u64,
        /// The result as the model saw it (capped).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<String>,
        /// Why the call failed or was refused; the model saw this instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The result was cut to the size cap.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        truncated: bool,
        /// Taken from an earlier attempt's log instead of calling the tool again.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reused: bool,
    },
    /// Counts and timings of the attempt that finished.
    Usage(Usage),
    /// The job completed.
    Done {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<String>,
        /// Calls of functions the client runs itself, which end the job.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// The job failed for good.
    Failed { error: String },
    /// The job was cancelled.
    Cancelled {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl EventBody {
    /// The SSE event name: the `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Queued { .. } => "queued",
            Self::Started { .. } => "started",
            Self::Retrieval { .. } => "retrieval",
            Self::Token { .. } => "token",
            Self::ToolCall { .. } => "tool_call",
            Self::ToolResult { .. } => "tool_result",
            Self::Usage(_) => "usage",
            Self::Done { .. } => "done",
            Self::Failed { .. } => "failed",
            Self::Cancelled { .. } => "cancelled",
        }
    }

    /// The state a terminal event leaves the job in.
    pub fn terminal_state(&self) -> Option<JobState> {
        match self {
            Self::Done { .. } => Some(JobState::Completed),
            Self::Failed { .. } => Some(JobState::Failed),
            Self::Cancelled { .. } => Some(JobState::Cancelled),
            _ => None,
        }
    }
}

/// Everything known about one job: what `ctl show --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    pub state: JobState,
    pub model: String,
    pub priority: i32,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub worker: Option<String>,
    pub prompt: String,
    pub output: String,
    pub error: Option<String>,
    pub usage: Option<Usage>,
    #[schema(value_type = Object)]
    pub params: Params,
    pub session_id: Option<String>,
    pub parent_id: Option<String>,
    /// The skills the job ran with (name, hash, where from).
    #[serde(default)]
    pub skills: Vec<SkillRef>,
    /// The tools the model could call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Tool calls of the latest attempt, and the time they took.
    #[serde(default, skip_serializing_if = "ToolStats::is_empty")]
    pub tool_stats: ToolStats,
    /// Who sent it through the OpenAI- or Ollama-compatible API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientInfo>,
    /// The sources retrieval gave the latest attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<RetrievedSource>,
    /// The vault those sources come from (a job with retrieval only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
}

/// How a job used tools in its latest attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolStats {
    /// Tool calls made.
    pub calls: u32,
    /// Calls that failed or were refused.
    pub errors: u32,
    /// Wall time spent in tools (calls of one round overlap).
    pub duration_ms: f64,
}

impl ToolStats {
    pub fn is_empty(&self) -> bool {
        self.calls == 0
    }
}

/// What to change in a replay; everything else is the original's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaySpec {
    /// `provider:model` (default: the original's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1)]
    pub model: Option<String>,
    /// Parameters that override the original's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub params: Params,
    /// Give the model the results the original's read-only tool calls got,
    /// instead of calling the tools again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reuse_tool_results: bool,
    /// Search the vault again instead of reusing the original's sources.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh_retrieval: bool,
}

/// The reply to a submit: `{"id": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Created {
    pub id: String,
}

/// One page of `GET /api/v1/jobs`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobView>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The reply to cancel and retry: the job and the state it is now in
/// (`cancelled`, `cancelling` while a worker stops it, or `queued`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateReply {
    pub id: String,
    pub state: String,
}

/// The `data` of an SSE event: the log line minus its type (which is the
/// SSE `event` name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SseData {
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub ts: Timestamp,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl SseData {
    /// Rebuilds the log line from an SSE event's name and data.
    pub fn into_event(self, kind: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_value(serde_json::json!({
            "seq": self.seq, "ts": self.ts, "type": kind, "data": self.data
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_targets_name_the_url_path_or_first_line() {
        use serde_json::json;
        assert_eq!(call_target(&json!({"url": "https://a.b/c", "path": "x"})), "https://a.b/c");
        assert_eq!(call_target(&json!({"language": "python", "code": "\nimport os\nprint(1)"})), "import os");
        assert_eq!(call_target(&json!({"n": 3, "zz": "only string"})), "only string");
        assert_eq!(call_target(&json!("not an object")), "");
        let long = call_target(&json!({"query": "é".repeat(100)}));
        assert_eq!(long.chars().count(), 60);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn skill_instructions_skip_the_front_matter() {
        let snap = |text: &str| SkillSnapshot {
            name: "x".into(),
            sha256: String::new(),
            source: String::new(),
            text: text.into(),
        };
        assert_eq!(
            snap("---\nname: x\ndescription: y\n---\n\n# Do\nthings\n").instructions(),
            "# Do\nthings"
        );
        assert_eq!(snap("\u{feff}---\r\nname: x\r\n---\r\nbody").instructions(), "body");
        assert_eq!(snap("no front matter").instructions(), "no front matter");
        assert_eq!(snap("---\nunterminated").instructions(), "---\nunterminated");
    }
}
