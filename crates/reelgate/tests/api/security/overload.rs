//! A database pool with no connection to spare — a burst — is a 503 with `Retry-After` on
//! both front ends, never a 500.

use crate::helpers::TestApp;
use reelgate::http::auth::SESSION_COOKIE;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_pool_is_503_with_retry_after_on_the_api_and_the_web() {
    let app = TestApp::spawn().await;
    let (user, key) = app.customer("ada", 10).await;
    let session = app
        .store
        .create_session(&user.id, Duration::from_secs(3600))
        .await
        .unwrap();
    // Every connection of the application's pool, held by the test.
    let mut held = Vec::new();
    while let Ok(Ok(conn)) =
        tokio::time::timeout(Duration::from_secs(1), app.store.pool().acquire()).await
    {
        held.push(conn);
    }
    assert!(!held.is_empty());
    let api = app
        .client
        .get(app.url("/v1/account"))
        .bearer_auth(key.expose())
        .send();
    let web = app
        .client
        .get(app.url("/account"))
        .header("cookie", format!("{SESSION_COOKIE}={}", session.expose()))
        .header("accept", "text/html")
        .send();
    let (api, web) = tokio::join!(api, web);
    let (api, web) = (api.unwrap(), web.unwrap());
    unavailable_on_both(api, web).await;
    drop(held);
    // And it passes by itself once the burst is over.
    assert_eq!(app.get_as(&key, "/v1/account").await.status(), 200);
}

/// A 503 with `Retry-After` on both front ends: the API's envelope says `unavailable`, the
/// web's page asks to try again.
pub(super) async fn unavailable_on_both(api: reqwest::Response, web: reqwest::Response) {
    for (what, response) in [("api", &api), ("web", &web)] {
        assert_eq!(response.status(), 503, "{what}");
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1, "{what}: Retry-After {retry}");
    }
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(web.text().await.unwrap().contains("try again"));
}
