//! The one way background work is taken: a worker *claims* due rows of a queue for a lease.
//!
//! A queue is a table with a due-time column and a predicate saying which rows are waiting.
//! Claiming pushes the due time of up to `limit` due rows forward by the lease in the same
//! statement that picks them, so one worker at a time works on a row (several instances on
//! one PostgreSQL included: the pick skips rows another claim has locked), and a worker that
//! died simply lets its lease run out. Each write a worker makes afterwards is conditional on
//! the state its claim saw.
//!
//! The rows are picked in a CTE, which PostgreSQL evaluates once. Written as
//! `WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, the subquery may run again when
//! the UPDATE re-checks a row another transaction changed meanwhile, and the claim then takes
//! more rows than its limit (the soak found dispatch claiming more creates than it had
//! rate-limit slots for).
//!
//! Adding a queue is one constant beside its table's code, listed in [`crate::queues`]:
//!
//! ```ignore
//! pub const REMINDERS: Queue<Reminder> = Queue {
//!     table: "reminders",
//!     key: "id",
//!     due_at: "next_attempt_at",
//!     waiting: "sent_at IS NULL",
//!     order: "next_attempt_at, id",
//!     on_claim: ", attempts = attempts + 1",
//!     columns: "id, user_id, attempts",
//!     from_row: reminder_from_row,
//!     sorted_by: None,
//! };
//! ```
//!
//! then `store.claim(&queues::REMINDERS, limit, lease)` and `store.next_due(&queues::REMINDERS)`.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::time::Duration;

use crate::time::{from_millis_opt, now_millis};
use crate::{Store, StoreError};

/// A claimable queue of `T`s. The SQL fragments are constants of the store, never input.
pub struct Queue<T> {
    pub(crate) table: &'static str,
    /// The primary key; claimed rows come back in its order (ids are ULIDs: arrival order).
    pub(crate) key: &'static str,
    /// When the row is next due, in milliseconds; the claim moves it to the lease's end.
    pub(crate) due_at: &'static str,
    /// Which rows are waiting at all, whatever their due time.
    pub(crate) waiting: &'static str,
    /// Which due rows go first.
    pub(crate) order: &'static str,
    /// What else claiming changes, as `, column = …` (`$1` is the lease's end, `$2` now).
    pub(crate) on_claim: &'static str,
    /// What the claim returns, read by `from_row`; includes `key`.
    pub(crate) columns: &'static str,
    pub(crate) from_row: fn(&AnyRow) -> Result<T, StoreError>,
    /// How claimed rows are put back in `order` (RETURNING has no order of its own, and
    /// SQLite's may not name the picking CTE); `None`: in `key` order.
    pub(crate) sorted_by: Option<fn(&T, &T) -> std::cmp::Ordering>,
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("table", &self.table)
            .field("waiting", &self.waiting)
            .finish_non_exhaustive()
    }
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Store {
    /// Claims up to `limit` due rows of `queue` for `lease`, first in the queue's order.
    pub async fn claim<T>(
        &self,
        queue: &Queue<T>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<T>, StoreError> {
        self.claim_where(queue, None, limit, lease).await
    }

    /// As [`Store::claim`], only rows whose `column` is `value` (one owner's share of a queue
    /// claimed fairly across owners). The column is a constant of the store, never input.
    pub(crate) async fn claim_where<T>(
        &self,
        queue: &Queue<T>,
        only: Option<(&'static str, &str)>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<T>, StoreError> {
        let now = now_millis();
        let Queue {
            table,
            key,
            due_at,
            waiting,
            order,
            on_claim,
            columns,
            ..
        } = queue;
        let sql = format!(
            "WITH picked (pick_key) AS (
                 SELECT {key} FROM {table} WHERE {waiting} AND {due_at} <= $2 {only_sql}
                 ORDER BY {order} LIMIT $3 {skip_locked})
             UPDATE {table} SET {due_at} = $1 {on_claim}
             FROM picked WHERE {table}.{key} = picked.pick_key
             RETURNING {columns}",
            skip_locked = self.backend.skip_locked(),
            only_sql = only.map_or(String::new(), |(column, _)| format!("AND {column} = $4")),
        );
        let mut rows = crate::retry::on_contention(|| async {
            let mut query = sqlx::query(&sql)
                .bind(now + lease_ms(lease))
                .bind(now)
                .bind(i64::from(limit));
            if let Some((_, value)) = only {
                query = query.bind(value);
            }
            Ok(query.fetch_all(&self.pool).await?)
        })
        .await?;
        if queue.sorted_by.is_none() {
            rows.sort_by_cached_key(|row| row.try_get::<String, _>(*key).unwrap_or_default());
        }
        let mut claimed = rows
            .iter()
            .map(queue.from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(sorted_by) = queue.sorted_by {
            claimed.sort_by(sorted_by);
        }
        Ok(claimed)
    }

    /// Keeps a claimed job ours for another `lease` from now, while it is still waiting (a
    /// long job, like a video download, renews its lease instead of holding one long enough
    /// for the slowest case — which would also be how long a crashed instance's job waits).
    /// False if the job is no longer waiting (finished, or given up, elsewhere).
    pub async fn extend_lease<T>(
        &self,
        queue: &Queue<T>,
        key: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {table} SET {due_at} = $1 WHERE {key_column} = $2 AND {waiting}",
            table = queue.table,
            due_at = queue.due_at,
            key_column = queue.key,
            waiting = queue.waiting,
        );
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(&sql)
                .bind(now_millis() + lease_ms(lease))
                .bind(key)
                .execute(&self.pool)
                .await?)
        })
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// When the next row of `queue` falls due (perhaps already), so a worker can sleep until
    /// then; `None` when nothing waits.
    pub async fn next_due<T>(&self, queue: &Queue<T>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT MIN({}) FROM {} WHERE {}",
            queue.due_at, queue.table, queue.waiting
        ))
        .fetch_one(&self.pool)
        .await?;
        from_millis_opt(queue.table, next)
    }
}
