//! What a customer's webhook says: the generation object with the event's `type` (as
//! Standard Webhooks recommends) and when it was sent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::generations::GenerationView;
use reelgate_domain::generations::{Generation, Status};

/// Why a delivery is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// It succeeded; `videos` has reelgate's own links once its copies are made.
    #[serde(rename = "generation.succeeded")]
    Succeeded,
    /// It failed; `error` says why, and its credits were returned.
    #[serde(rename = "generation.failed")]
    Failed,
    /// Its owner canceled it before it was sent upstream; its credits were returned.
    #[serde(rename = "generation.canceled")]
    Canceled,
    /// After success, `videos` changed: a copy was made later, or the 1080p version arrived.
    #[serde(rename = "generation.videos_updated")]
    VideosUpdated,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::Succeeded,
        EventType::Failed,
        EventType::Canceled,
        EventType::VideosUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Succeeded => "generation.succeeded",
            EventType::Failed => "generation.failed",
            EventType::Canceled => "generation.canceled",
            EventType::VideosUpdated => "generation.videos_updated",
        }
    }

    pub fn parse(raw: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// What the OpenAPI document says of it.
    pub fn summary(self) -> &'static str {
        match self {
            EventType::Succeeded => "A generation succeeded; its videos are ready",
            EventType::Failed => "A generation failed; its credits were returned",
            EventType::Canceled => "A generation was canceled; its credits were returned",
            EventType::VideosUpdated => {
                "A succeeded generation's videos changed (a copy or the 1080p version arrived)"
            }
        }
    }
}

/// The body of every delivery: the generation object as `GET /v1/generations/{id}` returns
/// it, plus `type` and `timestamp`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the event was composed: the same on every retry of one delivery.
    pub timestamp: DateTime<Utc>,
    #[serde(flatten)]
    pub generation: GenerationView,
}

/// The payload of a delivery composed as it is queued: a failure or a cancellation has no
/// videos to wait for. (A success is composed by the delivery worker; see `deliver.rs`.)
pub fn payload(generation: &Generation) -> String {
    let event_type = match generation.status {
        Status::Succeeded => EventType::Succeeded,
        Status::Canceled => EventType::Canceled,
        _ => EventType::Failed,
    };
    let event = WebhookEvent {
        event_type,
        timestamp: Utc::now(),
        generation: GenerationView::from(generation),
    };
    // Strings, numbers and JSON values always serialise.
    serde_json::to_string(&event).unwrap_or_default()
}
