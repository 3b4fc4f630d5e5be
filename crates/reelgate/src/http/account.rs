//! The caller's own account: balance, ledger, webhook secret, and redeeming vouchers.

use axum::extract::State;
use reelgate_domain::ledger::VoucherCode;
use reelgate_store::{LedgerPage, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::AuthUser;
use super::{ApiContext, ApiError, ApiJson, ApiQuery};
pub use crate::front::views::account::{AccountView, LedgerEntryView};

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPageView {
    /// Newest first.
    pub entries: Vec<LedgerEntryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    pub balance: i64,
    pub held: i64,
}

impl From<&LedgerPage> for LedgerPageView {
    fn from(page: &LedgerPage) -> Self {
        LedgerPageView {
            entries: page.entries.iter().map(LedgerEntryView::from).collect(),
            next_cursor: page.next_cursor.clone(),
            balance: page.balance.get(),
            held: page.held.get(),
        }
    }
}

/// Cursor pagination, as every list of the API takes it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    #[param(nullable = false)]
    #[param(inline)]
    pub cursor: Option<reelgate_domain::text::Token>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// A list's page size as asked for: 1 to the store's maximum, the default when absent.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field(
            "limit",
            "invalid_parameter",
            format!("limit must be 1 to {MAX_PAGE_SIZE}"),
        )),
    }
}

/// The caller's account and balances.
#[utoipa::path(get, path = "/v1/account", tag = "account", security(("api_key" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = super::error::ErrorEnvelope)))]
async fn account(
    State(ctx): State<ApiContext>,
    AuthUser(caller): AuthUser,
) -> Result<ApiJson<AccountView>, ApiError> {
    // The caller may come from the key cache, with balances up to its TTL old.
    let user = ctx.store.user(&caller.id).await?;
    Ok(ApiJson(AccountView::from(&user)))
}

/// The caller's credit movements, newest first.
#[utoipa::path(get, path = "/v1/account/ledger", tag = "account", security(("api_key" = [])),
    params(PageQuery),
    responses((status = 200, body = LedgerPageView), (status = 401, body = super::error::ErrorEnvelope)))]
async fn ledger(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<LedgerPageView>, ApiError> {
    let page = ctx
        .store
        .ledger_page(&user.id, query.cursor.as_deref(), page_limit(query.limit)?)
        .await?;
    Ok(ApiJson(LedgerPageView::from(&page)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecretView {
    /// `whsec_…`: verifies the signatures of the webhooks we send you (Standard Webhooks).
    pub webhook_secret: String,
}

/// The secret the caller's webhooks are signed with.
#[utoipa::path(get, path = "/v1/account/webhook-secret", tag = "account", security(("api_key" = [])),
    responses((status = 200, body = WebhookSecretView)))]
async fn webhook_secret(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> Result<ApiJson<WebhookSecretView>, ApiError> {
    let secret = ctx.store.webhook_secret(&user.id).await?;
    Ok(ApiJson(WebhookSecretView {
        webhook_secret: secret.expose().to_owned(),
    }))
}

/// Replaces the webhook secret; webhooks from now on are signed with the new one.
#[utoipa::path(post, path = "/v1/account/webhook-secret/rotate", tag = "account",
    security(("api_key" = [])), responses((status = 200, body = WebhookSecretView)))]
async fn rotate_webhook_secret(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> Result<ApiJson<WebhookSecretView>, ApiError> {
    let secret = ctx.store.rotate_webhook_secret(&user.id).await?;
    Ok(ApiJson(WebhookSecretView {
        webhook_secret: secret.expose().to_owned(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    #[schema(min_length = 4, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedeemView {
    /// Credits the voucher added.
    pub credits: i64,
    /// The balance after redeeming.
    pub balance: i64,
    pub entry: LedgerEntryView,
}

/// Adds a voucher's credits to the caller's balance, once per voucher and customer.
#[utoipa::path(post, path = "/v1/vouchers/redeem", tag = "account", security(("api_key" = [])),
    request_body = RedeemRequest,
    responses((status = 200, body = RedeemView),
        (status = 404, description = "no such code", body = super::error::ErrorEnvelope),
        (status = 409, description = "used up, or already redeemed by you", body = super::error::ErrorEnvelope),
        (status = 422, description = "expired", body = super::error::ErrorEnvelope)))]
async fn redeem(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiJson(request): ApiJson<RedeemRequest>,
) -> Result<ApiJson<RedeemView>, ApiError> {
    let code = VoucherCode::parse(&request.code)
        .map_err(|e| ApiError::field("code", "invalid_parameter", e.to_string()))?;
    let entry = ctx.store.redeem_voucher(&user.id, &code).await?;
    let balance = ctx.store.user(&user.id).await?.balance;
    Ok(ApiJson(RedeemView {
        credits: entry.amount.get(),
        balance: balance.get(),
        entry: LedgerEntryView::from(&entry),
    }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(account))
        .routes(routes!(ledger))
        .routes(routes!(webhook_secret))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(redeem))
}
