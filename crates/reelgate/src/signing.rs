//! The one HMAC-SHA256 setup behind every token reelgate issues from `REELGATE_SECRET`: the
//! CSRF tokens of both front ends, the signed media links, and the token in the callback URL
//! Kie is given.
//!
//! Each [`Purpose`] has a label that begins every message it signs
//! (`label:part:part…`). The labels are distinct and contain no `:`, so the first `:` of a
//! message says whose it is and a token made for one purpose never verifies for another.
//! This is exactly how each of the three signed before they shared this type, so every
//! token issued before — a callback URL Kie holds for a generation in flight, a media link
//! on a customer's site, a form open in a tab — still verifies: a key derived per purpose
//! would have made every one of them invalid at the upgrade, for no gain in separation.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// What a signature is for, and how much of the MAC it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purpose {
    label: &'static str,
    /// Bytes of the MAC in the token (hex-encoded, twice as many characters).
    tag_bytes: usize,
}

impl Purpose {
    /// A form's or a cookie-authenticated API write's CSRF token: the whole MAC.
    pub const CSRF: Purpose = Purpose {
        label: "reelgate csrf v2",
        tag_bytes: 32,
    };
    /// The token in a generation's callback URL: 128 bits, short enough for a URL path.
    pub const KIE_CALLBACK: Purpose = Purpose {
        label: "kie-callback",
        tag_bytes: 16,
    };
    /// A media link's `signature`: 128 bits.
    pub const MEDIA_LINK: Purpose = Purpose {
        label: "media-link",
        tag_bytes: 16,
    };
    /// Every purpose, so a test can hold them apart.
    pub const ALL: [Purpose; 3] = [Purpose::CSRF, Purpose::KIE_CALLBACK, Purpose::MEDIA_LINK];
}

/// Signs and verifies the messages of one purpose under the instance secret. Cheap to clone;
/// never prints its key.
#[derive(Clone)]
pub struct Signer {
    /// Keyed once; each message signs a clone.
    keyed: Hmac<Sha256>,
    purpose: Purpose,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}, [redacted])", self.purpose.label)
    }
}

impl Signer {
    pub fn new(secret: &SecretString, purpose: Purpose) -> Signer {
        // HMAC takes keys of any length, so this cannot fail.
        let keyed = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        Signer { keyed, purpose }
    }

    /// `label:part:part…`; a part must not contain `:` unless it is the last.
    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(self.purpose.label.as_bytes());
        for part in parts {
            mac.update(b":");
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The token for `parts`, hex-encoded.
    pub fn sign(&self, parts: &[&str]) -> String {
        hex::encode(&self.mac(parts).finalize().into_bytes()[..self.purpose.tag_bytes])
    }

    /// Whether `token` is this purpose's token for `parts`, compared in constant time so
    /// that timing does not reveal a token byte by byte.
    pub fn verify(&self, parts: &[&str], token: &str) -> bool {
        match hex::decode(token) {
            Ok(tag) if tag.len() == self.purpose.tag_bytes => {
                self.mac(parts).verify_truncated_left(&tag).is_ok()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    const SECRET: &str = "a-secret-of-at-least-thirty-two-chars!!";
    const ID: &str = "gen_01j00000000000000000000000";

    /// Tokens as the code before this type made them (HMAC-SHA256 of the same messages,
    /// computed apart from this code): they must keep verifying across the upgrade.
    #[test]
    fn tokens_issued_before_keep_verifying() {
        let signer = |purpose| Signer::new(&secret(SECRET), purpose);
        let callback = "9e3a4a68b35eb1b1b37641792ab63ff5";
        assert_eq!(signer(Purpose::KIE_CALLBACK).sign(&[ID]), callback);
        assert!(signer(Purpose::KIE_CALLBACK).verify(&[ID], callback));
        let link = "6b26c9e5dc26df73e8d405e3dc9b288a";
        let parts = [ID, "0", "video", "1767225600"];
        assert_eq!(signer(Purpose::MEDIA_LINK).sign(&parts), link);
        let nonce = "00112233445566778899aabbccddeeff";
        assert_eq!(
            signer(Purpose::CSRF).sign(&[nonce, "rgs_example"]),
            "e75eba4fd9d6a126aa00f07d295442e2a8e15be333918b8cd8fe40841653ead1"
        );
        assert_eq!(
            signer(Purpose::CSRF).sign(&[nonce, ""]),
            "936bd9842627eac349b8403c2f5faf1410c64c2e3d59d816adf7fea77c8bd404"
        );
    }

    #[test]
    fn a_token_for_one_purpose_never_verifies_for_another() {
        for made in Purpose::ALL {
            for asked in Purpose::ALL.into_iter().filter(|p| *p != made) {
                let token = Signer::new(&secret(SECRET), made).sign(&[ID]);
                assert!(
                    !Signer::new(&secret(SECRET), asked).verify(&[ID], &token),
                    "{made:?} verified as {asked:?}"
                );
            }
        }
        let labels: Vec<_> = Purpose::ALL.iter().map(|p| p.label).collect();
        assert!(labels.iter().all(|l| !l.contains(':')), "{labels:?}");
    }

    #[test]
    fn a_token_verifies_for_its_own_parts_and_secret_only() {
        let signer = Signer::new(&secret(SECRET), Purpose::MEDIA_LINK);
        let token = signer.sign(&[ID, "0"]);
        assert!(signer.verify(&[ID, "0"], &token));
        assert!(!signer.verify(&[ID, "1"], &token));
        assert!(!signer.verify(&[ID], &token));
        let other = Signer::new(
            &secret("another-secret-of-thirty-two-chars-long"),
            Purpose::MEDIA_LINK,
        );
        assert!(!other.verify(&[ID, "0"], &token));
        assert!(!signer.verify(&[ID, "0"], &token[..30]));
        assert!(!signer.verify(&[ID, "0"], "not hex"));
        assert!(!signer.verify(&[ID, "0"], ""));
    }

    #[test]
    fn the_key_does_not_print() {
        let signer = Signer::new(&secret(SECRET), Purpose::CSRF);
        assert!(!format!("{signer:?}").contains("a-secret"));
    }
}
