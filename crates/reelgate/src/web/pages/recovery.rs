//! Getting back in by mail (asking for a reset link, choosing a new password with it) and
//! following the link that confirms an address.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use reelgate_domain::accounts::AccountToken;
use reelgate_store::StoreError;
use serde::Deserialize;

use super::Chrome;
use crate::accounts::{recovery, RecoveryError};
use crate::client_addr::ClientAddr;
use crate::web::error::{WebError, WebForm};
use crate::web::WebContext;

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/password-reset", get(request_page).post(request))
        .route("/password-reset/confirm", get(confirm_page).post(confirm))
        .route("/confirm-email", get(confirm_email))
}

async fn request_page(chrome: Chrome) -> Result<Response, WebError> {
    Ok(chrome
        .render("password_reset.html", "signin", context! { email => "" })?
        .into_response())
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    csrf: String,
    email: String,
}

async fn request(
    State(web): State<WebContext>,
    chrome: Chrome,
    ClientAddr(client): ClientAddr,
    WebForm(form): WebForm<RequestForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let outcome = recovery::request_reset(
        &web.api.store,
        &web.api.lifecycle.wake.mail,
        &form.email,
        client,
    )
    .await;
    let refuse = |status: StatusCode, message: String| -> Result<Response, WebError> {
        let page = chrome.render(
            "password_reset.html",
            "signin",
            context! { email => form.email, error => message },
        )?;
        Ok((status, page).into_response())
    };
    match outcome {
        Ok(()) => Ok(chrome
            .render("password_reset.html", "signin", context! { sent => true })?
            .into_response()),
        Err(RecoveryError::Invalid { .. }) => refuse(
            StatusCode::BAD_REQUEST,
            chrome.text("signup.bad_email").into(),
        ),
        Err(RecoveryError::Throttled(wait)) => {
            let minutes = wait.as_secs().div_ceil(60).max(1).to_string();
            let message = chrome
                .text("reset.throttled")
                .replace("{minutes}", &minutes);
            refuse(StatusCode::TOO_MANY_REQUESTS, message)
        }
        Err(RecoveryError::Store(other)) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn confirm_page(
    chrome: Chrome,
    Query(query): Query<TokenQuery>,
) -> Result<Response, WebError> {
    let token = query.token.unwrap_or_default();
    // Checked for shape only: whether it still works is decided once, when it is used.
    let bad_token = AccountToken::parse(token.trim()).is_err();
    let error = bad_token.then(|| chrome.text("reset.bad_token"));
    Ok(chrome
        .render(
            "password_reset_confirm.html",
            "signin",
            context! { token => token, bad_token => bad_token, error => error },
        )?
        .into_response())
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    token: String,
    password: String,
}

async fn confirm(
    State(web): State<WebContext>,
    chrome: Chrome,
    WebForm(form): WebForm<ConfirmForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    match recovery::confirm_reset(
        &web.api.store,
        &web.api.lifecycle.wake.mail,
        &form.token,
        &form.password,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/signin?reason=password_changed").into_response()),
        Err(RecoveryError::Invalid { field, .. }) => {
            let (key, bad_token) = match field {
                "token" => ("reset.bad_token", true),
                _ if form.password.chars().count() > 256 => ("signup.password_too_long", false),
                _ => ("signup.password_too_short", false),
            };
            let page = chrome.render(
                "password_reset_confirm.html",
                "signin",
                context! { token => form.token, bad_token => bad_token, error => chrome.text(key) },
            )?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(RecoveryError::Store(other)) => Err(other.into()),
        Err(unexpected) => Err(WebError::internal(unexpected)),
    }
}

async fn confirm_email(
    State(web): State<WebContext>,
    chrome: Chrome,
    Query(query): Query<TokenQuery>,
) -> Result<Response, WebError> {
    let token = query
        .token
        .as_deref()
        .and_then(|t| AccountToken::parse(t.trim()).ok());
    let outcome = match token {
        Some(token) => web.api.store.confirm_address(&token).await,
        None => Err(StoreError::InvalidToken),
    };
    let next = if chrome.user.is_some() {
        "/account"
    } else {
        "/signin"
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("{next}?reason=email_confirmed")).into_response()),
        Err(StoreError::InvalidToken) => {
            Ok(Redirect::to(&format!("{next}?reason=link_expired")).into_response())
        }
        Err(StoreError::EmailTaken) => {
            Ok(Redirect::to(&format!("{next}?reason=email_taken")).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
