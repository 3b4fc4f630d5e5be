//! A simulator on a real port, a reqwest client speaking to it as reelgate would, and a small
//! callback receiver.
#![allow(dead_code)] // each test file uses its own share of these helpers

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use kie_sim::{spawn, Faults, RunningSim, SimConfig};
use serde_json::{json, Value};

pub const KEY: &str = "test-key-not-a-secret";
pub const IMG: &str = "https://images.example/cat.png";
pub const ASSET_720P: &[u8] = include_bytes!("../../assets/sample-720p.mp4");
pub const ASSET_1080P: &[u8] = include_bytes!("../../assets/sample-1080p.mp4");

/// The envelope of an answer, whatever its HTTP status.
pub async fn answer(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

/// The test configuration with some faults switched on.
pub fn with_faults(faults: Faults) -> SimConfig {
    SimConfig {
        faults,
        ..SimConfig::for_tests()
    }
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub struct TestSim {
    pub running: RunningSim,
    pub client: reqwest::Client,
}

impl TestSim {
    pub async fn start(config: SimConfig) -> Self {
        let running = spawn(config, any_port()).await.unwrap();
        Self {
            running,
            client: reqwest::Client::new(),
        }
    }

    pub async fn for_tests() -> Self {
        Self::start(SimConfig::for_tests()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    pub fn sim(&self) -> &kie_sim::Simulator {
        &self.running.sim
    }

    /// POSTs JSON with the API key; the envelope, whatever the HTTP status.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        answer(self.client.post(self.url(path)).bearer_auth(KEY).json(body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        answer(self.client.get(self.url(path)).bearer_auth(KEY)).await
    }

    /// Creates a jobs-API task and returns its id, failing the test on any other answer.
    pub async fn create_task(&self, body: Value) -> String {
        let env = self.post("/api/v1/jobs/createTask", &body).await;
        assert_eq!(env["code"], 200, "{env}");
        env["data"]["taskId"].as_str().unwrap().to_owned()
    }

    pub async fn create_veo(&self, body: Value) -> String {
        let env = self.post("/api/v1/veo/generate", &body).await;
        assert_eq!(env["code"], 200, "{env}");
        env["data"]["taskId"].as_str().unwrap().to_owned()
    }

    pub async fn job_record(&self, id: &str) -> Value {
        let env = self
            .get(&format!("/api/v1/jobs/recordInfo?taskId={id}"))
            .await;
        assert_eq!(env["code"], 200, "{env}");
        env["data"].clone()
    }

    pub async fn veo_record(&self, id: &str) -> Value {
        let env = self
            .get(&format!("/api/v1/veo/record-info?taskId={id}"))
            .await;
        assert_eq!(env["code"], 200, "{env}");
        env["data"].clone()
    }

    /// Polls a jobs task until `success` or `fail`.
    pub async fn finished_job(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let rec = self.job_record(id).await;
            if matches!(rec["state"].as_str(), Some("success" | "fail")) {
                return rec;
            }
            assert!(Instant::now() < deadline, "task {id} never finished: {rec}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls a Veo task until its successFlag leaves 0.
    pub async fn finished_veo(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let rec = self.veo_record(id).await;
            if rec["successFlag"] != 0 {
                return rec;
            }
            assert!(Instant::now() < deadline, "task {id} never finished: {rec}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn download(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }
}

/// The `resultUrls` of a finished jobs record (its `resultJson` is a JSON string).
pub fn job_result_urls(record: &Value) -> Vec<String> {
    let inner: Value = serde_json::from_str(record["resultJson"].as_str().unwrap()).unwrap();
    inner["resultUrls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect()
}

/// A body per model variant that Kie accepts, with a callback URL when one is given.
pub fn job_body(model: &str, callback: Option<&str>) -> Value {
    let input = match model {
        "sora-2-text-to-video" => {
            json!({"prompt": "a lighthouse", "aspect_ratio": "landscape", "n_frames": "10"})
        }
        "sora-2-image-to-video" => {
            json!({"prompt": "a lighthouse", "image_urls": [IMG], "n_frames": "15"})
        }
        "sora-2-pro-text-to-video" => {
            json!({"prompt": "a lighthouse", "size": "high", "n_frames": "10"})
        }
        "sora-2-pro-image-to-video" => {
            json!({"prompt": "a lighthouse", "image_urls": [IMG], "size": "standard"})
        }
        "kling-2.6/text-to-video" => {
            json!({"prompt": "a fox", "sound": false, "aspect_ratio": "16:9", "duration": "5"})
        }
        "kling-2.6/image-to-video" => {
            json!({"prompt": "a fox", "sound": true, "duration": "10", "image_urls": [IMG]})
        }
        "grok-imagine/text-to-video" => {
            json!({"prompt": "a cat", "aspect_ratio": "2:3", "mode": "normal", "resolution": "480p", "duration": 6})
        }
        "grok-imagine/image-to-video" => {
            json!({"image_urls": [IMG], "mode": "fun", "resolution": "480p", "duration": "6"})
        }
        other => panic!("no body for {other}"),
    };
    let mut body = json!({"model": model, "input": input});
    if let Some(cb) = callback {
        body["callBackUrl"] = json!(cb);
    }
    body
}

pub const JOB_MODELS: [&str; 8] = [
    "sora-2-text-to-video",
    "sora-2-image-to-video",
    "sora-2-pro-text-to-video",
    "sora-2-pro-image-to-video",
    "kling-2.6/text-to-video",
    "kling-2.6/image-to-video",
    "grok-imagine/text-to-video",
    "grok-imagine/image-to-video",
];

/// Callbacks received so far: the URL's token and the body.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// Records every POST to `/cb/{token}` and answers with a chosen status.
#[derive(Clone)]
pub struct Receiver {
    pub base_url: String,
    got: Received,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::answering(StatusCode::OK).await
    }

    pub async fn answering(status: StatusCode) -> Self {
        let got: Received = Arc::default();
        let app = Router::new()
            .route(
                "/cb/{token}",
                post(
                    move |State(got): State<Received>,
                          Path(token): Path<String>,
                          Json(body): Json<Value>| async move {
                        got.lock().unwrap().push((token, body));
                        status
                    },
                ),
            )
            .with_state(got.clone());
        let listener = tokio::net::TcpListener::bind(any_port()).await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, got }
    }

    pub fn url(&self, token: &str) -> String {
        format!("{}/cb/{token}", self.base_url)
    }

    pub fn received(&self) -> Vec<(String, Value)> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until at least `n` callbacks have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<(String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} callbacks arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
