//! `POST /api/v1/jobs/createTask`: Sora 2, Kling 2.6 and Grok Imagine, one table row each.

use rust_decimal::Decimal;
use serde_json::Value;

use super::{Fields, Order, Rejection};
use crate::model::{Family, Model};
use crate::pricing;

type Result<T> = std::result::Result<T, Rejection>;

pub(super) fn parse(body: &Value) -> Result<Order> {
    let f = Fields::body(body)?;
    let name = f.required_string("model")?;
    let model = Model::job_from_wire(name).ok_or_else(|| unsupported(name))?;
    f.only(&["model", "callBackUrl", "input"], "jobs/createTask")?;
    let callback_url = f.url("callBackUrl")?;
    let input = f.input()?;
    let cost = match model.family() {
        Family::Sora | Family::SoraPro => sora(&input, model)?,
        Family::Kling => kling(&input, model)?,
        Family::Grok => grok(&input, model)?,
        // Veo has its own endpoint; `job_from_wire` never yields it.
        Family::Veo3 | Family::Veo3Fast => return Err(unsupported(name)),
    };
    Ok(Order {
        model,
        cost,
        callback_url,
        hd_available: false,
    })
}

fn unsupported(name: &str) -> Rejection {
    Rejection::invalid(format!(
        "model \"{name}\" is not supported by jobs/createTask"
    ))
}

fn required_images(i: &Fields, count: std::ops::RangeInclusive<usize>) -> Result<usize> {
    match i.urls("image_urls", count)? {
        0 => Err(Rejection::invalid("input.image_urls is required")),
        n => Ok(n),
    }
}

fn sora(i: &Fields, model: Model) -> Result<Decimal> {
    let pro = model.family() == Family::SoraPro;
    let image = matches!(
        model,
        Model::Sora2ImageToVideo | Model::Sora2ProImageToVideo
    );
    let mut allowed = vec!["prompt", "aspect_ratio", "n_frames", "remove_watermark"];
    if pro {
        allowed.push("size");
    }
    if image {
        allowed.push("image_urls");
    }
    i.only(&allowed, model.wire_name())?;
    i.prompt(true, Some(10_000))?;
    i.choice("aspect_ratio", &["landscape", "portrait"])?;
    let seconds = match i.choice("n_frames", &["10", "15"])? {
        Some("15") => 15,
        _ => 10,
    };
    i.boolean("remove_watermark")?;
    let high = pro && i.choice("size", &["standard", "high"])? == Some("high");
    if image {
        required_images(i, 1..=1)?;
    }
    Ok(pricing::sora(seconds, high))
}

fn kling(i: &Fields, model: Model) -> Result<Decimal> {
    let image = model == Model::KlingImageToVideo;
    // The seed's negative_prompt and cfg_scale belong to Kling 2.1/2.5: refused here like any
    // other field Kie's 2.6 schema lacks. An image sets its own aspect ratio.
    let last = if image { "image_urls" } else { "aspect_ratio" };
    i.only(&["prompt", "sound", "duration", last], model.wire_name())?;
    i.prompt(true, Some(1_000))?;
    let sound = i.required_boolean("sound")?;
    let seconds = match i.required_choice("duration", &["5", "10"])? {
        "10" => 10,
        _ => 5,
    };
    if image {
        required_images(i, 1..=1)?;
    } else {
        i.required_choice("aspect_ratio", &["1:1", "16:9", "9:16"])?;
    }
    Ok(pricing::kling(seconds, sound))
}

const GROK_RATIOS: &[&str] = &["2:3", "3:2", "1:1", "16:9", "9:16"];
const GROK_MODES: &[&str] = &["fun", "normal", "spicy"];
const GROK_RESOLUTIONS: &[&str] = &["480p", "720p"];

fn grok(i: &Fields, model: Model) -> Result<Decimal> {
    let resolution = if model == Model::GrokTextToVideo {
        grok_text(i, model)?
    } else {
        grok_image(i, model)?
    };
    let seconds = i.integer("duration", 6..=30, true)?.unwrap_or(6);
    i.boolean("nsfw_checker")?;
    // The range check above bounds seconds to 6..=30.
    Ok(pricing::grok(seconds as u32, resolution == "720p"))
}

fn grok_text(i: &Fields, model: Model) -> Result<&'static str> {
    i.only(
        &[
            "prompt",
            "aspect_ratio",
            "mode",
            "resolution",
            "duration",
            "nsfw_checker",
        ],
        model.wire_name(),
    )?;
    i.prompt(true, Some(5_000))?;
    i.required_choice("aspect_ratio", GROK_RATIOS)?;
    i.required_choice("mode", GROK_MODES)?;
    i.required_choice("resolution", GROK_RESOLUTIONS)
}

/// Either external `image_urls` or an earlier Grok image (`task_id` + `index`), not both.
fn grok_image(i: &Fields, model: Model) -> Result<&'static str> {
    i.only(
        &[
            "image_urls",
            "task_id",
            "index",
            "prompt",
            "mode",
            "resolution",
            "duration",
            "aspect_ratio",
            "nsfw_checker",
        ],
        model.wire_name(),
    )?;
    let images = i.urls("image_urls", 1..=7)?;
    let task = i.string("task_id")?;
    match (images, task) {
        (0, None) => {
            return Err(Rejection::invalid(
                "input.image_urls (or input.task_id of an earlier Grok image) is required",
            ))
        }
        (1.., Some(_)) => {
            return Err(Rejection::invalid(
                "send input.image_urls or input.task_id, not both",
            ))
        }
        (_, Some(t)) if t.trim().is_empty() => {
            return Err(Rejection::invalid("input.task_id must not be empty"))
        }
        _ => {}
    }
    if i.has("index") && task.is_none() {
        return Err(Rejection::invalid(
            "input.index is only allowed with input.task_id",
        ));
    }
    i.integer("index", 0..=5, false)?;
    i.prompt(false, Some(5_000))?;
    if i.choice("mode", GROK_MODES)? == Some("spicy") && images > 0 {
        return Err(Rejection::invalid(
            "input.mode \"spicy\" is not available with external input.image_urls",
        ));
    }
    // Only applies with several images; a single image sets its own ratio.
    i.choice("aspect_ratio", GROK_RATIOS)?;
    Ok(i.choice("resolution", GROK_RESOLUTIONS)?.unwrap_or("480p"))
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
