//! Parsing a request body into a `GenerationRequest`, or into every field error it has.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

use super::field_error::{ErrorCode, FieldError, FieldErrors};
use super::given::{by_own_names, shown_name, Given, GivenFields};
use super::images::{check_image_counts, image_count, images_unknown};
use super::request::GenerationRequest;
use super::spec::{ModelSpec, ParamKind, ParamSpec, Scalar, ScalarType};
use super::upstream::translate;
use super::value::{ImageUrl, ParamValue};
use super::{Catalog, Params};
use crate::pricing::{Combination, Quote};

impl Catalog {
    /// A request body (`model` and parameters; the HTTP layer has taken out `webhook_url`).
    pub fn parse(&self, body: &Map<String, Value>) -> Result<GenerationRequest, FieldErrors> {
        let model = match body.get("model") {
            None | Some(Value::Null) => {
                return Err(FieldError::new(
                    "model",
                    ErrorCode::MissingParameter,
                    "model is required; see GET /v1/models",
                )
                .into())
            }
            Some(Value::String(model)) => model,
            Some(_) => {
                return Err(FieldError::new(
                    "model",
                    ErrorCode::InvalidParameter,
                    "model must be a string",
                )
                .into())
            }
        };
        let mut params = body.clone();
        params.remove("model");
        self.parse_params(model, &params)
    }

    /// A model id and its parameters, e.g. a stored generation's `model` and `params`.
    pub fn parse_params(
        &self,
        model: &str,
        params: &Map<String, Value>,
    ) -> Result<GenerationRequest, FieldErrors> {
        let spec = self.model(model).ok_or_else(|| {
            FieldError::new(
                "model",
                ErrorCode::UnknownModel,
                format!("there is no model {model:?}; see GET /v1/models"),
            )
        })?;
        spec.availability().map_err(|reason| {
            FieldError::new(
                "model",
                ErrorCode::NotOffered,
                format!("{model} is not offered ({reason})"),
            )
        })?;
        let (given, mut errors) = by_own_names(spec, params);
        let mut values = Params::new();
        for (name, field) in &given {
            // `by_own_names` keeps only the model's own parameters.
            let Some(p) = spec.param(name) else { continue };
            if let Some(c) = control_character(field.raw) {
                errors.push(FieldError::new(
                    field.name,
                    ErrorCode::InvalidParameter,
                    format!(
                        "{} must not contain control characters (found U+{c:04X})",
                        field.name
                    ),
                ));
                continue;
            }
            // A parameter customers may not set still takes its own default, so that the
            // `params` of a stored generation (defaults filled in) read back.
            if !p.enabled && !is_default(spec, p, field) {
                errors.push(FieldError::new(
                    field.name,
                    ErrorCode::ParameterDisabled,
                    format!(
                        "{} is not available for {model}{}",
                        field.name,
                        p.reason
                            .as_ref()
                            .map_or(String::new(), |r| format!(": {r}"))
                    ),
                ));
                continue;
            }
            match value(spec, p, field) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        fill_defaults(spec, &given, &mut values, &mut errors);
        check_image_counts(spec, &given, &values, &mut errors);
        if let Some(errors) = FieldErrors::from_vec(errors) {
            return Err(errors);
        }
        let quote = quote(spec, &values, &given)?;
        Ok(GenerationRequest {
            model: spec.id.clone(),
            upstream: translate(spec, &values),
            params: values,
            quote,
        })
    }

    /// The price of a request body, without keeping the request.
    pub fn quote(&self, body: &Map<String, Value>) -> Result<Quote, FieldErrors> {
        self.parse(body).map(|request| request.quote().clone())
    }
}

fn is_default(model: &ModelSpec, spec: &ParamSpec, field: &Given<'_>) -> bool {
    spec.default
        .as_ref()
        .is_some_and(|default| value(model, spec, field).as_ref() == Ok(default))
}

/// Fills in defaults, and reports what is missing or needs more images. Parameters given but
/// refused have their error already.
fn fill_defaults(
    spec: &ModelSpec,
    given: &GivenFields<'_>,
    values: &mut Params,
    errors: &mut Vec<FieldError>,
) {
    let images = image_count(values);
    let unknown = images_unknown(spec, given, values);
    for p in &spec.params {
        let allowed_by_images = unknown || p.requires_images.is_none_or(|n| images >= n);
        if values.contains_key(&p.name) {
            if !allowed_by_images {
                let n = p.requires_images.unwrap_or_default();
                let name = shown_name(given, &p.name);
                errors.push(FieldError::new(
                    name,
                    ErrorCode::InvalidParameter,
                    format!("{name} needs at least {n} image_urls"),
                ));
            }
        } else if given.contains_key(&p.name) {
            continue;
        } else if let Some(default) = p.default.as_ref().filter(|_| allowed_by_images) {
            // Defaults are sent even for a parameter customers may not set: Kie requires some.
            values.insert(p.name.clone(), default.clone());
        } else if p.required && p.enabled {
            errors.push(FieldError::new(
                &p.name,
                ErrorCode::MissingParameter,
                format!("{} is required for {}", p.name, spec.id),
            ));
        }
    }
}

fn quote(spec: &ModelSpec, values: &Params, given: &GivenFields<'_>) -> Result<Quote, FieldErrors> {
    let priced: Vec<&ParamSpec> = spec.params.iter().filter(|p| p.priced).collect();
    let combination = Combination::new(
        priced
            .iter()
            .filter_map(|p| Some((p.name.clone(), values.get(&p.name)?.as_scalar()?)))
            .collect(),
    );
    let price = spec
        .prices
        .iter()
        .find(|point| point.combination == combination)
        .map(|point| &point.price);
    match price {
        Some(Ok(price)) => Ok(Quote {
            model: spec.id.clone(),
            credits: price.credits,
            upstream_cost_usd: price.cost_usd,
        }),
        found => {
            let reason = match found {
                Some(Err(unpriced)) => unpriced.to_string(),
                _ => "no cost configured".to_owned(),
            };
            // Blame a priced parameter the customer chose; failing that, the first one.
            let field = priced
                .iter()
                .find_map(|p| given.get(&p.name).map(|g| g.name))
                .or(priced.first().map(|p| p.name.as_str()))
                .unwrap_or("model");
            Err(FieldError::new(
                field,
                ErrorCode::NotOffered,
                format!("{} is not offered with {combination} ({reason})", spec.id),
            )
            .into())
        }
    }
}

fn invalid(field: &str, message: String) -> FieldError {
    FieldError::new(field, ErrorCode::InvalidParameter, message)
}

fn value(model: &ModelSpec, spec: &ParamSpec, field: &Given<'_>) -> Result<ParamValue, FieldError> {
    let (name, raw) = (field.name, field.raw);
    match &spec.kind {
        ParamKind::Text { max_chars } => {
            let text = raw
                .as_str()
                .ok_or_else(|| invalid(name, format!("{name} must be a string")))?
                .trim();
            let chars = text.chars().count();
            if chars == 0 {
                return Err(invalid(name, format!("{name} must not be empty")));
            }
            if chars > *max_chars {
                return Err(invalid(
                    name,
                    format!(
                        "{name} must be at most {max_chars} characters for {} (it has {chars})",
                        model.id
                    ),
                ));
            }
            Ok(ParamValue::Text(text.to_owned()))
        }
        ParamKind::ImageUrls { min, .. } => {
            // The business's notes write Grok's image as one string under `image_url`: an
            // alias of the list may carry one URL as it is.
            let list = match raw {
                Value::Array(list) => list.as_slice(),
                Value::String(_) if field.by_alias => std::slice::from_ref(raw),
                _ => {
                    return Err(invalid(
                        name,
                        format!("{name} must be a list of http(s) URLs"),
                    ))
                }
            };
            // The list's own upper bound is checked with the other values (`images.rs`): a
            // generation type may allow more.
            let max = model.max_images();
            if list.len() < *min || list.len() > max {
                let count = if *min == max {
                    format!("exactly {min}")
                } else {
                    format!("{min} to {max}")
                };
                return Err(invalid(
                    name,
                    format!(
                        "{name} takes {count} URL(s) for {} (got {})",
                        model.id,
                        list.len()
                    ),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(i, url)| {
                    if let Some(Err(e)) = url.as_str().map(crate::text::UrlText::parse) {
                        return Err(invalid(name, format!("{name}[{i}] {e}")));
                    }
                    url.as_str()
                        .and_then(|u| ImageUrl::parse(u).ok())
                        .ok_or_else(|| {
                            invalid(name, format!("{name}[{i}] must be an http or https URL"))
                        })
                })
                .collect::<Result<_, _>>()
                .map(ParamValue::ImageUrls)
        }
        ParamKind::Choice { ty, values } => {
            let offered: Vec<String> = values
                .iter()
                .filter(|v| model.value_availability(spec, v).is_ok())
                .map(|v| v.value.to_string())
                .collect();
            let one_of = || {
                if offered.is_empty() {
                    invalid(
                        name,
                        format!("{name}: no value is offered for {}", model.id),
                    )
                } else {
                    invalid(
                        name,
                        format!("{name} must be one of {}", offered.join(", ")),
                    )
                }
            };
            if *ty == ScalarType::Integer && raw.is_string() && !field.by_alias {
                return Err(invalid(
                    name,
                    format!(
                        "{name} must be a number, not a string: one of {}",
                        offered.join(", ")
                    ),
                ));
            }
            let scalar = scalar(*ty, raw, field.by_alias).ok_or_else(one_of)?;
            let declared = values
                .iter()
                .find(|v| v.matches(&scalar))
                .ok_or_else(one_of)?;
            model.value_availability(spec, declared).map_err(|reason| {
                let message = match declared.reason.as_deref().filter(|_| !declared.enabled) {
                    // The catalog's reason for a value it keeps off is written for customers.
                    Some(why) => format!(
                        "{name} {scalar} is not available for {}: {why}; offered: {}",
                        model.id,
                        offered.join(", ")
                    ),
                    None => format!(
                        "{name} {scalar} is not offered for {} ({reason}); offered: {}",
                        model.id,
                        offered.join(", ")
                    ),
                };
                FieldError::new(name, ErrorCode::NotOffered, message)
            })?;
            // Stored in the value's own spelling, whichever spelling was sent.
            Ok(declared.value.clone().into())
        }
        ParamKind::IntegerRange { min, max } => match integer(raw, field.by_alias) {
            Some(i) if (min..=max).contains(&&i) => Ok(ParamValue::Integer(i)),
            _ => Err(invalid(
                name,
                format!("{name} must be a whole number from {min} to {max}"),
            )),
        },
        ParamKind::NumberRange { min, max } => {
            let number = raw.as_number().and_then(|n| {
                Decimal::from_str(&n.to_string())
                    .or_else(|_| Decimal::from_scientific(&n.to_string()))
                    .ok()
            });
            match number {
                Some(n) if (*min..=*max).contains(&n) => Ok(ParamValue::Number(n)),
                _ => Err(invalid(
                    name,
                    format!("{name} must be a number from {min} to {max}"),
                )),
            }
        }
    }
}

/// The first control character (other than tab and line breaks, which prompts may hold) in a
/// string value or a list of them: a NUL byte would be stored and forwarded upstream as is.
fn control_character(raw: &Value) -> Option<u32> {
    let bad = |s: &str| crate::text::control_character(s, true);
    match raw {
        Value::String(s) => bad(s),
        Value::Array(items) => items.iter().find_map(|item| item.as_str().and_then(bad)),
        _ => None,
    }
}

fn scalar(ty: ScalarType, raw: &Value, by_alias: bool) -> Option<Scalar> {
    match (ty, raw) {
        (ScalarType::String, Value::String(s)) => Some(Scalar::String(s.clone())),
        (ScalarType::Boolean, Value::Bool(b)) => Some(Scalar::Boolean(*b)),
        (ScalarType::Integer, raw) => integer(raw, by_alias).map(Scalar::Integer),
        _ => None,
    }
}

/// A JSON integer; or, under Kie's own name for the parameter (Sora's `n_frames`), Kie's
/// spelling of it, a string of digits (`"10"`). Under reelgate's names a number is a number:
/// `"duration": "5"` is a mistake of the caller's, refused.
fn integer(raw: &Value, by_alias: bool) -> Option<i64> {
    match raw {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if by_alias && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}
