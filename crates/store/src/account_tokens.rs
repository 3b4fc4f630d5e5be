//! The tokens of the links we mail (reset a password, confirm an address): random, stored
//! only as their SHA-256, expiring, and used at most once — the conditional UPDATE that marks
//! one used is what decides, however many requests race with the same link.

use reelgate_domain::accounts::{AccountToken, Email, UserId};
use sqlx::{AnyConnection, Row};
use std::time::Duration;

use crate::time::now_millis;
use crate::{secrets, StoreError};

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    PasswordReset,
    VerifyEmail,
    ChangeEmail,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::VerifyEmail => "verify_email",
            Purpose::ChangeEmail => "change_email",
        }
    }
}

/// A token that was valid and is now used.
pub(crate) struct Used {
    pub user: UserId,
    pub new_email: Option<String>,
}

/// Makes a new token for `user`; the caller mails it in the same transaction. Earlier unused
/// tokens of the same purpose stop working: only the newest link does what it says.
pub(crate) async fn issue(
    conn: &mut AnyConnection,
    user: &UserId,
    purpose: Purpose,
    new_email: Option<&Email>,
    ttl: Duration,
) -> Result<AccountToken, StoreError> {
    let now = now_millis();
    supersede(conn, user, purpose, now).await?;
    let token = secrets::new_account_token()?;
    let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, new_email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(secrets::hash(token.expose()))
    .bind(user.as_str())
    .bind(purpose.as_str())
    .bind(new_email.map(Email::as_str))
    .bind(now)
    .bind(now.saturating_add(ttl))
    .execute(conn)
    .await?;
    Ok(token)
}

/// Ends every unused token of `purpose` of the user.
pub(crate) async fn supersede(
    conn: &mut AnyConnection,
    user: &UserId,
    purpose: Purpose,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE account_tokens SET used_at = $1
         WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user.as_str())
    .bind(purpose.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses the token if it is of `purpose`, unused and unexpired; `InvalidToken` otherwise.
pub(crate) async fn consume(
    conn: &mut AnyConnection,
    token: &AccountToken,
    purpose: Purpose,
) -> Result<Used, StoreError> {
    let now = now_millis();
    let row = sqlx::query(
        "UPDATE account_tokens SET used_at = $1
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
         RETURNING user_id, new_email",
    )
    .bind(now)
    .bind(secrets::hash(token.expose()))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::InvalidToken)?;
    Ok(Used {
        user: UserId::parse(&row.try_get::<String, _>("user_id")?)
            .map_err(|e| StoreError::corrupt("account_tokens", e))?,
        new_email: row.try_get("new_email")?,
    })
}
