//! The operator's view of the upstream: simulated or real, the Kie balance against the
//! guard's thresholds, whether dispatch is running, and what went wrong lately.

use axum::extract::State;
use chrono::{DateTime, Utc};
use reelgate_domain::reports::KIE_CREDIT_USD;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson};
use crate::balance_guard::{GuardSnapshot, Level};
use crate::generations::keys::KeyView;
use crate::generations::upstream_log::UpstreamEvent;

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    #[schema(value_type = String)]
    pub credits: Decimal,
    /// At $0.005 per Kie credit.
    #[schema(value_type = String)]
    pub usd: Decimal,
    pub checked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DispatchView {
    /// `running`; `held` (the balance is below the stop threshold: generations wait queued);
    /// or `refused` (Kie refuses new work: an outage, the key, the balance or a spending cap).
    pub state: &'static str,
    pub since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamView {
    /// True on the built-in simulator: nothing is bought from Kie AI.
    pub simulated: bool,
    /// The last balance read.
    pub balance: Option<BalanceView>,
    /// Where the balance stands: `ok`, `low` (operator warned), `stopped` (dispatch held)
    /// or `unknown` (not read yet).
    pub level: Level,
    pub level_since: Option<DateTime<Utc>>,
    #[schema(value_type = String)]
    pub warn_below_credits: Decimal,
    #[schema(value_type = String)]
    pub stop_below_credits: Decimal,
    pub poll_secs: u64,
    /// Whether warnings are also POSTed to the operator's webhook.
    pub operator_webhook: bool,
    pub last_poll_error: Option<String>,
    pub dispatch: DispatchView,
    /// What went wrong talking to Kie lately (this instance), newest first.
    pub recent_errors: Vec<UpstreamEvent>,
    /// Each Kie key (by fingerprint, never the key) and its state on this instance; one entry
    /// with a single key.
    pub keys: Vec<KeyView>,
}

fn view(ctx: &ApiContext, snapshot: GuardSnapshot) -> UpstreamView {
    let settings = ctx.guard.settings();
    let lifecycle = &ctx.lifecycle;
    let dispatch = match (lifecycle.gate.suspension(), lifecycle.gate.refusal()) {
        (Some((since, reason)), _) => DispatchView {
            state: "held",
            since: Some(since),
            reason: Some(reason),
        },
        (None, Some((since, reason))) => DispatchView {
            state: "refused",
            since: Some(since),
            reason: Some(reason),
        },
        (None, None) => DispatchView {
            state: "running",
            since: None,
            reason: None,
        },
    };
    UpstreamView {
        simulated: ctx.upstream.is_simulated(),
        balance: snapshot.balance_credits.map(|credits| BalanceView {
            credits: credits.normalize(),
            usd: (credits * KIE_CREDIT_USD).normalize(),
            checked_at: snapshot.checked_at,
        }),
        level: snapshot.level,
        level_since: snapshot.level_since,
        warn_below_credits: settings.warn_below.normalize(),
        stop_below_credits: settings.stop_below.normalize(),
        poll_secs: settings.poll_every.as_secs(),
        operator_webhook: settings.operator_webhook.is_some(),
        last_poll_error: snapshot.last_error,
        dispatch,
        recent_errors: lifecycle.upstream_log.recent(),
        keys: lifecycle.keys.views(),
    }
}

/// The upstream: simulated or real, balance and thresholds, dispatch, recent errors.
#[utoipa::path(get, path = "/v1/admin/upstream", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = UpstreamView), (status = 403, body = ErrorEnvelope)))]
async fn status(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<UpstreamView>, ApiError> {
    let snapshot = ctx.guard.snapshot();
    Ok(ApiJson(view(&ctx, snapshot)))
}

/// Reads the Kie balance now (after a top-up, say) and acts on it, then answers as
/// `GET /v1/admin/upstream`.
#[utoipa::path(post, path = "/v1/admin/upstream/check", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = UpstreamView), (status = 403, body = ErrorEnvelope)))]
async fn check(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<UpstreamView>, ApiError> {
    let snapshot = ctx.guard.check_now().await;
    Ok(ApiJson(view(&ctx, snapshot)))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(check))
}
