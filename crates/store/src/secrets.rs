//! Random secrets we hand out, and the hashes we keep of them instead.
//!
//! API keys and session tokens carry 192 and 256 random bits, so a plain SHA-256 is enough to
//! store them: unlike passwords they cannot be guessed, only stolen, and the hash makes a stolen
//! database useless for logging in.

use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use reelgate_domain::accounts::{AccountToken, ApiKey, SessionToken, WebhookSecret};
use reelgate_domain::ledger::VoucherCode;
use sha2::{Digest, Sha256};

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The hex SHA-256 of a secret: what lookups by key or token compare against.
pub(crate) fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(crate) fn new_api_key() -> Result<ApiKey, crate::StoreError> {
    let raw = format!("{}{}", ApiKey::PREFIX, hex::encode(random_bytes::<24>()));
    ApiKey::parse(&raw).map_err(|e| crate::StoreError::corrupt("api_keys", e))
}

pub(crate) fn new_session_token() -> Result<SessionToken, crate::StoreError> {
    let raw = format!(
        "{}{}",
        SessionToken::PREFIX,
        hex::encode(random_bytes::<32>())
    );
    SessionToken::parse(&raw).map_err(|e| crate::StoreError::corrupt("sessions", e))
}

pub(crate) fn new_account_token() -> Result<AccountToken, crate::StoreError> {
    let raw = format!(
        "{}{}",
        AccountToken::PREFIX,
        hex::encode(random_bytes::<32>())
    );
    AccountToken::parse(&raw).map_err(|e| crate::StoreError::corrupt("account_tokens", e))
}

/// Standard Webhooks secrets are `whsec_` and the base64 of the HMAC key.
pub(crate) fn new_webhook_secret() -> Result<WebhookSecret, crate::StoreError> {
    let key = base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>());
    let raw = format!("{}{key}", WebhookSecret::PREFIX);
    WebhookSecret::parse(&raw).map_err(|e| crate::StoreError::corrupt("users", e))
}

/// Three groups of four from an alphabet without look-alikes (no 0/O, 1/I): 60 random bits,
/// easy to read aloud or type from a printed card.
pub(crate) fn new_voucher_code() -> Result<VoucherCode, crate::StoreError> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<12>();
    let mut code = String::with_capacity(14);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(b % 32)]));
    }
    VoucherCode::parse(&code).map_err(|e| crate::StoreError::corrupt("vouchers", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_as_their_types_and_differ() {
        let a = new_api_key().unwrap();
        let b = new_api_key().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("rg_"));
        assert!(new_session_token().unwrap().expose().starts_with("rgs_"));
        assert!(new_webhook_secret().unwrap().expose().starts_with("whsec_"));
        assert_eq!(new_voucher_code().unwrap().as_str().len(), 14);
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
