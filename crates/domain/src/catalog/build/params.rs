//! A model's parameters from their layers: type, limits, allowed values and their wire values,
//! default, and whether each is offered and priced.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use toml::Spanned;

use super::layers::{pick, quote, Ctx, Found, Layer};
use super::values::{scalar, values};
use crate::catalog::data::{ModelDoc, ParamDoc, ParamType};
use crate::catalog::source::{CatalogError, Origin};
use crate::catalog::spec::{ParamKind, ParamSpec, ScalarType};
use crate::catalog::value::ParamValue;

/// The uniform names of `docs/API.md`, in the order a customer reads them.
const PRESENTATION_ORDER: &[&str] = &[
    "prompt",
    "generation_type",
    "image_urls",
    "aspect_ratio",
    "duration",
    "resolution",
    "sound",
    "mode",
    "quality",
    "watermark",
    "remove_watermark",
    "enable_translation",
    "negative_prompt",
    "cfg_scale",
];

/// Widest range of seconds (or the like) a priced whole-number parameter may span: each
/// value is a price point of its own.
const MAX_PRICED_RANGE: i64 = 600;

/// A parameter with where it was declared, for checks that span several parameters.
pub(crate) struct Built {
    pub spec: ParamSpec,
    pub at: Origin,
    pub key: String,
}

pub(crate) fn build_all(
    ctx: &Ctx<'_>,
    chain: &[Layer<'_, ModelDoc>],
) -> Result<Vec<Built>, CatalogError> {
    let names: BTreeSet<&String> = chain.iter().flat_map(|l| l.get().params.keys()).collect();
    let mut built = Vec::new();
    for name in names {
        let stack: Vec<Layer<'_, ParamDoc>> = chain
            .iter()
            .filter_map(|model| {
                model.get().params.get(name).map(|doc| {
                    let key = format!("{}.params.{}", model.key, quote(name));
                    Layer {
                        source: model.source,
                        at: ctx.table_origin(model.source, &key),
                        key,
                        doc,
                    }
                })
            })
            .collect();
        built.push(build_one(ctx, name, &stack)?);
    }
    distinct_names(ctx, &built)?;
    built.sort_by_key(|b| {
        let rank = PRESENTATION_ORDER.iter().position(|n| *n == b.spec.name);
        (
            rank.unwrap_or(PRESENTATION_ORDER.len()),
            b.spec.name.clone(),
        )
    });
    Ok(built)
}

/// A request field must name one parameter: no alias may be another parameter's name or alias.
fn distinct_names(ctx: &Ctx<'_>, built: &[Built]) -> Result<(), CatalogError> {
    let mut seen: Vec<&str> = built.iter().map(|b| b.spec.name.as_str()).collect();
    for b in built {
        for alias in &b.spec.aliases {
            if seen.contains(&alias.as_str()) {
                return Err(ctx.error(
                    &b.at,
                    format!("{}.aliases", b.key),
                    format!("{alias} already names a parameter of this model"),
                ));
            }
            seen.push(alias);
        }
    }
    Ok(())
}

fn build_one(
    ctx: &Ctx<'_>,
    name: &str,
    stack: &[Layer<'_, ParamDoc>],
) -> Result<Built, CatalogError> {
    let top = &stack[0];
    let ty = pick(stack, "type", |p| p.kind.as_ref()).ok_or_else(|| ctx.missing(top, "type"))?;
    let description = pick(stack, "description", |p| p.description.as_ref())
        .ok_or_else(|| ctx.missing(top, "description"))?;
    let flag = |field: &str, f: fn(&ParamDoc) -> Option<&Spanned<bool>>, default: bool| {
        pick(stack, field, f).map_or(default, |found| *found.value)
    };
    let required = flag("required", |p| p.required.as_ref(), false);
    let enabled = flag("enabled", |p| p.enabled.as_ref(), true);
    let priced = flag("priced", |p| p.priced.as_ref(), false);
    let kind = kind(ctx, *ty.value, stack)?;
    let default = match pick(stack, "default", |p| p.default.as_ref()) {
        Some(found) => Some(default_value(ctx, &kind, &found)?),
        None => None,
    };
    if let Some(err) = disabled_default(ctx, stack, &kind, default.as_ref()) {
        return Err(err);
    }
    // Blame the field where it is set (the nearest layer), else the parameter's table.
    let blame = |field: &str, set: Option<crate::catalog::source::Origin>, message: &str| {
        ctx.error(
            &set.unwrap_or_else(|| top.at()),
            format!("{}.{field}", top.key),
            message,
        )
    };
    let priced_at = pick(stack, "priced", |p| p.priced.as_ref()).map(|f| f.at);
    if required && default.is_some() {
        let at = pick(stack, "default", |p| p.default.as_ref()).map(|f| f.at);
        return Err(blame(
            "default",
            at,
            "a required parameter cannot have a default",
        ));
    }
    let priceable = match &kind {
        ParamKind::Choice { .. } => Ok(()),
        ParamKind::IntegerRange { min, max }
            if max
                .checked_sub(*min)
                .is_some_and(|span| span <= MAX_PRICED_RANGE) =>
        {
            Ok(())
        }
        ParamKind::IntegerRange { .. } => Err(format!(
            "a priced range spans at most {MAX_PRICED_RANGE} values (each is a price point)"
        )),
        _ => Err(
            "only a parameter with a list of values or a whole-number range can be priced".into(),
        ),
    };
    if let (true, Err(message)) = (priced, priceable) {
        return Err(blame("priced", priced_at, &message));
    }
    if priced && !required && default.is_none() {
        let message = "a priced parameter needs a default (or must be required), so every request has a price";
        return Err(blame("priced", priced_at, message));
    }
    let requires_images = match pick(stack, "requires_images", |p| p.requires_images.as_ref()) {
        Some(found) if *found.value == 0 => {
            return Err(ctx.found_error(&found, "must be at least 1"))
        }
        found => found.map(|f| *f.value),
    };
    let spec = ParamSpec {
        name: name.to_owned(),
        description: description.value.clone(),
        kind,
        required,
        default,
        enabled,
        reason: pick(stack, "reason", |p| p.reason.as_ref()).map(|f| f.value.clone()),
        wire_field: pick(stack, "wire_field", |p| p.wire_field.as_ref())
            .map_or_else(|| name.to_owned(), |f| f.value.clone()),
        priced,
        requires_images,
        aliases: pick(stack, "aliases", |p| p.aliases.as_ref())
            .map(|f| f.value.clone())
            .unwrap_or_default(),
    };
    Ok(Built {
        spec,
        at: top.at(),
        key: top.key.clone(),
    })
}

fn kind(
    ctx: &Ctx<'_>,
    ty: ParamType,
    stack: &[Layer<'_, ParamDoc>],
) -> Result<ParamKind, CatalogError> {
    let top = &stack[0];
    let max_length = pick(stack, "max_length", |p| p.max_length.as_ref());
    let items = (
        pick(stack, "min_items", |p| p.min_items.as_ref()),
        pick(stack, "max_items", |p| p.max_items.as_ref()),
    );
    let range = (
        pick(stack, "min", |p| p.min.as_ref()),
        pick(stack, "max", |p| p.max.as_ref()),
    );
    let has_values = stack.iter().any(|l| !l.get().values.is_empty());
    // A setting that does not apply to the type is a mistake worth reporting, not ignoring.
    let stray: [(&str, bool, bool); 4] = [
        ("max_length", max_length.is_some(), ty == ParamType::Text),
        (
            "min_items",
            items.0.is_some() || items.1.is_some(),
            ty == ParamType::ImageUrls,
        ),
        (
            "min",
            range.0.is_some() || range.1.is_some(),
            matches!(ty, ParamType::Integer | ParamType::Number),
        ),
        (
            "values",
            has_values,
            matches!(
                ty,
                ParamType::String | ParamType::Integer | ParamType::Boolean
            ),
        ),
    ];
    if let Some((field, _, _)) = stray.iter().find(|(_, set, applies)| *set && !applies) {
        return Err(ctx.error(
            &top.at(),
            format!("{}.{field}", top.key),
            format!("`{field}` does not apply to this parameter's type"),
        ));
    }
    match ty {
        ParamType::Text => {
            let max = max_length.ok_or_else(|| ctx.missing(top, "max_length"))?;
            if *max.value == 0 {
                return Err(ctx.found_error(&max, "must be at least 1"));
            }
            Ok(ParamKind::Text {
                max_chars: *max.value,
            })
        }
        ParamType::ImageUrls => {
            let max = items.1.ok_or_else(|| ctx.missing(top, "max_items"))?;
            let min = items.0.map_or(1, |f| *f.value);
            if min == 0 || min > *max.value {
                return Err(ctx.found_error(&max, "needs 1 ≤ min_items ≤ max_items"));
            }
            Ok(ParamKind::ImageUrls {
                min,
                max: *max.value,
            })
        }
        ParamType::Number => {
            let (min, max) = bounds(ctx, top, range)?;
            Ok(ParamKind::NumberRange {
                min: *min.value,
                max: *max.value,
            })
        }
        ParamType::Integer if !has_values => {
            let (min, max) = bounds(ctx, top, range)?;
            let whole = |f: &Found<'_, Decimal>| {
                f.value
                    .is_integer()
                    .then(|| f.value.to_i64())
                    .flatten()
                    .ok_or_else(|| ctx.found_error(f, "must be a whole number"))
            };
            Ok(ParamKind::IntegerRange {
                min: whole(&min)?,
                max: whole(&max)?,
            })
        }
        ParamType::Integer if range.0.is_some() || range.1.is_some() => Err(ctx.error(
            &top.at(),
            format!("{}.values", top.key),
            "give either a list of values or min and max, not both",
        )),
        ParamType::String | ParamType::Integer | ParamType::Boolean => {
            let ty = match ty {
                ParamType::String => ScalarType::String,
                ParamType::Integer => ScalarType::Integer,
                _ => ScalarType::Boolean,
            };
            let values = values(ctx, ty, stack)?;
            if values.is_empty() {
                return Err(ctx.missing(top, "values"));
            }
            Ok(ParamKind::Choice { ty, values })
        }
    }
}

/// A default must stay offered; blame the layer that disabled it.
fn disabled_default(
    ctx: &Ctx<'_>,
    stack: &[Layer<'_, ParamDoc>],
    kind: &ParamKind,
    default: Option<&ParamValue>,
) -> Option<CatalogError> {
    let ParamKind::Choice { ty, values } = kind else {
        return None;
    };
    let default = default?.as_scalar()?;
    if values.iter().any(|v| v.value == default && v.enabled) {
        return None;
    }
    let (layer, enabled) = stack.iter().find_map(|layer| {
        let doc = layer
            .get()
            .values
            .iter()
            .find(|v| scalar(*ty, v.get_ref().value.get_ref()).as_ref() == Ok(&default))?;
        doc.get_ref()
            .enabled
            .as_ref()
            .map(|enabled| (layer, enabled))
    })?;
    Some(ctx.error(
        &Origin {
            source: layer.source,
            span: enabled.span(),
        },
        format!(
            "{}.values.{}.enabled",
            layer.key,
            quote(&default.to_string())
        ),
        format!("{default} is the default; set another default before disabling it"),
    ))
}

type Bound<'a> = Option<Found<'a, Decimal>>;

fn bounds<'a>(
    ctx: &Ctx<'_>,
    top: &Layer<'_, ParamDoc>,
    (min, max): (Bound<'a>, Bound<'a>),
) -> Result<(Found<'a, Decimal>, Found<'a, Decimal>), CatalogError> {
    let min = min.ok_or_else(|| ctx.missing(top, "min"))?;
    let max = max.ok_or_else(|| ctx.missing(top, "max"))?;
    if min.value > max.value {
        return Err(ctx.found_error(&max, "max must not be below min"));
    }
    Ok((min, max))
}

fn default_value(
    ctx: &Ctx<'_>,
    kind: &ParamKind,
    found: &Found<'_, toml::Value>,
) -> Result<ParamValue, CatalogError> {
    let fail = |m: String| ctx.found_error(found, m);
    match kind {
        ParamKind::Text { .. } | ParamKind::ImageUrls { .. } => {
            Err(fail("this type of parameter has no default".into()))
        }
        ParamKind::Choice { ty, values } => {
            let value = scalar(*ty, found.value).map_err(fail)?;
            match values.iter().find(|v| v.value == value) {
                None => Err(fail(format!(
                    "the default {value} is not one of the values"
                ))),
                Some(_) => Ok(value.into()),
            }
        }
        ParamKind::IntegerRange { min, max } => match found.value {
            toml::Value::Integer(i) if (min..=max).contains(&i) => Ok(ParamValue::Integer(*i)),
            _ => Err(fail(format!(
                "the default must be a whole number from {min} to {max}"
            ))),
        },
        ParamKind::NumberRange { min, max } => {
            let number = match found.value {
                toml::Value::Integer(i) => Some(Decimal::from(*i)),
                toml::Value::Float(f) => Decimal::try_from(*f).ok(),
                _ => None,
            };
            match number {
                Some(n) if (*min..=*max).contains(&n) => Ok(ParamValue::Number(n)),
                _ => Err(fail(format!(
                    "the default must be a number from {min} to {max}"
                ))),
            }
        }
    }
}
