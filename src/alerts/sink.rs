//! Where alerts go: a Discord webhook and a generic JSON webhook. The URLs
//! are secrets (a Discord webhook URL is its own credential): they come
//! from the environment or a file and never appear in a log line or error.

use std::time::Duration;

use serde_json::json;

use super::engine::{Alert, Status};
use crate::secrets::{Secret, SecretError};

/// The variable that holds the Discord webhook URL (or `..._FILE`).
pub const DISCORD_VAR: &str = "CTL_DISCORD_WEBHOOK_URL";
/// The variable that holds the generic webhook URL (or `..._FILE`).
pub const WEBHOOK_VAR: &str = "CTL_ALERT_WEBHOOK_URL";

/// Discord refuses longer `content`.
const DISCORD_MAX_CHARS: usize = 2000;
/// Attempts per message and destination.
const MAX_TRIES: u32 = 5;
/// The longest `retry_after` ctl waits for; a longer one drops the message.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Discord,
    Webhook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discord => "discord",
            Self::Webhook => "webhook",
        }
    }
}

/// One destination.
#[derive(Debug, Clone)]
pub struct Sink {
    pub kind: Kind,
    url: Secret,
}

/// Why a message was not delivered; never shows the URL.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("{var} must start with http:// or https://")]
    BadUrl { var: &'static str },
    #[error("{kind}: {message}")]
    Failed { kind: &'static str, message: String },
}

/// The destinations configured in the environment.
pub fn from_env() -> Result<Vec<Sink>, SendError> {
    let mut sinks = Vec::new();
    for (kind, var) in [(Kind::Discord, DISCORD_VAR), (Kind::Webhook, WEBHOOK_VAR)] {
        if let Some(url) = crate::secrets::from_env(var)? {
            if !(url.expose().starts_with("https://") || url.expose().starts_with("http://")) {
                return Err(SendError::BadUrl { var });
            }
            sinks.push(Sink { kind, url });
        }
    }
    Ok(sinks)
}

/// An HTTP client for webhooks: short timeouts, no redirects (a webhook
/// that redirects is misconfigured, and a redirect could carry the URL's
/// secret elsewhere).
pub fn http_client() -> Result<reqwest::Client, SendError> {
    crate::provider::install_crypto();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ctl/", env!("CARGO_PKG_VERSION")))
        .build()
        // reqwest's message names no URL here: there is none yet.
        .map_err(|e| SendError::Failed {
            kind: "alerts",
            message: format!("cannot build an HTTP client: {e}"),
        })
}

impl Sink {
    /// Sends one alert, honouring 429 `retry_after` and retrying server
    /// errors with backoff.
    pub async fn send(&self, http: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let body = match self.kind {
            Kind::Discord => discord_body(alert),
            Kind::Webhook => webhook_body(alert),
        };
        let kind = self.kind.as_str();
        let fail = |message: String| SendError::Failed { kind, message };
        let mut backoff = Duration::from_millis(500);
        for attempt in 1..=MAX_TRIES {
            let last = attempt == MAX_TRIES;
            let resp = match http.post(self.url.expose()).json(&body).send().await {
                Ok(r) => r,
                // reqwest puts the URL in its errors: leave it out.
                Err(e) if last => return Err(fail(describe(&e.without_url()))),
                Err(e) => {
                    tracing::warn!(
                        sink = kind,
                        attempt,
                        "alert not delivered, retrying: {}",
                        describe(&e.without_url())
                    );
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    continue;
                }
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(());
            }
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(resp).await;
                if wait > MAX_RETRY_AFTER || last {
                    return Err(fail(format!(
                        "rate limited (retry after {:.1} s); message dropped",
                        wait.as_secs_f64()
                    )));
                }
                tracing::info!(sink = kind, "rate limited; retrying after {:.2} s", wait.as_secs_f64());
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() && !last {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            let text = resp.text().await.unwrap_or_default();
            let text = crate::secrets::redact(text.lines().next().unwrap_or("").trim()).into_owned();
            let text: String = text.chars().take(200).collect();
            return Err(fail(if text.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {text}")
            }));
        }
        Err(fail("gave up".to_owned()))
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s = format!("{s}: {cause}");
        source = cause.source();
    }
    s
}

/// Discord's `retry_after` (seconds, in the JSON body), else the
/// `Retry-After` header, else one second.
async fn retry_after(resp: reqwest::Response) -> Duration {
    let header = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let body: Option<serde_json::Value> = resp.json().await.ok();
    let secs =
        body.as_ref().and_then(|b| b.get("retry_after")).and_then(serde_json::Value::as_f64).or(header);
    Duration::from_secs_f64(secs.unwrap_or(1.0).clamp(0.0, 86_400.0))
}

/// Discord's message: plain content, and `allowed_mentions` empty so that
/// an `@everyone` quoted from an error message pings nobody.
fn discord_body(a: &Alert) -> serde_json::Value {
    let icon = match a.status {
        Status::Firing => "🔴",
        Status::Resolved => "✅",
    };
    let mut content = format!("{icon} **{}**\n{}", a.title, a.text);
    if let Some(link) = &a.link {
        content.push('\n');
        content.push_str(link);
    }
    if content.chars().count() > DISCORD_MAX_CHARS {
        content = content.chars().take(DISCORD_MAX_CHARS - 1).collect::<String>() + "…";
    }
    json!({ "username": "ctl", "content": content, "allowed_mentions": { "parse": [] } })
}

/// The generic webhook's JSON: the alert's fields, for any receiver.
fn webhook_body(a: &Alert) -> serde_json::Value {
    json!({
        "source": "ctl",
        "rule": a.rule,
        "subject": a.subject,
        "status": a.status,
        "title": a.title,
        "text": a.text,
        "count": a.count,
        "link": a.link,
        "at": jiff::Timestamp::now().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::engine::Rule;

    #[test]
    fn discord_messages_ping_nobody_and_fit() {
        let a = Alert {
            rule: Rule::JobFailed,
            subject: String::new(),
            status: Status::Firing,
            title: "Job J failed".into(),
            text: format!("@everyone {}", "x".repeat(3000)),
            count: 1,
            link: Some("http://h/job/J".into()),
        };
        let body = discord_body(&a);
        assert_eq!(body["allowed_mentions"], json!({ "parse": [] }));
        let content = body["content"].as_str().unwrap();
        assert_eq!(content.chars().count(), DISCORD_MAX_CHARS);
        assert!(content.starts_with("🔴 **Job J failed**\n@everyone"));
        let hook = webhook_body(&a);
        assert_eq!((hook["rule"].as_str(), hook["status"].as_str()), (Some("job_failed"), Some("firing")));
    }
}
