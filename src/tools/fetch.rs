//! `fetch`: a URL's content as text, HTML turned into markdown.
//!
//! http and https only; every hop of a redirect chain (at most
//! [`MAX_REDIRECTS`]) passes the address guard of [`super::net`] before a
//! connection is made. The body is capped after decompression (a gzip or
//! brotli bomb stops at the cap), the headers are capped, and the whole
//! call is bounded by the tool's timeout. Binary content is refused.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use schemars::JsonSchema;
use serde::Deserialize;

use super::net::{GuardedResolver, Policy, Resolve, check_url, refusal_in};
use super::{BoxFuture, FetchConfig, Limits, Tool, ToolError, ToolInfo, ToolOutput, ToolTraits};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

/// `User-Agent` of every fetch.
pub const USER_AGENT: &str = concat!("ctl/", env!("CARGO_PKG_VERSION"), " (fetch tool)");

/// Arguments of `fetch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// The http or https URL to fetch.
    pub url: String,
    /// Return HTML as it came instead of converting it to markdown.
    #[serde(default)]
    pub raw: bool,
}

pub struct Fetch {
    cfg: FetchConfig,
    policy: Policy,
    client: reqwest::Client,
}

impl Fetch {
    pub fn new(cfg: FetchConfig, resolver: Arc<dyn Resolve>) -> Result<Self, ToolError> {
        crate::provider::install_crypto();
        let policy = Policy { allow: cfg.allow_private.clone() };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { inner: resolver, policy: policy.clone() }))
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ToolError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { cfg, policy, client })
    }

    async fn fetch(&self, args: FetchArgs) -> Result<ToolOutput, ToolError> {
        let mut url = url::Url::parse(args.url.trim())
            .map_err(|e| ToolError::InvalidArgs(format!("{:?} is not a URL: {e}", args.url)))?;
        let mut hops = Vec::new();
        let resp = loop {
            check_url(&url, &self.policy).map_err(|r| ToolError::Refused(r.0))?;
            let resp = self
                .client
                .get(url.clone())
                .header(
                    ACCEPT,
                    "text/html, text/markdown, text/plain;q=0.9, application/json;q=0.8, */*;q=0.1",
                )
                .send()
                .await
                .map_err(|e| send_error(&e, &url))?;
            let header_bytes: usize =
                resp.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
            if header_bytes > self.cfg.max_header_bytes {
                return Err(ToolError::Refused(format!(
                    "the response headers of {url} are larger than {} bytes",
                    self.cfg.max_header_bytes
                )));
            }
            if !resp.status().is_redirection() {
                break resp;
            }
            let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
                ToolError::Failed(format!("{url} redirected ({}) with no Location", resp.status()))
            })?;
            let next = url
                .join(location)
                .map_err(|e| ToolError::Failed(format!("{url} redirected to a bad URL {location:?}: {e}")))?;
            hops.push(next.to_string());
            if hops.len() > MAX_REDIRECTS {
                return Err(ToolError::Refused(format!(
                    "more than {MAX_REDIRECTS} redirects, starting at {}",
                    args.url
                )));
            }
            url = next;
        };
        let status = resp.status();
        if !status.is_success() {
            return Err(ToolError::Failed(format!("{url} answered HTTP {status}")));
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default();
        let declared = classify(&content_type);
        if declared == Some(Kind::Binary) {
            return Err(ToolError::Failed(format!(
                "{url} is {content_type}, not text: only text, HTML, JSON and XML are fetched"
            )));
        }
        let (body, truncated) = read_capped(resp, self.cfg.max_body_bytes, &url).await?;
        let kind = declared.unwrap_or_else(|| sniff(&body));
        if kind == Kind::Binary || body.contains(&0) {
            return Err(ToolError::Failed(format!("{url} is binary, not text")));
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        let text = if kind == Kind::Html && !args.raw {
            super::blocking(move || Ok(to_markdown(&text))).await?
        } else {
            text
        };
        let mut out = format!("URL: {url}\n");
        if truncated {
            let _ = writeln!(out, "(the body was cut at {} bytes)", self.cfg.max_body_bytes);
        }
        out.push('\n');
        out.push_str(&text);
        let structured = serde_json::json!({
            "url": args.url,
            "final_url": url.as_str(),
            "redirects": hops,
            "status": status.as_u16(),
            "content_type": content_type,
            "body_bytes": body.len(),
            "body_truncated": truncated,
        });
        Ok(ToolOutput::with_structured(out, structured))
    }
}

impl Tool for Fetch {
    fn info(&self) -> ToolInfo {
        ToolInfo {
            name: "fetch".into(),
            description: format!(
                "Fetch an http or https URL and return its text; HTML comes back as markdown. \
                 Private, loopback and link-local addresses are refused, redirects are followed \
                 (at most {MAX_REDIRECTS}, each checked), the body is cut at {} bytes, binary \
                 content is refused.",
                self.cfg.max_body_bytes
            ),
            input_schema: super::schema_of::<FetchArgs>(),
            traits: ToolTraits { read_only: true, private: false, untrusted: true, egress: true },
            limits: Limits {
                timeout_secs: self.cfg.timeout_secs,
                max_output_bytes: self.cfg.max_output_bytes,
            },
        }
    }

    fn call(&self, args: serde_json::Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move { self.fetch(super::parse_args(args)?).await })
    }
}

fn send_error(e: &reqwest::Error, url: &url::Url) -> ToolError {
    if let Some(refusal) = refusal_in(e) {
        return ToolError::Refused(refusal.0);
    }
    let what = if e.is_connect() {
        "cannot connect to"
    } else if e.is_timeout() {
        "timed out fetching"
    } else {
        "failed fetching"
    };
    // The innermost cause says the most ("connection refused", "dns error").
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    ToolError::Failed(format!("{what} {url}: {cause}"))
}

/// Reads the (decompressed) body up to `cap` bytes; the flag says whether
/// there was more.
async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
    url: &url::Url,
) -> Result<(Vec<u8>, bool), ToolError> {
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    return Ok((body, true));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok((body, false)),
            Err(e) => return Err(send_error(&e, url)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Html,
    Text,
    Binary,
}

/// What a declared content type is; `None` when there is none to go by.
fn classify(ct: &str) -> Option<Kind> {
    if ct.is_empty() || ct == "application/octet-stream" {
        return None;
    }
    if ct == "text/html" || ct == "application/xhtml+xml" {
        return Some(Kind::Html);
    }
    let texty = ct.starts_with("text/")
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
        || matches!(
            ct,
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/ecmascript"
                | "application/x-javascript"
                | "application/x-yaml"
                | "application/yaml"
                | "application/toml"
                | "application/x-sh"
                | "application/sql"
                | "application/x-ndjson"
        );
    Some(if texty { Kind::Text } else { Kind::Binary })
}

/// The kind of an undeclared body, from its first bytes.
fn sniff(body: &[u8]) -> Kind {
    let head = &body[..body.len().min(1024)];
    if head.contains(&0) {
        return Kind::Binary;
    }
    // A character cut at the end of the window is fine; a bad one is not.
    if std::str::from_utf8(head).is_err_and(|e| e.error_len().is_some()) {
        return Kind::Binary;
    }
    let lower = String::from_utf8_lossy(head).trim_start().to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") { Kind::Html } else { Kind::Text }
}

/// HTML as markdown, without scripts, styles and other non-text parts.
pub fn to_markdown(html: &str) -> String {
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec!["script", "style", "noscript", "iframe", "svg", "template", "head"])
        .build();
    converter.convert(html).unwrap_or_else(|_| html.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_classified() {
        assert_eq!(classify("text/html"), Some(Kind::Html));
        assert_eq!(classify("text/plain"), Some(Kind::Text));
        assert_eq!(classify("application/ld+json"), Some(Kind::Text));
        assert_eq!(classify("image/png"), Some(Kind::Binary));
        assert_eq!(classify("application/pdf"), Some(Kind::Binary));
        assert_eq!(classify(""), None);
        assert_eq!(sniff(b"<!DOCTYPE html><p>x"), Kind::Html);
        assert_eq!(sniff(b"plain words"), Kind::Text);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Kind::Binary);
        assert_eq!(sniff(&[0xff, 0xfe, 0xfd, 0x80, 0x81, b'a', b'b']), Kind::Binary);
    }

    #[test]
    fn html_becomes_markdown_without_scripts() {
        let md = to_markdown(
            "<html><head><title>T</title><style>p{}</style></head><body><h1>Hello</h1>\
             <script>alert(1)</script><p>a <a href=\"https://x.example/\">link</a></p></body></html>",
        );
        assert!(md.contains("# Hello"), "{md}");
        assert!(md.contains("[link](https://x.example/)"), "{md}");
        assert!(!md.contains("alert") && !md.contains("p{}"), "{md}");
    }
}
