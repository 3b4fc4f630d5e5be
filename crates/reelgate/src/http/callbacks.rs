//! Kie's callbacks arrive here: `POST /callbacks/kie/{generation}/{token}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError};
use crate::generations::callback::{self, CallbackRefused, KieSignature};

/// Where Kie AI reports a finished task. Only URLs reelgate gave Kie (with their token) are
/// accepted, and with `REELGATE_KIE_WEBHOOK_KEY` set only callbacks carrying Kie's signature
/// (`X-Webhook-Timestamp`, `X-Webhook-Signature`); the outcome is confirmed with Kie before
/// anything is settled.
#[utoipa::path(post, path = "/callbacks/kie/{generation}/{token}", tag = "upstream",
    params(("generation" = String, Path), ("token" = String, Path)),
    request_body(content = Object, description = "Kie's callback body"),
    params(("X-Webhook-Timestamp" = Option<String>, Header, description = "Kie's signing time, when webhook verification is on"),
           ("X-Webhook-Signature" = Option<String>, Header, description = "base64(HMAC-SHA256(webhook key, taskId + \".\" + timestamp))")),
    responses((status = 200, description = "Noted"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn kie_callback(
    State(ctx): State<ApiContext>,
    Path((generation, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = KieSignature {
        timestamp: header(kie::WEBHOOK_TIMESTAMP_HEADER),
        signature: header(kie::WEBHOOK_SIGNATURE_HEADER),
    };
    match callback::receive(&ctx.lifecycle, &generation, &token, signed, &body).await {
        Ok(()) => Ok(Json(json!({"code": 200, "msg": "success"}))),
        Err(CallbackRefused::Unknown) => Err(ApiError::NotFound("generation")),
        Err(CallbackRefused::Forged | CallbackRefused::Unsigned) => Err(ApiError::Forbidden),
        Err(CallbackRefused::Store(error)) => Err(error.into()),
    }
}

/// The path as it may be logged: a callback's token is a credential (anyone holding it can
/// nudge that generation), so it is cut out.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/callbacks/kie/") {
        Some(rest) if rest.contains('/') => {
            let generation = rest.split('/').next().unwrap_or("");
            format!("/callbacks/kie/{generation}/…").into()
        }
        _ => path.into(),
    }
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(kie_callback))
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn callback_tokens_are_cut_from_logged_paths() {
        assert_eq!(
            loggable_path("/callbacks/kie/gen_1/0123456789abcdef"),
            "/callbacks/kie/gen_1/…"
        );
        assert_eq!(
            loggable_path("/v1/generations/gen_1"),
            "/v1/generations/gen_1"
        );
    }
}
