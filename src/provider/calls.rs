//! Tool calls assembled from stream fragments. OpenAI-compatible servers
//! split a call's `arguments` anywhere and key the pieces by `index`;
//! Anthropic streams a `tool_use` block's input as `input_json_delta`
//! pieces. Both end up here, and a call is handed on only when whole.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ChatEvent, ProviderError};
use crate::api::ToolCall;

#[derive(Debug, Default)]
struct Part {
    id: String,
    name: String,
    arguments: String,
}

/// The calls of one answer, by their position in it.
#[derive(Debug, Default)]
pub(crate) struct CallParts {
    parts: BTreeMap<u64, Part>,
}

impl CallParts {
    /// Adds a fragment of the call at `index`. The id and name are taken
    /// from the first fragment that has them (llama-cpp-python repeats them
    /// in every fragment, OpenAI sends them once); argument text is appended.
    pub fn fragment(&mut self, index: u64, id: Option<&str>, name: Option<&str>, arguments: Option<&str>) {
        let part = self.parts.entry(index).or_default();
        if let Some(id) = id.filter(|s| !s.is_empty())
            && part.id.is_empty()
        {
            id.clone_into(&mut part.id);
        }
        if let Some(name) = name.filter(|s| !s.is_empty())
            && part.name.is_empty()
        {
            name.clone_into(&mut part.name);
        }
        if let Some(text) = arguments {
            part.arguments.push_str(text);
        }
    }

    /// Whether a call was started at `index`.
    pub fn has(&self, index: u64) -> bool {
        self.parts.contains_key(&index)
    }

    /// Hands on the call at `index`, if one was started there.
    pub fn finish_one(
        &mut self,
        index: u64,
        provider: &str,
        cut: bool,
        out: &mut Vec<ChatEvent>,
    ) -> Result<(), ProviderError> {
        if let Some(part) = self.parts.remove(&index) {
            out.push(ChatEvent::ToolCall(whole(index, part, provider, cut)?));
        }
        Ok(())
    }

    /// Hands on every call still open, in index order. `cut` says the
    /// answer stopped at its token limit: a call whose arguments are not
    /// JSON then was cut off, which no retry of the same request mends.
    pub fn finish_all(
        &mut self,
        provider: &str,
        cut: bool,
        out: &mut Vec<ChatEvent>,
    ) -> Result<(), ProviderError> {
        for (index, part) in std::mem::take(&mut self.parts) {
            out.push(ChatEvent::ToolCall(whole(index, part, provider, cut)?));
        }
        Ok(())
    }
}

fn whole(index: u64, part: Part, provider: &str, cut: bool) -> Result<ToolCall, ProviderError> {
    if part.name.is_empty() {
        return Err(ProviderError::permanent(format!(
            "{provider} server sent a tool call (index {index}) without a name"
        )));
    }
    let arguments = match parse_arguments(&part.arguments) {
        Ok(v) => v,
        Err(_) if cut => {
            return Err(ProviderError::permanent(format!(
                "the answer reached its token limit in the middle of a call to {}; raise max_tokens",
                part.name
            )));
        }
        // The model wrote something that is not JSON: the tool loop tells it so.
        Err(raw) => Value::String(raw),
    };
    let id = if part.id.is_empty() { format!("call_{index}") } else { part.id };
    Ok(ToolCall { id, name: part.name, arguments })
}

/// A call's argument text as JSON; nothing at all means no arguments.
pub(crate) fn parse_arguments(raw: &str) -> Result<Value, String> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(raw).map_err(|_| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(out: &[ChatEvent]) -> &ToolCall {
        match out.last() {
            Some(ChatEvent::ToolCall(c)) => c,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn fragments_join_and_repeated_names_are_not_doubled() {
        let mut parts = CallParts::default();
        parts.fragment(0, Some("c1"), Some("vault_read"), Some("{\"pa"));
        parts.fragment(0, Some("c1"), Some("vault_read"), Some("th\": \"a.md\"}"));
        let mut out = Vec::new();
        parts.finish_all("X", false, &mut out).unwrap();
        assert_eq!(
            call(&out),
            &ToolCall {
                id: "c1".into(),
                name: "vault_read".into(),
                arguments: serde_json::json!({"path": "a.md"})
            }
        );
    }

    #[test]
    fn empty_arguments_are_an_empty_object_and_bad_ones_stay_text() {
        let mut parts = CallParts::default();
        parts.fragment(3, None, Some("now"), None);
        parts.fragment(4, None, Some("f"), Some("{oops"));
        let mut out = Vec::new();
        parts.finish_all("X", false, &mut out).unwrap();
        let ChatEvent::ToolCall(first) = &out[0] else { panic!() };
        assert_eq!((first.id.as_str(), &first.arguments), ("call_3", &serde_json::json!({})));
        assert_eq!(call(&out).arguments, Value::String("{oops".into()));
    }

    #[test]
    fn arguments_cut_by_the_token_limit_fail_the_answer() {
        let mut parts = CallParts::default();
        parts.fragment(0, Some("c"), Some("fetch"), Some("{\"url\": \"http"));
        let err = parts.finish_all("X", true, &mut Vec::new()).unwrap_err();
        assert!(!err.is_transient() && err.message.contains("raise max_tokens"), "{err}");
    }

    #[test]
    fn a_call_without_a_name_is_refused() {
        let mut parts = CallParts::default();
        parts.fragment(0, Some("c"), None, Some("{}"));
        assert!(parts.finish_all("X", false, &mut Vec::new()).is_err());
    }
}
