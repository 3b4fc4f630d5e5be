//! The business's notes and Kie spell some parameters and values differently from reelgate's
//! uniform names: every such spelling is accepted as written, and the stored request (its
//! `params`) and the wire body are the same as for the preferred spelling.

use reelgate_domain::catalog::{Catalog, ErrorCode, GenerationRequest};
use serde_json::{json, Map, Value};

const IMG: &str = "https://example.com/a.png";

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn parse(body: &Value) -> GenerationRequest {
    catalog()
        .parse(body.as_object().unwrap())
        .unwrap_or_else(|e| panic!("{body} refused: {e:?}"))
}

fn same(written: Value, preferred: Value) {
    let (a, b) = (parse(&written), parse(&preferred));
    assert_eq!(a, b, "{written} and {preferred} differ");
    assert_eq!(a.to_upstream(None), b.to_upstream(None));
}

#[test]
fn the_business_notes_values_are_accepted_as_written() {
    let sora = |extra: Value| {
        let mut body = json!({"model": "sora-2-text-to-video", "prompt": "p"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    same(
        sora(json!({"aspect_ratio": "landscape"})),
        sora(json!({"aspect_ratio": "16:9"})),
    );
    same(
        sora(json!({"aspect_ratio": "portrait"})),
        sora(json!({"aspect_ratio": "9:16"})),
    );
    same(
        sora(json!({"n_frames": "10"})),
        sora(json!({"duration": 10})),
    );
    same(
        sora(json!({"n_frames": "15"})),
        sora(json!({"duration": 15})),
    );
    for quality in ["standard", "high"] {
        same(
            json!({"model": "sora-2-pro-text-to-video", "prompt": "p", "size": quality}),
            json!({"model": "sora-2-pro-text-to-video", "prompt": "p", "quality": quality}),
        );
    }
    for (resolution, quality) in [("480p", "standard"), ("720p", "high")] {
        same(
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "resolution": resolution}),
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "quality": quality}),
        );
        same(
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "quality": resolution}),
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "quality": quality}),
        );
    }
    same(
        json!({"model": "grok-imagine/image-to-video", "image_url": IMG}),
        json!({"model": "grok-imagine/image-to-video", "image_urls": [IMG]}),
    );
    same(
        json!({"model": "grok-imagine/image-to-video", "image_url": [IMG]}),
        json!({"model": "grok-imagine/image-to-video", "image_urls": [IMG]}),
    );
}

#[test]
fn the_stored_request_keeps_the_preferred_spelling() {
    let request = parse(&json!({"model": "sora-2-pro-image-to-video", "prompt": "p",
        "image_urls": [IMG], "aspect_ratio": "portrait", "n_frames": "15", "size": "high"}));
    assert_eq!(
        Value::Object(request.params_json()),
        json!({"prompt": "p", "image_urls": [IMG], "aspect_ratio": "9:16", "duration": 15,
               "quality": "high", "remove_watermark": true})
    );
    assert_eq!(request.quote().credits.get(), 510);
    let grok = parse(
        &json!({"model": "grok-imagine/image-to-video", "image_url": IMG, "resolution": "480p"}),
    );
    assert_eq!(grok.params_json()["image_urls"], json!([IMG]));
    assert_eq!(grok.params_json()["quality"], "standard");
    assert!(grok.params_json().get("image_url").is_none());
}

#[test]
fn two_spellings_of_one_parameter_are_refused_by_name() {
    let errors = catalog()
        .parse(
            json!({"model": "sora-2-text-to-video", "prompt": "p", "duration": 10, "n_frames": "15"})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
    let first = errors.first();
    assert_eq!(
        (first.field.as_str(), first.code),
        ("n_frames", ErrorCode::InvalidParameter)
    );
    assert!(first.message.contains("duration"), "{}", first.message);
    // A refused value names the field as it was sent.
    let errors = catalog()
        .parse(
            json!({"model": "sora-2-text-to-video", "prompt": "p", "n_frames": "12"})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(errors.first().field, "n_frames");
    // A single string is one image only under the notes' singular name.
    let errors = catalog()
        .parse(
            json!({"model": "grok-imagine/image-to-video", "image_urls": IMG})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(errors.first().field, "image_urls");
}

/// A body with the model's required parameters, as a client reading `GET /v1/models` builds.
fn minimal(model: &Value) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("model".into(), model["id"].clone());
    for p in model["parameters"].as_array().unwrap() {
        if p["required"] != true {
            continue;
        }
        let value = match p["type"].as_str().unwrap() {
            "array" => json!(vec![IMG; p["min_items"].as_u64().unwrap() as usize]),
            _ => json!("a scene"),
        };
        body.insert(p["name"].as_str().unwrap().into(), value);
    }
    body
}

/// Every alias `GET /v1/models` lists, of a parameter or of a value, means the same request as
/// the preferred spelling: nothing listed is decoration.
#[test]
fn every_listed_alias_means_the_preferred_spelling() {
    let catalog = catalog();
    let view = serde_json::to_value(catalog.view()).unwrap();
    let mut checked = 0;
    for model in view
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["available"] == true)
    {
        let base = minimal(model);
        for p in model["parameters"].as_array().unwrap() {
            if p["available"] != true || !p["requires_images"].is_null() {
                continue;
            }
            let name = p["name"].as_str().unwrap();
            let values: Vec<&Value> = p["values"]
                .as_array()
                .map(|vs| vs.iter().filter(|v| v["available"] == true).collect())
                .unwrap_or_default();
            let sample = match (values.first(), base.get(name), &p["default"]) {
                (Some(v), _, _) => v["value"].clone(),
                (None, Some(given), _) => given.clone(),
                (None, None, Value::Null) => continue,
                (None, None, default) => default.clone(),
            };
            let with = |field: &str, value: Value| {
                let mut body = base.clone();
                body.remove(name);
                // A value that decides the image count (Veo's generation types) gets the
                // fewest images it takes, whichever spelling names it.
                let decided = values.iter().find(|v| {
                    v["value"] == value
                        || v["aliases"].as_array().is_some_and(|a| a.contains(&value))
                });
                if let Some(low) = decided.and_then(|v| v["min_images"].as_u64()) {
                    body.remove("image_urls");
                    if low > 0 {
                        let urls: Vec<&str> = (0..low).map(|_| IMG).collect();
                        body.insert("image_urls".into(), json!(urls));
                    }
                }
                body.insert(field.to_owned(), value);
                catalog.parse(&body)
            };
            let preferred = with(name, sample.clone()).expect("the preferred spelling");
            for alias in p["aliases"].as_array().into_iter().flatten() {
                let alias = alias.as_str().unwrap();
                assert_eq!(
                    with(alias, sample.clone()),
                    Ok(preferred.clone()),
                    "{alias}"
                );
                checked += 1;
            }
            for v in &values {
                let preferred = with(name, v["value"].clone()).unwrap();
                for alias in v["aliases"].as_array().into_iter().flatten() {
                    assert_eq!(with(name, alias.clone()), Ok(preferred.clone()), "{alias}");
                    checked += 1;
                }
            }
        }
    }
    // Sora's two ratios and n_frames (×4 models), Pro's size (×2), Grok's resolution and its
    // two values (×2), Grok's image_url.
    assert!(checked >= 20, "only {checked} aliases checked");
}
