//! Ids of packages and payments: a prefix and a lower-case ULID, so they sort by creation time
//! (newest-first pages walk them) and say what they name.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Monotonic within this process, so ids made in the same millisecond keep their order.
static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

fn new_ulid() -> String {
    GENERATOR
        .lock()
        .ok()
        .and_then(|mut generator| generator.generate().ok())
        // A poisoned lock, or 2^80 ids in one millisecond: a random one will do.
        .unwrap_or_else(|| ulid::Ulid::from_datetime(std::time::SystemTime::now()))
        .to_string()
        .to_ascii_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {what} id: {raw:?}")]
pub struct ParseIdError {
    what: &'static str,
    raw: String,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $ty:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            pub fn new() -> Self {
                $ty(format!("{}{}", $prefix, new_ulid()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $ty {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, ParseIdError> {
                let error = || ParseIdError { what: $what, raw: s.to_owned() };
                let body = s.strip_prefix($prefix).ok_or_else(error)?;
                match ulid::Ulid::from_string(body) {
                    Ok(_) if body.len() == 26 => Ok($ty(s.to_ascii_lowercase())),
                    _ => Err(error()),
                }
            }
        }

        impl TryFrom<String> for $ty {
            type Error = ParseIdError;
            fn try_from(s: String) -> Result<Self, ParseIdError> {
                s.parse()
            }
        }

        impl From<$ty> for String {
            fn from(id: $ty) -> String {
                id.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// A credit package (`pkg_…`).
    PackageId, "pkg_", "package"
);
prefixed_id!(
    /// One attempt to buy a package (`pay_…`); also the conversation id and the reference the
    /// providers carry back to us.
    PaymentId, "pay_", "payment"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_strangers() {
        let id = PaymentId::new();
        assert_eq!(id.as_str().parse::<PaymentId>(), Ok(id.clone()));
        assert!(id.as_str().parse::<PackageId>().is_err());
        assert!("pay_nope".parse::<PaymentId>().is_err());
        assert!(PaymentId::new() > id);
    }
}
