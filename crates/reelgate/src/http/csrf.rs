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
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use url::Url;

use super::ApiError;

/// The header carrying the token on the web app's own API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The names of the web app's cookies. Over https they carry the `__Host-` prefix, which
/// browsers accept only from this host, with `Secure` and `Path=/`: a sibling subdomain cannot
/// plant a session or a CSRF nonce of its choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
    /// Whether cookies get `Secure` (served over https).
    pub secure: bool,
}

impl CookieNames {
    pub fn for_public_url(public: &Url) -> CookieNames {
        if public.scheme() == "https" {
            CookieNames {
                session: "__Host-reelgate_session",
                csrf: "__Host-reelgate_csrf",
                secure: true,
            }
        } else {
            CookieNames {
                session: super::auth::SESSION_COOKIE,
                csrf: "reelgate_csrf",
                secure: false,
            }
        }
    }
}

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

    fn mac(&self, nonce: &str, session: Option<&str>) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(b"reelgate csrf v2:");
        mac.update(nonce.as_bytes());
        mac.update(b":");
        mac.update(session.unwrap_or("").as_bytes());
        mac
    }

    pub fn token(&self, nonce: &str, session: Option<&str>) -> String {
        hex::encode(self.mac(nonce, session).finalize().into_bytes())
    }

    /// Constant-time comparison.
    pub fn verify(&self, nonce: &str, session: Option<&str>, token: &str) -> bool {
        match hex::decode(token.trim()) {
            Ok(bytes) => self.mac(nonce, session).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

/// The value of the cookie `name` among the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    crate::web::cookies::get(headers.get_all(COOKIE), name)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> CsrfKey {
        CsrfKey::from_secret(&secrecy::SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_token_verifies_for_its_own_nonce_and_session_only() {
        let k = key("0123456789abcdef0123456789abcdef");
        let token = k.token("aaaa", Some("rgs_1"));
        assert!(k.verify("aaaa", Some("rgs_1"), &token));
        assert!(!k.verify("bbbb", Some("rgs_1"), &token));
        assert!(!k.verify("aaaa", Some("rgs_2"), &token));
        assert!(!k.verify("aaaa", None, &token));
        assert!(!k.verify("aaaa", Some("rgs_1"), ""));
        assert!(!k.verify("aaaa", Some("rgs_1"), "not hex"));
    }

    #[test]
    fn a_token_from_another_secret_is_refused() {
        let ours = key("0123456789abcdef0123456789abcdef");
        let theirs = key("fedcba9876543210fedcba9876543210");
        assert!(!ours.verify("aaaa", None, &theirs.token("aaaa", None)));
    }

    #[test]
    fn the_key_does_not_print() {
        let k = key("0123456789abcdef0123456789abcdef");
        assert!(!format!("{k:?}").contains("0123"));
    }

    #[test]
    fn cookies_are_host_prefixed_over_https_only() {
        let https = CookieNames::for_public_url(&Url::parse("https://v.example").unwrap());
        assert_eq!(https.session, "__Host-reelgate_session");
        assert!(https.secure);
        let http = CookieNames::for_public_url(&Url::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(http.session, "reelgate_session");
        assert!(!http.secure);
    }
}
