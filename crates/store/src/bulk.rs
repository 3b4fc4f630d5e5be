//! Many generations at once, for the benchmarks' scale figures (submitting a million through
//! HTTP would take longer than the benchmark itself). Behind the `bulk` feature: the product
//! never calls it.
//!
//! The rows are what the lifecycle would have left: each generation has its `hold` ledger row
//! (and its `charge` if it succeeded), and the owner's cached balance and held credits move by
//! the same amounts in the same transaction, so `Store::audit_balance` still agrees.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::GenerationId;
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use rust_decimal::Decimal;

use crate::time::{from_millis_opt, to_millis};
use crate::{Store, StoreError};

/// Rows per INSERT statement: well under both backends' limits on bound parameters.
const ROWS_PER_STATEMENT: usize = 400;

/// What every generation of one bulk insert was asked and priced at, already encoded as the
/// submission path stores it.
pub struct BulkTemplate {
    pub model: String,
    pub params_json: String,
    pub upstream_request_json: String,
    pub credits: Credits,
    pub upstream_cost_usd: Decimal,
}

/// How bulk rows are stored.
pub enum BulkState {
    /// Finished long ago: history that only makes the tables bigger.
    Succeeded,
    /// Running upstream as these tasks (one generation each), first due over the next
    /// `spread_secs`.
    Running {
        task_ids: Vec<String>,
        spread_secs: u64,
    },
}

impl BulkState {
    fn settled(&self) -> bool {
        matches!(self, BulkState::Succeeded)
    }
}

impl Store {
    /// Inserts `n` generations of `owner` from `template`; for `Running`, `n` is capped by the
    /// number of task ids.
    pub async fn bulk_insert_generations(
        &self,
        owner: &UserId,
        template: &BulkTemplate,
        n: usize,
        state: &BulkState,
    ) -> Result<(), StoreError> {
        let n = match state {
            BulkState::Succeeded => n,
            BulkState::Running { task_ids, .. } => n.min(task_ids.len()),
        };
        let price = template.credits.get();
        let cost = template.upstream_cost_usd.to_string();
        let actor = Actor::User(owner.clone()).to_string();
        let now = to_millis(Utc::now());
        let mut done = 0;
        while done < n {
            let rows = ROWS_PER_STATEMENT.min(n - done);
            let ids: Vec<GenerationId> = (0..rows).map(|_| GenerationId::new()).collect();
            let mut tx = self.begin().await?;
            let insert_sql = generations_insert(rows);
            let mut insert = sqlx::query(&insert_sql);
            for (i, id) in ids.iter().enumerate() {
                let (status, task, next_check, finished) = match state {
                    BulkState::Succeeded => ("succeeded", None, now, Some(now)),
                    BulkState::Running {
                        task_ids,
                        spread_secs,
                    } => {
                        let spread = i64::try_from(spread_secs.saturating_mul(1000)).unwrap_or(0);
                        let position = i64::try_from(done + i).unwrap_or(0);
                        let offset = spread * position / i64::try_from(n).unwrap_or(1);
                        let task = task_ids.get(done + i).cloned();
                        ("running", task, now + offset, None)
                    }
                };
                insert = insert
                    .bind(id.as_str().to_owned())
                    .bind(owner.as_str().to_owned())
                    .bind(template.model.clone())
                    .bind(template.params_json.clone())
                    .bind(template.upstream_request_json.clone())
                    .bind(price)
                    .bind(cost.clone())
                    .bind(status)
                    .bind("accepted")
                    .bind(task)
                    .bind(next_check)
                    .bind(now)
                    .bind(now)
                    .bind(now)
                    .bind(finished);
            }
            insert.execute(&mut *tx).await?;
            let per_generation = if state.settled() { 2 } else { 1 };
            let ledger_sql = ledger_insert(rows * per_generation);
            let mut ledger = sqlx::query(&ledger_sql);
            for id in &ids {
                ledger = ledger
                    .bind(owner.as_str().to_owned())
                    .bind("hold")
                    .bind(-price)
                    .bind(format!("generation {id}"))
                    .bind(actor.clone())
                    .bind(id.as_str().to_owned())
                    .bind(now);
                if state.settled() {
                    ledger = ledger
                        .bind(owner.as_str().to_owned())
                        .bind("charge")
                        .bind(0i64)
                        .bind("generation succeeded")
                        .bind(Actor::System.to_string())
                        .bind(id.as_str().to_owned())
                        .bind(now);
                }
            }
            ledger.execute(&mut *tx).await?;
            let total = price * i64::try_from(rows).unwrap_or(i64::MAX);
            let held = if state.settled() { 0 } else { total };
            sqlx::query("UPDATE users SET balance = balance - $1, held = held + $2 WHERE id = $3")
                .bind(total)
                .bind(held)
                .bind(owner.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            done += rows;
        }
        Ok(())
    }

    /// When the last generation finished, if any has.
    pub async fn last_finished_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(finished_at) FROM generations")
            .fetch_one(&self.pool)
            .await?;
        from_millis_opt("generations", last)
    }
}

fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn generations_insert(rows: usize) -> String {
    format!(
        "INSERT INTO generations (id, user_id, model, params, upstream_request, credits,
             upstream_cost_usd, status, dispatch, upstream_task_id, next_check_at, created_at,
             updated_at, dispatched_at, finished_at)
         VALUES {}",
        placeholders(rows, 15)
    )
}

fn ledger_insert(rows: usize) -> String {
    format!(
        "INSERT INTO ledger_entries (user_id, kind, amount, reason, actor, generation_id, created_at)
         VALUES {}",
        placeholders(rows, 7)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_parameter_once() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
