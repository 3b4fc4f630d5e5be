//! Kie's request validation, per model, as the tables in `docs/UPSTREAM.md` describe it.
//!
//! Parsing yields an [`Order`] (what to create and what it costs); the public `validate_*`
//! functions expose the same checks so property tests can compare reelgate's catalog with it.

mod fields;
mod jobs;
mod veo;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::model::Model;

pub(crate) use fields::Fields;

/// Kie's refusal of a request: its envelope `code` and a message naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {msg}")]
pub struct Rejection {
    pub code: u16,
    pub msg: String,
}

impl Rejection {
    pub fn new(code: u16, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }

    /// Kie's "parameter validation failed".
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::new(422, msg)
    }
}

/// An accepted create request: everything the simulator needs to run and bill the task.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Order {
    pub model: Model,
    /// Kie credits charged at creation.
    pub cost: Decimal,
    pub callback_url: Option<String>,
    /// Veo 16:9 tasks get a 1080p file some time after success.
    pub hd_available: bool,
}

/// Checks a `POST /api/v1/veo/generate` body as Kie would.
pub fn validate_veo_generate(body: &Value) -> Result<(), Rejection> {
    veo::parse(body).map(|_| ())
}

/// Checks a `POST /api/v1/jobs/createTask` body as Kie would (Sora 2, Kling 2.6, Grok Imagine).
pub fn validate_create_task(body: &Value) -> Result<(), Rejection> {
    jobs::parse(body).map(|_| ())
}

/// What Kie charges, in Kie credits, for a `POST /api/v1/veo/generate` body it accepts.
pub fn charge_veo_generate(body: &Value) -> Result<Decimal, Rejection> {
    veo::parse(body).map(|order| order.cost)
}

/// What Kie charges, in Kie credits, for upgrading a finished Veo video to `resolution` (Kie's
/// spelling: `720p` is the video itself, `1080p` and `4K` the upgrades); `None` for others.
pub fn charge_veo_upgrade(resolution: &str) -> Option<Decimal> {
    match resolution {
        "720p" => Some(Decimal::ZERO),
        "1080p" => Some(crate::pricing::veo_upgrade(false)),
        "4K" => Some(crate::pricing::veo_upgrade(true)),
        _ => None,
    }
}

/// What Kie charges, in Kie credits, for a `POST /api/v1/jobs/createTask` body it accepts.
pub fn charge_create_task(body: &Value) -> Result<Decimal, Rejection> {
    jobs::parse(body).map(|order| order.cost)
}

pub(crate) fn parse_veo_generate(body: &Value) -> Result<Order, Rejection> {
    veo::parse(body)
}

pub(crate) fn parse_veo_extend(body: &Value) -> Result<Order, Rejection> {
    veo::parse_extend(body)
}

pub(crate) fn parse_create_task(body: &Value) -> Result<Order, Rejection> {
    jobs::parse(body)
}
