//! Per-customer limits over HTTP: the operator sets defaults and overrides, and submissions
//! past them are answered in the envelope (429 with `Retry-After` and `RateLimit-*`, or 402
//! with the reason), charging nothing.

use reelgate_domain::accounts::ApiKey;
use serde_json::{json, Value};

use crate::helpers::{json, TestApp};

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow"})
}

async fn put(app: &TestApp, key: &ApiKey, path: &str, body: Value) -> (u16, Value) {
    json(
        app.client
            .put(app.url(path))
            .bearer_auth(key.expose())
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_past_the_per_minute_limit_get_429_with_the_rate_limit_headers() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (ada, key) = app.customer("ada", 10_000).await;
    let (status, limits) = put(
        &app,
        &admin,
        &format!("/v1/admin/users/{}/limits", ada.id),
        json!({"submissions_per_minute": 3}),
    )
    .await;
    assert_eq!(status, 200, "{limits}");
    assert_eq!(limits["effective"]["submissions_per_minute"], 3);

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = app.post_as(&key, "/v1/generations", kling()).await;
        assert_eq!(response.status(), 202);
        assert_eq!(header(&response, "ratelimit-limit"), Some(3));
        remaining.push(header(&response, "ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, [2, 1, 0]);
    let (balance_before, _) = app.balance(&key).await;

    let refused = app.post_as(&key, "/v1/generations", kling()).await;
    assert_eq!(refused.status(), 429);
    let retry_after = header(&refused, "retry-after").expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&refused, "ratelimit-limit"), Some(3));
    assert_eq!(header(&refused, "ratelimit-remaining"), Some(0));
    assert_eq!(header(&refused, "ratelimit-reset"), Some(retry_after));
    let (_, body) = json(refused).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("3 generations per minute"), "{message}");
    assert!(
        message.contains(&format!("retry in {retry_after} s")),
        "{message}"
    );
    // Nothing was held for it (the others may have settled meanwhile: held, not balance).
    assert_eq!(app.balance(&key).await.0, balance_before);
    let (_, list) = json(app.get_as(&key, "/v1/generations").await).await;
    assert_eq!(list["generations"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_active_is_429_and_the_daily_cap_is_402_with_the_reason() {
    // Tasks that run for an hour: the first generation stays active.
    let sim = kie_sim::SimConfig {
        durations: kie_sim::Durations::uniform(std::time::Duration::from_secs(3600)),
        ..kie_sim::SimConfig::for_tests()
    };
    let app = TestApp::spawn_with_sim(reelgate::config::Settings::default(), sim).await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 10_000).await;
    let (status, _) = put(&app, &admin, "/v1/admin/limits", json!({"max_active": 1})).await;
    assert_eq!(status, 200);
    let (status, first) = app.submit(&key, kling()).await;
    assert_eq!(status, 202, "{first}");
    let price = first["credits"].as_i64().unwrap();
    let before = app.balance(&key).await;
    let (status, second) = app.submit(&key, kling()).await;
    assert_eq!(status, 429, "{second}");
    assert_eq!(second["error"]["code"], "too_many_active");
    let message = second["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("at most 1 generations queued or running"),
        "{message}"
    );
    assert_eq!(app.balance(&key).await, before);

    let (status, _) = put(
        &app,
        &admin,
        "/v1/admin/limits",
        json!({"daily_credits": price + price / 2}),
    )
    .await;
    assert_eq!(status, 200);
    // The first is held today: a second passes a cap of one and a half.
    let (status, capped) = app.submit(&key, kling()).await;
    assert_eq!(status, 402, "{capped}");
    assert_eq!(capped["error"]["code"], "daily_spending_cap");
    let message = capped["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "costs {price} credits and {price} of your daily spending cap of {} credits",
            price + price / 2
        )) && message.contains("00:00 UTC"),
        "{message}"
    );
    assert_eq!(app.balance(&key).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_the_operators_and_bad_values_name_their_field() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (ada, key) = app.customer("ada", 0).await;
    let path = format!("/v1/admin/users/{}/limits", ada.id);
    let (status, _) = put(&app, &key, &path, json!({"max_active": 100})).await;
    assert_eq!(status, 403);
    let (status, _) = json(app.get_as(&key, "/v1/admin/limits").await).await;
    assert_eq!(status, 403);
    for (body, field) in [
        (json!({"max_active": 0}), "max_active"),
        (json!({"weight": 101}), "weight"),
        (json!({"daily_credits": -5}), "daily_credits"),
    ] {
        let (status, error) = put(&app, &admin, &path, body).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let (status, error) = put(&app, &admin, &path, json!({"max_activ": 3})).await;
    assert_eq!(status, 400, "{error}");

    put(
        &app,
        &admin,
        "/v1/admin/limits",
        json!({"max_active": 5, "weight": 2}),
    )
    .await;
    let (status, limits) = put(&app, &admin, &path, json!({"weight": 4})).await;
    assert_eq!(status, 200);
    assert_eq!(
        limits,
        json!({
            "own": {"max_active": null, "submissions_per_minute": null, "daily_credits": null, "weight": 4},
            "defaults": {"max_active": 5, "submissions_per_minute": null, "daily_credits": null, "weight": 2},
            "effective": {"max_active": 5, "submissions_per_minute": null, "daily_credits": null, "weight": 4},
        })
    );
    let (_, again) = json(app.get_as(&admin, &path).await).await;
    assert_eq!(again, limits);
}
