//! `POST /v1/auth/password-reset` and `/confirm`: getting back into an account by mail.

use axum::extract::State;
use axum::http::StatusCode;
use reelgate_domain::text::Token;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, ApiError, ApiJson};
use crate::accounts::{recovery, RecoveryError};
use crate::client_addr::ClientAddr;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(format = "email", max_length = 254)]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetAccepted {
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The `token` of the link in the mail (`rgt_…`).
    #[schema(inline)]
    pub token: Token,
    /// The new password: 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

impl From<RecoveryError> for ApiError {
    fn from(error: RecoveryError) -> Self {
        match error {
            RecoveryError::Invalid { field, message } => {
                let code = if field == "token" {
                    "invalid_token"
                } else {
                    "invalid_parameter"
                };
                ApiError::field(field, code, message)
            }
            RecoveryError::Throttled(_) => ApiError::TooManyRequests,
            RecoveryError::Store(error) => error.into(),
        }
    }
}

/// Mails a single-use link (valid for an hour) to reset the account's password. Answers 202
/// whether or not an account has the address.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = ResetRequest,
    responses((status = 202, body = ResetAccepted),
        (status = 400, description = "not an email address", body = super::error::ErrorEnvelope),
        (status = 429, description = "too many requests from this client", body = super::error::ErrorEnvelope)))]
async fn request(
    State(ctx): State<ApiContext>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<(StatusCode, ApiJson<ResetAccepted>), ApiError> {
    recovery::request_reset(&ctx.store, &ctx.lifecycle.wake.mail, &body.email, client).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(ResetAccepted {
            message: "If an account has this address, a link to reset its password is on its way."
                .into(),
        }),
    ))
}

/// Sets a new password with the link's token. The token is used up, and every session of the
/// account ends.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirm,
    responses((status = 204, description = "the password was changed"),
        (status = 400, description = "an invalid, used or expired token (`field`: `token`), or a password too short or long", body = super::error::ErrorEnvelope)))]
async fn confirm(
    State(ctx): State<ApiContext>,
    ApiJson(body): ApiJson<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let mail = &ctx.lifecycle.wake.mail;
    recovery::confirm_reset(&ctx.store, mail, body.token.as_str(), &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(request))
        .routes(routes!(confirm))
}
