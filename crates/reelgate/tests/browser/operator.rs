//! Over HTTP: image uploads on the generate form, and every operator page rendering what it
//! should.

use reelgate_domain::accounts::Role;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;

use crate::app::TestApp;
use crate::visitor::Visitor;

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn image_to_video(csrf: &str, file: Part) -> Form {
    Form::new()
        .text("csrf", csrf.to_owned())
        .text("model", "kling-2.6/image-to-video")
        .text("prompt", "the cat yawns")
        .text("image_urls", "")
        .text("duration", "5")
        .part("image_files", file)
}

#[tokio::test]
async fn an_image_from_the_device_is_uploaded_to_kie_and_the_generation_uses_it() {
    let app = TestApp::spawn().await;
    let user = app
        .create_user("ivy@example.com", "ivy password", Role::Customer)
        .await;
    app.grant(&user, 100).await;
    let mut ivy = Visitor::new(&app);
    ivy.sign_in("ivy@example.com", "ivy password").await;
    let csrf = ivy
        .get("/generate?model=kling-2.6%2Fimage-to-video")
        .await
        .csrf();

    // Something that is not an image is refused, and nothing is charged.
    let text = Part::bytes(b"<svg onload=alert(1)>".to_vec()).file_name("cat.png");
    let refused = ivy
        .post_multipart("/generate", image_to_video(&csrf, text))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("Only PNG, JPEG and WebP"),
        "{}",
        refused.body
    );

    let png = Part::bytes(PNG.to_vec())
        .file_name("My Cat.png")
        .mime_str("image/png")
        .unwrap();
    let page = ivy
        .post_multipart("/generate", image_to_video(&csrf, png))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location().expect("redirect").to_owned();
    assert!(location.starts_with("/videos?submitted=gen_"), "{location}");
    let id = location.trim_start_matches("/videos?submitted=");

    let generation: serde_json::Value =
        ivy_json(&app, &mut ivy, &format!("/v1/generations/{id}")).await;
    let url = generation["params"]["image_urls"][0]
        .as_str()
        .expect("an image URL");
    let image = app.client.get(url).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK, "Kie can fetch {url}");
    assert_eq!(image.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(generation["credits"], 45);
}

async fn ivy_json(app: &TestApp, visitor: &mut Visitor<'_>, path: &str) -> serde_json::Value {
    let _ = app;
    let page = visitor.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    serde_json::from_str(&page.body).expect("json")
}

#[tokio::test]
async fn a_balance_too_small_is_refused_before_anything_is_uploaded_or_held() {
    let app = TestApp::spawn().await;
    app.create_user("sam@example.com", "sam password", Role::Customer)
        .await;
    let mut sam = Visitor::new(&app);
    sam.sign_in("sam@example.com", "sam password").await;
    let page = sam.get("/generate?model=kling-2.6%2Ftext-to-video").await;
    assert!(page.body.contains("Not enough credits: you need 45 more."));
    let csrf = page.csrf();
    let refused = sam
        .post(
            "/generate",
            &[
                ("csrf", csrf.as_str()),
                ("model", "kling-2.6/text-to-video"),
                ("prompt", "a fox"),
            ],
        )
        .await;
    // A urlencoded post is not what the form sends; the page says so instead of failing.
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let form = Form::new()
        .text("csrf", csrf)
        .text("model", "kling-2.6/text-to-video")
        .text("prompt", "a fox");
    let refused = sam.post_multipart("/generate", form).await;
    assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED);
    assert!(refused.body.contains("more credits for this video"));
    let list = sam.get("/v1/generations").await;
    assert!(list.body.contains("\"generations\":[]"), "{}", list.body);
}

#[tokio::test]
async fn operator_pages_show_customers_generations_vouchers_and_prices() {
    let app = TestApp::spawn().await;
    app.create_user("ops@example.com", "operator password", Role::Admin)
        .await;
    let kim = app
        .create_user("kim@example.com", "kim password", Role::Customer)
        .await;
    app.grant(&kim, 200).await;
    let mut kims = Visitor::new(&app);
    kims.sign_in("kim@example.com", "kim password").await;
    let csrf = kims.get("/generate").await.csrf();
    let form = Form::new()
        .text("csrf", csrf)
        .text("model", "veo3-fast")
        .text("prompt", "a lighthouse in a storm");
    let submitted = kims.post_multipart("/generate", form).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );

    let mut ops = Visitor::new(&app);
    ops.sign_in("ops@example.com", "operator password").await;
    let dashboard = ops.get("/admin").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("Built-in simulator"));
    assert!(
        dashboard.body.contains("id=\"kpi-total\">1<"),
        "one generation today"
    );
    // The cash card: nothing bought today, the 200 granted credits still owed (balance and
    // held, or less what the generation consumed if it already finished), and the CSV.
    assert!(dashboard.body.contains("No money has moved today yet."));
    assert!(dashboard.body.contains("id=\"cash-unspent\""));
    assert!(dashboard
        .body
        .contains("href=\"/v1/admin/reports/cash?format=csv\""));

    let users = ops.get("/admin/users?q=kim").await;
    assert!(users.body.contains("kim@example.com"));
    assert!(
        !users.body.contains(">ops@example.com</a>"),
        "the search filters"
    );
    let user = ops.get(&format!("/admin/users/{}", kim.id)).await;
    assert!(
        user.body.contains("Veo 3.1 Fast"),
        "their generations are listed"
    );

    for query in ["", "?model=veo3-fast", "?customer=kim%40example.com"] {
        let page = ops.get(&format!("/admin/generations{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        assert!(page.body.contains("Veo 3.1 Fast"), "{query}");
    }
    for query in [
        "?model=sora-2-text-to-video",
        "?customer=nobody%40example.com",
        "?status=failed",
    ] {
        let page = ops.get(&format!("/admin/generations{query}")).await;
        assert!(page.body.contains("No generations match."), "{query}");
    }

    let prices = ops.get("/admin/prices").await;
    assert!(prices.body.contains("Kling 2.6 — text to video"));
    assert!(
        prices.body.contains(">45<"),
        "Kling 5 s without sound is 45 credits"
    );

    let csrf = ops.get("/admin/vouchers").await.csrf();
    let created = ops
        .post(
            "/admin/vouchers",
            &[("csrf", csrf.as_str()), ("credits", "0")],
        )
        .await;
    assert_eq!(created.status, StatusCode::BAD_REQUEST);
    assert!(created
        .body
        .contains("Enter a positive whole number of credits."));
}

#[tokio::test]
async fn a_failed_generation_says_why_in_plain_words_and_that_the_credits_came_back() {
    let app = TestApp::spawn_with_sim(|sim| sim.faults.failure_ratio = 1.0).await;
    let user = app
        .create_user("ole@example.com", "ole password", Role::Customer)
        .await;
    app.grant(&user, 100).await;
    let mut ole = Visitor::new(&app);
    ole.sign_in("ole@example.com", "ole password").await;
    let csrf = ole.get("/generate").await.csrf();
    let form = Form::new()
        .text("csrf", csrf)
        .text("model", "kling-2.6/text-to-video")
        .text("prompt", "a fox");
    let page = ole.post_multipart("/generate", form).await;
    let id = page
        .location()
        .expect("redirect")
        .trim_start_matches("/videos?submitted=")
        .to_owned();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let generation = loop {
        let json: serde_json::Value =
            serde_json::from_str(&ole.get(&format!("/v1/generations/{id}")).await.body).unwrap();
        if json["status"] == "failed" {
            break json;
        }
        assert!(std::time::Instant::now() < deadline, "never failed: {json}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let code = generation["error"]["code"].as_str().unwrap().to_owned();

    let card = ole.get(&format!("/videos/{id}/card")).await;
    assert!(card.body.contains("This video could not be made"));
    assert!(card
        .body
        .contains("45 credits were returned to your balance."));
    let message = generation["error"]["message"].as_str().unwrap();
    let first_sentence = message.split(". ").next().unwrap();
    assert!(
        card.body.contains(first_sentence),
        "{first_sentence:?} in {}",
        card.body
    );

    ole.language = "tr-TR,tr;q=0.9";
    let card = ole.get(&format!("/videos/{id}/card")).await;
    assert!(card.body.contains("Bu video oluşturulamadı"));
    assert!(card.body.contains("45 kredi bakiyenize iade edildi."));
    assert!(
        !card.body.contains(first_sentence),
        "the English reason ({code}) is translated"
    );
    let account: serde_json::Value =
        serde_json::from_str(&ole.get("/v1/account").await.body).unwrap();
    assert_eq!(account["balance"], 100);
}
