use reelgate::app::Application;
use reelgate::config::{Config, Settings};
use serde_json::{json, Value};

use crate::helpers::{json, TestApp};

async fn quote(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/v1/quote"))
        .json(&body)
        .send()
        .await
        .unwrap();
    json(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_lists_every_variant_with_its_parameters_and_prices() {
    let app = TestApp::spawn().await;
    let (status, body) = json(app.get("/v1/models").await).await;
    assert_eq!(status, 200);
    let models = body["models"].as_array().unwrap();
    assert_eq!(models.len(), 11, "the seed's ten and Veo 3.1 Lite");
    let kling = models
        .iter()
        .find(|m| m["id"] == "kling-2.6/text-to-video")
        .unwrap();
    assert_eq!(kling["mode"], "text-to-video");
    assert_eq!(kling["available"], true);
    let duration = kling["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "duration")
        .unwrap();
    assert_eq!(duration["type"], "integer");
    assert_eq!(duration["default"], 5);
    assert_eq!(duration["priced"], true);
    let values: Vec<&Value> = duration["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["value"])
        .collect();
    assert_eq!(values, [&json!(5), &json!(10)]);
    let prompt = kling["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "prompt")
        .unwrap();
    assert_eq!(
        (prompt["required"].clone(), prompt["max_length"].clone()),
        (json!(true), json!(1000))
    );
    let credits: Vec<i64> = kling["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["credits"].as_i64().unwrap())
        .collect();
    assert_eq!(credits, [45, 90, 90, 180]);
    assert!(
        !body.to_string().contains("cost"),
        "customers never see the upstream cost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_prices_a_request_and_charges_nothing() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 100).await;
    let request = json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
        "duration": 10, "sound": true, "webhook_url": "https://customer.example/hooks/video"});
    let (status, body) = json(app.post_as(&key, "/v1/quote", request.clone()).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "kling-2.6/text-to-video");
    assert_eq!(body["credits"], 180);
    assert_eq!(
        body["params"],
        json!({"prompt": "a red fox running through snow", "aspect_ratio": "16:9", "duration": 10, "sound": true})
    );
    let (_, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(
        (account["balance"].clone(), account["held"].clone()),
        (json!(100), json!(0))
    );
    // No account needed.
    assert_eq!(quote(&app, request).await.1["credits"], 180);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_match_the_seed_price_table() {
    let app = TestApp::spawn().await;
    let rows = [
        (json!({"model": "veo3-fast", "prompt": "p"}), 50),
        (
            json!({"model": "grok-imagine/image-to-video", "image_urls": ["https://img.example/a.png"]}),
            15,
        ),
        (
            json!({"model": "sora-2-image-to-video", "prompt": "p", "image_urls": ["https://img.example/a.png"], "n_frames": "15"}),
            220,
        ),
        (
            json!({"model": "sora-2-pro-text-to-video", "prompt": "p", "duration": 15}),
            510,
        ),
    ];
    for (request, credits) in rows {
        let (status, body) = quote(&app, request.clone()).await;
        assert_eq!(
            (status, body["credits"].clone()),
            (200, json!(credits)),
            "{request}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_quote_names_the_field() {
    let app = TestApp::spawn().await;
    let (status, body) = quote(
        &app,
        json!({"model": "veo3-fast", "prompt": "p", "aspect_ratio": "4:3"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": {"code": "invalid_parameter", "message": "aspect_ratio must be one of 16:9, 9:16, auto", "field": "aspect_ratio"}})
    );
    let (status, body) = quote(&app, json!({"model": "veo4", "prompt": "p"})).await;
    assert_eq!(
        (
            status,
            body["error"]["code"].clone(),
            body["error"]["field"].clone()
        ),
        (400, json!("unknown_model"), json!("model"))
    );
    let (status, body) = quote(
        &app,
        json!({"model": "kling-2.6/text-to-video", "duration": 7}),
    )
    .await;
    assert_eq!(status, 400);
    let fields: Vec<&Value> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["field"])
        .collect();
    assert_eq!(fields, [&json!("duration"), &json!("prompt")]);
    let (status, body) = quote(&app, json!(["veo3"])).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("invalid_json"))
    );
}

fn pricing_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("pricing.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_pricing_file_sets_the_prices() {
    let dir = tempfile::tempdir().unwrap();
    let file = pricing_file(
        &dir,
        "[[models.veo3-fast.costs]]\nwhen = { resolution = \"720p\" }\ncredits = 40\n\n[models.veo3]\nenabled = false\n",
    );
    let app = TestApp::spawn_with(Settings::default().with("REELGATE_PRICING_FILE", file)).await;
    assert_eq!(
        quote(&app, json!({"model": "veo3-fast", "prompt": "p"}))
            .await
            .1["credits"],
        40
    );
    let (status, body) = quote(&app, json!({"model": "veo3", "prompt": "p"})).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("not_offered"))
    );
    let (_, catalog) = json(app.get("/v1/models").await).await;
    let veo3 = catalog["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "veo3")
        .unwrap();
    assert_eq!(
        (veo3["available"].clone(), veo3["reason"].clone()),
        (json!(false), json!("disabled"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_pricing_file_stops_start_up_naming_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = pricing_file(&dir, "[pricing]\nstep = 0\n");
    let settings = Settings::default()
        .with("REELGATE_PRICING_FILE", file)
        .with(
            "REELGATE_DATABASE_URL",
            format!("sqlite://{}/reelgate.db", dir.path().display()),
        )
        .with("REELGATE_LISTEN", "127.0.0.1:0");
    let config = Config::from_settings(&settings).unwrap();
    let Err(error) = Application::build(config).await else {
        panic!("started with a broken pricing file");
    };
    let message = error.to_string();
    assert!(message.starts_with("REELGATE_PRICING_FILE:"), "{message}");
    assert!(message.contains("line 2, `pricing.step`"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_the_catalog_routes() {
    let app = TestApp::spawn().await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    assert!(doc["paths"]["/v1/models"]["get"].is_object());
    assert!(doc["paths"]["/v1/quote"]["post"]["requestBody"].is_object());
    assert!(doc["components"]["schemas"]["ModelView"].is_object());
}
