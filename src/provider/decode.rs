//! Plumbing the three backends share: sending a request and turning an error
//! status into a [`ProviderError`], guarding a response body with an idle
//! timeout, framing a byte stream into NDJSON lines or SSE events, and driving
//! a protocol [`Decoder`] into a [`ChatStream`].
//!
//! Keeping framing and driving here leaves each backend with nothing but its
//! own JSON shapes, and lets tests feed a decoder bytes without any HTTP.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ChatEvent, ChatStream, ProviderError, classify_reqwest, classify_status};

/// How much of an error body is kept: plenty for any server's message, and
/// bounded so a server that streams garbage with a 500 cannot fill memory.
const ERROR_BODY_CAP: usize = 64 * 1024;
/// Largest JSON answer read whole; a big embeddings batch is tens of MB.
const JSON_BODY_CAP: usize = 256 * 1024 * 1024;
/// Longest NDJSON line; real ones are a few hundred bytes.
const LINE_CAP: usize = 16 * 1024 * 1024;

/// The error for a silence longer than the idle timeout.
pub(crate) fn idle_error(url: &str, idle: Duration) -> ProviderError {
    let secs = if idle.subsec_millis() == 0 {
        idle.as_secs().to_string()
    } else {
        format!("{:.1}", idle.as_secs_f64())
    };
    ProviderError::transient(format!("no data from {url} for {secs} s"))
}

/// Sends a request and returns the response if its status is a success;
/// otherwise reads (a bounded piece of) the body and classifies the status,
/// keeping the server's message.
async fn send(
    req: reqwest::RequestBuilder,
    url: &str,
    idle: Duration,
) -> Result<reqwest::Response, ProviderError> {
    // The client may have no read timeout of its own (tests build plain ones),
    // so waiting for the response head is bounded here too.
    let mut resp = match tokio::time::timeout(idle, req.send()).await {
        Err(_) => return Err(idle_error(url, idle)),
        Ok(Err(e)) => return Err(classify_reqwest(&e, url)),
        Ok(Ok(resp)) => resp,
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    // A body that breaks off still leaves the status to classify by.
    let body = read_body(&mut resp, ERROR_BODY_CAP, url, idle).await.unwrap_or_default();
    Err(classify_status(status, &String::from_utf8_lossy(&body), url))
}

/// Sends a request and reads its whole JSON answer (embeddings, model lists).
pub(crate) async fn fetch_json<T: DeserializeOwned>(
    req: reqwest::RequestBuilder,
    url: &str,
    idle: Duration,
) -> Result<T, ProviderError> {
    let mut resp = send(req, url, idle).await?;
    let body = read_body(&mut resp, JSON_BODY_CAP, url, idle).await?;
    serde_json::from_slice(&body).map_err(|e| {
        ProviderError::permanent(format!("malformed answer from {url} ({e}): {}", snippet(&body)))
    })
}

/// Fails when a server returns another number of vectors than it was sent texts.
pub(crate) fn check_count(url: &str, got: usize, want: usize) -> Result<(), ProviderError> {
    if got == want {
        return Ok(());
    }
    let msg = format!("{url} returned {got} embeddings for {want} texts");
    Err(ProviderError::permanent(msg))
}

/// Reads a body up to `cap` bytes; what lies beyond is dropped.
async fn read_body(
    resp: &mut reqwest::Response,
    cap: usize,
    url: &str,
    idle: Duration,
) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    while body.len() < cap {
        match tokio::time::timeout(idle, resp.chunk()).await {
            Err(_) => return Err(idle_error(url, idle)),
            Ok(Err(e)) => return Err(classify_reqwest(&e, url)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                let room = cap - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
        }
    }
    Ok(body)
}

/// Sends a request and returns its body as a byte stream, with errors
/// classified and guarded by the idle timeout.
pub(crate) async fn open_stream(
    req: reqwest::RequestBuilder,
    url: String,
    idle: Duration,
) -> Result<impl Stream<Item = Result<Bytes, ProviderError>> + Send + 'static, ProviderError> {
    let resp = send(req, &url, idle).await?;
    let u = url.clone();
    let bytes = resp.bytes_stream().map_err(move |e| classify_reqwest(&e, &u));
    Ok(with_idle_timeout(bytes, idle, url))
}

/// Ends a stream with a transient error when no item arrives within `idle`.
/// The first error also ends it: nothing after a broken read is trustworthy.
pub(crate) fn with_idle_timeout<S, T>(
    inner: S,
    idle: Duration,
    url: String,
) -> impl Stream<Item = Result<T, ProviderError>> + Send + 'static
where
    S: Stream<Item = Result<T, ProviderError>> + Send + 'static,
    T: Send + 'static,
{
    stream::unfold(Some((Box::pin(inner), url)), move |state| async move {
        let (mut inner, url) = state?;
        match tokio::time::timeout(idle, inner.next()).await {
            Err(_) => Some((Err(idle_error(&url, idle)), None)),
            Ok(Some(Ok(item))) => Some((Ok(item), Some((inner, url)))),
            Ok(Some(Err(e))) => Some((Err(e), None)),
            Ok(None) => None,
        }
    })
}

/// Splits a byte stream into lines (without `\n` or `\r\n`), skipping blank
/// ones. Lines may be split across chunks, and the last one may lack its `\n`.
/// Bytes, not text, are split, so a UTF-8 character cut by a chunk boundary is
/// whole again in its line.
pub(crate) fn ndjson_lines<S>(inner: S) -> impl Stream<Item = Result<Vec<u8>, ProviderError>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
{
    struct Lines<S> {
        inner: Option<std::pin::Pin<Box<S>>>,
        buf: Vec<u8>,
        /// How much of `buf` is known to hold no `\n`, so one-byte chunks
        /// do not make the search quadratic.
        scanned: usize,
    }
    let state = Lines { inner: Some(Box::pin(inner)), buf: Vec::new(), scanned: 0 };
    stream::unfold(state, |mut st| async move {
        loop {
            let unscanned = st.buf.get(st.scanned..).unwrap_or_default();
            if let Some(pos) = unscanned.iter().position(|&b| b == b'\n') {
                let end = st.scanned + pos;
                let mut line: Vec<u8> = st.buf.drain(..=end).collect();
                st.scanned = 0;
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if !line.iter().all(u8::is_ascii_whitespace) {
                    return Some((Ok(line), st));
                }
                continue;
            }
            st.scanned = st.buf.len();
            if st.buf.len() > LINE_CAP {
                st.inner = None;
                st.buf.clear();
                st.scanned = 0;
                let msg = format!("a stream line is longer than {} MiB", LINE_CAP >> 20);
                return Some((Err(ProviderError::permanent(msg)), st));
            }
            let Some(inner) = st.inner.as_mut() else {
                // Input is over: whatever remains is a last line without `\n`.
                let rest = std::mem::take(&mut st.buf);
                st.scanned = 0;
                if rest.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                return Some((Ok(rest), st));
            };
            match inner.next().await {
                Some(Ok(chunk)) => st.buf.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    st.inner = None;
                    st.buf.clear();
                    st.scanned = 0;
                    return Some((Err(e), st));
                }
                None => st.inner = None,
            }
        }
    })
}

/// Frames a byte stream as server-sent events.
pub(crate) fn sse_events<S>(
    inner: S,
    provider: &'static str,
) -> impl Stream<Item = Result<Event, ProviderError>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
{
    inner.eventsource().map_err(move |e| match e {
        EventStreamError::Transport(e) => e,
        EventStreamError::Utf8(e) => {
            ProviderError::permanent(format!("{provider} stream is not valid UTF-8: {e}"))
        }
        EventStreamError::Parser(e) => {
            ProviderError::permanent(format!("malformed {provider} event stream: {e}"))
        }
    })
}

/// Whether a decoder wants more input.
pub(crate) enum Flow {
    More,
    /// The answer is complete; the rest of the input is not read.
    Finished,
}

/// A protocol's state machine from framed input (lines or events) to events.
pub(crate) trait Decoder<In>: Send + 'static {
    /// Handles one input item, pushing the events it yields onto `out`.
    fn item(&mut self, item: In, out: &mut Vec<ChatEvent>) -> Result<Flow, ProviderError>;

    /// The input ended before [`Flow::Finished`]: finish or explain why not.
    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<(), ProviderError>;
}

/// Runs a decoder over framed input. Events a step yields before failing are
/// still delivered, then the error, then nothing more.
pub(crate) fn drive<S, In, D>(input: S, decoder: D) -> ChatStream
where
    S: Stream<Item = Result<In, ProviderError>> + Send + 'static,
    In: Send + 'static,
    D: Decoder<In>,
{
    struct Drive<S, D> {
        /// Dropped once finished so the connection closes early.
        input: Option<std::pin::Pin<Box<S>>>,
        decoder: D,
        pending: VecDeque<Result<ChatEvent, ProviderError>>,
    }
    let state = Drive { input: Some(Box::pin(input)), decoder, pending: VecDeque::new() };
    stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.pending.pop_front() {
                return Some((ev, st));
            }
            let input = st.input.as_mut()?;
            let mut out = Vec::new();
            let step = match input.next().await {
                Some(Ok(item)) => st.decoder.item(item, &mut out),
                Some(Err(e)) => Err(e),
                None => st.decoder.end(&mut out).map(|()| Flow::Finished),
            };
            st.pending.extend(out.into_iter().map(Ok));
            match step {
                Ok(Flow::More) => {}
                Ok(Flow::Finished) => st.input = None,
                Err(e) => {
                    st.pending.push_back(Err(e));
                    st.input = None;
                }
            }
        }
    })
    .boxed()
}

/// Parses one stream line or event payload.
pub(crate) fn parse<T: DeserializeOwned>(provider: &str, data: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(data).map_err(|e| {
        ProviderError::permanent(format!("malformed {provider} stream line ({e}): {}", snippet(data)))
    })
}

/// The start of some untrusted bytes, fit to quote in a message.
pub(crate) fn snippet(data: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(data);
    let text = text.trim();
    let mut short: String = text.chars().take(MAX).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Classifies an error object a server sent inside a 200 stream. A numeric
/// `code`/`status` decides like an HTTP status; else the `type`/`code` names;
/// only when neither exists does the message text decide.
pub(crate) fn stream_error(provider: &str, err: &Value) -> ProviderError {
    let message = err
        .as_str()
        .or_else(|| err.get("message").and_then(Value::as_str))
        .map_or_else(|| err.to_string(), str::to_owned);
    let status = ["code", "status"].iter().find_map(|k| err.get(*k).and_then(Value::as_u64));
    let names: Vec<&str> =
        ["type", "code"].iter().filter_map(|k| err.get(*k).and_then(Value::as_str)).collect();
    let transient = match status {
        Some(s) => s == 408 || s == 429 || (500..600).contains(&s),
        None if !names.is_empty() => names.iter().any(|n| looks_transient(n)),
        None => looks_transient(&message),
    };
    let text = format!("{provider} reported an error: {message}");
    if transient { ProviderError::transient(text) } else { ProviderError::permanent(text) }
}

fn looks_transient(text: &str) -> bool {
    const HINTS: [&str; 11] = [
        "overload",
        "rate_limit",
        "rate limit",
        "server_error",
        "api_error",
        "timeout",
        "timed out",
        "unavailable",
        "busy",
        "try again",
        "temporar",
    ];
    let text = text.to_ascii_lowercase();
    HINTS.iter().any(|h| text.contains(h))
}

/// The error for a stream that stopped before its end-of-answer marker.
pub(crate) fn ended_early(provider: &str) -> ProviderError {
    ProviderError::transient(format!("{provider} stream ended early, before the end of the answer"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ErrorKind;

    async fn lines(chunks: &[&[u8]]) -> Vec<Result<Vec<u8>, ProviderError>> {
        let items: Vec<_> = chunks.iter().map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        ndjson_lines(stream::iter(items)).collect().await
    }

    #[tokio::test]
    async fn lines_join_split_chunks_and_keep_a_last_line_without_newline() {
        let got = lines(&[b"a", b"b\r\n\n  \nc\xc3", b"\xa9\nd"]).await;
        let want: Vec<Result<Vec<u8>, ProviderError>> =
            vec![Ok(b"ab".to_vec()), Ok("cé".as_bytes().to_vec()), Ok(b"d".to_vec())];
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn lines_stop_at_the_first_transport_error() {
        let items = vec![
            Ok(Bytes::from_static(b"a\nb")),
            Err(ProviderError::transient("reset")),
            Ok(Bytes::from_static(b"c\n")),
        ];
        let got: Vec<_> = ndjson_lines(stream::iter(items)).collect().await;
        assert_eq!(got, vec![Ok(b"a".to_vec()), Err(ProviderError::transient("reset"))]);
    }

    #[tokio::test]
    async fn idle_timeout_names_the_url_and_the_wait() {
        let never = stream::pending::<Result<Bytes, ProviderError>>();
        let got: Vec<_> =
            with_idle_timeout(never, Duration::from_millis(100), "http://x/y".into()).collect().await;
        let want = ProviderError::transient("no data from http://x/y for 0.1 s");
        assert_eq!(got, vec![Err(want)]);
    }

    #[test]
    fn stream_errors_are_classified_by_status_then_type_then_text() {
        let kind = |v: Value| stream_error("X", &v).kind;
        assert_eq!(kind(serde_json::json!({"code": 503, "type": "x"})), ErrorKind::Transient);
        assert_eq!(kind(serde_json::json!({"code": 400, "message": "busy"})), ErrorKind::Permanent);
        assert_eq!(kind(serde_json::json!({"type": "overloaded_error"})), ErrorKind::Transient);
        assert_eq!(
            kind(serde_json::json!({"type": "invalid_request_error", "message": "timeout"})),
            ErrorKind::Permanent
        );
        assert_eq!(kind(serde_json::json!("server busy, try again")), ErrorKind::Transient);
        assert_eq!(kind(serde_json::json!("model not found")), ErrorKind::Permanent);
        let e = stream_error("Ollama", &serde_json::json!("boom"));
        assert_eq!(e.message, "Ollama reported an error: boom");
    }

    #[test]
    fn snippets_are_short_and_survive_bad_utf8() {
        assert_eq!(snippet(b"  {\"a\xff  "), "{\"a\u{fffd}");
        assert_eq!(snippet(&[b'x'; 500]).chars().count(), 121);
    }
}
