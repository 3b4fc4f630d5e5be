//! Kie does not sign its callbacks by default, so the callback URL we give it carries a token
//! that only we can compute: an HMAC of the generation id under `REELGATE_SECRET`. A callback
//! without the right token is refused before it touches the database. When the operator turns
//! on Kie's webhook verification (`REELGATE_KIE_WEBHOOK_KEY`), Kie's signature is required too.

use reelgate_domain::generations::GenerationId;
use secrecy::{ExposeSecret, SecretString};

use crate::signing::{Purpose, Signer};

#[derive(Clone)]
pub struct CallbackTokens {
    /// Not stored anywhere: Kie holds the URL it was given, so the signer must keep
    /// computing the same token for a generation in flight (`signing.rs`).
    signer: Signer,
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
            signer: Signer::new(&secret, Purpose::KIE_CALLBACK),
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

    pub fn token(&self, id: &GenerationId) -> String {
        self.signer.sign(&[id.as_str()])
    }

    /// Constant-time comparison, so timing does not reveal a token byte by byte.
    pub fn verify(&self, id: &GenerationId, token: &str) -> bool {
        self.signer.verify(&[id.as_str()], token)
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

    #[test]
    fn a_generation_in_flight_keeps_the_token_kie_was_given_before_the_upgrade() {
        // As the code before the shared signer made it; Kie holds it in the callback URL.
        let id: GenerationId = "gen_01j00000000000000000000000".parse().unwrap();
        let ours = tokens("a-secret-of-at-least-thirty-two-chars!!");
        assert_eq!(ours.token(&id), "9e3a4a68b35eb1b1b37641792ab63ff5");
        assert!(ours.verify(&id, "9e3a4a68b35eb1b1b37641792ab63ff5"));
    }
}
