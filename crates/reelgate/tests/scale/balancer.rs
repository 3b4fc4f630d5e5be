//! A small load balancer in front of the instances, as REELGATE_PUBLIC_URL: Kie's callbacks
//! reach whichever instance it picks, and one that does not answer is skipped, as a reverse
//! proxy with passive health checks does. Plus a webhook receiver that counts deliveries.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::seq::SliceRandom;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Backends(Arc<Mutex<Vec<String>>>);

impl Backends {
    pub fn add(&self, url: &str) {
        self.0.lock().unwrap().push(url.to_owned());
    }

    pub fn remove(&self, url: &str) {
        self.0.lock().unwrap().retain(|u| u != url);
    }

    /// The live backends in a random order.
    pub fn shuffled(&self) -> Vec<String> {
        let mut all = self.0.lock().unwrap().clone();
        all.shuffle(&mut rand::thread_rng());
        all
    }
}

/// Starts the balancer on a free port; its URL.
pub async fn balancer(backends: Backends) -> String {
    let app = Router::new()
        .fallback(forward)
        .with_state((backends, reqwest::Client::new()));
    serve(app).await
}

async fn forward(
    State((backends, client)): State<(Backends, reqwest::Client)>,
    request: Request,
) -> Response {
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    let headers = request.headers().clone();
    let Ok(body) = axum::body::to_bytes(request.into_body(), 16 * 1024 * 1024).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    for backend in backends.shuffled() {
        let mut outgoing = client.request(method.clone(), format!("{backend}{path}"));
        if let Some(ct) = headers.get("content-type") {
            outgoing = outgoing.header("content-type", ct);
        }
        match outgoing.body(body.clone()).send().await {
            Ok(answer) => {
                let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
                let bytes = answer.bytes().await.unwrap_or_default();
                return (status, bytes).into_response();
            }
            // Down: try the next one.
            Err(_) => continue,
        }
    }
    StatusCode::BAD_GATEWAY.into_response()
}

/// Webhook deliveries received, by the generation id in their payload.
#[derive(Clone, Default)]
pub struct Hooks(Arc<Mutex<HashMap<String, Vec<String>>>>);

impl Hooks {
    /// webhook-ids received per generation.
    pub fn received(&self) -> HashMap<String, Vec<String>> {
        self.0.lock().unwrap().clone()
    }
}

/// Starts a webhook receiver on a free port; its URL (POST `{url}/hooks/{anything}`).
pub async fn webhook_receiver(hooks: Hooks) -> String {
    let app = Router::new()
        .route("/hooks/{name}", axum::routing::post(receive))
        .with_state(hooks);
    serve(app).await
}

async fn receive(
    State(hooks): State<Hooks>,
    Path(_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let generation = payload["id"].as_str().unwrap_or("?").to_owned();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    hooks
        .0
        .lock()
        .unwrap()
        .entry(generation)
        .or_default()
        .push(id);
    StatusCode::NO_CONTENT
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
