//! A customer's webhook deliveries as both front ends show them.

use chrono::{DateTime, Utc};
use reelgate_store::DeliveryRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// How many deliveries the log shows.
pub const LOG_SIZE: u32 = 50;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not delivered yet: waiting for the videos' copies, or for the next attempt.
    Pending,
    /// Your endpoint answered 2xx.
    Delivered,
    /// Retried for a day without a 2xx; resend it when your endpoint works again.
    Failed,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `msg_…`: the `webhook-id` header, the same on every attempt and on a resend.
    pub id: String,
    pub generation_id: String,
    /// `generation.succeeded`, `generation.failed`, `generation.canceled` or
    /// `generation.videos_updated`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub url: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Why the last attempt failed (`answered HTTP 500`, `request failed: …`).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// While pending: when it is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<&DeliveryRecord> for DeliveryView {
    fn from(record: &DeliveryRecord) -> Self {
        let state = match (record.delivered_at, record.gave_up_at) {
            (Some(_), _) => DeliveryState::Delivered,
            (None, Some(_)) => DeliveryState::Failed,
            (None, None) => DeliveryState::Pending,
        };
        let d = &record.delivery;
        DeliveryView {
            id: d.id.clone(),
            generation_id: d.generation_id.clone(),
            event_type: d.event_type.clone(),
            url: d.url.clone(),
            state,
            attempts: d.attempts,
            last_error: record.last_error.clone(),
            created_at: d.created_at,
            delivered_at: record.delivered_at,
            next_attempt_at: record.next_attempt_at,
        }
    }
}
