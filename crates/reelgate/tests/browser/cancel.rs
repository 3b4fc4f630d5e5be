//! In Chromium: a generation still waiting in the queue is canceled from its card on My videos,
//! after the page asks, and its credits come back where the customer reads them.

use reelgate_domain::accounts::Role;

use crate::app::TestApp;
use crate::browser::Browser;

const CUSTOMER: (&str, &str) = ("uma@example.com", "uma password");
const KLING: &str = "/generate?model=kling-2.6%2Ftext-to-video";

/// Submits a Kling video from the generate page; returns its id (from the page it lands on).
async fn submit(b: &Browser) -> String {
    b.goto(KLING).await;
    b.wait_for_exact_text("#price", "45").await;
    b.fill("#p-prompt", "a fox").await;
    b.click("#submit").await;
    b.wait_for_path("/videos?submitted=").await;
    b.path()
        .await
        .trim_start_matches("/videos?submitted=")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_generation_is_canceled_from_its_card_and_its_credits_come_back() {
    // One upstream task an hour: the second generation waits in the queue.
    let settings =
        reelgate::config::Settings::default().with("REELGATE_UPSTREAM_RATE_LIMIT", "1/3600");
    let app = TestApp::spawn_with(settings, |_| {}).await;
    let user = app
        .create_user(CUSTOMER.0, CUSTOMER.1, Role::Customer)
        .await;
    app.grant(&user, 100).await;
    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", CUSTOMER.1).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path("/generate").await;

    let first = submit(&b).await;
    let second = submit(&b).await;
    // Both held: 100 − 2 × 45.
    b.wait_for_exact_text("[data-balance-pill] [data-balance]", "10")
        .await;
    let card = format!("article[id='{second}']");
    b.wait_until("the second card to show it waiting", || async {
        b.eval(&format!(
            "return document.querySelector(\"{card}\")?.dataset.status;"
        ))
        .await
            == "queued"
    })
    .await;

    b.click(&format!("{card} form[action$='/cancel'] button"))
        .await;
    let asked = b
        .client
        .get_alert_text()
        .await
        .expect("the page asks first");
    assert_eq!(
        asked,
        "Cancel this video? Its credits come back to your balance."
    );
    b.client.accept_alert().await.expect("confirmed");

    b.wait_until("the second card to show it canceled", || async {
        b.eval(&format!(
            "return document.querySelector(\"{card}\")?.dataset.status;"
        ))
        .await
            == "canceled"
    })
    .await;
    b.wait_for_exact_text(
        &format!("{card} .refunded"),
        "✓ 45 credits were returned to your balance.",
    )
    .await;
    // Only the first one's 45 stay held.
    b.wait_for_exact_text("[data-balance-pill] [data-balance]", "55")
        .await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css(&format!(
                "{card} form[action$='/cancel']"
            )))
            .await
            .is_err(),
        "a canceled video offers no Cancel"
    );
    let first_card = format!("article[id='{first}']");
    b.find(&first_card).await;
    b.quit().await;
}
