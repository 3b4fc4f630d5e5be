//! Customer webhooks: signed per Standard Webhooks, verified here with an independent HMAC,
//! retried when the receiver fails.

use crate::helpers::{json, TestApp};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use reelgate::config::Settings;
use serde_json::json;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// Answer 500 to this many deliveries first.
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    receiver.received.lock().unwrap().push((headers, body));
    let mut fail = receiver.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::NO_CONTENT
}

async fn start_receiver(fail_first: u32) -> (String, Receiver) {
    let receiver = Receiver::default();
    *receiver.fail_first.lock().unwrap() = fail_first;
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

async fn deliveries(receiver: &Receiver, at_least: usize) -> Vec<(HeaderMap, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = receiver.received.lock().unwrap().clone();
        if got.len() >= at_least {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} deliveries arrived",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Standard Webhooks check, written from the scheme's description rather than with the
/// product's signer.
fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    let content = format!(
        "{}.{}.{}",
        header("webhook-id"),
        header("webhook-timestamp"),
        body
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(content.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header("webhook-signature")
        .split(' ')
        .any(|sig| sig == format!("v1,{expected}"))
}

#[tokio::test]
async fn a_finished_generation_is_posted_signed_to_its_webhook() {
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_ALLOW_PRIVATE_URLS", "true")).await;
    let (_, key) = app.customer("ada", 100).await;
    let (url, receiver) = start_receiver(0).await;
    let (status, created) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "fox", "webhook_url": url}),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().unwrap();
    app.settled(&key, id).await;
    let (headers, body) = deliveries(&receiver, 1).await.remove(0);
    let (_, secret) = json(app.get_as(&key, "/v1/account/webhook-secret").await).await;
    let secret = secret["webhook_secret"].as_str().unwrap();
    assert!(verify(secret, &headers, &body), "signature must verify");
    assert!(
        !verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &headers, &body),
        "and only with the right secret"
    );
    let timestamp: i64 = headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["id"], id);
    assert_eq!(payload["status"], "succeeded");
    assert!(payload["videos"][0]["url"].is_string());
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_delivery_again() {
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_ALLOW_PRIVATE_URLS", "true")).await;
    let (_, key) = app.customer("ada", 100).await;
    let (url, receiver) = start_receiver(1).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "fox", "webhook_url": url}),
        )
        .await;
    app.settled(&key, created["id"].as_str().unwrap()).await;
    let got = deliveries(&receiver, 2).await;
    assert_eq!(
        got[0].0["webhook-id"], got[1].0["webhook-id"],
        "a retry keeps its id so receivers can dedupe"
    );
    assert_eq!(got[0].1, got[1].1);
}

#[tokio::test]
async fn webhook_urls_on_private_networks_are_refused_by_default() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 100).await;
    let (url, _) = start_receiver(0).await;
    let (status, error) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "fox", "webhook_url": url}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "webhook_url");
    assert_eq!(app.balance(&key).await, (100, 0));
}
