//! Properties of the catalog over generated requests: what it accepts, Kie (as the simulator
//! models it) accepts too, at a price that is a positive multiple of the step; what it refuses
//! names a field of the request.

use proptest::prelude::*;
use reelgate_domain::catalog::{Catalog, GenerationRequest, UpstreamRequest};
use serde_json::{json, Map, Value};
use std::sync::LazyLock;

const EXAMPLE: &str = include_str!("../../../docs/pricing.example.toml");

/// The built-in catalog, and the example file's (which enables more values and a new model).
fn catalogs() -> &'static [Catalog] {
    static CATALOGS: LazyLock<Vec<Catalog>> = LazyLock::new(|| {
        vec![
            Catalog::builtin().unwrap(),
            Catalog::with_pricing_file(EXAMPLE).unwrap(),
        ]
    });
    &CATALOGS
}

/// A request built only from what `GET /v1/models` advertises as available.
fn advertised_request(catalog: &Catalog) -> BoxedStrategy<Map<String, Value>> {
    let view = serde_json::to_value(catalog.view()).unwrap();
    let models: Vec<Value> = view
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["available"] == true)
        .cloned()
        .collect();
    (
        0..models.len(),
        any::<u64>(),
        prop::collection::vec(any::<u32>(), 12),
    )
        .prop_map(move |(index, seed, dice)| build(&models[index], seed, &dice))
        .boxed()
}

fn build(model: &Value, seed: u64, dice: &[u32]) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("model".into(), model["id"].clone());
    let params = model["parameters"].as_array().unwrap();
    // Priced values come from one advertised price, as a client reading the prices would pick.
    let prices = model["prices"].as_array().unwrap();
    let price = &prices[seed as usize % prices.len()]["params"];
    let mut images = 0;
    for (i, p) in params.iter().enumerate() {
        let roll = dice[i % dice.len()];
        let required = p["required"] == true;
        let optional_and_skipped = !required && roll.is_multiple_of(3);
        let needs_images = p["requires_images"].as_u64().is_some_and(|n| images < n);
        if p["available"] != true || optional_and_skipped || needs_images {
            continue;
        }
        let value = match p["type"].as_str().unwrap() {
            "array" => {
                let (min, max) = (
                    p["min_items"].as_u64().unwrap(),
                    p["max_items"].as_u64().unwrap(),
                );
                let n = min + u64::from(roll) % (max - min + 1);
                images = n;
                Value::Array(
                    (0..n)
                        .map(|k| json!(format!("https://img.example/{seed}/{k}.png")))
                        .collect(),
                )
            }
            "string" if p["values"].is_null() => {
                let max = p["max_length"].as_u64().unwrap() as usize;
                // Sometimes exactly at the limit, with padding that trimming removes.
                let text = if roll.is_multiple_of(4) {
                    "é".repeat(max)
                } else {
                    format!("scene {seed}")
                };
                json!(format!("  {text}\n"))
            }
            _ if p["priced"] == true => {
                let value = price[p["name"].as_str().unwrap()].clone();
                if value == p["default"] && roll.is_multiple_of(2) {
                    continue;
                }
                value
            }
            _ => {
                let offered: Vec<&Value> = p["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| v["available"] == true)
                    .map(|v| &v["value"])
                    .collect();
                let value = offered[roll as usize % offered.len()].clone();
                // Whole numbers may come as a string of digits.
                match value.as_i64() {
                    Some(n) if roll.is_multiple_of(2) => json!(n.to_string()),
                    _ => value,
                }
            }
        };
        body.insert(p["name"].as_str().unwrap().to_owned(), value);
    }
    body
}

fn simulator_accepts(request: &GenerationRequest) -> Result<(), String> {
    let upstream = request.to_upstream(Some("https://us.example/callbacks/kie/tok".into()));
    let body = upstream.to_json();
    let verdict = match upstream {
        UpstreamRequest::Veo(_) => kie_sim::validate_veo_generate(&body),
        UpstreamRequest::Task(_) => kie_sim::validate_create_task(&body),
    };
    verdict.map_err(|e| format!("simulator refused {body}: {e}"))
}

fn assert_well_priced(catalog: &Catalog, request: &GenerationRequest) {
    let step = catalog.rule().step();
    let credits = request.quote().credits.get();
    assert!(
        credits > 0 && credits % step == 0,
        "{credits} credits for {:?}",
        request.model()
    );
    assert!(request.quote().upstream_cost_usd > rust_decimal::Decimal::ZERO);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn advertised_requests_are_accepted_here_and_by_kie(
        (which, body) in (0..2usize).prop_flat_map(|which| (Just(which), advertised_request(&catalogs()[which])))
    ) {
        let catalog = &catalogs()[which];
        let request = catalog.parse(&body).map_err(|e| TestCaseError::fail(format!("{body:?} refused: {e:?}")))?;
        simulator_accepts(&request).map_err(TestCaseError::fail)?;
        assert_well_priced(catalog, &request);
        // What the generation object shows reads back into the same request.
        let again = catalog.parse_params(request.model().as_str(), &request.params_json());
        prop_assert_eq!(again.as_ref(), Ok(&request));
    }
}

/// Any JSON a client might send: the catalog's own names and values, and plenty that is wrong.
fn any_body() -> impl Strategy<Value = Map<String, Value>> {
    let models = prop::sample::select(vec![
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
        "veo4",
        "",
    ]);
    let names = prop::sample::select(vec![
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
        "webhook_url",
        "image_url",
        "n_frames",
        "resolution",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            json!("16:9"),
            json!("9:16"),
            json!("1:1"),
            json!("2:3"),
            json!("fun"),
            json!("spicy"),
            json!("normal"),
            json!("standard"),
            json!("high"),
            json!("a red fox"),
            json!("   "),
            json!(""),
            json!("10"),
            json!("5"),
            json!("6s"),
            json!(5),
            json!(6),
            json!(10),
            json!(15),
            json!(7),
            json!(-1),
            json!(5.5),
            json!(0.5),
            json!(true),
            json!(false),
            Value::Null,
            json!({"a": 1}),
            json!(["https://img.example/a.png"]),
            json!(["https://img.example/a.png", "https://img.example/b.png"]),
            json!(["ftp://img.example/a.png"]),
            json!([]),
            json!("https://img.example/a.png"),
        ]),
        "[a-z ]{0,12}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
    ];
    (
        prop::option::of(models),
        prop::collection::btree_map(names, value, 0..7),
    )
        .prop_map(|(model, params)| {
            let mut body: Map<String, Value> =
                params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if let Some(model) = model {
                body.insert("model".into(), json!(model));
            }
            body
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_answer_is_a_sellable_request_or_names_its_fields(body in any_body()) {
        for catalog in catalogs() {
            match catalog.parse(&body) {
                Ok(request) => {
                    simulator_accepts(&request).map_err(TestCaseError::fail)?;
                    assert_well_priced(catalog, &request);
                }
                Err(errors) => {
                    let model = body.get("model").and_then(Value::as_str).and_then(|id| catalog.model(id));
                    for e in errors.iter() {
                        let named = e.field == "model"
                            || body.contains_key(&e.field)
                            || model.is_some_and(|m| m.param(&e.field).is_some());
                        prop_assert!(named, "{e:?} names no field of {body:?}");
                        prop_assert!(!e.message.is_empty());
                    }
                }
            }
        }
    }
}
