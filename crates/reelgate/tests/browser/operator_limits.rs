//! In Chromium: the operator's page of Kie keys (by fingerprint, never the key) and the forms
//! that set every customer's default limits and one customer's overrides and tier.

use reelgate::config::Settings;
use reelgate::generations::keys::fingerprint;
use reelgate_domain::accounts::Role;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use std::net::SocketAddr;

use crate::app::TestApp;
use crate::browser::Browser;
use crate::visitor::Visitor;

const OPERATOR: (&str, &str) = ("opal@example.com", "opal's password");
const KEY_A: &str = "kie-key-alpha-0001";
const KEY_B: &str = "kie-key-bravo-0002";

/// The app on two Kie keys of a simulator with one account per key; key A holds less than
/// the operator's stop threshold, so the balance guard takes it out of the rotation.
async fn app_on_two_keys() -> (TestApp, kie_sim::RunningSim) {
    let sim = kie_sim::spawn(
        kie_sim::SimConfig {
            key_balances: vec![
                (KEY_A.to_owned(), Decimal::from(5)),
                (KEY_B.to_owned(), Decimal::from(1_000_000)),
            ],
            ..kie_sim::SimConfig::for_tests()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    let settings = Settings::default()
        .with("REELGATE_KIE_API_KEYS", format!("{KEY_A},{KEY_B}"))
        .with("REELGATE_KIE_BASE_URL", sim.base_url.clone())
        .with("REELGATE_KIE_UPLOAD_URL", sim.base_url.clone())
        .with("REELGATE_BALANCE_WARN_CREDITS", "20")
        .with("REELGATE_BALANCE_STOP_CREDITS", "10")
        .with("REELGATE_BALANCE_POLL_SECS", "1");
    (TestApp::spawn_with(settings, |_| {}).await, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sees_each_kie_key_and_sets_default_and_customer_limits() {
    let (app, _sim) = app_on_two_keys().await;
    app.create_user(OPERATOR.0, OPERATOR.1, Role::Admin).await;
    let customer = app
        .create_user("cem@example.com", "cem's password", Role::Customer)
        .await;
    let (a, b) = (fingerprint(KEY_A), fingerprint(KEY_B));

    let b_ = Browser::start(&app.address).await;
    let br = &b_;
    br.goto("/signin").await;
    br.fill("#email", OPERATOR.0).await;
    br.fill("#password", OPERATOR.1).await;
    br.click("form[action='/signin'] button[type=submit]").await;
    br.wait_for_path("/admin").await;

    // The keys page: each key by its fingerprint, its window, in-flight count and balance.
    br.goto("/admin/upstream").await;
    let row = |key: &str, cell: &str| format!("[data-key='{key}'] .{cell}");
    br.wait_until("the guard to read both keys", || async {
        br.goto("/admin/upstream").await;
        br.text(&row(&b, "key-balance")).await == "1,000,000"
            && br.text(&row(&a, "key-state")).await.contains("paused")
    })
    .await;
    assert!(br
        .text(&row(&a, "key-state"))
        .await
        .contains("below the operator's stop threshold"));
    assert!(br.text(&row(&b, "key-state")).await.contains("active"));
    assert_eq!(
        br.text(&row(&b, "key-window")).await.trim(),
        "0 of 20 per 10 s"
    );
    assert_eq!(br.text(&row(&b, "key-in-flight")).await.trim(), "0 / 100");
    let html = br.eval("return document.documentElement.outerHTML;").await;
    let html = html.as_str().unwrap_or_default();
    assert!(
        !html.contains(KEY_A) && !html.contains(KEY_B),
        "a key on the page"
    );
    br.screenshot("operator-kie-keys").await;

    // One customer's overrides: two at once, tier 4; the rest inherit.
    br.goto(&format!("/admin/users/{}", customer.id)).await;
    br.fill("#limit-max_active", "2").await;
    br.fill("#limit-weight", "4").await;
    br.click("#limits-form button[type=submit]").await;
    br.wait_for_text("#notice", "The limits were saved.").await;
    let limits = app.store.customer_limits(&customer.id).await.unwrap();
    assert_eq!(limits.own.max_active, Some(2));
    assert_eq!(limits.own.weight.map(|w| w.get()), Some(4));
    assert_eq!(limits.own.submissions_per_minute, None);

    // A zero is refused by the server too (the browser's own check switched off), naming
    // the field, and nothing changes.
    br.fill("#limit-submissions_per_minute", "0").await;
    br.eval("document.querySelector('#limits-form').noValidate = true; return true;")
        .await;
    br.click("#limits-form button[type=submit]").await;
    br.wait_for_text(
        "#limits-error",
        "Submissions per minute: must be at least 1",
    )
    .await;
    let after = app.store.customer_limits(&customer.id).await.unwrap();
    assert_eq!(after.own, limits.own);

    // Every customer's defaults; the customer's page shows what is in force.
    br.goto("/admin/limits").await;
    br.fill("#limit-daily_credits", "500").await;
    br.click("#limits-form button[type=submit]").await;
    br.wait_for_text("#notice", "The limits were saved.").await;
    br.goto(&format!("/admin/users/{}", customer.id)).await;
    let in_force = br.text("#limits-effective").await;
    assert!(
        in_force.contains("at once 2") && in_force.contains("UTC day 500"),
        "{in_force}"
    );
    assert!(in_force.contains("(1–100) 4"), "{in_force}");
    br.screenshot("operator-customer-limits").await;

    // In Turkish too.
    br.click(".lang-switch button[value='tr']").await;
    br.wait_for_text("#limits h2", "Sınırlar ve seviye").await;
    br.goto("/admin/upstream").await;
    br.wait_for_text("h1", "Kie anahtarları").await;
    br.wait_for_text(&row(&b, "key-window"), "10 sn'de 20 istekten 0")
        .await;
    b_.quit().await;
}

#[tokio::test]
async fn the_limit_forms_need_the_operator_and_the_forms_csrf_token() {
    let (app, _sim) = app_on_two_keys().await;
    app.create_user(OPERATOR.0, OPERATOR.1, Role::Admin).await;
    let customer = app
        .create_user("cem@example.com", "cem's password", Role::Customer)
        .await;
    let path = format!("/admin/users/{}/limits", customer.id);

    let mut cem = Visitor::new(&app);
    cem.sign_in("cem@example.com", "cem's password").await;
    for page in ["/admin/upstream", "/admin/limits"] {
        assert_eq!(cem.get(page).await.status, StatusCode::FORBIDDEN, "{page}");
    }
    let csrf = cem.get("/account").await.csrf();
    let own = cem
        .post(&path, &[("csrf", &csrf), ("max_active", "1000")])
        .await;
    assert_eq!(
        own.status,
        StatusCode::FORBIDDEN,
        "a customer sets no limits"
    );

    let mut opal = Visitor::new(&app);
    opal.sign_in(OPERATOR.0, OPERATOR.1).await;
    let forged = opal
        .post(&path, &[("csrf", "not-the-token"), ("max_active", "1")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let defaults = opal.post("/admin/limits", &[("weight", "7")]).await;
    assert_eq!(defaults.status, StatusCode::FORBIDDEN);
    let limits = app.store.customer_limits(&customer.id).await.unwrap();
    assert_eq!(limits.own.max_active, None);
    assert_eq!(limits.defaults.weight, None);

    let csrf = opal
        .get(&format!("/admin/users/{}", customer.id))
        .await
        .csrf();
    let saved = opal
        .post(
            &path,
            &[("csrf", &csrf), ("max_active", "3"), ("weight", "")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let refused = opal
        .post(&path, &[("csrf", &csrf), ("weight", "many")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("Tier weight (1–100): enter a whole number"),
        "{}",
        refused.body
    );
    let limits = app.store.customer_limits(&customer.id).await.unwrap();
    assert_eq!(limits.own.max_active, Some(3));
}
