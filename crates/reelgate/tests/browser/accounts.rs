//! In Chromium: a customer signs up; the operator grants credits and issues a voucher; the
//! customer redeems it and creates an API key that then works against the JSON API.

use reelgate_domain::accounts::Role;

use crate::app::TestApp;
use crate::browser::Browser;

const OPERATOR: (&str, &str) = ("ops@example.com", "operator password");
const CUSTOMER: (&str, &str) = ("maya@example.com", "maya's password");

async fn sign_in(b: &Browser, (email, password): (&str, &str)) {
    b.goto("/signin").await;
    b.fill("#email", email).await;
    b.fill("#password", password).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    // An operator lands on the dashboard, a customer on the generate page.
    let home = if email == OPERATOR.0 {
        "/admin"
    } else {
        "/generate"
    };
    b.wait_for_path(home).await;
}

async fn sign_out(b: &Browser) {
    b.click("form[action='/signout'] button").await;
    b.wait_for_path("/signin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_signs_up_operator_grants_credits_customer_redeems_a_voucher_and_creates_an_api_key(
) {
    let app = TestApp::spawn().await;
    app.create_user(OPERATOR.0, OPERATOR.1, Role::Admin).await;
    let b = Browser::start(&app.address).await;

    // Signing in with a wrong password says so.
    b.goto("/").await;
    b.wait_for_path("/signin").await;
    b.screenshot("sign-in").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", "not the password").await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_text("#signin-error", "Wrong email or password.")
        .await;

    // Sign up.
    b.click("a[href='/signup']").await;
    b.wait_for_path("/signup").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", "short").await;
    b.click("form[action='/signup'] button[type=submit]").await;
    b.wait_for_text("#signup-error", "at least 8 characters")
        .await;
    b.fill("#password", CUSTOMER.1).await;
    b.click("form[action='/signup'] button[type=submit]").await;
    b.wait_for_path("/generate").await;
    b.wait_for_exact_text("[data-balance-pill] [data-balance]", "0")
        .await;
    sign_out(&b).await;

    // The operator finds the customer and grants 500 credits, and makes a voucher.
    sign_in(&b, OPERATOR).await;
    b.goto("/admin/users").await;
    b.fill("input[name=q]", "maya").await;
    b.click("form[role=search] button").await;
    b.click("a[href^='/admin/users/usr_']").await;
    b.fill("#grant-credits", "500").await;
    b.fill("#grant-reason", "bank transfer #1042").await;
    b.click("form[action$='/grants'] button[type=submit]").await;
    b.wait_for_text("#notice", "The credits were applied.")
        .await;
    b.wait_for_exact_text("#customer-balance", "500 credits")
        .await;
    b.screenshot("admin-user").await;
    b.goto("/admin/vouchers").await;
    b.fill("#v-code", "WELCOME-250").await;
    b.fill("#v-credits", "250").await;
    b.click("form[action='/admin/vouchers'] button[type=submit]")
        .await;
    b.wait_for_text("#notice", "WELCOME-250").await;
    b.screenshot("admin-vouchers").await;
    sign_out(&b).await;

    // The customer sees the credits, redeems the voucher (once), creates an API key.
    sign_in(&b, CUSTOMER).await;
    b.wait_for_exact_text("[data-balance-pill] [data-balance]", "500")
        .await;
    b.goto("/account").await;
    b.fill("#voucher-code", "welcome-250").await;
    b.click("form[action='/account/vouchers'] button[type=submit]")
        .await;
    b.wait_for_text("#notice", "250 credits were added").await;
    b.wait_for_exact_text("#balance", "750 credits").await;
    b.fill("#voucher-code", "WELCOME-250").await;
    b.click("form[action='/account/vouchers'] button[type=submit]")
        .await;
    b.wait_for_text("#voucher-error", "already redeemed").await;
    b.wait_for_text("#ledger", "Voucher").await;

    b.fill("#key-name", "my laptop").await;
    b.click("form[action='/account/api-keys'] button[type=submit]")
        .await;
    let key = b.text("#new-key").await;
    assert!(key.starts_with("rg_"), "{key}");
    let account: serde_json::Value = app
        .client
        .get(app.url("/v1/account"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(account["email"], CUSTOMER.0);
    assert_eq!(account["balance"], 750);
    b.goto("/account").await;
    b.wait_for_text("#api-keys", "my laptop").await;
    assert!(
        !b.text("#api-keys").await.contains(&key),
        "the key is shown only once"
    );
    b.screenshot("account").await;
    b.screenshot_at("account-phone", 390, true).await;

    // Revoking asks first; afterwards the key no longer works.
    b.click("form[action$='/revoke'] button").await;
    b.wait_until("the browser asks to confirm", || async {
        b.client.get_alert_text().await.is_ok()
    })
    .await;
    b.client.accept_alert().await.expect("confirm");
    b.wait_for_text("#notice", "The API key was revoked.").await;
    let refused = app
        .client
        .get(app.url("/v1/account"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);

    // The footer switches the language, and it sticks.
    b.click(".lang-switch button[value='tr']").await;
    b.wait_for_text("h1", "Hesap").await;
    b.goto("/videos").await;
    b.wait_for_text("h1", "Videolarım").await;
    b.quit().await;
}
