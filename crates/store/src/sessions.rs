//! Web app sessions: a random token in the cookie, only its hash in the database, so sessions
//! can be revoked server-side and a copy of the database cannot be used to sign in.

use reelgate_domain::accounts::{SessionToken, User, UserId};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::accounts::{enabled, user_from_row};
use crate::api_keys::prefixed_user_columns;
use crate::time::{from_millis, from_millis_opt, now_millis};
use crate::{retry, secrets, Store, StoreError};

/// `last_used_at` is a hint for the owner, refreshed at most this often (as for API keys).
const LAST_USED_GRANULARITY_MS: i64 = 60_000;
const MAX_USER_AGENT_CHARS: usize = 200;

/// One of the user's sessions, as their account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The first characters of the token's hash: tells sessions apart, opens none.
    pub id: String,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The session the listing was asked from.
    pub current: bool,
}

impl Store {
    /// Starts a session for the user, valid for `ttl` unless revoked first.
    pub async fn create_session(
        &self,
        user: &UserId,
        ttl: Duration,
    ) -> Result<SessionToken, StoreError> {
        self.start_session(user, ttl, None).await
    }

    /// As [`Store::create_session`], noting the browser it was started from.
    pub async fn start_session(
        &self,
        user: &UserId,
        ttl: Duration,
        user_agent: Option<&str>,
    ) -> Result<SessionToken, StoreError> {
        let user_agent: Option<String> = user_agent.map(|agent| {
            agent
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT_CHARS)
                .collect()
        });
        let token = secrets::new_session_token()?;
        let hash = secrets::hash(token.expose());
        let now = now_millis();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        retry::on_contention(|| async {
            let inserted = sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, user_agent)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&hash)
            .bind(user.as_str())
            .bind(now)
            .bind(now.saturating_add(ttl_ms))
            .bind(user_agent.as_deref())
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
        let hash = secrets::hash(token.expose());
        let now = now_millis();
        let row = sqlx::query(&format!(
            "SELECT s.last_used_at AS session_used_at, {columns} FROM sessions s
             JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
            columns = prefixed_user_columns("u")
        ))
        .bind(&hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = enabled(user_from_row(&row)?)?;
        let last_used: Option<i64> = row.try_get("session_used_at")?;
        if last_used.is_none_or(|at| now - at >= LAST_USED_GRANULARITY_MS) {
            // Best effort: a lost update must not fail the request it came with.
            let touched =
                sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE token_hash = $2")
                    .bind(now)
                    .bind(&hash)
                    .execute(&self.pool)
                    .await;
            if let Err(error) = touched {
                tracing::warn!(%error, "could not record session use");
            }
        }
        Ok(Some(user))
    }

    /// The user's sessions that have not expired, newest first; `current` marks the asker's.
    pub async fn sessions_of(
        &self,
        user: &UserId,
        current: Option<&SessionToken>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let current = current.map(|token| secrets::hash(token.expose()));
        let rows = sqlx::query(
            "SELECT token_hash, user_agent, created_at, last_used_at, expires_at, revoked_at
             FROM sessions WHERE user_id = $1 AND expires_at > $2
             ORDER BY created_at DESC, token_hash",
        )
        .bind(user.as_str())
        .bind(now_millis())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let hash: String = row.try_get("token_hash")?;
                Ok(SessionInfo {
                    id: hash.chars().take(12).collect(),
                    current: current.as_deref() == Some(hash.as_str()),
                    user_agent: row.try_get("user_agent")?,
                    created_at: from_millis("sessions", row.try_get("created_at")?)?,
                    last_used_at: from_millis_opt("sessions", row.try_get("last_used_at")?)?,
                    expires_at: from_millis("sessions", row.try_get("expires_at")?)?,
                    revoked_at: from_millis_opt("sessions", row.try_get("revoked_at")?)?,
                })
            })
            .collect()
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
