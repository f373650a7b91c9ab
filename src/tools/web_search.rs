//! `web_search`: a SearXNG instance's JSON API.
//!
//! `GET {searxng_url}/search?q=...&format=json`. Every field of the answer
//! is optional (SearXNG drops fields between versions: `number_of_results`
//! is gone upstream, offline engines give results without a `url`). The
//! instance is the operator's own choice, so it is not subject to the
//! fetch tool's address guard.

use std::fmt::Write as _;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{BoxFuture, Limits, Tool, ToolError, ToolInfo, ToolOutput, ToolTraits, WebSearchConfig};

/// Arguments of `web_search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSearchArgs {
    /// What to search for.
    pub query: String,
    /// Results wanted (at most the configured cap).
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub max_results: Option<u32>,
    /// SearXNG categories, comma-separated (`general`, `news`, `it`, ...).
    #[serde(default)]
    pub categories: Option<String>,
    /// A language code (`en`, `de-CH`) or `all`.
    #[serde(default)]
    pub language: Option<String>,
}

/// SearXNG's answer, as documented; everything optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Answer {
    results: Vec<Hit>,
    answers: Vec<serde_json::Value>,
    suggestions: Vec<String>,
    unresponsive_engines: Vec<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Hit {
    url: Option<String>,
    title: Option<String>,
    /// The title of key-value results (offline engines).
    caption: Option<String>,
    content: Option<String>,
    engine: Option<String>,
    #[serde(rename = "publishedDate")]
    published_date: Option<String>,
}

pub struct WebSearch {
    cfg: WebSearchConfig,
    endpoint: url::Url,
    client: reqwest::Client,
}

impl WebSearch {
    pub fn new(cfg: WebSearchConfig, base: &str) -> Result<Self, ToolError> {
        crate::provider::install_crypto();
        let mut base = url::Url::parse(base)
            .map_err(|e| ToolError::InvalidArgs(format!("tools.web_search.searxng_url {base:?}: {e}")))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let endpoint = base.join("search").map_err(|e| ToolError::InvalidArgs(e.to_string()))?;
        let client = reqwest::Client::builder()
            .user_agent(super::fetch::USER_AGENT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ToolError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { cfg, endpoint, client })
    }

    async fn search(&self, args: WebSearchArgs) -> Result<ToolOutput, ToolError> {
        let query = args.query.trim();
        if query.is_empty() {
            return Err(ToolError::InvalidArgs("query is empty".into()));
        }
        let cap =
            args.max_results.map_or(self.cfg.max_results, |n| (n as usize).min(self.cfg.max_results)).max(1);
        let mut params = vec![("q", query.to_owned()), ("format", "json".to_owned())];
        if let Some(c) = args.categories.filter(|c| !c.trim().is_empty()) {
            params.push(("categories", c));
        }
        if let Some(l) = args.language.filter(|l| !l.trim().is_empty()) {
            params.push(("language", l));
        }
        let mut url = self.endpoint.clone();
        url.query_pairs_mut().extend_pairs(&params);
        let resp = self.client.get(url).send().await.map_err(|e| {
            ToolError::Failed(format!("cannot reach SearXNG at {}: {}", self.endpoint, root_cause(&e)))
        })?;
        let status = resp.status();
        if status == reqwest::StatusCode::FORBIDDEN {
            return Err(ToolError::Failed(format!(
                "SearXNG at {} answered 403 Forbidden: its JSON output is turned off. Add `json` to \
                 `search: formats:` in its settings.yml (formats: [html, json]) and restart it",
                self.endpoint
            )));
        }
        if !status.is_success() {
            return Err(ToolError::Failed(format!("SearXNG at {} answered HTTP {status}", self.endpoint)));
        }
        let body =
            resp.bytes().await.map_err(|e| ToolError::Failed(format!("SearXNG: {}", root_cause(&e))))?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
            ToolError::Failed(format!("SearXNG at {} sent JSON ctl cannot read: {e}", self.endpoint))
        })?;
        Ok(render(query, &answer, cap))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn render(query: &str, answer: &Answer, cap: usize) -> ToolOutput {
    let mut text = String::new();
    let mut results = Vec::new();
    for a in &answer.answers {
        let shown = a.get("answer").and_then(|v| v.as_str()).map_or_else(|| a.to_string(), str::to_owned);
        let _ = writeln!(text, "Answer: {shown}");
    }
    for (i, hit) in answer.results.iter().take(cap).enumerate() {
        let title = [&hit.title, &hit.caption]
            .into_iter()
            .find_map(|t| t.as_deref().filter(|t| !t.trim().is_empty()))
            .unwrap_or("(untitled)");
        let _ = writeln!(text, "{}. {}", i + 1, title.trim());
        if let Some(url) = hit.url.as_deref().filter(|u| !u.is_empty()) {
            let _ = writeln!(text, "   {url}");
        }
        if let Some(snippet) = hit.content.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let _ = writeln!(text, "   {}", snippet.replace('\n', " "));
        }
        results.push(serde_json::json!({
            "title": title,
            "url": hit.url,
            "snippet": hit.content,
            "engine": hit.engine,
            "published": hit.published_date,
        }));
    }
    if results.is_empty() && answer.answers.is_empty() {
        let _ = writeln!(text, "No results for {query:?}.");
    }
    if !answer.suggestions.is_empty() {
        let _ = writeln!(text, "Suggestions: {}", answer.suggestions.join(", "));
    }
    if !answer.unresponsive_engines.is_empty() {
        let _ = writeln!(text, "({} engines did not answer)", answer.unresponsive_engines.len());
    }
    let structured =
        serde_json::json!({ "query": query, "results": results, "suggestions": answer.suggestions });
    ToolOutput::with_structured(text, structured)
}

impl Tool for WebSearch {
    fn info(&self) -> ToolInfo {
        ToolInfo {
            name: "web_search".into(),
            description: format!(
                "Search the web (through SearXNG). Returns a title, URL and snippet for each result, at most {}.",
                self.cfg.max_results
            ),
            input_schema: super::schema_of::<WebSearchArgs>(),
            traits: ToolTraits { read_only: true, private: false, untrusted: true, egress: true },
            limits: Limits {
                timeout_secs: self.cfg.timeout_secs,
                max_output_bytes: self.cfg.max_output_bytes,
            },
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move { self.search(super::parse_args(args)?).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_are_optional_and_results_are_capped() {
        let answer: Answer = serde_json::from_str(
            r#"{"query":"q","results":[
                {"url":"https://a.example/","title":"A","content":"first\nline","engine":"x"},
                {"title":"B","content":null},
                {"url":null},
                {"url":"https://d.example/","title":"D"}
            ],"suggestions":["q2"]}"#,
        )
        .unwrap();
        let out = render("q", &answer, 3);
        assert!(
            out.text.starts_with("1. A\n   https://a.example/\n   first line\n2. B\n3. (untitled)\n"),
            "{}",
            out.text
        );
        assert!(!out.text.contains("d.example"));
        assert!(out.text.contains("Suggestions: q2"));
        let s = out.structured.unwrap();
        assert_eq!(s["results"].as_array().unwrap().len(), 3);
        assert_eq!(s["results"][1]["url"], serde_json::Value::Null);
        let empty: Answer = serde_json::from_str("{}").unwrap();
        assert!(render("nothing", &empty, 5).text.contains("No results for \"nothing\""));
    }
}
