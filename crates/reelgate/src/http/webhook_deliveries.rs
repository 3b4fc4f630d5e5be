//! The caller's webhook delivery log, and sending one again (`/v1/account/webhook-deliveries`).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AuthUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson, ApiPath};
pub use crate::front::views::webhooks::{DeliveryState, DeliveryView, LOG_SIZE};

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
    let deliverer = &ctx.lifecycle.wake.webhooks;
    if !crate::webhooks::resend::resend(&ctx.store, deliverer, &user.id, &id).await? {
        return Err(ApiError::NotFound("webhook delivery"));
    }
    Ok(axum::http::StatusCode::ACCEPTED)
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(resend))
}
