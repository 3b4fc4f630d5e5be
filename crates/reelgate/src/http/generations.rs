//! `/v1/generations`: submit, read, list and cancel the caller's generations.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use reelgate_domain::generations::{GenerationId, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AuthUser;
use super::error::{ErrorEnvelope, FieldProblem};
use super::{ApiContext, ApiError, ApiJson, ApiQuery};
use crate::generations::cancel::{self, Cancel};
use crate::generations::submit::{self, Submission, SubmitError, SubmitOutcome};
use crate::generations::GenerationView;
use crate::media;

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Invalid(errors) => {
                ApiError::InvalidInput(errors.into_iter().map(FieldProblem::from).collect())
            }
            SubmitError::ModelUnavailable { retry_after } => ApiError::ModelUnavailable {
                retry_after_secs: retry_after.as_secs().max(1),
            },
            SubmitError::Store(error) => ApiError::from(error),
        }
    }
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            "Idempotency-Key",
            "invalid_parameter",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    };
    let key = value.to_str().map_err(|_| bad())?.trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

/// Creates a generation: validates and prices it, holds its price, and queues it.
/// Send the same `Idempotency-Key` to retry safely: the first response comes back.
#[utoipa::path(post, path = "/v1/generations", tag = "generations", operation_id = "create_generation", security(("api_key" = [])),
    request_body(content = Object, description = "`model`, its parameters (see GET /v1/models) and an optional `webhook_url`",
        example = json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
                         "aspect_ratio": "16:9", "duration": 5, "sound": false})),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1 to 255 visible ASCII characters",
        min_length = 1, max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 202, description = "Accepted and queued; its price is held", body = GenerationView),
        (status = 400, description = "A field is wrong; nothing was charged", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, description = "The operator requires a confirmed address and the caller's is not (`email_unverified`, `field`: `email`); nothing was charged", body = ErrorEnvelope),
        (status = 402, description = "The balance does not cover the price, or the daily spending cap is reached (`daily_spending_cap`)", body = ErrorEnvelope),
        (status = 409, description = "Idempotency-Key reused with another body", body = ErrorEnvelope),
        (status = 429, description = "A customer limit: too many generations queued or running (`too_many_active`), or submitted this minute (`rate_limited`, with `Retry-After` and `RateLimit-Limit`/`-Remaining`/`-Reset`)", body = ErrorEnvelope)))]
async fn create(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let required = ctx.mail.settings.require_verified_email;
    crate::accounts::verification::may_generate(&ctx.store, required, &user.id).await?;
    let submission = Submission {
        body,
        idempotency_key: idempotency_key(&headers)?,
    };
    let outcome = submit::submit(&ctx.lifecycle, &ctx.catalog, &user.id, submission).await?;
    Ok(accepted(outcome))
}

/// The 202 of a queued generation (or the first one's, replayed).
pub(super) fn accepted(outcome: SubmitOutcome) -> Response {
    match outcome {
        SubmitOutcome::Created(generation, quota) => {
            let mut response = (
                StatusCode::ACCEPTED,
                ApiJson(GenerationView::from(generation.as_ref())),
            )
                .into_response();
            if let Some(quota) = &quota {
                super::error::rate_limit_headers(response.headers_mut(), quota);
            }
            response
        }
        SubmitOutcome::Replayed(first) => (
            StatusCode::ACCEPTED,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            first,
        )
            .into_response(),
    }
}

pub(super) fn parse_id(raw: &str) -> Result<GenerationId, ApiError> {
    // A malformed id cannot be anyone's generation.
    raw.parse().map_err(|_| ApiError::NotFound("generation"))
}

/// One of the caller's generations.
#[utoipa::path(get, path = "/v1/generations/{id}", tag = "generations", operation_id = "get_generation", security(("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`")),
    responses((status = 200, body = GenerationView), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn get_one(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<ApiJson<GenerationView>, ApiError> {
    let (generation, copies) = ctx
        .store
        .generation_with_media_of(&user.id, &parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("generation"))?;
    Ok(ApiJson(
        media::present::with_copies(&ctx.lifecycle, &generation, &copies, &ctx.media.links).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only generations in this state: queued, running, succeeded, failed or canceled.
    #[param(nullable = false)]
    #[param(inline)]
    pub status: Option<reelgate_domain::text::Choice>,
    /// The `next_cursor` of the previous page.
    #[param(nullable = false)]
    #[param(inline)]
    pub cursor: Option<reelgate_domain::text::Token>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GenerationPage {
    /// Newest first.
    pub generations: Vec<GenerationView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's generations, newest first.
#[utoipa::path(get, path = "/v1/generations", tag = "generations", operation_id = "list_generations", security(("api_key" = [])),
    params(ListQuery),
    responses((status = 200, body = GenerationPage), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)))]
async fn list(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<GenerationPage>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<Status>)
        .transpose()
        .map_err(|e| ApiError::field("status", "invalid_parameter", e.to_string()))?;
    let page = ctx
        .store
        .generations_of(
            &user.id,
            status,
            query.cursor.as_deref(),
            super::account::page_limit(query.limit)?,
        )
        .await?;
    Ok(ApiJson(GenerationPage {
        generations: media::present::views(&ctx.lifecycle, &ctx.media.links, &page.items).await?,
        next_cursor: page.next_cursor,
    }))
}

/// Cancels a generation not yet sent upstream, and returns its credits.
#[utoipa::path(post, path = "/v1/generations/{id}/cancel", tag = "generations", operation_id = "cancel_generation", security(("api_key" = [])),
    params(("id" = String, Path, description = "`gen_…`")),
    responses(
        (status = 200, description = "Canceled and refunded", body = GenerationView),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Already sent upstream or finished", body = ErrorEnvelope)))]
async fn cancel(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<ApiJson<GenerationView>, ApiError> {
    let id = parse_id(&id)?;
    match cancel::cancel(&ctx.lifecycle, &user.id, &id).await? {
        Cancel::Done(generation) => Ok(ApiJson(GenerationView::from(generation.as_ref()))),
        Cancel::TooLate(generation) => Err(ApiError::Conflict {
            code: "not_cancelable",
            message: format!(
                "this generation is {} and can no longer be canceled: only generations not yet sent upstream can",
                generation.status
            ),
        }),
        Cancel::NotFound => Err(ApiError::NotFound("generation")),
    }
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one))
        .routes(routes!(cancel))
}
