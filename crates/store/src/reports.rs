//! The figures behind the operator's reports: settled generations counted by day, model,
//! customer, outcome and unit cost; the generations Kie accepted in an interval; and the Kie
//! balance samples the balance guard records.
//!
//! Costs are stored as exact decimal text. The database only groups by that text and counts;
//! the multiplying and adding happen in `Decimal`, so no sum ever passes through a float.

use chrono::{DateTime, NaiveDate, Utc};
use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::Status;
use reelgate_domain::pricing::PriceRule;
use reelgate_domain::reports::{
    BalanceSample, DispatchedGroup, Grouping, MarginReport, Outcome, SettledGroup,
};
use rust_decimal::Decimal;
use sqlx::Row;

use crate::time::{from_millis, to_millis};
use crate::{Store, StoreError};

const DAY_MS: i64 = 86_400_000;

fn start_of(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |start| start.and_utc().timestamp_millis())
}

fn day_of(day_number: i64) -> Result<NaiveDate, StoreError> {
    DateTime::from_timestamp(day_number.saturating_mul(86_400), 0)
        .map(|at| at.date_naive())
        .ok_or_else(|| StoreError::corrupt("generations", format!("day {day_number} out of range")))
}

fn cost(raw: &str, table: &'static str) -> Result<Decimal, StoreError> {
    raw.parse::<Decimal>()
        .map_err(|e| StoreError::corrupt(table, format!("{raw:?}: {e}")))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store {
    /// Generations that finished on the UTC days `from` to `to` (both included), grouped.
    pub async fn settled_groups(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SettledGroup>, StoreError> {
        // Integer division of milliseconds since the epoch gives the UTC day number on both
        // backends.
        let rows = sqlx::query(
            "SELECT g.finished_at / 86400000 AS day_number, g.model, g.user_id, u.email, g.status,
                    g.upstream_cost_usd, g.upstream_key, COUNT(*) AS n,
                    CAST(SUM(g.credits) AS BIGINT) AS credits
             FROM generations g JOIN users u ON u.id = g.user_id
             WHERE g.finished_at >= $1 AND g.finished_at < $2
               AND g.status IN ('succeeded', 'failed', 'canceled')
             GROUP BY g.finished_at / 86400000, g.model, g.user_id, u.email, g.status,
                      g.upstream_cost_usd, g.upstream_key",
        )
        .bind(start_of(from))
        .bind(start_of(to) + DAY_MS)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("generations", e);
                let status: Status = row
                    .try_get::<String, _>("status")?
                    .parse()
                    .map_err(|e| corrupt(&e))?;
                Ok(SettledGroup {
                    day: day_of(row.try_get("day_number")?)?,
                    model: row.try_get("model")?,
                    customer_id: UserId::parse(&row.try_get::<String, _>("user_id")?)
                        .map_err(|e| corrupt(&e))?,
                    email: row.try_get("email")?,
                    outcome: Outcome::of(status).ok_or_else(|| corrupt(&"unsettled"))?,
                    count: count(row.try_get("n")?),
                    credits: row.try_get("credits")?,
                    unit_cost_usd: cost(
                        &row.try_get::<String, _>("upstream_cost_usd")?,
                        "generations",
                    )?,
                    upstream_key: row.try_get("upstream_key")?,
                })
            })
            .collect()
    }

    /// The margin report of the days `from` to `to`, revenue valued by `rule`.
    pub async fn margin_report(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        grouping: Grouping,
        rule: &PriceRule,
    ) -> Result<MarginReport, StoreError> {
        let groups = self.settled_groups(from, to).await?;
        Ok(MarginReport::build(&groups, grouping, rule))
    }

    /// Generations Kie accepted after `after` and up to `until`, by state and unit cost: all
    /// of them, or (`Some(key)`) those sent with the key of that fingerprint.
    pub async fn dispatched_groups(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        key: Option<&str>,
    ) -> Result<Vec<DispatchedGroup>, StoreError> {
        let sql = match key {
            None => {
                "SELECT status, upstream_cost_usd, COUNT(*) AS n FROM generations
                 WHERE dispatched_at > $1 AND dispatched_at <= $2
                 GROUP BY status, upstream_cost_usd"
            }
            Some(_) => {
                "SELECT status, upstream_cost_usd, COUNT(*) AS n FROM generations
                 WHERE dispatched_at > $1 AND dispatched_at <= $2 AND upstream_key = $3
                 GROUP BY status, upstream_cost_usd"
            }
        };
        let mut query = sqlx::query(sql)
            .bind(to_millis(after))
            .bind(to_millis(until));
        if let Some(key) = key {
            query = query.bind(key.to_owned());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(DispatchedGroup {
                    status: row
                        .try_get::<String, _>("status")?
                        .parse()
                        .map_err(|e| StoreError::corrupt("generations", e))?,
                    count: count(row.try_get("n")?),
                    unit_cost_usd: cost(
                        &row.try_get::<String, _>("upstream_cost_usd")?,
                        "generations",
                    )?,
                })
            })
            .collect()
    }

    /// Records the Kie balance as polled at `taken_at`: of every key together (`None`), or of
    /// the key of that fingerprint.
    pub async fn record_balance_sample(
        &self,
        taken_at: DateTime<Utc>,
        key: Option<&str>,
        credits: Decimal,
    ) -> Result<BalanceSample, StoreError> {
        let now = to_millis(taken_at);
        crate::retry::on_contention(|| async {
            sqlx::query(
                "INSERT INTO upstream_balance_samples (taken_at, credits, upstream_key)
                 VALUES ($1, $2, $3)",
            )
            .bind(now)
            .bind(credits.to_string())
            .bind(key.map(str::to_owned))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await?;
        Ok(BalanceSample {
            taken_at: from_millis("upstream_balance_samples", now)?,
            credits,
        })
    }

    /// The samples of the days `from` to `to`, oldest first, preceded by the last one before
    /// `from` (the balance the period started with): of every key together (`None`), or of
    /// the key of that fingerprint.
    pub async fn balance_samples(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        key: Option<&str>,
    ) -> Result<Vec<BalanceSample>, StoreError> {
        let (start, end) = (start_of(from), start_of(to) + DAY_MS);
        // Two spellings rather than `IS NOT DISTINCT FROM`, which SQLite does not read.
        let sql = match key {
            None => {
                "SELECT taken_at, credits FROM upstream_balance_samples
                 WHERE upstream_key IS NULL AND taken_at >= COALESCE(
                       (SELECT MAX(taken_at) FROM upstream_balance_samples
                        WHERE upstream_key IS NULL AND taken_at <= $1), $1)
                   AND taken_at < $2
                 ORDER BY taken_at, id"
            }
            Some(_) => {
                "SELECT taken_at, credits FROM upstream_balance_samples
                 WHERE upstream_key = $3 AND taken_at >= COALESCE(
                       (SELECT MAX(taken_at) FROM upstream_balance_samples
                        WHERE upstream_key = $3 AND taken_at <= $1), $1)
                   AND taken_at < $2
                 ORDER BY taken_at, id"
            }
        };
        let mut query = sqlx::query(sql).bind(start).bind(end);
        if let Some(key) = key {
            query = query.bind(key.to_owned());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(sample_from_row).collect()
    }

    /// The most recent sample of every key together, if any.
    pub async fn latest_balance_sample(&self) -> Result<Option<BalanceSample>, StoreError> {
        let row = sqlx::query(
            "SELECT taken_at, credits FROM upstream_balance_samples WHERE upstream_key IS NULL
             ORDER BY taken_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(sample_from_row).transpose()
    }
}

fn sample_from_row(row: &sqlx::any::AnyRow) -> Result<BalanceSample, StoreError> {
    Ok(BalanceSample {
        taken_at: from_millis("upstream_balance_samples", row.try_get("taken_at")?)?,
        credits: cost(
            &row.try_get::<String, _>("credits")?,
            "upstream_balance_samples",
        )?,
    })
}
