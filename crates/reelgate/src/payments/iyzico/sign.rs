//! iyzico's signatures, as its official clients compute them: `IYZWSv2` on each request, and
//! the `signature` field of answers (HMAC-SHA256 of the documented fields joined with `:`).

use base64::Engine;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sha2::Sha256;

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail; an empty key is still a key.
    Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// `IYZWSv2 base64("apiKey:…&randomKey:…&signature:" + hex(HMAC(secret, rnd + path + body)))`,
/// `path` without the query.
pub fn authorization(api_key: &str, secret: &str, random: &str, path: &str, body: &str) -> String {
    let mut mac = mac(secret);
    mac.update(random.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let params = format!("apiKey:{api_key}&randomKey:{random}&signature:{signature}");
    format!(
        "IYZWSv2 {}",
        base64::engine::general_purpose::STANDARD.encode(params)
    )
}

/// Whether `signature` (hex) is iyzico's over `fields`, compared in constant time.
pub fn verify_response(secret: &str, fields: &[&str], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature) else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(fields.join(":").as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// A price as it enters a signature: the shortest decimal (`149.9`, `150`), which is what
/// `iyzipay`'s `strip_zero(str(price))` makes of iyzico's JSON numbers.
pub fn signed_price(price: Decimal) -> String {
    price.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_is_iyzipays() {
        // Computed with iyzipay-python's `generate_v2_hash("key", "/payment/test", "secret",
        // "123456789", "{}")`.
        let header = authorization("key", "secret", "123456789", "/payment/test", "{}");
        let encoded = header.strip_prefix("IYZWSv2 ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let text = String::from_utf8(decoded).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"123456789/payment/test{}");
        let want = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            text,
            format!("apiKey:key&randomKey:123456789&signature:{want}")
        );
    }

    #[test]
    fn prices_are_signed_in_their_shortest_form() {
        assert_eq!(signed_price(Decimal::new(14990, 2)), "149.9");
        assert_eq!(signed_price(Decimal::new(15000, 2)), "150");
        assert_eq!(signed_price(Decimal::new(5, 2)), "0.05");
    }

    #[test]
    fn a_response_signature_must_be_over_the_same_fields() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s").unwrap();
        mac.update(b"conv:token");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(verify_response("s", &["conv", "token"], &good));
        assert!(!verify_response("s", &["conv", "other"], &good));
        assert!(!verify_response("t", &["conv", "token"], &good));
        assert!(!verify_response("s", &["conv", "token"], "not hex"));
    }
}
