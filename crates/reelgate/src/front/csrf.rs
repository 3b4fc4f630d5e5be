//! The CSRF token both front ends accept: HMAC(secret, nonce, session). The nonce lives in an
//! HttpOnly cookie, the session is the session cookie's value, so a token is worthless to
//! anyone without both cookies and the secret, and it changes at sign-in (new session, new
//! nonce). The web app checks it on every form (`web/csrf.rs`), the API on every write
//! authenticated by the session cookie (`http/csrf.rs`).

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

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
}
