//! iyzico's merchant notifications (*Settings → Merchant settings → Merchant notifications* in
//! the panel): a JSON post to `/v1/payments/iyzico/webhook` when a payment or a refund
//! changes, retried every 15 minutes until it is answered 2xx. Signed in the
//! `X-IYZ-SIGNATURE-V3` header: hex HMAC-SHA256, keyed by the merchant's secret key, of the
//! secret key followed by the notification's fields, concatenated without separators —
//! `iyziEventType`, `iyziPaymentId`, `token`, `paymentConversationId`, `status` for the hosted
//! pages (Checkout Form); `iyziEventType`, `paymentId`, `paymentConversationId`, `status` for
//! the direct format.
//!
//! A verified notification is still only a hint: the payment is then retrieved from iyzico's
//! API, which alone says whether it was paid and how much was refunded.

use hmac::{Hmac, Mac};
use reelgate_domain::payments::PaymentId;
use serde_json::Value;
use sha2::Sha256;

use crate::payments::provider::{Notification, NotificationError, Target};

pub const SIGNATURE_HEADER: &str = "x-iyz-signature-v3";

/// A field as text: iyzico writes ids as strings or numbers.
fn field(body: &Value, name: &str) -> Option<String> {
    match body.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What the signature covers, after the secret key: the hosted-page format when the
/// notification carries a checkout form's token, the direct format otherwise.
fn signed_fields(body: &Value) -> Result<Vec<String>, NotificationError> {
    let need = |name: &str| {
        field(body, name).ok_or_else(|| NotificationError::Malformed(format!("no {name}")))
    };
    let mut fields = vec![need("iyziEventType")?];
    if body.get("token").is_some() {
        fields.extend([need("iyziPaymentId")?, need("token")?]);
    } else {
        fields.push(need("paymentId")?);
    }
    fields.extend([need("paymentConversationId")?, need("status")?]);
    Ok(fields)
}

/// Whether `signature` (hex) is iyzico's over `fields`, compared in constant time.
pub fn verify(secret: &str, fields: &[String], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(secret.as_bytes());
    for field in fields {
        mac.update(field.as_bytes());
    }
    mac.verify_slice(&expected).is_ok()
}

/// Checks the signature and reads which payment the notification is about.
pub fn parse(
    secret: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Notification, NotificationError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.trim().is_empty())
        .ok_or(NotificationError::MissingSignature)?;
    let body: Value =
        serde_json::from_slice(body).map_err(|e| NotificationError::Malformed(e.to_string()))?;
    if !verify(secret, &signed_fields(&body)?, signature) {
        return Err(NotificationError::BadSignature);
    }
    let event_type = field(&body, "iyziEventType").unwrap_or_default();
    // The checkout form's token is what the payment keeps as its reference; without one, the
    // conversation id is the payment's own id, as reelgate sends it.
    let target = match (
        field(&body, "token"),
        field(&body, "paymentConversationId").and_then(|c| c.parse::<PaymentId>().ok()),
    ) {
        (Some(token), _) => Target::ProviderRef(token),
        (None, Some(payment)) => Target::Payment(payment),
        (None, None) => match field(&body, "paymentId") {
            Some(id) => Target::ProviderRef(id),
            None => Target::Nothing,
        },
    };
    Ok(Notification {
        event_id: field(&body, "iyziReferenceCode"),
        event_type: format!("webhook.{}", event_type.to_lowercase()),
        target,
        facts: Vec::new(),
        confirm: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn headers(signature: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers
    }

    #[test]
    fn a_hosted_page_notification_is_signed_over_its_token() {
        let body = serde_json::json!({
            "paymentConversationId": "pay_01", "merchantId": 1, "token": "tok",
            "status": "SUCCESS", "iyziReferenceCode": "ref-1",
            "iyziEventType": "CHECKOUT_FORM_AUTH", "iyziEventTime": 1, "iyziPaymentId": 42,
        })
        .to_string();
        let good = sign("s", "sCHECKOUT_FORM_AUTH42tokpay_01SUCCESS");
        let read = parse("s", &headers(&good), body.as_bytes()).unwrap();
        assert_eq!(read.event_id.as_deref(), Some("ref-1"));
        assert!(matches!(read.target, Target::ProviderRef(ref t) if t == "tok"));
        assert!(read.confirm && read.facts.is_empty());
        for bad in [
            sign("t", "sCHECKOUT_FORM_AUTH42tokpay_01SUCCESS"),
            sign("s", "sCHECKOUT_FORM_AUTH42tokpay_01FAILURE"),
        ] {
            assert!(matches!(
                parse("s", &headers(&bad), body.as_bytes()),
                Err(NotificationError::BadSignature)
            ));
        }
        assert!(matches!(
            parse("s", &http::HeaderMap::new(), body.as_bytes()),
            Err(NotificationError::MissingSignature)
        ));
    }

    #[test]
    fn a_direct_notification_is_signed_over_its_payment_id() {
        let body = serde_json::json!({
            "paymentConversationId": "conv", "paymentId": "42", "status": "SUCCESS",
            "iyziReferenceCode": "ref-2", "iyziEventType": "REFUND",
        })
        .to_string();
        let good = sign("s", "sREFUND42convSUCCESS");
        let read = parse("s", &headers(&good), body.as_bytes()).unwrap();
        // "conv" is no payment id of ours: found by iyzico's payment id instead.
        assert!(matches!(read.target, Target::ProviderRef(ref t) if t == "42"));
    }
}
