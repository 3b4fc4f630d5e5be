//! Properties of the catalog over generated requests: what it accepts, Kie (as the simulator
//! models it) accepts too, at a price that is a positive multiple of the step; what it refuses
//! names a field of the request.

mod common;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use reelgate_domain::catalog::{Catalog, GenerationRequest, ParamKind, UpstreamRequest};
use reelgate_domain::reports::KIE_CREDIT_USD;
use rust_decimal::Decimal;
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
    fit_images_to_chosen_values(&mut body, params, seed, dice[0]);
    body
}

/// A chosen value that decides how many images go with it (Veo's generation types): the
/// images then number as it says, as a client reading `min_images`/`max_images` would send.
fn fit_images_to_chosen_values(
    body: &mut Map<String, Value>,
    params: &[Value],
    seed: u64,
    roll: u32,
) {
    let Some(list) = params.iter().find(|p| p["type"] == "array") else {
        return;
    };
    let list = list["name"].as_str().unwrap().to_owned();
    for p in params {
        let Some(chosen) = body.get(p["name"].as_str().unwrap()) else {
            continue;
        };
        let Some(value) = p["values"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| &v["value"] == chosen)
        else {
            continue;
        };
        let (Some(low), Some(high)) = (value["min_images"].as_u64(), value["max_images"].as_u64())
        else {
            continue;
        };
        let n = low + u64::from(roll) % (high - low + 1);
        if n == 0 {
            body.remove(&list);
        } else {
            let urls = (0..n)
                .map(|k| json!(format!("https://img.example/{seed}/{k}.png")))
                .collect();
            body.insert(list.clone(), Value::Array(urls));
        }
    }
}

/// What the simulator, playing Kie, charges for the request reelgate would send, in USD.
fn simulator_charge(catalog: &Catalog, request: &GenerationRequest) -> Result<Decimal, String> {
    let upstream = request.to_upstream(Some("https://us.example/callbacks/kie/tok".into()));
    let body = upstream.to_json();
    let charge = match upstream {
        // The resolution is no field of the body: Kie charges its upgrade when reelgate asks
        // for it after the 720p video is made.
        UpstreamRequest::Veo(_) => kie_sim::charge_veo_generate(&body).and_then(|video| {
            let resolution = veo_resolution(catalog, request);
            let upgrade = kie_sim::charge_veo_upgrade(&resolution).ok_or_else(|| {
                kie_sim::Rejection::new(422, format!("no Veo resolution {resolution}"))
            })?;
            Ok(video + upgrade)
        }),
        UpstreamRequest::Task(_) => kie_sim::charge_create_task(&body),
    };
    charge
        .map(|kie_credits| kie_credits * KIE_CREDIT_USD)
        .map_err(|e| format!("simulator refused {body}: {e}"))
}

/// The one cost the business's table sets above Kie's charge, as the catalog file says: Grok
/// Imagine's 6 s at 480p is $0.10 where Kie charges $0.048, and longer 480p videos add Kie's
/// per-second cost to it.
fn seed_figure_above_kie(request: &GenerationRequest) -> Decimal {
    let grok = request.model().as_str().starts_with("grok-imagine/");
    if grok && request.params_json()["quality"] == "standard" {
        Decimal::new(52, 3)
    } else {
        Decimal::ZERO
    }
}

/// Kie's spelling of the resolution a Veo request asks for.
fn veo_resolution(catalog: &Catalog, request: &GenerationRequest) -> String {
    let asked = request.params_json()["resolution"].clone();
    let spec = catalog
        .model(request.model().as_str())
        .and_then(|m| m.param("resolution"))
        .map(|p| p.kind.clone());
    match (asked.as_str(), spec) {
        (Some(value), Some(ParamKind::Choice { values, .. })) => values
            .iter()
            .find(|v| v.value.to_string() == value)
            .and_then(|v| v.wire.as_str().map(str::to_owned))
            .unwrap_or_default(),
        _ => "720p".to_owned(),
    }
}

/// Accepted by Kie, and sold at a positive multiple of the step; with the built-in catalog (the
/// business's cost table, which the simulator charges by), priced from exactly what Kie
/// charges. An operator's file may say Kie charges something else (the example's figures do).
fn assert_sellable(catalog: &Catalog, request: &GenerationRequest) -> Result<(), TestCaseError> {
    let charged = simulator_charge(catalog, request).map_err(TestCaseError::fail)?;
    let quote = request.quote();
    if std::ptr::eq(catalog, &catalogs()[0]) {
        prop_assert_eq!(
            quote.upstream_cost_usd,
            charged + seed_figure_above_kie(request),
            "{:?} is priced from a cost Kie does not charge",
            request.model()
        );
    }
    let step = catalog.rule().step();
    let credits = quote.credits.get();
    prop_assert!(
        credits > 0 && credits % step == 0,
        "{} credits for {:?}",
        credits,
        request.model()
    );
    Ok(())
}

/// Proptest's settings with `cases`, keeping every shrunk failure in this crate's
/// `proptest-regressions/properties.txt` (committed): each later run tries those cases first.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/properties.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn advertised_requests_are_accepted_here_and_by_kie(
        (which, body) in (0..2usize).prop_flat_map(|which| (Just(which), advertised_request(&catalogs()[which])))
    ) {
        let catalog = &catalogs()[which];
        let request = catalog.parse(&body).map_err(|e| TestCaseError::fail(format!("{body:?} refused: {e:?}")))?;
        assert_sellable(catalog, &request)?;
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
    #![proptest_config(config(2000))]

    #[test]
    fn every_answer_is_a_sellable_request_or_names_its_fields(body in any_body()) {
        for catalog in catalogs() {
            match catalog.parse(&body) {
                Ok(request) => {
                    assert_sellable(catalog, &request)?;
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

#[test]
fn every_advertised_combination_is_priced_as_advertised() {
    for catalog in catalogs() {
        common::check_prices(catalog).unwrap();
    }
}

/// Values no parameter takes: an object, a list of lists, a negative number.
fn wrong_value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![json!({"nested": true}), json!([[1]]), json!(-99999)])
}

proptest! {
    #![proptest_config(config(400))]

    /// One field of a sellable request spoiled (or a required one left out): the refusal names
    /// that field, and only it.
    #[test]
    fn a_refusal_names_the_field_that_is_wrong(
        (which, body) in (0..2usize).prop_flat_map(|which| (Just(which), advertised_request(&catalogs()[which]))),
        pick in any::<prop::sample::Index>(),
        bad in wrong_value(),
        remove in any::<bool>(),
    ) {
        let catalog = &catalogs()[which];
        let fields: Vec<String> = body.keys().filter(|k| *k != "model").cloned().collect();
        prop_assume!(!fields.is_empty());
        let field = pick.get(&fields).clone();
        let model = catalog.model(body["model"].as_str().unwrap()).unwrap();
        let required = model.param(&field).is_some_and(|p| p.required);
        let mut spoiled = body.clone();
        if remove && required {
            spoiled.remove(&field);
        } else {
            spoiled.insert(field.clone(), bad);
        }
        let errors = match catalog.parse(&spoiled) {
            Ok(request) => return Err(TestCaseError::fail(format!("{spoiled:?} accepted as {request:?}"))),
            Err(errors) => errors,
        };
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        prop_assert!(!named.is_empty());
        prop_assert!(named.iter().all(|n| *n == field), "{field} was spoiled, the refusal names {named:?}: {spoiled:?}");
    }
}
