//! The catalog as customers see it (`GET /v1/models`): every model, each parameter's schema and
//! whether it is offered, and the price of every offered combination. Upstream costs stay out.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::spec::{ModelId, ModelSpec, ParamKind, ParamSpec, Scalar, ScalarType, VideoMode};
use super::value::ParamValue;
use crate::Credits;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ModelView {
    pub id: ModelId,
    pub family: String,
    pub title: String,
    pub description: String,
    pub mode: VideoMode,
    pub available: bool,
    /// Why the model is not offered, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub parameters: Vec<ParameterView>,
    /// The price of every offered combination of the parameters that change the price.
    pub prices: Vec<PriceView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ParameterView {
    pub name: String,
    /// `string`, `integer`, `boolean`, `number`, or `array` (of http(s) image URLs).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
    pub required: bool,
    /// Used when the request leaves the parameter out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Whether a request may set it.
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether its value changes the price.
    pub priced: bool,
    /// The allowed values, for a parameter that takes one of a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<ValueView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<Value>,
    /// In characters, after trimming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_items: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
    /// Accepted only with at least this many image URLs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_images: Option<usize>,
    /// Other names it is accepted under (the business's notes', Kie's); `name` is preferred,
    /// and a stored generation uses it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ValueView {
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Other spellings accepted for it; `value` is preferred, and a stored generation uses it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Value>,
    /// With this value, the request takes this many image URLs (fewest, most).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_images: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_images: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PriceView {
    /// One value of each priced parameter (empty when the model has one price).
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    #[schema(value_type = i64)]
    pub credits: Credits,
}

impl ModelView {
    pub fn of(model: &ModelSpec) -> Self {
        let availability = model.availability();
        ModelView {
            id: model.id.clone(),
            family: model.family.clone(),
            title: model.title.clone(),
            description: model.description.clone(),
            mode: model.mode,
            available: availability.is_ok(),
            reason: availability.err(),
            parameters: model.params.iter().map(|p| parameter(model, p)).collect(),
            prices: model
                .prices
                .iter()
                .filter_map(|point| {
                    let price = point.price.as_ref().ok()?;
                    Some(PriceView {
                        params: point.combination.to_json(),
                        credits: price.credits,
                    })
                })
                .collect(),
        }
    }
}

fn parameter(model: &ModelSpec, p: &ParamSpec) -> ParameterView {
    let mut view = ParameterView {
        name: p.name.clone(),
        kind: "string",
        description: p.description.clone(),
        required: p.required,
        default: p.default.as_ref().map(ParamValue::to_json),
        available: p.enabled,
        reason: (!p.enabled).then(|| p.reason.clone().unwrap_or_else(|| "disabled".into())),
        priced: p.priced,
        values: None,
        minimum: None,
        maximum: None,
        max_length: None,
        min_items: None,
        max_items: None,
        requires_images: p.requires_images,
        aliases: p.aliases.clone(),
    };
    match &p.kind {
        ParamKind::Text { max_chars } => view.max_length = Some(*max_chars),
        ParamKind::ImageUrls { min, max } => {
            view.kind = "array";
            view.min_items = Some(*min);
            view.max_items = Some(*max);
        }
        ParamKind::Choice { ty, values } => {
            view.kind = match ty {
                ScalarType::String => "string",
                ScalarType::Integer => "integer",
                ScalarType::Boolean => "boolean",
            };
            view.values = Some(
                values
                    .iter()
                    .map(|v| {
                        let availability = model.value_availability(p, v);
                        ValueView {
                            value: v.value.to_json(),
                            description: v.description.clone(),
                            available: availability.is_ok(),
                            reason: availability.err(),
                            aliases: v.aliases.iter().map(Scalar::to_json).collect(),
                            min_images: v.images.map(|(low, _)| low),
                            max_images: v.images.map(|(_, high)| high),
                        }
                    })
                    .collect(),
            );
        }
        ParamKind::IntegerRange { min, max } => {
            view.kind = "integer";
            view.minimum = Some((*min).into());
            view.maximum = Some((*max).into());
        }
        ParamKind::NumberRange { min, max } => {
            view.kind = "number";
            view.minimum = Some(ParamValue::Number(*min).to_json());
            view.maximum = Some(ParamValue::Number(*max).to_json());
        }
    }
    view
}
