//! The customer's own data: taking it away (the export) and closing the account.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use reelgate_domain::accounts::Password;
use reelgate_store::{AccountExport, OutboxMail, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::account::{AccountView, LedgerEntryView};
use super::account_security::{NotificationsView, SessionView};
use super::api_keys::ApiKeyView;
use super::auth::AuthUser;
use super::error::ErrorEnvelope;
use super::payments::PaymentView;
use super::{ApiContext, ApiError, ApiJson};
use crate::accounts::security;
use crate::generations::view::GenerationView;

/// A mail we sent (or are sending) to the account; secret links are not kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailView {
    pub id: String,
    pub to: String,
    /// `password_reset`, `verify_email`, `video_ready`, `receipt`, …
    pub template: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<&OutboxMail> for MailView {
    fn from(mail: &OutboxMail) -> Self {
        MailView {
            id: mail.id.clone(),
            to: mail.to.to_string(),
            template: mail.template.as_str().to_owned(),
            created_at: mail.created_at,
            sent_at: mail.sent_at,
        }
    }
}

/// Everything reelgate keeps about one account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountExportView {
    pub exported_at: DateTime<Utc>,
    pub account: AccountView,
    pub notifications: NotificationsView,
    /// Every credit movement, oldest first.
    pub ledger: Vec<LedgerEntryView>,
    /// Oldest first.
    pub generations: Vec<GenerationView>,
    pub payments: Vec<PaymentView>,
    pub api_keys: Vec<ApiKeyView>,
    pub sessions: Vec<SessionView>,
    pub mail: Vec<MailView>,
}

impl From<&AccountExport> for AccountExportView {
    fn from(export: &AccountExport) -> Self {
        AccountExportView {
            exported_at: Utc::now(),
            account: AccountView::from(&export.user),
            notifications: NotificationsView::from(&export.preferences),
            ledger: export.ledger.iter().map(LedgerEntryView::from).collect(),
            generations: export
                .generations
                .iter()
                .map(GenerationView::from)
                .collect(),
            payments: export.payments.iter().map(PaymentView::from).collect(),
            api_keys: export.api_keys.iter().map(ApiKeyView::from).collect(),
            sessions: export.sessions.iter().map(SessionView::from).collect(),
            mail: export.mail.iter().map(MailView::from).collect(),
        }
    }
}

/// One JSON document of the caller's account, its ledger, generations, payments, keys,
/// sessions and mail, offered as a download (`reelgate-account.json`).
#[utoipa::path(get, path = "/v1/account/export", tag = "account", security(("api_key" = [])),
    responses((status = 200, body = AccountExportView)))]
async fn export(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> Result<Response, ApiError> {
    let export = ctx.store.export_account(&user.id).await?;
    let mut response = ApiJson(AccountExportView::from(&export)).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"reelgate-account.json\""),
    );
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// The account's password.
    #[schema(max_length = 256)]
    pub password: String,
    /// The unspent credits given up, as `GET /v1/account` shows them (`balance`): closing
    /// is refused unless the caller has seen what it costs.
    pub forfeit_credits: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosedView {
    pub closed: bool,
    /// Unspent credits given up (an `adjustment` row of the ledger).
    pub forfeited_credits: i64,
}

/// Closes the caller's account for good: sessions and API keys stop working, the address and
/// what was asked for are erased, the videos are deleted from storage. Ledger and payment rows
/// stay (financial records), tied to no name or address.
#[utoipa::path(post, path = "/v1/account/close", tag = "account", security(("api_key" = [])),
    request_body = CloseRequest,
    responses((status = 200, body = ClosedView),
        (status = 400, description = "a wrong password (`password`), or `forfeit_credits` not the balance", body = ErrorEnvelope),
        (status = 409, description = "generations are still running (their credits are held)", body = ErrorEnvelope)))]
async fn close(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<CloseRequest>,
) -> Result<ApiJson<ClosedView>, ApiError> {
    let wrong = || ApiError::field("password", "invalid_credentials", "the password is wrong");
    let password = Password::parse(&body.password).map_err(|_| wrong())?;
    let balance = ctx.store.user(&user.id).await?.balance.get();
    if body.forfeit_credits != balance {
        return Err(ApiError::field(
            "forfeit_credits",
            "invalid_parameter",
            format!(
                "the account has {balance} unspent credits; closing it gives them up — send \
                 forfeit_credits: {balance} to confirm"
            ),
        ));
    }
    let closed =
        match security::close_account(&ctx.store, &ctx.media.wake, &user.id, &password).await {
            Err(StoreError::InvalidCredentials) => return Err(wrong()),
            other => other?,
        };
    tracing::info!(user = %user.id, forfeited = %closed.forfeited, "account closed by its owner");
    Ok(ApiJson(ClosedView {
        closed: true,
        forfeited_credits: closed.forfeited.get(),
    }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(close))
}
