//! A model's generation request as a JSON Schema, built from the same catalog data that
//! parses requests (`ModelView`), so the OpenAPI document's typed bodies follow the catalog:
//! a new model, parameter or value, or one the operator disables, changes the schema too.

use serde_json::{json, Map, Value};

use super::view::{ModelView, ParameterView};

/// The body of `POST /v1/generations` for `model`: its id as a constant (the discriminator),
/// the parameters a request may set, each with its allowed values or range, and
/// `webhook_url`. Anything else is refused by the API, so the schema refuses it too.
pub fn request_schema(model: &ModelView) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "model".into(),
        json!({"type": "string", "const": model.id.as_str(), "description": model.title}),
    );
    let mut required = vec![Value::from("model")];
    for parameter in model.parameters.iter().filter(|p| p.available) {
        properties.insert(parameter.name.clone(), parameter_schema(parameter));
        if parameter.required {
            required.push(Value::from(parameter.name.clone()));
        }
    }
    properties.insert(
        "webhook_url".into(),
        json!({"type": "string", "format": "uri",
               "description": "Where to POST the generation when it ends (signed per Standard Webhooks)"}),
    );
    json!({
        "type": "object",
        "title": model.title,
        "description": model.description,
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn parameter_schema(p: &ParameterView) -> Value {
    let mut schema = Map::new();
    let mut description = p.description.clone();
    schema.insert("type".into(), Value::from(p.kind));
    if p.kind == "array" {
        schema.insert(
            "items".into(),
            json!({"type": "string", "format": "uri", "description": "an http(s) image URL"}),
        );
    }
    if let Some(values) = &p.values {
        let offered: Vec<&super::view::ValueView> = values.iter().filter(|v| v.available).collect();
        schema.insert(
            "enum".into(),
            Value::Array(offered.iter().map(|v| v.value.clone()).collect()),
        );
        let explained: Vec<String> = offered
            .iter()
            .filter_map(|v| {
                let text = v.description.as_deref()?;
                let value = v
                    .value
                    .as_str()
                    .map_or_else(|| v.value.to_string(), str::to_owned);
                Some(format!("`{value}`: {text}"))
            })
            .collect();
        if !explained.is_empty() {
            description = format!("{description} ({})", explained.join("; "));
        }
    }
    let bounds = [
        ("minimum", p.minimum.clone()),
        ("maximum", p.maximum.clone()),
        ("maxLength", p.max_length.map(Value::from)),
        ("minItems", p.min_items.map(Value::from)),
        ("maxItems", p.max_items.map(Value::from)),
        ("default", p.default.clone()),
    ];
    for (name, value) in bounds {
        if let Some(value) = value {
            schema.insert(name.into(), value);
        }
    }
    if let Some(images) = p.requires_images {
        description = format!("{description} Accepted only with at least {images} image URLs.");
    }
    schema.insert("description".into(), Value::from(description.trim()));
    Value::Object(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn schema_of(id: &str) -> Value {
        let catalog = Catalog::builtin().unwrap();
        let model = catalog
            .view()
            .into_iter()
            .find(|m| m.id.as_str() == id)
            .unwrap();
        request_schema(&model)
    }

    #[test]
    fn the_model_id_is_a_constant_and_prompt_is_required() {
        let schema = schema_of("kling-2.6/text-to-video");
        assert_eq!(
            schema["properties"]["model"]["const"],
            "kling-2.6/text-to-video"
        );
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, ["model", "prompt"]);
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn only_offered_values_and_parameters_appear() {
        let schema = schema_of("kling-2.6/text-to-video");
        assert_eq!(
            schema["properties"]["duration"]["enum"],
            json!([5, 10]),
            "{schema:#}"
        );
        // Kie's Kling 2.6 API takes no negative prompt, so neither does the schema.
        assert!(schema["properties"].get("negative_prompt").is_none());
        let veo = schema_of("veo3-fast");
        assert_eq!(
            veo["properties"]["aspect_ratio"]["enum"],
            json!(["16:9", "9:16", "auto"]),
            "1:1 is listed but not offered; Kie's Auto is offered as auto"
        );
        assert_eq!(veo["properties"]["image_urls"]["type"], "array");
    }
}
