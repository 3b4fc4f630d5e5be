//! `/v1/admin/limits` and `/v1/admin/users/{id}/limits`: the operator's default limits per
//! customer and each customer's overrides and tier weight.

use axum::extract::{Path, State};
use reelgate_domain::accounts::UserId;
use reelgate_domain::limits::LimitSettings;
use reelgate_store::LimitScope;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AdminUser;
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson};
pub use crate::front::views::limits::LimitsBody;

impl LimitsBody {
    fn parse(self) -> Result<LimitSettings, ApiError> {
        LimitSettings::new(
            self.max_active,
            self.submissions_per_minute,
            self.daily_credits,
            self.weight,
        )
        .map_err(|e| ApiError::field(e.field(), "invalid_parameter", e.to_string()))
    }
}

/// A customer's limits: their own overrides, the defaults, and what applies.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerLimitsView {
    pub own: LimitsBody,
    pub defaults: LimitsBody,
    pub effective: LimitsBody,
}

/// The default limits of every customer without overrides.
#[utoipa::path(get, path = "/v1/admin/limits", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = LimitsBody), (status = 403, body = ErrorEnvelope)))]
async fn get_defaults(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<LimitsBody>, ApiError> {
    let settings = ctx.store.limit_settings(LimitScope::Defaults).await?;
    Ok(ApiJson(LimitsBody::from(&settings)))
}

/// Replaces the default limits (every field; left out = no limit).
#[utoipa::path(put, path = "/v1/admin/limits", tag = "admin", security(("api_key" = [])),
    request_body = LimitsBody,
    responses((status = 200, body = LimitsBody), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn set_defaults(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<LimitsBody>,
) -> Result<ApiJson<LimitsBody>, ApiError> {
    let settings = body.parse()?;
    ctx.store
        .set_limit_settings(LimitScope::Defaults, &settings)
        .await?;
    Ok(ApiJson(LimitsBody::from(&settings)))
}

async fn customer(ctx: &ApiContext, raw: &str) -> Result<UserId, ApiError> {
    let id = UserId::parse(raw).map_err(|_| ApiError::NotFound("user"))?;
    ctx.store.user(&id).await?;
    Ok(id)
}

async fn view(ctx: &ApiContext, user: &UserId) -> Result<CustomerLimitsView, ApiError> {
    let limits = ctx.store.customer_limits(user).await?;
    Ok(CustomerLimitsView {
        own: LimitsBody::from(&limits.own),
        defaults: LimitsBody::from(&limits.defaults),
        effective: LimitsBody::from(&limits.effective),
    })
}

/// One customer's limits.
#[utoipa::path(get, path = "/v1/admin/users/{id}/limits", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the user's id (`usr_…`)")),
    responses((status = 200, body = CustomerLimitsView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn get_customer(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<ApiJson<CustomerLimitsView>, ApiError> {
    let user = customer(&ctx, &id).await?;
    Ok(ApiJson(view(&ctx, &user).await?))
}

/// Replaces one customer's overrides (every field; left out = the default applies).
#[utoipa::path(put, path = "/v1/admin/users/{id}/limits", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the user's id (`usr_…`)")),
    request_body = LimitsBody,
    responses((status = 200, body = CustomerLimitsView), (status = 400, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn set_customer(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LimitsBody>,
) -> Result<ApiJson<CustomerLimitsView>, ApiError> {
    let user = customer(&ctx, &id).await?;
    let settings = body.parse()?;
    ctx.store
        .set_limit_settings(LimitScope::Customer(&user), &settings)
        .await?;
    Ok(ApiJson(view(&ctx, &user).await?))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(get_defaults, set_defaults))
        .routes(routes!(get_customer, set_customer))
}
