//! What the web app guarantees without a browser: CSRF, cookies, throttling, escaping,
//! headers, languages, operator-only pages.

use reelgate_domain::accounts::Role;
use reqwest::StatusCode;

use crate::app::TestApp;
use crate::visitor::Visitor;

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy_and_no_inline_script() {
    let app = TestApp::spawn().await;
    let page = Visitor::new(&app).get("/signin").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    for tag in page.body.split("<script").skip(1) {
        assert!(
            tag.trim_start().starts_with("src="),
            "inline script: <script{tag}"
        );
    }
    assert!(!page.body.contains(" style=\""), "inline style attribute");
}

#[tokio::test]
async fn a_form_without_the_browsers_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    app.create_user("ann@example.com", "correct horse", Role::Customer)
        .await;
    let mut ann = Visitor::new(&app);
    ann.get("/signin").await;
    let no_token = ann
        .post(
            "/signin",
            &[("email", "ann@example.com"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let mut other = Visitor::new(&app);
    let foreign_token = other.get("/signin").await.csrf();
    let forged = ann
        .post(
            "/signin",
            &[
                ("csrf", &foreign_token),
                ("email", "ann@example.com"),
                ("password", "correct horse"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        forged.body.contains("This form has expired"),
        "{}",
        forged.body
    );
    assert!(!ann.cookies.contains_key("reelgate_session"));

    let signed_in = ann.sign_in("ann@example.com", "correct horse").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    let csrf = visitor.get("/signup").await.csrf();
    let page = visitor
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("email", "new@example.com"),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let cookie = page.set_cookie("reelgate_session").expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
    let account = visitor.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("new@example.com"));
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_sixth_out_with_429_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    app.create_user("bob@example.com", "right password", Role::Customer)
        .await;
    let mut bob = Visitor::new(&app);
    for _ in 0..5 {
        let page = bob.sign_in("bob@example.com", "wrong password").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("Wrong email or password."));
    }
    let locked = bob.sign_in("bob@example.com", "right password").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.body.contains("Too many failed sign-in attempts"),
        "{}",
        locked.body
    );
    assert!(!bob.cookies.contains_key("reelgate_session"));
    // Another account is not locked out by Bob's failures.
    app.create_user("eve@example.com", "eves password", Role::Customer)
        .await;
    let eve = bob.sign_in("eve@example.com", "eves password").await;
    assert_eq!(eve.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn what_a_customer_types_is_shown_escaped() {
    let app = TestApp::spawn().await;
    app.create_user("cat@example.com", "cat password", Role::Customer)
        .await;
    let mut cat = Visitor::new(&app);
    cat.sign_in("cat@example.com", "cat password").await;
    let csrf = cat.get("/account").await.csrf();
    let page = cat
        .post(
            "/account/vouchers",
            &[("csrf", &csrf), ("code", "\"><script>alert(1)</script>")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("There is no voucher with this code"));
    assert!(!page.body.contains("<script>alert(1)"), "unescaped input");
    assert!(page.body.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn turkish_browsers_get_turkish_pages_and_the_switch_changes_it() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    visitor.language = "tr-TR,tr;q=0.9,en;q=0.8";
    let page = visitor.get("/signin").await;
    assert!(page.body.contains("<html lang=\"tr\">"));
    assert!(page.body.contains("Giriş yap"));
    let switched = visitor
        .post(
            "/lang",
            &[("csrf", &page.csrf()), ("lang", "en"), ("next", "/signin")],
        )
        .await;
    assert_eq!(switched.location(), Some("/signin"));
    let page = visitor.get("/signin").await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("Sign in"));
}

#[tokio::test]
async fn operator_pages_are_forbidden_to_customers_and_need_sign_in() {
    let app = TestApp::spawn().await;
    let mut anonymous = Visitor::new(&app);
    let page = anonymous.get("/admin/users").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/signin?next=%2Fadmin%2Fusers"));

    app.create_user("dan@example.com", "dans password", Role::Customer)
        .await;
    let mut dan = Visitor::new(&app);
    dan.sign_in("dan@example.com", "dans password").await;
    for path in ["/admin", "/admin/users", "/admin/vouchers"] {
        assert_eq!(dan.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn static_assets_are_cached_for_a_year() {
    let app = TestApp::spawn().await;
    let page = Visitor::new(&app).get("/signin").await;
    let start = page
        .body
        .find("/static/app.css?v=")
        .expect("stylesheet link");
    let href = page.body[start..].split('"').next().unwrap();
    let css = app.client.get(app.url(href)).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn unknown_pages_are_a_page_for_browsers_and_the_json_envelope_for_programs() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(app.url("/no-such-page"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("accept-language", "tr")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers().contains_key("content-security-policy"));
    assert!(page.text().await.unwrap().contains("Sayfa bulunamadı"));

    let api = app
        .client
        .get(app.url("/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn cookies_are_secure_and_host_prefixed_when_the_public_url_is_https() {
    let settings = reelgate::config::Settings::default()
        .with("REELGATE_PUBLIC_URL", "https://videos.example.com");
    let app = TestApp::spawn_with(settings, |_| {}).await;
    let mut visitor = Visitor::new(&app);
    let page = visitor.get("/signup").await;
    // `__Host-`: only this host may set them, so a sibling subdomain cannot plant either.
    let csrf_cookie = page
        .set_cookie("__Host-reelgate_csrf")
        .expect("csrf cookie");
    assert!(csrf_cookie.contains("; Secure"), "{csrf_cookie}");
    assert!(csrf_cookie.contains("Path=/") && !csrf_cookie.contains("Domain"));
    let signed_up = visitor
        .post(
            "/signup",
            &[
                ("csrf", &page.csrf()),
                ("email", "tls@example.com"),
                ("password", "long enough"),
            ],
        )
        .await;
    let session = signed_up
        .set_cookie("__Host-reelgate_session")
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("; Secure"),
        "{session}"
    );
    // The browser sends them back under those names, and they sign it in.
    let account = visitor.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("tls@example.com"));
    // A session cookie without the prefix (planted by a subdomain) is not a session.
    let token = visitor.cookies.remove("__Host-reelgate_session").unwrap();
    visitor.cookies.insert("reelgate_session".into(), token);
    assert_eq!(visitor.get("/account").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn after_sign_in_next_never_leaves_the_site() {
    let app = TestApp::spawn().await;
    app.create_user("nia@example.com", "nias password", Role::Customer)
        .await;
    let mut nia = Visitor::new(&app);
    // What a browser strips (tab, newline) or rewrites (backslash) before reading `next`.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "\t//evil.example",
        "/\\evil.example",
        "/%2e//evil.example",
    ] {
        let csrf = nia.get("/signin").await.csrf();
        let page = nia
            .post(
                "/signin",
                &[
                    ("csrf", &csrf),
                    ("email", "nia@example.com"),
                    ("password", "nias password"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(page.location(), Some("/generate"), "{next:?}");
        // Signed in now: the sign-in page itself redirects to `next`.
        let query = url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>();
        let page = nia.get(&format!("/signin?next={query}")).await;
        assert_eq!(page.location(), Some("/generate"), "{next:?}");
        nia.cookies.remove("reelgate_session");
    }
    let csrf = nia.get("/signin").await.csrf();
    let page = nia
        .post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("email", "nia@example.com"),
                ("password", "nias password"),
                ("next", "/videos?page=2"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/videos?page=2"));
}
