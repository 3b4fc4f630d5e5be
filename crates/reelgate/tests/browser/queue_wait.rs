//! In Chromium: a queued video's card says when it should start and be ready, and the page
//! keeps that up to date from its polling.

use reelgate::config::Settings;
use reelgate_domain::accounts::Role;

use crate::app::TestApp;
use crate::browser::Browser;

const CUSTOMER: (&str, &str) = ("nil@example.com", "nil's password");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_card_says_when_it_starts_and_when_it_is_ready_and_keeps_it_current() {
    // One new task a minute: the first goes at once, the second waits about a minute.
    let settings = Settings::default().with("REELGATE_UPSTREAM_RATE_LIMIT", "1/60");
    // Nothing finishes meanwhile, so Kling's run time is the expected two minutes.
    let app = TestApp::spawn_with(settings, |sim| {
        sim.durations.kling = std::time::Duration::from_secs(600)
    })
    .await;
    let customer = app
        .create_user(CUSTOMER.0, CUSTOMER.1, Role::Customer)
        .await;
    app.grant(&customer, 1000).await;
    let (_, key) = app
        .store
        .create_api_key(&customer.id, "tests")
        .await
        .expect("a key");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created: serde_json::Value = app
            .client
            .post(app.url("/v1/generations"))
            .bearer_auth(key.expose())
            .json(&serde_json::json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}))
            .send()
            .await
            .expect("submitted")
            .json()
            .await
            .expect("a generation");
        ids.push(created["id"].as_str().expect("an id").to_owned());
    }
    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", CUSTOMER.1).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path("/generate").await;
    b.goto("/videos").await;
    let eta = format!("[id='{}'] [data-eta]", ids[1]);
    // About a minute to its turn, then the model's run time: nothing has succeeded yet, so
    // the one expected of Kling, which on the simulator is the simulator's ten minutes.
    b.wait_for_text(&eta, "starts in about 1 min, ready in about ")
        .await;
    let shown = b.text(&eta).await;
    let ready: u32 = shown
        .trim()
        .trim_end_matches(" min")
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{shown}"));
    assert!((10..=11).contains(&ready), "{shown}");
    // The page's own polling writes it again, without reloading the card.
    b.eval(&format!(
        "document.querySelector(\"{}\").textContent = ''; return true;",
        eta.replace('"', "\\\"")
    ))
    .await;
    b.wait_for_text(&eta, "starts in about 1 min").await;
    b.screenshot("my-videos-queued").await;
    b.quit().await;
}
