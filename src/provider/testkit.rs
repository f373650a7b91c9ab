//! Helpers for the backends' unit tests: feeding a transcript split at every
//! byte boundary, recorded fixtures, and a one-connection HTTP/1.1 server that
//! records what the client sent and answers with raw bytes.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{ChatEvent, ChatRequest, ChatStream, Provider, ProviderError, Timeouts};

pub(crate) type Events = Vec<Result<ChatEvent, ProviderError>>;
pub(crate) type Chunks = stream::Iter<std::vec::IntoIter<Result<Bytes, ProviderError>>>;

/// Decodes `data` whole, then split in two at every byte, then one byte per
/// chunk; asserts every split yields the same events and returns them.
pub(crate) async fn every_split(data: &[u8], decode: impl Fn(Chunks) -> ChatStream) -> Events {
    let data = Bytes::copy_from_slice(data);
    let whole = run(&decode, vec![data.clone()]).await;
    for i in 0..=data.len() {
        let got = run(&decode, vec![data.slice(..i), data.slice(i..)]).await;
        assert_eq!(got, whole, "split at byte {i}");
    }
    let bytewise = (0..data.len()).map(|i| data.slice(i..=i)).collect();
    assert_eq!(run(&decode, bytewise).await, whole, "one byte per chunk");
    whole
}

/// Decodes every prefix of `data`, as a connection cut at each byte would
/// deliver it: each must end in `Done` or an error, never just stop.
pub(crate) async fn every_prefix(data: &[u8], decode: impl Fn(Chunks) -> ChatStream) {
    for i in 0..data.len() {
        let events = run(&decode, vec![Bytes::copy_from_slice(&data[..i])]).await;
        let last = events.last();
        let ended = matches!(last, Some(Ok(ChatEvent::Done { .. }) | Err(_)));
        assert!(ended, "a prefix of {i} bytes ended with {last:?}");
    }
}

/// Decodes `data` delivered as one chunk.
pub(crate) async fn whole(data: &[u8], decode: impl Fn(Chunks) -> ChatStream) -> Events {
    run(&decode, vec![Bytes::copy_from_slice(data)]).await
}

async fn run(decode: &impl Fn(Chunks) -> ChatStream, chunks: Vec<Bytes>) -> Events {
    let items: Vec<_> = chunks.into_iter().map(Ok).collect();
    decode(stream::iter(items)).collect().await
}

/// The generated text: all tokens, concatenated.
pub(crate) fn text(events: &Events) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ChatEvent::Token(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Events without the tokens, to check what surrounds them.
pub(crate) fn non_tokens(events: &Events) -> Events {
    events.iter().filter(|e| !matches!(e, Ok(ChatEvent::Token(_)))).cloned().collect()
}

/// The `Done` event with a finish reason.
pub(crate) fn done(reason: &str) -> ChatEvent {
    ChatEvent::Done { finish_reason: Some(reason.into()) }
}

pub(crate) fn usage(prompt_tokens: u64, completion_tokens: u64) -> ChatEvent {
    ChatEvent::Usage { prompt_tokens, completion_tokens }
}

/// The error that ended a stream.
pub(crate) fn last_error(events: &Events) -> ProviderError {
    events.last().and_then(|e| e.clone().err()).expect("the stream ends with an error")
}

/// Runs a chat to its end.
pub(crate) async fn chat(p: &impl Provider, req: ChatRequest) -> Events {
    p.chat(req).await.expect("a stream").collect().await
}

/// Runs a chat that fails before its stream starts.
pub(crate) async fn chat_error(p: &impl Provider, req: ChatRequest) -> ProviderError {
    p.chat(req).await.err().expect("an error before the stream")
}

/// A recorded transcript from `tests/fixtures/transcripts/`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/transcripts/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub(crate) fn timeouts() -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), idle: Duration::from_secs(5) }
}

pub(crate) fn client() -> reqwest::Client {
    super::http_client(timeouts()).expect("client")
}

/// What the test server was sent.
pub(crate) struct Request {
    pub head: String,
    pub body: Vec<u8>,
}

impl Request {
    /// The request line, e.g. `POST /api/chat HTTP/1.1`.
    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// Serves one connection on 127.0.0.1: reads one request, writes `parts`,
/// then closes. Returns the base
/// URL and the recorded request.
pub(crate) async fn serve(parts: Vec<Vec<u8>>) -> (String, tokio::task::JoinHandle<Request>) {
    serve_slowly(parts, Duration::ZERO).await
}

/// Like [`serve`], sleeping `pause` before each part after the first.
pub(crate) async fn serve_slowly(
    parts: Vec<Vec<u8>>,
    pause: Duration,
) -> (String, tokio::task::JoinHandle<Request>) {
    let (url, task) = serve_each(vec![parts], pause).await;
    (url, tokio::spawn(async move { task.await.expect("server").remove(0) }))
}

/// Like [`serve`], one connection per response, in order.
pub(crate) async fn serve_each(
    responses: Vec<Vec<Vec<u8>>>,
    pause: Duration,
) -> (String, tokio::task::JoinHandle<Vec<Request>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut requests = Vec::new();
        for parts in responses {
            let (mut sock, _) = listener.accept().await.expect("accept");
            requests.push(read_request(&mut sock).await);
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                // The client may hang up early (on an error); that is its right.
                if sock.write_all(part).await.is_err() || sock.flush().await.is_err() {
                    break;
                }
            }
            let _ = sock.shutdown().await;
        }
        requests
    });
    (url, task)
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Request {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = sock.read(&mut tmp).await.expect("read");
        assert!(n > 0, "client closed before sending a request");
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut req = Request { head, body: Vec::new() };
    let len: usize = req.header("content-length").map_or(0, |v| v.parse().expect("length"));
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await.expect("read body");
        assert!(n > 0, "client closed mid-body");
        buf.extend_from_slice(&tmp[..n]);
    }
    req.body = buf[head_end..head_end + len].to_vec();
    req
}

/// A whole response with a length, closing the connection after it.
pub(crate) fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<Vec<u8>> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    vec![[head.as_bytes(), body].concat()]
}

/// A 200 chunked response carrying `body` in three chunks. Without
/// `complete` the connection closes before the last chunk, as when a server
/// dies mid-answer.
pub(crate) fn chunked(content_type: &str, body: &[u8], complete: bool) -> Vec<Vec<u8>> {
    let head =
        format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n");
    let mut parts = vec![head.into_bytes()];
    for piece in body.chunks(body.len().div_ceil(3).max(1)) {
        parts.push([format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat());
    }
    if complete {
        parts.push(b"0\r\n\r\n".to_vec());
    }
    parts
}
