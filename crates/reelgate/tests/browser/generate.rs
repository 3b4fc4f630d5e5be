//! In Chromium: the price follows the options, a balance too small says so before
//! submitting, and a generation is submitted, watched to the end and played.

use reelgate_domain::accounts::Role;
use std::time::Duration;

use crate::app::TestApp;
use crate::browser::Browser;

const CUSTOMER: (&str, &str) = ("lena@example.com", "lena's password");
const OPERATOR: (&str, &str) = ("ops@example.com", "operator password");
const KLING: &str = "/generate?model=kling-2.6%2Ftext-to-video";

async fn choose(b: &Browser, param: &str, value: &str) {
    b.click(&format!(
        "[data-param='{param}'] label.choice:has(input[value='{value}'])"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_sees_the_price_change_generates_watches_it_finish_and_plays_the_video() {
    // Kling takes two seconds here, so the page is seen to move from working to ready.
    let app = TestApp::spawn_with_sim(|sim| sim.durations.kling = Duration::from_secs(2)).await;
    let customer = app
        .create_user(CUSTOMER.0, CUSTOMER.1, Role::Customer)
        .await;
    app.grant(&customer, 100).await;
    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", CUSTOMER.1).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path("/generate").await;

    // Image to video takes links and files from the device.
    b.goto("/generate?model=kling-2.6%2Fimage-to-video").await;
    b.find("[data-param='image_urls'] input[type=file]").await;
    b.wait_for_exact_text("#price", "45").await;
    b.screenshot("generate-image").await;

    // The form shows Kling's parameters and its price, live.
    b.goto(KLING).await;
    b.wait_for_text("#model-title", "Kling 2.6").await;
    b.wait_for_exact_text("#price", "45").await;
    choose(&b, "duration", "10").await;
    b.wait_for_exact_text("#price", "90").await;
    let short = b.find("#short").await;
    assert!(
        !short.is_displayed().await.unwrap(),
        "90 of 100 is affordable"
    );

    // Sound doubles it to 180: more than the balance, said before submitting.
    b.click("[data-param='sound'] .switch").await;
    b.wait_for_exact_text("#price", "180").await;
    b.wait_for_text("#short", "you need 80 more").await;
    assert!(!b.find("#submit").await.is_enabled().await.unwrap());

    b.click("[data-param='sound'] .switch").await;
    choose(&b, "duration", "5").await;
    choose(&b, "aspect_ratio", "9:16").await;
    b.wait_for_exact_text("#price", "45").await;
    assert!(b.find("#submit").await.is_enabled().await.unwrap());
    b.fill(
        "#p-prompt",
        "A red fox running through fresh snow at dawn, slow motion",
    )
    .await;
    b.screenshot("generate").await;
    b.screenshot_at("generate-phone", 390, true).await;
    b.click("#submit").await;

    // My videos: the new card updates by itself until the video is ready.
    b.wait_for_path("/videos").await;
    let card = ".video-card";
    let first_status = b
        .find(card)
        .await
        .attr("data-status")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        first_status == "queued" || first_status == "running",
        "a two-second generation is still working when the page opens: {first_status}"
    );
    b.wait_for_text(".video-card .badge", "Generating").await;
    b.wait_until("the video is ready", || async {
        b.eval("return document.querySelector('.video-card')?.dataset.status;")
            .await
            == "succeeded"
    })
    .await;
    b.wait_for_text(".video-card", "A red fox running").await;
    b.wait_for_text(".video-card .chips", "9:16").await;
    b.wait_for_exact_text(".video-card .meta strong", "45")
        .await;
    b.find(".video-card a[download]").await;
    b.wait_for_exact_text("[data-balance-pill] [data-balance]", "55")
        .await;

    // The video actually plays.
    b.eval(
        "const v = document.querySelector('.video-card video'); v.muted = true; v.play(); return true;",
    )
    .await;
    b.wait_until("the video has data to play", || async {
        b.eval("return document.querySelector('.video-card video').readyState;")
            .await
            .as_u64()
            .unwrap_or(0)
            >= 2
    })
    .await;
    let start = b
        .eval("return document.querySelector('.video-card video').currentTime;")
        .await
        .as_f64()
        .unwrap_or(0.0);
    b.wait_until("the video's time advances", || async {
        b.eval("return document.querySelector('.video-card video').currentTime;")
            .await
            .as_f64()
            .unwrap_or(0.0)
            > start + 0.2
    })
    .await;
    b.eval("document.querySelector('.video-card video').pause(); return true;")
        .await;
    b.screenshot("my-videos").await;
    b.screenshot_at("my-videos-phone", 390, true).await;

    // Generate again with these settings: the form comes back filled in.
    b.click(".video-card a[href*='from=']").await;
    b.wait_for_path("/generate").await;
    b.wait_for_text("#p-prompt", "A red fox running").await;
    let ratio = b
        .eval("return document.querySelector(\"[data-param='aspect_ratio'] input:checked\").value;")
        .await;
    assert_eq!(ratio, "9:16");

    // The operator sees it on the dashboard and in the generations list.
    app.create_user(OPERATOR.0, OPERATOR.1, Role::Admin).await;
    b.click("form[action='/signout'] button").await;
    b.wait_for_path("/signin").await;
    b.fill("#email", OPERATOR.0).await;
    b.fill("#password", OPERATOR.1).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    // An operator's work starts on the dashboard.
    b.wait_for_path("/admin").await;
    b.wait_for_exact_text("#kpi-total", "1").await;
    b.wait_for_exact_text("#kpi-credits", "45").await;
    // Kie's $0.275, to the cent.
    b.wait_for_exact_text("#kpi-cost", "$0.28").await;
    b.screenshot("admin-dashboard").await;
    b.goto("/admin/generations?status=succeeded").await;
    b.wait_for_text("table", CUSTOMER.0).await;
    b.wait_for_text("table", "Kling 2.6").await;
    b.screenshot("admin-generations").await;
    b.quit().await;
}
