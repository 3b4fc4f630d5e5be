//! iyzico's two signatures, as `iyzipay` computes them: the `IYZWSv2` authorization of each
//! request, and the `signature` of answers.

use base64::Engine;
use rust_decimal::Decimal;

use crate::hmac_hex;

/// `IYZWSv2 base64("apiKey:…&randomKey:…&signature:" + hex(HMAC(secret, rnd + path + body)))`.
pub fn authorization(api_key: &str, secret: &str, random: &str, path: &str, body: &str) -> String {
    let signature = hmac_hex(
        secret.as_bytes(),
        format!("{random}{path}{body}").as_bytes(),
    );
    let params = format!("apiKey:{api_key}&randomKey:{random}&signature:{signature}");
    format!(
        "IYZWSv2 {}",
        base64::engine::general_purpose::STANDARD.encode(params)
    )
}

/// The answer's `signature`: HMAC of the named fields' values joined with `:`.
pub fn response_signature(secret: &str, fields: &[&str]) -> String {
    hmac_hex(secret.as_bytes(), fields.join(":").as_bytes())
}

/// A price as it enters a signature: `iyzipay`'s `strip_zero(str(price))`, i.e. the shortest
/// decimal, `149.9` for 149.90 and `150` for 150.00.
pub fn signed_price(price: Decimal) -> String {
    price.normalize().to_string()
}

/// The API key and whether the signature verifies, from a request's authorization header.
pub(crate) fn verify(header: &str, api_key: &str, secret: &str, path: &str, body: &str) -> bool {
    let Some(encoded) = header.strip_prefix("IYZWSv2 ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    let mut key = None;
    let mut random = None;
    let mut signature = None;
    for part in text.split('&') {
        match part.split_once(':') {
            Some(("apiKey", v)) => key = Some(v),
            Some(("randomKey", v)) => random = Some(v),
            Some(("signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    match (key, random, signature) {
        (Some(key), Some(random), Some(signature)) => {
            let expected = hmac_hex(
                secret.as_bytes(),
                format!("{random}{path}{body}").as_bytes(),
            );
            key == api_key && expected.as_bytes() == signature.as_bytes()
        }
        _ => false,
    }
}
