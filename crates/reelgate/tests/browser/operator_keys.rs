//! In Chromium: the operator adds a Kie key on `/admin/upstream`. A key Kie refuses is shown
//! as refused with nothing saved; a good one joins the list by fingerprint and name (the key
//! is never in the page), can be disabled and deleted; the configured key cannot. The
//! dashboard then shows each key's balance and their sum.

use reelgate::config::Settings;
use reelgate::generations::keys::fingerprint;
use reelgate_domain::accounts::Role;
use rust_decimal::Decimal;
use std::net::SocketAddr;

use crate::app::TestApp;
use crate::browser::Browser;

const OPERATOR: (&str, &str) = ("olga@example.com", "olga's password");
const CONFIGURED: &str = "kie-configured-key-0001";
const ADDED: &str = "kie-added-key-0002-secret";
const WRONG: &str = "kie-revoked-key-0003";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_adds_a_kie_key_on_the_upstream_page() {
    let sim = kie_sim::spawn(
        kie_sim::SimConfig {
            key_balances: vec![
                (CONFIGURED.to_owned(), Decimal::from(1_000)),
                (ADDED.to_owned(), Decimal::from(2_500)),
            ],
            ..kie_sim::SimConfig::for_tests()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    sim.sim.revoke_key(WRONG);
    let settings = Settings::default()
        .with("REELGATE_KIE_API_KEY", CONFIGURED)
        .with("REELGATE_KIE_BASE_URL", sim.base_url.clone())
        .with("REELGATE_KIE_UPLOAD_URL", sim.base_url.clone());
    let app = TestApp::spawn_with(settings, |_| {}).await;
    app.create_user(OPERATOR.0, OPERATOR.1, Role::Admin).await;
    let (configured, added) = (fingerprint(CONFIGURED), fingerprint(ADDED));

    let b_ = Browser::start(&app.address).await;
    let br = &b_;
    br.goto("/signin").await;
    br.fill("#email", OPERATOR.0).await;
    br.fill("#password", OPERATOR.1).await;
    br.click("form[action='/signin'] button[type=submit]").await;
    br.wait_for_path("/admin").await;

    br.goto("/admin/upstream").await;
    let row = |key: &str, cell: &str| format!("[data-key='{key}'] .{cell}");
    assert_eq!(
        br.text(&row(&configured, "key-name")).await.trim(),
        "from configuration"
    );
    assert_eq!(br.text(&row(&configured, "key-actions")).await.trim(), "");

    // Kie refuses this one: said under the form, nothing saved, the key not sent back.
    br.fill("#key-name", "old account").await;
    br.fill("#key-secret", WRONG).await;
    br.click("#add-key-form button[type=submit]").await;
    br.wait_for_text("#add-key-error", "Kie refused this key")
        .await;
    let html = br.eval("return document.documentElement.outerHTML;").await;
    assert!(!html.as_str().unwrap_or_default().contains(WRONG));
    assert_eq!(
        br.eval("return document.querySelector('#key-name').value;")
            .await,
        "old account"
    );
    assert_eq!(
        br.eval("return document.querySelectorAll('#upstream-keys tbody tr').length;")
            .await,
        1
    );

    br.fill("#key-name", "second account").await;
    br.fill("#key-secret", ADDED).await;
    br.click("#add-key-form button[type=submit]").await;
    br.wait_for_text("#notice", "The key was checked with Kie and added.")
        .await;
    assert_eq!(
        br.text(&row(&added, "key-name")).await.trim(),
        "second account"
    );
    assert!(br.text(&row(&added, "key-state")).await.contains("active"));
    assert_eq!(br.text(&row(&added, "key-balance")).await.trim(), "2,500");
    let html = br.eval("return document.documentElement.outerHTML;").await;
    assert!(
        !html.as_str().unwrap_or_default().contains(ADDED),
        "a key on the page"
    );
    br.screenshot("operator-add-kie-key").await;

    // The dashboard's card: each key's balance, and the sum.
    br.goto("/admin").await;
    br.wait_for_text("#kie-total", "3,500").await;
    assert!(br
        .text(&format!("dd.key-balance[data-key='{added}']"))
        .await
        .contains("2,500"));

    br.goto("/admin/upstream").await;
    br.click(&format!(
        "[data-key='{added}'] form[action$='/disable'] button"
    ))
    .await;
    br.wait_for_text("#notice", "The key was disabled").await;
    assert!(br
        .text(&row(&added, "key-state"))
        .await
        .contains("disabled"));
    br.click(&format!(
        "[data-key='{added}'] form[action$='/delete'] button"
    ))
    .await;
    br.wait_for_text("#notice", "The key was deleted.").await;
    assert_eq!(
        br.eval("return document.querySelectorAll('#upstream-keys tbody tr').length;")
            .await,
        1
    );
    b_.quit().await;
}
