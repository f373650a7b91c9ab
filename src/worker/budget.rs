//! The context budget: before each model call, count what it will send
//! (system prompt, skills, sources, history, prompt, tool calls and
//! results, tool definitions) against the model's context window. When a
//! tool loop outgrows the window, the oldest tool results are dropped
//! first; a prompt that cannot fit fails at once, saying how large it is,
//! how large the window is and what took the room. Such a failure is
//! permanent: the same prompt never fits on a retry.
//!
//! The window comes from the config (`context_window` of the provider),
//! else from the server (llama.cpp's `/props`, Ollama's `/api/show`), else
//! from a server's own error once it gave one; unknown windows are not
//! checked. Counts come from the server's tokenizer where it has one, and
//! are estimated from the text's length otherwise.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::api::{Message, Role};
use crate::provider::{Provider, ProviderError, ToolSpec};

/// Tokens a chat template adds around each message (role markers and
/// separators), as an allowance.
const PER_MESSAGE: u64 = 8;
/// The smallest answer worth asking for.
const MIN_ANSWER: u64 = 16;
/// What a dropped tool result is replaced with.
const DROPPED: &str = "[this tool result was dropped to fit the model's context window]";

/// What a message is, for the account of what took the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Part {
    System,
    Skills,
    /// Retrieved sources.
    Sources,
    History,
    Prompt,
    ToolCalls,
    ToolResults,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Self::System => "system prompt",
            Self::Skills => "skills",
            Self::Sources => "retrieved sources",
            Self::History => "earlier messages",
            Self::Prompt => "prompt",
            Self::ToolCalls => "tool calls",
            Self::ToolResults => "tool results",
        }
    }

    /// The parts of a job's own messages: system ones, then earlier turns,
    /// then its last user message, the prompt.
    pub fn of_job_messages(messages: &[Message]) -> Vec<Self> {
        let last_user = messages.iter().rposition(|m| m.role == Role::User);
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| match m.role {
                Role::System => Self::System,
                _ if Some(i) == last_user => Self::Prompt,
                _ => Self::History,
            })
            .collect()
    }
}

/// Known windows, by `provider:model`, learnt from servers while the worker runs.
#[derive(Default)]
pub struct Windows {
    known: Mutex<HashMap<String, (u64, String)>>,
}

impl Windows {
    fn get(&self, model: &str) -> Option<(u64, String)> {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(model).cloned()
    }

    fn set(&self, model: &str, tokens: u64, source: &str) {
        let mut known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        known.insert(model.to_owned(), (tokens, source.to_owned()));
    }
}

/// One attempt's view of the budget.
pub(super) struct Budget<'a> {
    provider: &'a dyn Provider,
    /// `provider:model`, as the job names it.
    job_model: &'a str,
    /// The backend's name for the model.
    model: &'a str,
    window: Option<(u64, String)>,
    /// Token counts by text, so a loop does not recount its history.
    counts: HashMap<String, u64>,
}

impl<'a> Budget<'a> {
    /// Finds the model's window: config, then what this worker learnt,
    /// then the server (once per model).
    pub async fn new(
        provider: &'a dyn Provider,
        windows: &Windows,
        configured: Option<u64>,
        job_model: &'a str,
        model: &'a str,
        params: &crate::api::Params,
    ) -> Budget<'a> {
        // Ollama takes the window per request; a job that sets it knows best.
        let per_job = params.get("num_ctx").and_then(serde_json::Value::as_u64);
        let window = match (per_job, configured) {
            (Some(n), _) => Some((n, "the job's num_ctx".to_owned())),
            (None, Some(n)) => Some((n, "the provider's context_window in the config".to_owned())),
            (None, None) => {
                if let Some(w) = windows.get(job_model) {
                    Some(w)
                } else {
                    let found = provider.context_window(model).await;
                    if let Some(n) = found {
                        windows.set(job_model, n, "the server");
                    }
                    found.map(|n| (n, "the server".to_owned()))
                }
            }
        };
        Budget { provider, job_model, model, window, counts: HashMap::new() }
    }

    /// Makes `messages` fit the window, dropping the oldest tool results
    /// first. A permanent error when they cannot fit.
    pub async fn fit(
        &mut self,
        messages: &mut [Message],
        parts: &[Part],
        tools: &[ToolSpec],
        max_tokens: Option<u64>,
    ) -> Result<(), ProviderError> {
        let Some((window, source)) = self.window.clone() else { return Ok(()) };
        // Servers refuse a request whose prompt and answer together pass the window.
        let answer = max_tokens.unwrap_or(MIN_ANSWER).max(1);
        loop {
            let account = self.account(messages, parts, tools).await;
            let total: u64 = account.iter().map(|(_, n)| n).sum();
            if total + answer <= window {
                return Ok(());
            }
            let oldest =
                messages.iter().zip(parts).position(|(m, p)| *p == Part::ToolResults && m.content != DROPPED);
            if let Some(i) = oldest {
                tracing::info!(
                    model = self.job_model,
                    total,
                    window,
                    "dropping an old tool result to fit the context"
                );
                DROPPED.clone_into(&mut messages[i].content);
                continue;
            }
            return Err(too_large(self.job_model, total, answer, window, &source, &account));
        }
    }

    /// A server's error that says the prompt does not fit: learns the
    /// window from it and makes it the full, permanent error.
    pub async fn explain(
        &mut self,
        windows: &Windows,
        err: ProviderError,
        messages: &[Message],
        parts: &[Part],
        tools: &[ToolSpec],
    ) -> ProviderError {
        let Some((window, total, answer)) = window_from_error(&err.message) else { return err };
        windows.set(self.job_model, window, "the server's error");
        let account = self.account(messages, parts, tools).await;
        let mut e = too_large(self.job_model, total, answer, window, "the server's error", &account);
        let _ = write!(e.message, " (the server said: {})", err.message);
        e
    }

    /// Tokens per part, largest first.
    async fn account(
        &mut self,
        messages: &[Message],
        parts: &[Part],
        tools: &[ToolSpec],
    ) -> Vec<(Part, u64)> {
        let mut by_part: HashMap<Part, u64> = HashMap::new();
        for (m, part) in messages.iter().zip(parts) {
            let mut n = PER_MESSAGE + self.count(&m.content).await;
            for call in &m.tool_calls {
                n += self.count(&format!("{} {}", call.name, call.arguments)).await;
            }
            *by_part.entry(*part).or_default() += n;
        }
        if !tools.is_empty() {
            let defs: Vec<_> = tools
                .iter()
                .map(|t| serde_json::json!({"name": t.name, "description": t.description, "parameters": t.parameters}))
                .collect();
            let n = self.count(&serde_json::Value::Array(defs).to_string()).await;
            *by_part.entry(Part::ToolCalls).or_default() += n;
        }
        let mut out: Vec<(Part, u64)> = by_part.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    async fn count(&mut self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        if let Some(n) = self.counts.get(text) {
            return *n;
        }
        let n = match self.provider.count_tokens(self.model, text).await {
            Some(n) => n,
            None => estimate(text),
        };
        self.counts.insert(text.to_owned(), n);
        n
    }
}

/// About four bytes a token for English prose, fewer for code and other
/// scripts: a guess that errs towards more tokens.
fn estimate(text: &str) -> u64 {
    (text.len() as u64).div_ceil(3)
}

/// The error for a prompt of `total` tokens (plus `answer` asked for by
/// max_tokens, 0 when the server counted both) in a window of `window`.
fn too_large(
    model: &str,
    total: u64,
    answer: u64,
    window: u64,
    source: &str,
    account: &[(Part, u64)],
) -> ProviderError {
    let parts: Vec<String> =
        account.iter().filter(|(_, n)| *n > 0).map(|(p, n)| format!("{} {n}", p.name())).collect();
    let answer = if answer > 0 && total < window {
        format!(" and max_tokens asks for {answer} more")
    } else {
        String::new()
    };
    ProviderError::permanent(format!(
        "the prompt does not fit: it is about {total} tokens{answer}, and {model}'s context window is \
         {window} (from {source}); what took the room: {}. Shorten the prompt, use fewer skills or \
         sources, lower max_tokens, or use a model with a larger window",
        parts.join(", ")
    ))
}

/// The window, the prompt's size and the answer's from an OpenAI-style
/// "maximum context length is W tokens. However, you requested T tokens
/// (P in the messages, A in the completion)" message.
fn window_from_error(message: &str) -> Option<(u64, u64, u64)> {
    let number = |text: &str| -> Option<u64> {
        let digits: String = text.trim_start().chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let number_after = |needle: &str| number(&message[message.find(needle)? + needle.len()..]);
    let number_before = |needle: &str| {
        let head = &message[..message.find(needle)?];
        let start = head.trim_end().rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
        number(&head[start..])
    };
    let window = number_after("maximum context length is")?;
    let total = number_after("you requested").unwrap_or(window);
    match (number_before(" in the messages"), number_before(" in the completion")) {
        (Some(prompt), Some(answer)) => Some((window, prompt, answer)),
        _ => Some((window, total, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_read_from_the_servers_error() {
        let msg = "This model's maximum context length is 2048 tokens. However, you requested 3056 tokens \
                   (3055 in the messages, 1 in the completion).";
        assert_eq!(window_from_error(msg), Some((2048, 3055, 1)));
        let bare = "maximum context length is 8192 tokens. However, you requested 9000 tokens.";
        assert_eq!(window_from_error(bare), Some((8192, 9000, 0)));
        assert_eq!(window_from_error("model not found"), None);
    }

    #[test]
    fn parts_of_a_job_name_the_prompt() {
        let m = |r, t: &str| Message::new(r, t);
        let msgs = [m(Role::System, "s"), m(Role::User, "a"), m(Role::Assistant, "b"), m(Role::User, "c")];
        assert_eq!(Part::of_job_messages(&msgs), [Part::System, Part::History, Part::History, Part::Prompt]);
    }

    #[test]
    fn the_error_names_the_size_the_window_and_the_parts() {
        let e = too_large(
            "local:tiny",
            2730,
            64,
            2048,
            "the server",
            &[(Part::Skills, 1950), (Part::Prompt, 600)],
        );
        assert!(!e.is_transient());
        for needle in ["about 2730 tokens", "window is 2048", "skills 1950", "prompt 600"] {
            assert!(e.message.contains(needle), "{needle}: {e}");
        }
        let e = too_large("m", 2000, 100, 2048, "the config", &[(Part::Prompt, 2000)]);
        assert!(e.message.contains("about 2000 tokens and max_tokens asks for 100 more"), "{e}");
    }
}
