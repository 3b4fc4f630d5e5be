//! Operator: find customers, look at one, grant or adjust their credits, set their limits
//! and tier (`limits.rs`), disable them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use reelgate_domain::accounts::{User, UserId};
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::StoreError;
use serde::Deserialize;

use super::limits::Refusal;
use crate::front::views::account::{AccountView, LedgerEntryView};
use crate::web::error::{WebError, WebForm};
use crate::web::pages::videos::AdminRow;
use crate::web::pages::Chrome;
use crate::web::session::Operator;
use crate::web::WebContext;

const USERS_PAGE: u32 = 50;
const LEDGER_PAGE: u32 = 30;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

pub async fn list(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let page = match web
        .api
        .store
        .list_users(search, query.cursor.as_deref(), USERS_PAGE)
        .await
    {
        Err(StoreError::InvalidCursor) => {
            web.api.store.list_users(search, None, USERS_PAGE).await?
        }
        other => other?,
    };
    Ok(chrome
        .render(
            "admin/users.html",
            "admin_users",
            context! {
                q => search.unwrap_or(""),
                users => page.items.iter().map(AccountView::from).collect::<Vec<_>>(),
                next_cursor => page.next_cursor,
            },
        )?
        .into_response())
}

fn parse_id(raw: &str) -> Result<UserId, WebError> {
    UserId::parse(raw).map_err(|_| WebError::NotFound)
}

async fn find(web: &WebContext, id: &UserId) -> Result<User, WebError> {
    match web.api.store.user(id).await {
        Ok(user) => Ok(user),
        Err(StoreError::UserNotFound) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    notice: Option<String>,
}

pub async fn detail(
    State(web): State<WebContext>,
    Operator(operator): Operator,
    chrome: Chrome,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let notice = match query.notice.as_deref() {
        Some("granted") => Some(chrome.text("admin.user.granted")),
        Some("disabled") => Some(chrome.text("admin.user.now_disabled")),
        Some("enabled") => Some(chrome.text("admin.user.now_enabled")),
        Some("limits_saved") => Some(chrome.text("admin.limits.saved")),
        _ => None,
    };
    render_detail(&web, &chrome, &operator, &id, notice, None).await
}

/// Which form on the user page was refused, and why.
enum Refused<'a> {
    Grant(&'a str),
    Limits(&'a Refusal),
}

/// The user page again, with the limits form's refusal (`POST /admin/users/{id}/limits`).
pub(super) async fn render_with_limits_refusal(
    web: &WebContext,
    chrome: &Chrome,
    operator: &User,
    id: &UserId,
    refusal: &Refusal,
) -> Result<Response, WebError> {
    render_detail(
        web,
        chrome,
        operator,
        id,
        None,
        Some(Refused::Limits(refusal)),
    )
    .await
}

async fn render_detail(
    web: &WebContext,
    chrome: &Chrome,
    operator: &User,
    id: &UserId,
    notice: Option<&str>,
    refused: Option<Refused<'_>>,
) -> Result<Response, WebError> {
    let user = find(web, id).await?;
    let limits = super::limits::of_customer(web, id).await?;
    let (grant_error, limits_error) = match &refused {
        Some(Refused::Grant(message)) => (Some(*message), None),
        Some(Refused::Limits(refusal)) => (None, Some(refusal)),
        None => (None, None),
    };
    let ledger = web.api.store.ledger_page(id, None, LEDGER_PAGE).await?;
    let generations = web.api.store.generations_of(id, None, None, 20).await?;
    let page = chrome.render(
        "admin/user.html",
        "admin_users",
        context! {
            customer => AccountView::from(&user),
            is_self => user.id == operator.id,
            entries => ledger.entries.iter().map(|e| {
                let mut row = LedgerEntryView::from(e);
                row.reason = crate::web::pages::history::reason_text(e, chrome.lang);
                row
            }).collect::<Vec<_>>(),
            generations => generations.items.iter().map(|g| AdminRow::new(g, &web.api.catalog, chrome.lang)).collect::<Vec<_>>(),
            notice => notice,
            grant_error => grant_error,
            limits => limits,
            limits_error => limits_error.map(|r| r.message.as_str()),
            limits_error_field => limits_error.map(|r| r.field),
        },
    )?;
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    credits: String,
    /// Bounded as the API's: a longer reason or a control character is a malformed form.
    #[serde(default)]
    reason: reelgate_domain::text::Reason,
}

pub async fn grant(
    State(web): State<WebContext>,
    Operator(operator): Operator,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<GrantForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let id = parse_id(&id)?;
    let refuse = |key: &str| {
        render_detail(
            &web,
            &chrome,
            &operator,
            &id,
            None,
            Some(Refused::Grant(chrome.text(key))),
        )
    };
    let credits = match form.credits.trim().parse::<i64>() {
        Ok(0) | Err(_) => return refuse("admin.user.grant_invalid").await,
        Ok(n) => Credits::new(n),
    };
    let actor = Actor::User(operator.id.clone());
    let outcome = web
        .api
        .store
        .operator_grant(&id, credits, Some(form.reason.as_str()), &actor)
        .await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/admin/users/{id}?notice=granted")).into_response()),
        Err(StoreError::InsufficientCredits { .. }) => refuse("admin.user.adjust_below_zero").await,
        Err(StoreError::InvalidAmount(_)) => refuse("admin.user.grant_invalid").await,
        Err(StoreError::UserNotFound) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct DisabledForm {
    #[serde(default)]
    csrf: String,
    disabled: bool,
}

pub async fn set_disabled(
    State(web): State<WebContext>,
    Operator(operator): Operator,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<DisabledForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let id = parse_id(&id)?;
    if id == operator.id {
        return Err(WebError::Forbidden);
    }
    match web.api.store.set_disabled(&id, form.disabled).await {
        Ok(_) => {
            let notice = if form.disabled { "disabled" } else { "enabled" };
            Ok(Redirect::to(&format!("/admin/users/{id}?notice={notice}")).into_response())
        }
        Err(StoreError::UserNotFound) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}
