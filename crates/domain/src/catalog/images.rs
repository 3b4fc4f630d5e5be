//! How many images a request carries, against what its chosen values allow: a value such as
//! one of Veo's generation types decides the count (none, 1–2 frames, 1–3 references);
//! without one, the image list's own bounds hold.

use super::field_error::{ErrorCode, FieldError};
use super::given::{shown_name, GivenFields};
use super::spec::{ModelSpec, ParamKind};
use super::value::ParamValue;
use super::Params;

pub(crate) fn image_count(values: &Params) -> usize {
    values
        .values()
        .map(|v| match v {
            ParamValue::ImageUrls(urls) => urls.len(),
            _ => 0,
        })
        .sum()
}

/// The image list was refused, or is required and missing, so how many images the request
/// means to have is unknown: what depends on the count is not judged (the list's own error
/// names the field at fault).
pub(crate) fn images_unknown(spec: &ModelSpec, given: &GivenFields<'_>, values: &Params) -> bool {
    spec.params.iter().any(|p| {
        matches!(p.kind, ParamKind::ImageUrls { .. })
            && !values.contains_key(&p.name)
            && (given.contains_key(&p.name) || p.required)
    })
}

pub(crate) fn check_image_counts(
    spec: &ModelSpec,
    given: &GivenFields<'_>,
    values: &Params,
    errors: &mut Vec<FieldError>,
) {
    let Some((list, max)) = spec.params.iter().find_map(|p| match p.kind {
        ParamKind::ImageUrls { max, .. } => Some((p, max)),
        _ => None,
    }) else {
        return;
    };
    // A refused value that would decide the count (a generation type) leaves it undecided.
    let decider_refused = spec.params.iter().any(|p| {
        matches!(&p.kind, ParamKind::Choice { values: choices, .. } if choices.iter().any(|v| v.images.is_some()))
            && given.contains_key(&p.name)
            && !values.contains_key(&p.name)
    });
    if decider_refused || images_unknown(spec, given, values) {
        return;
    }
    let images = image_count(values);
    let field = shown_name(given, &list.name);
    let mut decided = false;
    for p in &spec.params {
        let ParamKind::Choice {
            values: choices, ..
        } = &p.kind
        else {
            continue;
        };
        let chosen = values.get(&p.name).and_then(ParamValue::as_scalar);
        let decider = choices
            .iter()
            .find(|v| Some(&v.value) == chosen.as_ref())
            .and_then(|v| Some((v, v.images?)));
        let Some((v, (low, high))) = decider else {
            continue;
        };
        decided = true;
        if !(low..=high).contains(&images) {
            let count = match (low, high) {
                (0, 0) => "no image_urls".to_owned(),
                (l, h) if l == h => format!("exactly {l} image_urls"),
                (l, h) => format!("{l} to {h} image_urls"),
            };
            errors.push(FieldError::new(
                field,
                ErrorCode::InvalidParameter,
                format!(
                    "{} {} takes {count} for {} (got {images})",
                    shown_name(given, &p.name),
                    v.value,
                    spec.id
                ),
            ));
        }
    }
    if !decided && images > max {
        errors.push(FieldError::new(
            field,
            ErrorCode::InvalidParameter,
            format!(
                "{field} takes at most {max} URL(s) for {} (got {images}){}",
                spec.id,
                raised_by(spec, images)
            ),
        ));
    }
}

/// "; more need generation_type reference": the values that allow `images` images.
fn raised_by(spec: &ModelSpec, images: usize) -> String {
    let raising: Vec<String> = spec
        .params
        .iter()
        .flat_map(|p| match &p.kind {
            ParamKind::Choice { values, .. } => values
                .iter()
                .filter(|v| v.images.is_some_and(|(_, high)| high >= images))
                .map(|v| format!("{} {}", p.name, v.value))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    if raising.is_empty() {
        String::new()
    } else {
        format!("; more need {}", raising.join(" or "))
    }
}
