//! Kie keys the operator entered (on the operator pages or through the admin API). The store
//! keeps each one sealed: it never sees the key in the clear, only what the caller encrypted,
//! and the fingerprint that names the key everywhere else.
//!
//! A key that created generations not yet settled cannot be deleted, only disabled: the check
//! and the delete are one statement, so a generation sent with it meanwhile (on another
//! instance) keeps it.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::time::{from_millis, now_millis};
use crate::{Store, StoreError};

/// One operator-entered key, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpstreamKey {
    pub id: String,
    /// The operator's name for it.
    pub name: String,
    pub fingerprint: String,
    /// The key, encrypted by the caller; opaque here.
    pub sealed: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub changed_at: DateTime<Utc>,
}

/// What deleting a key came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDeletion {
    Deleted,
    NotFound,
    /// Generations sent with it are not settled yet (this many, counted up to a limit).
    Busy(u64),
}

/// A generation of the key's that is not settled: queued with the key recorded (being sent,
/// or its answer lost), running, or waiting for its 1080p file.
const UNSETTLED: &str = "upstream_key = $1 AND (status IN ('queued', 'running') OR hd = 'pending')";

const COLUMNS: &str = "id, name, fingerprint, sealed, enabled, created_at, changed_at";

fn from_row(row: &AnyRow) -> Result<StoredUpstreamKey, StoreError> {
    Ok(StoredUpstreamKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        fingerprint: row.try_get("fingerprint")?,
        sealed: row.try_get("sealed")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: from_millis("upstream_keys", row.try_get("created_at")?)?,
        changed_at: from_millis("upstream_keys", row.try_get("changed_at")?)?,
    })
}

impl Store {
    /// Every operator-entered key, oldest first (the order dispatch takes them in).
    pub async fn upstream_keys(&self) -> Result<Vec<StoredUpstreamKey>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM upstream_keys ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn upstream_key(&self, id: &str) -> Result<Option<StoredUpstreamKey>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM upstream_keys WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Stores a new key, enabled. `None` if a key with this fingerprint is stored already.
    pub async fn add_upstream_key(
        &self,
        name: &str,
        fingerprint: &str,
        sealed: &str,
    ) -> Result<Option<StoredUpstreamKey>, StoreError> {
        let id = format!("upk_{}", ulid::Ulid::new().to_string().to_lowercase());
        let now = now_millis();
        let inserted = sqlx::query(
            "INSERT INTO upstream_keys (id, name, fingerprint, sealed, enabled, created_at, changed_at)
             VALUES ($1, $2, $3, $4, 1, $5, $5)",
        )
        .bind(id.clone())
        .bind(name)
        .bind(fingerprint)
        .bind(sealed)
        .bind(now)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => self.upstream_key(&id).await,
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Enables or disables a key; `None` if there is no such key.
    pub async fn set_upstream_key_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<Option<StoredUpstreamKey>, StoreError> {
        sqlx::query("UPDATE upstream_keys SET enabled = $1, changed_at = $2 WHERE id = $3")
            .bind(i64::from(enabled))
            .bind(now_millis())
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.upstream_key(id).await
    }

    /// How many generations sent with the key `fingerprint` are not settled, up to `up_to`.
    pub async fn unsettled_with_key(
        &self,
        fingerprint: &str,
        up_to: u32,
    ) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 AS one FROM generations WHERE {UNSETTLED} LIMIT $2) AS busy"
        ))
        .bind(fingerprint)
        .bind(i64::from(up_to))
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes a key that has no unsettled generation, in one statement.
    pub async fn delete_upstream_key(&self, id: &str) -> Result<KeyDeletion, StoreError> {
        let Some(key) = self.upstream_key(id).await? else {
            return Ok(KeyDeletion::NotFound);
        };
        let deleted = sqlx::query(&format!(
            "DELETE FROM upstream_keys WHERE id = $2 AND fingerprint = $1
             AND NOT EXISTS (SELECT 1 FROM generations WHERE {UNSETTLED})"
        ))
        .bind(key.fingerprint.clone())
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if deleted == 1 {
            return Ok(KeyDeletion::Deleted);
        }
        match self.unsettled_with_key(&key.fingerprint, 1000).await? {
            // Deleted by someone else meanwhile.
            0 => Ok(KeyDeletion::NotFound),
            busy => Ok(KeyDeletion::Busy(busy)),
        }
    }
}
