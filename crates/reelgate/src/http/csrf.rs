//! Cross-site request forgery, for both front ends.
//!
//! The web app's forms and the JSON API accept the same session cookie, which a browser sends
//! along with requests another site makes it send. A CSRF token is HMAC(secret, nonce,
//! session): the nonce lives in an HttpOnly cookie, the session is the session cookie's value,
//! so a token is worthless to anyone without both cookies and the secret, and it changes at
//! sign-in (new session, new nonce): a token planted before sign-in is dead after it.
//!
//! A cookie-authenticated write to the API must, on top of the token (header `X-CSRF-Token`,
//! which the web app's script takes from the page), come from our own origin by what the
//! browser says: `Sec-Fetch-Site` same-origin (or absent), `Origin` ours (or absent). API keys
//! are not sent by browsers on their own, so requests with one need none of this.

use axum::http::header::{COOKIE, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use url::Url;

use super::ApiError;
pub use crate::front::cookies::CookieNames;
pub use crate::front::csrf::CsrfKey;

/// The header carrying the token on the web app's own API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of the cookie `name` among the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    crate::front::cookies::get(headers.get_all(COOKIE), name)
}

fn refused(message: &str) -> ApiError {
    ApiError::ForbiddenBecause {
        code: "cross_site_request",
        message: message.to_owned(),
    }
}

/// Lets a request authenticated by the session cookie through only if it cannot have been
/// forged by another site. Reads (GET, HEAD, OPTIONS) change nothing and pass.
pub fn check_cookie_request(
    parts: &Parts,
    public: &Url,
    key: &CsrfKey,
    names: &CookieNames,
) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if site != "same-origin" {
            return Err(refused(
                "a request from another site may not use the session cookie",
            ));
        }
    }
    if let Some(origin) = header(ORIGIN.as_str()) {
        let ours = public.origin().ascii_serialization();
        if origin != ours {
            return Err(refused(
                "a request from another origin may not use the session cookie",
            ));
        }
    }
    let nonce = cookie(&parts.headers, names.csrf);
    let session = cookie(&parts.headers, names.session);
    let token = header(CSRF_HEADER);
    match (nonce, token) {
        (Some(nonce), Some(token)) if key.verify(&nonce, session.as_deref(), token) => Ok(()),
        _ => Err(refused(
            "send the page's CSRF token as X-CSRF-Token, or use an API key",
        )),
    }
}
