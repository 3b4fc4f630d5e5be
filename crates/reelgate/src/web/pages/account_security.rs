//! The account page's forms for the account itself: address, password, sessions, what is
//! mailed, and closing it. The same store operations as the JSON API's
//! (`http::account_security`, `http::account_data`).

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use reelgate_domain::accounts::{Email, Password, User};
use reelgate_domain::Credits;
use reelgate_store::StoreError;
use serde::Deserialize;

use super::account::{render, CsrfForm, Extras};
use super::Chrome;
use crate::accounts::{security, verification, VerificationError};
use crate::front::cookies;
use crate::web::error::{WebError, WebForm};
use crate::web::session::{Viewer, WebSession};
use crate::web::WebContext;

/// The `?notice=` values the account page shows from `security.<notice>`.
pub(super) const NOTICES: [&str; 5] = [
    "email_change_sent",
    "confirmation_sent",
    "password_changed_here",
    "notifications_saved",
    "already_confirmed",
];

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/account/email", post(change_email))
        .route("/account/email/confirmation", post(resend_confirmation))
        .route("/account/password", post(change_password))
        .route("/account/sessions/revoke", post(sign_out_everywhere))
        .route("/account/notifications", post(set_notifications))
        .route("/account/close", post(close))
}

/// The account page again, with `key`'s text shown in `section`.
async fn refuse(
    web: &WebContext,
    chrome: &Chrome,
    user: &User,
    section: &'static str,
    key: &str,
    status: StatusCode,
) -> Result<Response, WebError> {
    let extras = Extras {
        security_error: Some((section, chrome.text(key).to_owned())),
        ..Extras::default()
    };
    render(web, chrome, user, None, extras, status).await
}

/// The account page again for a store refusal the customer can act on; others are errors.
async fn refused(
    web: &WebContext,
    chrome: &Chrome,
    user: &User,
    section: &'static str,
    error: StoreError,
) -> Result<Response, WebError> {
    let (key, status) = match error {
        StoreError::InvalidCredentials => ("security.wrong_password", StatusCode::BAD_REQUEST),
        StoreError::EmailTaken => ("security.email_taken", StatusCode::CONFLICT),
        StoreError::AccountBusy(_) => ("security.close_busy", StatusCode::CONFLICT),
        other => return Err(other.into()),
    };
    refuse(web, chrome, user, section, key, status).await
}

fn to_account(notice: &str, section: &str) -> Response {
    Redirect::to(&format!("/account?notice={notice}#{section}")).into_response()
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    csrf: String,
    new_email: String,
    password: String,
}

async fn change_email(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebForm(form): WebForm<EmailForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let Ok(new_email) = Email::parse(&form.new_email) else {
        return refuse(
            &web,
            &chrome,
            &user,
            "email",
            "signup.bad_email",
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let outcome = match Password::parse(&form.password) {
        Ok(password) => {
            let mail = &web.api.lifecycle.wake.mail;
            security::request_email_change(&web.api.store, mail, &user.id, &password, &new_email)
                .await
        }
        Err(_) => Err(StoreError::InvalidCredentials),
    };
    match outcome {
        Ok(()) => Ok(to_account("email_change_sent", "email")),
        Err(error) => refused(&web, &chrome, &user, "email", error).await,
    }
}

async fn resend_confirmation(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    match verification::resend(&web.api.store, &web.api.lifecycle.wake.mail, &user.id).await {
        Ok(true) => Ok(to_account("confirmation_sent", "email")),
        Ok(false) => Ok(to_account("already_confirmed", "email")),
        Err(VerificationError::Throttled(_)) => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            refuse(
                &web,
                &chrome,
                &user,
                "email",
                "security.too_many_mails",
                status,
            )
            .await
        }
        Err(VerificationError::Store(error)) => Err(error.into()),
        Err(other) => Err(WebError::internal(other)),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebSession(session): WebSession,
    WebForm(form): WebForm<PasswordForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let new = match Password::parse(&form.new_password) {
        Ok(new) => new,
        Err(reelgate_domain::accounts::PasswordError::TooLong { .. }) => {
            let status = StatusCode::BAD_REQUEST;
            return refuse(
                &web,
                &chrome,
                &user,
                "password",
                "signup.password_too_long",
                status,
            )
            .await;
        }
        Err(_) => {
            let status = StatusCode::BAD_REQUEST;
            return refuse(
                &web,
                &chrome,
                &user,
                "password",
                "signup.password_too_short",
                status,
            )
            .await;
        }
    };
    let outcome = match Password::parse(&form.current_password) {
        Ok(current) => {
            let mail = &web.api.lifecycle.wake.mail;
            security::change_password(
                &web.api.store,
                mail,
                &user.id,
                &current,
                &new,
                session.as_ref(),
            )
            .await
        }
        Err(_) => Err(StoreError::InvalidCredentials),
    };
    match outcome {
        Ok(()) => Ok(to_account("password_changed_here", "password")),
        Err(error) => refused(&web, &chrome, &user, "password", error).await,
    }
}

async fn sign_out_everywhere(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebSession(session): WebSession,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let ended = web
        .api
        .store
        .sign_out_everywhere(&user.id, session.as_ref())
        .await?;
    Ok(Redirect::to(&format!(
        "/account?notice=signed_out_everywhere&ended={ended}#sessions"
    ))
    .into_response())
}

#[derive(Deserialize)]
struct NotificationsForm {
    #[serde(default)]
    csrf: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    notify_generations: Option<String>,
    #[serde(default)]
    low_balance: Option<String>,
    /// Empty: no reminder.
    #[serde(default)]
    low_balance_below: String,
}

async fn set_notifications(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebForm(form): WebForm<NotificationsForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let threshold = match (form.low_balance.is_some(), form.low_balance_below.trim()) {
        (false, _) => None,
        (true, raw) => match raw.parse::<i64>() {
            Ok(n) if n > 0 => Some(Credits::new(n)),
            _ => {
                let status = StatusCode::BAD_REQUEST;
                let key = "security.bad_threshold";
                return refuse(&web, &chrome, &user, "notifications", key, status).await;
            }
        },
    };
    web.api
        .store
        .set_mail_preferences(&user.id, form.notify_generations.is_some(), threshold)
        .await?;
    Ok(to_account("notifications_saved", "notifications"))
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    password: String,
    /// The balance the page showed: closing gives exactly these credits up, or nothing is done.
    forfeit_credits: i64,
}

async fn close(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    WebForm(form): WebForm<CloseForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let balance = web.api.store.user(&user.id).await?.balance;
    if balance.get() != form.forfeit_credits {
        // The balance moved since the page was shown: show it again.
        let status = StatusCode::CONFLICT;
        return refuse(
            &web,
            &chrome,
            &user,
            "close",
            "security.balance_changed",
            status,
        )
        .await;
    }
    let outcome = match Password::parse(&form.password) {
        Ok(password) => {
            security::close_account(&web.api.store, &web.api.media.wake, &user.id, &password).await
        }
        Err(_) => Err(StoreError::InvalidCredentials),
    };
    match outcome {
        Ok(closed) => {
            tracing::info!(user = %user.id, forfeited = %closed.forfeited,
                "account closed by its owner");
            let cookie = cookies::clear(web.api.cookies.session, web.api.cookies.secure);
            Ok((
                [(SET_COOKIE, cookie)],
                Redirect::to("/signin?reason=account_closed"),
            )
                .into_response())
        }
        Err(error) => refused(&web, &chrome, &user, "close", error).await,
    }
}
