//! The simulator's HTTP face: Kie's endpoints (with fault injection) and `/sim/*` controls.

mod account;
mod control;
mod envelope;
mod files;
mod jobs;
mod veo;

use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::simulator::Simulator;
use crate::validate::Rejection;

/// Kie documents 10 MB per image; leave room for a few.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

impl Simulator {
    /// All Kie endpoints plus the `/sim/*` control endpoints, served at `/`.
    pub fn router(&self) -> Router {
        let kie = Router::new()
            .route("/api/v1/veo/generate", post(veo::generate))
            .route("/api/v1/veo/record-info", get(veo::record_info))
            .route("/api/v1/veo/get-1080p-video", get(veo::hd_video))
            .route("/api/v1/veo/get-4k-video", post(veo::uhd_video))
            .route("/api/v1/veo/extend", post(veo::extend))
            .route("/api/v1/jobs/createTask", post(jobs::create_task))
            .route("/api/v1/jobs/recordInfo", get(jobs::record_info))
            .route("/api/v1/jobs/getTaskDetails", get(jobs::record_info))
            .route("/api/v1/chat/credit", get(account::credit))
            .route(
                "/api/file-stream-upload",
                post(files::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
            )
            .route("/files/{*path}", get(files::uploaded))
            .route("/results/{file}", get(files::result))
            .route_layer(from_fn_with_state(self.clone(), inject_faults));
        let control = Router::new()
            .route("/sim/stats", get(control::stats))
            .route("/sim/tasks", get(control::tasks))
            .route(
                "/sim/balance",
                get(control::balance).post(control::set_balance),
            )
            .route(
                "/sim/faults",
                get(control::faults).post(control::set_faults),
            )
            .route("/sim/forget", post(control::forget))
            .route(
                "/sim/models",
                get(control::withdrawn).post(control::withdraw),
            );
        kie.merge(control)
            .fallback(unknown_route)
            .layer(from_fn_with_state(self.clone(), log_request))
            .with_state(self.clone())
    }
}

/// Kie answers unknown routes with a real HTTP 404.
async fn unknown_route() -> Response {
    let body = json!({"code": 404, "msg": "Not Found", "data": null});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// One debug line per request; never headers, so never the bearer key.
async fn log_request(State(sim): State<Simulator>, req: Request, next: Next) -> Response {
    if let Some(host) = req.headers().get(header::HOST) {
        sim.learn_base_url(host);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "kie-sim request"
    );
    response
}

/// Server errors stop a request before it does anything; latency and malformed bodies come
/// after the work is done, so a slow or garbled create did create its task.
async fn inject_faults(
    State(sim): State<Simulator>,
    route: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    let (server_error, faults) = {
        let mut st = sim.lock();
        st.stats
            .count_request(&format!("{} {}", req.method(), route.as_str()));
        let faults = st.faults.clone();
        let server_error = st.roll(faults.server_error_ratio);
        if server_error {
            st.stats.server_errors_injected += 1;
        }
        (server_error, faults)
    };
    let response = if server_error {
        Rejection::new(500, "Server error, please try again later").into_response()
    } else {
        next.run(req).await
    };
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.malformed_ratio > 0.0 && is_json(&response) && sim.lock().roll(faults.malformed_ratio)
    {
        sim.lock().stats.malformed_injected += 1;
        return malformed(response).await;
    }
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

/// The first half of the body: what a connection cut mid-answer leaves, never valid JSON
/// (a JSON object's every proper prefix is unbalanced).
async fn malformed(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}
