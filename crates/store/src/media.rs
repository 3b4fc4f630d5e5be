//! Copies of generated videos in reelgate's own storage: the jobs that make them (queued with
//! the success that produced the video), their outcome, deletion and retention.
//!
//! The copier claims [`MEDIA_COPIES`] as every worker claims its queue (`claim.rs`).

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_domain::media::{MediaCopy, MediaState, StoredMedia};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::claim::Queue;
use crate::time::{from_millis, from_millis_opt, now_millis, to_millis};
use crate::{Store, StoreError};

const COLUMNS: &str = "generation_id, idx, user_id, source_url, resolution, state, attempts,
    next_attempt_at, last_error, object_key, content_type, size_bytes, thumbnail_key,
    deleted_reason, created_at, copied_at, deleted_at";

fn copy_id(generation: &GenerationId, index: u32) -> String {
    format!("{generation}:{index}")
}

fn from_row(row: &AnyRow) -> Result<MediaCopy, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("media_copies", e);
    let stored = match (
        row.try_get::<Option<String>, _>("object_key")?,
        row.try_get::<Option<String>, _>("content_type")?,
        row.try_get::<Option<i64>, _>("size_bytes")?,
    ) {
        (Some(object_key), Some(content_type), Some(size)) => Some(StoredMedia {
            object_key,
            content_type,
            size_bytes: u64::try_from(size).map_err(|e| corrupt(&e))?,
            thumbnail_key: row.try_get("thumbnail_key")?,
        }),
        _ => None,
    };
    Ok(MediaCopy {
        generation_id: row
            .try_get::<String, _>("generation_id")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        index: u32::try_from(row.try_get::<i64, _>("idx")?).map_err(|e| corrupt(&e))?,
        user_id: UserId::parse(&row.try_get::<String, _>("user_id")?).map_err(|e| corrupt(&e))?,
        source_url: row.try_get("source_url")?,
        resolution: row.try_get("resolution")?,
        state: row
            .try_get::<String, _>("state")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).map_err(|e| corrupt(&e))?,
        next_attempt_at: from_millis_opt("media_copies", row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        stored,
        deleted_reason: row.try_get("deleted_reason")?,
        created_at: from_millis("media_copies", row.try_get("created_at")?)?,
        copied_at: from_millis_opt("media_copies", row.try_get("copied_at")?)?,
        deleted_at: from_millis_opt("media_copies", row.try_get("deleted_at")?)?,
    })
}

/// Pending copies whose attempt is due; claiming counts the attempt.
pub const MEDIA_COPIES: Queue<MediaCopy> = Queue {
    table: "media_copies",
    key: "id",
    due_at: "next_attempt_at",
    waiting: "state = 'pending'",
    order: "next_attempt_at, id",
    on_claim: ", attempts = attempts + 1",
    columns: COLUMNS_AND_ID,
    from_row,
    sorted_by: None,
};

const COLUMNS_AND_ID: &str = "id, generation_id, idx, user_id, source_url, resolution, state,
    attempts, next_attempt_at, last_error, object_key, content_type, size_bytes, thumbnail_key,
    deleted_reason, created_at, copied_at, deleted_at";

/// Queues a copy of each of `generation`'s videos from position `first` on, in the caller's
/// transaction (the one that records the videos). Already queued ones are left alone.
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    generation: &Generation,
    first: usize,
    now: i64,
) -> Result<(), StoreError> {
    for (index, video) in generation.videos.iter().enumerate().skip(first) {
        let index = u32::try_from(index).map_err(|e| StoreError::corrupt("generations", e))?;
        sqlx::query(
            "INSERT INTO media_copies (id, generation_id, idx, user_id, source_url, resolution,
                 next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
        )
        .bind(copy_id(&generation.id, index))
        .bind(generation.id.as_str())
        .bind(i64::from(index))
        .bind(generation.user_id.as_str())
        .bind(&video.url)
        .bind(video.resolution.as_deref())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Media copies the operator should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTrouble {
    /// Given up on.
    Failed,
    /// Still being retried after at least one failed attempt.
    Retrying,
}

impl Store {
    /// Renews the claim on a copy being made (see [`Store::extend_lease`]).
    pub async fn extend_media_claim(
        &self,
        generation: &GenerationId,
        index: u32,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.extend_lease(&MEDIA_COPIES, &copy_id(generation, index), lease)
            .await
    }

    /// The copy is stored. False if it is no longer pending (its owner deleted it meanwhile):
    /// the caller then removes what it stored.
    pub async fn record_media_copied(
        &self,
        generation: &GenerationId,
        index: u32,
        stored: &StoredMedia,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let size =
            i64::try_from(stored.size_bytes).map_err(|e| StoreError::corrupt("media_copies", e))?;
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(
                "UPDATE media_copies SET state = 'copied', object_key = $1, content_type = $2,
                     size_bytes = $3, thumbnail_key = $4, copied_at = $5, next_attempt_at = NULL,
                     last_error = NULL
                 WHERE id = $6 AND state = 'pending'",
            )
            .bind(&stored.object_key)
            .bind(&stored.content_type)
            .bind(size)
            .bind(stored.thumbnail_key.as_deref())
            .bind(now)
            .bind(copy_id(generation, index))
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An attempt failed: try again at `retry_at`, or (with `None`) give up.
    pub async fn record_media_attempt_failed(
        &self,
        generation: &GenerationId,
        index: u32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let state = if retry_at.is_some() {
            "pending"
        } else {
            "failed"
        };
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(
                "UPDATE media_copies SET state = $1, next_attempt_at = $2, last_error = $3
                 WHERE id = $4 AND state = 'pending'",
            )
            .bind(state)
            .bind(retry_at.map(to_millis))
            .bind(error)
            .bind(copy_id(generation, index))
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a failed copy back in the queue, due now (the operator fixed the storage, say).
    pub async fn retry_media(
        &self,
        generation: &GenerationId,
        index: u32,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE media_copies SET state = 'pending', next_attempt_at = $1
             WHERE id = $2 AND state = 'failed'",
        )
        .bind(now_millis())
        .bind(copy_id(generation, index))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The copies of these generations' videos, in any state.
    pub async fn media_of(
        &self,
        generations: &[GenerationId],
    ) -> Result<Vec<MediaCopy>, StoreError> {
        if generations.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=generations.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM media_copies WHERE generation_id IN ({}) ORDER BY generation_id, idx",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in generations {
            query = query.bind(id.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn media_copy(
        &self,
        generation: &GenerationId,
        index: u32,
    ) -> Result<Option<MediaCopy>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM media_copies WHERE id = $1"))
            .bind(copy_id(generation, index))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Copies in trouble, newest first.
    pub async fn media_in_trouble(
        &self,
        trouble: MediaTrouble,
        limit: u32,
    ) -> Result<Vec<MediaCopy>, StoreError> {
        let condition = match trouble {
            MediaTrouble::Failed => "state = 'failed'",
            MediaTrouble::Retrying => "state = 'pending' AND last_error IS NOT NULL",
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM media_copies WHERE {condition}
             ORDER BY created_at DESC, id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// How many copies are in each state.
    pub async fn media_counts(&self) -> Result<Vec<(MediaState, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM media_copies GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let state = row
                    .try_get::<String, _>("state")?
                    .parse()
                    .map_err(|e| StoreError::corrupt("media_copies", e))?;
                let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
                Ok((state, n))
            })
            .collect()
    }

    /// The owner deletes a generation's videos. `None` if it is not theirs; otherwise how many
    /// copies were deleted now. Their stored files are removed by the copier afterwards.
    pub async fn delete_media_of(
        &self,
        user: &UserId,
        generation: &GenerationId,
    ) -> Result<Option<u64>, StoreError> {
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM generations WHERE id = $1 AND user_id = $2")
                .bind(generation.as_str())
                .bind(user.as_str())
                .fetch_optional(&self.pool)
                .await?;
        if owned.is_none() {
            return Ok(None);
        }
        let now = now_millis();
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(
                "UPDATE media_copies SET state = 'deleted', deleted_reason = 'customer',
                     deleted_at = $1, next_attempt_at = NULL
                 WHERE generation_id = $2 AND user_id = $3 AND state <> 'deleted'",
            )
            .bind(now)
            .bind(generation.as_str())
            .bind(user.as_str())
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(Some(done.rows_affected()))
    }

    /// Retention: copies stored before `before` are deleted. Returns how many.
    pub async fn expire_media(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = now_millis();
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(
                "UPDATE media_copies SET state = 'deleted', deleted_reason = 'retention', deleted_at = $1
                 WHERE state = 'copied' AND copied_at < $2",
            )
            .bind(now)
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(done.rows_affected())
    }

    /// Deleted copies whose stored files have not been removed yet.
    pub async fn media_to_purge(&self, limit: u32) -> Result<Vec<MediaCopy>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM media_copies
             WHERE state = 'deleted' AND purged_at IS NULL AND object_key IS NOT NULL
             ORDER BY deleted_at LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The stored files of a deleted copy are gone.
    pub async fn record_media_purged(
        &self,
        generation: &GenerationId,
        index: u32,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE media_copies SET purged_at = $1 WHERE id = $2 AND state = 'deleted'")
            .bind(now_millis())
            .bind(copy_id(generation, index))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
