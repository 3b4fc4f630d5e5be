//! Another site cannot make a signed-in browser change anything through the JSON API: the
//! session cookie alone does not authorise a write; the web app's own calls carry the page's
//! CSRF token, which is bound to the session and replaced at sign-in. Over HTTP: a browser
//! sends what these requests send.

use reelgate_domain::accounts::Role;
use reqwest::StatusCode;

use crate::app::TestApp;
use crate::visitor::Visitor;

/// The meta tag's token, which the web app's script sends as `X-CSRF-Token`.
fn meta_token(body: &str) -> String {
    let marker = "<meta name=\"csrf-token\" content=\"";
    let start = body.find(marker).expect("a csrf meta tag") + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

fn cookie_header(visitor: &Visitor<'_>) -> String {
    visitor
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_cross_site_post_with_the_operators_cookie_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_user("op@example.com", "operator password", Role::Admin)
        .await;
    let victim = app
        .create_user("vic@example.com", "victims password", Role::Customer)
        .await;
    let mut op = Visitor::new(&app);
    assert_eq!(
        op.sign_in("op@example.com", "operator password")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let token = meta_token(&op.get("/admin").await.body);
    let cookies = cookie_header(&op);
    let disable = format!("/v1/admin/users/{}/disable", victim.id);
    let post = |headers: &[(&str, &str)]| {
        let mut request = app
            .client
            .post(app.url(&disable))
            .header("cookie", &cookies)
            .json(&serde_json::json!({}));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let own_origin = app.address.clone();
    let forged: [&[(&str, &str)]; 5] = [
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        // Even holding a valid token (it cannot, but say it could) another site is refused.
        &[("origin", "https://evil.example"), ("x-csrf-token", &token)],
        &[("sec-fetch-site", "same-site"), ("x-csrf-token", &token)],
        // A same-origin request without the page's token: a form another page of ours hosts.
        &[("origin", &own_origin), ("sec-fetch-site", "same-origin")],
        &[("x-csrf-token", "00ff")],
    ];
    for headers in forged {
        let response = post(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_site_request", "{headers:?}");
    }
    let still = app.store.user(&victim.id).await.unwrap();
    assert!(
        !still.is_disabled(),
        "a forged request disabled the account"
    );

    // The web app's own call: same origin, with the page's token.
    let own = post(&[
        ("origin", &own_origin),
        ("sec-fetch-site", "same-origin"),
        ("x-csrf-token", &token),
    ])
    .await
    .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert!(app.store.user(&victim.id).await.unwrap().is_disabled());
}

#[tokio::test]
async fn the_csrf_token_changes_at_sign_in_and_belongs_to_one_session() {
    let app = TestApp::spawn().await;
    app.create_user("uma@example.com", "umas password", Role::Customer)
        .await;
    let mut uma = Visitor::new(&app);
    let before = uma.get("/signin").await.csrf();
    uma.sign_in("uma@example.com", "umas password").await;
    let after = uma.get("/account").await.csrf();
    assert_ne!(before, after, "the token survived sign-in");
    // The token from before sign-in no longer passes a form.
    let stale = uma
        .post("/account/vouchers", &[("csrf", &before), ("code", "NOPE")])
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    // Nor does one from another session of the same account on another browser.
    let mut other = Visitor::new(&app);
    other.sign_in("uma@example.com", "umas password").await;
    let theirs = other.get("/account").await.csrf();
    let foreign = uma
        .post("/account/vouchers", &[("csrf", &theirs), ("code", "NOPE")])
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let own = uma
        .post("/account/vouchers", &[("csrf", &after), ("code", "NOPE")])
        .await;
    assert_eq!(
        own.status,
        StatusCode::NOT_FOUND,
        "no such voucher, but the form passed"
    );
}
