//! Addresses that look like another on screen are not a second account (over HTTP: the
//! server's answer to the sign-up form).

use reqwest::StatusCode;

use crate::app::TestApp;
use crate::visitor::Visitor;

async fn sign_up(app: &TestApp, email: &str) -> StatusCode {
    let mut visitor = Visitor::new(app);
    let csrf = visitor.get("/signup").await.csrf();
    visitor
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", "long enough"),
            ],
        )
        .await
        .status
}

#[tokio::test]
async fn look_alike_addresses_are_refused_or_folded_into_the_real_one() {
    let app = TestApp::spawn().await;
    assert_eq!(
        sign_up(&app, "alice@example.com").await,
        StatusCode::SEE_OTHER
    );
    for look_alike in [
        "zw\u{200b}@example.com",
        "ali\u{200b}ce@example.com",
        "rtl\u{202e}@example.com",
        "alice\u{2066}@example.com",
        "\u{feff}alice@example.com",
        // Fullwidth `ａ`: NFKC makes it Alice's own address, which is taken.
        "\u{ff41}lice@example.com",
    ] {
        assert_eq!(
            sign_up(&app, look_alike).await,
            StatusCode::BAD_REQUEST,
            "{look_alike:?}"
        );
    }
    let users = app.store.list_users(None, None, 100).await.unwrap();
    let emails: Vec<&str> = users.items.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["alice@example.com"]);
}
