//! The OpenAPI document as third-party tools read it: `openapi-spec-validator` must accept
//! it, the generation body is typed per model from the catalog, and the webhooks are
//! described. (The generated Python client is driven in `openapi_client.rs`.)

use crate::helpers::{json, TestApp};
use std::path::PathBuf;

/// A Python tool of the workspace's `.venv` (made by `scripts/pyenv.sh`). Missing tools fail
/// the test: a check that silently does not run is worse than none.
pub fn venv_tool(name: &str) -> PathBuf {
    reelgate_store::testing::python_tool(name)
}

/// The served document, written to a file in `dir`.
pub async fn document_file(app: &TestApp, dir: &std::path::Path) -> PathBuf {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let path = dir.join("openapi.json");
    std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_passes_openapi_spec_validator() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = document_file(&app, dir.path()).await;
    let output = std::process::Command::new(venv_tool("openapi-spec-validator"))
        .arg("--validation-errors")
        .arg("all")
        .arg(&file)
        .output()
        .expect("openapi-spec-validator runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the validator refused it:\n{said}");
    assert!(said.contains("OK"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_ids_are_unique_and_query_parameters_are_in_the_query() {
    let app = TestApp::spawn().await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            ids.push(operation["operationId"].as_str().unwrap().to_owned());
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    let name = parameter["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: `{name}` is declared in the path but is not in it"
                    );
                }
            }
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicate operationIds among {ids:?}");
    let margin = &doc["paths"]["/v1/admin/reports/margin"]["get"]["parameters"];
    assert!(margin
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "format" && p["in"] == "query"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generation_body_is_one_typed_schema_per_offered_model() {
    let app = TestApp::spawn().await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    let (_, models) = json(app.get("/v1/models").await).await;
    let offered: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["available"] == true)
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let body = &doc["paths"]["/v1/generations"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/GenerationRequest");
    let request = &doc["components"]["schemas"]["GenerationRequest"];
    let mapping = request["discriminator"]["mapping"].as_object().unwrap();
    let mut mapped: Vec<&str> = mapping.keys().map(String::as_str).collect();
    mapped.sort();
    let mut expected = offered.clone();
    expected.sort();
    assert_eq!(mapped, expected, "one variant per offered model");
    assert_eq!(request["oneOf"].as_array().unwrap().len(), offered.len());
    // Each variant says what the catalog says of its model.
    let kling = mapping["kling-2.6/text-to-video"].as_str().unwrap();
    let kling = &doc["components"]["schemas"][kling.rsplit('/').next().unwrap()];
    assert_eq!(
        kling["properties"]["model"]["const"],
        "kling-2.6/text-to-video"
    );
    assert_eq!(
        kling["properties"]["duration"]["enum"],
        serde_json::json!([5, 10])
    );
    assert_eq!(kling["properties"]["sound"]["type"], "boolean");
    assert!(kling["required"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("prompt")));
    let quote =
        &doc["paths"]["/v1/quote"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(quote["$ref"], "#/components/schemas/GenerationRequest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_are_documented_with_their_signature_headers() {
    let app = TestApp::spawn().await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    let webhooks = doc["webhooks"].as_object().expect("a webhooks section");
    for event in [
        "generation.succeeded",
        "generation.failed",
        "generation.canceled",
        "generation.videos_updated",
    ] {
        let post = &webhooks[event]["post"];
        let headers: Vec<&str> = post["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header" && p["required"] == true)
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            headers,
            ["webhook-id", "webhook-timestamp", "webhook-signature"],
            "{event}"
        );
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/WebhookEvent"
        );
    }
    let event = serde_json::to_string(&doc["components"]["schemas"]["WebhookEvent"]).unwrap();
    assert!(
        event.contains("#/components/schemas/GenerationView"),
        "{event}"
    );
    let types = serde_json::to_string(&doc["components"]["schemas"]["EventType"]).unwrap();
    for event in [
        "generation.succeeded",
        "generation.failed",
        "generation.canceled",
        "generation.videos_updated",
    ] {
        assert!(types.contains(&format!("\"{event}\"")), "{types}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_documents_its_error_answers() {
    let app = TestApp::spawn().await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    let ops = [
        ("/v1/generations", "post", &["400", "401", "402", "409"][..]),
        ("/v1/generations/{id}", "get", &["401", "404"][..]),
        ("/v1/admin/generations", "get", &["400", "401", "403"][..]),
        ("/v1/admin/prices", "get", &["401", "403"][..]),
    ];
    for (path, method, statuses) in ops {
        let responses = &doc["paths"][path][method]["responses"];
        for status in statuses {
            assert_eq!(
                responses[status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorEnvelope",
                "{method} {path} {status}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_and_unknown_routes_answer_in_the_envelope() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/v1/models"),
        (reqwest::Method::GET, "/v1/quote"),
        (reqwest::Method::PUT, "/v1/generations"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert!(
            response.headers().contains_key("allow"),
            "{method} {path}: Allow says which methods it takes"
        );
        let (_, body) = json(response).await;
        assert_eq!(
            body["error"]["code"], "method_not_allowed",
            "{method} {path}: {body}"
        );
    }
    let (status, body) = json(app.get("/v1/no-such-thing").await).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}
