//! Kie's answer envelope `{"code", "msg", "data"}` and the pieces every endpoint shares.
//!
//! Kie answers HTTP 200 with the failure in `code` (even for a missing key); only server
//! errors and unknown routes carry a matching HTTP status.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::simulator::{KeyHash, Simulator};
use crate::validate::Rejection;

pub(crate) fn ok(data: Value) -> Response {
    Json(json!({"code": 200, "msg": "success", "data": data})).into_response()
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match self.code {
            500 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::OK,
        };
        let body = json!({"code": self.code, "msg": self.msg, "data": null});
        (status, Json(body)).into_response()
    }
}

pub(crate) fn not_found(what: &str) -> Rejection {
    Rejection::new(404, format!("{what} not found"))
}

/// Any non-empty bearer key is accepted, unless revoked (`Simulator::revoke_key`); the
/// handler only ever sees its hash.
impl FromRequestParts<Simulator> for KeyHash {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        sim: &Simulator,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|key| !key.is_empty());
        let Some(key) = key else {
            return Err(Rejection::new(401, "You do not have access permissions"));
        };
        let hash = KeyHash::of(key);
        if sim.lock().revoked.contains(&hash.0) {
            return Err(Rejection::new(401, "You do not have access permissions"));
        }
        Ok(hash)
    }
}

/// A JSON body, whatever its `Content-Type`; anything else is a validation failure.
pub(crate) fn json_body(bytes: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice(bytes)
        .map_err(|e| Rejection::invalid(format!("the request body is not valid JSON: {e}")))
}

/// The query string as a map; a malformed one reads as empty (then `taskId is required`).
pub(crate) type Params = Query<HashMap<String, String>>;

pub(crate) fn task_id(params: &Params) -> Result<&str, Rejection> {
    params
        .get("taskId")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Rejection::invalid("taskId is required"))
}
