//! A model Kie withdrew: customers see it "temporarily unavailable" in their own words (EN and
//! TR) and cannot submit it; the operator sees Kie's reason and offers it again with a button,
//! in Chromium.

use chrono::{Duration, Utc};
use reelgate_domain::accounts::Role;
use reelgate_store::ModelPause;
use reqwest::multipart::Form;
use std::time::Duration as StdDuration;

use crate::app::TestApp;
use crate::browser::Browser;
use crate::visitor::Visitor;

const SORA: &str = "sora-2-text-to-video";
const KIE_SAID: &str = "This feature is disabled: sora-2-text-to-video";

/// Paused as the dispatcher pauses it when Kie refuses it (on this instance or another).
async fn pause_sora(app: &TestApp) {
    let now = Utc::now();
    let pause = ModelPause {
        model: SORA.into(),
        reason: format!("Kie refused the request (code 505): {KIE_SAID}"),
        since: now,
        probe_at: now + Duration::hours(1),
        strikes: 0,
        probe: None,
    };
    assert!(app.store.put_model_pause(&pause, None).await.unwrap());
    // The app reads pauses at most a second old.
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
}

fn sora_form(csrf: &str) -> Form {
    Form::new()
        .text("csrf", csrf.to_owned())
        .text("model", SORA)
        .text("prompt", "a lighthouse in a storm")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_model_is_temporarily_unavailable_to_customers_until_the_operator_offers_it_again(
) {
    let app = TestApp::spawn().await;
    let customer = app
        .create_user("mira@example.com", "mira's password", Role::Customer)
        .await;
    app.grant(&customer, 1000).await;
    app.create_user("ops@example.com", "operator password", Role::Admin)
        .await;
    pause_sora(&app).await;

    // Customers, in English and in Turkish: unavailable, never Kie's words.
    let mut mira = Visitor::new(&app);
    mira.sign_in("mira@example.com", "mira's password").await;
    let page = mira.get("/generate?model=sora-2-text-to-video").await;
    assert!(
        page.body.contains("Temporarily unavailable"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("the video service has stopped taking it for now"));
    assert!(
        !page.body.contains(KIE_SAID),
        "Kie's reason is the operator's"
    );
    let csrf = page.csrf();
    let refused = mira.post_multipart("/generate", sora_form(&csrf)).await;
    assert_eq!(refused.status.as_u16(), 503, "{}", refused.body);
    assert!(refused.body.contains("temporarily unavailable"));
    mira.language = "tr-TR,tr;q=0.9";
    let page = mira.get("/generate?model=sora-2-text-to-video").await;
    assert!(
        page.body.contains("Geçici olarak kullanılamıyor"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("video hizmeti şimdilik bu modeli kabul etmiyor"));

    // The operator, in Chromium: Kie's reason, and the button that offers it again.
    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", "ops@example.com").await;
    b.fill("#password", "operator password").await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_until("signed in", || async { b.path().await != "/signin" })
        .await;
    b.goto("/admin").await;
    b.wait_for_text(&format!("[data-paused-model='{SORA}']"), KIE_SAID)
        .await;
    b.screenshot("admin-paused-model").await;
    b.click(&format!("[data-paused-model='{SORA}'] button[type=submit]"))
        .await;
    b.wait_for_text("#upstream", "The model is offered again.")
        .await;
    assert!(app.store.model_pauses().await.unwrap().is_empty());
    b.quit().await;

    // The customer may generate with it again.
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    mira.language = "en-US,en;q=0.9";
    let page = mira.get("/generate?model=sora-2-text-to-video").await;
    assert!(!page.body.contains("Temporarily unavailable"));
    let csrf = page.csrf();
    let created = mira.post_multipart("/generate", sora_form(&csrf)).await;
    assert_eq!(created.status.as_u16(), 303, "{}", created.body);
}
