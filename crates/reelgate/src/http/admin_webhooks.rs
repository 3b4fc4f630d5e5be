//! Operator: customers' webhook endpoints that are failing (`/v1/admin/webhook-endpoints`),
//! with how much waits for each and whether its circuit is open.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson};

/// How many endpoints the list shows.
const LIST_SIZE: u32 = 100;

/// One customer's webhook URL whose deliveries fail.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailingEndpointView {
    /// `usr_…`
    pub user_id: String,
    pub email: String,
    pub url: String,
    /// Deliveries to it not yet delivered nor given up on.
    pub pending: u64,
    /// Of those, how many have failed at least once.
    pub failing: u64,
    pub oldest_pending_at: DateTime<Utc>,
    /// When the next of them is tried.
    pub next_attempt_at: DateTime<Utc>,
    /// One of the errors its last attempts met (`answered HTTP 500`, `request failed: …`).
    pub last_error: Option<String>,
    /// `open`: this instance sends nothing to it until `open_until` (it failed
    /// repeatedly); `closed`: deliveries to it are tried as usual.
    pub circuit: &'static str,
    /// Failures in a row this instance has seen.
    pub consecutive_failures: u32,
    pub open_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailingEndpoints {
    /// The endpoints with the most pending deliveries first.
    pub endpoints: Vec<FailingEndpointView>,
}

/// Customers' webhook endpoints whose pending deliveries have failed, the most pending first.
#[utoipa::path(get, path = "/v1/admin/webhook-endpoints", tag = "admin",
    operation_id = "list_failing_webhook_endpoints", security(("api_key" = [])),
    responses((status = 200, body = FailingEndpoints), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)))]
async fn failing(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<FailingEndpoints>, ApiError> {
    let circuits = &ctx.lifecycle.webhook_circuits;
    let endpoints = ctx
        .store
        .failing_webhook_endpoints(LIST_SIZE)
        .await?
        .into_iter()
        .map(|e| {
            let circuit = circuits.view(&e.user_id, &e.url);
            let open_until = circuit.as_ref().and_then(|c| c.open_until);
            FailingEndpointView {
                user_id: e.user_id.as_str().to_owned(),
                email: e.email,
                url: e.url,
                pending: e.pending,
                failing: e.failing,
                oldest_pending_at: e.oldest_pending_at,
                next_attempt_at: e.next_attempt_at,
                last_error: e.last_error,
                circuit: if open_until.is_some() {
                    "open"
                } else {
                    "closed"
                },
                consecutive_failures: circuit.map_or(0, |c| c.consecutive_failures),
                open_until,
            }
        })
        .collect();
    Ok(ApiJson(FailingEndpoints { endpoints }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(failing))
}
