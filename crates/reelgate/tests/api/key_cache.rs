//! API keys are remembered for a moment (`reelgate_store::KEY_CACHE_TTL`); what this instance
//! changes about a key or its owner still takes effect on the very next request.

use reelgate_domain::accounts::ApiKey;
use serde_json::json as body;

use crate::helpers::{json, TestApp};

/// Two requests, so the second is answered from the cache if anything is.
async fn used(app: &TestApp, key: &ApiKey) {
    for _ in 0..2 {
        assert_eq!(app.get_as(key, "/v1/generations").await.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_use_is_refused_on_the_next_request_once_revoked() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 0).await;
    let (status, created) = json(
        app.post_as(&key, "/v1/account/api-keys", body!({"name": "ci"}))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let ci = ApiKey::parse(created["key"].as_str().unwrap()).unwrap();
    used(&app, &ci).await;
    used(&app, &key).await;

    let id = created["api_key"]["id"].as_str().unwrap();
    let revoked = app
        .delete_as(&key, &format!("/v1/account/api-keys/{id}"))
        .await;
    assert_eq!(revoked.status(), 204);

    let (status, body) = json(app.get_as(&ci, "/v1/generations").await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    // The owner's other key is not caught up in it.
    assert_eq!(app.get_as(&key, "/v1/generations").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_in_the_middle_of_requests_is_locked_out_once_disabled_and_let_back_in() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (user, key) = app.customer("ada", 0).await;
    used(&app, &key).await;

    let disable = format!("/v1/admin/users/{}/disable", user.id);
    assert_eq!(app.post_as(&admin, &disable, body!({})).await.status(), 200);
    let (status, body) = json(app.get_as(&key, "/v1/generations").await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    let enable = format!("/v1/admin/users/{}/enable", user.id);
    assert_eq!(app.post_as(&admin, &enable, body!({})).await.status(), 200);
    assert_eq!(app.get_as(&key, "/v1/generations").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_shows_the_balance_of_now_not_of_when_the_key_was_last_checked() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1_000).await;
    assert_eq!(app.balance(&key).await, (1_000, 0));
    let (status, submitted) = app
        .submit(
            &key,
            body!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 5}),
        )
        .await;
    assert_eq!(status, 202, "{submitted}");
    let price = submitted["credits"].as_i64().unwrap();
    assert!(price > 0);
    // Held, or already charged if the simulator was quick: either way, gone from the balance.
    assert_eq!(app.balance(&key).await.0, 1_000 - price);
}
