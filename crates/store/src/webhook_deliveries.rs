//! The outbox of customer webhooks: a delivery row is written in the same transaction that
//! ends its generation, then a worker sends it until the customer's endpoint accepts it or a
//! day has passed.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use sqlx::any::AnyRow;
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
    pub payload: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, generation_id, user_id, url, payload, attempts, created_at";

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
        payload: row.try_get("payload")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).map_err(|e| corrupt(&e))?,
        created_at: from_millis("webhook_deliveries", row.try_get("created_at")?)?,
    })
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
