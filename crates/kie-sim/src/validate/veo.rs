//! `POST /api/v1/veo/generate`.

use serde_json::Value;

use super::{Fields, Order, Rejection};
use crate::model::Model;
use crate::pricing;

const FIELDS: &[&str] = &[
    "prompt",
    "imageUrls",
    "model",
    "aspectRatio",
    "aspect_ratio",
    "callBackUrl",
    "generationType",
    "seeds",
    "watermark",
    "enableTranslation",
    "enableFallback",
];
const RATIOS: &[&str] = &["16:9", "9:16", "Auto"];
const TEXT: &str = "TEXT_2_VIDEO";
const FRAMES: &str = "FIRST_AND_LAST_FRAMES_2_VIDEO";
const REFERENCE: &str = "REFERENCE_2_VIDEO";

pub(super) fn parse(body: &Value) -> Result<Order, Rejection> {
    let f = Fields::body(body)?;
    f.only(FIELDS, "veo/generate")?;
    f.prompt(true, None)?;
    let model = match f.choice("model", &["veo3", "veo3_fast", "veo3_lite"])? {
        Some("veo3") => Model::Veo3,
        Some("veo3_lite") => Model::Veo3Lite,
        // Kie's documented default.
        _ => Model::Veo3Fast,
    };
    aspect_ratio(&f)?;
    let images = f.urls("imageUrls", 1..=3)?;
    check_generation_type(&f, model, images)?;
    f.integer("seeds", 10_000..=99_999, false)?;
    f.string("watermark")?;
    f.boolean("enableTranslation")?;
    if f.boolean("enableFallback")?.is_some() {
        // Deprecated by Kie and still accepted there; reelgate must not send it, so say so.
        tracing::warn!("veo/generate carried the deprecated enableFallback field; ignored");
    }
    Ok(Order {
        model,
        cost: pricing::veo(model),
        callback_url: f.url("callBackUrl")?,
        // Kie's current page: 16:9 and 9:16 alike can be upgraded to 1080p and 4K (Auto is
        // one of the two by the time the video exists).
        hd_available: true,
    })
}

const EXTEND_FIELDS: &[&str] = &["taskId", "prompt", "model", "seeds", "callBackUrl"];

/// `POST /api/v1/veo/extend`: continues a finished Veo video with a new prompt; Kie prices it
/// like a new video of the model it names (`fast`, `quality`, `lite`). Whether the task may
/// be extended is the caller's check (it needs the task).
pub(super) fn parse_extend(body: &Value) -> Result<Order, Rejection> {
    let f = Fields::body(body)?;
    f.only(EXTEND_FIELDS, "veo/extend")?;
    f.required_string("taskId")?;
    f.prompt(true, None)?;
    let model = match f.required_choice("model", &["fast", "quality", "lite"])? {
        "quality" => Model::Veo3,
        "lite" => Model::Veo3Lite,
        _ => Model::Veo3Fast,
    };
    f.integer("seeds", 10_000..=99_999, false)?;
    Ok(Order {
        model,
        cost: pricing::veo(model),
        callback_url: f.url("callBackUrl")?,
        hd_available: true,
    })
}

/// Kie's pages spell the field both ways; either is accepted, but not two that disagree.
fn aspect_ratio(f: &Fields) -> Result<&'static str, Rejection> {
    let camel = f.choice("aspectRatio", RATIOS)?;
    let snake = f.choice("aspect_ratio", RATIOS)?;
    match (camel, snake) {
        (Some(a), Some(b)) if a != b => Err(Rejection::invalid(format!(
            "aspectRatio (\"{a}\") and aspect_ratio (\"{b}\") disagree; send one of them"
        ))),
        (a, b) => Ok(a.or(b).unwrap_or("16:9")),
    }
}

fn check_generation_type(f: &Fields, model: Model, images: usize) -> Result<(), Rejection> {
    match f.choice("generationType", &[TEXT, FRAMES, REFERENCE])? {
        None if images > 2 => Err(Rejection::invalid(
            "imageUrls holds at most 2 images (first and last frame) unless generationType is REFERENCE_2_VIDEO",
        )),
        Some(TEXT) if images > 0 => Err(Rejection::invalid(
            "imageUrls must be empty when generationType is TEXT_2_VIDEO",
        )),
        Some(FRAMES) if !(1..=2).contains(&images) => Err(Rejection::invalid(format!(
            "imageUrls must hold 1 or 2 images when generationType is {FRAMES} (got {images})"
        ))),
        Some(REFERENCE) if images == 0 => Err(Rejection::invalid(format!(
            "imageUrls must hold 1 to 3 reference images when generationType is {REFERENCE}"
        ))),
        Some(REFERENCE) if images > 3 => Err(Rejection::invalid(format!(
            "imageUrls holds at most 3 reference images when generationType is {REFERENCE}"
        ))),
        Some(REFERENCE) if model == Model::Veo3 => Err(Rejection::invalid(format!(
            "generationType {REFERENCE} is only available with models veo3_fast and veo3_lite"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_and_msg(body: Value) -> (u16, String) {
        let r = parse(&body).unwrap_err();
        (r.code, r.msg)
    }

    #[test]
    fn minimal_body_is_veo3_fast_16_9_with_hd() {
        let o = parse(&json!({"prompt": "a dog"})).unwrap();
        assert_eq!(o.model, Model::Veo3Fast);
        assert!(o.hd_available);
        assert_eq!(o.cost, pricing::veo(Model::Veo3Fast));
        let lite = parse(&json!({"prompt": "a dog", "model": "veo3_lite"})).unwrap();
        assert_eq!(
            (lite.model, lite.cost),
            (Model::Veo3Lite, pricing::veo(Model::Veo3Lite))
        );
    }

    #[test]
    fn ratio_is_accepted_under_either_spelling_but_not_two_disagreeing() {
        for field in ["aspectRatio", "aspect_ratio"] {
            let o = parse(&json!({"prompt": "p", field: "9:16"})).unwrap();
            assert!(o.hd_available, "Kie upgrades 9:16 videos too");
        }
        assert!(parse(&json!({"prompt": "p", "aspect_ratio": "Auto"})).is_ok());
        assert!(
            parse(&json!({"prompt": "p", "aspectRatio": "9:16", "aspect_ratio": "9:16"})).is_ok()
        );
        let (code, msg) =
            code_and_msg(json!({"prompt": "p", "aspectRatio": "9:16", "aspect_ratio": "16:9"}));
        assert_eq!(code, 422);
        assert!(
            msg.contains("aspectRatio") && msg.contains("aspect_ratio"),
            "{msg}"
        );
    }

    #[test]
    fn seed_notes_values_that_kie_does_not_take_are_refused_by_name() {
        let (code, msg) = code_and_msg(json!({"prompt": "p", "model": "veo3-fast"}));
        assert_eq!(code, 422);
        assert!(msg.starts_with("model must be one of"), "{msg}");
        let (_, msg) = code_and_msg(json!({"prompt": "p", "aspect_ratio": "1:1"}));
        assert!(msg.starts_with("aspect_ratio"), "{msg}");
    }

    #[test]
    fn images_are_limited_to_two_frames_or_three_references() {
        let url = "https://example.com/a.png";
        assert!(parse(&json!({"prompt": "p", "imageUrls": [url, url]})).is_ok());
        assert!(parse(&json!({"prompt": "p", "imageUrls": [url, url, url]})).is_err());
        assert!(parse(&json!({"prompt": "p", "imageUrls": [url, url, url],
                              "generationType": "REFERENCE_2_VIDEO"}))
        .is_ok());
        assert!(
            parse(&json!({"prompt": "p", "imageUrls": [url], "model": "veo3",
                              "generationType": "REFERENCE_2_VIDEO"}))
            .is_err()
        );
        assert!(parse(
            &json!({"prompt": "p", "imageUrls": [url], "model": "veo3_lite",
                              "aspect_ratio": "9:16", "generationType": "REFERENCE_2_VIDEO"})
        )
        .is_ok());
        assert!(parse(&json!({"prompt": "p", "imageUrls": [url],
                              "generationType": "TEXT_2_VIDEO"}))
        .is_err());
        let (_, msg) = code_and_msg(json!({"prompt": "p", "imageUrls": ["file:///etc/passwd"]}));
        assert_eq!(msg, "imageUrls[0] is not an http(s) URL");
    }

    #[test]
    fn optional_fields_are_typed_and_ranged() {
        assert!(
            parse(&json!({"prompt": "p", "seeds": 10000, "watermark": "w",
                              "enableTranslation": false, "enableFallback": false}))
            .is_ok()
        );
        assert!(parse(&json!({"prompt": "p", "seeds": 9999})).is_err());
        assert!(parse(&json!({"prompt": "p", "seeds": "12345"})).is_err());
        assert!(parse(&json!({"prompt": "p", "callBackUrl": "not a url"})).is_err());
        let (_, msg) = code_and_msg(json!({"prompt": "p", "image_urls": []}));
        assert_eq!(msg, "image_urls is not a parameter of veo/generate");
        let (_, msg) = code_and_msg(json!({"prompt": "  "}));
        assert_eq!(msg, "prompt must not be empty");
        let (_, msg) = code_and_msg(json!({"model": "veo3"}));
        assert_eq!(msg, "prompt is required");
    }
}
