//! Putting a database in the state a benchmark starts from: customers with API keys and
//! credits, and — for the scale figures — many generations inserted directly through SQL in
//! batches (submitting a million through HTTP would take longer than the benchmark itself).
//!
//! Bulk rows are what the lifecycle would have left: each generation has its `hold` ledger
//! row (and its `charge` if it succeeded), and the owner's cached balance and held credits
//! agree with them.

use reelgate_domain::accounts::{Email, Password, Role, UserId};
use reelgate_domain::catalog::{Catalog, GenerationRequest};
use reelgate_domain::generations::GenerationId;
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::{NewUser, Store};
use serde_json::{json, Map, Value};

use crate::generations::stored_request::StoredRequest;

/// Enough that no benchmark runs out (a 402 would be measured as an error).
const CREDITS_EACH: i64 = 1_000_000_000_000;
/// Rows per INSERT statement: well under both backends' limits on bound parameters.
const ROWS_PER_STATEMENT: usize = 400;

/// The request every benchmark submits: the product spec's example.
pub fn example_body() -> Map<String, Value> {
    let body = json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
                      "aspect_ratio": "16:9", "duration": 5, "sound": false});
    body.as_object().cloned().unwrap_or_default()
}

/// A mix of models for the end-to-end figure: each family once, Veo sold at 1080p (which has a
/// 1080p version to fetch) among them.
pub fn model_mix() -> Vec<Map<String, Value>> {
    [
        example_body(),
        json!({"model": "veo3-fast", "prompt": "a lighthouse in a storm", "aspect_ratio": "16:9",
               "resolution": "1080p"})
        .as_object()
        .cloned()
        .unwrap_or_default(),
        json!({"model": "sora-2-text-to-video", "prompt": "a paper boat on a river"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        json!({"model": "grok-imagine/text-to-video", "prompt": "a city at dawn"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    ]
    .into()
}

/// A customer with credits and an API key (its secret).
pub struct Customer {
    pub id: UserId,
    pub key: String,
}

pub async fn customers(store: &Store, n: usize) -> anyhow::Result<Vec<Customer>> {
    let mut made = Vec::with_capacity(n);
    for i in 0..n {
        let user = store
            .create_user(NewUser {
                email: Email::parse(&format!("bench{i}@example.com"))?,
                password: Password::parse("correct horse battery staple")?,
                role: Role::Customer,
                signup_bonus: Credits::ZERO,
            })
            .await?;
        store
            .grant(
                &user.id,
                Credits(CREDITS_EACH),
                "benchmark credits",
                &Actor::Cli,
            )
            .await?;
        let (_, key) = store.create_api_key(&user.id, "bench").await?;
        made.push(Customer {
            id: user.id,
            key: key.expose().to_owned(),
        });
    }
    Ok(made)
}

/// The example request, parsed and priced by the catalog as a submission would be.
pub fn example_request(catalog: &Catalog) -> anyhow::Result<GenerationRequest> {
    catalog
        .parse(&example_body())
        .map_err(|errors| anyhow::anyhow!("the example request is invalid: {errors:?}"))
}

/// How bulk rows are stored.
pub enum BulkState {
    /// Finished long ago: history that only makes the tables bigger.
    Succeeded,
    /// Running upstream as these tasks, first due over the next `spread_secs`.
    Running {
        task_ids: Vec<String>,
        spread_secs: u64,
    },
}

/// Inserts `n` generations of `owner` (`n` = the number of task ids for running ones).
pub async fn bulk_generations(
    store: &Store,
    catalog: &Catalog,
    owner: &UserId,
    n: usize,
    state: &BulkState,
) -> anyhow::Result<()> {
    let request = example_request(catalog)?;
    let params = Value::Object(request.params_json()).to_string();
    let upstream = StoredRequest::from(request.to_upstream(None))
        .encode()
        .to_string();
    let price = request.quote().credits.get();
    let cost = request.quote().upstream_cost_usd.to_string();
    let model = request.model().as_str().to_owned();
    let actor = Actor::User(owner.clone()).to_string();
    let now = chrono::Utc::now().timestamp_millis();
    let mut done = 0;
    while done < n {
        let rows = ROWS_PER_STATEMENT.min(n - done);
        let ids: Vec<GenerationId> = (0..rows).map(|_| GenerationId::new()).collect();
        let mut tx = store.begin().await?;
        let insert_sql = generations_insert(rows);
        let mut insert = sqlx::query(&insert_sql);
        for (i, id) in ids.iter().enumerate() {
            let (status, dispatch, task, next_check, finished) = match state {
                BulkState::Succeeded => ("succeeded", "accepted", None, now, Some(now)),
                BulkState::Running {
                    task_ids,
                    spread_secs,
                } => {
                    let spread = i64::try_from(spread_secs * 1000).unwrap_or(0);
                    let offset = spread * i64::try_from(done + i).unwrap_or(0)
                        / i64::try_from(n).unwrap_or(1);
                    let task = task_ids.get(done + i).cloned();
                    ("running", "accepted", task, now + offset, None)
                }
            };
            insert = insert
                .bind(id.as_str().to_owned())
                .bind(owner.as_str().to_owned())
                .bind(model.clone())
                .bind(params.clone())
                .bind(upstream.clone())
                .bind(price)
                .bind(cost.clone())
                .bind(status)
                .bind(dispatch)
                .bind(task)
                .bind(next_check)
                .bind(now)
                .bind(now)
                .bind(now)
                .bind(finished);
        }
        insert.execute(&mut *tx).await?;
        let settled = matches!(state, BulkState::Succeeded);
        let ledger_sql = ledger_insert(rows * if settled { 2 } else { 1 });
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
            if settled {
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
        let total = price * i64::try_from(rows)?;
        let held = if settled { 0 } else { total };
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

    #[test]
    fn the_example_requests_are_accepted_by_the_catalog() {
        let catalog = Catalog::builtin().unwrap();
        for body in model_mix() {
            assert!(catalog.parse(&body).is_ok(), "{body:?}");
        }
    }
}
