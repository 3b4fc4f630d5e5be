//! Each model's accepted and rejected values, and the wire body each accepted request becomes.

use reelgate_domain::catalog::{Catalog, ErrorCode, FieldErrors, GenerationRequest};
use serde_json::{json, Value};

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn parse(body: &Value) -> Result<GenerationRequest, FieldErrors> {
    catalog().parse(body.as_object().unwrap())
}

fn wire(body: Value) -> Value {
    let request = parse(&body).unwrap_or_else(|e| panic!("{body} refused: {e:?}"));
    request
        .to_upstream(Some("https://us.example/cb/tok".into()))
        .to_json()
}

/// `(field, code)` of every error, in order.
fn refusal(body: Value) -> Vec<(String, ErrorCode)> {
    match parse(&body) {
        Ok(_) => panic!("{body} was accepted"),
        Err(errors) => errors.iter().map(|e| (e.field.clone(), e.code)).collect(),
    }
}

fn refused_with(body: Value, field: &str, code: ErrorCode) -> String {
    let errors = parse(&body).expect_err(&body.to_string());
    assert_eq!(
        refusal(body.clone()),
        vec![(field.to_owned(), code)],
        "{body}: {errors:?}"
    );
    errors.first().message.clone()
}

fn text(chars: usize) -> String {
    "é".repeat(chars)
}

const IMG: &str = "https://example.com/a.png";
const IMG2: &str = "https://example.com/b.png";

#[test]
fn veo_sends_its_own_body_with_defaults() {
    assert_eq!(
        wire(json!({"model": "veo3-fast", "prompt": "A dog playing in a park"})),
        json!({"prompt": "A dog playing in a park", "model": "veo3_fast", "aspect_ratio": "16:9",
               "callBackUrl": "https://us.example/cb/tok"})
    );
    assert_eq!(
        wire(
            json!({"model": "veo3", "prompt": "p", "aspect_ratio": "9:16", "image_urls": [IMG, IMG2]})
        ),
        json!({"prompt": "p", "model": "veo3", "aspect_ratio": "9:16", "imageUrls": [IMG, IMG2],
               "callBackUrl": "https://us.example/cb/tok"})
    );
}

#[test]
fn veo_refuses_what_it_does_not_offer() {
    let message = refused_with(
        json!({"model": "veo3-fast", "prompt": "p", "aspect_ratio": "4:3"}),
        "aspect_ratio",
        ErrorCode::InvalidParameter,
    );
    assert_eq!(message, "aspect_ratio must be one of 16:9, 9:16, auto");
    refused_with(
        json!({"model": "veo3-fast", "prompt": "p", "aspect_ratio": "1:1"}),
        "aspect_ratio",
        ErrorCode::NotOffered,
    );
    refused_with(
        json!({"model": "veo3", "prompt": "p", "image_urls": [IMG, IMG2, IMG]}),
        "image_urls",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "veo3", "prompt": "p", "image_urls": []}),
        "image_urls",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "veo3", "prompt": "p", "duration": 8}),
        "duration",
        ErrorCode::UnknownParameter,
    );
    refused_with(
        json!({"model": "veo3", "prompt": "p", "sound": true}),
        "sound",
        ErrorCode::UnknownParameter,
    );
    refused_with(
        json!({"model": "veo3"}),
        "prompt",
        ErrorCode::MissingParameter,
    );
    assert!(parse(&json!({"model": "veo3", "prompt": text(2000)})).is_ok());
    refused_with(
        json!({"model": "veo3", "prompt": text(2001)}),
        "prompt",
        ErrorCode::InvalidParameter,
    );
}

#[test]
fn sora_maps_ratio_and_duration_to_its_wire_names() {
    assert_eq!(
        wire(
            json!({"model": "sora-2-text-to-video", "prompt": "p", "aspect_ratio": "9:16", "duration": 15, "remove_watermark": false})
        ),
        json!({"model": "sora-2-text-to-video", "callBackUrl": "https://us.example/cb/tok",
               "input": {"prompt": "p", "aspect_ratio": "portrait", "n_frames": "15", "remove_watermark": false}})
    );
    assert_eq!(
        wire(
            json!({"model": "sora-2-pro-image-to-video", "prompt": "p", "image_urls": [IMG], "quality": "standard"})
        ),
        json!({"model": "sora-2-pro-image-to-video", "callBackUrl": "https://us.example/cb/tok",
               "input": {"prompt": "p", "image_urls": [IMG], "aspect_ratio": "landscape", "n_frames": "10",
                         "remove_watermark": true, "size": "standard"}})
    );
}

#[test]
fn sora_refuses_what_it_does_not_offer() {
    refused_with(
        json!({"model": "sora-2-text-to-video", "prompt": "p", "duration": 5}),
        "duration",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "sora-2-text-to-video", "prompt": "p", "aspect_ratio": "1:1"}),
        "aspect_ratio",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "sora-2-text-to-video", "prompt": "p", "quality": "high"}),
        "quality",
        ErrorCode::UnknownParameter,
    );
    refused_with(
        json!({"model": "sora-2-text-to-video", "prompt": "p", "image_urls": [IMG]}),
        "image_urls",
        ErrorCode::UnknownParameter,
    );
    refused_with(
        json!({"model": "sora-2-pro-text-to-video", "prompt": "p", "quality": "ultra"}),
        "quality",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "sora-2-text-to-video", "prompt": "p", "remove_watermark": "yes"}),
        "remove_watermark",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "sora-2-image-to-video", "prompt": "p"}),
        "image_urls",
        ErrorCode::MissingParameter,
    );
    refused_with(
        json!({"model": "sora-2-image-to-video", "prompt": "p", "image_urls": [IMG, IMG2]}),
        "image_urls",
        ErrorCode::InvalidParameter,
    );
    assert!(parse(&json!({"model": "sora-2-text-to-video", "prompt": text(10_000)})).is_ok());
    refused_with(
        json!({"model": "sora-2-text-to-video", "prompt": text(10_001)}),
        "prompt",
        ErrorCode::InvalidParameter,
    );
}

#[test]
fn kling_always_sends_sound_duration_and_ratio() {
    assert_eq!(
        wire(
            json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow"})
        ),
        json!({"model": "kling-2.6/text-to-video", "callBackUrl": "https://us.example/cb/tok",
               "input": {"prompt": "a red fox running through snow", "sound": false, "aspect_ratio": "16:9", "duration": "5"}})
    );
    // Image to video has no aspect ratio: the image sets it.
    assert_eq!(
        wire(
            json!({"model": "kling-2.6/image-to-video", "prompt": "p", "image_urls": [IMG], "duration": 10, "sound": true})
        ),
        json!({"model": "kling-2.6/image-to-video", "callBackUrl": "https://us.example/cb/tok",
               "input": {"prompt": "p", "image_urls": [IMG], "sound": true, "duration": "10"}})
    );
}

#[test]
fn kling_refuses_what_it_does_not_offer() {
    let message = refused_with(
        json!({"model": "kling-2.6/text-to-video", "prompt": "p", "duration": 7}),
        "duration",
        ErrorCode::InvalidParameter,
    );
    assert_eq!(message, "duration must be one of 5, 10");
    refused_with(
        json!({"model": "kling-2.6/text-to-video", "prompt": "p", "duration": 5.5}),
        "duration",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "kling-2.6/text-to-video", "prompt": "p", "duration": "5s"}),
        "duration",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "kling-2.6/text-to-video", "prompt": "p", "sound": "true"}),
        "sound",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "kling-2.6/text-to-video", "prompt": "p", "negative_prompt": "blur"}),
        "negative_prompt",
        ErrorCode::ParameterDisabled,
    );
    refused_with(
        json!({"model": "kling-2.6/image-to-video", "prompt": "p", "image_urls": [IMG], "cfg_scale": 0.5}),
        "cfg_scale",
        ErrorCode::ParameterDisabled,
    );
    refused_with(
        json!({"model": "kling-2.6/image-to-video", "prompt": "p", "image_urls": [IMG], "aspect_ratio": "16:9"}),
        "aspect_ratio",
        ErrorCode::UnknownParameter,
    );
    refused_with(
        json!({"model": "kling-2.6/image-to-video", "image_urls": [IMG]}),
        "prompt",
        ErrorCode::MissingParameter,
    );
    assert!(parse(&json!({"model": "kling-2.6/text-to-video", "prompt": text(1000)})).is_ok());
    refused_with(
        json!({"model": "kling-2.6/text-to-video", "prompt": text(1001)}),
        "prompt",
        ErrorCode::InvalidParameter,
    );
}

#[test]
fn grok_sends_duration_as_a_number_and_480p() {
    assert_eq!(
        wire(
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "mode": "spicy", "aspect_ratio": "1:1"})
        ),
        json!({"model": "grok-imagine/text-to-video", "callBackUrl": "https://us.example/cb/tok",
               "input": {"prompt": "p", "aspect_ratio": "1:1", "mode": "spicy", "duration": 6, "resolution": "480p"}})
    );
    // Image to video: the prompt is optional, and there is no ratio with one image.
    assert_eq!(
        wire(json!({"model": "grok-imagine/image-to-video", "image_urls": [IMG], "mode": "fun"})),
        json!({"model": "grok-imagine/image-to-video", "callBackUrl": "https://us.example/cb/tok",
               "input": {"image_urls": [IMG], "mode": "fun", "duration": 6, "resolution": "480p"}})
    );
}

#[test]
fn grok_refuses_what_it_does_not_offer() {
    refused_with(
        json!({"model": "grok-imagine/text-to-video", "prompt": "p", "duration": 31}),
        "duration",
        ErrorCode::InvalidParameter,
    );
    let message = refused_with(
        json!({"model": "grok-imagine/text-to-video", "prompt": "p", "duration": 5}),
        "duration",
        ErrorCode::InvalidParameter,
    );
    assert_eq!(message, "duration must be a whole number from 6 to 30");
    refused_with(
        json!({"model": "grok-imagine/text-to-video", "prompt": "p", "quality": "1080p"}),
        "quality",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "grok-imagine/text-to-video", "prompt": "p", "mode": "wild"}),
        "mode",
        ErrorCode::InvalidParameter,
    );
    // Kie refuses spicy with outside images: said in the customer's words, not as a list.
    let message = refused_with(
        json!({"model": "grok-imagine/image-to-video", "image_urls": [IMG], "mode": "spicy"}),
        "mode",
        ErrorCode::NotOffered,
    );
    assert_eq!(
        message,
        "mode spicy is not available for grok-imagine/image-to-video: Grok makes spicy videos only from its own images, not from uploaded or linked ones; offered: fun, normal"
    );
    refused_with(
        json!({"model": "grok-imagine/image-to-video", "image_urls": vec![IMG; 8]}),
        "image_urls",
        ErrorCode::InvalidParameter,
    );
    // With one image the image sets the shape.
    let message = refused_with(
        json!({"model": "grok-imagine/image-to-video", "image_urls": [IMG], "aspect_ratio": "16:9"}),
        "aspect_ratio",
        ErrorCode::InvalidParameter,
    );
    assert_eq!(message, "aspect_ratio needs at least 2 image_urls");
    refused_with(
        json!({"model": "grok-imagine/image-to-video", "prompt": "p"}),
        "image_urls",
        ErrorCode::MissingParameter,
    );
    assert!(parse(&json!({"model": "grok-imagine/text-to-video", "prompt": text(5000)})).is_ok());
    refused_with(
        json!({"model": "grok-imagine/text-to-video", "prompt": text(5001)}),
        "prompt",
        ErrorCode::InvalidParameter,
    );
}

#[test]
fn grok_offers_every_ratio_of_the_notes_and_kie_defaulting_to_2_3() {
    for ratio in ["2:3", "3:2", "1:1", "16:9", "9:16"] {
        let body = wire(
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "aspect_ratio": ratio}),
        );
        assert_eq!(body["input"]["aspect_ratio"], ratio);
    }
    let body = wire(json!({"model": "grok-imagine/text-to-video", "prompt": "p"}));
    assert_eq!(body["input"]["aspect_ratio"], "2:3");
    // Several images may set a ratio (the seed's catalog could never accept one: it allowed a
    // ratio only with two images but took at most one).
    let body = wire(
        json!({"model": "grok-imagine/image-to-video", "image_urls": [IMG, IMG2], "aspect_ratio": "3:2",
               "prompt": "@image1 meets @image2"}),
    );
    assert_eq!(
        body["input"],
        json!({"prompt": "@image1 meets @image2", "image_urls": [IMG, IMG2], "aspect_ratio": "3:2",
               "duration": 6, "mode": "normal", "resolution": "480p"})
    );
}

#[test]
fn grok_takes_6_to_30_seconds_at_480p_or_720p() {
    for seconds in [6, 7, 15, 30] {
        let body = wire(
            json!({"model": "grok-imagine/text-to-video", "prompt": "p", "duration": seconds, "quality": "high"}),
        );
        assert_eq!(
            (
                body["input"]["duration"].clone(),
                body["input"]["resolution"].clone()
            ),
            (json!(seconds), json!("720p"))
        );
    }
}

#[test]
fn the_model_field_is_checked_first() {
    refused_with(json!({"prompt": "p"}), "model", ErrorCode::MissingParameter);
    refused_with(
        json!({"model": 3, "prompt": "p"}),
        "model",
        ErrorCode::InvalidParameter,
    );
    let message = refused_with(
        json!({"model": "veo4", "prompt": "p"}),
        "model",
        ErrorCode::UnknownModel,
    );
    assert!(message.contains("veo4"), "{message}");
}

#[test]
fn prompts_are_trimmed_and_must_not_be_blank() {
    refused_with(
        json!({"model": "veo3", "prompt": "  \n\t "}),
        "prompt",
        ErrorCode::InvalidParameter,
    );
    refused_with(
        json!({"model": "veo3", "prompt": ["p"]}),
        "prompt",
        ErrorCode::InvalidParameter,
    );
    let request = parse(&json!({"model": "veo3", "prompt": "  a dog  "})).unwrap();
    assert_eq!(request.params_json()["prompt"], "a dog");
}

#[test]
fn image_urls_must_be_a_list_of_http_urls() {
    refused_with(
        json!({"model": "sora-2-image-to-video", "prompt": "p", "image_urls": IMG}),
        "image_urls",
        ErrorCode::InvalidParameter,
    );
    let message = refused_with(
        json!({"model": "sora-2-image-to-video", "prompt": "p", "image_urls": ["ftp://example.com/a.png"]}),
        "image_urls",
        ErrorCode::InvalidParameter,
    );
    assert_eq!(message, "image_urls[0] must be an http or https URL");
    refused_with(
        json!({"model": "sora-2-image-to-video", "prompt": "p", "image_urls": [42]}),
        "image_urls",
        ErrorCode::InvalidParameter,
    );
}

#[test]
fn unknown_fields_are_refused_and_null_means_absent() {
    refused_with(
        json!({"model": "veo3", "prompt": "p", "webhook_url": "https://x"}),
        "webhook_url",
        ErrorCode::UnknownParameter,
    );
    refused_with(
        json!({"model": "veo3", "prompt": "p", "image_url": IMG}),
        "image_url",
        ErrorCode::UnknownParameter,
    );
    let request =
        parse(&json!({"model": "veo3", "prompt": "p", "image_urls": null, "aspect_ratio": null}))
            .unwrap();
    assert_eq!(
        request.params_json(),
        json!({"prompt": "p", "aspect_ratio": "16:9", "resolution": "720p"})
            .as_object()
            .unwrap()
            .clone()
    );
}

#[test]
fn every_error_of_a_request_is_reported() {
    let errors = refusal(
        json!({"model": "kling-2.6/text-to-video", "duration": 7, "sound": 1, "colour": "red"}),
    );
    assert_eq!(
        errors,
        vec![
            ("colour".to_owned(), ErrorCode::UnknownParameter),
            ("duration".to_owned(), ErrorCode::InvalidParameter),
            ("sound".to_owned(), ErrorCode::InvalidParameter),
            ("prompt".to_owned(), ErrorCode::MissingParameter),
        ]
    );
}

/// reelgate's `duration` is a number (a string of digits is refused, naming the field); Kie's
/// own `n_frames` for Sora is a string, as Kie writes it.
#[test]
fn duration_is_a_number_and_kies_n_frames_a_string() {
    let message = refused_with(
        json!({"model": "kling-2.6/text-to-video", "prompt": "p", "duration": "10"}),
        "duration",
        ErrorCode::InvalidParameter,
    );
    assert!(message.contains("number"), "{message}");
    let number =
        parse(&json!({"model": "sora-2-text-to-video", "prompt": "p", "duration": 15})).unwrap();
    let frames =
        parse(&json!({"model": "sora-2-text-to-video", "prompt": "p", "n_frames": "15"})).unwrap();
    assert_eq!(number, frames);
    assert_eq!(frames.params_json()["duration"], 15);
}

#[test]
fn a_request_round_trips_through_its_params() {
    let catalog = catalog();
    let bodies = [
        json!({"model": "kling-2.6/image-to-video", "prompt": "p", "image_urls": [IMG], "sound": true}),
        json!({"model": "sora-2-pro-text-to-video", "prompt": "p", "quality": "standard", "n_frames": "15"}),
        json!({"model": "veo3", "prompt": "p", "image_urls": [IMG, IMG2]}),
        json!({"model": "grok-imagine/image-to-video", "image_urls": [IMG]}),
    ];
    for body in bodies {
        let request = catalog.parse(body.as_object().unwrap()).unwrap();
        let again = catalog
            .parse_params(request.model().as_str(), &request.params_json())
            .unwrap();
        assert_eq!(again, request, "{body}");
        assert_eq!(catalog.parse(&request.to_body()).unwrap(), request);
    }
}

#[test]
fn the_catalog_lists_the_ten_variants_with_their_modes() {
    let view = catalog().view();
    let listed: Vec<(String, String, bool)> = view
        .iter()
        .map(|m| {
            (
                m.id.to_string(),
                serde_json::to_value(m.mode)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                m.available,
            )
        })
        .collect();
    let expected = [
        ("veo3", "text-to-video"),
        ("veo3-fast", "text-to-video"),
        ("veo3-lite", "text-to-video"),
        ("sora-2-text-to-video", "text-to-video"),
        ("sora-2-image-to-video", "image-to-video"),
        ("sora-2-pro-text-to-video", "text-to-video"),
        ("sora-2-pro-image-to-video", "image-to-video"),
        ("kling-2.6/text-to-video", "text-to-video"),
        ("kling-2.6/image-to-video", "image-to-video"),
        ("grok-imagine/text-to-video", "text-to-video"),
        ("grok-imagine/image-to-video", "image-to-video"),
    ];
    let expected: Vec<(String, String, bool)> = expected
        .iter()
        .map(|(id, mode)| (id.to_string(), mode.to_string(), true))
        .collect();
    assert_eq!(listed, expected);
    for model in &view {
        for p in &model.parameters {
            assert!(!p.description.is_empty(), "{} {}", model.id, p.name);
        }
    }
}

#[test]
fn the_catalog_shows_why_a_value_is_not_offered() {
    let view = serde_json::to_value(catalog().view()).unwrap();
    let model = |id: &str| {
        view.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let param = |model: &Value, name: &str| {
        model["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    let grok = model("grok-imagine/image-to-video");
    let spicy = param(&grok, "mode")["values"][2].clone();
    assert_eq!(
        (spicy["value"].clone(), spicy["available"].clone()),
        (json!("spicy"), json!(false))
    );
    assert_eq!(
        spicy["reason"],
        "disabled: Grok makes spicy videos only from its own images, not from uploaded or linked ones"
    );
    // Every second from 6 to 30 at both resolutions, the seed's 6 s at 480p unchanged.
    let prices = model("grok-imagine/text-to-video")["prices"].clone();
    assert_eq!(prices.as_array().unwrap().len(), 25 * 2);
    assert!(prices
        .as_array()
        .unwrap()
        .contains(&json!({"params": {"duration": 6, "quality": "standard"}, "credits": 15})));
    let negative = param(&model("kling-2.6/text-to-video"), "negative_prompt");
    assert_eq!(negative["available"], false);
    assert!(
        view.to_string().find("cost").is_none(),
        "customers never see upstream costs"
    );
}
