//! In Chromium: a finished Veo video's card offers "Extend" and "Upscale to 4K" with their
//! prices, and extending it queues a generation of its own; Grok's duration is a slider whose
//! price follows it.

use reelgate_domain::accounts::Role;
use reqwest::multipart::Form;

use crate::app::TestApp;
use crate::browser::Browser;
use crate::visitor::Visitor;

const CUSTOMER: (&str, &str) = ("noor@example.com", "noor's password");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_veo_video_is_extended_from_its_card_and_grok_takes_its_duration_from_a_slider()
{
    let app = TestApp::spawn().await;
    let customer = app
        .create_user(CUSTOMER.0, CUSTOMER.1, Role::Customer)
        .await;
    app.grant(&customer, 500).await;
    let mut noor = Visitor::new(&app);
    noor.sign_in(CUSTOMER.0, CUSTOMER.1).await;
    let csrf = noor.get("/generate?model=veo3-fast").await.csrf();
    let form = Form::new()
        .text("csrf", csrf)
        .text("model", "veo3-fast")
        .text("prompt", "a fox in the snow");
    let created = noor.post_multipart("/generate", form).await;
    assert_eq!(created.status.as_u16(), 303, "{}", created.body);
    let original = created
        .location()
        .unwrap()
        .trim_start_matches("/videos?submitted=")
        .to_owned();

    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.fill("#email", CUSTOMER.0).await;
    b.fill("#password", CUSTOMER.1).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path("/generate").await;

    // Grok's duration: a slider from 6 to 30 s, the price following it.
    b.goto("/generate?model=grok-imagine%2Ftext-to-video").await;
    b.wait_for_exact_text("#price", "15").await;
    b.eval(
        "const s = document.querySelector('[data-param=duration] input[type=range]');
         s.value = 12; s.dispatchEvent(new Event('input', {bubbles: true}));",
    )
    .await;
    b.wait_for_text("[data-param=duration] output", "12 s")
        .await;
    b.wait_until("the price to follow the slider", || async {
        let price = b.text("#price").await;
        !price.is_empty() && price.trim() != "15"
    })
    .await;

    // The finished Veo video offers both, with their prices.
    b.goto("/videos").await;
    let card = format!("article[id='{original}']");
    b.wait_for_exact_text(
        &format!("{card} [data-extend] summary"),
        "Extend · 50 credits",
    )
    .await;
    b.wait_for_exact_text(
        &format!("{card} [data-upscale] button"),
        "Upscale to 4K · 95 credits",
    )
    .await;
    b.screenshot("video-card-follow-ups").await;
    b.click(&format!("{card} [data-extend] summary")).await;
    b.fill(
        &format!("{card} [data-extend] textarea"),
        "the fox leaps over a frozen stream",
    )
    .await;
    b.click(&format!("{card} [data-extend] button[type=submit]"))
        .await;
    b.wait_for_text("#notice", "on its way").await;
    b.quit().await;

    let (_, page) = json(&mut noor, "/v1/generations?limit=10").await;
    let extension = page["generations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["params"]["extends"] == original.as_str())
        .expect("the extension is a generation of its own")
        .clone();
    assert_eq!(extension["credits"], 50);
    assert_eq!(
        extension["params"]["prompt"],
        "the fox leaps over a frozen stream"
    );
}

async fn json(visitor: &mut Visitor<'_>, path: &str) -> (u16, serde_json::Value) {
    let page = visitor.get(path).await;
    (
        page.status.as_u16(),
        serde_json::from_str(&page.body).unwrap_or(serde_json::Value::Null),
    )
}
