//! A choice parameter's allowed values, merged over the layers, each with its wire value.

use std::collections::BTreeSet;

use super::layers::{pick, quote, Ctx, Layer};
use crate::catalog::data::{ParamDoc, ValueDoc};
use crate::catalog::source::{CatalogError, Origin};
use crate::catalog::spec::{Scalar, ScalarType, ValueSpec};

/// The values of every layer, merged by value: the built-in order first, then values the
/// operator adds; for each value, the nearest layer's settings win field by field.
pub(crate) fn values(
    ctx: &Ctx<'_>,
    ty: ScalarType,
    stack: &[Layer<'_, ParamDoc>],
) -> Result<Vec<ValueSpec>, CatalogError> {
    let mut merged: Vec<(Scalar, Vec<Layer<'_, ValueDoc>>)> = Vec::new();
    if ty == ScalarType::Boolean {
        merged.push((Scalar::Boolean(false), Vec::new()));
        merged.push((Scalar::Boolean(true), Vec::new()));
    }
    for layer in stack.iter().rev() {
        let mut in_this_layer = BTreeSet::new();
        for doc in &layer.get().values {
            let raw = &doc.get_ref().value;
            let value = scalar(ty, raw.get_ref()).map_err(|m| {
                ctx.error(
                    &Origin {
                        source: layer.source,
                        span: raw.span(),
                    },
                    format!("{}.values", layer.key),
                    m,
                )
            })?;
            let key = format!("{}.values.{}", layer.key, quote(&value.to_string()));
            if !in_this_layer.insert(value.clone()) {
                let at = Origin {
                    source: layer.source,
                    span: doc.span(),
                };
                return Err(ctx.error(&at, key, "this value is listed twice"));
            }
            let value_layer = Layer::spanned(layer.source, key, doc);
            match merged.iter_mut().find(|(v, _)| *v == value) {
                Some((_, layers)) => layers.insert(0, value_layer),
                None => merged.push((value, vec![value_layer])),
            }
        }
    }
    merged
        .into_iter()
        .map(|(value, layers)| {
            let wire = match pick(&layers, "wire", |v| v.wire.as_ref()) {
                Some(found) => json(found.value).map_err(|m| ctx.found_error(&found, m))?,
                None => value.to_json(),
            };
            let aliases = match pick(&layers, "aliases", |v| v.aliases.as_ref()) {
                Some(found) => found
                    .value
                    .iter()
                    .map(|raw| scalar(ty, raw).map_err(|m| ctx.found_error(&found, m)))
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            Ok(ValueSpec {
                wire,
                enabled: pick(&layers, "enabled", |v| v.enabled.as_ref()).is_none_or(|f| *f.value),
                reason: pick(&layers, "reason", |v| v.reason.as_ref()).map(|f| f.value.clone()),
                description: pick(&layers, "description", |v| v.description.as_ref())
                    .map(|f| f.value.clone()),
                aliases,
                images: images(ctx, &layers)?,
                value,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|values| distinct_spellings(ctx, stack, values))
}

/// `min_images` and `max_images` go together: the value decides the whole range.
fn images(
    ctx: &Ctx<'_>,
    layers: &[Layer<'_, ValueDoc>],
) -> Result<Option<(usize, usize)>, CatalogError> {
    let min = pick(layers, "min_images", |v| v.min_images.as_ref());
    let max = pick(layers, "max_images", |v| v.max_images.as_ref());
    match (min, max) {
        (None, None) => Ok(None),
        (Some(min), Some(max)) if min.value <= max.value => Ok(Some((*min.value, *max.value))),
        (Some(min), Some(_)) => Err(ctx.found_error(&min, "min_images must not exceed max_images")),
        (Some(one), None) | (None, Some(one)) => Err(ctx.found_error(
            &one,
            "give both min_images and max_images (0 and 0 for none)",
        )),
    }
}

/// Every spelling (value or alias) names one value only, or a request would be ambiguous.
fn distinct_spellings(
    ctx: &Ctx<'_>,
    stack: &[Layer<'_, ParamDoc>],
    values: Vec<ValueSpec>,
) -> Result<Vec<ValueSpec>, CatalogError> {
    let mut seen: Vec<&Scalar> = Vec::new();
    for spelling in values
        .iter()
        .flat_map(|v| std::iter::once(&v.value).chain(&v.aliases))
    {
        if seen.contains(&spelling) {
            let top = &stack[0];
            return Err(ctx.error(
                &top.at(),
                format!("{}.values", top.key),
                format!("{spelling} names two values (as a value or an alias)"),
            ));
        }
        seen.push(spelling);
    }
    Ok(values)
}

/// A value as written in the data, checked against the parameter's type.
pub(crate) fn scalar(ty: ScalarType, raw: &toml::Value) -> Result<Scalar, String> {
    match (ty, raw) {
        (ScalarType::String, toml::Value::String(s)) => Ok(Scalar::String(s.clone())),
        (ScalarType::Integer, toml::Value::Integer(i)) => Ok(Scalar::Integer(*i)),
        (ScalarType::Boolean, toml::Value::Boolean(b)) => Ok(Scalar::Boolean(*b)),
        (ScalarType::String, other) => Err(format!("expected a string, found {other}")),
        (ScalarType::Integer, other) => Err(format!("expected a whole number, found {other}")),
        (ScalarType::Boolean, other) => Err(format!("expected true or false, found {other}")),
    }
}

/// A wire value: what Kie receives.
fn json(raw: &toml::Value) -> Result<serde_json::Value, String> {
    match raw {
        toml::Value::String(s) => Ok(s.clone().into()),
        toml::Value::Integer(i) => Ok((*i).into()),
        toml::Value::Boolean(b) => Ok((*b).into()),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or_else(|| "a wire value must be a finite number".to_owned()),
        other => Err(format!(
            "a wire value must be a string, number or boolean, not {other}"
        )),
    }
}
