//! API keys: `rg_…` secrets shown once at creation, stored as SHA-256 hashes and looked up by
//! hash. A customer may have several, each named and revocable on its own.

use reelgate_domain::accounts::{ApiKey, ApiKeyId, ApiKeyInfo, User, UserId};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::time::Instant;

use crate::accounts::{enabled, user_from_row, USER_COLUMNS};
use crate::time::{from_millis, from_millis_opt, now_millis};
use crate::{retry, secrets, Store, StoreError};

/// `last_used_at` is a hint for the owner, not an audit log: writing it on every request would
/// take SQLite's write lock per request, so it is refreshed at most this often.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

/// How much of the key the owner sees in listings: the prefix and a few characters.
const SHOWN_PREFIX_CHARS: usize = 8;

const MAX_NAME_CHARS: usize = 100;

fn key_from_row(row: &AnyRow) -> Result<ApiKeyInfo, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("api_keys", e);
    Ok(ApiKeyInfo {
        id: ApiKeyId::parse(&row.try_get::<String, _>("id")?).map_err(|e| corrupt(&e))?,
        user_id: UserId::parse(&row.try_get::<String, _>("user_id")?).map_err(|e| corrupt(&e))?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: from_millis("api_keys", row.try_get("created_at")?)?,
        last_used_at: from_millis_opt("api_keys", row.try_get("last_used_at")?)?,
        revoked_at: from_millis_opt("api_keys", row.try_get("revoked_at")?)?,
    })
}

impl Store {
    /// Creates a key for the user. The returned `ApiKey` is the only time the secret exists
    /// outside its owner's hands; we keep only its hash.
    pub async fn create_api_key(
        &self,
        user: &UserId,
        name: &str,
    ) -> Result<(ApiKeyInfo, ApiKey), StoreError> {
        let name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
        let name = if name.is_empty() {
            "default".to_owned()
        } else {
            name
        };
        let key = secrets::new_api_key()?;
        let id = ApiKeyId::generate();
        let prefix: String = key
            .expose()
            .chars()
            .take(ApiKey::PREFIX.len() + SHOWN_PREFIX_CHARS)
            .collect();
        let row = retry::on_contention(|| async {
            let inserted = sqlx::query(
                "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id, user_id, name, prefix, created_at, last_used_at, revoked_at",
            )
            .bind(id.as_str())
            .bind(user.as_str())
            .bind(&name)
            .bind(secrets::hash(key.expose()))
            .bind(&prefix)
            .bind(now_millis())
            .fetch_one(&self.pool)
            .await;
            match inserted {
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                    Err(StoreError::UserNotFound)
                }
                other => Ok(other?),
            }
        })
        .await?;
        Ok((key_from_row(&row)?, key))
    }

    /// The user's keys, newest first, revoked ones included (with `revoked_at` set).
    pub async fn list_api_keys(&self, user: &UserId) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at
             FROM api_keys WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Revokes one of the user's keys; revoking it again is not an error, but someone else's
    /// key is `ApiKeyNotFound`.
    pub async fn revoke_api_key(&self, user: &UserId, key: &ApiKeyId) -> Result<(), StoreError> {
        retry::on_contention(|| async {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "UPDATE api_keys SET revoked_at = $1
                 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
            )
            .bind(now_millis())
            .bind(key.as_str())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?;
            let exists =
                sqlx::query("SELECT 1 AS one FROM api_keys WHERE id = $1 AND user_id = $2")
                    .bind(key.as_str())
                    .bind(user.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            tx.commit().await?;
            self.keys.forget_user(user);
            if exists {
                Ok(())
            } else {
                Err(StoreError::ApiKeyNotFound)
            }
        })
        .await
    }

    /// The owner of an API key: `None` if no such key or it was revoked, `AccountDisabled` if
    /// its owner is disabled. A key seen valid less than [`crate::KEY_CACHE_TTL`] ago is
    /// answered from memory, so the owner's `balance`, `held` and `debt` may be that old: read
    /// [`Store::user`] to show them.
    pub async fn api_key_user(&self, key: &ApiKey) -> Result<Option<User>, StoreError> {
        let hash = secrets::hash(key.expose());
        if let Some(user) = self.keys.get(&hash, Instant::now()) {
            return Ok(Some(user));
        }
        let epoch = self.keys.epoch();
        let found = self.api_key_user_uncached(&hash).await?;
        if let Some(user) = &found {
            self.keys.insert(hash, user.clone(), epoch, Instant::now());
        }
        Ok(found)
    }

    async fn api_key_user_uncached(&self, hash: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT k.id AS key_id, k.last_used_at, {columns} FROM api_keys k
             JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
            columns = prefixed_user_columns("u")
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = enabled(user_from_row(&row)?)?;
        let now = now_millis();
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| now - at >= LAST_USED_GRANULARITY_MS) {
            let key_id: String = row.try_get("key_id")?;
            self.touch_api_key(&key_id, now).await;
        }
        Ok(Some(user))
    }

    /// Best effort: a lost `last_used_at` update must not fail the request it came with.
    async fn touch_api_key(&self, key_id: &str, now: i64) {
        let touched = sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(key_id)
            .execute(&self.pool)
            .await;
        if let Err(error) = touched {
            tracing::warn!(%error, "could not record API key use");
        }
    }
}

pub(crate) fn prefixed_user_columns(alias: &str) -> String {
    USER_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
