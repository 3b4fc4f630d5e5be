//! Kie keys entered on the operator pages are stored sealed: XChaCha20-Poly1305 under a key
//! derived from the instance secret (`REELGATE_SECRET`), a random 192-bit nonce per key, and
//! the key's fingerprint as associated data, so a sealed key copied onto another row does not
//! open. A stolen database without the secret holds no usable Kie key. Every instance sharing
//! a database must share the secret (callback tokens and media links need it already).

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Names the format, so a later one can be told apart.
const VERSION: &str = "v1.";
/// Separates this use of the instance secret from its others.
const PURPOSE: &[u8] = b"reelgate: Kie API keys at rest, v1";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the sealed key is not in a format this build knows")]
    Malformed,
    /// Sealed under another instance secret, or altered.
    #[error("the sealed key does not open with this instance's secret (REELGATE_SECRET differs from the instance that stored it?)")]
    WrongSecret,
}

pub struct KeySeal {
    cipher: XChaCha20Poly1305,
}

impl KeySeal {
    pub fn new(secret: &SecretString) -> Self {
        // The secret is random (at least 32 characters, checked at start): a hash of it
        // under a fixed purpose is key enough, and differs from the secret's other uses.
        let key = Sha256::new()
            .chain_update(PURPOSE)
            .chain_update(secret.expose_secret().as_bytes())
            .finalize();
        KeySeal {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// The key, sealed for storage next to `fingerprint`.
    pub fn seal(&self, key: &SecretString, fingerprint: &str) -> Result<String, SealError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: key.expose_secret().as_bytes(),
            aad: fingerprint.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| SealError::Malformed)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        let text = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
        Ok(format!("{VERSION}{text}"))
    }

    pub fn open(&self, sealed: &str, fingerprint: &str) -> Result<SecretString, SealError> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|text| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text)
                    .ok()
            })
            .filter(|bytes| bytes.len() > NONCE_LEN)
            .ok_or(SealError::Malformed)?;
        let (nonce, message) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: message,
            aad: fingerprint.as_bytes(),
        };
        let opened = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SealError::WrongSecret)?;
        String::from_utf8(opened)
            .map(SecretString::from)
            .map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_secret_and_fingerprint() {
        let seal = KeySeal::new(&secret("an instance secret of at least 32 chars"));
        let key = secret("kie-live-key-0123456789");
        let sealed = seal.seal(&key, "kie-aaaa").unwrap();
        assert!(!sealed.contains("0123456789"), "{sealed}");
        assert_ne!(
            sealed,
            seal.seal(&key, "kie-aaaa").unwrap(),
            "a fresh nonce each time"
        );
        let opened = seal.open(&sealed, "kie-aaaa").unwrap();
        assert_eq!(opened.expose_secret(), key.expose_secret());
        assert!(matches!(
            seal.open(&sealed, "kie-bbbb"),
            Err(SealError::WrongSecret)
        ));
        let other = KeySeal::new(&secret("another instance secret, 32 chars long"));
        assert!(matches!(
            other.open(&sealed, "kie-aaaa"),
            Err(SealError::WrongSecret)
        ));
        assert!(matches!(
            seal.open("v1.@@", "kie-aaaa"),
            Err(SealError::Malformed)
        ));
    }
}
