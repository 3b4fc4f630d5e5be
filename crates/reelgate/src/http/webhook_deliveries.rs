//! The caller's webhook delivery log, and sending one again (`/v1/account/webhook-deliveries`).

use axum::extract::State;
use chrono::{DateTime, Utc};
use reelgate_store::DeliveryRecord;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AuthUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson, ApiPath};

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

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryLog {
    /// The newest deliveries, newest first.
    pub deliveries: Vec<DeliveryView>,
}

/// The caller's most recent webhook deliveries, newest first, with where each stands.
#[utoipa::path(get, path = "/v1/account/webhook-deliveries", tag = "account",
    operation_id = "list_webhook_deliveries", security(("api_key" = [])),
    responses((status = 200, body = DeliveryLog), (status = 401, body = ErrorEnvelope)))]
async fn list(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> Result<ApiJson<DeliveryLog>, ApiError> {
    let log = ctx.store.webhook_log(&user.id, LOG_SIZE).await?;
    Ok(ApiJson(DeliveryLog {
        deliveries: log.iter().map(DeliveryView::from).collect(),
    }))
}

/// Sends a delivery again now, with the same `webhook-id` and body, and another day of
/// retries.
#[utoipa::path(post, path = "/v1/account/webhook-deliveries/{id}/resend", tag = "account",
    operation_id = "resend_webhook_delivery", security(("api_key" = [])),
    params(("id" = String, Path, description = "`msg_…`")),
    responses((status = 202, description = "Queued to be sent now"),
        (status = 404, body = ErrorEnvelope)))]
async fn resend(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    if !ctx.store.resend_webhook(&user.id, &id).await? {
        return Err(ApiError::NotFound("webhook delivery"));
    }
    ctx.lifecycle.wake.webhooks.notify_one();
    Ok(axum::http::StatusCode::ACCEPTED)
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(resend))
}
