//! Veo 3.1 as Kie sells it now: three models, generation types, Auto, watermark, translation,
//! and a price per resolution by the one rule of pricing.md.

use reelgate_domain::catalog::{Catalog, ErrorCode, FieldErrors, GenerationRequest};
use reelgate_domain::Credits;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const IMG: &str = "https://example.com/a.png";

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn parse(body: &Value) -> Result<GenerationRequest, FieldErrors> {
    catalog().parse(body.as_object().unwrap())
}

fn wire(body: Value) -> Value {
    parse(&body)
        .unwrap_or_else(|e| panic!("{body} refused: {e:?}"))
        .to_upstream(None)
        .to_json()
}

fn refused(body: Value) -> (String, ErrorCode, String) {
    let errors = parse(&body).expect_err(&body.to_string());
    let first = errors.first();
    (first.field.clone(), first.code, first.message.clone())
}

#[test]
fn every_model_and_resolution_is_priced_exactly_by_the_rule() {
    // credits = round_half_up(cost × 1.5 × 108 / 5) × 5
    let table = [
        ("veo3", "720p", "1.25", 205),
        ("veo3", "1080p", "1.275", 205),
        ("veo3", "4k", "1.85", 300),
        ("veo3-fast", "720p", "0.30", 50),
        ("veo3-fast", "1080p", "0.325", 55),
        ("veo3-fast", "4k", "0.90", 145),
        ("veo3-lite", "720p", "0.15", 25),
        ("veo3-lite", "1080p", "0.175", 30),
        ("veo3-lite", "4k", "0.75", 120),
    ];
    let catalog = catalog();
    for (model, resolution, cost, credits) in table {
        let body = json!({"model": model, "prompt": "a dog", "resolution": resolution});
        let quote = catalog.quote(body.as_object().unwrap()).unwrap();
        let expected = (Credits::new(credits), cost.parse::<Decimal>().unwrap());
        assert_eq!(
            (quote.credits, quote.upstream_cost_usd),
            expected,
            "{model} {resolution}"
        );
    }
    // Without a resolution: 720p, the seed's Veo 3.1 Fast row.
    let fast = catalog
        .quote(
            json!({"model": "veo3-fast", "prompt": "p"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(fast.credits, Credits::new(50));
}

#[test]
fn models_advertise_each_resolution_with_its_price() {
    let view = serde_json::to_value(catalog().view()).unwrap();
    let lite = view
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "veo3-lite")
        .expect("veo3-lite is listed");
    assert_eq!(lite["available"], true, "{lite:#}");
    let prices: Vec<(Value, Value)> = lite["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["params"]["resolution"].clone(), p["credits"].clone()))
        .collect();
    assert_eq!(
        prices,
        [
            (json!("720p"), json!(25)),
            (json!("1080p"), json!(30)),
            (json!("4k"), json!(120))
        ]
    );
}

#[test]
fn lite_is_sent_as_veo3_lite_with_every_new_field() {
    assert_eq!(
        wire(
            json!({"model": "veo3-lite", "prompt": "p", "image_urls": [IMG, IMG, IMG],
                    "generation_type": "reference", "aspect_ratio": "auto",
                    "watermark": "Reelgate", "enable_translation": false, "resolution": "4k"})
        ),
        json!({"prompt": "p", "imageUrls": [IMG, IMG, IMG], "model": "veo3_lite",
               "aspect_ratio": "Auto", "generationType": "REFERENCE_2_VIDEO",
               "watermark": "Reelgate", "enableTranslation": false}),
        "the resolution is no body field: it is the upgrade asked for afterwards"
    );
}

#[test]
fn kies_spellings_are_accepted_and_stored_as_reelgates() {
    let same = |written: Value, preferred: Value| {
        let (a, b) = (parse(&written).unwrap(), parse(&preferred).unwrap());
        assert_eq!(a, b, "{written} and {preferred} differ");
        assert_eq!(a.params_json(), b.params_json());
    };
    for (kie, ours, images) in [
        ("TEXT_2_VIDEO", "text", 0),
        ("FIRST_AND_LAST_FRAMES_2_VIDEO", "frames", 2),
        ("REFERENCE_2_VIDEO", "reference", 3),
    ] {
        let urls: Vec<&str> = std::iter::repeat_n(IMG, images).collect();
        let body = |kind: &str| {
            let mut b = json!({"model": "veo3-fast", "prompt": "p", "generation_type": kind});
            if images > 0 {
                b["image_urls"] = json!(urls);
            }
            b
        };
        same(body(kie), body(ours));
        assert_eq!(
            parse(&body(kie)).unwrap().params_json()["generation_type"],
            ours
        );
    }
    same(
        json!({"model": "veo3", "prompt": "p", "aspect_ratio": "Auto"}),
        json!({"model": "veo3", "prompt": "p", "aspect_ratio": "auto"}),
    );
    same(
        json!({"model": "veo3", "prompt": "p", "resolution": "4K"}),
        json!({"model": "veo3", "prompt": "p", "resolution": "4k"}),
    );
}

#[test]
fn a_generation_type_decides_how_many_images_go_with_it() {
    let (field, code, message) = refused(json!({"model": "veo3-fast", "prompt": "p",
        "generation_type": "text", "image_urls": [IMG]}));
    assert_eq!(
        (field.as_str(), code),
        ("image_urls", ErrorCode::InvalidParameter)
    );
    assert!(message.contains("no image_urls"), "{message}");
    let (field, _, message) = refused(json!({"model": "veo3-fast", "prompt": "p",
        "generation_type": "frames", "image_urls": [IMG, IMG, IMG]}));
    assert_eq!(field, "image_urls");
    assert!(message.contains("1 to 2"), "{message}");
    let (field, _, message) = refused(json!({"model": "veo3-lite", "prompt": "p",
        "generation_type": "reference"}));
    assert_eq!(field, "image_urls");
    assert!(message.contains("1 to 3"), "{message}");
    let (_, _, message) = refused(json!({"model": "veo3-fast", "prompt": "p",
        "image_urls": [IMG, IMG, IMG]}));
    assert!(message.contains("generation_type reference"), "{message}");
}

#[test]
fn what_veo_does_not_make_is_refused_in_the_customers_words() {
    let (field, code, message) = refused(json!({"model": "veo3", "prompt": "p",
        "generation_type": "reference", "image_urls": [IMG]}));
    assert_eq!(
        (field.as_str(), code),
        ("generation_type", ErrorCode::NotOffered)
    );
    assert!(message.contains("Veo 3.1 Fast and Lite do"), "{message}");
    let (field, code, message) = refused(json!({"model": "veo3-lite", "prompt": "p",
        "aspect_ratio": "1:1"}));
    assert_eq!(
        (field.as_str(), code),
        ("aspect_ratio", ErrorCode::NotOffered)
    );
    assert!(message.contains("not square ones"), "{message}");
    assert!(
        !message.contains("Kie"),
        "customers do not know Kie: {message}"
    );
    let (field, _, _) = refused(json!({"model": "veo3-fast", "prompt": "p",
        "watermark": "w".repeat(51)}));
    assert_eq!(field, "watermark");
    let (field, _, _) = refused(json!({"model": "veo3-fast", "prompt": "p",
        "enable_translation": "yes"}));
    assert_eq!(field, "enable_translation");
    let (field, _, message) = refused(json!({"model": "veo3-fast", "prompt": "p",
        "resolution": "8K"}));
    assert_eq!(field, "resolution");
    assert!(message.contains("720p, 1080p, 4k"), "{message}");
}
