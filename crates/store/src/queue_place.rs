//! Where queued generations stand in the dispatch queue, and how long each model has lately
//! taken upstream: what the generation object's estimates are made of.

use chrono::{DateTime, Utc};
use reelgate_domain::generations::GenerationId;
use sqlx::Row;
use std::collections::HashMap;
use std::time::Duration;

use crate::time::to_millis;
use crate::{Store, StoreError};

/// The queue as a read sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuePlaces {
    /// For each generation asked about that is still waiting to be sent: how many waiting
    /// generations the dispatcher will send before it.
    pub ahead: HashMap<GenerationId, u64>,
    /// Generations holding an upstream slot, counted no further than asked.
    pub in_flight: u64,
}

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
        let sql = format!(
            "SELECT g.id AS id,
                 (SELECT COUNT(*) FROM generations o
                  WHERE o.status = 'queued' AND o.dispatch = 'waiting' AND o.fair_key <= g.fair_key
                    AND (o.fair_key < g.fair_key OR o.id < g.id)) AS ahead,
                 (SELECT COUNT(*) FROM (
                     SELECT 1 AS one FROM generations
                     WHERE {holding}
                     LIMIT $1) AS flying) AS in_flight
             FROM generations g
             WHERE g.status = 'queued' AND g.dispatch = 'waiting' AND g.id IN ({})",
            placeholders.join(", "),
            holding = crate::tracking::HOLDS_UPSTREAM_SLOT,
        );
        let mut query = sqlx::query(&sql).bind(i64::from(in_flight_up_to));
        for id in generations {
            query = query.bind(id.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut places = QueuePlaces::default();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let id = id
                .parse()
                .map_err(|e| StoreError::corrupt("generations", e))?;
            let ahead: i64 = row.try_get("ahead")?;
            places.ahead.insert(id, u64::try_from(ahead).unwrap_or(0));
            places.in_flight = u64::try_from(row.try_get::<i64, _>("in_flight")?).unwrap_or(0);
        }
        Ok(places)
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
