//! Web app sessions: a random token in the cookie, only its hash in the database, so sessions
//! can be revoked server-side and a copy of the database cannot be used to sign in.

use reelgate_domain::accounts::{SessionToken, User, UserId};
use std::time::Duration;

use crate::accounts::{enabled, user_from_row, USER_COLUMNS};
use crate::time::now_millis;
use crate::{retry, secrets, Store, StoreError};

impl Store {
    /// Starts a session for the user, valid for `ttl` unless revoked first.
    pub async fn create_session(
        &self,
        user: &UserId,
        ttl: Duration,
    ) -> Result<SessionToken, StoreError> {
        let token = secrets::new_session_token()?;
        let hash = secrets::hash(token.expose());
        let now = now_millis();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        retry::on_contention(|| async {
            let inserted = sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&hash)
            .bind(user.as_str())
            .bind(now)
            .bind(now.saturating_add(ttl_ms))
            .execute(&self.pool)
            .await;
            match inserted {
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                    Err(StoreError::UserNotFound)
                }
                other => other.map(|_| ()).map_err(StoreError::from),
            }
        })
        .await?;
        Ok(token)
    }

    /// The user a session belongs to: `None` if the token is unknown, expired or revoked, and
    /// `AccountDisabled` if the user has been disabled since signing in.
    pub async fn session_user(&self, token: &SessionToken) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = (
                 SELECT user_id FROM sessions
                 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2)"
        ))
        .bind(secrets::hash(token.expose()))
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        enabled(user_from_row(&row)?).map(Some)
    }

    /// Ends a session (signing out); unknown or already revoked tokens are not an error.
    pub async fn revoke_session(&self, token: &SessionToken) -> Result<(), StoreError> {
        let hash = secrets::hash(token.expose());
        retry::on_contention(|| async {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            )
            .bind(now_millis())
            .bind(&hash)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }
}
