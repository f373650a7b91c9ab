//! The HTTP client the CLI uses with `--server URL`, and [`Target`]: where a
//! job command goes, the local data directory or a server.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;

use crate::api::{Created, Event, JobPage, JobSpec, JobState, JobView, ReplaySpec, SseData, StateReply};
use crate::jobs::{CancelOutcome, Local};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Server(String),
    #[error("cannot reach {url}: {message}")]
    Connect { url: String, message: String },
    #[error("unexpected answer from {url}: {message}")]
    Protocol { url: String, message: String },
}

/// A `ctl serve` API client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// `base` is the server's root URL (`http://host:8000`); `token` an API token.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Server(format!(
                "--server {base:?} must start with http:// or https://"
            )));
        }
        crate::provider::install_crypto();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("ctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Connect { url: base.clone(), message: e.to_string() })?;
        Ok(Self { http, base, token })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}/api/v1{path}", self.base));
        if let Some(tp) = crate::telemetry::current_traceparent() {
            req = req.header("traceparent", tp);
        }
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let url = self.base.clone();
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Connect { url: url.clone(), message: root_cause(&e) })?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Connect { url: url.clone(), message: root_cause(&e) })?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{status}: {}", text.trim()));
            return Err(ClientError::Server(message));
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Protocol { url, message: e.to_string() })
    }

    pub async fn submit(&self, spec: &JobSpec) -> Result<String, ClientError> {
        let created: Created = self.send(self.request(reqwest::Method::POST, "/jobs").json(spec)).await?;
        Ok(created.id)
    }

    pub async fn job(&self, id: &str) -> Result<JobView, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/jobs/{}", encode(id)))).await
    }

    pub async fn jobs(&self, state: Option<JobState>, limit: usize) -> Result<Vec<JobView>, ClientError> {
        let mut path = format!("/jobs?limit={limit}");
        if let Some(s) = state {
            path.push_str("&state=");
            path.push_str(s.as_str());
        }
        let page: JobPage = self.send(self.request(reqwest::Method::GET, &path)).await?;
        Ok(page.jobs)
    }

    pub async fn cancel(&self, id: &str) -> Result<StateReply, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/jobs/{}/cancel", encode(id)))).await
    }

    pub async fn retry(&self, id: &str) -> Result<StateReply, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/jobs/{}/retry", encode(id)))).await
    }

    pub async fn replay(&self, id: &str, body: &ReplaySpec) -> Result<String, ClientError> {
        let req = self.request(reqwest::Method::POST, &format!("/jobs/{}/replay", encode(id))).json(body);
        let created: Created = self.send(req).await?;
        Ok(created.id)
    }

    /// The job's events over SSE, from the start, until its terminal event.
    /// A dropped connection is resumed with `Last-Event-ID`, so no event is
    /// lost or repeated; after 30 s without getting through, it gives up.
    pub fn events(&self, id: &str) -> BoxStream<'static, Result<Event, ClientError>> {
        let client = self.clone();
        let path = format!("/jobs/{}/events", encode(id));
        let state = Resume { client, path, last: None, inner: None, done: false, failing_since: None };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if st.done {
                    return None;
                }
                let Some(inner) = st.inner.as_mut() else {
                    match connect(&st.client, &st.path, st.last).await {
                        Ok(s) => {
                            st.inner = Some(s);
                            continue;
                        }
                        Err(e) => {
                            if let Some(err) = st.retry_or_give_up(e).await {
                                st.done = true;
                                return Some((Err(err), st));
                            }
                            continue;
                        }
                    }
                };
                match inner.next().await {
                    Some(Ok(ev)) => {
                        if ev.event.is_empty() || ev.data.is_empty() {
                            continue;
                        }
                        let parsed = serde_json::from_str::<SseData>(&ev.data)
                            .and_then(|d| d.into_event(&ev.event))
                            .map_err(|e| ClientError::Protocol {
                                url: st.client.base.clone(),
                                message: e.to_string(),
                            });
                        match parsed {
                            Ok(event) => {
                                st.failing_since = None;
                                st.last = Some(event.seq);
                                st.done = event.body.terminal_state().is_some();
                                return Some((Ok(event), st));
                            }
                            Err(e) => {
                                st.done = true;
                                return Some((Err(e), st));
                            }
                        }
                    }
                    // The stream broke or ended early (server restart): resume.
                    Some(Err(e)) => {
                        st.inner = None;
                        let err =
                            ClientError::Connect { url: st.client.base.clone(), message: e.to_string() };
                        if let Some(err) = st.retry_or_give_up(err).await {
                            st.done = true;
                            return Some((Err(err), st));
                        }
                    }
                    None => {
                        st.inner = None;
                        let err = ClientError::Connect {
                            url: st.client.base.clone(),
                            message: "event stream closed".into(),
                        };
                        if let Some(err) = st.retry_or_give_up(err).await {
                            st.done = true;
                            return Some((Err(err), st));
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

type SseStream = BoxStream<
    'static,
    Result<eventsource_stream::Event, eventsource_stream::EventStreamError<reqwest::Error>>,
>;

struct Resume {
    client: Client,
    path: String,
    last: Option<u64>,
    inner: Option<SseStream>,
    done: bool,
    failing_since: Option<std::time::Instant>,
}

/// Opens the SSE stream, resuming after `last` when given.
async fn connect(client: &Client, path: &str, last: Option<u64>) -> Result<SseStream, ClientError> {
    let mut req = client.request(reqwest::Method::GET, path);
    if let Some(last) = last {
        req = req.header("Last-Event-ID", last.to_string());
    }
    let url = client.base.clone();
    let resp =
        req.send().await.map_err(|e| ClientError::Connect { url: url.clone(), message: root_cause(&e) })?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{status}"));
        return Err(ClientError::Server(message));
    }
    Ok(resp.bytes_stream().eventsource().boxed())
}

impl Resume {
    /// Waits before a reconnect; returns the error when it is time to stop
    /// (a refusal from the server, or 30 s of failures).
    async fn retry_or_give_up(&mut self, err: ClientError) -> Option<ClientError> {
        if matches!(err, ClientError::Server(_)) {
            return Some(err);
        }
        let since = *self.failing_since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() > Duration::from_secs(30) {
            return Some(err);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        None
    }
}

fn encode(id: &str) -> String {
    id.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    msg
}

/// Where the CLI's job commands go.
#[allow(clippy::large_enum_variant)] // made once per command; boxing buys nothing
pub enum Target {
    Local(Box<Local>),
    Remote(Client),
}

impl Target {
    pub async fn submit(&self, spec: JobSpec) -> anyhow::Result<String> {
        match self {
            Self::Local(l) => {
                let l = l.clone();
                // The caller's span goes along: the job file records its trace.
                let span = tracing::Span::current();
                Ok(tokio::task::spawn_blocking(move || span.in_scope(|| l.submit(spec))).await??.id)
            }
            Self::Remote(c) => Ok(c.submit(&spec).await?),
        }
    }

    /// A job by id or unique prefix.
    pub async fn job(&self, id: &str) -> anyhow::Result<JobView> {
        match self {
            Self::Local(l) => {
                let (l, id) = (l.clone(), id.to_owned());
                Ok(tokio::task::spawn_blocking(move || l.resolve(&id).and_then(|id| l.view(&id))).await??)
            }
            Self::Remote(c) => Ok(c.job(id).await?),
        }
    }

    pub async fn jobs(&self, state: Option<JobState>, limit: usize) -> anyhow::Result<Vec<JobView>> {
        match self {
            Self::Local(l) => {
                let l = l.clone();
                Ok(tokio::task::spawn_blocking(move || l.list(state, limit)).await??)
            }
            Self::Remote(c) => Ok(c.jobs(state, limit).await?),
        }
    }

    /// Cancels; the reply's state is `cancelled` or `cancelling`.
    pub async fn cancel(&self, id: &str) -> anyhow::Result<StateReply> {
        match self {
            Self::Local(l) => {
                let (l, id) = (l.clone(), id.to_owned());
                Ok(tokio::task::spawn_blocking(move || {
                    let id = l.resolve(&id)?;
                    let state = match l.cancel(&id)? {
                        CancelOutcome::Cancelled => "cancelled",
                        CancelOutcome::Requested => "cancelling",
                    };
                    Ok::<_, crate::jobs::JobError>(StateReply { id, state: state.to_owned() })
                })
                .await??)
            }
            Self::Remote(c) => Ok(c.cancel(id).await?),
        }
    }

    pub async fn retry(&self, id: &str) -> anyhow::Result<StateReply> {
        match self {
            Self::Local(l) => {
                let (l, id) = (l.clone(), id.to_owned());
                Ok(tokio::task::spawn_blocking(move || {
                    let id = l.resolve(&id)?;
                    l.retry(&id)?;
                    Ok::<_, crate::jobs::JobError>(StateReply { id, state: "queued".to_owned() })
                })
                .await??)
            }
            Self::Remote(c) => Ok(c.retry(id).await?),
        }
    }

    /// Submits a replay of `id` (a full id); returns the new job's id.
    pub async fn replay(&self, id: &str, spec: ReplaySpec) -> anyhow::Result<String> {
        match self {
            Self::Local(l) => {
                let (l, id) = (l.clone(), id.to_owned());
                Ok(tokio::task::spawn_blocking(move || l.replay(&id, spec)).await??.id)
            }
            Self::Remote(c) => Ok(c.replay(id, &spec).await?),
        }
    }

    /// The job's events from the start until it ends. `id` must be a full id.
    pub fn events(&self, id: &str) -> BoxStream<'static, anyhow::Result<Event>> {
        match self {
            Self::Local(l) => l.events.follow(id, None).map(|r| Ok(r?)).boxed(),
            Self::Remote(c) => c.events(id).map(|r| Ok(r?)).boxed(),
        }
    }
}
