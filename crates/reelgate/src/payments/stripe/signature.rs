//! `Stripe-Signature` verification, as Stripe documents it and `stripe.Webhook` does it:
//! HMAC-SHA256 keyed by the whole `whsec_…` secret over `"{t}.{body}"`, any of several `v1`
//! values (Stripe sends two while a secret is being rolled), compared in constant time, and a
//! timestamp within the tolerance so that a captured event cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::payments::provider::NotificationError;

/// Stripe's own default (`stripe.Webhook.DEFAULT_TOLERANCE`).
pub const TOLERANCE_SECS: i64 = 300;

pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), NotificationError> {
    let header = header.ok_or(NotificationError::MissingSignature)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v1)) => signatures.extend(hex::decode(v1).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp
        .ok_or_else(|| NotificationError::Malformed("Stripe-Signature has no timestamp".into()))?;
    if signatures.is_empty() {
        return Err(NotificationError::MissingSignature);
    }
    let matches = signatures.iter().any(|signature| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(signature).is_ok()
    });
    if !matches {
        return Err(NotificationError::BadSignature);
    }
    // Checked after the signature, so a forged header learns nothing about the clock.
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(NotificationError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_signature_by_the_secret_within_the_tolerance_verifies() {
        let body = r#"{"id":"evt_1"}"#;
        let v1 = sign("whsec_a", 1000, body);
        let header = format!("t=1000,v1={v1}");
        assert!(verify(Some(&header), body.as_bytes(), "whsec_a", 1200).is_ok());
        // Rolling secrets: one of several v1 values is enough.
        let rolled = format!("t=1000,v1={},v1={v1},v0=abc", sign("whsec_old", 1000, body));
        assert!(verify(Some(&rolled), body.as_bytes(), "whsec_a", 1000).is_ok());
    }

    #[test]
    fn forged_expired_and_missing_signatures_are_refused() {
        let body = r#"{"id":"evt_1"}"#;
        let v1 = sign("whsec_a", 1000, body);
        let header = format!("t=1000,v1={v1}");
        assert!(matches!(
            verify(Some(&header), body.as_bytes(), "whsec_b", 1000),
            Err(NotificationError::BadSignature)
        ));
        assert!(matches!(
            verify(Some(&header), br#"{"id":"evt_2"}"#, "whsec_a", 1000),
            Err(NotificationError::BadSignature)
        ));
        assert!(matches!(
            verify(Some(&header), body.as_bytes(), "whsec_a", 1301),
            Err(NotificationError::Expired)
        ));
        assert!(matches!(
            verify(None, body.as_bytes(), "whsec_a", 1000),
            Err(NotificationError::MissingSignature)
        ));
        assert!(matches!(
            verify(Some("t=1000"), body.as_bytes(), "whsec_a", 1000),
            Err(NotificationError::MissingSignature)
        ));
        // A v0 (test-mode) signature alone is not Stripe's scheme.
        let v0 = format!("t=1000,v0={v1}");
        assert!(verify(Some(&v0), body.as_bytes(), "whsec_a", 1000).is_err());
    }
}
