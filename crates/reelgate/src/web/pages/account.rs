//! The customer's account: balance, ledger history, vouchers, API keys, webhook secret; its
//! security and data forms are `account_security`'s.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use reelgate_domain::accounts::{ApiKeyId, SessionToken, User};
use reelgate_domain::ledger::VoucherCode;
use reelgate_store::StoreError;
use serde::Deserialize;

use super::Chrome;
use crate::front::views::account::{ApiKeyView, NotificationsView, SessionView};
use crate::front::views::webhooks::{DeliveryView, LOG_SIZE};
use crate::web::error::{WebError, WebForm};
use crate::web::session::{Viewer, WebSession};
use crate::web::WebContext;

const LEDGER_PAGE: u32 = 25;

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/vouchers", post(redeem))
        .route("/account/api-keys", post(create_key))
        .route("/account/api-keys/{id}/revoke", post(revoke_key))
        .route("/account/webhook-secret/rotate", post(rotate_secret))
        .route("/account/webhooks/{id}/resend", post(resend_webhook))
        .merge(super::account_security::router())
}

#[derive(Debug, Default, Deserialize)]
struct AccountQuery {
    cursor: Option<String>,
    notice: Option<String>,
    /// Where the confirmation link of a mail sent us back from (`/confirm-email`).
    reason: Option<String>,
    credits: Option<i64>,
    /// Sessions ended by "sign out everywhere".
    ended: Option<u64>,
}

/// What a POST adds to the page it re-renders.
#[derive(Default)]
pub(super) struct Extras {
    pub(super) voucher_error: Option<&'static str>,
    pub(super) voucher_code: String,
    pub(super) new_key: Option<(String, String)>,
    pub(super) notice: Option<String>,
    /// A refused account-security form: its section's id and what was wrong.
    pub(super) security_error: Option<(&'static str, String)>,
    /// The session viewing the page, marked in the list of sessions.
    pub(super) session: Option<SessionToken>,
}

async fn account_page(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebSession(session): WebSession,
    Query(query): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let notice = match (query.notice.as_deref(), query.credits) {
        (Some("signed_out_everywhere"), _) => Some(
            chrome
                .text("security.signed_out_everywhere")
                .replace("{n}", &query.ended.unwrap_or(0).to_string()),
        ),
        (Some(notice), _) if super::account_security::NOTICES.contains(&notice) => {
            Some(chrome.text(&format!("security.{notice}")).to_owned())
        }
        (Some("voucher_redeemed"), Some(credits)) => Some(
            chrome
                .text("account.voucher_redeemed")
                .replace("{credits}", &credits.to_string()),
        ),
        (Some("key_revoked"), _) => Some(chrome.text("account.key_revoked").to_owned()),
        (Some("secret_rotated"), _) => Some(chrome.text("account.secret_rotated").to_owned()),
        (Some("webhook_resent"), _) => Some(chrome.text("account.webhook_resent").to_owned()),
        _ => match query.reason.as_deref() {
            Some("email_confirmed") => Some(chrome.text("signin.email_confirmed").to_owned()),
            Some("link_expired") => Some(chrome.text("signin.link_expired").to_owned()),
            Some("email_taken") => Some(chrome.text("signup.email_taken").to_owned()),
            _ => None,
        },
    };
    let extras = Extras {
        notice,
        session,
        ..Extras::default()
    };
    render(
        &web,
        &chrome,
        &user,
        query.cursor.as_deref(),
        extras,
        StatusCode::OK,
    )
    .await
}

pub(super) async fn render(
    web: &WebContext,
    chrome: &Chrome,
    user: &User,
    cursor: Option<&str>,
    extras: Extras,
    status: StatusCode,
) -> Result<Response, WebError> {
    let store = &web.api.store;
    let ledger = match store.history_page(&user.id, cursor, LEDGER_PAGE).await {
        Err(StoreError::InvalidCursor) => store.history_page(&user.id, None, LEDGER_PAGE).await?,
        other => other?,
    };
    let keys = store.list_api_keys(&user.id).await?;
    let secret = store.webhook_secret(&user.id).await?;
    let deliveries = store.webhook_log(&user.id, LOG_SIZE).await?;
    let preferences = store.mail_preferences(&user.id).await?;
    let sessions = store.sessions_of(&user.id, extras.session.as_ref()).await?;
    let (error_section, security_error) = extras.security_error.unzip();
    let page = chrome.render(
        "account.html",
        "account",
        context! {
            balance => ledger.balance.get(),
            held => ledger.held.get(),
            entries => super::history::lines(&ledger, &web.api.catalog, chrome.lang),
            next_cursor => ledger.next_cursor,
            first_page => cursor.is_none(),
            keys => keys.iter().map(ApiKeyView::from).collect::<Vec<_>>(),
            webhook_secret => secret.expose(),
            deliveries => deliveries.iter().map(DeliveryView::from).collect::<Vec<_>>(),
            voucher_error => extras.voucher_error.map(|k| chrome.text(k)),
            voucher_code => extras.voucher_code,
            new_key => extras.new_key.as_ref().map(|(name, key)| context! { name, key }),
            notice => extras.notice,
            preferences => NotificationsView::from(&preferences),
            sessions => sessions.iter().filter(|s| s.revoked_at.is_none())
                .map(SessionView::from).collect::<Vec<_>>(),
            require_verified => web.api.mail.settings.require_verified_email,
            error_section => error_section,
            security_error => security_error,
        },
    )?;
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
struct RedeemForm {
    #[serde(default)]
    csrf: String,
    code: String,
}

async fn redeem(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebForm(form): WebForm<RedeemForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let refused = |key: &'static str, status: StatusCode| {
        let extras = Extras {
            voucher_error: Some(key),
            voucher_code: form.code.clone(),
            ..Extras::default()
        };
        (extras, status)
    };
    let outcome = match VoucherCode::parse(&form.code) {
        Ok(code) => web.api.store.redeem_voucher(&user.id, &code).await,
        Err(_) => Err(StoreError::VoucherNotFound),
    };
    let (extras, status) = match outcome {
        Ok(entry) => {
            let to = format!(
                "/account?notice=voucher_redeemed&credits={}",
                entry.amount.get()
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Err(StoreError::VoucherNotFound) => {
            refused("account.voucher_not_found", StatusCode::NOT_FOUND)
        }
        Err(StoreError::VoucherExpired) => {
            refused("account.voucher_expired", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(StoreError::VoucherUsedUp) => refused("account.voucher_used_up", StatusCode::CONFLICT),
        Err(StoreError::VoucherAlreadyRedeemed) => {
            refused("account.voucher_already_redeemed", StatusCode::CONFLICT)
        }
        Err(other) => return Err(other.into()),
    };
    render(&web, &chrome, &user, None, extras, status).await
}

#[derive(Deserialize)]
struct CreateKeyForm {
    #[serde(default)]
    csrf: String,
    /// Bounded as the API's: a longer name or a control character is a malformed form.
    #[serde(default)]
    name: reelgate_domain::text::Name,
}

/// Shows the new key on the page this POST returns, not after a redirect: the key must not
/// sit in a URL or a cookie, and it is shown exactly once.
async fn create_key(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebForm(form): WebForm<CreateKeyForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let (info, key) = web
        .api
        .store
        .create_api_key(&user.id, form.name.as_str())
        .await?;
    let extras = Extras {
        new_key: Some((info.name.clone(), key.expose().to_owned())),
        ..Extras::default()
    };
    render(&web, &chrome, &user, None, extras, StatusCode::CREATED).await
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

async fn revoke_key(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let id = ApiKeyId::parse(&id).map_err(|_| WebError::NotFound)?;
    match web.api.store.revoke_api_key(&user.id, &id).await {
        Ok(()) => Ok(Redirect::to("/account?notice=key_revoked").into_response()),
        Err(StoreError::ApiKeyNotFound) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}

async fn rotate_secret(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    web.api.store.rotate_webhook_secret(&user.id).await?;
    Ok(Redirect::to("/account?notice=secret_rotated").into_response())
}

/// The same delivery (same `webhook-id` and body) sent again now.
async fn resend_webhook(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let deliverer = &web.api.lifecycle.wake.webhooks;
    if !crate::webhooks::resend::resend(&web.api.store, deliverer, &user.id, &id).await? {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to("/account?notice=webhook_resent#webhooks").into_response())
}
