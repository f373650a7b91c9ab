//! Small HTTP servers on 127.0.0.1 that answer exactly what a test says
//! (targets for fetch, a SearXNG-shaped search API).

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A one-shot-per-connection HTTP server on 127.0.0.1: `respond` gets the
/// request head and writes the whole response.
pub async fn serve<F, Fut>(respond: F) -> u16
where
    F: Fn(String, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                respond(String::from_utf8_lossy(&head).into_owned(), sock).await;
            });
        }
    });
    port
}

/// A server that answers every request with `status`, `headers` and `body`.
pub async fn fixed(status: &'static str, headers: String, body: Vec<u8>) -> u16 {
    serve(move |_, mut sock| {
        let (headers, body) = (headers.clone(), body.clone());
        async move {
            let head = format!(
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
        }
    })
    .await
}
