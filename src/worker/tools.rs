//! The worker's side of the tool loop: the tools a job may call, and one
//! round of calls at a time, bounded and visible. Each call is written to
//! the event log as a `tool_call` before it runs and a `tool_result` after
//! it ends; calls of one round run at once (up to a limit); a call is cut
//! at its timeout, the job's tool time is budgeted, results are capped (and
//! say so), and a cancel or shutdown stops the tools that are running.
//!
//! Two guards sit here. The egress guard: once a job has read private data
//! (vault, retrieval, skill files), calls that can send data out (fetch,
//! web search, external servers) are refused unless the job opted out.
//! And reuse: a job rerun after a crash takes the results of read-only
//! calls it already made from its earlier attempts' log instead of calling
//! again (and a replay may take them from the original's log).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use serde_json::Value;
use tokio::sync::watch;

use crate::api::{Event, EventBody, Job, Message, Role, ToolCall};
use crate::backend::EventSink;
use crate::provider::{ProviderError, ToolChoice, ToolSpec};
use crate::tools::{ToolError, ToolInfo, ToolOutput};

/// Where a job's tools come from: the built-in toolbox, and the external
/// MCP servers the config names.
pub trait ToolHost: Send + Sync {
    /// The tool called `name`, if it is enabled.
    fn info(&self, name: &str) -> Option<ToolInfo>;
    /// Starts what `names` need (external MCP servers) and expands
    /// `server.*` into the server's tools.
    fn prepare<'a>(&'a self, names: &'a [String]) -> BoxFuture<'a, Result<Vec<String>, ToolError>>;
    /// Runs a call for job `job_id`; dropping the future stops it.
    fn call<'a>(
        &'a self,
        job_id: &'a str,
        name: &'a str,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// The built-in tools, each call recorded in the store as the job's.
pub struct Builtin {
    pub toolbox: crate::tools::Toolbox,
    pub store: std::sync::Arc<dyn crate::backend::Records>,
}

impl ToolHost for Builtin {
    fn info(&self, name: &str) -> Option<ToolInfo> {
        self.toolbox.info(name)
    }

    fn prepare<'a>(&'a self, names: &'a [String]) -> BoxFuture<'a, Result<Vec<String>, ToolError>> {
        Box::pin(self.toolbox.prepare(names))
    }

    fn call<'a>(
        &'a self,
        job_id: &'a str,
        name: &'a str,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        let recorder = crate::tools::StoreRecorder {
            store: self.store.clone(),
            source: "job",
            job_id: Some(job_id.to_owned()),
        };
        let toolbox = self.toolbox.with_recorder(Arc::new(recorder));
        Box::pin(async move { toolbox.call(name, args).await })
    }
}

/// The bounds of a job's tool use, from `[worker]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rounds of tool calls before the job fails.
    pub max_rounds: u32,
    /// Longest one call may run.
    pub call_timeout: Duration,
    /// Wall time all of a job's tool rounds may take together.
    pub budget: Duration,
    /// Longest result the model sees, in bytes.
    pub result_cap: usize,
    /// Calls of one round that run at once.
    pub parallel: usize,
}

impl Limits {
    pub fn from_config(cfg: &crate::config::WorkerConfig) -> Self {
        Self {
            max_rounds: cfg.max_tool_rounds,
            call_timeout: Duration::from_secs_f64(cfg.tool_timeout_secs.max(0.001)),
            budget: Duration::from_secs_f64(cfg.tool_budget_secs.max(0.001)),
            result_cap: cfg.tool_result_max_bytes.max(64),
            parallel: cfg.max_parallel_tools.max(1),
        }
    }
}

/// Why a round did not give the model its results.
pub(super) enum RoundEnd {
    Cancelled,
    /// The worker is shutting down.
    Interrupted,
    /// The job must fail: a budget ran out, or the log refused a write.
    Failed(ProviderError),
}

/// A result recorded in a log, reusable for the same call.
#[derive(Debug, Clone)]
struct Recorded {
    result: String,
    bytes: u64,
    truncated: bool,
}

/// One job's tools for one attempt.
pub(super) struct JobTools {
    job_id: String,
    host: Option<Arc<dyn ToolHost>>,
    /// The job's tools, with the names the model sees.
    tools: Vec<(ToolInfo, String)>,
    /// Functions the client runs itself.
    client: Vec<crate::api::FunctionSpec>,
    /// Per-round `tool_choice`; rounds past the list use `auto`.
    choices: Vec<String>,
    limits: Limits,
    reuse: HashMap<String, Recorded>,
    read_private: bool,
    allow_egress: bool,
    used: Duration,
    ids: HashSet<String>,
}

impl JobTools {
    /// The tools of `job` as `host` offers them. `earlier` are the events
    /// of logs whose read-only results may be reused (this job's earlier
    /// attempts, and for a replay asked to, the original's).
    /// `names` are the job's tools with `server.*` expanded
    /// ([`ToolHost::prepare`]).
    pub fn new(
        host: Option<Arc<dyn ToolHost>>,
        job: &Job,
        names: &[String],
        limits: Limits,
        earlier: &[Event],
    ) -> Result<Self, ProviderError> {
        let mut tools = Vec::new();
        let mut wire_names: HashSet<String> = job.client_tools.iter().map(|f| f.name.clone()).collect();
        if !names.is_empty() {
            let Some(host) = &host else {
                return Err(ProviderError::permanent(
                    "the job asks for tools, but this worker could not load its tools (see its log)",
                ));
            };
            for name in names {
                let info = host.info(name).ok_or_else(|| {
                    ProviderError::permanent(format!(
                        "the job asks for tool {name}, which this worker does not have (turned off in its config?)"
                    ))
                })?;
                let wire = unique_wire_name(name, &mut wire_names);
                tools.push((info, wire));
            }
        }
        let reuse = recorded_results(earlier, |name| {
            tools.iter().any(|(info, _)| info.name == name && info.traits.read_only)
        });
        Ok(Self {
            job_id: job.id.clone(),
            host,
            tools,
            client: job.client_tools.clone(),
            choices: job.tool_choice.iter().flat_map(|c| c.split(',')).map(|c| c.trim().to_owned()).collect(),
            limits,
            reuse,
            read_private: false,
            allow_egress: job.allow_egress_after_private,
            used: Duration::ZERO,
            ids: HashSet::new(),
        })
    }

    /// Marks that the job's prompt already holds private data (retrieved sources).
    pub fn saw_private_data(&mut self) {
        self.read_private = true;
    }

    /// Whether ctl runs any of the job's tools (not only the client).
    pub fn has_own_tools(&self) -> bool {
        !self.tools.is_empty()
    }

    /// The calls of `calls` that name the client's own functions.
    pub fn client_calls(&self, calls: &[ToolCall]) -> Vec<ToolCall> {
        calls.iter().filter(|c| self.client.iter().any(|f| f.name == c.name)).cloned().collect()
    }

    pub fn max_rounds(&self) -> u32 {
        self.limits.max_rounds
    }

    /// The tools as the model sees them, the client's functions last.
    pub fn specs(&self) -> Vec<ToolSpec> {
        let pinned = test_schemas();
        let own = self.tools.iter().map(|(info, wire)| ToolSpec {
            name: wire.clone(),
            description: info.description.clone(),
            parameters: pinned.get(&info.name).cloned().unwrap_or_else(|| info.input_schema.clone()),
        });
        let client = self.client.iter().map(|f| ToolSpec {
            name: f.name.clone(),
            description: f.description.clone(),
            parameters: f.parameters.clone(),
        });
        own.chain(client).collect()
    }

    /// How round `round` (from 1) may use tools.
    pub fn choice(&self, round: u32) -> ToolChoice {
        let Some(choice) = self.choices.get(round as usize - 1) else { return ToolChoice::Auto };
        match choice.as_str() {
            "" | "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            name => match self.tools.iter().find(|(info, _)| info.name == name) {
                Some((_, wire)) => ToolChoice::Tool(wire.clone()),
                None if self.client.iter().any(|f| f.name == name) => ToolChoice::Tool(name.to_owned()),
                None => ToolChoice::Auto,
            },
        }
    }

    /// Runs the calls of round `round`, writing their events, and returns
    /// the `tool` messages that answer them, in the calls' order.
    /// `announced` is awaited once the `tool_call` events are written
    /// (a test hook pauses there).
    pub async fn run_round(
        &mut self,
        round: u32,
        calls: &[ToolCall],
        writer: &mut dyn EventSink,
        cancel: &(dyn Fn() -> bool + Sync),
        stop: &mut watch::Receiver<bool>,
        announced: BoxFuture<'_, ()>,
    ) -> Result<Vec<Message>, RoundEnd> {
        let left = self.limits.budget.saturating_sub(self.used);
        if left.is_zero() {
            return Err(RoundEnd::Failed(self.budget_error()));
        }
        let started = Instant::now();
        let mut planned = Vec::with_capacity(calls.len());
        for call in calls {
            let id = self.event_id(&call.id, round);
            let (name, plan) = self.plan(call);
            let body = EventBody::ToolCall {
                id: id.clone(),
                tool: name.clone(),
                arguments: call.arguments.clone(),
                round,
            };
            writer.append(body).map_err(|e| RoundEnd::Failed(ProviderError::transient(e.to_string())))?;
            planned.push((id, name, plan));
        }
        announced.await;
        let mut answers: Vec<Option<Message>> = vec![None; calls.len()];
        let mut read_private = false;
        let timeout = self.limits.call_timeout.min(left);
        let host = self.host.clone();
        let job_id = self.job_id.clone();
        let runs: Vec<_> = planned
            .iter()
            .enumerate()
            .map(|(i, (_, name, plan))| {
                let host = host.clone();
                let plan = plan.clone();
                let name = name.clone();
                let job_id = job_id.clone();
                // One span per call, under the attempt's, in the job's trace.
                let span = tracing::info_span!("tool", otel.name = %format!("tool {name}"), ctl.tool = %name);
                tracing::Instrument::instrument(
                    async move {
                        let t0 = Instant::now();
                        let outcome = match plan {
                            Plan::Refuse(why) => Err(why),
                            Plan::Reuse(rec) => Ok(Ran::Reused(rec)),
                            Plan::Call(args) => match host {
                                None => Err("no tools are available in this worker".to_owned()),
                                Some(host) => {
                                    match tokio::time::timeout(timeout, host.call(&job_id, &name, args)).await
                                    {
                                        Ok(Ok(out)) => Ok(Ran::Fresh(out)),
                                        Ok(Err(e)) => Err(e.to_string()),
                                        Err(_) => {
                                            Err(ToolError::Timeout(timeout.as_millis() as u64).to_string())
                                        }
                                    }
                                }
                            },
                        };
                        (i, outcome, t0.elapsed())
                    },
                    span,
                )
            })
            .collect();
        let mut running = stream::iter(runs).buffer_unordered(self.limits.parallel);
        let mut tick = super::run::cancel_ticks();
        let mut done = 0;
        while done < calls.len() {
            let (i, outcome, took) = tokio::select! {
                next = running.next() => match next {
                    Some(r) => r,
                    None => break,
                },
                _ = tick.tick() => {
                    if cancel() {
                        return Err(RoundEnd::Cancelled);
                    }
                    continue;
                }
                () = super::run::stopped(stop) => return Err(RoundEnd::Interrupted),
            };
            done += 1;
            let (id, name, _) = &planned[i];
            let info = self.tools.iter().find(|(info, _)| &info.name == name).map(|(info, _)| info);
            let (body, text) = self.result_event(id, name, outcome, took);
            if let (Some(info), EventBody::ToolResult { error: None, .. }) = (info, &body) {
                read_private |= info.traits.private;
            }
            writer.append(body).map_err(|e| RoundEnd::Failed(ProviderError::transient(e.to_string())))?;
            answers[i] = Some(Message {
                role: Role::Tool,
                content: text,
                tool_calls: Vec::new(),
                tool_call_id: Some(calls[i].id.clone()),
            });
        }
        drop(running);
        self.used += started.elapsed();
        // Calls of this round were decided before their results existed, so
        // only later rounds count as having seen what this one read.
        self.read_private |= read_private;
        if self.used >= self.limits.budget {
            return Err(RoundEnd::Failed(self.budget_error()));
        }
        Ok(answers.into_iter().flatten().collect())
    }

    fn budget_error(&self) -> ProviderError {
        ProviderError::permanent(format!(
            "the job used up its tool time ({:.0} s, worker.tool_budget_secs)",
            self.limits.budget.as_secs_f64()
        ))
    }

    /// An id for the call's events, unique within the attempt even when a
    /// server numbers every round's calls from 0.
    fn event_id(&mut self, id: &str, round: u32) -> String {
        let mut candidate = id.to_owned();
        let mut n = 1;
        while !self.ids.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{id}~r{round}.{n}");
        }
        candidate
    }

    /// What to do with a call: which tool it names (ctl's name), and
    /// whether to run it, reuse a recorded result, or refuse it.
    fn plan(&self, call: &ToolCall) -> (String, Plan) {
        let Some((info, _)) = self.tools.iter().find(|(_, wire)| *wire == call.name) else {
            let known: Vec<&str> = self.tools.iter().map(|(_, w)| w.as_str()).collect();
            let why = format!("no tool named {:?} here; the tools are: {}", call.name, known.join(", "));
            return (call.name.clone(), Plan::Refuse(why));
        };
        let name = info.name.clone();
        if !call.arguments.is_object() {
            let got = match &call.arguments {
                Value::String(raw) => raw.chars().take(80).collect(),
                v => v.to_string().chars().take(80).collect::<String>(),
            };
            let why = format!(
                "the arguments are not a JSON object (got {got:?}); call again with an object matching the tool's schema"
            );
            return (name, Plan::Refuse(why));
        }
        if info.traits.egress && self.read_private && !self.allow_egress {
            let why = format!(
                "refused by the egress guard: this job has read private data, and {name} could send \
                 it out; a job or skill must allow it explicitly (--allow-egress-after-private)"
            );
            return (name, Plan::Refuse(why));
        }
        if info.traits.read_only
            && let Some(rec) = self.reuse.get(&call_key(&name, &call.arguments))
        {
            return (name, Plan::Reuse(rec.clone()));
        }
        (name, Plan::Call(call.arguments.clone()))
    }

    /// The `tool_result` event of a call, and the text the model gets.
    fn result_event(
        &self,
        id: &str,
        tool: &str,
        outcome: Result<Ran, String>,
        took: Duration,
    ) -> (EventBody, String) {
        let duration_ms = took.as_secs_f64() * 1000.0;
        let (id, tool) = (id.to_owned(), tool.to_owned());
        match outcome {
            Ok(ran) => {
                let (text, bytes, truncated, reused) = match ran {
                    Ran::Reused(rec) => (rec.result, rec.bytes, rec.truncated, true),
                    Ran::Fresh(out) => {
                        let bytes = out.text.len() as u64;
                        let (text, cut) = cap(out.text, self.limits.result_cap);
                        (text, bytes, cut || out.truncated, false)
                    }
                };
                let body = EventBody::ToolResult {
                    id,
                    tool,
                    duration_ms,
                    bytes,
                    result: Some(text.clone()),
                    error: None,
                    truncated,
                    reused,
                };
                (body, text)
            }
            Err(error) => {
                let text = format!("error: {error}");
                let body = EventBody::ToolResult {
                    id,
                    tool,
                    duration_ms,
                    bytes: 0,
                    result: None,
                    error: Some(error),
                    truncated: false,
                    reused: false,
                };
                (body, text)
            }
        }
    }
}

#[derive(Clone)]
enum Plan {
    Call(Value),
    Reuse(Recorded),
    Refuse(String),
}

enum Ran {
    Fresh(ToolOutput),
    Reused(Recorded),
}

/// Test hook (debug builds only): `CTL_TEST_TOOL_SCHEMAS` maps tool names
/// to the schemas the model is shown instead of theirs. A grammar-bound
/// test model (llama-cpp-python's function calling) then makes exactly the
/// call a schema with one valid instance allows.
fn test_schemas() -> serde_json::Map<String, Value> {
    if !cfg!(debug_assertions) {
        return serde_json::Map::new();
    }
    std::env::var("CTL_TEST_TOOL_SCHEMAS")
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Cuts `text` to at most `max` bytes (at a character boundary) and says
/// so at its end.
fn cap(text: String, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let total = text.len();
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text;
    out.truncate(end);
    let _ = write!(out, "\n[truncated: the result was {total} bytes; this is the first {end}]");
    (out, true)
}

/// A name every provider accepts (`^[a-zA-Z0-9_-]{1,64}$`), unique in the job.
fn unique_wire_name(name: &str, taken: &mut HashSet<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(60)
        .collect();
    let clean = if clean.is_empty() { "tool".to_owned() } else { clean };
    let mut candidate = clean.clone();
    let mut n = 1;
    while !taken.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{clean}_{n}");
    }
    candidate
}

/// The same call, whatever order its argument keys came in.
fn call_key(tool: &str, args: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let sorted: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            v => v.clone(),
        }
    }
    format!("{tool}\n{}", canonical(args))
}

/// Successful results of read-only tools in `events`, by call.
fn recorded_results(events: &[Event], read_only: impl Fn(&str) -> bool) -> HashMap<String, Recorded> {
    let mut calls: HashMap<&str, String> = HashMap::new();
    let mut out = HashMap::new();
    for ev in events {
        match &ev.body {
            EventBody::ToolCall { id, tool, arguments, .. } if read_only(tool) => {
                calls.insert(id, call_key(tool, arguments));
            }
            EventBody::ToolResult { id, result: Some(result), error: None, bytes, truncated, .. } => {
                if let Some(key) = calls.remove(id.as_str()) {
                    out.insert(
                        key,
                        Recorded { result: result.clone(), bytes: *bytes, truncated: *truncated },
                    );
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_safe_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(unique_wire_name("fetch", &mut taken), "fetch");
        assert_eq!(unique_wire_name("docs.search", &mut taken), "docs_search");
        assert_eq!(unique_wire_name("docs_search", &mut taken), "docs_search_2");
        assert_eq!(unique_wire_name("ünï", &mut taken), "_n_");
    }

    #[test]
    fn a_capped_result_says_so_and_keeps_whole_characters() {
        let (text, cut) = cap("é".repeat(100), 101);
        assert!(cut);
        assert!(text.starts_with(&"é".repeat(50)), "{text}");
        assert!(text.ends_with("[truncated: the result was 200 bytes; this is the first 100]"), "{text}");
        assert_eq!(cap("short".into(), 10), ("short".into(), false));
    }

    #[test]
    fn call_keys_ignore_key_order() {
        let a = serde_json::json!({"b": 1, "a": {"y": 2, "x": [3, {"q": 1, "p": 2}]}});
        let b = serde_json::json!({"a": {"x": [3, {"p": 2, "q": 1}], "y": 2}, "b": 1});
        assert_eq!(call_key("t", &a), call_key("t", &b));
        assert_ne!(call_key("t", &a), call_key("u", &a));
    }

    fn ev(seq: u64, body: EventBody) -> Event {
        Event { seq, ts: jiff::Timestamp::now(), body }
    }

    fn result(id: &str, text: Option<&str>, error: Option<&str>) -> EventBody {
        EventBody::ToolResult {
            id: id.into(),
            tool: String::new(),
            duration_ms: 1.0,
            bytes: 3,
            result: text.map(Into::into),
            error: error.map(Into::into),
            truncated: false,
            reused: false,
        }
    }

    #[test]
    fn only_successful_read_only_results_are_reusable() {
        let call = |id: &str, tool: &str| EventBody::ToolCall {
            id: id.into(),
            tool: tool.into(),
            arguments: serde_json::json!({"path": "a.md"}),
            round: 1,
        };
        let events = vec![
            ev(1, call("1", "vault_read")),
            ev(2, result("1", Some("note"), None)),
            ev(3, call("2", "run_code")),
            ev(4, result("2", Some("42"), None)),
            ev(5, call("3", "fetch")),
            ev(6, result("3", None, Some("timed out"))),
        ];
        let got = recorded_results(&events, |t| t != "run_code");
        assert_eq!(got.len(), 1);
        let rec = &got[&call_key("vault_read", &serde_json::json!({"path": "a.md"}))];
        assert_eq!(rec.result, "note");
    }
}
