//! Veo's paid upgrades (1080p, 4K) and Kie's signed callbacks, over HTTP.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use common::*;
use hmac::Mac;
use kie_sim::{Faults, SimConfig};
use rust_decimal::Decimal;
use serde_json::{json, Value};

type Got = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A callback receiver that keeps the headers too.
async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let keep = got.clone();
    let app = Router::new().route(
        "/cb",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let keep = keep.clone();
            async move { keep.lock().unwrap().push((headers, body)) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn wait_for(got: &Got, n: usize) -> Vec<(HeaderMap, Value)> {
    for _ in 0..500 {
        if got.lock().unwrap().len() >= n {
            return got.lock().unwrap().clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {n} callbacks arrived");
}

fn expected_signature(key: &str, task_id: &str, timestamp: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{task_id}.{timestamp}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn uhd(sim: &TestSim, body: Value) -> Value {
    sim.post("/api/v1/veo/get-4k-video", &body).await
}

#[tokio::test]
async fn a_4k_upgrade_is_charged_once_answers_processing_then_its_file() {
    let sim = TestSim::start(SimConfig {
        uhd_delay: Duration::from_millis(400),
        ..SimConfig::for_tests()
    })
    .await;
    let (url, got) = receiver().await;
    let id = sim
        .create_veo(json!({"prompt": "p", "model": "veo3_lite", "aspect_ratio": "9:16"}))
        .await;
    sim.finished_veo(&id).await;
    let before = sim.sim().balance();
    let first = uhd(&sim, json!({"taskId": id, "index": 0, "callBackUrl": url})).await;
    assert_eq!(first["code"], 200, "{first}");
    assert_eq!(first["data"]["taskId"], id.as_str());
    assert!(first["data"]["resultUrls"].is_null());
    assert_eq!(before - sim.sim().balance(), Decimal::from(120), "$0.60");
    let early = uhd(&sim, json!({"taskId": id})).await;
    assert_eq!(early["code"], 422);
    assert!(
        early["msg"].as_str().unwrap().contains("processing"),
        "{early}"
    );

    let callbacks = wait_for(&got, 1).await;
    let (headers, body) = &callbacks[0];
    assert_eq!(body["code"], 200, "{body}");
    assert!(
        headers.get("x-webhook-signature").is_none(),
        "no key, no signature"
    );
    let ready = uhd(&sim, json!({"taskId": id})).await;
    assert_eq!(ready["code"], 200);
    let file = ready["data"]["resultUrls"][0].as_str().unwrap();
    assert_eq!(body["data"]["info"]["resultUrls"][0], file);
    assert!(file.ends_with("_4k.mp4"), "{file}");
    assert_eq!(sim.download(file).await.status(), 200);
    assert_eq!(
        before - sim.sim().balance(),
        Decimal::from(120),
        "charged once"
    );

    // 1080p is charged once too, when first handed out.
    let before = sim.sim().balance();
    for _ in 0..2 {
        let hd = sim
            .get(&format!("/api/v1/veo/get-1080p-video?taskId={id}"))
            .await;
        assert_eq!(hd["code"], 200, "{hd}");
    }
    assert_eq!(before - sim.sim().balance(), Decimal::from(5), "$0.025");
}

#[tokio::test]
async fn a_failed_4k_upgrade_costs_nothing_and_says_so() {
    let sim = TestSim::start(with_faults(Faults {
        upscale_failure_ratio: 1.0,
        ..Faults::default()
    }))
    .await;
    let (url, got) = receiver().await;
    let id = sim.create_veo(json!({"prompt": "p"})).await;
    sim.finished_veo(&id).await;
    let before = sim.sim().balance();
    assert_eq!(
        uhd(&sim, json!({"taskId": id, "callBackUrl": url})).await["code"],
        200
    );
    let callbacks = wait_for(&got, 1).await;
    assert_eq!(callbacks[0].1["code"], 500, "{}", callbacks[0].1);
    let refused = uhd(&sim, json!({"taskId": id})).await;
    assert_eq!(refused["code"], 422);
    assert!(
        refused["msg"].as_str().unwrap().contains("unavailable"),
        "{refused}"
    );
    assert_eq!(sim.sim().balance(), before);
}

#[tokio::test]
async fn a_4k_request_is_refused_for_what_has_no_video() {
    let sim = TestSim::for_tests().await;
    let unknown = uhd(&sim, json!({"taskId": "veo_task_00000000000000ff"})).await;
    assert_eq!(unknown["code"], 404);
    let job = sim
        .create_task(job_body("kling-2.6/text-to-video", None))
        .await;
    assert_eq!(uhd(&sim, json!({"taskId": job})).await["code"], 404);
    let id = sim.create_veo(json!({"prompt": "p"})).await;
    let stray = uhd(&sim, json!({"taskId": id, "resolution": "4K"})).await;
    assert_eq!(stray["code"], 422);
    let missing = uhd(&sim, json!({"index": 0})).await;
    assert_eq!(missing["msg"], "taskId is required");
}

#[tokio::test]
async fn with_a_webhook_key_every_callback_is_signed_as_kie_signs() {
    let sim = TestSim::start(SimConfig {
        webhook_key: Some("kie-webhook-key".into()),
        ..SimConfig::for_tests()
    })
    .await;
    let (url, got) = receiver().await;
    let veo = sim
        .create_veo(json!({"prompt": "p", "callBackUrl": url}))
        .await;
    let job = sim
        .create_task(job_body("kling-2.6/text-to-video", Some(&url)))
        .await;
    sim.finished_veo(&veo).await;
    uhd(&sim, json!({"taskId": veo, "callBackUrl": url})).await;
    let callbacks = wait_for(&got, 3).await;
    let mut signed_ids = Vec::new();
    for (headers, body) in &callbacks {
        let task_id = body["data"]["taskId"].as_str().unwrap();
        let timestamp = headers["x-webhook-timestamp"].to_str().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(
            (now - timestamp.parse::<i64>().unwrap()).abs() < 60,
            "seconds: {timestamp}"
        );
        assert_eq!(
            headers["x-webhook-signature"].to_str().unwrap(),
            expected_signature("kie-webhook-key", task_id, timestamp)
        );
        signed_ids.push(task_id.to_owned());
    }
    signed_ids.sort();
    let mut expected = vec![veo.clone(), veo, job];
    expected.sort();
    assert_eq!(signed_ids, expected);
}
