//! CSRF protection for every form: a signed double-submit cookie. The browser holds a random
//! nonce in an HttpOnly cookie; pages embed HMAC(secret, nonce, session) in a hidden field (and
//! a meta tag for scripts); a POST passes only if its field matches its cookies. Another site
//! can make the browser send the cookies but can neither read them nor compute the HMAC
//! without our secret. It works before sign-in too, so the sign-in form itself cannot be
//! forged; signing in starts a new nonce and session, so no token from before still works.
//! The token is made and checked by `front::csrf`, which the JSON API shares.

use super::cookies;
use super::error::WebError;
use super::WebContext;
use crate::front::csrf::CsrfKey;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The nonce this request's page will be bound to (from its cookie, or new).
#[derive(Clone)]
struct Nonce(String);

/// A fresh random nonce for the CSRF cookie.
pub fn new_nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Gives every request a nonce, and a browser that has none the cookie holding it.
pub async fn ensure_cookie(
    State(web): State<WebContext>,
    mut request: Request,
    next: Next,
) -> Response {
    let names = web.api.cookies;
    let existing = cookies::get(request.headers().get_all(COOKIE), names.csrf)
        .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()));
    let (nonce, fresh) = match existing {
        Some(nonce) => (nonce, false),
        None => (new_nonce(), true),
    };
    request.extensions_mut().insert(Nonce(nonce.clone()));
    let mut response = next.run(request).await;
    if fresh {
        let cookie = cookies::build(names.csrf, &nonce, names.secure, None);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// The request's CSRF token, for pages to embed and handlers to check submissions against.
pub struct Csrf {
    nonce: String,
    /// The session cookie's value, if any: tokens are bound to it.
    session: Option<String>,
    key: CsrfKey,
}

impl Csrf {
    pub fn token(&self) -> String {
        self.key.token(&self.nonce, self.session.as_deref())
    }

    /// Refuses a submission whose token does not match this browser's cookies.
    pub fn check(&self, submitted: &str) -> Result<(), WebError> {
        if self
            .key
            .verify(&self.nonce, self.session.as_deref(), submitted)
        {
            Ok(())
        } else {
            Err(WebError::BadCsrf)
        }
    }
}

impl FromRequestParts<WebContext> for Csrf {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &WebContext) -> Result<Self, WebError> {
        let nonce = parts
            .extensions
            .get::<Nonce>()
            .map(|n| n.0.clone())
            .ok_or_else(|| WebError::Internal("csrf middleware is not installed".into()))?;
        Ok(Csrf {
            nonce,
            session: cookies::get(parts.headers.get_all(COOKIE), web.api.cookies.session),
            key: web.api.csrf.clone(),
        })
    }
}
