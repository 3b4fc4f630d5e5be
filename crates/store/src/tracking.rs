//! The workers' side of generations: claiming rows that are due (to send upstream, to ask
//! about, to fetch 1080p for) and recording what upstream said.
//!
//! The queues are claimed as every queue is (`claim.rs`); each later write is conditional on
//! the state the claim saw, in the states the domain's lifecycle allows its event from
//! (`guards.rs`, which also checks the predicates written out here).

use chrono::{DateTime, Utc};
use reelgate_domain::generations::{Event, Generation, GenerationId, Video};
use std::sync::LazyLock;

use crate::claim::Queue;
use crate::generations::{generation_from_row, GENERATION_COLUMNS};
use crate::guards::guard;
use crate::time::{now_millis, to_millis};
use crate::{Store, StoreError};

/// Queued and not yet sent: the dispatcher sends them in the fair order (customers with work
/// queued in turn, weighted by tier; each customer's in arrival order). It reads
/// `generations_fair_order` in that order and stops at the limit: one index range per claim,
/// however long the queue. Claiming records them as `sending` before the request goes out:
/// after a crash, `sending` means "may exist".
pub const DISPATCH: Queue<Generation> = Queue {
    order: "fair_key, id",
    sorted_by: Some(|a, b| (a.fair_key, &a.id).cmp(&(b.fair_key, &b.id))),
    ..generations(
        "status = 'queued' AND dispatch = 'waiting'",
        ", updated_at = $2, dispatch = 'sending', dispatch_attempts = dispatch_attempts + 1",
    )
};

/// Sent without a recorded answer (a worker died mid-send, or the answer was lost) and whose
/// wait is over.
pub const UNRESOLVED: Queue<Generation> = generations(
    "status = 'queued' AND dispatch IN ('sending', 'unknown')",
    ", updated_at = $2",
);

/// Running upstream and due for a status read.
pub const RUNNING: Queue<Generation> = generations("status = 'running'", ", updated_at = $2");

/// Succeeded Veo generations whose 1080p video is due to be asked for.
pub const HD: Queue<Generation> = Queue {
    due_at: "hd_next_at",
    waiting: "hd = 'pending'",
    order: "hd_next_at, id",
    on_claim: "",
    ..generations("", "")
};

/// Generations holding an upstream slot: running, or sent and not yet answered.
pub(crate) const HOLDS_UPSTREAM_SLOT: &str =
    "(status = 'running' OR (status = 'queued' AND dispatch IN ('sending', 'unknown')))";
/// Queued and not sent: what an upstream refusal marks as waiting for capacity.
pub(crate) const UNSENT: &str = "status = 'queued' AND dispatch = 'waiting'";
/// Queued, sent or not.
pub(crate) const QUEUED: &str = "status = 'queued'";

const fn generations(waiting: &'static str, on_claim: &'static str) -> Queue<Generation> {
    Queue {
        table: "generations",
        key: "id",
        due_at: "next_check_at",
        waiting,
        order: "next_check_at, id",
        on_claim,
        columns: GENERATION_COLUMNS,
        from_row: generation_from_row,
        sorted_by: None,
    }
}

impl Store {
    /// Generations holding an upstream slot: running, or sent and not yet answered.
    ///
    /// Counts no further than `up_to` (the configured cap is all the dispatcher needs to
    /// know): with 100,000 tasks running, a full count on every dispatch round cost more than
    /// the round itself.
    pub async fn in_flight_upstream(&self, up_to: u32) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM (
                 SELECT 1 AS one FROM generations WHERE {HOLDS_UPSTREAM_SLOT}
                 LIMIT $1) AS in_flight"
        ))
        .bind(i64::from(up_to))
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Of the generations holding an upstream slot, those sent with the key labelled `key`
    /// (several Kie keys: each has its own cap). Counts no further than `up_to`. The first
    /// key also counts those with no key recorded (`or_unlabelled`): they were sent with it
    /// while it was the only one.
    pub async fn in_flight_upstream_with(
        &self,
        key: &str,
        or_unlabelled: bool,
        up_to: u32,
    ) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM (
                 SELECT 1 AS one FROM generations
                 WHERE (upstream_key = $1 OR ($3 = 1 AND upstream_key IS NULL))
                     AND {HOLDS_UPSTREAM_SLOT}
                 LIMIT $2) AS in_flight"
        ))
        .bind(key)
        .bind(i64::from(up_to))
        .bind(i64::from(or_unlabelled))
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Records which key a claimed generation is about to be sent with, before the request
    /// goes out: whatever its answer (or a lost one), the task belongs to that key.
    pub async fn record_sending_key(
        &self,
        id: &GenerationId,
        key: &str,
    ) -> Result<bool, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET upstream_key = $1 WHERE id = $2 AND {}",
                guard(Event::KeyChosen)
            )
        });
        self.update_one(&SQL, |q| q.bind(key).bind(id.as_str()))
            .await
    }

    /// Kie accepted the create request (or a callback revealed the task of one whose answer
    /// was lost): the generation is running. False if it had moved on meanwhile.
    pub async fn record_accepted(
        &self,
        id: &GenerationId,
        task_id: &str,
        first_check_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET status = 'running', dispatch = 'accepted', upstream_task_id = $1,
                     next_check_at = $2, dispatched_at = $3, updated_at = $3,
                     blocked_since = NULL, blocked_reason = NULL
                 WHERE id = $4 AND {}",
                guard(Event::UpstreamAccepted)
            )
        });
        let now = now_millis();
        self.update_one(&SQL, |q| {
            q.bind(task_id)
                .bind(to_millis(first_check_at))
                .bind(now)
                .bind(id.as_str())
        })
        .await
    }

    /// The create request certainly did not create a task: send it again at `retry_at`.
    /// `blocked` says why when upstream refuses for reasons the operator must fix, or is down;
    /// the first such refusal starts the clock that ends in failure.
    pub async fn record_not_sent(
        &self,
        id: &GenerationId,
        retry_at: DateTime<Utc>,
        blocked: Option<&str>,
    ) -> Result<bool, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET dispatch = 'waiting', next_check_at = $1, updated_at = $2,
                     blocked_since = CASE WHEN $3 IS NULL THEN NULL ELSE COALESCE(blocked_since, $2) END,
                     blocked_reason = $3
                 WHERE id = $4 AND {}",
                guard(Event::NotSent)
            )
        });
        let now = now_millis();
        self.update_one(&SQL, |q| {
            q.bind(to_millis(retry_at))
                .bind(now)
                .bind(blocked)
                .bind(id.as_str())
        })
        .await
    }

    /// The create request was sent but its answer was lost. It is never sent again; wait
    /// until `give_up_at` for a callback to reveal the task.
    pub async fn record_outcome_unknown(
        &self,
        id: &GenerationId,
        reason: &str,
        give_up_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET dispatch = 'unknown', next_check_at = $1, updated_at = $2,
                     upstream_error = $3
                 WHERE id = $4 AND {}",
                guard(Event::AnswerLost)
            )
        });
        let now = now_millis();
        self.update_one(&SQL, |q| {
            q.bind(to_millis(give_up_at))
                .bind(now)
                .bind(reason)
                .bind(id.as_str())
        })
        .await
    }

    /// Upstream refuses new work: every unsent queued generation shows why, and its clock
    /// towards failing starts (if it had not already).
    pub async fn mark_queued_blocked(&self, reason: &str) -> Result<(), StoreError> {
        let now = now_millis();
        crate::retry::on_contention(|| async {
            sqlx::query(&format!(
                "UPDATE generations SET blocked_since = COALESCE(blocked_since, $1), blocked_reason = $2
                 WHERE {UNSENT}
                   AND (blocked_since IS NULL OR blocked_reason IS NULL OR blocked_reason <> $2)"
            ))
            .bind(now)
            .bind(reason)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Upstream takes work again: nothing queued is blocked any more.
    pub async fn clear_queued_blocked(&self) -> Result<(), StoreError> {
        crate::retry::on_contention(|| async {
            sqlx::query(&format!(
                "UPDATE generations SET blocked_since = NULL, blocked_reason = NULL
                 WHERE {QUEUED} AND blocked_since IS NOT NULL"
            ))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Unsent queued generations blocked since before `before`, oldest first.
    pub async fn blocked_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Generation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {GENERATION_COLUMNS} FROM generations
             WHERE {UNSENT} AND blocked_since <= $1
             ORDER BY blocked_since LIMIT $2"
        ))
        .bind(to_millis(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(generation_from_row).collect()
    }

    /// A status read said "not finished": look again at `next_check_at`.
    pub async fn record_still_running(
        &self,
        id: &GenerationId,
        next_check_at: DateTime<Utc>,
        not_found: bool,
    ) -> Result<bool, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET next_check_at = $1, updated_at = $2,
                     status_checks = status_checks + 1,
                     not_found_checks = CASE WHEN $3 = 1 THEN not_found_checks + 1 ELSE 0 END
                 WHERE id = $4 AND {}",
                guard(Event::StillRunning)
            )
        });
        let now = now_millis();
        self.update_one(&SQL, |q| {
            q.bind(to_millis(next_check_at))
                .bind(now)
                .bind(i64::from(not_found))
                .bind(id.as_str())
        })
        .await
    }

    /// A callback says the task changed: look now instead of at the scheduled time.
    pub async fn check_now(&self, id: &GenerationId) -> Result<bool, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET next_check_at = $1 WHERE id = $2 AND {} AND next_check_at > $1",
                guard(Event::CallbackHint)
            )
        });
        let now = now_millis();
        self.update_one(&SQL, |q| q.bind(now).bind(id.as_str()))
            .await
    }

    /// Adds the 1080p video, or (with `None`) gives up on it; or, with `retry_at`, asks again.
    pub async fn record_hd(
        &self,
        generation: &Generation,
        video: Option<Video>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        static NOT_YET: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET hd_next_at = $1 WHERE id = $2 AND {}",
                guard(Event::HdNotYet)
            )
        });
        // Arrived and given up on come from the same state.
        static ENDED: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET hd = $1, videos = $2, hd_next_at = NULL, updated_at = $3
                 WHERE id = $4 AND {}",
                guard(Event::HdArrived)
            )
        });
        let now = now_millis();
        if let Some(at) = retry_at {
            return self
                .update_one(&NOT_YET, |q| {
                    q.bind(to_millis(at)).bind(generation.id.as_str())
                })
                .await;
        }
        let mut updated = generation.clone();
        let hd = match video {
            Some(video) => {
                updated.videos.push(video);
                "done"
            }
            None => "gave_up",
        };
        let videos = serde_json::to_string(&updated.videos)
            .map_err(|e| StoreError::corrupt("generations", e))?;
        let (updated, videos) = (&updated, &videos);
        crate::retry::in_transaction!(self, |conn| async {
            let done = sqlx::query(&ENDED)
                .bind(hd)
                .bind(videos.as_str())
                .bind(now)
                .bind(updated.id.as_str())
                .execute(&mut *conn)
                .await?;
            let recorded = done.rows_affected() == 1;
            // The 1080p video is copied like the others, queued with its arrival, and the
            // customer's webhook hears of it once that copy is made.
            if recorded && updated.videos.len() > generation.videos.len() {
                crate::media::enqueue(conn, updated, generation.videos.len(), now).await?;
                crate::webhook_deliveries::enqueue(
                    conn,
                    updated,
                    "generation.videos_updated",
                    "",
                    now,
                )
                .await?;
            }
            Ok::<_, StoreError>(recorded)
        })
    }

    async fn update_one<'q>(
        &self,
        sql: &'q str,
        bind: impl Fn(
            sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<bool, StoreError> {
        let bind = &bind;
        let done = crate::retry::on_contention(|| async move {
            Ok(bind(sqlx::query(sql)).execute(&self.pool).await?)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
