//! A rate limit held in the database, so that every instance on it keeps to one limit.
//!
//! Each request the limit governs takes a row (a slot) before it is sent. A slot counts
//! against the limit until `counts_until`: while its request is unanswered, the latest the
//! request could still arrive upstream plus a window; once answered, the answer plus a window.
//! The upstream counts a request when it arrives, which lies before its answer, so no window
//! upstream can see more requests than the limit. Taking slots is serialised by a lock held
//! until commit, and every time is the database server's, so instances' clocks need not agree.

use std::time::Duration;

use sqlx::Row;

use crate::{Store, StoreError};

/// One limit: `requests` per `per`, under a name of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    pub name: String,
    pub requests: u32,
    pub per: Duration,
    /// The longest a request may go unanswered (its timeout, and the time from taking its slot
    /// to sending it). A slot whose taker died counts for this long plus a window.
    pub unanswered_for: Duration,
}

/// What [`Store::take_rate_slots`] got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateSlots {
    /// Slot ids, each to be passed to [`Store::answered_rate_slot`] or
    /// [`Store::release_rate_slots`].
    Taken(Vec<i64>),
    /// None free; one frees up in about this long.
    Full(Duration),
}

/// When every counted slot is still unanswered there is no end time to wait for yet.
const UNANSWERED_RECHECK: Duration = Duration::from_millis(50);

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Store {
    /// Takes up to `wanted` free slots of `window` now.
    pub async fn take_rate_slots(
        &self,
        window: &RateWindow,
        wanted: u32,
    ) -> Result<RateSlots, StoreError> {
        let now = self.backend.now_millis_sql();
        crate::retry::on_contention(|| async {
            let mut tx = self.pool.begin().await?;
            if let Some(lock) = self.backend.named_lock() {
                sqlx::query(lock)
                    .bind(&window.name)
                    .fetch_one(&mut *tx)
                    .await?;
            }
            sqlx::query(&format!(
                "DELETE FROM upstream_rate_slots WHERE limiter = $1 AND counts_until <= {now}"
            ))
            .bind(&window.name)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(&format!(
                "SELECT COUNT(*) AS used,
                        MIN(CASE WHEN answered_at IS NOT NULL THEN counts_until END) AS first_end,
                        {now} AS now
                 FROM upstream_rate_slots WHERE limiter = $1"
            ))
            .bind(&window.name)
            .fetch_one(&mut *tx)
            .await?;
            let used: i64 = row.try_get("used")?;
            let first_end: Option<i64> = row.try_get("first_end")?;
            let now_ms: i64 = row.try_get("now")?;
            let free = (i64::from(window.requests) - used).clamp(0, i64::from(wanted));
            if free == 0 {
                tx.rollback().await?;
                let wait = first_end.map_or(UNANSWERED_RECHECK, |end| {
                    Duration::from_millis(u64::try_from(end - now_ms).unwrap_or(0))
                });
                return Ok(RateSlots::Full(wait));
            }
            let counts_until = now_ms + millis(window.unanswered_for) + millis(window.per);
            let mut ids = Vec::new();
            for _ in 0..free {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO upstream_rate_slots (limiter, taken_at, counts_until)
                     VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(&window.name)
                .bind(now_ms)
                .bind(counts_until)
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(RateSlots::Taken(ids))
        })
        .await
    }

    /// How many slots of `window` count now (for the operator's page; no lock: a glance).
    pub async fn rate_slots_in_use(&self, window: &RateWindow) -> Result<u32, StoreError> {
        let now = self.backend.now_millis_sql();
        let used: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM upstream_rate_slots WHERE limiter = $1 AND counts_until > {now}"
        ))
        .bind(&window.name)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(used).unwrap_or(u32::MAX))
    }

    /// How long until each slot of `window` that counts now is free again, soonest first: an
    /// answered one when its window ends, an unanswered one a window from now (its answer is
    /// due; the longest it may take is not the likely time). For estimates, not for limiting.
    pub async fn rate_slots_free_in(
        &self,
        window: &RateWindow,
    ) -> Result<Vec<Duration>, StoreError> {
        let now = self.backend.now_millis_sql();
        let per = millis(window.per);
        let waits: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT CASE WHEN answered_at IS NULL THEN {per} ELSE counts_until - {now} END AS wait
             FROM upstream_rate_slots WHERE limiter = $1 AND counts_until > {now}
             ORDER BY wait"
        ))
        .bind(&window.name)
        .fetch_all(&self.pool)
        .await?;
        Ok(waits
            .into_iter()
            .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
            .collect())
    }

    /// The request of slot `id` has been answered: it counts for one window from now.
    pub async fn answered_rate_slot(&self, window: &RateWindow, id: i64) -> Result<(), StoreError> {
        let now = self.backend.now_millis_sql();
        crate::retry::on_contention(|| async {
            sqlx::query(&format!(
                "UPDATE upstream_rate_slots SET answered_at = {now}, counts_until = {now} + $1
                 WHERE id = $2"
            ))
            .bind(millis(window.per))
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Slots taken but not used (their requests were never sent).
    pub async fn release_rate_slots(&self, ids: &[i64]) -> Result<(), StoreError> {
        for id in ids {
            crate::retry::on_contention(|| async {
                sqlx::query("DELETE FROM upstream_rate_slots WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// The upstream refused for the rate although the window had room (another client on the
    /// same key, or a stricter limit than configured): count the window as full from now.
    pub async fn fill_rate_window(&self, window: &RateWindow) -> Result<(), StoreError> {
        if let RateSlots::Taken(ids) = self.take_rate_slots(window, window.requests).await? {
            for id in ids {
                self.answered_rate_slot(window, id).await?;
            }
        }
        Ok(())
    }
}
