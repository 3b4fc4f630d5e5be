//! Over HTTP: "Generate again" after an uploaded image offers reelgate's own copy, not Kie's
//! upload link (which Kie deletes after three days and which names the customer), and the new
//! generation sends the image to Kie afresh. A customer cannot name another's copy.

use reelgate_domain::accounts::Role;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

use crate::app::TestApp;
use crate::languages::decode;
use crate::operator::PNG;
use crate::visitor::{Page, Visitor};

const MODEL: &str = "kling-2.6/image-to-video";

fn form(csrf: &str) -> Form {
    Form::new()
        .text("csrf", csrf.to_owned())
        .text("model", MODEL)
        .text("prompt", "the cat yawns")
        .text("duration", "5")
}

async fn generation(visitor: &mut Visitor<'_>, submitted: &Page) -> Value {
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let location = submitted.location().expect("redirect").to_owned();
    let id = location.trim_start_matches("/videos?submitted=");
    let page = visitor.get(&format!("/v1/generations/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    serde_json::from_str(&page.body).expect("json")
}

/// The value of the form's `kept_images` checkbox.
fn kept_value(html: &str) -> Option<String> {
    let at = html.find("name=\"kept_images\" value=\"")? + "name=\"kept_images\" value=\"".len();
    Some(decode(html[at..].split('"').next()?))
}

#[tokio::test]
async fn generate_again_reuploads_reelgates_copy_of_an_uploaded_image() {
    let app = TestApp::spawn().await;
    let ivy_user = app
        .create_user("ivy@example.com", "ivy password", Role::Customer)
        .await;
    app.grant(&ivy_user, 200).await;
    let mut ivy = Visitor::new(&app);
    ivy.sign_in("ivy@example.com", "ivy password").await;
    let csrf = ivy.get("/generate").await.csrf();
    let png = Part::bytes(PNG.to_vec())
        .file_name("My Cat.png")
        .mime_str("image/png")
        .unwrap();
    let submitted = ivy
        .post_multipart(
            "/generate",
            form(&csrf).text("image_urls", "").part("image_files", png),
        )
        .await;
    let first = generation(&mut ivy, &submitted).await;
    let kie_link = first["params"]["image_urls"][0]
        .as_str()
        .unwrap()
        .to_owned();

    let again = ivy
        .get(&format!("/generate?from={}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        !decode(&again.body).contains(&kie_link),
        "Kie's upload link is not offered again"
    );
    assert!(
        !again.body.contains(ivy_user.id.as_str()),
        "nor anything naming the customer"
    );
    let kept = kept_value(&again.body).expect("the uploaded image is offered again");

    let submitted = ivy
        .post_multipart(
            "/generate",
            form(&again.csrf())
                .text("image_urls", "")
                .text("kept_images", kept.clone()),
        )
        .await;
    let second = generation(&mut ivy, &submitted).await;
    let fresh = second["params"]["image_urls"][0].as_str().unwrap();
    assert_ne!(fresh, kie_link, "uploaded to Kie afresh");
    let image = app.client.get(fresh).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK, "Kie can fetch {fresh}");
    assert_eq!(image.bytes().await.unwrap().as_ref(), PNG);

    // Another customer naming Ivy's copy gets nothing of it, and pays nothing.
    let sam_user = app
        .create_user("sam@example.com", "sam password", Role::Customer)
        .await;
    app.grant(&sam_user, 200).await;
    let mut sam = Visitor::new(&app);
    sam.sign_in("sam@example.com", "sam password").await;
    let csrf = sam.get("/generate").await.csrf();
    let refused = sam
        .post_multipart(
            "/generate",
            form(&csrf).text("image_urls", "").text("kept_images", kept),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let sam_now = app.store.user(&sam_user.id).await.unwrap();
    assert_eq!((sam_now.balance.get(), sam_now.held.get()), (200, 0));
}
