//! One customer's webhooks must not hold up another's: the deliverer claims each customer's
//! due deliveries separately (a fair share each), a failing endpoint's deliveries are put
//! off together, and a customer may have only so many pending. The operator sees which
//! endpoints are failing.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use sqlx::Row;
use std::time::Duration;

use crate::time::{from_millis, now_millis, to_millis};
use crate::webhook_deliveries::{WebhookDelivery, WEBHOOKS};
use crate::{Store, StoreError};

const PENDING: &str = "delivered_at IS NULL AND gave_up_at IS NULL";

/// A customer with deliveries due now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookBacklog {
    pub user_id: UserId,
    /// Not yet delivered nor given up on, due or not.
    pub pending: u64,
    /// Due for an attempt now.
    pub due: u64,
}

/// An endpoint of a customer's whose last attempts failed, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingEndpoint {
    pub user_id: UserId,
    pub email: String,
    pub url: String,
    /// Deliveries to it still pending.
    pub pending: u64,
    /// Of those, how many have failed at least once.
    pub failing: u64,
    pub oldest_pending_at: DateTime<Utc>,
    /// When the next of them is tried.
    pub next_attempt_at: DateTime<Utc>,
    /// One of the errors its last attempts met.
    pub last_error: Option<String>,
}

fn count(row: &sqlx::any::AnyRow, column: &str) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(column)?;
    u64::try_from(n).map_err(|e| StoreError::corrupt("webhook_deliveries", e))
}

impl Store {
    /// Customers with deliveries due now, the one waiting longest first (at most `limit`).
    pub async fn webhook_backlogs(&self, limit: u32) -> Result<Vec<WebhookBacklog>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT user_id, COUNT(*) AS pending,
                 CAST(SUM(CASE WHEN next_attempt_at <= $1 THEN 1 ELSE 0 END) AS BIGINT) AS due,
                 MIN(next_attempt_at) AS first_due
             FROM webhook_deliveries WHERE {PENDING}
             GROUP BY user_id HAVING MIN(next_attempt_at) <= $1
             ORDER BY first_due, user_id LIMIT $2"
        ))
        .bind(now_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WebhookBacklog {
                    user_id: UserId::parse(&row.try_get::<String, _>("user_id")?)
                        .map_err(|e| StoreError::corrupt("webhook_deliveries", e))?,
                    pending: count(row, "pending")?,
                    due: count(row, "due")?,
                })
            })
            .collect()
    }

    /// Claims up to `limit` of `user`'s due deliveries, oldest due first, as
    /// [`crate::queues::WEBHOOKS`] is claimed.
    pub async fn claim_webhooks_of(
        &self,
        user: &UserId,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        self.claim_where(&WEBHOOKS, Some(("user_id", user.as_str())), limit, lease)
            .await
    }

    /// Gives up at once on `user`'s newest pending deliveries past the first `cap`, saying
    /// why; returns how many. They stay in the customer's log, to be resent.
    pub async fn give_up_webhooks_over(&self, user: &UserId, cap: u32) -> Result<u64, StoreError> {
        let now = now_millis();
        let reason = format!(
            "not sent: {cap} deliveries were already pending for this account; \
             resend it once your endpoint accepts deliveries again"
        );
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(&format!(
                "UPDATE webhook_deliveries SET gave_up_at = $1, last_error = $2
                 WHERE user_id = $3 AND {PENDING} AND id NOT IN (
                     SELECT id FROM webhook_deliveries WHERE user_id = $3 AND {PENDING}
                     ORDER BY created_at, id LIMIT $4)"
            ))
            .bind(now)
            .bind(&reason)
            .bind(user.as_str())
            .bind(i64::from(cap))
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(done.rows_affected())
    }

    /// Puts off every pending delivery of `user` to `url` due before `until` (its endpoint
    /// keeps failing); returns how many.
    pub async fn defer_endpoint_webhooks(
        &self,
        user: &UserId,
        url: &str,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let until = to_millis(until);
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(&format!(
                "UPDATE webhook_deliveries SET next_attempt_at = $1
                 WHERE user_id = $2 AND url = $3 AND {PENDING} AND next_attempt_at < $1"
            ))
            .bind(until)
            .bind(user.as_str())
            .bind(url)
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(done.rows_affected())
    }

    /// Endpoints with pending deliveries that failed, the most pending first (at most
    /// `limit`).
    pub async fn failing_webhook_endpoints(
        &self,
        limit: u32,
    ) -> Result<Vec<FailingEndpoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT w.user_id, u.email, w.url, COUNT(*) AS pending,
                 CAST(SUM(CASE WHEN w.last_error IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS failing,
                 MIN(w.created_at) AS oldest, MIN(w.next_attempt_at) AS next_at,
                 MAX(w.last_error) AS last_error
             FROM webhook_deliveries w JOIN users u ON u.id = w.user_id
             WHERE w.delivered_at IS NULL AND w.gave_up_at IS NULL
             GROUP BY w.user_id, u.email, w.url
             HAVING SUM(CASE WHEN w.last_error IS NULL THEN 0 ELSE 1 END) > 0
             ORDER BY pending DESC, w.user_id, w.url LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FailingEndpoint {
                    user_id: UserId::parse(&row.try_get::<String, _>("user_id")?)
                        .map_err(|e| StoreError::corrupt("webhook_deliveries", e))?,
                    email: row.try_get("email")?,
                    url: row.try_get("url")?,
                    pending: count(row, "pending")?,
                    failing: count(row, "failing")?,
                    oldest_pending_at: from_millis("webhook_deliveries", row.try_get("oldest")?)?,
                    next_attempt_at: from_millis("webhook_deliveries", row.try_get("next_at")?)?,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }
}
