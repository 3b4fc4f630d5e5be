//! Extending a finished Veo video through the real server and the simulator: a generation of
//! its own, priced like a new video, charged once on success and refunded on failure; what
//! cannot be extended is refused with nothing charged.

use crate::helpers::{json, TestApp};
use kie_sim::{Faults, SimConfig};
use reelgate::config::Settings;
use reelgate_domain::accounts::ApiKey;
use serde_json::{json, Value};

async fn finished(app: &TestApp, key: &ApiKey, body: Value) -> Value {
    let (status, created) = app.submit(key, body).await;
    assert_eq!(status, 202, "{created}");
    let done = app.settled(key, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    done
}

async fn extend(app: &TestApp, key: &ApiKey, id: &str, body: Value) -> (u16, Value) {
    json(
        app.post_as(key, &format!("/v1/generations/{id}/extend"), body)
            .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_veo_video_is_extended_as_a_generation_of_its_own_at_a_new_videos_price() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1000).await;
    let original = finished(&app, &key, json!({"model": "veo3-fast", "prompt": "a fox"})).await;
    let original_id = original["id"].as_str().unwrap();
    let (quote_status, quote) = json(
        app.post_as(
            &key,
            "/v1/quote",
            json!({"model": "veo3-fast", "prompt": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(quote_status, 200);

    // Quoted first, charging nothing.
    let before = app.balance(&key).await;
    let (status, offers) = json(
        app.get_as(&key, &format!("/v1/generations/{original_id}/follow-ups"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{offers}");
    assert_eq!(offers["extend_credits"], quote["credits"], "{offers}");
    assert_eq!(offers["upscale_credits"], 95, "{offers}");
    assert_eq!(app.balance(&key).await, before);

    let (status, extension) = extend(
        &app,
        &key,
        original_id,
        json!({"prompt": "the fox leaps over the stream", "seeds": 12345}),
    )
    .await;
    assert_eq!(status, 202, "{extension}");
    assert_eq!(
        extension["credits"], quote["credits"],
        "priced like a new video"
    );
    assert_eq!(extension["model"], "veo3-fast");
    assert_eq!(extension["params"]["extends"], original_id);
    let id = extension["id"].as_str().unwrap();
    assert_ne!(id, original_id);
    let done = app.settled(&key, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["videos"].as_array().unwrap().len(), 1, "{done}");

    // Kie was asked to extend the original's task, with Kie's name for the model.
    let tasks = app.sim.tasks();
    let sent = tasks
        .iter()
        .find(|t| t.request.get("taskId").is_some())
        .expect("an extend task");
    // Tasks are listed oldest first: the original's is the first.
    assert_eq!(sent.request["taskId"], tasks[0].task_id.as_str());
    assert_eq!(sent.request["model"], "fast");
    assert_eq!(sent.request["seeds"], 12345);
    assert!(sent.callback_url.is_some());

    // Its own ledger rows: held, then charged, once.
    let credits = done["credits"].as_i64().unwrap();
    app.assert_charged(&key, id, credits).await;
    let (balance, held) = app.balance(&key).await;
    assert_eq!(held, 0);
    assert_eq!(balance, 1000 - 2 * credits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_extension_is_refunded_and_the_original_stays_charged() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1000).await;
    let original = finished(&app, &key, json!({"model": "veo3-fast", "prompt": "a fox"})).await;
    let price = original["credits"].as_i64().unwrap();
    app.sim.set_faults(Faults {
        failure_ratio: 1.0,
        ..Faults::default()
    });
    let (status, extension) = extend(
        &app,
        &key,
        original["id"].as_str().unwrap(),
        json!({"prompt": "and then it rains"}),
    )
    .await;
    assert_eq!(status, 202, "{extension}");
    let id = extension["id"].as_str().unwrap();
    let done = app.settled(&key, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    app.assert_refunded(&key, id, done["credits"].as_i64().unwrap())
        .await;
    assert_eq!(app.balance(&key).await, (1000 - price, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_extended_is_refused_and_nothing_is_charged() {
    let app = TestApp::spawn_with_sim(Settings::default(), SimConfig::for_tests()).await;
    let (_, key) = app.customer("ada", 1000).await;
    let (_, other) = app.customer("bob", 1000).await;
    let kling = finished(
        &app,
        &key,
        json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
    )
    .await;
    let veo = finished(&app, &key, json!({"model": "veo3-fast", "prompt": "a fox"})).await;
    let uhd = finished(
        &app,
        &key,
        json!({"model": "veo3-fast", "prompt": "a fox", "resolution": "4K"}),
    )
    .await;
    let before = app.balance(&key).await;
    let (_, offers) = json(
        app.get_as(
            &key,
            &format!(
                "/v1/generations/{}/follow-ups",
                kling["id"].as_str().unwrap()
            ),
        )
        .await,
    )
    .await;
    assert_eq!(offers, json!({}), "a Kling video has no follow-ups");
    let cases = [
        (
            &key,
            kling["id"].clone(),
            json!({"prompt": "more"}),
            409,
            "not_extendable",
        ),
        (
            &key,
            uhd["id"].clone(),
            json!({"prompt": "more"}),
            409,
            "not_extendable",
        ),
        (
            &other,
            veo["id"].clone(),
            json!({"prompt": "more"}),
            404,
            "not_found",
        ),
        (&key, veo["id"].clone(), json!({}), 400, "missing_parameter"),
        (
            &key,
            veo["id"].clone(),
            json!({"prompt": "more", "model": "veo3"}),
            400,
            "unknown_parameter",
        ),
        (
            &key,
            veo["id"].clone(),
            json!({"prompt": "more", "seeds": 12}),
            400,
            "invalid_parameter",
        ),
    ];
    for (who, id, body, want_status, want_code) in cases {
        let (status, refused) = extend(&app, who, id.as_str().unwrap(), body.clone()).await;
        assert_eq!(status, want_status, "{body} → {refused}");
        assert_eq!(refused["error"]["code"], want_code, "{body} → {refused}");
    }
    assert_eq!(app.balance(&key).await, before, "nothing charged");
    let (status, _) = extend(&app, &key, "gen_nope", json!({"prompt": "more"})).await;
    assert_eq!(status, 404);
}

async fn upscale(app: &TestApp, key: &ApiKey, id: &str) -> (u16, Value) {
    json(
        app.post_as(key, &format!("/v1/generations/{id}/upscale"), json!({}))
            .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_veo_video_is_upscaled_to_4k_as_a_generation_of_its_own_at_the_4k_surcharge() {
    let app = TestApp::spawn_with_sim(
        Settings::default(),
        SimConfig {
            uhd_delay: std::time::Duration::from_millis(400),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 1000).await;
    let original = finished(&app, &key, json!({"model": "veo3-fast", "prompt": "a fox"})).await;
    let original_id = original["id"].as_str().unwrap();
    let kie_before = app.sim.balance();

    let (status, order) = upscale(&app, &key, original_id).await;
    assert_eq!(status, 202, "{order}");
    // Kie's $0.60 for get-4k-video through the rule: 0.60 × 1.5 × 108 = 97.2 → 95.
    assert_eq!(order["credits"], 95, "{order}");
    assert_eq!(order["params"]["upscales"], original_id);
    let id = order["id"].as_str().unwrap();
    let done = app.settled(&key, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let videos = done["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 1, "{done}");
    assert_eq!(videos[0]["resolution"], "4K", "{done}");
    app.assert_charged(&key, id, 95).await;
    assert_eq!(
        kie_before - app.sim.balance(),
        rust_decimal::Decimal::from(120),
        "Kie charged the 4K upgrade once ($0.60 = 120 Kie credits)"
    );

    // An upscaled video cannot be extended: refused here for the 4K one, by Kie (and
    // refunded) for the video it was made from.
    let (status, refused) = extend(&app, &key, id, json!({"prompt": "more"})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "not_extendable");
    let (status, extension) = extend(&app, &key, original_id, json!({"prompt": "more"})).await;
    assert_eq!(status, 202, "{extension}");
    let extension_id = extension["id"].as_str().unwrap();
    let failed = app.settled(&key, extension_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    app.assert_refunded(&key, extension_id, failed["credits"].as_i64().unwrap())
        .await;
    let (status, again) = upscale(&app, &key, id).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "not_upscalable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4k_version_kie_cannot_make_is_refunded() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1000).await;
    let original = finished(&app, &key, json!({"model": "veo3-fast", "prompt": "a fox"})).await;
    app.sim.set_faults(Faults {
        upscale_failure_ratio: 1.0,
        ..Faults::default()
    });
    let (status, order) = upscale(&app, &key, original["id"].as_str().unwrap()).await;
    assert_eq!(status, 202, "{order}");
    let id = order["id"].as_str().unwrap();
    let done = app.settled(&key, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4K version of this video could not be made"),
        "{done}"
    );
    app.assert_refunded(&key, id, done["credits"].as_i64().unwrap())
        .await;
    let price = original["credits"].as_i64().unwrap();
    assert_eq!(app.balance(&key).await, (1000 - price, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4k_version_sold_after_the_fact_settles_on_kies_callback_without_waiting_for_a_poll() {
    // Status reads a minute apart: only Kie's callbacks can settle anything within the test.
    let minute = std::time::Duration::from_secs(60);
    let app = TestApp::spawn_polling(
        Settings::default(),
        SimConfig {
            uhd_delay: std::time::Duration::from_millis(300),
            ..SimConfig::for_tests()
        },
        minute,
        minute,
    )
    .await;
    let (_, key) = app.customer("ada", 1000).await;
    let original = finished(&app, &key, json!({"model": "veo3-fast", "prompt": "a fox"})).await;
    let (status, order) = upscale(&app, &key, original["id"].as_str().unwrap()).await;
    assert_eq!(status, 202, "{order}");
    let done = app.settled(&key, order["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["videos"][0]["resolution"], "4K", "{done}");
}
