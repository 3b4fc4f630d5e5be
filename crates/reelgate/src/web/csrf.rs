//! CSRF protection for every form: a signed double-submit cookie. The browser holds a random
//! nonce in an HttpOnly cookie; pages embed HMAC(secret, nonce) in a hidden field (and a meta
//! tag for scripts); a POST passes only if its field matches its cookie. Another site can make
//! the browser send the cookie but can neither read it nor compute the HMAC without our secret.
//! It works before sign-in too, so the sign-in form itself cannot be forged.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::cookies;
use super::error::WebError;
use super::WebContext;

pub const CSRF_COOKIE: &str = "reelgate_csrf";

/// The HMAC key, derived from `REELGATE_SECRET` so tokens survive restarts.
#[derive(Clone)]
pub struct CsrfKey(Hmac<Sha256>);

impl CsrfKey {
    pub fn from_secret(secret: &secrecy::SecretString) -> CsrfKey {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        CsrfKey(mac)
    }

    fn mac(&self, nonce: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(b"reelgate csrf v1:");
        mac.update(nonce.as_bytes());
        mac
    }

    pub fn token(&self, nonce: &str) -> String {
        hex::encode(self.mac(nonce).finalize().into_bytes())
    }

    /// Constant-time comparison.
    pub fn verify(&self, nonce: &str, token: &str) -> bool {
        match hex::decode(token.trim()) {
            Ok(bytes) => self.mac(nonce).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

/// The nonce this request's page will be bound to (from its cookie, or new).
#[derive(Clone)]
struct Nonce(String);

/// Gives every request a nonce, and a browser that has none the cookie holding it.
pub async fn ensure_cookie(
    State(web): State<WebContext>,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = cookies::get(request.headers().get_all(COOKIE), CSRF_COOKIE)
        .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()));
    let (nonce, fresh) = match existing {
        Some(nonce) => (nonce, false),
        None => (hex::encode(rand::random::<[u8; 16]>()), true),
    };
    request.extensions_mut().insert(Nonce(nonce.clone()));
    let mut response = next.run(request).await;
    if fresh {
        let cookie = cookies::build(CSRF_COOKIE, &nonce, web.secure_cookies, None);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// The request's CSRF token, for pages to embed and handlers to check submissions against.
pub struct Csrf {
    nonce: String,
    key: CsrfKey,
}

impl Csrf {
    pub fn token(&self) -> String {
        self.key.token(&self.nonce)
    }

    /// Refuses a submission whose token does not match this browser's cookie.
    pub fn check(&self, submitted: &str) -> Result<(), WebError> {
        if self.key.verify(&self.nonce, submitted) {
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
            key: web.csrf.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> CsrfKey {
        CsrfKey::from_secret(&secrecy::SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_token_verifies_for_its_own_nonce_only() {
        let k = key("0123456789abcdef0123456789abcdef");
        let token = k.token("aaaa");
        assert!(k.verify("aaaa", &token));
        assert!(!k.verify("bbbb", &token));
        assert!(!k.verify("aaaa", ""));
        assert!(!k.verify("aaaa", "not hex"));
    }

    #[test]
    fn a_token_from_another_secret_is_refused() {
        let ours = key("0123456789abcdef0123456789abcdef");
        let theirs = key("fedcba9876543210fedcba9876543210");
        assert!(!ours.verify("aaaa", &theirs.token("aaaa")));
    }

    #[test]
    fn the_key_does_not_print() {
        let k = key("0123456789abcdef0123456789abcdef");
        assert!(!format!("{k:?}").contains("0123"));
    }
}
