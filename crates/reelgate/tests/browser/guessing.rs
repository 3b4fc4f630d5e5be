//! Password guessing against the sign-in form: guesses sent all at once are counted like
//! guesses sent one by one, and behind a trusted proxy each client is counted on its own.
//! Over HTTP: what is checked is the server's answer to each form post.

use futures::future::join_all;
use reelgate::config::Settings;
use reelgate_domain::accounts::Role;
use reqwest::StatusCode;

use crate::app::TestApp;
use crate::visitor::Visitor;

/// Posts the sign-in form as the visitor whose cookies and CSRF token these are.
async fn sign_in_as(
    app: &TestApp,
    cookies: &str,
    csrf: &str,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
) -> StatusCode {
    let mut request = app
        .client
        .post(app.url("/signin"))
        .header("cookie", cookies)
        .form(&[("csrf", csrf), ("email", email), ("password", password)]);
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    request.send().await.expect("request sent").status()
}

/// A visitor's cookie header and the token its forms carry.
async fn form_credentials(app: &TestApp) -> (String, String) {
    let mut visitor = Visitor::new(app);
    let csrf = visitor.get("/signin").await.csrf();
    let cookies = visitor
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    (cookies, csrf)
}

#[tokio::test]
async fn two_hundred_guesses_at_once_get_five_passwords_checked() {
    let app = TestApp::spawn().await;
    app.create_user("ivy@example.com", "ivys real password", Role::Customer)
        .await;
    let (cookies, csrf) = form_credentials(&app).await;
    let guesses = (0..200).map(|n| {
        let (app, cookies, csrf) = (&app, &cookies, &csrf);
        async move {
            let guess = format!("guess number {n}");
            sign_in_as(app, cookies, csrf, None, "ivy@example.com", &guess).await
        }
    });
    let statuses = join_all(guesses).await;
    let count = |s: StatusCode| statuses.iter().filter(|x| **x == s).count();
    // 401 is a password checked and found wrong; 429 one refused before it was checked.
    let checked = count(StatusCode::UNAUTHORIZED);
    let refused = count(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!((checked, refused), (5, 195), "{statuses:?}");
    // The right password now waits out the window like any other guess.
    let right = sign_in_as(
        &app,
        &cookies,
        &csrf,
        None,
        "ivy@example.com",
        "ivys real password",
    )
    .await;
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_lockout_tells_when_to_come_back() {
    let app = TestApp::spawn().await;
    app.create_user("joe@example.com", "joes real password", Role::Customer)
        .await;
    let mut joe = Visitor::new(&app);
    for _ in 0..5 {
        joe.sign_in("joe@example.com", "wrong password").await;
    }
    let locked = joe.sign_in("joe@example.com", "wrong password").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((14 * 60..=15 * 60).contains(&wait), "Retry-After: {wait}");
    assert!(locked.body.contains("15 minutes"), "{}", locked.body);
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_guesser_does_not_lock_out_everyone() {
    let settings = Settings::default().with("REELGATE_TRUSTED_PROXIES", "127.0.0.1");
    let app = TestApp::spawn_with(settings, |_| {}).await;
    app.create_user("kim@example.com", "kims real password", Role::Customer)
        .await;
    let (cookies, csrf) = form_credentials(&app).await;
    let guesser = Some("203.0.113.9");
    for _ in 0..5 {
        let status = sign_in_as(&app, &cookies, &csrf, guesser, "kim@example.com", "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = sign_in_as(&app, &cookies, &csrf, guesser, "kim@example.com", "guess").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Kim, elsewhere, reaching us through the same proxy.
    let kim = Some("198.51.100.7");
    let status = sign_in_as(
        &app,
        &cookies,
        &csrf,
        kim,
        "kim@example.com",
        "kims real password",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The proxy writes the client's address last; what the guesser wrote before it is not
    // believed.
    let forged = Some("198.51.100.7, 203.0.113.9");
    let status = sign_in_as(&app, &cookies, &csrf, forged, "kim@example.com", "guess").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_buys_no_more_guesses() {
    let app = TestApp::spawn().await;
    app.create_user("lea@example.com", "leas real password", Role::Customer)
        .await;
    let (cookies, csrf) = form_credentials(&app).await;
    for n in 0..5 {
        let claimed = format!("203.0.113.{n}");
        let status = sign_in_as(
            &app,
            &cookies,
            &csrf,
            Some(&claimed),
            "lea@example.com",
            "guess",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = sign_in_as(
        &app,
        &cookies,
        &csrf,
        Some("198.51.100.1"),
        "lea@example.com",
        "guess",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn instances_on_one_postgresql_share_the_sign_in_count() {
    let db = reelgate_store::testing::postgres_store()
        .await
        .expect("the test PostgreSQL server (REELGATE_TEST_POSTGRES_URL) is reachable");
    let url = match db.url() {
        reelgate_store::DatabaseUrl::Postgres { url } => url.clone(),
        other => panic!("not a PostgreSQL URL: {other}"),
    };
    // One deployment: one database and one secret, so a form from one instance posts to any.
    let settings = || {
        Settings::default()
            .with("REELGATE_DATABASE_URL", url.as_str())
            .with("REELGATE_SECRET", "0123456789abcdef0123456789abcdef")
    };
    let one = TestApp::spawn_with(settings(), |_| {}).await;
    let two = TestApp::spawn_with(settings(), |_| {}).await;
    one.create_user("lea@example.com", "leas real password", Role::Customer)
        .await;
    let (cookies, csrf) = form_credentials(&one).await;
    for app in [&one, &two, &one, &two, &one] {
        let status = sign_in_as(app, &cookies, &csrf, None, "lea@example.com", "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for app in [&one, &two] {
        let status = sign_in_as(app, &cookies, &csrf, None, "lea@example.com", "guess").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }
}
