//! Operator: voucher codes — create them, see them and who redeemed them.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::context;
use reelgate_domain::ledger::{Actor, Redemption, Voucher, VoucherCode};
use reelgate_domain::Credits;
use reelgate_store::{NewVoucher, StoreError};
use serde::{Deserialize, Serialize};

use crate::web::error::{WebError, WebForm};
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

#[derive(Serialize)]
struct VoucherRow {
    code: String,
    credits: i64,
    max_redemptions: i64,
    redemptions: i64,
    expires_at: Option<DateTime<Utc>>,
    expired: bool,
    created_at: DateTime<Utc>,
    redeemed_by: Vec<RedemptionRow>,
}

#[derive(Serialize)]
struct RedemptionRow {
    user_id: String,
    email: String,
    redeemed_at: DateTime<Utc>,
}

fn row(voucher: &Voucher, redemptions: &[Redemption], now: DateTime<Utc>) -> VoucherRow {
    VoucherRow {
        code: voucher.code.to_string(),
        credits: voucher.credits.get(),
        max_redemptions: voucher.max_redemptions,
        redemptions: voucher.redemptions,
        expires_at: voucher.expires_at,
        expired: voucher.expires_at.is_some_and(|at| at <= now),
        created_at: voucher.created_at,
        redeemed_by: redemptions
            .iter()
            .filter(|r| r.code == voucher.code)
            .map(|r| RedemptionRow {
                user_id: r.user_id.to_string(),
                email: r.email.to_string(),
                redeemed_at: r.redeemed_at,
            })
            .collect(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    created: Option<String>,
}

pub async fn list(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    render(
        &web,
        &chrome,
        query.created,
        None,
        &VoucherForm::default(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    web: &WebContext,
    chrome: &Chrome,
    created: Option<String>,
    error: Option<&str>,
    form: &VoucherForm,
    status: StatusCode,
) -> Result<Response, WebError> {
    let vouchers = web.api.store.list_vouchers().await?;
    let redemptions = web.api.store.voucher_redemptions(None).await?;
    let now = Utc::now();
    let page = chrome.render(
        "admin/vouchers.html",
        "admin_vouchers",
        context! {
            vouchers => vouchers.iter().map(|v| row(v, &redemptions, now)).collect::<Vec<_>>(),
            created => created,
            error => error,
            form => context! {
                code => form.code,
                credits => form.credits,
                max_redemptions => form.max_redemptions,
                expires_days => form.expires_days,
            },
        },
    )?;
    Ok((status, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct VoucherForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    credits: String,
    #[serde(default)]
    max_redemptions: String,
    /// Days until it expires; empty for never.
    #[serde(default)]
    expires_days: String,
}

pub async fn create(
    State(web): State<WebContext>,
    Operator(operator): Operator,
    chrome: Chrome,
    WebForm(form): WebForm<VoucherForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let refuse = |key: &str| {
        render(
            &web,
            &chrome,
            None,
            Some(chrome.text(key)),
            &form,
            StatusCode::BAD_REQUEST,
        )
    };
    let code = match form.code.trim() {
        "" => None,
        raw => match VoucherCode::parse(raw) {
            Ok(code) => Some(code),
            Err(_) => return refuse("admin.vouchers.bad_code").await,
        },
    };
    let Ok(credits) = form.credits.trim().parse::<i64>() else {
        return refuse("admin.vouchers.bad_credits").await;
    };
    let max_redemptions = match form.max_redemptions.trim() {
        "" => 1,
        raw => match raw.parse::<i64>() {
            Ok(n) if n > 0 => n,
            _ => return refuse("admin.vouchers.bad_max").await,
        },
    };
    let expires_at = match form.expires_days.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(days) if (1..=3650).contains(&days) => {
                Some(Utc::now() + chrono::Duration::days(days))
            }
            _ => return refuse("admin.vouchers.bad_expiry").await,
        },
    };
    let created = web
        .api
        .store
        .create_voucher(NewVoucher {
            code,
            credits: Credits::new(credits),
            max_redemptions,
            expires_at,
            created_by: Actor::User(operator.id.clone()),
        })
        .await;
    match created {
        Ok(voucher) => {
            let to = format!("/admin/vouchers?created={}", voucher.code);
            Ok(Redirect::to(&to).into_response())
        }
        Err(StoreError::VoucherCodeTaken) => refuse("admin.vouchers.code_taken").await,
        Err(StoreError::InvalidAmount(_)) => refuse("admin.vouchers.bad_credits").await,
        Err(StoreError::InvalidVoucher(_)) => refuse("admin.vouchers.bad_max").await,
        Err(other) => Err(other.into()),
    }
}
