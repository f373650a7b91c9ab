//! The SSRF matrix for `fetch`: one test per address class and trick.
//!
//! Only loopback receives traffic. Targets run on 127.0.0.0/8 and are
//! refused while the allow-list is off, and reached when it allows them;
//! other classes are refused before any connection is made (the URLs name
//! them, or a name resolves to them through the test's own resolver).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctl::config::Config;
use ctl::tools::{BoxFuture, Resolve, ToolError, Toolbox};
use tokio::io::AsyncWriteExt;

use crate::helper::http::{fixed, serve};

/// A resolver the test controls: name → addresses, no DNS.
struct Table(HashMap<String, Vec<IpAddr>>);

impl Resolve for Table {
    fn resolve(&self, host: String) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let found = self.0.get(&host).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host}: unknown")))
        })
    }
}

fn table() -> Arc<Table> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    Arc::new(Table(HashMap::from([
        ("internal.test".to_owned(), vec![ip("127.0.0.1")]),
        ("private.test".to_owned(), vec![ip("10.0.0.7")]),
        ("metadata.test".to_owned(), vec![ip("169.254.169.254")]),
        ("mixed.test".to_owned(), vec![ip("93.184.216.34"), ip("127.0.0.1")]),
        ("v6loop.test".to_owned(), vec![ip("::1")]),
    ])))
}

/// A toolbox whose fetch has `extra` settings (e.g. `allow_private`).
fn toolbox(extra: &str) -> Toolbox {
    let config = Config::parse(&format!("[tools.fetch]\n{extra}\n"), None, std::iter::empty()).unwrap();
    Toolbox::builder(&config).resolver(table()).build().unwrap()
}

const ALLOW_LOOPBACK: &str = "allow_private = [\"127.0.0.0/8\"]";

async fn page(body: &str) -> u16 {
    fixed("200 OK", "content-type: text/html\r\n".into(), body.as_bytes().to_vec()).await
}

async fn fetch(t: &Toolbox, url: &str) -> Result<ctl::tools::ToolOutput, ToolError> {
    t.call("fetch", serde_json::json!({ "url": url })).await
}

fn refused(r: Result<ctl::tools::ToolOutput, ToolError>, why: &str) {
    match r {
        Err(ToolError::Refused(m)) => assert!(m.contains(why), "refused, but for {m:?} (wanted {why:?})"),
        other => panic!("expected a refusal ({why}), got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_is_refused_until_allowed() {
    let port = page("<h1>Hello from loopback</h1>").await;
    let url = format!("http://127.0.0.1:{port}/");
    refused(fetch(&toolbox(""), &url).await, "loopback");
    let out = fetch(&toolbox(ALLOW_LOOPBACK), &url).await.unwrap();
    assert!(out.text.contains("# Hello from loopback"), "{}", out.text);
    // Anywhere in 127.0.0.0/8.
    refused(fetch(&toolbox(""), &format!("http://127.0.0.2:{port}/")).await, "loopback");
}

#[tokio::test]
async fn private_rfc1918_addresses_are_refused() {
    for host in ["10.0.0.1", "172.16.5.4", "172.31.255.1", "192.168.1.1"] {
        refused(fetch(&toolbox(""), &format!("http://{host}/")).await, "private address");
    }
    // The allow-list admits only its own networks.
    refused(
        fetch(&toolbox("allow_private = [\"10.1.0.0/16\"]"), "http://10.2.0.1/").await,
        "private address",
    );
}

#[tokio::test]
async fn link_local_and_the_metadata_address_are_refused() {
    refused(fetch(&toolbox(""), "http://169.254.169.254/latest/meta-data/").await, "metadata");
    refused(fetch(&toolbox(ALLOW_LOOPBACK), "http://169.254.1.1/").await, "link-local");
    refused(fetch(&toolbox(""), "http://[fe80::1]/").await, "link-local");
}

#[tokio::test]
async fn cgnat_unspecified_multicast_broadcast_are_refused() {
    let t = toolbox(ALLOW_LOOPBACK);
    refused(fetch(&t, "http://100.64.0.1/").await, "carrier-grade NAT");
    refused(fetch(&t, "http://0.0.0.0/").await, "unspecified");
    refused(fetch(&t, "http://[::]/").await, "unspecified");
    refused(fetch(&t, "http://224.0.0.1/").await, "multicast");
    refused(fetch(&t, "http://[ff02::1]/").await, "multicast");
    refused(fetch(&t, "http://255.255.255.255/").await, "broadcast");
}

#[tokio::test]
async fn ula_and_site_local_ipv6_are_refused() {
    refused(fetch(&toolbox(""), "http://[fd00::1]/").await, "unique local");
    refused(fetch(&toolbox(""), "http://[fc12::1]/").await, "unique local");
    refused(fetch(&toolbox(""), "http://[fec0::1]/").await, "site-local");
}

#[tokio::test]
async fn ipv4_mapped_compatible_and_nat64_ipv6_are_refused_even_when_loopback_is_allowed() {
    let port = page("mapped").await;
    let t = toolbox(ALLOW_LOOPBACK);
    refused(fetch(&t, &format!("http://[::ffff:127.0.0.1]:{port}/")).await, "IPv4-mapped");
    refused(fetch(&t, &format!("http://[::ffff:7f00:1]:{port}/")).await, "IPv4-mapped");
    refused(fetch(&t, &format!("http://[::127.0.0.1]:{port}/")).await, "IPv4-compatible");
    refused(fetch(&t, "http://[64:ff9b::7f00:1]/").await, "NAT64");
    refused(fetch(&t, "http://[64:ff9b::a9fe:a9fe]/").await, "NAT64");
}

#[tokio::test]
async fn decimal_octal_and_hex_spellings_of_loopback_are_refused() {
    let port = page("spelled").await;
    let t = toolbox("");
    for host in ["2130706433", "017700000001", "0177.0.0.1", "0x7f000001", "0x7f.0.0.1", "0x7f.1", "127.1"] {
        refused(fetch(&t, &format!("http://{host}:{port}/")).await, "loopback");
    }
    // With loopback allowed, the same spellings reach the same server.
    let out = fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://0x7f.1:{port}/")).await.unwrap();
    assert!(out.text.contains("spelled"));
}

#[tokio::test]
async fn a_bracketed_ipv6_loopback_literal_is_refused() {
    refused(fetch(&toolbox(""), "http://[::1]:9/").await, "loopback");
    refused(fetch(&toolbox(""), "http://[0:0:0:0:0:0:0:1]/").await, "loopback");
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_until_allowed() {
    let port = page("<p>internal page</p>").await;
    let url = format!("http://internal.test:{port}/");
    refused(fetch(&toolbox(""), &url).await, "internal.test is 127.0.0.1, a loopback address");
    assert!(fetch(&toolbox(ALLOW_LOOPBACK), &url).await.unwrap().text.contains("internal page"));
    // The system resolver's `localhost` too.
    refused(
        fetch(&Toolbox::from_config(&Config::default()).unwrap(), &format!("http://localhost:{port}/")).await,
        "loopback",
    );
    // A name with a private, a metadata or an IPv6 loopback answer.
    refused(fetch(&toolbox(""), "http://private.test/").await, "private address");
    refused(fetch(&toolbox(""), "http://metadata.test/").await, "metadata");
    refused(fetch(&toolbox(""), "http://v6loop.test/").await, "loopback");
}

#[tokio::test]
async fn a_name_with_a_public_and_a_loopback_answer_is_refused_whole() {
    refused(fetch(&toolbox(""), "http://mixed.test/").await, "127.0.0.1");
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let port =
        fixed("302 Found", "location: http://169.254.169.254/latest/meta-data/iam\r\n".into(), Vec::new())
            .await;
    refused(fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{port}/")).await, "metadata");
    // And to a name that resolves there, relative or not.
    let port = fixed("301 Moved", "location: http://metadata.test/x\r\n".into(), Vec::new()).await;
    refused(fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{port}/")).await, "metadata");
}

#[tokio::test]
async fn redirects_are_followed_five_times_at_most_each_checked() {
    let target = page("<p>arrived</p>").await;
    let hop =
        fixed("307 Temporary", format!("location: http://127.0.0.1:{target}/end\r\n"), Vec::new()).await;
    let out = fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{hop}/start")).await.unwrap();
    assert!(out.text.contains("arrived"));
    assert_eq!(out.structured.unwrap()["final_url"], format!("http://127.0.0.1:{target}/end"));
    // An endless loop stops after five.
    let looping = serve(|head, mut sock| async move {
        let n: u32 =
            head.split_whitespace().nth(1).and_then(|p| p.trim_start_matches('/').parse().ok()).unwrap_or(0);
        let port = sock.local_addr().unwrap().port();
        let resp = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{port}/{}\r\ncontent-length: 0\r\n\r\n",
            n + 1
        );
        let _ = sock.write_all(resp.as_bytes()).await;
    })
    .await;
    refused(
        fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{looping}/0")).await,
        "more than 5 redirects",
    );
}

#[tokio::test]
async fn a_slow_loris_server_runs_into_the_time_limit() {
    let port = serve(|_, mut sock| async move {
        for b in b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-slow: ".iter().cycle().take(10_000) {
            if sock.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let t = toolbox(&format!("{ALLOW_LOOPBACK}\ntimeout_secs = 1.5"));
    let started = Instant::now();
    let err = fetch(&t, &format!("http://127.0.0.1:{port}/")).await.unwrap_err();
    assert_eq!(err, ToolError::Timeout(1500));
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_body_that_never_ends_stops_at_the_cap_or_the_clock() {
    let endless = serve(|_, mut sock| async move {
        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n").await;
        let chunk = vec![b'a'; 64 * 1024];
        while sock.write_all(&chunk).await.is_ok() {}
    })
    .await;
    let t = toolbox(&format!("{ALLOW_LOOPBACK}\nmax_body_bytes = 200000\nmax_output_bytes = 1000000"));
    let out = fetch(&t, &format!("http://127.0.0.1:{endless}/")).await.unwrap();
    let s = out.structured.unwrap();
    assert_eq!(s["body_bytes"], 200_000);
    assert_eq!(s["body_truncated"], true);
    assert!(out.text.contains("the body was cut at 200000 bytes"));

    let trickle = serve(|_, mut sock| async move {
        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n").await;
        while sock.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let t = toolbox(&format!("{ALLOW_LOOPBACK}\ntimeout_secs = 1"));
    assert_eq!(
        fetch(&t, &format!("http://127.0.0.1:{trickle}/")).await.unwrap_err(),
        ToolError::Timeout(1000)
    );
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_cap_after_decompression() {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write as _;
    // 200 MB of zeros, about 200 KB compressed.
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![b' '; 1024 * 1024];
    for _ in 0..200 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024);
    let port = fixed("200 OK", "content-type: text/plain\r\ncontent-encoding: gzip\r\n".into(), bomb).await;
    let t = toolbox(&format!("{ALLOW_LOOPBACK}\nmax_body_bytes = 1000000"));
    let out = fetch(&t, &format!("http://127.0.0.1:{port}/")).await.unwrap();
    let s = out.structured.unwrap();
    assert_eq!(s["body_bytes"], 1_000_000, "{s}");
    assert_eq!(s["body_truncated"], true);
}

#[tokio::test]
async fn oversized_headers_binary_bodies_and_other_schemes_are_refused() {
    let big = format!("x-filler: {}\r\n", "h".repeat(40_000));
    let port = fixed("200 OK", format!("content-type: text/plain\r\n{big}"), b"hi".to_vec()).await;
    refused(fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{port}/")).await, "headers");

    let png = fixed("200 OK", "content-type: image/png\r\n".into(), b"\x89PNG\r\n\x1a\n".to_vec()).await;
    let err = fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{png}/")).await.unwrap_err();
    assert!(err.to_string().contains("image/png, not text"), "{err}");
    let undeclared = fixed("200 OK", String::new(), vec![0, 1, 2, 0xff, 0xfe]).await;
    let err = fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{undeclared}/")).await.unwrap_err();
    assert!(err.to_string().contains("binary"), "{err}");

    for url in
        ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:70/", "http://user:pw@127.0.0.1/"]
    {
        assert!(matches!(fetch(&toolbox(ALLOW_LOOPBACK), url).await, Err(ToolError::Refused(_))), "{url}");
    }
}

#[tokio::test]
async fn fetch_identifies_as_ctl_in_its_user_agent() {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let port = serve(move |head, mut sock| {
        let tx = tx.clone();
        async move {
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(head);
            }
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
                .await;
        }
    })
    .await;
    let out = fetch(&toolbox(ALLOW_LOOPBACK), &format!("http://127.0.0.1:{port}/ua")).await.unwrap();
    assert!(out.text.ends_with("ok"));
    let head = rx.await.unwrap().to_ascii_lowercase();
    assert!(head.contains("user-agent: ctl/"), "{head}");
}
