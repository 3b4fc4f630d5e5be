//! Authentication as extractors: a handler that takes `AuthUser` (or `AdminUser`) cannot run for
//! a caller who is not signed in, disabled, or (for admin routes) not an operator.
//!
//! Credentials are an API key (`Authorization: Bearer rg_…`) or the web app's session cookie.
//! A request that sends an Authorization header is judged by it alone, so a bad key is never
//! rescued by a cookie the browser happened to send. A write authenticated by the cookie must
//! prove it is the web app's own (`csrf::check_cookie_request`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use reelgate_domain::accounts::{ApiKey, SessionToken, User};
use reelgate_store::StoreError;

use super::{ApiContext, ApiError};

pub use crate::front::cookies::SESSION_COOKIE;

/// A signed-in, enabled user (customer or operator). Signed in by API key, it may come from
/// the store's key cache: its `balance`, `held` and `debt` may be up to
/// `reelgate_store::KEY_CACHE_TTL` old, so a handler that shows them reads the user again.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

/// A signed-in, enabled operator.
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

impl FromRequestParts<ApiContext> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, ApiError> {
        let found = match credentials(parts, ctx.cookies.session)? {
            Credentials::ApiKey(key) => ctx.store.api_key_user(&key).await,
            Credentials::Session(token) => {
                super::csrf::check_cookie_request(
                    parts,
                    &ctx.config.public_url,
                    &ctx.csrf,
                    &ctx.cookies,
                )?;
                ctx.store.session_user(&token).await
            }
        };
        match found {
            Ok(Some(user)) => Ok(AuthUser(user)),
            Ok(None) => Err(ApiError::Unauthorized),
            Err(StoreError::AccountDisabled) => Err(ApiError::Forbidden),
            Err(other) => Err(other.into()),
        }
    }
}

impl FromRequestParts<ApiContext> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, ApiError> {
        let AuthUser(user) = AuthUser::from_request_parts(parts, ctx).await?;
        if user.is_admin() {
            Ok(AdminUser(user))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// The web app's session the request came with, if it came with one (and no API key): the
/// session a password change or "sign out everywhere" keeps signed in. Says nothing of
/// whether the session is valid; `AuthUser` does that.
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Option<SessionToken>);

impl FromRequestParts<ApiContext> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, ApiError> {
        Ok(CurrentSession(
            match credentials(parts, ctx.cookies.session) {
                Ok(Credentials::Session(token)) => Some(token),
                _ => None,
            },
        ))
    }
}

enum Credentials {
    ApiKey(ApiKey),
    Session(SessionToken),
}

fn credentials(parts: &Parts, session_cookie: &str) -> Result<Credentials, ApiError> {
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
        let key = header
            .to_str()
            .ok()
            .and_then(bearer)
            .and_then(|key| ApiKey::parse(key.trim()).ok())
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Credentials::ApiKey(key));
    }
    super::csrf::cookie(&parts.headers, session_cookie)
        .and_then(|value| SessionToken::parse(&value).ok())
        .map(Credentials::Session)
        .ok_or(ApiError::Unauthorized)
}

/// The credentials of a `Bearer` Authorization header. The scheme is case-insensitive
/// (RFC 9110 §11.1): `bearer rg_…` is as good as `Bearer rg_…`.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    const KEY: &str = "rg_0123456789abcdef0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "rgs_0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_bearer_api_key_is_read_from_the_authorization_header() {
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let header = format!("{scheme} {KEY}");
            let found = credentials(&parts(&[("authorization", &header)]), SESSION_COOKIE);
            assert!(matches!(found, Ok(Credentials::ApiKey(key)) if key.expose() == KEY));
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let cookie = format!("theme=dark; {SESSION_COOKIE}={TOKEN}; lang=en");
        let found = credentials(&parts(&[("cookie", &cookie)]), SESSION_COOKIE);
        assert!(matches!(found, Ok(Credentials::Session(t)) if t.expose() == TOKEN));
    }

    #[test]
    fn a_malformed_authorization_header_is_not_rescued_by_a_cookie() {
        let cookie = format!("{SESSION_COOKIE}={TOKEN}");
        for header in ["Basic abc", "Bearer nonsense", KEY] {
            let found = credentials(
                &parts(&[("authorization", header), ("cookie", &cookie)]),
                SESSION_COOKIE,
            );
            assert!(matches!(found, Err(ApiError::Unauthorized)), "{header}");
        }
    }

    #[test]
    fn no_credentials_is_unauthorized() {
        assert!(matches!(
            credentials(&parts(&[]), SESSION_COOKIE),
            Err(ApiError::Unauthorized)
        ));
    }
}
