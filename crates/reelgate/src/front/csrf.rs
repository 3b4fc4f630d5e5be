//! The CSRF token both front ends accept: HMAC(secret, nonce, session). The nonce lives in an
//! HttpOnly cookie, the session is the session cookie's value, so a token is worthless to
//! anyone without both cookies and the secret, and it changes at sign-in (new session, new
//! nonce). The web app checks it on every form (`web/csrf.rs`), the API on every write
//! authenticated by the session cookie (`http/csrf.rs`).

use crate::signing::{Purpose, Signer};

/// The CSRF tokens' signer, keyed by `REELGATE_SECRET` so tokens survive restarts.
#[derive(Clone, Debug)]
pub struct CsrfKey(Signer);

impl CsrfKey {
    pub fn from_secret(secret: &secrecy::SecretString) -> CsrfKey {
        CsrfKey(Signer::new(secret, Purpose::CSRF))
    }

    pub fn token(&self, nonce: &str, session: Option<&str>) -> String {
        self.0.sign(&[nonce, session.unwrap_or("")])
    }

    /// Constant-time comparison.
    pub fn verify(&self, nonce: &str, session: Option<&str>, token: &str) -> bool {
        self.0.verify(&[nonce, session.unwrap_or("")], token.trim())
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
