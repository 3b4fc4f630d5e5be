//! Generations: submitting one (hold + insert in one transaction), reading them, canceling
//! and settling them. Settling is a conditional state change plus a ledger row in one
//! transaction, so a generation settles exactly once whatever races or retries occur.

use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::{
    Dispatch, Event, Generation, GenerationError, GenerationId, HdFetch, Status, Video,
};
use reelgate_domain::limits::Quota;
use reelgate_domain::Credits;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::sync::LazyLock;

use crate::group_commit::{Answer, Job};
use crate::guards::guard;
use crate::limits::Admitted;
use crate::retry::in_transaction;
use crate::sqlite_batch::Item;
use crate::time::{from_millis, from_millis_opt, now_millis};
use crate::{error::is_unique_violation, ledger, page, Page, Store, StoreError};

pub(crate) const GENERATION_COLUMNS: &str = "id, user_id, model, params, upstream_request, credits,
    upstream_cost_usd, status, dispatch, dispatch_attempts, upstream_task_id, next_check_at,
    status_checks, not_found_checks, blocked_since, blocked_reason, videos, hd, error_code,
    error_message, upstream_error, webhook_url, idempotency_key, created_at, updated_at,
    dispatched_at, finished_at, fair_key, upstream_key";

pub(crate) fn generation_from_row(row: &AnyRow) -> Result<Generation, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("generations", e);
    let json = |column: &str| -> Result<Value, StoreError> {
        serde_json::from_str(&row.try_get::<String, _>(column)?).map_err(|e| corrupt(&e))
    };
    let params = match json("params")? {
        Value::Object(map) => map,
        other => return Err(corrupt(&format!("params is not an object: {other}"))),
    };
    let videos: Vec<Video> = serde_json::from_value(json("videos")?).map_err(|e| corrupt(&e))?;
    let error = match (
        row.try_get::<Option<String>, _>("error_code")?,
        row.try_get::<Option<String>, _>("error_message")?,
    ) {
        (Some(code), Some(message)) => Some(GenerationError { code, message }),
        _ => None,
    };
    let count = |column: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i64, _>(column)?).map_err(|e| corrupt(&e))
    };
    Ok(Generation {
        id: row
            .try_get::<String, _>("id")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        user_id: UserId::parse(&row.try_get::<String, _>("user_id")?).map_err(|e| corrupt(&e))?,
        model: row.try_get("model")?,
        params,
        upstream_request: json("upstream_request")?,
        credits: Credits::new(row.try_get("credits")?),
        upstream_cost_usd: row
            .try_get::<String, _>("upstream_cost_usd")?
            .parse::<Decimal>()
            .map_err(|e| corrupt(&e))?,
        status: row
            .try_get::<String, _>("status")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        dispatch: row
            .try_get::<String, _>("dispatch")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        dispatch_attempts: count("dispatch_attempts")?,
        upstream_task_id: row.try_get("upstream_task_id")?,
        upstream_key: row.try_get("upstream_key")?,
        next_check_at: from_millis("generations", row.try_get("next_check_at")?)?,
        status_checks: count("status_checks")?,
        not_found_checks: count("not_found_checks")?,
        blocked_since: from_millis_opt("generations", row.try_get("blocked_since")?)?,
        blocked_reason: row.try_get("blocked_reason")?,
        videos,
        hd: row
            .try_get::<String, _>("hd")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        error,
        upstream_error: row.try_get("upstream_error")?,
        webhook_url: row.try_get("webhook_url")?,
        idempotency_key: row.try_get("idempotency_key")?,
        created_at: from_millis("generations", row.try_get("created_at")?)?,
        updated_at: from_millis("generations", row.try_get("updated_at")?)?,
        dispatched_at: from_millis_opt("generations", row.try_get("dispatched_at")?)?,
        finished_at: from_millis_opt("generations", row.try_get("finished_at")?)?,
        fair_key: row.try_get("fair_key")?,
    })
}

/// A generation the catalog accepted and priced, ready to be held and stored.
#[derive(Debug, Clone)]
pub struct NewGeneration {
    pub id: GenerationId,
    pub user_id: UserId,
    pub model: String,
    pub params: Map<String, Value>,
    pub upstream_request: Value,
    pub credits: Credits,
    pub upstream_cost_usd: Decimal,
    pub webhook_url: Option<String>,
    pub idempotency: Option<IdempotencyKey>,
}

/// An `Idempotency-Key` header and a digest of the request body it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Held and stored now; with the customer's submissions-per-minute quota left, if limited.
    Created(Box<Generation>, Option<Quota>),
    /// The same key and body were submitted before: here is the first response again.
    Replayed { first_response: String },
}

/// How a generation ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        videos: Vec<Video>,
        hd_pending: bool,
    },
    Failed {
        error: GenerationError,
        upstream_error: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Canceled {
    Now(Generation),
    /// Already sent upstream or finished; nothing changed.
    TooLate(Generation),
}

impl Store {
    /// Holds the price and stores the generation as `queued`, in one transaction. With an
    /// idempotency key already used for the same body, answers the first response instead;
    /// with a different body, `IdempotencyConflict`.
    pub async fn submit_generation(
        &self,
        new: &NewGeneration,
        first_response: impl Fn(&Generation) -> String,
    ) -> Result<Submitted, StoreError> {
        if let Some(replay) = self.replay(new).await? {
            return Ok(replay);
        }
        let now = now_millis();
        let mut generation = new_record(new, now)?;
        let response = new
            .idempotency
            .as_ref()
            .map(|_| first_response(&generation));
        let stored = self.store_submission(new, now, response).await;
        match stored {
            Ok(admitted) => {
                generation.fair_key = admitted.fair_key;
                Ok(Submitted::Created(Box::new(generation), admitted.quota))
            }
            // Another request with the same key won the race; answer as it did.
            Err(StoreError::Database(e))
                if is_unique_violation(&e) && new.idempotency.is_some() =>
            {
                self.replay(new)
                    .await?
                    .ok_or_else(|| StoreError::corrupt("generations", "idempotency key vanished"))
            }
            Err(e) => Err(e),
        }
    }

    /// Holds and inserts, committed: with the batch of submissions waiting with it where
    /// there is a batcher (SQLite), in a transaction of its own otherwise.
    async fn store_submission(
        &self,
        new: &NewGeneration,
        now: i64,
        response: Option<String>,
    ) -> Result<Admitted, StoreError> {
        if let Some(batcher) = &self.batcher {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let job = Job {
                item: Item {
                    new: new.clone(),
                    now,
                    response: response.clone(),
                },
                reply,
            };
            // Refused only when there is no writer to take it: then nothing was written.
            if batcher.send(self, job).await.is_ok() {
                match answer.await {
                    Ok(Answer::Done(outcome)) => return outcome,
                    Ok(Answer::WriteAlone) => {}
                    // The writer was dropped mid-batch: whether it committed is unknown, and
                    // writing it again could submit it twice.
                    Err(_) => return Err(StoreError::WriterStopped),
                }
            }
        }
        let response = response.as_deref();
        in_transaction!(self, |conn| submit_in(conn, new, now, response))
    }

    async fn replay(&self, new: &NewGeneration) -> Result<Option<Submitted>, StoreError> {
        let Some(idempotency) = &new.idempotency else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT request_hash, first_response FROM generations
             WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(new.user_id.as_str())
        .bind(&idempotency.key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: Option<String> = row.try_get("request_hash")?;
        if hash.as_deref() != Some(idempotency.request_hash.as_str()) {
            return Err(StoreError::IdempotencyConflict);
        }
        let first_response: Option<String> = row.try_get("first_response")?;
        Ok(Some(Submitted::Replayed {
            first_response: first_response.unwrap_or_default(),
        }))
    }

    /// One generation, if it exists and belongs to `user`.
    pub async fn generation_of(
        &self,
        user: &UserId,
        id: &GenerationId,
    ) -> Result<Option<Generation>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GENERATION_COLUMNS} FROM generations WHERE id = $1 AND user_id = $2"
        ))
        .bind(id.as_str())
        .bind(user.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(generation_from_row).transpose()
    }

    pub async fn generation(&self, id: &GenerationId) -> Result<Option<Generation>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GENERATION_COLUMNS} FROM generations WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(generation_from_row).transpose()
    }

    /// A user's generations, newest first, optionally of one status.
    pub async fn generations_of(
        &self,
        user: &UserId,
        status: Option<Status>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Generation>, StoreError> {
        let after = cursor.map(|c| page::decode("generations", c)).transpose()?;
        let rows = sqlx::query(&format!(
            "SELECT {GENERATION_COLUMNS} FROM generations
             WHERE user_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(user.as_str())
        .bind(status.map(Status::as_str))
        .bind(after)
        .bind(page::fetch_size(limit))
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(generation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page::finish(
            items,
            limit,
            |g| g.id.to_string(),
            "generations",
        ))
    }

    /// Cancels a generation that has not been sent upstream, and refunds it.
    pub async fn cancel_generation(
        &self,
        user: &UserId,
        id: &GenerationId,
        webhook_payload: impl Fn(&Generation) -> String,
    ) -> Result<Option<Canceled>, StoreError> {
        let now = now_millis();
        let webhook_payload = &webhook_payload;
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE generations SET status = 'canceled', finished_at = $1, updated_at = $1,
                     error_code = 'canceled', error_message = 'Canceled before it was sent. Your credits have been returned.'
                 WHERE id = $2 AND user_id = $3 AND {}
                 RETURNING {GENERATION_COLUMNS}",
                guard(Event::Canceled)
            )
        });
        let canceled = in_transaction!(self, |conn| async {
            let row = sqlx::query(&SQL)
                .bind(now)
                .bind(id.as_str())
                .bind(user.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            let Some(row) = row else {
                return Ok::<_, StoreError>(None);
            };
            let generation = generation_from_row(&row)?;
            ledger::release(conn, id, "generation canceled").await?;
            enqueue_webhook(conn, &generation, webhook_payload, now).await?;
            crate::mail::generation_ended(conn, &generation).await?;
            Ok(Some(generation))
        })?;
        match canceled {
            Some(generation) => Ok(Some(Canceled::Now(generation))),
            None => Ok(self.generation_of(user, id).await?.map(Canceled::TooLate)),
        }
    }

    /// Ends a generation: `succeeded` captures its hold, `failed` releases it, in the same
    /// transaction as the state change, and its webhook (if any) is queued with them. Returns
    /// `None` when it had already ended: the caller lost a race that was settled once.
    pub async fn settle_generation(
        &self,
        id: &GenerationId,
        outcome: &Outcome,
        webhook_payload: impl Fn(&Generation) -> String,
    ) -> Result<Option<Generation>, StoreError> {
        self.settle_generation_from(id, None, outcome, webhook_payload)
            .await
    }

    /// Like [`Store::settle_generation`], but only from the status the caller decided on.
    /// A worker that read a generation `queued` (its create unanswered too long) must not fail
    /// it once a callback has meanwhile revealed its task and made it `running` — the soak
    /// found such generations refunded while their videos were being made.
    pub async fn settle_generation_from(
        &self,
        id: &GenerationId,
        seen: Option<Status>,
        outcome: &Outcome,
        webhook_payload: impl Fn(&Generation) -> String,
    ) -> Result<Option<Generation>, StoreError> {
        let now = now_millis();
        let webhook_payload = &webhook_payload;
        in_transaction!(self, |conn| async {
            let Some(generation) = settle(conn, id, seen, outcome, now).await? else {
                return Ok::<_, StoreError>(None);
            };
            match outcome {
                Outcome::Succeeded { .. } => {
                    ledger::capture(conn, id).await?;
                    crate::media::enqueue(conn, &generation, 0, now).await?;
                }
                Outcome::Failed { .. } => {
                    ledger::release(conn, id, "generation failed").await?;
                }
            };
            enqueue_webhook(conn, &generation, webhook_payload, now).await?;
            crate::mail::generation_ended(conn, &generation).await?;
            Ok(Some(generation))
        })
    }
}

fn new_record(new: &NewGeneration, now: i64) -> Result<Generation, StoreError> {
    let at = from_millis("generations", now)?;
    Ok(Generation {
        id: new.id.clone(),
        user_id: new.user_id.clone(),
        model: new.model.clone(),
        params: new.params.clone(),
        upstream_request: new.upstream_request.clone(),
        credits: new.credits,
        upstream_cost_usd: new.upstream_cost_usd,
        status: Status::Queued,
        dispatch: Dispatch::Waiting,
        dispatch_attempts: 0,
        upstream_task_id: None,
        upstream_key: None,
        next_check_at: at,
        status_checks: 0,
        not_found_checks: 0,
        blocked_since: None,
        blocked_reason: None,
        videos: Vec::new(),
        hd: HdFetch::None,
        error: None,
        upstream_error: None,
        webhook_url: new.webhook_url.clone(),
        idempotency_key: new.idempotency.as_ref().map(|i| i.key.clone()),
        created_at: at,
        updated_at: at,
        dispatched_at: None,
        finished_at: None,
        fair_key: 0,
    })
}

/// A submission's writes, in the caller's transaction: the hold, the customer's limits and
/// fair place, the row.
pub(crate) async fn submit_in(
    conn: &mut AnyConnection,
    new: &NewGeneration,
    now: i64,
    first_response: Option<&str>,
) -> Result<Admitted, StoreError> {
    ledger::hold(
        conn,
        &new.user_id,
        &new.id,
        new.credits,
        &format!("generation {}", new.id),
    )
    .await?;
    let admitted = crate::limits::admit(conn, &new.user_id, new.credits, now).await?;
    insert(conn, new, now, first_response, admitted.fair_key).await?;
    Ok(admitted)
}

async fn insert(
    conn: &mut AnyConnection,
    new: &NewGeneration,
    now: i64,
    first_response: Option<&str>,
    fair_key: i64,
) -> Result<(), StoreError> {
    let row = NewRow::of(new, now, first_response, fair_key);
    sqlx::query(INSERT_GENERATION)
        .bind(row.id)
        .bind(row.user_id)
        .bind(row.model)
        .bind(row.params)
        .bind(row.upstream_request)
        .bind(row.credits)
        .bind(row.upstream_cost_usd)
        .bind(row.now)
        .bind(row.webhook_url)
        .bind(row.idempotency_key)
        .bind(row.request_hash)
        .bind(row.first_response)
        .bind(row.fair_key)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new generation, queued: [`NewRow`]'s fields are `$1`…`$13` in order.
pub(crate) const INSERT_GENERATION: &str =
    "INSERT INTO generations (id, user_id, model, params, upstream_request, credits,
         upstream_cost_usd, status, next_check_at, webhook_url, idempotency_key, request_hash,
         first_response, created_at, updated_at, fair_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $11, $12, $8, $8, $13)";

/// A new generation as the database stores it (written through sqlx, or by the native
/// SQLite batch in `sqlite_batch.rs`).
pub(crate) struct NewRow<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub model: &'a str,
    pub params: String,
    pub upstream_request: String,
    pub credits: i64,
    pub upstream_cost_usd: String,
    pub now: i64,
    pub webhook_url: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: Option<&'a str>,
    pub first_response: Option<&'a str>,
    pub fair_key: i64,
}

impl<'a> NewRow<'a> {
    pub(crate) fn of(
        new: &'a NewGeneration,
        now: i64,
        first_response: Option<&'a str>,
        fair_key: i64,
    ) -> Self {
        NewRow {
            id: new.id.as_str(),
            user_id: new.user_id.as_str(),
            model: &new.model,
            params: Value::Object(new.params.clone()).to_string(),
            upstream_request: new.upstream_request.to_string(),
            credits: new.credits.get(),
            upstream_cost_usd: new.upstream_cost_usd.to_string(),
            now,
            webhook_url: new.webhook_url.as_deref(),
            idempotency_key: new.idempotency.as_ref().map(|i| i.key.as_str()),
            request_hash: new.idempotency.as_ref().map(|i| i.request_hash.as_str()),
            first_response,
            fair_key,
        }
    }
}

/// The state change of settling; `None` if the generation is not in a state it may leave.
async fn settle(
    conn: &mut AnyConnection,
    id: &GenerationId,
    seen: Option<Status>,
    outcome: &Outcome,
    now: i64,
) -> Result<Option<Generation>, StoreError> {
    // Both kinds of success, and every kind of failure, come from the same states.
    static SUCCEEDED: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE generations SET status = 'succeeded', videos = $1, hd = $2, hd_next_at = $3,
                 finished_at = $3, updated_at = $3, blocked_since = NULL, blocked_reason = NULL
             WHERE id = $4 AND {}
             RETURNING {GENERATION_COLUMNS}",
            guard(Event::TaskSucceeded { hd_pending: true })
        )
    });
    static FAILED: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE generations SET status = 'failed', error_code = $1, error_message = $2,
                 upstream_error = COALESCE($3, upstream_error), finished_at = $4, updated_at = $4
             WHERE id = $5 AND {} AND status = COALESCE($6, status)
             RETURNING {GENERATION_COLUMNS}",
            crate::guards::any_failure()
        )
    });
    let row = match outcome {
        Outcome::Succeeded { videos, hd_pending } => {
            let videos =
                serde_json::to_string(videos).map_err(|e| StoreError::corrupt("generations", e))?;
            let hd = if *hd_pending {
                HdFetch::Pending
            } else {
                HdFetch::None
            };
            sqlx::query(&SUCCEEDED)
                .bind(videos)
                .bind(hd.as_str())
                .bind(now)
                .bind(id.as_str())
                .fetch_optional(&mut *conn)
                .await?
        }
        Outcome::Failed {
            error,
            upstream_error,
        } => {
            sqlx::query(&FAILED)
                .bind(&error.code)
                .bind(&error.message)
                .bind(upstream_error.as_deref())
                .bind(now)
                .bind(id.as_str())
                .bind(seen.map(Status::as_str))
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    row.as_ref().map(generation_from_row).transpose()
}

/// Queues the customer's webhook for a generation that just ended, in the caller's
/// transaction: the delivery exists if and only if the state change committed. A success is
/// queued uncomposed: its payload is written once reelgate has its own copies of the videos.
async fn enqueue_webhook(
    conn: &mut AnyConnection,
    generation: &Generation,
    payload: &impl Fn(&Generation) -> String,
    now: i64,
) -> Result<(), StoreError> {
    let payload = match generation.status {
        Status::Succeeded => String::new(),
        _ => payload(generation),
    };
    let event = format!("generation.{}", generation.status.as_str());
    crate::webhook_deliveries::enqueue(conn, generation, &event, &payload, now).await
}
