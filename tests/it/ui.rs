//! The embedded web UI as `ctl serve` delivers it (the SPA fallback, asset
//! caching, security headers), and the API routes added for it. The UI's
//! own behaviour is tested in a real browser by `ui/e2e` (see `.ci/run`).

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::helper::{Env, client, get, post};

/// The first script the committed `ui/dist/index.html` loads.
fn entry_script() -> String {
    let html = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/dist/index.html")).unwrap();
    let start = html.find("src=\"/assets/").expect("index.html loads a script from /assets/") + 5;
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn every_page_address_gets_the_app_and_assets_are_cached_for_good() {
    let env = Env::new();
    let srv = env.serve();
    let c = client();
    for path in ["/", "/queue", "/stats", "/job/01JDQ7T3ZK4M8X2B6N0C5V9WAE", "/chat/abc"] {
        let r = c.get(format!("{}{path}", srv.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8", "{path}");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache", "{path}");
        let csp = r.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        assert!(r.text().await.unwrap().contains("<div id=\"root\">"), "{path}");
    }

    let script = entry_script();
    let r = c.get(format!("{}{script}", srv.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(r.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
    let etag = r.headers()[ETAG].clone();
    let body = r.bytes().await.unwrap();
    let on_disk = std::fs::read(format!("{}/ui/dist{script}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert_eq!(body.as_ref(), on_disk.as_slice(), "the embedded file is the built one");
    let again = c.get(format!("{}{script}", srv.url)).header(IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // A missing asset is a 404, not the app; API paths and writes stay JSON 404s.
    let r = c.get(format!("{}/assets/gone-1234.js", srv.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    for (method, path) in [("GET", "/api/v1/nope"), ("GET", "/api"), ("POST", "/queue"), ("DELETE", "/")] {
        let r = c
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", srv.url))
            .send()
            .await
            .unwrap();
        assert!(r.status() == 404 || r.status() == 405, "{method} {path}: {}", r.status());
        if r.status() == 404 {
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "not_found", "{method} {path}");
        }
    }
}

/// A chat message can name skills; the job keeps their exact text, and
/// `GET /jobs/{id}/skills` hands it back (the job page's "show text").
#[tokio::test]
async fn chat_messages_take_skills_and_jobs_show_their_snapshots() {
    let env = Env::new();
    let token = env.token("ui");
    let srv = env.serve();
    let (_, session) = post(&srv, &token, "/api/v1/sessions", json!({})).await;
    let sid = session["id"].as_str().unwrap();
    let body = json!({"content": "Summarise this.", "skills": ["summarize", "explain"]});
    let (status, sent) = post(&srv, &token, &format!("/api/v1/sessions/{sid}/messages"), body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job = sent["job_id"].as_str().unwrap();

    let (_, view) = get(&srv, &token, &format!("/api/v1/jobs/{job}")).await;
    let (status, snaps) = get(&srv, &token, &format!("/api/v1/jobs/{job}/skills")).await;
    assert_eq!(status, StatusCode::OK);
    let snaps = snaps.as_array().unwrap();
    assert_eq!(snaps.len(), 2);
    for (snap, r) in snaps.iter().zip(view["skills"].as_array().unwrap()) {
        assert_eq!(snap["name"], r["name"]);
        assert_eq!(snap["sha256"], r["sha256"]);
        let text = snap["text"].as_str().unwrap();
        let shown = env.ok(&["skills", "show", snap["name"].as_str().unwrap(), "--json"]);
        let shown: Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(text, shown["text"].as_str().unwrap(), "the snapshot is the skill's exact text");
    }

    let (missing, _) = get(&srv, &token, "/api/v1/jobs/01JDQ7T3ZK4M8X2B6N0C5V9WAE/skills").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    let body = json!({"content": "again", "skills": ["no-such-skill"]});
    let (unknown, _) = post(&srv, &token, &format!("/api/v1/sessions/{sid}/messages"), body).await;
    assert_eq!(unknown, StatusCode::BAD_REQUEST, "an unknown skill is refused, not ignored");
}

/// What a phone needs to install the UI, served without a login: the
/// manifest (with its own media type), every icon it names, and the
/// service worker, which is revalidated on every load so a new build
/// replaces the old shell.
#[tokio::test]
async fn the_manifest_icons_and_service_worker_are_served_for_installing() {
    let env = Env::new();
    let srv = env.serve();
    let c = client();
    let r = c.get(format!("{}/manifest.webmanifest", srv.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_TYPE], "application/manifest+json");
    let manifest: Value = r.json().await.unwrap();
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().unwrap();
    assert!(icons.len() >= 3);
    for icon in icons {
        let src = icon["src"].as_str().unwrap();
        let r = c.get(format!("{}{src}", srv.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{src}");
        assert_eq!(r.headers()[CONTENT_TYPE], icon["type"].as_str().unwrap(), "{src}");
    }

    let r = c.get(format!("{}/sw.js", srv.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    let worker = r.text().await.unwrap();
    assert!(!worker.contains("__CTL_SHELL__"), "the build filled in the shell list");

    let page = c.get(&srv.url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<link rel="manifest" href="/manifest.webmanifest" />"#), "{page}");
}
