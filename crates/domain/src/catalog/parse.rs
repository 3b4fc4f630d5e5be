//! Parsing a request body into a `GenerationRequest`, or into every field error it has.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

use super::field_error::{ErrorCode, FieldError, FieldErrors};
use super::request::GenerationRequest;
use super::spec::{ModelSpec, ParamKind, ParamSpec, Scalar, ScalarType};
use super::upstream::translate;
use super::value::{ImageUrl, ParamValue};
use super::Catalog;
use crate::pricing::{Combination, Quote};

type Params = BTreeMap<String, ParamValue>;

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
        let mut values = Params::new();
        let mut errors = Vec::new();
        for (name, raw) in params {
            // `null` means "not given", as most JSON clients write an unset optional field —
            // of a parameter the model has; an unknown name is a mistake however it is set.
            if raw.is_null() && spec.param(name).is_some() {
                continue;
            }
            if let Some(c) = control_character(raw) {
                errors.push(FieldError::new(
                    name,
                    ErrorCode::InvalidParameter,
                    format!("{name} must not contain control characters (found U+{c:04X})"),
                ));
                continue;
            }
            match spec.param(name) {
                None => errors.push(FieldError::new(
                    name,
                    ErrorCode::UnknownParameter,
                    format!("{model} does not take {name}"),
                )),
                // A parameter customers may not set still takes its own default, so that the
                // `params` of a stored generation (defaults filled in) read back.
                Some(p) if !p.enabled && !is_default(spec, p, raw) => errors.push(FieldError::new(
                    name,
                    ErrorCode::ParameterDisabled,
                    format!(
                        "{name} is not available for {model}{}",
                        p.reason
                            .as_ref()
                            .map_or(String::new(), |r| format!(": {r}"))
                    ),
                )),
                Some(p) => match value(spec, p, raw) {
                    Ok(v) => {
                        values.insert(name.clone(), v);
                    }
                    Err(e) => errors.push(e),
                },
            }
        }
        fill_defaults(spec, params, &mut values, &mut errors);
        if let Some(errors) = FieldErrors::from_vec(errors) {
            return Err(errors);
        }
        let quote = quote(spec, &values, params)?;
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

fn is_default(model: &ModelSpec, spec: &ParamSpec, raw: &Value) -> bool {
    spec.default
        .as_ref()
        .is_some_and(|default| value(model, spec, raw).as_ref() == Ok(default))
}

fn image_count(values: &Params) -> usize {
    values
        .values()
        .map(|v| match v {
            ParamValue::ImageUrls(urls) => urls.len(),
            _ => 0,
        })
        .sum()
}

/// Fills in defaults, and reports what is missing or needs more images. Parameters given but
/// refused have their error already.
fn fill_defaults(
    spec: &ModelSpec,
    given: &Map<String, Value>,
    values: &mut Params,
    errors: &mut Vec<FieldError>,
) {
    let images = image_count(values);
    let is_given = |name: &str| given.get(name).is_some_and(|v| !v.is_null());
    for p in &spec.params {
        let allowed_by_images = p.requires_images.is_none_or(|n| images >= n);
        if values.contains_key(&p.name) {
            if !allowed_by_images {
                let n = p.requires_images.unwrap_or_default();
                errors.push(FieldError::new(
                    &p.name,
                    ErrorCode::InvalidParameter,
                    format!("{} needs at least {n} image_urls", p.name),
                ));
            }
        } else if is_given(&p.name) {
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

fn quote(
    spec: &ModelSpec,
    values: &Params,
    given: &Map<String, Value>,
) -> Result<Quote, FieldErrors> {
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
                .find(|p| given.contains_key(&p.name))
                .or(priced.first())
                .map_or("model", |p| p.name.as_str());
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

fn value(model: &ModelSpec, spec: &ParamSpec, raw: &Value) -> Result<ParamValue, FieldError> {
    let name = spec.name.as_str();
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
        ParamKind::ImageUrls { min, max } => {
            let list = raw
                .as_array()
                .ok_or_else(|| invalid(name, format!("{name} must be a list of http(s) URLs")))?;
            if list.len() < *min || list.len() > *max {
                let count = if min == max {
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
            let scalar = scalar(*ty, raw).ok_or_else(one_of)?;
            let declared = values
                .iter()
                .find(|v| v.value == scalar)
                .ok_or_else(one_of)?;
            model.value_availability(spec, declared).map_err(|reason| {
                FieldError::new(
                    name,
                    ErrorCode::NotOffered,
                    format!(
                        "{name} {scalar} is not offered for {} ({reason}); offered: {}",
                        model.id,
                        offered.join(", ")
                    ),
                )
            })?;
            Ok(scalar.into())
        }
        ParamKind::IntegerRange { min, max } => match integer(raw) {
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
    let bad = |s: &str| {
        s.chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            .map(u32::from)
    };
    match raw {
        Value::String(s) => bad(s),
        Value::Array(items) => items.iter().find_map(|item| item.as_str().and_then(bad)),
        _ => None,
    }
}

fn scalar(ty: ScalarType, raw: &Value) -> Option<Scalar> {
    match (ty, raw) {
        (ScalarType::String, Value::String(s)) => Some(Scalar::String(s.clone())),
        (ScalarType::Boolean, Value::Bool(b)) => Some(Scalar::Boolean(*b)),
        (ScalarType::Integer, raw) => integer(raw).map(Scalar::Integer),
        _ => None,
    }
}

/// A JSON integer, or a string of digits (`"5"`): both mean seconds, counts and the like.
fn integer(raw: &Value) -> Option<i64> {
    match raw {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}
