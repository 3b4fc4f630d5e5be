//! Where queued generations stand in the dispatch queue, and how long each model has lately
//! taken upstream: what the generation object's estimates are made of.

use chrono::{DateTime, Utc};
use reelgate_domain::generations::GenerationId;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::time::to_millis;
use crate::{Store, StoreError};

/// Waiting rows `o` the dispatcher sends before `g`: the claim's `fair_key, id` order.
const AHEAD: &str = "o.status = 'queued' AND o.dispatch = 'waiting' AND o.fair_key <= g.fair_key
     AND (o.fair_key < g.fair_key OR o.id < g.id)";

/// The queue as a read sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuePlaces {
    /// For each generation asked about that is still waiting to be sent: how many waiting
    /// generations the dispatcher will send before it.
    pub ahead: HashMap<GenerationId, u64>,
    /// Generations holding an upstream slot, counted no further than asked.
    pub in_flight: u64,
}

/// Places up to this many ahead are counted exactly, row by row; past it, they are read from a
/// sorted view of the waiting queue at most [`QUEUE_VIEW_TTL`] old. Counting costs one index
/// entry per row ahead: reads of the 30,000th of a queue each counted 30,000 and ran at a
/// twentieth of the rate of reads of a short queue's.
pub const EXACT_PLACES_UP_TO: u32 = 100;

/// How old the view of a long queue may be: a place thousands deep, a second old.
pub const QUEUE_VIEW_TTL: Duration = Duration::from_secs(1);

/// The waiting queue's fair keys, in order, as last read by this instance.
#[derive(Debug, Default)]
pub(crate) struct QueueView(tokio::sync::Mutex<Option<(Instant, Arc<[i64]>)>>);

impl Store {
    /// The places of `generations` in the dispatch queue, and the in-flight count, in one
    /// statement.
    ///
    /// It mirrors [`crate::queues::DISPATCH`]: the claim takes waiting rows
    /// (`status = 'queued' AND dispatch = 'waiting'`) in `fair_key, id` order, so the rows
    /// sent before one are exactly the waiting rows before it in that order — a range of the
    /// same `generations_fair_order` index, `fair_key <= its own`. Rows not due yet (backing
    /// off after a passing refusal) are counted too: they go in that order once due. A
    /// customer arriving later may still take a place in front (that is fair dispatch); the
    /// position is what the queue holds now.
    pub async fn queue_places(
        &self,
        generations: &[GenerationId],
        in_flight_up_to: u32,
    ) -> Result<QueuePlaces, StoreError> {
        if generations.is_empty() {
            return Ok(QueuePlaces::default());
        }
        let placeholders: Vec<String> = (2..generations.len() + 2)
            .map(|n| format!("${n}"))
            .collect();
        // `ahead` is -1 when at least EXACT_PLACES_UP_TO are: a row at that offset exists.
        // Unordered, so that finding out stops after that many (in order, PostgreSQL sorted
        // every row ahead first: its index has no `id`).
        let sql = format!(
            "SELECT g.id AS id, g.fair_key AS fair_key,
                 CASE WHEN EXISTS (SELECT 1 FROM generations o WHERE {AHEAD}
                                   LIMIT 1 OFFSET {last_exact})
                      THEN -1
                      ELSE (SELECT COUNT(*) FROM generations o WHERE {AHEAD}) END AS ahead,
                 (SELECT COUNT(*) FROM (
                     SELECT 1 AS one FROM generations
                     WHERE {holding}
                     LIMIT $1) AS flying) AS in_flight
             FROM generations g
             WHERE g.status = 'queued' AND g.dispatch = 'waiting' AND g.id IN ({})",
            placeholders.join(", "),
            holding = crate::tracking::HOLDS_UPSTREAM_SLOT,
            last_exact = EXACT_PLACES_UP_TO - 1,
        );
        let mut query = sqlx::query(&sql).bind(i64::from(in_flight_up_to));
        for id in generations {
            query = query.bind(id.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut places = QueuePlaces::default();
        // Read (or refreshed) once, by the first row past the counted places.
        let mut view: Option<Arc<[i64]>> = None;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let id = id
                .parse()
                .map_err(|e| StoreError::corrupt("generations", e))?;
            let ahead = match u64::try_from(row.try_get::<i64, _>("ahead")?) {
                Ok(counted) => counted,
                Err(_) => {
                    let view = match &view {
                        Some(view) => Arc::clone(view),
                        None => Arc::clone(view.insert(self.queue_view().await?)),
                    };
                    let fair_key: i64 = row.try_get("fair_key")?;
                    let viewed = view.partition_point(|&k| k < fair_key);
                    // The view may be older than the count that found this many.
                    u64::try_from(viewed)
                        .unwrap_or(u64::MAX)
                        .max(u64::from(EXACT_PLACES_UP_TO))
                }
            };
            places.ahead.insert(id, ahead);
            places.in_flight = u64::try_from(row.try_get::<i64, _>("in_flight")?).unwrap_or(0);
        }
        Ok(places)
    }

    /// The view of the waiting queue, read again if older than [`QUEUE_VIEW_TTL`] (by one
    /// reader while the others wait for it).
    async fn queue_view(&self) -> Result<Arc<[i64]>, StoreError> {
        let mut view = self.queue_view.0.lock().await;
        if let Some((read_at, keys)) = &*view {
            if read_at.elapsed() < QUEUE_VIEW_TTL {
                return Ok(Arc::clone(keys));
            }
        }
        let keys: Arc<[i64]> = sqlx::query_scalar(
            "SELECT fair_key FROM generations WHERE status = 'queued' AND dispatch = 'waiting'
             ORDER BY fair_key",
        )
        .fetch_all(&self.pool)
        .await?
        .into();
        *view = Some((Instant::now(), Arc::clone(&keys)));
        Ok(keys)
    }

    /// How long `model`'s generations that succeeded since `since` took from being sent to
    /// being settled, the latest `up_to` of them (index `generations_model_finished`).
    pub async fn run_times(
        &self,
        model: &str,
        since: DateTime<Utc>,
        up_to: u32,
    ) -> Result<Vec<Duration>, StoreError> {
        let rows = sqlx::query(
            "SELECT finished_at - dispatched_at AS took FROM generations
             WHERE model = $1 AND finished_at >= $2 AND status = 'succeeded'
               AND dispatched_at IS NOT NULL
             ORDER BY finished_at DESC LIMIT $3",
        )
        .bind(model)
        .bind(to_millis(since))
        .bind(i64::from(up_to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let took: i64 = row.try_get("took")?;
                Ok(Duration::from_millis(u64::try_from(took).unwrap_or(0)))
            })
            .collect()
    }
}
