//! Fuzzing the two inputs the domain parses: customers' generation requests (any JSON object
//! at all, to `Catalog::parse` and `Catalog::quote`) and operators' pricing files (any text,
//! and mutations of real ones, to `Catalog::with_pricing_file`). Nothing may panic; what is
//! accepted must price and translate; refusals stay small whatever the input's size.
//!
//! Proptest rather than cargo-fuzz so that it runs in `cargo test` on stable; the case count
//! is `REELGATE_FUZZ_CASES` (default 2000 per property, a quarter of that for pricing files,
//! which each build a whole catalog).

mod common;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use reelgate_domain::catalog::Catalog;
use serde_json::{Map, Value};
use std::sync::LazyLock;

const EXAMPLE: &str = include_str!("../../../docs/pricing.example.toml");
const BUILTIN: &str = include_str!("../src/catalog/default.toml");

fn cases() -> u32 {
    std::env::var("REELGATE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::with_pricing_file(EXAMPLE).unwrap());

const MODELS: &[&str] = &[
    "veo3",
    "veo3-fast",
    "sora-2-text-to-video",
    "sora-2-image-to-video",
    "sora-2-pro-text-to-video",
    "sora-2-pro-image-to-video",
    "kling-2.6/text-to-video",
    "kling-2.6/image-to-video",
    "grok-imagine/text-to-video",
    "grok-imagine/image-to-video",
    "kling-2.6",
    "VEO3",
    "",
    "veo3 ",
];
const PARAMS: &[&str] = &[
    "model",
    "prompt",
    "image_urls",
    "aspect_ratio",
    "duration",
    "sound",
    "negative_prompt",
    "cfg_scale",
    "mode",
    "quality",
    "remove_watermark",
    "resolution",
    "webhook_url",
    "n_frames",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-20i64..40).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![0.5f64, 5.0, 6.0, 10.0, 1e308, -0.0]).prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        prop::sample::select(vec![
            "16:9",
            "9:16",
            "1:1",
            "2:3",
            "3:2",
            "Auto",
            "5",
            "10",
            "6",
            "15",
            "true",
            "fun",
            "normal",
            "spicy",
            "standard",
            "high",
            "480p",
            "720p",
            " 16:9 ",
            "",
            " ",
            "https://img.example/a.png",
            "http://127.0.0.1/a.png",
            "ftp://x/a.png",
            "not a url",
        ])
        .prop_map(Value::from),
        prop::sample::select(MODELS).prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Map<String, Value>> {
    let key =
        prop_oneof![4 => prop::sample::select(PARAMS).prop_map(str::to_owned), 1 => ".{0,16}"];
    (
        prop::sample::select(MODELS),
        any::<bool>(),
        prop::collection::btree_map(key, value(), 0..8),
    )
        .prop_map(|(model, with_model, fields)| {
            let mut body: Map<String, Value> = fields.into_iter().collect();
            if with_model {
                body.insert("model".into(), Value::from(model));
            }
            body
        })
}

/// Every refusal is about a field of the request and short, however large the input.
fn check(body: &Map<String, Value>) -> Result<(), TestCaseError> {
    match CATALOG.parse(body) {
        Ok(request) => {
            let credits = request.quote().credits.get();
            prop_assert!(credits > 0, "{credits} credits for {body:?}");
            let upstream = request.to_upstream(Some("https://cb.example/x".into()));
            let _ = upstream.to_json();
            let _ = request.params_json();
            let quoted = CATALOG
                .quote(body)
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(quoted.credits, request.quote().credits);
        }
        Err(errors) => {
            for error in errors.iter() {
                let named = body.contains_key(&error.field)
                    || PARAMS.contains(&error.field.as_str())
                    || error.field.ends_with('…');
                prop_assert!(
                    named,
                    "refusal names {:?}, not a field of the request",
                    error.field
                );
                prop_assert!(
                    error.message.len() <= 1024 && error.field.len() <= 128,
                    "a {}-byte message, a {}-byte field",
                    error.message.len(),
                    error.field.len()
                );
            }
            prop_assert!(CATALOG.quote(body).is_err());
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceValue(usize, String),
    Byte(usize, u8),
    Truncate(usize),
}

fn pricing_text() -> impl Strategy<Value = String> {
    let replacement = prop_oneof![
        Just("\"-1\"".to_owned()),
        Just("0".to_owned()),
        Just("\"0\"".to_owned()),
        Just("1e400".to_owned()),
        Just("\"99999999999999999999999999999\"".to_owned()),
        Just("-5".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("\"\"".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("{ duration = 7 }".to_owned()),
        Just("\"0.0000001\"".to_owned()),
        ".{0,10}".prop_map(|s| format!("{s:?}")),
    ];
    let edit = prop_oneof![
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<usize>(), replacement).prop_map(|(a, v)| Edit::ReplaceValue(a, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::Byte(a, b)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    (
        prop::sample::select(vec![EXAMPLE, BUILTIN]),
        prop::collection::vec(edit, 1..5),
    )
        .prop_map(|(text, edits)| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            for edit in edits {
                let n = lines.len().max(1);
                match edit {
                    Edit::DeleteLine(i) if !lines.is_empty() => {
                        lines.remove(i % n);
                    }
                    Edit::DuplicateLine(i) if !lines.is_empty() => {
                        let line = lines[i % n].clone();
                        lines.insert(i % n, line);
                    }
                    Edit::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
                    Edit::ReplaceValue(i, v) if !lines.is_empty() => {
                        let line = &mut lines[i % n];
                        if let Some(eq) = line.find('=') {
                            *line = format!("{}= {v}", &line[..eq]);
                        }
                    }
                    Edit::Byte(i, b) if !lines.is_empty() => {
                        let line = &mut lines[i % n];
                        let mut bytes = std::mem::take(line).into_bytes();
                        let at = i % (bytes.len() + 1);
                        bytes.insert(at, b);
                        *line = String::from_utf8_lossy(&bytes).into_owned();
                    }
                    Edit::Truncate(i) if !lines.is_empty() => lines.truncate(i % n),
                    _ => {}
                }
            }
            lines.join("\n")
        })
}

fn check_pricing(text: &str) -> Result<(), TestCaseError> {
    if let Ok(catalog) = Catalog::with_pricing_file(text) {
        // Whatever loads must show and price every offered combination, as it advertises.
        common::check_prices(&catalog).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

/// Proptest's settings with `cases`, keeping every shrunk failure in this crate's
/// `proptest-regressions/fuzz.txt` (committed): each later run tries those cases first.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/fuzz.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn request_parsing_survives_arbitrary_bodies(body in body()) {
        check(&body)?;
    }
}

proptest! {
    #![proptest_config(config(cases() / 4))]

    #[test]
    fn pricing_files_survive_arbitrary_text(text in ".{0,400}") {
        check_pricing(&text)?;
    }

    #[test]
    fn pricing_files_survive_mutations_of_real_ones(text in pricing_text()) {
        check_pricing(&text)?;
    }
}

#[test]
fn huge_values_give_small_refusals() {
    let big = "x".repeat(1 << 20);
    for (key, value) in [
        ("prompt", Value::from(big.clone())),
        ("aspect_ratio", Value::from(big.clone())),
        (
            "image_urls",
            Value::from(vec![format!("https://img.example/{big}.png")]),
        ),
        (big.as_str(), Value::from(1)),
        ("model", Value::from(big.clone())),
    ] {
        let mut body = Map::new();
        body.insert("model".into(), Value::from("kling-2.6/image-to-video"));
        body.insert(key.to_owned(), value);
        check(&body).unwrap();
    }
    assert!(Catalog::with_pricing_file(&format!("[pricing]\nmarkup = \"{big}\"")).is_err());
}
