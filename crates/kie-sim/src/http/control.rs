//! `/sim/*`: control endpoints for tests and demos driving a running simulator. No auth: they
//! are not part of Kie's API and the simulator is not meant to face the internet.

use std::str::FromStr;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::Faults;
use crate::simulator::{Simulator, Withdrawal};

fn bad_request(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

pub(super) async fn stats(State(sim): State<Simulator>) -> Response {
    Json(sim.stats()).into_response()
}

pub(super) async fn tasks(State(sim): State<Simulator>) -> Response {
    Json(sim.tasks()).into_response()
}

/// `{"credits": "123.5"}`; a JSON number is read from its text, never through a float.
pub(super) async fn set_balance(State(sim): State<Simulator>, Json(body): Json<Value>) -> Response {
    let credits = match body.get("credits") {
        Some(Value::String(s)) => Decimal::from_str(s.trim()).ok(),
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        _ => None,
    };
    match credits {
        Some(credits) => {
            sim.set_balance(credits);
            Json(json!({"credits": credits.normalize().to_string()})).into_response()
        }
        None => bad_request("credits must be a decimal number, e.g. \"123.5\""),
    }
}

pub(super) async fn balance(State(sim): State<Simulator>) -> Response {
    Json(json!({"credits": sim.balance().normalize().to_string()})).into_response()
}

/// [`Faults`] on the wire: ratios as numbers, the latency in milliseconds. Omitted fields are
/// zero, so posting `{}` turns every fault off.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct FaultsBody {
    failure_ratio: f64,
    server_error_ratio: f64,
    latency_ms: u64,
    drop_callback_ratio: f64,
    duplicate_callback_ratio: f64,
    malformed_ratio: f64,
    upscale_failure_ratio: f64,
}

impl FaultsBody {
    fn into_faults(self) -> Result<Faults, String> {
        let ratios = [
            ("failure_ratio", self.failure_ratio),
            ("server_error_ratio", self.server_error_ratio),
            ("drop_callback_ratio", self.drop_callback_ratio),
            ("duplicate_callback_ratio", self.duplicate_callback_ratio),
            ("malformed_ratio", self.malformed_ratio),
            ("upscale_failure_ratio", self.upscale_failure_ratio),
        ];
        if let Some((name, v)) = ratios.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Err(format!("{name} must be between 0 and 1 (got {v})"));
        }
        Ok(Faults {
            failure_ratio: self.failure_ratio,
            server_error_ratio: self.server_error_ratio,
            latency: Duration::from_millis(self.latency_ms),
            drop_callback_ratio: self.drop_callback_ratio,
            duplicate_callback_ratio: self.duplicate_callback_ratio,
            malformed_ratio: self.malformed_ratio,
            upscale_failure_ratio: self.upscale_failure_ratio,
        })
    }

    fn from_faults(f: &Faults) -> Self {
        Self {
            failure_ratio: f.failure_ratio,
            server_error_ratio: f.server_error_ratio,
            latency_ms: u64::try_from(f.latency.as_millis()).unwrap_or(u64::MAX),
            drop_callback_ratio: f.drop_callback_ratio,
            duplicate_callback_ratio: f.duplicate_callback_ratio,
            malformed_ratio: f.malformed_ratio,
            upscale_failure_ratio: f.upscale_failure_ratio,
        }
    }
}

pub(super) async fn set_faults(
    State(sim): State<Simulator>,
    body: Result<Json<FaultsBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let faults = match body {
        Ok(Json(body)) => body.into_faults(),
        Err(e) => Err(e.body_text()),
    };
    match faults {
        Ok(faults) => {
            let answer = FaultsBody::from_faults(&faults);
            sim.set_faults(faults);
            Json(answer).into_response()
        }
        Err(msg) => bad_request(msg),
    }
}

pub(super) async fn faults(State(sim): State<Simulator>) -> Response {
    Json(FaultsBody::from_faults(&sim.faults())).into_response()
}

pub(super) async fn forget(State(sim): State<Simulator>) -> Response {
    sim.forget_files();
    StatusCode::NO_CONTENT.into_response()
}

/// `{"model": "sora-2-text-to-video", "answer": "disabled" | "unsupported"}` withdraws a model
/// (by its wire name); `"answer": null` (or left out) takes it back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WithdrawBody {
    model: String,
    #[serde(default)]
    answer: Option<Withdrawal>,
}

pub(super) async fn withdraw(
    State(sim): State<Simulator>,
    body: Result<Json<WithdrawBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(body)) => {
            sim.withdraw_model(&body.model, body.answer);
            Json(sim.withdrawn_models()).into_response()
        }
        Err(e) => bad_request(e.body_text()),
    }
}

pub(super) async fn withdrawn(State(sim): State<Simulator>) -> Response {
    Json(sim.withdrawn_models()).into_response()
}
