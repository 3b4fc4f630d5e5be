//! The generate page as a newcomer reads it, over HTTP: with no credits they do not land on
//! the dearest model, tooltips speak to customers (not about Kie's documentation), each Veo
//! model says what it is for, Veo says it takes images, and Sora Pro's quality reads its
//! real labels.

use reelgate_domain::accounts::Role;
use serde_json::Value;

use crate::app::TestApp;
use crate::languages::{decode, visible_text};
use crate::visitor::Visitor;

fn cheapest(model: &Value) -> i64 {
    model["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["credits"].as_i64().unwrap())
        .min()
        .unwrap()
}

/// The model the form is for.
fn form_model(html: &str) -> String {
    let marker = "id=\"generate-form\"";
    let form = &html[html.find(marker).expect("the form")..];
    let at = form.find("data-model=\"").expect("data-model") + "data-model=\"".len();
    decode(form[at..].split('"').next().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_sees_a_page_written_for_them() {
    let app = TestApp::spawn().await;
    let models: Value = app.models().await;
    let offered: Vec<&Value> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["available"] == true)
        .collect();
    let cheapest_model = offered.iter().min_by_key(|m| cheapest(m)).unwrap();
    let dearest_first = offered[0];

    let newcomer = app
        .create_user("neo@example.com", "newcomer password", Role::Customer)
        .await;
    let mut neo = Visitor::new(&app);
    neo.sign_in("neo@example.com", "newcomer password").await;
    let page = neo.get("/generate").await;
    assert_eq!(
        form_model(&page.body),
        cheapest_model["id"].as_str().unwrap(),
        "with 0 credits, the cheapest model"
    );

    // With credits for some models, the first of those in the catalog's order.
    let budget = cheapest(cheapest_model);
    app.grant(&newcomer, budget).await;
    let affordable = offered.iter().find(|m| cheapest(m) <= budget).unwrap();
    assert_eq!(
        form_model(&neo.get("/generate").await.body),
        affordable["id"].as_str().unwrap()
    );
    assert_ne!(
        affordable["id"], dearest_first["id"],
        "the test needs a catalog whose first model costs more than its cheapest"
    );

    // Every model's page: no tooltip about Kie or its documentation.
    for model in &offered {
        let id = model["id"].as_str().unwrap();
        let html = neo
            .get(&format!("/generate?model={}", id.replace('/', "%2F")))
            .await
            .body;
        for title in html.split("title=\"").skip(1) {
            let title = title.split('"').next().unwrap();
            assert!(
                !title.contains("Kie") && !title.contains("documentation"),
                "{id}: an operator's reason as a customer's tooltip: {title:?}"
            );
        }
    }

    // Veo Quality and Fast say different things; Veo takes images and says so.
    let text = visible_text(&neo.get("/generate?model=veo3").await.body);
    let card = |id: &str| {
        let html = &page.body;
        let at = html
            .find(&format!("data-model=\"{id}\">"))
            .unwrap_or_else(|| panic!("a card for {id}"));
        let end = at + html[at..].find("</a>").unwrap();
        visible_text(&html[at..end])
    };
    let quality = card("veo3");
    let fast = card("veo3-fast");
    let describe = |card: &str| {
        card.lines()
            .map(str::trim)
            .filter(|l| l.len() > 20)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_ne!(describe(&quality), describe(&fast), "{quality} / {fast}");
    assert!(quality.contains("Text or image → video"), "{quality}");
    assert!(text.contains("Text or image → video"), "{text}");

    // Sora 2 Pro's quality chips: "Standard" and "High", each said once.
    let html = neo
        .get("/generate?model=sora-2-pro-text-to-video")
        .await
        .body;
    let at = html
        .find("data-param=\"quality\"")
        .expect("a quality field");
    let end = at + html[at..].find("</div>\n        </div>").unwrap_or(2000);
    let chips = visible_text(&html[at..end]);
    let chips: Vec<&str> = chips
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        chips.contains(&"Standard") && chips.contains(&"High"),
        "{chips:?}"
    );
    assert!(
        !chips.iter().any(|c| c.starts_with("standard quality")),
        "{chips:?}"
    );
}
