//! In Chromium: a customer buys credits through the iyzico and Stripe stand-ins and on the
//! demo provider, from the "Buy credits" page through the provider's page and back to the
//! live payment page; the receipt, the credit history and the header balance after it.

use reelgate::config::Settings;
use reelgate_domain::accounts::Role;
use reelgate_domain::payments::{Money, PackageName};
use reelgate_domain::Credits;
use reelgate_store::NewPackage;

use crate::app::TestApp;
use crate::browser::Browser;

const CUSTOMER: (&str, &str) = ("deniz@example.com", "deniz's password");

#[derive(Clone, Copy)]
enum Db {
    Sqlite,
    Postgres,
}

/// `settings` on the database: the app's own SQLite file, or a fresh PostgreSQL schema (kept
/// as long as the returned store lives).
async fn on(db: Db, settings: Settings) -> (Settings, Option<reelgate_store::testing::TestStore>) {
    match db {
        Db::Sqlite => (settings, None),
        Db::Postgres => {
            let store = reelgate_store::testing::empty_postgres_store()
                .await
                .expect("a PostgreSQL schema");
            let reelgate_store::DatabaseUrl::Postgres { url } = store.url().clone() else {
                unreachable!("a PostgreSQL store has a PostgreSQL URL")
            };
            (settings.with("REELGATE_DATABASE_URL", url), Some(store))
        }
    }
}

/// A 500+50-credit package at 149.90 TRY named `name` on sale, and the customer's account.
async fn open_shop(app: &TestApp, name: &str) -> reelgate_domain::payments::Package {
    let package = app
        .store
        .create_package(&NewPackage {
            name: PackageName::parse(name).unwrap(),
            credits: Credits::new(500),
            bonus_credits: Credits::new(50),
            price: Money::parse("149.90", "TRY").unwrap(),
            active: true,
            position: 0,
        })
        .await
        .unwrap();
    app.create_user(CUSTOMER.0, CUSTOMER.1, Role::Customer)
        .await;
    package
}

/// Chromium with the customer signed in, on the generate page.
async fn signed_in(app: &TestApp) -> Browser {
    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", CUSTOMER.1).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path("/generate").await;
    b
}

async fn status_becomes(b: &Browser, status: &str) {
    let script = "const s = document.getElementById('payment-status'); \
                  return s ? s.dataset.status : null;";
    b.wait_until(&format!("the payment is {status}"), || async {
        b.eval(script).await == serde_json::json!(status)
    })
    .await;
}

async fn buy_through(provider: &str, db: Db) {
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
    let (settings, _postgres) = on(db, settings).await;
    let app = TestApp::spawn_with(settings, |_| {}).await;
    stripe
        .sim
        .set_webhook_url(Some(app.url("/v1/payments/stripe/webhook")));
    let package = open_shop(&app, "Başlangıç").await;

    let b = signed_in(&app).await;
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
    buy_through("iyzico", Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_credits_through_the_iyzico_stand_in_in_chromium_on_postgres() {
    buy_through("iyzico", Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_credits_through_the_stripe_stand_in_in_chromium() {
    buy_through("stripe", Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_credits_through_the_stripe_stand_in_in_chromium_on_postgres() {
    buy_through("stripe", Db::Postgres).await;
}

/// The element's whole text, its runs of white space as one space (the header lays the
/// balance and its unit out as a column), or `None` while it is not on the page (a reload in
/// progress counts as not yet).
async fn exact_text(b: &Browser, css: &str) -> Option<String> {
    let script = format!(
        "const e = document.querySelector({}); \
         return e ? e.textContent.replace(/\\s+/g, ' ').trim() : null;",
        serde_json::json!(css)
    );
    match b.client.execute(&script, vec![]).await {
        Ok(serde_json::Value::String(text)) => Some(text),
        _ => None,
    }
}

/// Waits until the element's whole text is exactly `want`.
async fn text_is(b: &Browser, css: &str, want: &str) {
    b.wait_until(&format!("{css} reads exactly {want:?}"), || async {
        exact_text(b, css).await.as_deref() == Some(want)
    })
    .await;
}

/// `/buy/payments/{id}` → the id.
async fn payment_on_page(b: &Browser) -> String {
    let path = b.path().await;
    path.strip_prefix("/buy/payments/")
        .expect("on a payment's page")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_credits_on_the_demo_provider_in_chromium() {
    buy_on_the_demo_provider(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_credits_on_the_demo_provider_in_chromium_on_postgres() {
    buy_on_the_demo_provider(Db::Postgres).await;
}

async fn buy_on_the_demo_provider(db: Db) {
    // `reelgate serve` on its defaults: no provider configured, so the demo provider.
    let (settings, _postgres) = on(db, Settings::default()).await;
    let app = TestApp::spawn_with(settings, |_| {}).await;
    let package = open_shop(&app, "Starter").await;
    let buy = format!(
        "form:has(input[name=provider][value=demo]) button[data-buy='{}']",
        package.id
    );

    let b = signed_in(&app).await;
    text_is(&b, "[data-balance-pill]", "0 credits").await;
    b.click("nav.mainnav a[href='/buy']").await;
    b.wait_for_path("/buy").await;
    b.find("#demo-banner").await;
    b.click(&buy).await;

    // The demo payment page says no money moves; the customer chooses to pay later.
    b.wait_for_path("/pay/demo/").await;
    b.find("#demo-banner").await;
    text_is(&b, "#demo-amount", "₺149.90").await;
    b.click("#demo-later").await;
    b.wait_for_path("/buy/payments/").await;
    let payment = payment_on_page(&b).await;
    status_becomes(&b, "pending").await;
    text_is(&b, "#payment-status", "Waiting for payment").await;
    b.find("#pending-hint").await;
    let waiting = b.client.window().await.unwrap();

    // Pays in another tab; the first one, left open on the return page, turns paid by itself.
    let tab = b.client.new_window(true).await.unwrap();
    b.client.switch_to_window(tab.handle).await.unwrap();
    b.goto(&format!("/pay/demo/{payment}")).await;
    b.click("#demo-pay").await;
    b.wait_for_path(&format!("/buy/payments/{payment}")).await;
    b.client.close_window().await.unwrap();
    b.client.switch_to_window(waiting).await.unwrap();
    assert_eq!(payment_on_page(&b).await, payment);
    status_becomes(&b, "paid").await;
    text_is(
        &b,
        "#payment-status",
        "Paid — the credits are in your balance",
    )
    .await;
    text_is(&b, "[data-balance-pill]", "550 credits").await;
    // The receipt.
    let receipt = b
        .eval(
            "return [...document.querySelectorAll('dl.receipt dt')].slice(0, 4)
               .map(dt => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]);",
        )
        .await;
    assert_eq!(
        receipt,
        serde_json::json!([
            ["Package", "Starter"],
            ["Credits", "550"],
            ["Amount", "₺149.90"],
            ["Paid through", "demo"],
        ])
    );
    assert!(exact_text(&b, "#pending-hint").await.is_none());

    // The purchase in the credit history, leading to its receipt.
    b.goto("/account#ledger").await;
    let line = format!("#ledger tr.history-line:has(a[href='/buy/payments/{payment}'])");
    text_is(&b, &format!("{line} a"), "Credits bought").await;
    text_is(&b, &format!("{line} td.num"), "+550").await;
    let lines = b
        .eval("return document.querySelectorAll('#ledger .history-line').length;")
        .await;
    assert_eq!(lines, 1, "one line for the purchase");

    // Declined: failed with the reason, nothing credited.
    b.goto("/buy").await;
    b.click(&buy).await;
    b.wait_for_path("/pay/demo/").await;
    b.click("#demo-decline").await;
    b.wait_for_path("/buy/payments/").await;
    let declined = payment_on_page(&b).await;
    assert_ne!(declined, payment);
    status_becomes(&b, "failed").await;
    text_is(&b, "#payment-status", "Failed").await;
    text_is(&b, "#failure", "the card was declined (demo payment page)").await;
    text_is(&b, "[data-balance-pill]", "550 credits").await;
    b.goto("/buy").await;
    let rows = b
        .eval(
            "return [...document.querySelectorAll('section[aria-labelledby=payments-h] tbody tr')]
               .map(r => [...r.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim()));",
        )
        .await;
    assert_eq!(
        rows,
        serde_json::json!([
            ["Starter", "550", "₺149.90", "Failed"],
            [
                "Starter",
                "550",
                "₺149.90",
                "Paid — the credits are in your balance"
            ],
        ])
    );
    b.goto("/account#ledger").await;
    let lines = b
        .eval("return document.querySelectorAll('#ledger .history-line').length;")
        .await;
    assert_eq!(lines, 1, "a declined payment writes no line");
    b.quit().await;
}
