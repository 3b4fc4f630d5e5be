//! In Chromium, in Turkish: a customer makes a video and reads their credit history — one
//! line for the video with its model, prompt and price, one for the welcome credits, numbers
//! written the Turkish way and no English left on the page; the operator signs in to the
//! dashboard, sees the raw movements on the customer's page, and the tab bar has no
//! scrollbar.

use reelgate_domain::accounts::{Email, Password, Role};
use reelgate_domain::Credits;
use reelgate_store::NewUser;
use serde_json::Value;

use crate::app::TestApp;
use crate::browser::Browser;
use crate::languages::{english_phrases, found_in};

const CUSTOMER: (&str, &str) = ("ayse@example.com", "ayşenin şifresi");
const OPERATOR: (&str, &str) = ("ops@example.com", "operator password");

async fn sign_in(b: &Browser, (email, password): (&str, &str), lands_on: &str) {
    b.goto("/signin").await;
    b.fill("#email", email).await;
    b.fill("#password", password).await;
    b.click("form[action='/signin'] button[type=submit]").await;
    b.wait_for_path(lands_on).await;
}

/// What the page shows a reader, titles and placeholders included.
async fn page_text(b: &Browser) -> String {
    let text = b
        .eval(
            "const extra = [...document.querySelectorAll('[title],[placeholder],[aria-label]')]
               .map(e => [e.title, e.placeholder, e.getAttribute('aria-label')].join('\\n'));
             return document.body.innerText + '\\n' + extra.join('\\n');",
        )
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turkish_customer_reads_their_history_at_a_glance() {
    let app = TestApp::spawn().await;
    app.create_user(OPERATOR.0, OPERATOR.1, Role::Admin).await;
    let customer = app
        .store
        .create_user(NewUser {
            email: Email::parse(CUSTOMER.0).unwrap(),
            password: Password::parse(CUSTOMER.1).unwrap(),
            role: Role::Customer,
            signup_bonus: Credits::new(1_045),
        })
        .await
        .unwrap();
    let models: Value = app.models().await;
    let english = english_phrases(&models);

    let b = Browser::start(&app.address).await;
    b.goto("/signin").await;
    b.click("form[action='/lang'] button[value=tr]").await;
    b.wait_until("the page is Turkish", || async {
        b.eval("return document.documentElement.lang;").await == "tr"
    })
    .await;
    sign_in(&b, CUSTOMER, "/generate").await;
    b.wait_for_exact_text("[data-balance-pill] [data-balance]", "1.045")
        .await;

    b.goto("/generate?model=kling-2.6%2Ftext-to-video").await;
    b.wait_for_text("#model-title", "Kling 2.6 — metinden videoya")
        .await;
    b.wait_for_exact_text("#price", "45").await;
    // Brand names are uppercased by the style sheet as English, not as Turkish ("KLİNG").
    let headings = b
        .eval("return [...document.querySelectorAll('.family h3, .eyebrow')].map(h => h.innerText).join(' ');")
        .await;
    let headings = headings.as_str().unwrap_or_default();
    assert!(headings.contains("KLING"), "{headings}");
    assert!(!headings.contains('İ'), "{headings}");
    b.fill(
        "#p-prompt",
        "karlı bir ormanda koşan kızıl bir tilki, ağır çekim",
    )
    .await;
    b.click("#submit").await;
    b.wait_for_path("/videos").await;
    b.wait_until("the video is ready", || async {
        b.eval("return document.querySelector('.video-card')?.dataset.status;")
            .await
            == "succeeded"
    })
    .await;
    b.wait_for_text(".video-card .badge", "Hazır").await;
    b.wait_for_text(".video-card .chips", "Süre").await;
    let text = page_text(&b).await;
    assert!(
        found_in(&text, &english).is_empty(),
        "English on the Turkish videos page: {:?}",
        found_in(&text, &english)
    );

    b.goto("/account#ledger").await;
    b.wait_for_text("#ledger", "Kling 2.6 — metinden videoya")
        .await;
    b.wait_for_text("#ledger", "karlı bir ormanda koşan kızıl bir tilki")
        .await;
    b.wait_for_text("#ledger", "Hoş geldiniz kredisi").await;
    // Newest first: the video's price, then the welcome credit.
    b.wait_for_texts("#ledger td.num", &["−45", "+1.045"]).await;
    let lines = b
        .eval("return document.querySelectorAll('#ledger .history-line').length;")
        .await;
    assert_eq!(
        lines, 2,
        "one line for the video, one for the welcome credits"
    );
    let ledger = b.find("#ledger").await.text().await.unwrap();
    for machinery in ["Ayrıldı", "Düşüldü", "gen_"] {
        assert!(!ledger.contains(machinery), "{machinery:?} in {ledger}");
    }
    b.screenshot("history-tr").await;
    let text = page_text(&b).await;
    assert!(
        found_in(&text, &english).is_empty(),
        "English on the Turkish account page: {:?}",
        found_in(&text, &english)
    );

    // The operator starts on the dashboard, in Turkish too, and sees every raw row.
    b.click("form[action='/signout'] button").await;
    b.wait_for_path("/signin").await;
    sign_in(&b, OPERATOR, "/admin").await;
    // A scrollbar is what takes the box's height beyond its content and borders; the tabs'
    // underline overlapping the bar's border by a pixel must not make one.
    let bar = b
        .eval(
            "const n = document.querySelector('.subnav');
             const s = getComputedStyle(n);
             const borders = parseFloat(s.borderTopWidth) + parseFloat(s.borderBottomWidth);
             return {scrollbar: n.offsetHeight - n.clientHeight - borders,
                     overflow: s.overflowX + ' ' + s.overflowY,
                     tabs: n.querySelectorAll('a').length};",
        )
        .await;
    assert_eq!(bar["scrollbar"], 0, "no scrollbar on the tab bar: {bar}");
    assert_eq!(bar["overflow"], "visible visible", "{bar}");
    assert!(bar["tabs"].as_u64().unwrap() > 3, "{bar}");
    b.goto(&format!("/admin/users/{}", customer.id)).await;
    for raw in ["Ayrıldı", "Düşüldü", "Yükleme"] {
        b.wait_for_text("body", raw).await;
    }
    b.quit().await;
}
