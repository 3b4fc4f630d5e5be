//! Every error in the JSON envelope, also those our handlers never see: tower's request
//! timeout, axum's own rejections (plain text, such as a body over the limit on a route that
//! reads raw bytes) and handlers answering a bare status. (hyper's refusals of a malformed
//! request head are rewritten on the wire: see `wire_errors`.)

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

use super::ApiError;

/// A plain-text body longer than this is not passed on as the envelope's message.
const MAX_DETAIL_BYTES: usize = 1024;

/// Answers 408 in the envelope when a request, its body included, takes longer than the
/// timeout (a client trickling its body holds a connection and a task until then).
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout {
            secs: limit.as_secs(),
        }
        .into_response(),
    }
}

/// Rewrites an error answer with no body type, or a plain-text one, into the envelope; keeps
/// its other headers (`Allow`, `Content-Range`, `Retry-After`). Pages (HTML) and JSON pass.
pub async fn errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_owned());
    let plain = match content_type.as_deref() {
        None => false,
        Some(t) if t.starts_with("text/plain") => true,
        Some(_) => return response,
    };
    let (mut parts, body) = response.into_parts();
    let detail = if plain { detail(body).await } else { None };
    let (envelope, body) = ApiError::for_status(status, detail)
        .into_response()
        .into_parts();
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    for (name, value) in &envelope.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// A short plain-text body as one line, if it says anything.
async fn detail(body: Body) -> Option<String> {
    let bytes = axum::body::to_bytes(body, MAX_DETAIL_BYTES).await.ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}
