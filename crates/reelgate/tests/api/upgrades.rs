//! Veo sold by resolution (720p as made, 1080p and 4K as Kie's upgrades) and Kie's signed
//! callbacks, through the real server against the simulator.

use crate::helpers::{json, TestApp};
use base64::Engine;
use hmac::Mac;
use kie_sim::{Faults, SimConfig};
use reelgate::config::Settings;
use rust_decimal::Decimal;
use serde_json::json;
use std::time::Duration;

fn requests(app: &TestApp, route: &str) -> u64 {
    app.sim
        .stats()
        .requests
        .get(route)
        .copied()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_veo_video_sold_in_4k_settles_with_its_4k_version_at_the_4k_price() {
    let app = TestApp::spawn_with_sim(
        Settings::default(),
        SimConfig {
            uhd_delay: Duration::from_millis(600),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let kie_before = app.sim.balance();
    let (_, key) = app.customer("ada", 1000).await;
    let (status, created) = app
        .submit(
            &key,
            json!({"model": "veo3-fast", "prompt": "a fox", "aspect_ratio": "9:16", "resolution": "4K"}),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    // $0.90 × 1.5 × 108 = 145.8 → 145 (pricing.md's rule, steps of 5).
    assert_eq!(created["credits"], 145);
    assert_eq!(
        created["params"]["resolution"], "4k",
        "stored as reelgate spells it"
    );
    let id = created["id"].as_str().unwrap();
    let done = app.settled(&key, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let resolutions: Vec<_> = done["videos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["resolution"].clone())
        .collect();
    assert_eq!(resolutions, [json!("720p"), json!("4K")], "{done}");
    let uhd = done["videos"][1]["url"].as_str().unwrap();
    let file = app.client.get(uhd).send().await.unwrap();
    assert_eq!(file.status(), 200, "the 4K video plays from reelgate");
    app.assert_charged(&key, id, 145).await;
    assert_eq!(app.balance(&key).await, (1000 - 145, 0));
    // Kie was paid the video and the upgrade, once each: 60 + 120 Kie credits ($0.90).
    assert_eq!(kie_before - app.sim.balance(), Decimal::from(180));
    assert!(
        requests(&app, "POST /api/v1/veo/get-4k-video") >= 2,
        "asked, then waited"
    );
    assert_eq!(requests(&app, "GET /api/v1/veo/get-1080p-video"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4k_upgrade_kie_cannot_make_fails_the_generation_and_refunds_it() {
    let app = TestApp::with_faults(Faults {
        upscale_failure_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let (_, key) = app.customer("ada", 1000).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "veo3-lite", "prompt": "a fox", "resolution": "4k"}),
        )
        .await;
    assert_eq!(created["credits"], 120, "$0.75 → 121.5 → 120");
    let id = created["id"].as_str().unwrap();
    let done = app.settled(&key, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "upgrade_unavailable");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.contains("4K version"), "{message}");
    assert!(message.contains("credits have been returned"), "{message}");
    app.assert_refunded(&key, id, 120).await;
    assert_eq!(app.balance(&key).await, (1000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_veo_video_sold_at_720p_is_not_upgraded() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1000).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "veo3-fast", "prompt": "a fox", "aspect_ratio": "16:9"}),
        )
        .await;
    assert_eq!(created["credits"], 50, "the seed's 720p price");
    let done = app.settled(&key, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["videos"].as_array().unwrap().len(), 1, "{done}");
    assert_eq!(done["videos"][0]["resolution"], "720p");
    assert_eq!(requests(&app, "GET /api/v1/veo/get-1080p-video"), 0);
    assert_eq!(requests(&app, "POST /api/v1/veo/get-4k-video"), 0);
}

/// Kie's scheme: base64(HMAC-SHA256(key, taskId + "." + timestamp)).
fn kie_signature(key: &str, task_id: &str, timestamp: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{task_id}.{timestamp}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_kies_webhook_key_signed_callbacks_are_taken_and_forged_ones_refused() {
    const KEY: &str = "kie-account-webhook-key";
    // Polling too slow to settle anything within the test: only the callback can.
    let app = TestApp::spawn_polling(
        Settings::default().with("REELGATE_KIE_WEBHOOK_KEY", KEY),
        SimConfig {
            webhook_key: Some(KEY.into()),
            ..SimConfig::for_tests()
        },
        Duration::from_secs(60),
        Duration::from_secs(120),
    )
    .await;
    let (_, key) = app.customer("ada", 1000).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
        )
        .await;
    let done = app.settled(&key, created["id"].as_str().unwrap()).await;
    assert_eq!(
        done["status"], "succeeded",
        "the signed callback was taken: {done}"
    );
    let stats = app.sim.stats();
    assert_eq!((stats.callbacks_sent, stats.callbacks_failed), (1, 0));

    let task = &app.sim.tasks()[0];
    let url = task.callback_url.clone().unwrap();
    let body = json!({"code": 200, "msg": "ok", "data": {"taskId": task.task_id,
        "info": {"resultUrls": ["https://forged.example/v.mp4"]}}});
    let now = chrono::Utc::now().timestamp().to_string();
    let post = |timestamp: Option<&str>, signature: Option<String>| {
        let mut request = app.client.post(&url).json(&body);
        if let Some(at) = timestamp {
            request = request.header("X-Webhook-Timestamp", at);
        }
        if let Some(signature) = signature {
            request = request.header("X-Webhook-Signature", signature);
        }
        request.send()
    };
    // The right token but no signature, another key's, another time's, another task's.
    let refused = [
        post(None, None).await.unwrap(),
        post(
            Some(&now),
            Some(kie_signature("not-the-key", &task.task_id, &now)),
        )
        .await
        .unwrap(),
        post(Some("1"), Some(kie_signature(KEY, &task.task_id, &now)))
            .await
            .unwrap(),
        post(
            Some(&now),
            Some(kie_signature(KEY, "task_0000000000000001", &now)),
        )
        .await
        .unwrap(),
    ];
    for response in refused {
        let status = response.status().as_u16();
        let (_, error) = json(response).await;
        assert_eq!(status, 403, "{error}");
    }
    let signed = post(Some(&now), Some(kie_signature(KEY, &task.task_id, &now)))
        .await
        .unwrap();
    assert_eq!(signed.status(), 200, "Kie's own signature is taken");
    // Even signed, the body is not believed: the video is still Kie's, not the forged one.
    let (_, again) = json(
        app.get_as(
            &key,
            &format!("/v1/generations/{}", done["id"].as_str().unwrap()),
        )
        .await,
    )
    .await;
    assert_eq!(again["videos"], done["videos"]);
}
