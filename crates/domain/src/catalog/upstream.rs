//! A valid request in Kie's wire format: the catalog data says which wire field and wire value
//! each parameter becomes; the endpoint decides the body's shape.

use kie::{TaskInput, TaskRequest, VeoGenerateRequest};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::spec::{Endpoint, ModelSpec, ParamKind, ParamSpec};
use super::value::ParamValue;

/// The body of Kie's create request for one generation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum UpstreamRequest {
    /// `POST /api/v1/veo/generate`.
    Veo(VeoGenerateRequest),
    /// `POST /api/v1/jobs/createTask`.
    Task(TaskRequest),
}

impl UpstreamRequest {
    pub fn with_callback(mut self, callback_url: Option<String>) -> Self {
        match &mut self {
            UpstreamRequest::Veo(body) => body.call_back_url = callback_url,
            UpstreamRequest::Task(body) => body.call_back_url = callback_url,
        }
        self
    }

    pub fn to_json(&self) -> Value {
        match self {
            UpstreamRequest::Veo(body) => serde_json::to_value(body),
            UpstreamRequest::Task(body) => serde_json::to_value(body),
        }
        // Both bodies are maps of strings, numbers and booleans: serialising cannot fail.
        .unwrap_or(Value::Null)
    }
}

/// Only called with params the catalog validated against `model`, which the catalog's loader
/// checked fit the endpoint (a Veo model always has a prompt and a ratio with a default). Veo's
/// `resolution` is left out of the body: it decides the upgrade asked for after success.
pub(crate) fn translate(
    model: &ModelSpec,
    params: &BTreeMap<String, ParamValue>,
) -> UpstreamRequest {
    let mut wire = Map::new();
    for spec in &model.params {
        if let Some(value) = params.get(&spec.name) {
            wire.insert(spec.wire_field.clone(), wire_value(spec, value));
        }
    }
    match &model.endpoint {
        Endpoint::Veo { model, ratio_field } => {
            let mut text = |field: &str| match wire.remove(field) {
                Some(Value::String(s)) => Some(s),
                _ => None,
            };
            let prompt = text("prompt").unwrap_or_default();
            let aspect_ratio = text(ratio_field.wire_name()).unwrap_or_default();
            let generation_type = text("generationType");
            let watermark = text("watermark");
            let enable_translation = wire.remove("enableTranslation").and_then(|v| v.as_bool());
            let image_urls = match wire.remove("imageUrls") {
                Some(Value::Array(urls)) => urls
                    .into_iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            UpstreamRequest::Veo(VeoGenerateRequest {
                prompt,
                image_urls,
                model: *model,
                aspect_ratio,
                aspect_ratio_field: *ratio_field,
                generation_type,
                watermark,
                enable_translation,
                call_back_url: None,
            })
        }
        Endpoint::Jobs { model } => UpstreamRequest::Task(TaskRequest {
            model: model.clone(),
            call_back_url: None,
            input: TaskInput(wire),
        }),
    }
}

fn wire_value(spec: &ParamSpec, value: &ParamValue) -> Value {
    if let (ParamKind::Choice { values, .. }, Some(scalar)) = (&spec.kind, value.as_scalar()) {
        if let Some(v) = values.iter().find(|v| v.value == scalar) {
            return v.wire.clone();
        }
    }
    value.to_json()
}
