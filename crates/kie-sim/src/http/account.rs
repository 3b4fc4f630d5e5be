//! `GET /api/v1/chat/credit`: the account's remaining Kie credits.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::simulator::{KeyHash, Simulator};

/// Kie sends the balance as a JSON number (`1234.5`). Written by hand from the decimal's own
/// digits: going through a float could change them.
pub(super) async fn credit(State(sim): State<Simulator>, key: KeyHash) -> Response {
    let balance = sim.lock().balance_for(key).normalize();
    let body = format!(r#"{{"code":200,"msg":"success","data":{balance}}}"#);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
