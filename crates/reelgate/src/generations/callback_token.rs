//! Kie does not sign its callbacks by default, so the callback URL we give it carries a token
//! that only we can compute: an HMAC of the generation id under `REELGATE_SECRET`. A callback
//! without the right token is refused before it touches the database. When the operator turns
//! on Kie's webhook verification (`REELGATE_KIE_WEBHOOK_KEY`), Kie's signature is required too.

use hmac::{Hmac, Mac};
use reelgate_domain::generations::GenerationId;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// 128 bits of the MAC, hex-encoded: unguessable, and short enough for a URL path.
const TOKEN_BYTES: usize = 16;

#[derive(Clone)]
pub struct CallbackTokens {
    secret: SecretString,
    kie_webhook_key: Option<SecretString>,
}

impl std::fmt::Debug for CallbackTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackTokens(..)")
    }
}

impl CallbackTokens {
    pub fn new(secret: SecretString) -> Self {
        CallbackTokens {
            secret,
            kie_webhook_key: None,
        }
    }

    /// Also require Kie's signature (`X-Webhook-Timestamp`, `X-Webhook-Signature`).
    pub fn with_kie_webhook_key(mut self, key: Option<SecretString>) -> Self {
        self.kie_webhook_key = key;
        self
    }

    /// Whether a callback naming `task_id` carries what Kie's webhook verification asks for:
    /// always, without a configured key; with one, Kie's valid signature of that task.
    pub fn kie_signature_holds(
        &self,
        task_id: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
    ) -> bool {
        let Some(key) = &self.kie_webhook_key else {
            return true;
        };
        match (task_id, timestamp, signature) {
            (Some(task), Some(at), Some(signature)) => {
                kie::signature_is_valid(key.expose_secret().as_bytes(), task, at, signature)
            }
            _ => false,
        }
    }

    fn mac(&self, id: &GenerationId) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(b"kie-callback:");
        mac.update(id.as_str().as_bytes());
        mac
    }

    pub fn token(&self, id: &GenerationId) -> String {
        hex::encode(&self.mac(id).finalize().into_bytes()[..TOKEN_BYTES])
    }

    /// Constant-time comparison, so timing does not reveal a token byte by byte.
    pub fn verify(&self, id: &GenerationId, token: &str) -> bool {
        match hex::decode(token) {
            Ok(bytes) if bytes.len() == TOKEN_BYTES => {
                self.mac(id).verify_truncated_left(&bytes).is_ok()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &str) -> CallbackTokens {
        CallbackTokens::new(SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_token_verifies_only_for_its_own_generation_and_secret() {
        let ours = tokens("a-secret-of-at-least-thirty-two-chars!!");
        let (a, b) = (GenerationId::new(), GenerationId::new());
        let token = ours.token(&a);
        assert_eq!(token.len(), 32);
        assert!(ours.verify(&a, &token));
        assert!(!ours.verify(&b, &token));
        assert!(!tokens("another-secret-of-thirty-two-chars-long").verify(&a, &token));
        assert!(!ours.verify(&a, &token[..30]));
        assert!(!ours.verify(&a, "not hex at all"));
    }
}
