//! The seed price table of pricing.md, row by row, as quotes of the built-in catalog.

use reelgate_domain::catalog::Catalog;
use reelgate_domain::Credits;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

fn quote(body: Value) -> (Credits, Decimal) {
    let catalog = Catalog::builtin().unwrap();
    let quote = catalog
        .quote(body.as_object().unwrap())
        .unwrap_or_else(|e| panic!("{body} refused: {e:?}"));
    (quote.credits, quote.upstream_cost_usd)
}

#[test]
fn every_row_of_the_seed_table_is_quoted_exactly() {
    let rows = [
        (
            json!({"model": "veo3-fast", "prompt": "a dog in a park"}),
            "0.30",
            50,
        ),
        (
            json!({"model": "grok-imagine/text-to-video", "prompt": "a cat"}),
            "0.10",
            15,
        ),
        (
            // The table's $0.28 is Kie's $0.275 rounded: the same 45 credits.
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 5, "sound": false}),
            "0.275",
            45,
        ),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 10, "sound": false}),
            "0.55",
            90,
        ),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 5, "sound": true}),
            "0.55",
            90,
        ),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 10, "sound": true}),
            "1.10",
            180,
        ),
        (
            json!({"model": "sora-2-text-to-video", "prompt": "a city", "duration": 10}),
            "0.75",
            120,
        ),
        (
            json!({"model": "sora-2-text-to-video", "prompt": "a city", "duration": 15}),
            "1.35",
            220,
        ),
        (
            json!({"model": "sora-2-pro-text-to-video", "prompt": "a city", "duration": 10, "quality": "high"}),
            "1.65",
            265,
        ),
        (
            json!({"model": "sora-2-pro-text-to-video", "prompt": "a city", "duration": 15, "quality": "high"}),
            "3.15",
            510,
        ),
    ];
    for (body, cost, credits) in rows {
        let expected = (Credits::new(credits), cost.parse::<Decimal>().unwrap());
        assert_eq!(quote(body.clone()), expected, "{body}");
    }
}

#[test]
fn defaults_price_the_cheapest_seed_variant() {
    assert_eq!(
        quote(json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"})),
        (Credits::new(45), dec!(0.275))
    );
    assert_eq!(
        quote(json!({"model": "sora-2-text-to-video", "prompt": "a city"})),
        (Credits::new(120), dec!(0.75))
    );
    // Sora 2 Pro's default quality is high.
    assert_eq!(
        quote(json!({"model": "sora-2-pro-text-to-video", "prompt": "a city"})),
        (Credits::new(265), dec!(1.65))
    );
}

#[test]
fn variants_the_seed_does_not_price_use_kies_list() {
    // Veo 3.1 Quality: $1.25 × 1.5 × 108 / 5 = 40.5 → 41 steps.
    assert_eq!(
        quote(json!({"model": "veo3", "prompt": "a dog"})),
        (Credits::new(205), dec!(1.25))
    );
    let standard = |duration: u32| {
        quote(
            json!({"model": "sora-2-pro-text-to-video", "prompt": "a city", "duration": duration, "quality": "standard"}),
        )
    };
    assert_eq!(standard(10), (Credits::new(120), dec!(0.75)));
    assert_eq!(standard(15), (Credits::new(220), dec!(1.35)));
}

#[test]
fn image_to_video_costs_what_text_to_video_costs() {
    let image = json!(["https://example.com/first.png"]);
    let pairs = [
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "p", "duration": 10, "sound": true}),
            json!({"model": "kling-2.6/image-to-video", "prompt": "p", "image_urls": image, "duration": 10, "sound": true}),
        ),
        (
            json!({"model": "sora-2-text-to-video", "prompt": "p", "duration": 15}),
            json!({"model": "sora-2-image-to-video", "prompt": "p", "image_urls": image, "duration": 15}),
        ),
        (
            json!({"model": "sora-2-pro-text-to-video", "prompt": "p", "quality": "standard"}),
            json!({"model": "sora-2-pro-image-to-video", "prompt": "p", "image_urls": image, "quality": "standard"}),
        ),
        (
            json!({"model": "grok-imagine/text-to-video", "prompt": "p"}),
            json!({"model": "grok-imagine/image-to-video", "image_urls": image}),
        ),
        (
            json!({"model": "veo3-fast", "prompt": "p"}),
            json!({"model": "veo3-fast", "prompt": "p", "image_urls": image}),
        ),
    ];
    for (text, image) in pairs {
        assert_eq!(
            quote(text.clone()),
            quote(image.clone()),
            "{text} vs {image}"
        );
    }
}

#[test]
fn quote_names_the_model() {
    let catalog = Catalog::builtin().unwrap();
    let quote = catalog
        .quote(
            json!({"model": "veo3-fast", "prompt": "p"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(quote.model.as_str(), "veo3-fast");
    assert_eq!(
        serde_json::to_value(&quote).unwrap(),
        json!({"model": "veo3-fast", "credits": 50, "upstream_cost_usd": "0.30"})
    );
}

#[test]
fn the_price_list_holds_every_priced_combination_of_the_builtin_catalog() {
    let catalog = Catalog::builtin().unwrap();
    let offered: Vec<(String, Value, i64)> = catalog
        .price_list()
        .into_iter()
        .filter(|e| e.available)
        .map(|e| {
            (
                e.model.to_string(),
                Value::Object(e.params),
                e.credits.unwrap().get(),
            )
        })
        .collect();
    // 3 × 3 Veo (three models, three resolutions) + 2 × 25 × 2 Grok (6–30 s, two resolutions)
    // + 4 + 4 Kling + 2 + 2 Sora + 4 + 4 Pro.
    assert_eq!(offered.len(), 129);
    assert!(offered.contains(&(
        "kling-2.6/image-to-video".into(),
        json!({"duration": 10, "sound": true}),
        180
    )));
    assert!(offered.contains(&("veo3".into(), json!({"resolution": "720p"}), 205)));
    assert!(catalog.price_list().iter().all(|e| e.available));
}

/// Grok Imagine by the second: the seed's 6 s at 480p stays $0.10 (15 credits), each second
/// above it adds Kie's $0.008; 720p is Kie's $0.015 a second. Same rule, same rounding.
#[test]
fn per_second_prices_are_exact() {
    let grok = |duration: i64, quality: &str| {
        let body = json!({"model": "grok-imagine/text-to-video", "prompt": "p",
                          "duration": duration, "quality": quality});
        let quote = Catalog::builtin()
            .unwrap()
            .quote(body.as_object().unwrap())
            .unwrap();
        (quote.credits.get(), quote.upstream_cost_usd)
    };
    // 0.10 × 1.5 × 108 / 5 = 3.24 → 3 steps.
    assert_eq!(grok(6, "standard"), (15, dec!(0.10)));
    // 0.108 × 162 / 5 = 3.4992 → 3 steps: one more second does not change the price.
    assert_eq!(grok(7, "standard"), (15, dec!(0.108)));
    // 0.132 × 162 / 5 = 4.2768 → 4.
    assert_eq!(grok(10, "standard"), (20, dec!(0.132)));
    // 0.292 × 162 / 5 = 9.4608 → 9.
    assert_eq!(grok(30, "standard"), (45, dec!(0.292)));
    // 0.09 × 162 / 5 = 2.916 → 3.
    assert_eq!(grok(6, "high"), (15, dec!(0.090)));
    // 0.15 × 162 / 5 = 4.86 → 5.
    assert_eq!(grok(10, "high"), (25, dec!(0.150)));
    // 0.45 × 162 / 5 = 14.58 → 15.
    assert_eq!(grok(30, "high"), (75, dec!(0.450)));
    // Never cheaper for longer.
    for quality in ["standard", "high"] {
        let credits: Vec<i64> = (6..=30).map(|d| grok(d, quality).0).collect();
        assert!(
            credits.windows(2).all(|w| w[0] <= w[1]),
            "{quality}: {credits:?}"
        );
    }
}
