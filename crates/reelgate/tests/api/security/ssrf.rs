//! Server-side request forgery through the URLs a customer gives: webhook URLs (reelgate
//! posts to them) and image URLs (Kie fetches them). Every spelling of a loopback, private,
//! link-local or otherwise internal address is refused with a 400 naming the field.
//!
//! The customer has no credits, so a URL wrongly let through would answer 402, never reach a
//! worker, and never make reelgate send anything to the address. Names that resolve to
//! private addresses can only be tested offline with what this machine resolves by itself:
//! `localhost.` (a DNS name to the URL parser) and the machine's own host name. Public names
//! resolving to private addresses (`*.localtest.me`, DNS rebinding) need a resolver we do not
//! have here; the delivery path re-resolves and re-checks each time for that reason.

use crate::helpers::{json, wait_until, TestApp};
use reelgate::config::Settings;
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const INTERNAL: &[&str] = &[
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://127.0.0.2:8080/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0x7f.0.0.1/hook",
    "http://0177.0.0.1/hook",
    "http://017700000001/hook",
    "http://0/hook",
    "http://0.0.0.0/hook",
    "http://10.0.0.1/hook",
    "http://10.1/hook",
    "http://167772161/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.255/hook",
    "http://192.168.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://198.18.0.1/hook",
    "http://224.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://[::1]/hook",
    "http://[0:0:0:0:0:0:0:1]/hook",
    "http://[::]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[::ffff:a00:1]/hook",
    "http://[::127.0.0.1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    // IPv6 forms that embed an IPv4 address: SIIT (::ffff:0:a.b.c.d), 6to4 (2002:AABB:CCDD::),
    // NAT64 (well-known and local-use prefixes), Teredo.
    "http://[::ffff:0:127.0.0.1]/hook",
    "http://[::ffff:0:a00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[2002:a9fe:a9fe::1]/hook",
    "http://[2002:c0a8:1::]/hook",
    "http://[64:ff9b:1::7f00:1]/hook",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://[fec0::1]/hook",
    "http://localhost/hook",
    "http://LOCALHOST:8080/hook",
    "http://api.localhost/hook",
    "http://localhost./hook",
    "http://user:password@example.com/hook",
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "not a url",
];

fn kling() -> serde_json::Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_urls_to_internal_addresses_are_refused() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("mallory", 0).await;
    let mut urls: Vec<String> = INTERNAL.iter().map(|u| (*u).to_owned()).collect();
    // The machine's own name, when it resolves (to a local address, on any sane machine).
    if let Ok(name) = std::fs::read_to_string("/etc/hostname") {
        if tokio::net::lookup_host((name.trim(), 80)).await.is_ok() {
            urls.push(format!("http://{}/hook", name.trim()));
        }
    }
    for url in urls {
        let mut body = kling();
        body["webhook_url"] = json!(url);
        let (status, answer) = app.submit(&key, body).await;
        assert_eq!(status, 400, "{url} was not refused: {answer}");
        assert_eq!(answer["error"]["field"], "webhook_url", "{url}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_urls_to_internal_addresses_are_refused() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("mallory", 0).await;
    for url in INTERNAL
        .iter()
        .filter(|u| !u.starts_with("http://localhost."))
    {
        let body = json!({"model": "kling-2.6/image-to-video", "prompt": "a fox",
                          "image_urls": [url]});
        let (status, answer) = app.submit(&key, body).await;
        assert_eq!(status, 400, "{url} was not refused: {answer}");
        assert_eq!(answer["error"]["field"], "image_urls", "{url}: {answer}");
    }
}

/// Counts the requests a loopback receiver gets; answers each with `status` and `location`.
async fn receiver(status: u16, location: Option<String>) -> (String, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&hits);
    let handler = move || {
        let counted = Arc::clone(&counted);
        let location = location.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut response = axum::http::Response::builder().status(status);
            if let Some(location) = location {
                response = response.header("location", location);
            }
            response.body(axum::body::Body::empty()).unwrap()
        }
    };
    let router = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_never_follow_redirects() {
    // Loopback receivers need private URLs allowed; the redirect must still not be followed.
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_ALLOW_PRIVATE_URLS", "true")).await;
    let (target, target_hits) = receiver(200, None).await;
    let (redirector, redirector_hits) = receiver(307, Some(format!("{target}/stolen"))).await;
    let (_, key) = app.customer("ada", 1_000).await;
    let mut body = kling();
    body["webhook_url"] = json!(format!("{redirector}/hook"));
    let (status, created) = app.submit(&key, body).await;
    assert_eq!(status, 202, "{created}");
    app.settled(&key, created["id"].as_str().unwrap()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while redirector_hits.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook was never sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Once the attempt is recorded it is over: a redirect followed would have reached the
    // target before then.
    wait_until("the delivery attempt to be recorded", async || {
        let (_, log) = json(app.get_as(&key, "/v1/account/webhook-deliveries").await).await;
        log["deliveries"][0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "a redirect was followed"
    );
    let (_, page) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(page["held"], 0);
}
