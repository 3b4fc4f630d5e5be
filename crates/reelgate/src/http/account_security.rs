//! Keeping an account safe: its password, its address (confirmed by mail), where it is signed
//! in, and what it wants mailed.

use axum::extract::State;
use axum::http::StatusCode;
use reelgate_domain::accounts::{AccountToken, Email, Password};
use reelgate_domain::text::Token;
use reelgate_domain::Credits;
use reelgate_store::{Confirmed, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::{AuthUser, CurrentSession};
use super::error::ErrorEnvelope;
use super::{ApiContext, ApiError, ApiJson};
use crate::accounts::{security, verification, VerificationError};
pub use crate::front::views::account::{NotificationsView, SessionView};

impl From<VerificationError> for ApiError {
    fn from(error: VerificationError) -> Self {
        match error {
            VerificationError::Unverified => ApiError::ForbiddenField {
                code: "email_unverified",
                field: "email",
                message: VerificationError::Unverified.to_string(),
            },
            VerificationError::Throttled(_) => ApiError::TooManyRequests,
            VerificationError::Store(error) => error.into(),
        }
    }
}

/// The caller's current password was wrong: named as the field it came in, not a 401 that
/// would read as "signed out".
fn wrong_password(field: &str, error: StoreError) -> ApiError {
    match error {
        StoreError::InvalidCredentials => {
            ApiError::field(field, "invalid_credentials", "the password is wrong")
        }
        other => other.into(),
    }
}

fn password(field: &str, raw: &str) -> Result<Password, ApiError> {
    Password::parse(raw).map_err(|e| ApiError::field(field, "invalid_parameter", e.to_string()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 256)]
    pub current_password: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub new_password: String,
}

/// Changes the caller's password, proving the current one. Every other session ends (the
/// one making the change stays signed in); a mail tells the owner.
#[utoipa::path(post, path = "/v1/account/password", tag = "account", security(("api_key" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "changed"),
        (status = 400, description = "the current password is wrong (`field`: `current_password`), or the new one too short or long", body = ErrorEnvelope)))]
async fn change_password(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    CurrentSession(session): CurrentSession,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let current = password("current_password", &body.current_password)
        .map_err(|_| wrong_password("current_password", StoreError::InvalidCredentials))?;
    let new = password("new_password", &body.new_password)?;
    let mail = &ctx.lifecycle.wake.mail;
    security::change_password(&ctx.store, mail, &user.id, &current, &new, session.as_ref())
        .await
        .map_err(|e| wrong_password("current_password", e))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    #[schema(format = "email", max_length = 254)]
    pub new_email: String,
    /// The account's current password.
    #[schema(max_length = 256)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailChangeAccepted {
    pub new_email: String,
    pub message: String,
}

/// Asks to change the caller's address: a link goes to the new address, and the account
/// keeps the old one until it is followed.
#[utoipa::path(post, path = "/v1/account/email", tag = "account", security(("api_key" = [])),
    request_body = EmailChange,
    responses((status = 202, body = EmailChangeAccepted),
        (status = 400, description = "not an address (`new_email`), or a wrong password (`password`)", body = ErrorEnvelope),
        (status = 409, description = "another account has this address", body = ErrorEnvelope)))]
async fn change_email(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<EmailChange>,
) -> Result<(StatusCode, ApiJson<EmailChangeAccepted>), ApiError> {
    let new_email = Email::parse(&body.new_email)
        .map_err(|e| ApiError::field("new_email", "invalid_parameter", e.to_string()))?;
    let password = password("password", &body.password)
        .map_err(|_| wrong_password("password", StoreError::InvalidCredentials))?;
    let mail = &ctx.lifecycle.wake.mail;
    security::request_email_change(&ctx.store, mail, &user.id, &password, &new_email)
        .await
        .map_err(|e| wrong_password("password", e))?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(EmailChangeAccepted {
            message: format!(
                "A link is on its way to {new_email}; the address changes when it is followed."
            ),
            new_email: new_email.to_string(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResendView {
    /// False when the address is confirmed already (nothing was mailed).
    pub sent: bool,
}

/// Mails the link confirming the caller's address again; the previous link stops working.
#[utoipa::path(post, path = "/v1/account/email/confirmation", tag = "account",
    security(("api_key" = [])),
    responses((status = 202, body = ResendView),
        (status = 429, description = "three an hour at most", body = ErrorEnvelope)))]
async fn resend_confirmation(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> Result<(StatusCode, ApiJson<ResendView>), ApiError> {
    let sent = verification::resend(&ctx.store, &ctx.lifecycle.wake.mail, &user.id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(ResendView { sent })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEmail {
    /// The `token` of the link in the mail (`rgt_…`).
    #[schema(inline)]
    pub token: Token,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailConfirmed {
    /// The account's address, confirmed.
    pub email: String,
    /// Whether the link changed the account's address (else it confirmed the one it had).
    pub changed: bool,
}

/// Follows a link from a confirmation mail: a new account's address, or an email change's.
#[utoipa::path(post, path = "/v1/auth/confirm-email", tag = "auth", request_body = ConfirmEmail,
    responses((status = 200, body = EmailConfirmed),
        (status = 400, description = "an invalid, used or expired token (`field`: `token`)", body = ErrorEnvelope),
        (status = 409, description = "another account took the new address meanwhile", body = ErrorEnvelope)))]
async fn confirm_email(
    State(ctx): State<ApiContext>,
    ApiJson(body): ApiJson<ConfirmEmail>,
) -> Result<ApiJson<EmailConfirmed>, ApiError> {
    let token = AccountToken::parse(body.token.as_str().trim())
        .map_err(|_| ApiError::from(StoreError::InvalidToken))?;
    let (user, changed) = match ctx.store.confirm_address(&token).await? {
        Confirmed::Address(user) => (user, false),
        Confirmed::NewAddress(user, _) => (user, true),
    };
    let email = ctx.store.user(&user).await?.email.to_string();
    Ok(ApiJson(EmailConfirmed { email, changed }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Newest first; sessions that have not expired, ended ones included.
    pub sessions: Vec<SessionView>,
}

/// Where the caller's account is signed in, with when each session was last used. (Its API
/// keys, with their last use, are `GET /v1/account/api-keys`.)
#[utoipa::path(get, path = "/v1/account/sessions", tag = "account", security(("api_key" = [])),
    responses((status = 200, body = SessionList)))]
async fn sessions(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    CurrentSession(session): CurrentSession,
) -> Result<ApiJson<SessionList>, ApiError> {
    let sessions = ctx.store.sessions_of(&user.id, session.as_ref()).await?;
    Ok(ApiJson(SessionList {
        sessions: sessions.iter().map(SessionView::from).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedOut {
    /// Sessions ended.
    pub ended: u64,
}

/// Signs the account out everywhere: every session ends but the one making the request.
/// API keys keep working (revoke them one by one).
#[utoipa::path(post, path = "/v1/account/sessions/revoke", tag = "account",
    security(("api_key" = [])), responses((status = 200, body = SignedOut)))]
async fn sign_out_everywhere(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    CurrentSession(session): CurrentSession,
) -> Result<ApiJson<SignedOut>, ApiError> {
    let ended = ctx
        .store
        .sign_out_everywhere(&user.id, session.as_ref())
        .await?;
    Ok(ApiJson(SignedOut { ended }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationsChange {
    pub notify_generations: bool,
    /// A positive number of credits, or `null` for no reminder.
    #[schema(minimum = 1)]
    pub low_balance_below: Option<i64>,
}

#[utoipa::path(get, path = "/v1/account/notifications", tag = "account",
    security(("api_key" = [])), responses((status = 200, body = NotificationsView)))]
async fn notifications(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> Result<ApiJson<NotificationsView>, ApiError> {
    let preferences = ctx.store.mail_preferences(&user.id).await?;
    Ok(ApiJson(NotificationsView::from(&preferences)))
}

/// Sets what the caller wants mailed. Receipts and security mails are always sent.
#[utoipa::path(put, path = "/v1/account/notifications", tag = "account",
    security(("api_key" = [])), request_body = NotificationsChange,
    responses((status = 200, body = NotificationsView),
        (status = 400, description = "`low_balance_below` not positive", body = ErrorEnvelope)))]
async fn set_notifications(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<NotificationsChange>,
) -> Result<ApiJson<NotificationsView>, ApiError> {
    let threshold = match body.low_balance_below {
        Some(n) if n < 1 => {
            return Err(ApiError::field(
                "low_balance_below",
                "invalid_parameter",
                "low_balance_below must be a positive number of credits, or null",
            ))
        }
        other => other.map(Credits::new),
    };
    ctx.store
        .set_mail_preferences(&user.id, body.notify_generations, threshold)
        .await?;
    let preferences = ctx.store.mail_preferences(&user.id).await?;
    Ok(ApiJson(NotificationsView::from(&preferences)))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(change_email))
        .routes(routes!(resend_confirmation))
        .routes(routes!(confirm_email))
        .routes(routes!(sessions))
        .routes(routes!(sign_out_everywhere))
        .routes(routes!(notifications, set_notifications))
}
