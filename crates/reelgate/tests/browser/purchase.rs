//! In Chromium: a customer buys credits through the iyzico and Stripe stand-ins, from the
//! "Buy credits" page through the provider's page and back to the live payment page.

use reelgate::config::Settings;
use reelgate_domain::accounts::Role;
use reelgate_domain::payments::{Money, PackageName};
use reelgate_domain::Credits;
use reelgate_store::NewPackage;

use crate::app::TestApp;
use crate::browser::Browser;

const CUSTOMER: (&str, &str) = ("deniz@example.com", "deniz's password");

async fn status_becomes(b: &Browser, status: &str) {
    let script = "const s = document.getElementById('payment-status'); \
                  return s ? s.dataset.status : null;";
    b.wait_until(&format!("the payment is {status}"), || async {
        b.eval(script).await == serde_json::json!(status)
    })
    .await;
}

async fn buy_through(provider: &str) {
    let iyzico = pay_sim::iyzico::spawn(Default::default()).await.unwrap();
    let stripe = pay_sim::stripe::spawn(Default::default()).await.unwrap();
    let keys = stripe.sim.config();
    let settings = Settings::default()
        .with("REELGATE_IYZICO_API_KEY", iyzico.sim.config.api_key.clone())
        .with(
            "REELGATE_IYZICO_SECRET_KEY",
            iyzico.sim.config.secret_key.clone(),
        )
        .with("REELGATE_IYZICO_BASE_URL", iyzico.base_url.clone())
        .with("REELGATE_STRIPE_SECRET_KEY", keys.secret_key)
        .with("REELGATE_STRIPE_WEBHOOK_SECRET", keys.webhook_secret)
        .with("REELGATE_STRIPE_API_BASE", stripe.base_url.clone());
    let app = TestApp::spawn_with(settings, |_| {}).await;
    stripe
        .sim
        .set_webhook_url(Some(app.url("/v1/payments/stripe/webhook")));
    let package = app
        .store
        .create_package(&NewPackage {
            name: PackageName::parse("Başlangıç").unwrap(),
            credits: Credits(500),
            bonus_credits: Credits(50),
            price: Money::parse("149.90", "TRY").unwrap(),
            active: true,
            position: 0,
        })
        .await
        .unwrap();
    app.create_user(CUSTOMER.0, CUSTOMER.1, Role::Customer)
        .await;

    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", CUSTOMER.1).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path("/generate").await;
    b.goto("/buy").await;
    b.click(&format!(
        "form:has(input[name=provider][value={provider}]) button[data-buy='{}']",
        package.id
    ))
    .await;
    // The provider's own page, on the stand-in.
    b.wait_for_path("/pay/").await;
    // The whole amount, whichever way the provider writes its decimals (149.90 or 149.9).
    b.wait_until(
        "the provider's page to ask for exactly 149.90 TRY",
        || async {
            let text = b.text("#amount").await;
            let words: Vec<&str> = text.split_whitespace().collect();
            let amount = words
                .first()
                .and_then(|a| a.parse::<rust_decimal::Decimal>().ok());
            amount == Some(rust_decimal::Decimal::new(14990, 2))
                && words.get(1..) == Some(&["TRY"][..])
        },
    )
    .await;
    b.click("#pay").await;
    b.wait_for_path("/buy/payments/").await;
    status_becomes(&b, "paid").await;
    b.wait_for_exact_text("#receipt-credits", "550").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_credits_through_the_iyzico_stand_in_in_chromium() {
    buy_through("iyzico").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_credits_through_the_stripe_stand_in_in_chromium() {
    buy_through("stripe").await;
}
