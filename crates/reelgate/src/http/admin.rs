//! Operator routes: customers, credit grants, disabling accounts, voucher codes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use reelgate_domain::accounts::{User, UserId};
use reelgate_domain::ledger::{Actor, Redemption, Voucher, VoucherCode};
use reelgate_domain::text::Reason;
use reelgate_domain::Credits;
use reelgate_store::{NewVoucher, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::account::{AccountView, LedgerEntryView};
use super::auth::AdminUser;
use super::{ApiContext, ApiError, ApiJson, ApiQuery};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only users whose email contains this text.
    #[param(nullable = false)]
    #[param(inline)]
    pub q: Option<reelgate_domain::text::Search>,
    /// The `next_cursor` of the previous page.
    #[param(nullable = false)]
    #[param(inline)]
    pub cursor: Option<reelgate_domain::text::Token>,
    /// Users per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// Newest first.
    pub users: Vec<AccountView>,
    pub next_cursor: Option<String>,
}

/// Users (customers and operators), newest first, optionally searched by email.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", security(("api_key" = [])),
    params(UserQuery),
    responses((status = 200, body = UserList), (status = 403, body = super::error::ErrorEnvelope)))]
async fn list_users(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> Result<ApiJson<UserList>, ApiError> {
    let page = ctx
        .store
        .list_users(
            query.q.as_deref(),
            query.cursor.as_deref(),
            super::account::page_limit(query.limit)?,
        )
        .await?;
    Ok(ApiJson(UserList {
        users: page.items.iter().map(AccountView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// Credits to add; a negative number is an adjustment, which cannot take the balance
    /// below zero.
    pub credits: i64,
    #[schema(inline)]
    pub reason: Option<Reason>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub entry: LedgerEntryView,
    /// The user's balance afterwards.
    pub balance: i64,
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|_| ApiError::NotFound("user"))
}

/// Grants credits to a user (or, with negative credits, adjusts their balance down).
#[utoipa::path(post, path = "/v1/admin/users/{id}/grants", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the user's id (`usr_…`)")),
    request_body = GrantRequest,
    responses((status = 201, body = GrantView),
        (status = 400, description = "bad input, or an adjustment that would make the balance negative (`adjustment_exceeds_balance`)", body = super::error::ErrorEnvelope)))]
async fn grant(
    State(ctx): State<ApiContext>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<GrantRequest>,
) -> Result<(StatusCode, ApiJson<GrantView>), ApiError> {
    let user = user_id(&id)?;
    let actor = Actor::User(admin.id);
    let amount = Credits::new(request.credits);
    let reason = request.reason.as_ref().map(Reason::as_str);
    let entry = match ctx
        .store
        .operator_grant(&user, amount, reason, &actor)
        .await
    {
        Ok(entry) => entry,
        // Said as the operator's next step, not as a customer's shortfall.
        Err(StoreError::InsufficientCredits { balance, .. }) => {
            return Err(ApiError::field(
                "credits",
                "adjustment_exceeds_balance",
                format!(
                    "an adjustment cannot take the balance below zero: the customer has {balance} \
                     credits available, so adjust by at most -{balance} (credits held by \
                     generations in progress come back or are charged when they finish)"
                ),
            ))
        }
        Err(other) => return Err(other.into()),
    };
    let balance = ctx.store.user(&user).await?.balance;
    Ok((
        StatusCode::CREATED,
        ApiJson(GrantView {
            entry: LedgerEntryView::from(&entry),
            balance: balance.get(),
        }),
    ))
}

/// Disables a user: their sessions and API keys stop working at once.
#[utoipa::path(post, path = "/v1/admin/users/{id}/disable", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the user's id (`usr_…`)")),
    responses((status = 200, body = AccountView), (status = 404, body = super::error::ErrorEnvelope),
        (status = 409, description = "operators cannot disable themselves", body = super::error::ErrorEnvelope)))]
async fn disable(
    State(ctx): State<ApiContext>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<ApiJson<AccountView>, ApiError> {
    let user = user_id(&id)?;
    if user == admin.id {
        return Err(ApiError::Conflict {
            code: "cannot_disable_self",
            message: "operators cannot disable their own account".into(),
        });
    }
    let user: User = ctx.store.set_disabled(&user, true).await?;
    Ok(ApiJson(AccountView::from(&user)))
}

/// Enables a disabled user again.
#[utoipa::path(post, path = "/v1/admin/users/{id}/enable", tag = "admin", security(("api_key" = [])),
    params(("id" = String, Path, description = "the user's id (`usr_…`)")),
    responses((status = 200, body = AccountView), (status = 404, body = super::error::ErrorEnvelope)))]
async fn enable(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<ApiJson<AccountView>, ApiError> {
    let user = ctx.store.set_disabled(&user_id(&id)?, false).await?;
    Ok(ApiJson(AccountView::from(&user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVoucher {
    /// The code customers type; generated (like `ABCD-EFGH-JKLM`) when absent.
    #[schema(min_length = 4, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    pub code: Option<String>,
    #[schema(minimum = 1)]
    pub credits: i64,
    /// How many customers may redeem it (each once). Default 1.
    #[schema(minimum = 1)]
    pub max_redemptions: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionView {
    pub user_id: String,
    pub email: String,
    pub redeemed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherView {
    pub code: String,
    pub credits: i64,
    pub max_redemptions: i64,
    /// How many times it has been redeemed.
    pub redemptions: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Who redeemed it, newest first.
    pub redeemed_by: Vec<RedemptionView>,
}

fn voucher_view(voucher: &Voucher, redemptions: &[Redemption]) -> VoucherView {
    VoucherView {
        code: voucher.code.to_string(),
        credits: voucher.credits.get(),
        max_redemptions: voucher.max_redemptions,
        redemptions: voucher.redemptions,
        expires_at: voucher.expires_at,
        created_by: voucher.created_by.to_string(),
        created_at: voucher.created_at,
        redeemed_by: redemptions
            .iter()
            .filter(|r| r.code == voucher.code)
            .map(|r| RedemptionView {
                user_id: r.user_id.to_string(),
                email: r.email.to_string(),
                redeemed_at: r.redeemed_at,
            })
            .collect(),
    }
}

/// Creates a voucher code.
#[utoipa::path(post, path = "/v1/admin/vouchers", tag = "admin", security(("api_key" = [])),
    request_body = CreateVoucher,
    responses((status = 201, body = VoucherView), (status = 409, body = super::error::ErrorEnvelope)))]
async fn create_voucher(
    State(ctx): State<ApiContext>,
    AdminUser(admin): AdminUser,
    ApiJson(request): ApiJson<CreateVoucher>,
) -> Result<(StatusCode, ApiJson<VoucherView>), ApiError> {
    let code = request
        .code
        .as_deref()
        .map(VoucherCode::parse)
        .transpose()
        .map_err(|e| ApiError::field("code", "invalid_parameter", e.to_string()))?;
    if request.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::field(
            "expires_at",
            "invalid_parameter",
            "expires_at is in the past: nobody could redeem this voucher",
        ));
    }
    let voucher = ctx
        .store
        .create_voucher(NewVoucher {
            code,
            credits: Credits::new(request.credits),
            max_redemptions: request.max_redemptions.unwrap_or(1),
            expires_at: request.expires_at,
            created_by: Actor::User(admin.id),
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(voucher_view(&voucher, &[]))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherList {
    /// Newest first.
    pub vouchers: Vec<VoucherView>,
}

/// Every voucher with its redemptions.
#[utoipa::path(get, path = "/v1/admin/vouchers", tag = "admin", security(("api_key" = [])),
    responses((status = 200, body = VoucherList)))]
async fn list_vouchers(
    State(ctx): State<ApiContext>,
    _admin: AdminUser,
) -> Result<ApiJson<VoucherList>, ApiError> {
    let vouchers = ctx.store.list_vouchers().await?;
    let redemptions = ctx.store.voucher_redemptions(None).await?;
    Ok(ApiJson(VoucherList {
        vouchers: vouchers
            .iter()
            .map(|v| voucher_view(v, &redemptions))
            .collect(),
    }))
}

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(grant))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(create_voucher, list_vouchers))
}
