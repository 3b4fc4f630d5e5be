use rust_decimal_macros::dec;
use serde_json::{json, Value};

use super::*;

const IMG: &str = "https://example.com/a.png";

fn task(model: &str, input: Value) -> Value {
    json!({"model": model, "callBackUrl": "https://cb.example/x", "input": input})
}

fn msg(body: Value) -> String {
    let r = parse(&body).unwrap_err();
    assert_eq!(r.code, 422, "{}", r.msg);
    r.msg
}

#[test]
fn kling_takes_exactly_its_documented_fields_and_prices_by_duration_and_sound() {
    let base = json!({"prompt": "fox", "sound": false, "aspect_ratio": "16:9", "duration": "5"});
    let o = parse(&task("kling-2.6/text-to-video", base.clone())).unwrap();
    assert_eq!((o.model, o.cost), (Model::KlingTextToVideo, dec!(55)));
    assert_eq!(o.callback_url.as_deref(), Some("https://cb.example/x"));
    let mut loud = base.clone();
    loud["sound"] = json!(true);
    loud["duration"] = json!("10");
    assert_eq!(
        parse(&task("kling-2.6/text-to-video", loud)).unwrap().cost,
        dec!(220)
    );

    for extra in ["negative_prompt", "cfg_scale"] {
        let mut b = base.clone();
        b[extra] = json!("x");
        assert_eq!(
            msg(task("kling-2.6/text-to-video", b)),
            format!("input.{extra} is not a parameter of kling-2.6/text-to-video")
        );
    }
    for missing in ["sound", "duration", "aspect_ratio", "prompt"] {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            msg(task("kling-2.6/text-to-video", b)),
            format!("input.{missing} is required")
        );
    }
    let mut numeric = base.clone();
    numeric["duration"] = json!(5);
    assert!(
        msg(task("kling-2.6/text-to-video", numeric)).starts_with("input.duration must be one of")
    );
    let mut long = base;
    long["prompt"] = json!("x".repeat(1001));
    assert!(msg(task("kling-2.6/text-to-video", long)).contains("at most 1000 characters"));
}

#[test]
fn kling_image_to_video_needs_one_image_and_takes_no_ratio() {
    let ok = json!({"prompt": "p", "sound": true, "duration": "5", "image_urls": [IMG]});
    assert_eq!(
        parse(&task("kling-2.6/image-to-video", ok.clone()))
            .unwrap()
            .cost,
        dec!(110)
    );
    let mut two = ok.clone();
    two["image_urls"] = json!([IMG, IMG]);
    assert_eq!(
        msg(task("kling-2.6/image-to-video", two)),
        "input.image_urls must hold exactly 1 URL (got 2)"
    );
    let mut none = ok.clone();
    none["image_urls"] = json!([]);
    assert_eq!(
        msg(task("kling-2.6/image-to-video", none)),
        "input.image_urls is required"
    );
    let mut ratio = ok;
    ratio["aspect_ratio"] = json!("16:9");
    assert!(msg(task("kling-2.6/image-to-video", ratio)).starts_with("input.aspect_ratio is not"));
}

#[test]
fn sora_variants_price_by_frames_and_size_and_check_their_own_fields() {
    let text = json!({"prompt": "p", "aspect_ratio": "landscape", "n_frames": "15", "remove_watermark": true});
    assert_eq!(
        parse(&task("sora-2-text-to-video", text.clone()))
            .unwrap()
            .cost,
        dec!(270)
    );
    let mut high = text.clone();
    high["size"] = json!("high");
    assert_eq!(
        parse(&task("sora-2-pro-text-to-video", high.clone()))
            .unwrap()
            .cost,
        dec!(630)
    );
    assert!(msg(task("sora-2-text-to-video", high)).starts_with("input.size is not a parameter"));
    let mut standard = text.clone();
    standard["size"] = json!("standard");
    assert_eq!(
        parse(&task("sora-2-pro-text-to-video", standard))
            .unwrap()
            .cost,
        dec!(270)
    );
    assert_eq!(
        msg(task("sora-2-image-to-video", text.clone())),
        "input.image_urls is required"
    );
    let mut image = text.clone();
    image["image_urls"] = json!([IMG]);
    assert!(parse(&task("sora-2-pro-image-to-video", image.clone())).is_ok());
    assert!(msg(task("sora-2-text-to-video", image)).starts_with("input.image_urls is not"));
    let mut ratio = text.clone();
    ratio["aspect_ratio"] = json!("16:9");
    assert!(
        msg(task("sora-2-text-to-video", ratio)).starts_with("input.aspect_ratio must be one of")
    );
    let mut long = text;
    long["prompt"] = json!("é".repeat(10_000));
    assert!(parse(&task("sora-2-text-to-video", long.clone())).is_ok());
    long["prompt"] = json!("é".repeat(10_001));
    assert!(msg(task("sora-2-text-to-video", long)).contains("at most 10000 characters"));
}

#[test]
fn grok_duration_is_a_number_or_digit_string_from_6_to_30() {
    let base =
        json!({"prompt": "p", "aspect_ratio": "2:3", "mode": "normal", "resolution": "480p"});
    assert_eq!(
        parse(&task("grok-imagine/text-to-video", base.clone()))
            .unwrap()
            .cost,
        // 6 s at Kie's $0.008 a second.
        dec!(9.6)
    );
    for (d, ok) in [
        (json!(6), true),
        (json!("30"), true),
        (json!(5), false),
        (json!("31"), false),
        (json!(6.5), false),
        (json!("6s"), false),
        (json!(true), false),
    ] {
        let mut b = base.clone();
        b["duration"] = d.clone();
        assert_eq!(
            parse(&task("grok-imagine/text-to-video", b)).is_ok(),
            ok,
            "duration {d}"
        );
    }
    for missing in ["aspect_ratio", "mode", "resolution", "prompt"] {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            msg(task("grok-imagine/text-to-video", b)),
            format!("input.{missing} is required")
        );
    }
    let mut long = base;
    long["prompt"] = json!("x".repeat(5001));
    assert!(msg(task("grok-imagine/text-to-video", long)).contains("at most 5000"));
}

#[test]
fn grok_image_refuses_spicy_with_external_images_but_not_with_an_earlier_task() {
    let m = "grok-imagine/image-to-video";
    assert!(parse(&task(m, json!({"image_urls": [IMG], "mode": "normal"}))).is_ok());
    assert_eq!(
        msg(task(m, json!({"image_urls": [IMG], "mode": "spicy"}))),
        "input.mode \"spicy\" is not available with external input.image_urls"
    );
    assert!(parse(&task(
        m,
        json!({"task_id": "task_1", "index": 5, "mode": "spicy"})
    ))
    .is_ok());
    assert!(parse(&task(m, json!({"task_id": "task_1", "index": 6}))).is_err());
    assert!(parse(&task(m, json!({"task_id": "task_1", "image_urls": [IMG]}))).is_err());
    assert!(parse(&task(m, json!({"image_urls": [IMG], "index": 0}))).is_err());
    assert!(parse(&task(m, json!({"prompt": "p"}))).is_err());
    assert!(parse(&task(m, json!({"image_urls": vec![IMG; 7]}))).is_ok());
    assert!(parse(&task(m, json!({"image_urls": vec![IMG; 8]}))).is_err());
    let hd = parse(&task(
        m,
        json!({"image_urls": [IMG], "resolution": "720p", "duration": 10}),
    ))
    .unwrap();
    // 720p, 10 s: $0.015 × 10 = 30 Kie credits.
    assert_eq!(hd.cost, dec!(30));
}

#[test]
fn unknown_models_and_shapes_are_refused() {
    assert_eq!(msg(json!({"input": {}})), "model is required");
    assert_eq!(
        msg(task("veo3_fast", json!({"prompt": "p"}))),
        "model \"veo3_fast\" is not supported by jobs/createTask"
    );
    assert_eq!(
        msg(json!({"model": "sora-2-text-to-video"})),
        "input is required"
    );
    assert_eq!(
        msg(json!({"model": "sora-2-text-to-video", "input": {"prompt": "p"}, "extra": 1})),
        "extra is not a parameter of jobs/createTask"
    );
    assert_eq!(msg(json!([1, 2])), "the request body must be a JSON object");
}
