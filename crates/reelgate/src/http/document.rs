//! The parts of the OpenAPI document that come from data rather than from the routes'
//! attributes: the typed generation request (a `oneOf` over the catalog's models, from the
//! catalog loaded at start) and the `webhooks` section (utoipa 5 has no field for it).

use reelgate_domain::catalog::{request_schema, Catalog};
use serde_json::{json, Map, Value};

use crate::webhooks::event::EventType;

/// The name of the request body schema, and of each model's variant.
const REQUEST: &str = "GenerationRequest";

/// The finished document: `openapi` (from the routes) with the catalog's request bodies and
/// the webhooks. Built once at start.
pub fn complete(openapi: &utoipa::openapi::OpenApi, catalog: &Catalog) -> Value {
    // Serialising utoipa's own types cannot fail: they are plain strings, maps and numbers.
    let mut document = serde_json::to_value(openapi).unwrap_or_else(|_| json!({}));
    // utoipa always writes `components.schemas` here: the routes name their bodies.
    let schemas = &mut document["components"]["schemas"];
    let mut variants = Vec::new();
    let mut mapping = Map::new();
    for model in catalog.view().iter().filter(|m| m.available) {
        let name = schema_name(model.id.as_str(), schemas);
        let reference = format!("#/components/schemas/{name}");
        schemas[&name] = request_schema(model);
        variants.push(json!({"$ref": reference}));
        mapping.insert(model.id.as_str().to_owned(), Value::from(reference));
    }
    schemas[REQUEST] = json!({
        "description": "A generation request: `model` names a model of `GET /v1/models`; the other fields are that model's parameters.",
        "oneOf": variants,
        "discriminator": {"propertyName": "model", "mapping": mapping},
    });
    let body = json!({"$ref": format!("#/components/schemas/{REQUEST}")});
    for path in ["/v1/generations", "/v1/quote"] {
        let pointer = format!(
            "/paths/{}/post/requestBody/content/application~1json",
            path.replace('/', "~1")
        );
        if let Some(content) = document
            .pointer_mut(&pointer)
            .and_then(Value::as_object_mut)
        {
            content.insert("schema".into(), body.clone());
        }
    }
    binary_bodies(&mut document["paths"]);
    document["webhooks"] = webhooks();
    document
}

/// Videos and posters are bytes: say so (`format: binary`), or generated clients drop the
/// operation's answer (openapi-python-client did) for lack of a schema.
fn binary_bodies(paths: &mut Value) {
    let Some(paths) = paths.as_object_mut() else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        let responses = item
            .values_mut()
            .filter_map(|operation| operation.get_mut("responses"))
            .filter_map(Value::as_object_mut)
            .flat_map(|responses| responses.values_mut());
        for response in responses {
            let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
                continue;
            };
            for (media_type, body) in content.iter_mut() {
                let bytes = media_type.starts_with("video/") || media_type.starts_with("image/");
                if let (true, Some(body)) = (bytes, body.as_object_mut()) {
                    body.entry("schema")
                        .or_insert_with(|| json!({"type": "string", "format": "binary"}));
                }
            }
        }
    }
}

/// `kling-2.6/text-to-video` → `Kling26TextToVideoRequest`; a numbered suffix if two ids
/// would make the same name.
fn schema_name(id: &str, taken: &Value) -> String {
    let base: String = id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    let mut name = format!("{base}Request");
    let mut n = 2;
    while taken.get(&name).is_some() {
        name = format!("{base}Request{n}");
        n += 1;
    }
    name
}

fn header(name: &str, description: &str, example: &str) -> Value {
    json!({"name": name, "in": "header", "required": true, "description": description,
           "schema": {"type": "string"}, "example": example})
}

/// One entry per event type, each a POST to the request's `webhook_url`.
fn webhooks() -> Value {
    let parameters = json!([
        header("webhook-id", "The delivery's id, the same on every retry: use it to ignore a delivery seen before", "msg_01jd6m5x7k3c9v2b8n4q0w1e2r"),
        header("webhook-timestamp", "Seconds since the epoch when this attempt was signed; refuse ones far from now", "1764583200"),
        header("webhook-signature", "`v1,` and the base64 HMAC-SHA256, with the key of your webhook secret (`whsec_…`, on the account page and at GET /v1/account/webhook-secret), of `{webhook-id}.{webhook-timestamp}.{body}`", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
    ]);
    let mut hooks = Map::new();
    for event in EventType::ALL {
        hooks.insert(
            event.as_str().to_owned(),
            json!({"post": {
                "operationId": format!("webhook_{}", event.as_str().replace('.', "_")),
                "summary": event.summary(),
                "description": format!("Sent to the request's `webhook_url` with `type` = `{}`. Retried with backoff for a day until your endpoint answers 2xx.", event.as_str()),
                "tags": ["webhooks"],
                "parameters": parameters,
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/WebhookEvent"}}}},
                "responses": {
                    "2XX": {"description": "Received: no more attempts"},
                    "default": {"description": "Anything else: tried again later"},
                },
            }}),
        );
    }
    Value::Object(hooks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_become_distinct_schema_names() {
        let mut taken = json!({});
        let first = schema_name("kling-2.6/text-to-video", &taken);
        assert_eq!(first, "Kling26TextToVideoRequest");
        taken[&first] = json!({});
        assert_eq!(
            schema_name("kling-26/text-to-video", &taken),
            "Kling26TextToVideoRequest2"
        );
        assert_eq!(schema_name("veo3-fast", &taken), "Veo3FastRequest");
    }
}
