//! Signing up, in and out, and choosing the language.

use axum::extract::{Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use reelgate_domain::accounts::{Email, Password, Role, SessionToken, User};
use reelgate_store::{Attempt, NewUser, StoreError};
use serde::Deserialize;
use std::time::Duration;

use super::Chrome;
use crate::accounts::security;
use crate::client_addr::ClientAddr;
use crate::web::error::{WebError, WebForm};
use crate::web::i18n::{Locale, LANG_COOKIE};
use crate::web::session::{self, safe_next, SESSION_TTL};
use crate::web::{cookies, csrf, throttle, WebContext};

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(sign_in_page).post(sign_in))
        .route("/signup", get(sign_up_page).post(sign_up))
        .route("/signout", post(sign_out))
        .route("/lang", post(choose_language))
}

async fn home(chrome: Chrome) -> Redirect {
    match &chrome.user {
        Some(user) => Redirect::to(session::home(user)),
        None => Redirect::to("/signin"),
    }
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    next: Option<String>,
    /// Why the visitor is here: `signed_out`, `signed_up`.
    reason: Option<String>,
}

async fn sign_in_page(
    State(web): State<WebContext>,
    chrome: Chrome,
    Query(query): Query<SignInQuery>,
) -> Result<Response, WebError> {
    if let Some(user) = &chrome.user {
        return Ok(Redirect::to(&safe_next(
            query.next.as_deref(),
            &web.api.config.public_url,
            user,
        ))
        .into_response());
    }
    let notice = match query.reason.as_deref() {
        Some("signed_out") => Some(chrome.text("signin.signed_out")),
        Some("password_changed") => Some(chrome.text("signin.password_changed")),
        Some("email_confirmed") => Some(chrome.text("signin.email_confirmed")),
        Some("link_expired") => Some(chrome.text("signin.link_expired")),
        Some("email_taken") => Some(chrome.text("signup.email_taken")),
        Some("account_closed") => Some(chrome.text("security.account_closed")),
        _ => None,
    };
    let page = chrome.render(
        "signin.html",
        "signin",
        context! { next => query.next, notice => notice, email => "" },
    )?;
    Ok(page.into_response())
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    email: String,
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(web): State<WebContext>,
    chrome: Chrome,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    WebForm(form): WebForm<SignInForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let refuse = |status: StatusCode, message: String| -> Result<Response, WebError> {
        let page = chrome.render(
            "signin.html",
            "signin",
            context! { next => form.next, error => message, email => form.email },
        )?;
        Ok((status, page).into_response())
    };
    let subject = throttle::subject(&form.email, client);
    let attempt = match web
        .api
        .store
        .reserve_attempt(&throttle::SIGN_IN, &subject)
        .await?
    {
        Attempt::Reserved(attempt) => attempt,
        Attempt::Refused { retry_after } => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1).to_string();
            let message = chrome
                .text("signin.throttled")
                .replace("{minutes}", &minutes);
            let mut page = refuse(StatusCode::TOO_MANY_REQUESTS, message)?;
            page.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
            return Ok(page);
        }
    };
    let credentials = Email::parse(&form.email)
        .ok()
        .zip(Password::parse(&form.password).ok());
    let outcome = match credentials {
        Some((email, password)) => web.api.store.authenticate(&email, &password).await,
        None => Err(StoreError::InvalidCredentials),
    };
    match outcome {
        Ok(user) => {
            web.api
                .store
                .clear_attempts(&throttle::SIGN_IN, &subject)
                .await?;
            start_session(
                &web,
                &user,
                &safe_next(form.next.as_deref(), &web.api.config.public_url, &user),
                &headers,
            )
            .await
        }
        // The reserved attempt stays counted: it was a guess.
        Err(StoreError::InvalidCredentials) => refuse(
            StatusCode::UNAUTHORIZED,
            chrome.text("signin.bad_credentials").into(),
        ),
        Err(StoreError::AccountDisabled) => {
            refuse(StatusCode::FORBIDDEN, chrome.text("signin.disabled").into())
        }
        Err(other) => {
            // No password was checked: the attempt must not count against the visitor.
            if let Err(error) = web.api.store.forgive_attempt(attempt).await {
                tracing::warn!(%error, "cannot give back a sign-in attempt");
            }
            Err(other.into())
        }
    }
}

/// Signs `user` in: a new session, its cookie, and off to `next`.
/// The CSRF nonce is replaced too, so that no token seen before signing in (one an attacker
/// planted, say) works after. The browser's User-Agent names the session in the account
/// page's list of sessions.
async fn start_session(
    web: &WebContext,
    user: &User,
    next: &str,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let token: SessionToken = web
        .api
        .store
        .start_session(&user.id, SESSION_TTL, agent)
        .await?;
    let names = web.api.cookies;
    let session = cookies::build(
        names.session,
        token.expose(),
        names.secure,
        Some(SESSION_TTL),
    );
    let csrf = cookies::build(names.csrf, &csrf::new_nonce(), names.secure, None);
    // Appended: an array of headers would replace the first cookie with the second.
    Ok((
        AppendHeaders([(SET_COOKIE, session), (SET_COOKIE, csrf)]),
        Redirect::to(next),
    )
        .into_response())
}

async fn sign_up_page(chrome: Chrome) -> Result<Response, WebError> {
    if chrome.user.is_some() {
        return Ok(Redirect::to("/generate").into_response());
    }
    Ok(chrome
        .render("signup.html", "signup", context! { email => "" })?
        .into_response())
}

#[derive(Deserialize)]
struct SignUpForm {
    #[serde(default)]
    csrf: String,
    email: String,
    password: String,
}

async fn sign_up(
    State(web): State<WebContext>,
    chrome: Chrome,
    headers: HeaderMap,
    WebForm(form): WebForm<SignUpForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let refuse = |field: &str, key: &str| -> Result<Response, WebError> {
        let page = chrome.render(
            "signup.html",
            "signup",
            context! { email => form.email, error => chrome.text(key), error_field => field },
        )?;
        Ok((StatusCode::BAD_REQUEST, page).into_response())
    };
    let Ok(email) = Email::parse(&form.email) else {
        return refuse("email", "signup.bad_email");
    };
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(reelgate_domain::accounts::PasswordError::TooLong { .. }) => {
            return refuse("password", "signup.password_too_long")
        }
        Err(_) => return refuse("password", "signup.password_too_short"),
    };
    let new = NewUser {
        email,
        password,
        role: Role::Customer,
        signup_bonus: web.api.config.signup_bonus,
    };
    let mail = &web.api.lifecycle.wake.mail;
    let created = security::sign_up(&web.api.store, mail, new, chrome.lang.language()).await;
    match created {
        Ok(user) => start_session(&web, &user, "/generate?welcome=1", &headers).await,
        Err(StoreError::EmailTaken) => refuse("email", "signup.email_taken"),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(web): State<WebContext>,
    chrome: Chrome,
    headers: HeaderMap,
    WebForm(form): WebForm<CsrfOnly>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let token = cookies::get(
        headers.get_all(axum::http::header::COOKIE),
        web.api.cookies.session,
    )
    .and_then(|raw| SessionToken::parse(&raw).ok());
    if let Some(token) = token {
        web.api.store.revoke_session(&token).await?;
    }
    let cookie = cookies::clear(web.api.cookies.session, web.api.cookies.secure);
    Ok((
        [(SET_COOKIE, cookie)],
        Redirect::to("/signin?reason=signed_out"),
    )
        .into_response())
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    csrf: String,
    lang: String,
    next: Option<String>,
}

async fn choose_language(
    State(web): State<WebContext>,
    chrome: Chrome,
    WebForm(form): WebForm<LanguageForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let lang = Locale::parse(&form.lang).unwrap_or(chrome.lang);
    // Mail follows the language the customer reads the site in.
    if let Some(user) = &chrome.user {
        web.api
            .store
            .set_language(&user.id, lang.language())
            .await?;
    }
    let cookie = cookies::build(
        LANG_COOKIE,
        lang.code(),
        web.api.cookies.secure,
        Some(Duration::from_secs(365 * 24 * 3600)),
    );
    let next = match (form.next.as_deref(), &chrome.user) {
        (Some(next), Some(user)) => safe_next(Some(next), &web.api.config.public_url, user),
        (Some(next), None) => session::same_site_or_root(next, &web.api.config.public_url),
        (None, _) => "/".to_owned(),
    };
    Ok(([(SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}
