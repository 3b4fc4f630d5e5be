//! The operator's pricing file: overrides, disabled and enabled values, new values and
//! variants, and errors that name the line and the key.

use reelgate_domain::catalog::{Catalog, CatalogError, ErrorCode, Source};
use reelgate_domain::Credits;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

const EXAMPLE: &str = include_str!("../../../docs/pricing.example.toml");

fn load(file: &str) -> Catalog {
    Catalog::with_pricing_file(file).unwrap_or_else(|e| panic!("{e}"))
}

fn error(file: &str) -> CatalogError {
    match Catalog::with_pricing_file(file) {
        Ok(_) => panic!("accepted:\n{file}"),
        Err(e) => e,
    }
}

fn price(catalog: &Catalog, body: Value) -> (Credits, Decimal) {
    let quote = catalog
        .quote(body.as_object().unwrap())
        .unwrap_or_else(|e| panic!("{body} refused: {e:?}"));
    (quote.credits, quote.upstream_cost_usd)
}

fn refusal(catalog: &Catalog, body: Value) -> (String, ErrorCode) {
    let errors = catalog
        .parse(body.as_object().unwrap())
        .expect_err(&body.to_string());
    (errors.first().field.clone(), errors.first().code)
}

#[test]
fn the_example_file_parses_and_does_what_it_says() {
    let catalog = load(EXAMPLE);
    let kling = |duration: u32, sound: bool| json!({"model": "kling-2.6/text-to-video", "prompt": "p", "duration": duration, "sound": sound});
    // 0.60 × 1.5 × 108 / 5 = 19.44 → 95; the other rows keep their built-in cost.
    assert_eq!(
        price(&catalog, kling(10, false)),
        (Credits::new(95), dec!(0.60))
    );
    assert_eq!(
        price(&catalog, kling(5, false)),
        (Credits::new(45), dec!(0.275))
    );
    // A note describes the cost next to it: the built-in note does not stick to a new cost.
    let notes: Vec<Option<String>> = catalog
        .price_list()
        .into_iter()
        .filter(|e| e.model.as_str() == "kling-2.6/text-to-video" && e.params["sound"] == false)
        .map(|e| e.note)
        .collect();
    assert_eq!(notes.len(), 2);
    assert!(
        notes[0].as_deref().is_some_and(|n| n.contains("$0.275")),
        "{notes:?}"
    );
    assert_eq!(notes[1], None);
    // The fixed promotion keeps the upstream cost for the margin report.
    assert_eq!(
        price(&catalog, json!({"model": "veo3-fast", "prompt": "p"})),
        (Credits::new(40), dec!(0.30))
    );
    // Image to video: its own row where it has one, the text-to-video rows elsewhere.
    let image = |duration: u32| json!({"model": "kling-2.6/image-to-video", "prompt": "p", "image_urls": ["https://x.example/a.png"], "duration": duration});
    assert_eq!(price(&catalog, image(5)), (Credits::new(50), dec!(0.30)));
    assert_eq!(price(&catalog, image(10)), (Credits::new(95), dec!(0.60)));

    assert_eq!(
        refusal(
            &catalog,
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "mode": "spicy"})
        ),
        ("mode".into(), ErrorCode::NotOffered)
    );
    assert_eq!(
        refusal(
            &catalog,
            json!({"model": "sora-2-pro-image-to-video", "prompt": "p", "image_urls": ["https://x.example/a.png"]})
        ),
        ("model".into(), ErrorCode::NotOffered)
    );

    let grok = |duration: u32, quality: &str| json!({"model": "grok-imagine/text-to-video", "prompt": "p", "duration": duration, "quality": quality});
    // 720p at the file's $0.02 per second: 6 s is $0.12 (19.44 → 20 credits), 30 s $0.60.
    assert_eq!(
        price(&catalog, grok(6, "high")),
        (Credits::new(20), dec!(0.12))
    );
    assert_eq!(
        price(&catalog, grok(30, "high")),
        (Credits::new(95), dec!(0.60))
    );
    // 480p: the file's own 10 s cost, and 11 s built on it with the built-in $0.008 per second;
    // below 10 s the built-in 6 s row still anchors.
    assert_eq!(
        price(&catalog, grok(10, "standard")),
        (Credits::new(30), dec!(0.20))
    );
    assert_eq!(
        price(&catalog, grok(11, "standard")),
        (Credits::new(35), dec!(0.208))
    );
    assert_eq!(
        price(&catalog, grok(9, "standard")),
        (Credits::new(20), dec!(0.124))
    );
    let request = catalog.parse(grok(6, "high").as_object().unwrap()).unwrap();
    assert_eq!(
        request.to_upstream(None).to_json()["input"]["resolution"],
        "720p"
    );

    let long = json!({"model": "grok-imagine/image-to-video", "image_urls": ["https://x.example/a.png"], "duration": 15});
    assert_eq!(
        price(&catalog, long.clone()),
        (Credits::new(50), dec!(0.30))
    );
    assert_eq!(
        catalog
            .parse(long.as_object().unwrap())
            .unwrap()
            .to_upstream(None)
            .to_json()["input"]["duration"],
        15
    );

    // A new variant, made of data alone.
    let silent = catalog
        .parse(
            json!({"model": "kling-2.6/silent", "prompt": "p", "duration": 10})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(silent.quote().credits, Credits::new(90));
    assert_eq!(
        silent.to_upstream(None).to_json(),
        json!({"model": "kling-2.6/text-to-video", "input": {"prompt": "p", "aspect_ratio": "16:9", "duration": "10", "sound": false}})
    );
    assert_eq!(
        refusal(
            &catalog,
            json!({"model": "kling-2.6/silent", "prompt": "p", "sound": true})
        ),
        ("sound".into(), ErrorCode::ParameterDisabled)
    );
    // Its own default is no change, so a stored generation's params read back.
    assert!(catalog
        .parse(
            json!({"model": "kling-2.6/silent", "prompt": "p", "sound": false})
                .as_object()
                .unwrap()
        )
        .is_ok());
}

#[test]
fn the_rule_is_the_operators_to_change() {
    let catalog = load("[pricing]\nmarkup = 1\ncredits_per_usd = \"100\"\nstep = 1\n");
    // 0.275 × 2 × 100 = 55.
    assert_eq!(
        price(
            &catalog,
            json!({"model": "kling-2.6/text-to-video", "prompt": "p"})
        )
        .0,
        Credits::new(55)
    );
    let catalog = load("[pricing]\nstep = 10\n");
    // 0.10 × 1.5 × 108 / 10 = 1.62 → 20.
    assert_eq!(
        price(
            &catalog,
            json!({"model": "grok-imagine/text-to-video", "prompt": "p"})
        )
        .0,
        Credits::new(20)
    );
}

#[test]
fn disabled_parameters_can_be_enabled() {
    let catalog = load(
        r#"
[models."kling-2.6/text-to-video".params.negative_prompt]
enabled = true

[models.veo3.params.aspect_ratio]
wire_field = "aspectRatio"
values = [{ value = "1:1", enabled = true }]
"#,
    );
    let request = catalog
        .parse(
            json!({"model": "kling-2.6/text-to-video", "prompt": "p", "negative_prompt": "blur"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        request.to_upstream(None).to_json()["input"]["negative_prompt"],
        "blur"
    );
    // veo3-fast extends veo3, so it follows.
    let veo = catalog
        .parse(
            json!({"model": "veo3-fast", "prompt": "p", "aspect_ratio": "1:1"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        veo.to_upstream(None).to_json(),
        json!({"prompt": "p", "model": "veo3_fast", "aspectRatio": "1:1"})
    );
}

#[test]
fn a_value_without_a_cost_is_not_offered_and_the_catalog_says_so() {
    let catalog = load("[models.\"sora-2-text-to-video\".params.duration]\nvalues = [{ value = 20, wire = \"20\" }]\n");
    let (field, code) = refusal(
        &catalog,
        json!({"model": "sora-2-text-to-video", "prompt": "p", "duration": 20}),
    );
    assert_eq!((field.as_str(), code), ("duration", ErrorCode::NotOffered));
    let view = serde_json::to_value(catalog.view()).unwrap();
    let sora = view
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "sora-2-text-to-video")
        .unwrap();
    let duration = sora["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "duration")
        .unwrap();
    assert_eq!(
        duration["values"][2],
        json!({"value": 20, "available": false, "reason": "no cost configured"})
    );
}

#[test]
fn a_disabled_model_is_listed_but_not_sold() {
    let catalog = load("[models.veo3]\nenabled = false\n");
    assert_eq!(
        refusal(&catalog, json!({"model": "veo3", "prompt": "p"})),
        ("model".into(), ErrorCode::NotOffered)
    );
    let view = catalog.view();
    let veo3 = view.iter().find(|m| m.id.as_str() == "veo3").unwrap();
    assert!(!veo3.available);
    assert_eq!(veo3.reason.as_deref(), Some("disabled"));
    // Extending a disabled model does not disable the extension.
    assert!(
        view.iter()
            .find(|m| m.id.as_str() == "veo3-fast")
            .unwrap()
            .available
    );
}

#[track_caller]
fn assert_error(file: &str, line: usize, key: &str, message_part: &str) {
    let e = error(file);
    assert_eq!(e.origin, Source::PricingFile, "{e}");
    assert_eq!((e.line, e.key.as_str()), (line, key), "{e}");
    assert!(e.message.contains(message_part), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("pricing file line {line}, `{key}`")),
        "{e}"
    );
}

#[test]
fn malformed_files_name_the_line_and_key() {
    assert_error(
        "[pricing]\nmarkup = \"lots\"\n",
        2,
        "pricing.markup",
        "Decimal",
    );
    assert_error(
        "[pricing]\nstep = 5\nsetp = 4\n",
        3,
        "pricing.setp",
        "unknown field",
    );
    assert_error("[pricing]\nmarkup = \"0.5\n", 2, "pricing.markup", "");
    assert_error(
        "\n[models.veo3]\ntitle = 3\n",
        3,
        "models.veo3.title",
        "string",
    );
    assert_error(
        "[models.veo3.params.aspect_ratio]\nvalues = [\n  { value = \"1:1\", enabled = \"yes\" },\n]\n",
        3,
        "models.veo3.params.aspect_ratio.values.enabled",
        "bool",
    );
}

#[test]
fn contradictions_name_the_line_and_key() {
    let kling = "[[models.\"kling-2.6/text-to-video\".costs]]\n";
    assert_error(
        &format!("{kling}when = {{ duration = 5 }}\ncost_usd = \"0.3\"\n"),
        2,
        "models.\"kling-2.6/text-to-video\".costs[0].when",
        "missing sound",
    );
    assert_error(
        &format!("{kling}when = {{ duration = 7, sound = true }}\ncost_usd = \"0.3\"\n"),
        2,
        "models.\"kling-2.6/text-to-video\".costs[0].when.duration",
        "7 is not a value",
    );
    assert_error(
        &format!(
            "{kling}when = {{ duration = 5, sound = true, colour = 1 }}\ncost_usd = \"0.3\"\n"
        ),
        2,
        "models.\"kling-2.6/text-to-video\".costs[0].when.colour",
        "not a priced parameter",
    );
    assert_error(
        &format!("{kling}when = {{ duration = 5, sound = true }}\ncost_usd = \"0\"\n"),
        3,
        "models.\"kling-2.6/text-to-video\".costs[0].cost_usd",
        "more than zero",
    );
    assert_error(
        &format!("{kling}when = {{ duration = 5, sound = true }}\ncredits = -5\n"),
        3,
        "models.\"kling-2.6/text-to-video\".costs[0].credits",
        "at least 1",
    );
    assert_error("[pricing]\nstep = 0\n", 2, "pricing.step", "at least 1");
    assert_error(
        "[pricing]\nmarkup = -0.5\n",
        2,
        "pricing.markup",
        "zero or more",
    );
    assert_error(
        "[models.\"kling-2.6/text-to-video\".params.duration]\nvalues = [{ value = 5, enabled = false }]\n",
        2,
        "models.\"kling-2.6/text-to-video\".params.duration.values.5.enabled",
        "set another default",
    );
}

#[test]
fn model_and_parameter_mistakes_name_the_line_and_key() {
    assert_error(
        "[models.\"my-model\"]\nfamily = \"x\"\n",
        1,
        "models.my-model.title",
        "required",
    );
    assert_error(
        "[models.\"My Model\"]\ntitle = \"x\"\n",
        1,
        "models.\"My Model\"",
        "a-z",
    );
    assert_error(
        "\n[models.veo3]\nwire_model = \"veo4\"\n",
        3,
        "models.veo3.wire_model",
        "veo3_fast",
    );
    assert_error(
        "[models.veo3]\ncosts_from = \"nope\"\n",
        2,
        "models.veo3.costs_from",
        "no other model",
    );
    assert_error(
        "[models.veo3]\ncosts_from = \"kling-2.6/text-to-video\"\n",
        2,
        "models.veo3.costs_from",
        "priced by (duration, sound)",
    );
    assert_error(
        "[[models.veo3.costs]]\nwhen = { resolution = \"720p\" }\ncost_usd = \"1\"\n[[models.veo3.costs]]\nwhen = { resolution = \"720p\" }\ncost_usd = \"2\"\n",
        4,
        "models.veo3.costs[1].when",
        "a second cost",
    );
    assert_error(
        "\n[models.veo3.params.aspect_ratio]\nmax_length = 3\n",
        2,
        "models.veo3.params.aspect_ratio.max_length",
        "does not apply",
    );
    assert_error(
        "[models.veo3.params.aspect_ratio]\nvalues = [{ value = 3 }]\n",
        2,
        "models.veo3.params.aspect_ratio.values",
        "expected a string",
    );
    assert_error(
        "[models.veo3.params.colour]\ntype = \"string\"\ndescription = \"c\"\nvalues = [{ value = \"red\" }]\n",
        1,
        "models.veo3.params.colour",
        "Veo's body",
    );
    assert_error(
        "[models.veo3.params.prompt]\npriced = true\n",
        2,
        "models.veo3.params.prompt.priced",
        "list of values",
    );
    // A circle of `extends` is found wherever it closes.
    let e = error("[models.veo3]\nextends = \"veo3-fast\"\n");
    assert!(
        e.key.ends_with(".extends") && e.message.contains("circle"),
        "{e}"
    );
}
