//! Faithful local stand-ins for the parts of Stripe and iyzico that reelgate uses, in the Kie
//! simulator's spirit: the same wire format and the same signatures, so reelgate's real client
//! code talks to them unchanged (only the base URL differs), plus controls a test or a demo
//! uses to play the customer and the provider: pay, decline, refund, dispute, and deliver
//! events twice, late or out of order.
//!
//! Where the providers' documentation leaves something open, the stand-ins choose, and clients
//! should rely on no more than the official clients do (`crates/pay-sim/tests/official_clients.rs`
//! checks both against `stripe` and `iyzipay` for Python).

pub mod iyzico;
mod server;
pub mod stripe;

pub use server::Running;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lowercase hex HMAC-SHA256: both providers sign with it.
pub(crate) fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// A random id with the provider's prefix (`cs_test_…`, `pi_…`).
pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}

/// Text safe inside the stand-ins' small HTML pages.
pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
