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
pub struct Receiver {
    pub received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
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

pub async fn start_receiver(fail_first: u32) -> (String, Receiver) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

/// A test's app that may post webhooks to this machine, with a customer and a receiver.
async fn app_with_receiver(
    fail_first: u32,
) -> (TestApp, reelgate_domain::accounts::ApiKey, String, Receiver) {
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_ALLOW_PRIVATE_URLS", "true")).await;
    let (_, key) = app.customer("ada", 1000).await;
    let (url, receiver) = start_receiver(fail_first).await;
    (app, key, url, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_is_announced_with_reelgates_own_links_and_its_type() {
    let (app, key, url, receiver) = app_with_receiver(0).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "fox", "webhook_url": url}),
        )
        .await;
    let (headers, body) = deliveries(&receiver, 1).await.remove(0);
    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["type"], "generation.succeeded");
    assert_eq!(payload["id"], created["id"]);
    let link = payload["videos"][0]["url"].as_str().unwrap();
    assert!(
        link.starts_with(&app.address),
        "reelgate's own copy, not Kie's temporary file: {link}"
    );
    // The link works on its own, as a customer's program would fetch it.
    let video = reqwest::get(link).await.unwrap();
    assert_eq!(video.status(), 200);
    assert_eq!(video.headers()["content-type"], "video/mp4");
    assert!(payload["timestamp"].is_string());
    assert!(headers["webhook-id"].to_str().unwrap().starts_with("msg_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1080p_video_arriving_later_is_a_videos_updated_event() {
    let app = TestApp::spawn_with_sim(
        Settings::default().with("REELGATE_ALLOW_PRIVATE_URLS", "true"),
        kie_sim::SimConfig {
            hd_delay: Duration::from_millis(1500),
            ..kie_sim::SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 1000).await;
    let (url, receiver) = start_receiver(0).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "veo3-fast", "prompt": "fox", "aspect_ratio": "16:9", "resolution": "1080p", "webhook_url": url}),
        )
        .await;
    let got = deliveries(&receiver, 2).await;
    let events: Vec<serde_json::Value> = got
        .iter()
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"generation.succeeded"), "{types:?}");
    let updated = events
        .iter()
        .find(|e| e["type"] == "generation.videos_updated")
        .unwrap_or_else(|| panic!("no videos_updated among {types:?}"));
    assert_eq!(updated["id"], created["id"]);
    let videos = updated["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 2, "{updated}");
    assert_eq!(videos[1]["resolution"], "1080p");
    for video in videos {
        assert!(
            video["url"].as_str().unwrap().starts_with(&app.address),
            "{video}"
        );
    }
    assert_ne!(
        got[0].0["webhook-id"], got[1].0["webhook-id"],
        "two messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_lists_deliveries_and_resends_one_with_the_same_id() {
    let (app, key, url, receiver) = app_with_receiver(0).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "fox", "webhook_url": url}),
        )
        .await;
    let first = deliveries(&receiver, 1).await.remove(0);
    let mut log = serde_json::Value::Null;
    crate::helpers::wait_until("the delivery is recorded as delivered", async || {
        log = json(app.get_as(&key, "/v1/account/webhook-deliveries").await)
            .await
            .1;
        log["deliveries"][0]["state"] == "delivered"
    })
    .await;
    let delivery = &log["deliveries"][0];
    assert_eq!(delivery["generation_id"], created["id"]);
    assert_eq!(delivery["type"], "generation.succeeded");
    assert_eq!(delivery["url"], url.as_str());
    assert_eq!(delivery["attempts"], 1);
    let id = delivery["id"].as_str().unwrap();
    assert_eq!(first.0["webhook-id"], id);

    let (_, other) = app.customer("bob", 0).await;
    let path = format!("/v1/account/webhook-deliveries/{id}/resend");
    let (status, _) = json(app.post_as(&other, &path, json!({})).await).await;
    assert_eq!(status, 404, "only its owner may resend it");
    let (status, _) = json(app.post_as(&key, &path, json!({})).await).await;
    assert_eq!(status, 202);
    let again = deliveries(&receiver, 2).await.remove(1);
    assert_eq!(again.0["webhook-id"], id, "the same message");
    assert_eq!(again.1, first.1, "with the same body");
}
