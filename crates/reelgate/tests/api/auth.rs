//! Who may call what: API keys, session cookies, disabled users, operator-only routes.

use std::time::Duration;

use reelgate::http::auth::SESSION_COOKIE;

use crate::helpers::{json, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_routes_need_credentials() {
    let app = TestApp::spawn().await;
    let (status, body) = json(app.get("/v1/account").await).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_revoked_api_key_is_refused() {
    let app = TestApp::spawn().await;
    let (user, key) = app.customer("ada", 0).await;
    let forged =
        reelgate_domain::accounts::ApiKey::parse(&format!("rg_{}", "f".repeat(48))).unwrap();
    assert_eq!(app.get_as(&forged, "/v1/account").await.status(), 401);

    assert_eq!(app.get_as(&key, "/v1/account").await.status(), 200);
    let keys = app.store.list_api_keys(&user.id).await.unwrap();
    app.store
        .revoke_api_key(&user.id, &keys[0].id)
        .await
        .unwrap();
    assert_eq!(app.get_as(&key, "/v1/account").await.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_signs_in_until_revoked_or_expired() {
    let app = TestApp::spawn().await;
    let (user, _) = app.customer("ada", 0).await;
    let session = |token: &reelgate_domain::accounts::SessionToken| {
        app.client
            .get(app.url("/v1/account"))
            .header("cookie", format!("{SESSION_COOKIE}={}", token.expose()))
            .send()
    };
    let token = app
        .store
        .create_session(&user.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let (status, body) = json(session(&token).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["email"], "ada@example.com");

    app.store.revoke_session(&token).await.unwrap();
    assert_eq!(session(&token).await.unwrap().status(), 401);

    let short = app
        .store
        .create_session(&user.id, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(session(&short).await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_users_are_forbidden() {
    let app = TestApp::spawn().await;
    let (user, key) = app.customer("ada", 0).await;
    app.store.set_disabled(&user.id, true).await.unwrap();
    let (status, body) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_cannot_use_operator_routes() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer("ada", 0).await;
    let (_, admin) = app.admin().await;
    assert_eq!(app.get_as(&customer, "/v1/admin/users").await.status(), 403);
    assert_eq!(
        app.get_as(&customer, "/v1/admin/vouchers").await.status(),
        403
    );
    assert_eq!(app.get("/v1/admin/users").await.status(), 401);
    assert_eq!(app.get_as(&admin, "/v1/admin/users").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 0).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .get(app.url("/v1/account"))
            .header("authorization", format!("{scheme} {}", key.expose()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
}
