//! The outbox of customer webhooks: a delivery row is written in the same transaction that
//! ends its generation (or adds its 1080p video), then a worker sends it until the customer's
//! endpoint accepts it or a day has passed. A row whose payload is empty is composed by the
//! worker at its first attempt: a success waits for reelgate's own copies of its videos.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::Generation;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use crate::claim::Queue;
use crate::time::{from_millis, now_millis, to_millis};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// `msg_…`: the `webhook-id` header, the same on every attempt so receivers can dedupe.
    pub id: String,
    pub generation_id: String,
    pub user_id: UserId,
    pub url: String,
    /// Standard Webhooks `type`: `generation.succeeded`, `generation.videos_updated`, …
    pub event_type: String,
    /// Empty until composed (see the module's comment); then the same on every attempt.
    pub payload: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// A delivery as its customer's delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub delivery: WebhookDelivery,
    pub delivered_at: Option<DateTime<Utc>>,
    pub gave_up_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// When the next attempt is due, while it is still being tried.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, generation_id, user_id, url, event_type, payload, attempts, created_at";

/// Deliveries neither delivered nor given up on, due for an attempt; claiming counts it.
pub const WEBHOOKS: Queue<WebhookDelivery> = Queue {
    table: "webhook_deliveries",
    key: "id",
    due_at: "next_attempt_at",
    waiting: "delivered_at IS NULL AND gave_up_at IS NULL",
    order: "next_attempt_at, id",
    on_claim: ", attempts = attempts + 1",
    columns: COLUMNS,
    from_row: delivery_from_row,
    sorted_by: None,
};

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDelivery, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("webhook_deliveries", e);
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        generation_id: row.try_get("generation_id")?,
        user_id: UserId::parse(&row.try_get::<String, _>("user_id")?).map_err(|e| corrupt(&e))?,
        url: row.try_get("url")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).map_err(|e| corrupt(&e))?,
        created_at: from_millis("webhook_deliveries", row.try_get("created_at")?)?,
    })
}

/// Queues a delivery of `event` for `generation`, if it has a webhook, in the caller's
/// transaction. An empty `payload` is composed by the worker.
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    generation: &Generation,
    event: &str,
    payload: &str,
    now: i64,
) -> Result<(), StoreError> {
    let Some(url) = &generation.webhook_url else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, generation_id, user_id, url, event_type, payload,
             next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(format!(
        "msg_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ))
    .bind(generation.id.as_str())
    .bind(generation.user_id.as_str())
    .bind(url)
    .bind(event)
    .bind(payload)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records an attempt: delivered, failed with a retry at `retry_at`, or (no retry) given up.
    pub async fn record_webhook_attempt(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let now = now_millis();
        crate::retry::on_contention(|| async {
            let query = match (error, retry_at) {
                (None, _) => sqlx::query("UPDATE webhook_deliveries SET delivered_at = $1, last_error = NULL WHERE id = $2")
                    .bind(now),
                (Some(error), Some(at)) => {
                    sqlx::query("UPDATE webhook_deliveries SET last_error = $1, next_attempt_at = $2 WHERE id = $3")
                        .bind(error)
                        .bind(to_millis(at))
                }
                (Some(error), None) => {
                    sqlx::query("UPDATE webhook_deliveries SET last_error = $1, gave_up_at = $2 WHERE id = $3")
                        .bind(error)
                        .bind(now)
                }
            };
            query.bind(id).execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    /// Saves the payload composed at the first attempt; later attempts send the same bytes.
    pub async fn compose_webhook(&self, id: &str, payload: &str) -> Result<(), StoreError> {
        crate::retry::on_contention(|| async {
            sqlx::query(
                "UPDATE webhook_deliveries SET payload = $1 WHERE id = $2 AND payload = ''",
            )
            .bind(payload)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Puts a claimed delivery back until `at` without counting the claim as an attempt: it
    /// was not sent (its videos are still being copied).
    pub async fn defer_webhook(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        crate::retry::on_contention(|| async {
            sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1, attempts = attempts - 1
                 WHERE id = $2 AND attempts > 0",
            )
            .bind(to_millis(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// A copy of `generation_id`'s videos was made: its deliveries waiting for copies (not
    /// composed, not claimed now) are due at once rather than at their next look.
    pub async fn webhooks_ready(&self, generation_id: &str) -> Result<(), StoreError> {
        let now = now_millis();
        crate::retry::on_contention(|| async {
            sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1
                 WHERE generation_id = $2 AND payload = '' AND attempts = 0
                   AND delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at > $1",
            )
            .bind(now)
            .bind(generation_id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// A customer's deliveries, newest first (at most `limit`).
    pub async fn webhook_log(
        &self,
        user: &UserId,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, delivered_at, gave_up_at, last_error, next_attempt_at
             FROM webhook_deliveries WHERE user_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(user.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let at = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
                    let ms: Option<i64> = row.try_get(column)?;
                    ms.map(|ms| from_millis("webhook_deliveries", ms))
                        .transpose()
                };
                let delivered_at = at("delivered_at")?;
                let gave_up_at = at("gave_up_at")?;
                let pending = delivered_at.is_none() && gave_up_at.is_none();
                Ok(DeliveryRecord {
                    delivery: delivery_from_row(row)?,
                    delivered_at,
                    gave_up_at,
                    last_error: row.try_get("last_error")?,
                    next_attempt_at: if pending {
                        at("next_attempt_at")?
                    } else {
                        None
                    },
                })
            })
            .collect()
    }

    /// Sends one of `user`'s deliveries again now, with the same `webhook-id` and body (the
    /// receiver's de-duplication still holds). `false` if it is not theirs.
    pub async fn resend_webhook(&self, user: &UserId, id: &str) -> Result<bool, StoreError> {
        let now = now_millis();
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(
                "UPDATE webhook_deliveries SET delivered_at = NULL, gave_up_at = NULL,
                     next_attempt_at = $1, created_at = $1
                 WHERE id = $2 AND user_id = $3",
            )
            .bind(now)
            .bind(id)
            .bind(user.as_str())
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The deliveries of one generation, oldest first (for the customer and for tests).
    pub async fn webhook_deliveries_of(
        &self,
        generation_id: &str,
    ) -> Result<Vec<(WebhookDelivery, Option<DateTime<Utc>>)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, delivered_at FROM webhook_deliveries WHERE generation_id = $1 ORDER BY created_at"
        ))
        .bind(generation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let delivered: Option<i64> = row.try_get("delivered_at")?;
                Ok((
                    delivery_from_row(row)?,
                    delivered
                        .map(|ms| from_millis("webhook_deliveries", ms))
                        .transpose()?,
                ))
            })
            .collect()
    }
}
