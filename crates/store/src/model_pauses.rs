//! Models the upstream refuses as withdrawn or disabled, paused for every instance: while a
//! pause runs nothing of the model is sent; when it is over, one generation may be let through
//! as its probe (taken here, so two instances cannot both take it).
//!
//! A pause is written with compare-and-set on `strikes`, so two instances that see the same
//! refusal lengthen it once, not twice.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::generations::{generation_from_row, GENERATION_COLUMNS};
use crate::time::{from_millis, from_millis_opt, now_millis, to_millis};
use crate::{Store, StoreError};
use reelgate_domain::generations::{Generation, GenerationId};

/// A probe taken this long ago whose generation never reached the upstream (it failed, was
/// canceled, or its instance died) no longer holds the model's probe.
const PROBE_HELD_FOR_MS: i64 = 10 * 60 * 1000;

/// One paused model, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPause {
    /// The catalog's model id.
    pub model: String,
    /// The upstream's words, for the operator.
    pub reason: String,
    pub since: DateTime<Utc>,
    /// When one generation may be let through to find out whether the upstream takes the
    /// model again.
    pub probe_at: DateTime<Utc>,
    /// Refused probes so far (0 for the first refusal); each doubles the pause.
    pub strikes: u32,
    /// The generation let through as the probe, and when.
    pub probe: Option<(GenerationId, DateTime<Utc>)>,
}

impl ModelPause {
    /// Whether a new generation of the model is refused now: the pause runs, or its probe is
    /// out.
    pub fn refuses_at(&self, now: DateTime<Utc>) -> bool {
        let probe_held = self
            .probe
            .as_ref()
            .is_some_and(|(_, at)| (now - *at).num_milliseconds() < PROBE_HELD_FOR_MS);
        self.probe_at > now || probe_held
    }
}

const COLUMNS: &str =
    "model, reason, paused_since, probe_at, strikes, probe_generation, probe_taken_at";

fn from_row(row: &AnyRow) -> Result<ModelPause, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("model_pauses", e);
    let probe = match (
        row.try_get::<Option<String>, _>("probe_generation")?,
        from_millis_opt("model_pauses", row.try_get("probe_taken_at")?)?,
    ) {
        (Some(id), Some(at)) => Some((id.parse().map_err(|e| corrupt(&e))?, at)),
        _ => None,
    };
    Ok(ModelPause {
        model: row.try_get("model")?,
        reason: row.try_get("reason")?,
        since: from_millis("model_pauses", row.try_get("paused_since")?)?,
        probe_at: from_millis("model_pauses", row.try_get("probe_at")?)?,
        strikes: u32::try_from(row.try_get::<i64, _>("strikes")?).map_err(|e| corrupt(&e))?,
        probe,
    })
}

impl Store {
    /// Every paused model, by id.
    pub async fn model_pauses(&self) -> Result<Vec<ModelPause>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM model_pauses ORDER BY model"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn model_pause(&self, model: &str) -> Result<Option<ModelPause>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM model_pauses WHERE model = $1"
        ))
        .bind(model)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Writes `pause` if the stored one still has `seen_strikes` refused probes (`None`: if
    /// the model is not paused). False if another instance got there first: read it again.
    /// The probe, if one was out, is given back.
    pub async fn put_model_pause(
        &self,
        pause: &ModelPause,
        seen_strikes: Option<u32>,
    ) -> Result<bool, StoreError> {
        let bind = |q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>>| {
            q.bind(pause.model.clone())
                .bind(pause.reason.clone())
                .bind(to_millis(pause.since))
                .bind(to_millis(pause.probe_at))
                .bind(i64::from(pause.strikes))
        };
        let done =
            crate::retry::on_contention(|| async {
                Ok(match seen_strikes {
                    None => bind(sqlx::query(
                        "INSERT INTO model_pauses (model, reason, paused_since, probe_at, strikes)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model) DO NOTHING",
                    ))
                    .execute(&self.pool)
                    .await?,
                    Some(seen) => {
                        bind(sqlx::query(
                            "UPDATE model_pauses SET reason = $2, paused_since = $3, probe_at = $4,
                             strikes = $5, probe_generation = NULL, probe_taken_at = NULL
                         WHERE model = $1 AND strikes = $6",
                        ))
                        .bind(i64::from(seen))
                        .execute(&self.pool)
                        .await?
                    }
                })
            })
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lets `generation` through as the model's probe, if its pause is over and no other
    /// probe is out. False: the model is still refused.
    pub async fn take_model_probe(
        &self,
        model: &str,
        generation: &GenerationId,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query(
                "UPDATE model_pauses SET probe_generation = $1, probe_taken_at = $2
                 WHERE model = $3 AND probe_at <= $2
                   AND (probe_taken_at IS NULL OR probe_taken_at < $4)",
            )
            .bind(generation.as_str())
            .bind(now)
            .bind(model)
            .bind(now - PROBE_HELD_FOR_MS)
            .execute(&self.pool)
            .await?)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The probe `generation` will not reach the upstream (refused for its own content, say):
    /// another generation may probe.
    pub async fn give_back_model_probe(
        &self,
        model: &str,
        generation: &GenerationId,
    ) -> Result<(), StoreError> {
        crate::retry::on_contention(|| async {
            sqlx::query(
                "UPDATE model_pauses SET probe_generation = NULL, probe_taken_at = NULL
                 WHERE model = $1 AND probe_generation = $2",
            )
            .bind(model)
            .bind(generation.as_str())
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// The model is offered again (its probe got through, or the operator said so). True if
    /// it was paused.
    pub async fn resume_model(&self, model: &str) -> Result<bool, StoreError> {
        let done = crate::retry::on_contention(|| async {
            Ok(sqlx::query("DELETE FROM model_pauses WHERE model = $1")
                .bind(model)
                .execute(&self.pool)
                .await?)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queued generations of `model` not yet handed to a sender, oldest first: what a pause
    /// fails and refunds. (One being sent right now is answered by the upstream instead.)
    pub async fn queued_unsent_of_model(
        &self,
        model: &str,
        limit: u32,
    ) -> Result<Vec<Generation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {GENERATION_COLUMNS} FROM generations
             WHERE {unsent} AND model = $1
             ORDER BY id LIMIT $2",
            unsent = crate::tracking::UNSENT,
        ))
        .bind(model)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(generation_from_row).collect()
    }
}
