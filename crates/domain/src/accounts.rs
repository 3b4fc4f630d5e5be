//! Accounts: who may spend credits, and the secrets that prove it.
//!
//! Every value here is parsed once at the edge (HTTP, CLI) so the rest of the code cannot hold
//! a malformed email or print a password by accident.

use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

/// Stable identifier of a user: `usr_` followed by a lower-case ULID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(String);

/// Identifier of an API key (not the key itself): `key_` followed by a lower-case ULID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKeyId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct IdError {
    kind: &'static str,
}

macro_rules! prefixed_id {
    ($ty:ident, $prefix:literal, $kind:literal) => {
        impl $ty {
            const PREFIX: &'static str = $prefix;

            /// A new, unique, time-ordered id.
            pub fn generate() -> Self {
                Self(format!(
                    "{}{}",
                    Self::PREFIX,
                    ulid::Ulid::new().to_string().to_lowercase()
                ))
            }

            pub fn parse(s: &str) -> Result<Self, IdError> {
                let body = s
                    .strip_prefix(Self::PREFIX)
                    .ok_or(IdError { kind: $kind })?;
                match ulid::Ulid::from_string(body) {
                    Ok(ulid) => Ok(Self(format!(
                        "{}{}",
                        Self::PREFIX,
                        ulid.to_string().to_lowercase()
                    ))),
                    Err(_) => Err(IdError { kind: $kind }),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $ty {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}

prefixed_id!(UserId, "usr_", "user");
prefixed_id!(ApiKeyId, "key_", "API key");

/// An email address, trimmed and lower-cased, so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email is empty")]
    Empty,
    #[error("email is longer than {max} characters")]
    TooLong { max: usize },
    #[error("email must look like name@example.com")]
    Malformed,
}

impl Email {
    const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong { max: Self::MAX_LEN });
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        let chars_ok = email
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"<>(),;:\"[]\\".contains(c));
        if local.is_empty() || domain.contains('@') || !domain_ok || !chars_ok {
            return Err(EmailError::Malformed);
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, EmailError> {
        Email::parse(s)
    }
}

/// A plaintext password on its way to being hashed or checked. Never printed.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {min} characters")]
    TooShort { min: usize },
    #[error("password must be at most {max} characters")]
    TooLong { max: usize },
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    /// Bounds the work an attacker can make the password hasher do per request.
    pub const MAX_CHARS: usize = 256;

    pub fn parse(raw: &str) -> Result<Password, PasswordError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Customer,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be customer or admin")]
pub struct RoleError;

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Role, RoleError> {
        match s {
            "customer" => Ok(Role::Customer),
            "admin" => Ok(Role::Admin),
            _ => Err(RoleError),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as stored, with the cached balances the ledger keeps in step with its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    /// Spendable credits: the sum of the user's ledger rows.
    pub balance: crate::Credits,
    /// Credits set aside for generations not yet settled (already subtracted from `balance`).
    pub held: crate::Credits,
    /// Credits owed after a refund or chargeback took back credits already spent; while it is
    /// above zero, new generations are refused and the next purchase pays it first.
    pub debt: crate::Credits,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Defines a secret string type that never prints, parsed from text that starts with `$prefix`.
macro_rules! secret_token {
    ($(#[$doc:meta])* $ty:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $ty(String);

        impl $ty {
            pub const PREFIX: &'static str = $prefix;

            /// Accepts the prefix followed by 16 to 128 URL-safe characters.
            pub fn parse(raw: &str) -> Result<Self, TokenError> {
                let body = raw.strip_prefix(Self::PREFIX).ok_or(TokenError { what: $what })?;
                let ok = (16..=128).contains(&body.len())
                    && body
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'+' || b == b'/' || b == b'=');
                if ok {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(TokenError { what: $what })
                }
            }

            /// The secret itself, for showing it once to its owner or sending it in a header.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}[redacted])", stringify!($ty), Self::PREFIX)
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what}")]
pub struct TokenError {
    what: &'static str,
}

secret_token!(
    /// An API key as the customer holds it: `rg_` and random characters. Stored only hashed.
    ApiKey,
    "rg_",
    "API key"
);
secret_token!(
    /// The web app's session cookie value. Stored only hashed.
    SessionToken,
    "rgs_",
    "session token"
);
secret_token!(
    /// The key customers use to verify our signed webhooks (Standard Webhooks `whsec_` + base64).
    WebhookSecret,
    "whsec_",
    "webhook secret"
);

/// What an owner sees about one of their API keys; never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: String,
    /// The first characters of the key, enough to tell keys apart in a list.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@example.com",
            "ada@.example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn short_passwords_are_rejected() {
        assert!(matches!(
            Password::parse("1234567"),
            Err(PasswordError::TooShort { min: 8 })
        ));
        assert!(Password::parse("12345678").is_ok());
    }

    #[test]
    fn secrets_never_print() {
        let password = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
        let key = ApiKey::parse("rg_0123456789abcdef0123456789abcdef").unwrap();
        assert!(!format!("{key:?}").contains("0123"));
    }

    #[test]
    fn api_keys_need_their_prefix_and_length() {
        assert!(ApiKey::parse("rg_short").is_err());
        assert!(ApiKey::parse("xx_0123456789abcdef0123456789abcdef").is_err());
        assert!(ApiKey::parse("rg_0123456789abcdef 123456789abcdef").is_err());
    }

    #[test]
    fn ids_round_trip_and_reject_other_prefixes() {
        let id = UserId::generate();
        assert_eq!(UserId::parse(id.as_str()), Ok(id.clone()));
        assert!(UserId::parse(&id.as_str().replace("usr_", "key_")).is_err());
        assert!(ApiKeyId::parse("key_nonsense").is_err());
    }
}
