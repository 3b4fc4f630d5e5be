//! Every page in both languages, as a customer and as the operator, with a history that has a
//! video, a voucher and welcome credits in it: a Turkish page shows no English text of ours —
//! no catalog text (titles, descriptions, values), no ledger reason, no locale string — and an
//! English page no Turkish one. Over HTTP: what is checked is the text the server renders.

use reelgate_domain::accounts::{Email, Password, Role};
use reelgate_domain::ledger::{Actor, VoucherCode};
use reelgate_domain::Credits;
use reelgate_store::{NewUser, NewVoucher};
use reqwest::multipart::Form;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::app::TestApp;
use crate::visitor::Visitor;

/// Texts shorter than this are words both languages may share ("Normal", "HD", "e-mail").
const MIN_CHARS: usize = 12;

/// The text a reader sees: text between tags and the attributes read aloud or shown on
/// hover, with entities decoded; scripts and styles left out.
pub fn visible_text(html: &str) -> String {
    let mut html = html.to_owned();
    for tag in ["script", "style"] {
        while let Some(start) = html.find(&format!("<{tag}")) {
            let end = html[start..]
                .find(&format!("</{tag}>"))
                .map_or(html.len(), |e| start + e + tag.len() + 3);
            html.replace_range(start..end, " ");
        }
    }
    let mut out = String::new();
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push('\n');
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + close];
        for attribute in ["title=\"", "placeholder=\"", "aria-label=\""] {
            if let Some(at) = tag.find(attribute) {
                let value = &tag[at + attribute.len()..];
                out.push_str(value.split('"').next().unwrap_or_default());
                out.push('\n');
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    decode(&out)
}

pub fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let entity = &rest[amp..];
        let end = entity.find(';').filter(|e| *e < 10);
        let decoded = end.and_then(|e| match &entity[1..e] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                .ok()
                .and_then(char::from_u32),
            n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        });
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &entity[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &entity[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The locale strings of `lang` that the other language says differently, cut at their
/// placeholders: each piece long enough to be a phrase is one that must not show up on a
/// page in the other language.
fn locale_phrases(own: &str, other: &str) -> BTreeSet<String> {
    let parse = |source: &str| -> Vec<(String, String)> {
        let table: toml::Table = source.parse().expect("locale parses");
        let mut out = Vec::new();
        flatten("", &table, &mut out);
        out
    };
    let theirs: std::collections::BTreeMap<String, String> = parse(other).into_iter().collect();
    let mut phrases = BTreeSet::new();
    for (key, text) in parse(own) {
        if theirs.get(&key) == Some(&text) {
            continue;
        }
        for piece in text.split(['{', '}']).step_by(2) {
            for line in piece.split("\n\n") {
                let line = line.trim_matches(|c: char| c.is_whitespace() || ".,:;·()".contains(c));
                if line.chars().count() >= MIN_CHARS {
                    phrases.insert(line.to_owned());
                }
            }
        }
    }
    phrases
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&path, inner, out),
            toml::Value::String(text) => out.push((path, text.clone())),
            _ => {}
        }
    }
}

/// The catalog's English: every model's description, every parameter's, every value's, and
/// the kind in model titles.
fn catalog_english(models: &Value) -> BTreeSet<String> {
    let mut phrases = BTreeSet::from(["text to video".to_owned(), "image to video".to_owned()]);
    let mut add = |text: Option<&str>| {
        if let Some(text) = text.filter(|t| t.chars().count() >= MIN_CHARS) {
            phrases.insert(text.trim_end_matches('.').to_owned());
        }
    };
    for model in models["models"].as_array().expect("models") {
        add(model["description"].as_str());
        for parameter in model["parameters"].as_array().into_iter().flatten() {
            add(parameter["description"].as_str());
            for value in parameter["values"].as_array().into_iter().flatten() {
                add(value["description"].as_str());
            }
        }
    }
    phrases
}

/// The ledger's English reasons, which a customer's history must not show raw.
const LEDGER_ENGLISH: &[&str] = &["signup bonus", "bought: payment", "voucher SPRING"];

/// What a Turkish page must not show: our English locale strings, the catalog's English
/// (`models` is `GET /v1/models`) and the ledger's English reasons.
pub fn english_phrases(models: &Value) -> BTreeSet<String> {
    let mut all = locale_phrases(
        include_str!("../../locales/en.toml"),
        include_str!("../../locales/tr.toml"),
    );
    all.extend(catalog_english(models));
    all.extend(LEDGER_ENGLISH.iter().map(|s| (*s).to_owned()));
    all
}

/// What an English page must not show: our Turkish locale strings.
pub fn turkish_phrases() -> BTreeSet<String> {
    locale_phrases(
        include_str!("../../locales/tr.toml"),
        include_str!("../../locales/en.toml"),
    )
}

pub fn found_in<'a>(text: &str, phrases: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    phrases
        .into_iter()
        .filter(|p| text.contains(p.as_str()))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_speaks_one_language() {
    let app = TestApp::spawn().await;
    let operator = app
        .create_user("ops@example.com", "operator password", Role::Admin)
        .await;
    let customer = app
        .store
        .create_user(NewUser {
            email: Email::parse("ayse@example.com").unwrap(),
            password: Password::parse("ayşenin şifresi").unwrap(),
            role: Role::Customer,
            signup_bonus: Credits::new(1_045),
        })
        .await
        .unwrap();
    app.store
        .create_voucher(NewVoucher {
            code: Some(VoucherCode::parse("SPRING").unwrap()),
            credits: Credits::new(100),
            max_redemptions: 1,
            expires_at: None,
            created_by: Actor::User(operator.id.clone()),
        })
        .await
        .unwrap();

    let mut ayse = Visitor::new(&app);
    ayse.language = "tr-TR,tr;q=0.9";
    let signed_in = ayse.sign_in("ayse@example.com", "ayşenin şifresi").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let account = ayse.get("/account").await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.body);
    let csrf = account.csrf();
    let redeemed = ayse
        .post("/account/vouchers", &[("csrf", &csrf), ("code", "SPRING")])
        .await;
    assert_eq!(redeemed.status, StatusCode::SEE_OTHER, "{}", redeemed.body);
    let csrf = ayse.get("/generate").await.csrf();
    let form = Form::new()
        .text("csrf", csrf)
        .text("model", "grok-imagine/text-to-video")
        .text("prompt", "karlı bir ormanda koşan kızıl bir tilki")
        .text("mode", "fun");
    let submitted = ayse.post_multipart("/generate", form).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = app
            .store
            .generations_of(&customer.id, None, None, 10)
            .await
            .unwrap();
        if page.items.iter().all(|g| g.status.is_final()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the video never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let models: Value = app.models().await;
    let english = english_phrases(&models);
    let turkish = turkish_phrases();

    let mut customer_pages: Vec<String> = ["/generate", "/videos", "/account", "/buy"]
        .map(str::to_owned)
        .to_vec();
    for model in models["models"].as_array().unwrap() {
        let id = model["id"].as_str().unwrap();
        customer_pages.push(format!("/generate?model={}", id.replace('/', "%2F")));
    }
    let operator_pages: Vec<String> = [
        "/admin".to_owned(),
        "/admin/users".to_owned(),
        format!("/admin/users/{}", customer.id),
        "/admin/vouchers".to_owned(),
        "/admin/prices".to_owned(),
        "/admin/generations".to_owned(),
    ]
    .to_vec();

    let mut problems = Vec::new();
    let mut english_seen_on_english_pages = 0;
    // A visitor's pages, and the page for a page that does not exist.
    let visitor_pages: Vec<String> = ["/signin", "/signup", "/password-reset", "/no-such-page"]
        .map(str::to_owned)
        .to_vec();
    for (who, pages) in [
        (None, &visitor_pages),
        (
            Some(("ayse@example.com", "ayşenin şifresi")),
            &customer_pages,
        ),
        (
            Some(("ops@example.com", "operator password")),
            &operator_pages,
        ),
    ] {
        for (language, foreign) in [("tr-TR,tr;q=0.9", &english), ("en-US,en;q=0.9", &turkish)] {
            let mut visitor = Visitor::new(&app);
            visitor.language = language;
            if let Some((email, password)) = who {
                visitor.sign_in(email, password).await;
            }
            for path in pages {
                let page = visitor.get(path).await;
                let expected = if path == "/no-such-page" {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::OK
                };
                assert_eq!(page.status, expected, "{path} ({language})");
                let text = visible_text(&page.body);
                for phrase in found_in(&text, foreign) {
                    problems.push(format!("{path} ({language}): {phrase:?}"));
                }
                if language.starts_with("en") {
                    english_seen_on_english_pages += found_in(&text, &english).len();
                }
            }
        }
    }
    assert!(
        english_seen_on_english_pages > 50,
        "the English pages show the English texts the check looks for \
         ({english_seen_on_english_pages} found): is the check blind?"
    );
    assert!(
        problems.is_empty(),
        "text in the wrong language: {problems:#?}"
    );

    // The Turkish history reads as Turkish, with numbers written the Turkish way.
    let account = visible_text(&ayse.get("/account").await.body);
    for expected in [
        "Grok Imagine — metinden videoya",
        "karlı bir ormanda koşan kızıl bir tilki",
        "Kupon SPRING",
        "Hoş geldiniz kredisi",
        "+1.045",
    ] {
        assert!(account.contains(expected), "{expected:?} in {account}");
    }
    let videos = visible_text(&ayse.get("/videos").await.body);
    assert!(videos.contains("Mod\n Eğlenceli"), "{videos}");
}

/// A failed video's card in Turkish says why in Turkish and keeps Kie's own reason (which
/// has no translation), with one stop per sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turkish_failure_card_keeps_kies_reason() {
    let app = TestApp::spawn_with_sim(|sim| sim.faults.failure_ratio = 1.0).await;
    let user = app
        .create_user("can@example.com", "canın şifresi", Role::Customer)
        .await;
    app.grant(&user, 100).await;
    let mut can = Visitor::new(&app);
    can.language = "tr-TR,tr;q=0.9";
    can.sign_in("can@example.com", "canın şifresi").await;
    let csrf = can.get("/generate").await.csrf();
    let form = Form::new()
        .text("csrf", csrf)
        .text("model", "kling-2.6/text-to-video")
        .text("prompt", "denizde bir fırtına")
        .text("duration", "5");
    let submitted = can.post_multipart("/generate", form).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let failed = loop {
        let page = app
            .store
            .generations_of(&user.id, None, None, 1)
            .await
            .unwrap();
        if let Some(g) = page.items.first().filter(|g| g.status.is_final()) {
            break g.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the video never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let kie_said = failed.upstream_error.clone().unwrap_or_default();
    assert!(!kie_said.is_empty(), "Kie said why");
    let videos = visible_text(&can.get("/videos").await.body);
    let reason = videos
        .lines()
        .find(|l| l.contains("Video hizmeti bu videoyu oluşturamadı: "))
        .unwrap_or_else(|| panic!("the Turkish reason with Kie's words: {videos}"));
    let said = reason.split(": ").nth(1).unwrap_or_default();
    assert!(said.len() > 10, "Kie's words follow: {reason}");
    assert!(!videos.contains(".."), "{reason}");
    assert!(videos.contains("kredi bakiyenize iade edildi"), "{videos}");
}
