//! `POST /v1/generations/{id}/extend` and `…/upscale`: continue one of the caller's finished
//! Veo videos, or order its 4K version, as a new generation, quoted, held and settled like any
//! other (`generations/extend.rs`, `generations/upscale.rs`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AuthUser;
use super::error::ErrorEnvelope;
use super::generations::{accepted, idempotency_key, parse_id};
use super::{ApiContext, ApiError, ApiJson};
use crate::generations::extend::{self, FollowUpError};
use crate::generations::upscale;
use crate::generations::GenerationView;

impl From<FollowUpError> for ApiError {
    fn from(error: FollowUpError) -> Self {
        match error {
            FollowUpError::NotFound => ApiError::NotFound("generation"),
            FollowUpError::Refused { code, message } => ApiError::Conflict { code, message },
            FollowUpError::Submit(error) => ApiError::from(error),
        }
    }
}

/// Extends a finished Veo 3.1 video with a new prompt: a new generation (its own id, price and
/// ledger rows) priced like a new video of the same model, refunded if it fails. Its
/// `params.extends` names the original. A video upscaled to 4K, one not Veo, or one older
/// than 14 days (Kie's retention) cannot be extended.
#[utoipa::path(post, path = "/v1/generations/{id}/extend", tag = "generations", operation_id = "extend_generation", security(("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`: a succeeded Veo generation of the caller's"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1 to 255 visible ASCII characters",
        min_length = 1, max_length = 255, pattern = "^[!-~]+$")),
    request_body(content = Object, description = "`prompt` (required), optional `seeds` (10000–99999) and `webhook_url`",
        example = json!({"prompt": "the camera pulls back to show the whole valley"})),
    responses(
        (status = 202, description = "Queued; its price is held", body = GenerationView),
        (status = 400, description = "A field is wrong; nothing was charged", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 402, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`not_extendable`: not a finished Veo video, upscaled to 4K, or older than 14 days", body = ErrorEnvelope),
        (status = 503, description = "`model_unavailable`: the model is withdrawn upstream for now", body = ErrorEnvelope)))]
async fn extend_one(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let original = parse_id(&id)?;
    let key = idempotency_key(&headers)?;
    let outcome =
        extend::extend(&ctx.lifecycle, &ctx.catalog, &user.id, &original, body, key).await?;
    Ok(accepted(outcome))
}

/// Orders the 4K version of a finished Veo 3.1 video sold at 720p or 1080p: a new generation
/// (its own id, price and ledger rows) priced at the 4K surcharge alone (Kie's $0.60, through
/// the price rule), settled with the 4K video when Kie has made it (5 to 10 minutes) and
/// refunded if Kie cannot. Its `params.upscales` names the original.
#[utoipa::path(post, path = "/v1/generations/{id}/upscale", tag = "generations", operation_id = "upscale_generation", security(("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`: a succeeded Veo generation of the caller's"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1 to 255 visible ASCII characters",
        min_length = 1, max_length = 255, pattern = "^[!-~]+$")),
    request_body(content = Object, description = "Optional `webhook_url`; `{}` otherwise", example = json!({})),
    responses(
        (status = 202, description = "Queued; its price is held", body = GenerationView),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 402, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`not_upscalable`: not a finished Veo video, already in 4K, or older than 14 days", body = ErrorEnvelope)))]
async fn upscale_one(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let original = parse_id(&id)?;
    let key = idempotency_key(&headers)?;
    let outcome =
        upscale::upscale(&ctx.lifecycle, &ctx.catalog, &user.id, &original, body, key).await?;
    Ok(accepted(outcome))
}

/// What can be ordered for one of the caller's generations now, at what price: the quote of
/// `…/extend` and `…/upscale` before either is asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUps {
    /// Credits an extension costs now; absent when it cannot be extended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_credits: Option<i64>,
    /// Credits its 4K version costs now; absent when it cannot have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upscale_credits: Option<i64>,
}

/// The prices of extending a generation and of its 4K version, charging nothing.
#[utoipa::path(get, path = "/v1/generations/{id}/follow-ups", tag = "generations", operation_id = "quote_follow_ups", security(("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`")),
    responses((status = 200, body = FollowUps), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn follow_ups(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<ApiJson<FollowUps>, ApiError> {
    let generation = ctx
        .store
        .generation_of(&user.id, &parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("generation"))?;
    Ok(ApiJson(FollowUps {
        extend_credits: extend::offer(&ctx.catalog, &generation),
        upscale_credits: upscale::offer(&ctx.catalog, &generation),
    }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(extend_one))
        .routes(routes!(upscale_one))
        .routes(routes!(follow_ups))
}
