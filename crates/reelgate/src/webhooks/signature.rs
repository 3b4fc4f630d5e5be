//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the receiver recomputes
//! `HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")` with the key it shares with us.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("webhook secret must be `whsec_` followed by base64")]
pub struct MalformedSecret;

/// The three headers of a signed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
}

/// Signs `body` for delivery `id` at `timestamp` (seconds since the epoch).
pub fn sign(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<SignedHeaders, MalformedSecret> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|encoded| BASE64.decode(encoded).ok())
        .filter(|key| !key.is_empty())
        .ok_or(MalformedSecret)?;
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| MalformedSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let signature = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    Ok(SignedHeaders {
        id: id.to_owned(),
        timestamp,
        signature,
    })
}

/// A fresh random secret in the scheme's format (24 random bytes).
pub fn new_secret() -> String {
    format!(
        "{SECRET_PREFIX}{}",
        BASE64.encode(rand::random::<[u8; 24]>())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(
            signed.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert_eq!(sign("nope", "id", 1, b"{}"), Err(MalformedSecret));
        assert_eq!(sign("whsec_!!!", "id", 1, b"{}"), Err(MalformedSecret));
        assert!(sign(&new_secret(), "id", 1, b"{}").is_ok());
    }
}
