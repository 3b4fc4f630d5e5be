//! The money side of payments, for the cash report: each movement of money written when the
//! facts that say it are applied (`payment_settle.rs`, in the same transaction), and the
//! report's figures read back by UTC day.
//!
//! Amounts are exact decimal text; the database only groups by that text and counts, and the
//! adding happens in `Decimal` (`reelgate_domain::reports::CashReport`).

use chrono::NaiveDate;
use reelgate_domain::payments::{Dispute, Payment};
use reelgate_domain::reports::{
    CashGroup, CashKind, CashReport, CreditFlow, FlowKind, Opening, SoldGroup,
};
use rust_decimal::Decimal;
use sqlx::{AnyConnection, Row};
use std::str::FromStr;

use crate::time::now_millis;
use crate::{Store, StoreError};

const DAY_MS: i64 = 86_400_000;

fn start_of(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |start| start.and_utc().timestamp_millis())
}

fn day_of(table: &'static str, day_number: i64) -> Result<NaiveDate, StoreError> {
    chrono::DateTime::from_timestamp(day_number.saturating_mul(86_400), 0)
        .map(|at| at.date_naive())
        .ok_or_else(|| StoreError::corrupt(table, format!("day {day_number} out of range")))
}

fn kind_text(kind: CashKind) -> &'static str {
    match kind {
        CashKind::Received => "received",
        CashKind::Refunded => "refunded",
        CashKind::ChargedBack => "charged_back",
    }
}

async fn insert(
    conn: &mut AnyConnection,
    payment: &Payment,
    kind: CashKind,
    amount: Decimal,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cash_movements (payment_id, kind, amount, currency, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(payment.id.as_str())
    .bind(kind_text(kind))
    .bind(amount.to_string())
    .bind(payment.price.currency().code())
    .bind(now_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the money that moved between `before` and `after` (one payment, its facts just
/// applied): the price once it is paid, each increase of the refunded total, the unrefunded
/// price when a chargeback opens, and that back when a dispute is won.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    before: &Payment,
    after: &Payment,
) -> Result<(), StoreError> {
    if before.paid_at.is_none() && after.paid_at.is_some() {
        insert(conn, after, CashKind::Received, after.price.amount()).await?;
    }
    if after.paid_at.is_some() && after.refunded > before.refunded {
        insert(
            conn,
            after,
            CashKind::Refunded,
            after.refunded - before.refunded,
        )
        .await?;
    }
    let opened = |d: Dispute| matches!(d, Dispute::Open | Dispute::Lost);
    if after.paid_at.is_some() && !opened(before.dispute) && opened(after.dispute) {
        let disputed = after.price.amount() - after.refunded;
        if disputed > Decimal::ZERO {
            insert(conn, after, CashKind::ChargedBack, disputed).await?;
        }
    }
    if before.dispute == Dispute::Open && after.dispute == Dispute::Won {
        let rows = sqlx::query(
            "SELECT amount FROM cash_movements WHERE payment_id = $1 AND kind = 'charged_back'",
        )
        .bind(after.id.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let mut taken = Decimal::ZERO;
        for row in rows {
            taken += amount(&row.try_get::<String, _>("amount")?)?;
        }
        if taken > Decimal::ZERO {
            insert(conn, after, CashKind::ChargedBack, -taken).await?;
        }
    }
    Ok(())
}

fn amount(raw: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(raw)
        .map_err(|e| StoreError::corrupt("cash_movements", format!("{raw:?}: {e}")))
}

fn credits(row: &sqlx::any::AnyRow, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.unwrap_or(0))
}

/// The rows that move credits into or out of customers' hands; a generation's hold, charge
/// and refund only move them between balance and held (see `CashReport`).
const FLOW_KINDS: &str = "kind NOT IN ('hold', 'charge', 'refund')";

impl Store {
    /// The cash report of the UTC days `from` to `to`, both included.
    pub async fn cash_report(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<CashReport, StoreError> {
        let (start, end) = (start_of(from), start_of(to) + DAY_MS);
        let mut conn = self.pool.acquire().await?;
        let cash = sqlx::query(
            "SELECT at / 86400000 AS day_number, currency, kind, amount, COUNT(*) AS n
             FROM cash_movements WHERE at >= $1 AND at < $2
             GROUP BY at / 86400000, currency, kind, amount",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            let kind = match row.try_get::<String, _>("kind")?.as_str() {
                "received" => CashKind::Received,
                "refunded" => CashKind::Refunded,
                "charged_back" => CashKind::ChargedBack,
                other => return Err(StoreError::corrupt("cash_movements", other)),
            };
            Ok(CashGroup {
                day: day_of("cash_movements", row.try_get("day_number")?)?,
                currency: row.try_get("currency")?,
                kind,
                amount: amount(&row.try_get::<String, _>("amount")?)?,
                count: u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let sold = sqlx::query(
            "SELECT l.created_at / 86400000 AS day_number, p.currency,
                    CAST(SUM(l.amount) AS BIGINT) AS credits
             FROM ledger_entries l JOIN payments p ON p.id = l.payment_id
             WHERE l.kind = 'purchase' AND l.created_at >= $1 AND l.created_at < $2
             GROUP BY l.created_at / 86400000, p.currency",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(SoldGroup {
                day: day_of("ledger_entries", row.try_get("day_number")?)?,
                currency: row.try_get("currency")?,
                credits: credits(row, "credits")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let flows = sqlx::query(&format!(
            "SELECT created_at / 86400000 AS day_number, kind,
                    CAST(SUM(amount) AS BIGINT) AS credits, CAST(SUM(debt) AS BIGINT) AS debt
             FROM ledger_entries WHERE {FLOW_KINDS} AND created_at >= $1 AND created_at < $2
             GROUP BY created_at / 86400000, kind"
        ))
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            let kind = match row.try_get::<String, _>("kind")?.as_str() {
                "purchase" => FlowKind::Sold,
                "grant" | "voucher" | "adjustment" => FlowKind::Granted,
                _ => FlowKind::TakenBack,
            };
            Ok(CreditFlow {
                day: day_of("ledger_entries", row.try_get("day_number")?)?,
                kind,
                credits: credits(row, "credits")?,
                debt: credits(row, "debt")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        // A generation is consumed when its charge row is written; the price is its hold's.
        let consumed = sqlx::query(
            "SELECT c.created_at / 86400000 AS day_number, CAST(SUM(-h.amount) AS BIGINT) AS credits
             FROM ledger_entries c
             JOIN ledger_entries h ON h.generation_id = c.generation_id AND h.kind = 'hold'
             WHERE c.kind = 'charge' AND c.created_at >= $1 AND c.created_at < $2
             GROUP BY c.created_at / 86400000",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok((
                day_of("ledger_entries", row.try_get("day_number")?)?,
                credits(row, "credits")?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let before = sqlx::query(&format!(
            "SELECT CAST(SUM(amount) AS BIGINT) AS credits, CAST(SUM(debt) AS BIGINT) AS debt
             FROM ledger_entries WHERE {FLOW_KINDS} AND created_at < $1"
        ))
        .bind(start)
        .fetch_one(&mut *conn)
        .await?;
        let consumed_before = sqlx::query(
            "SELECT CAST(SUM(-h.amount) AS BIGINT) AS credits
             FROM ledger_entries c
             JOIN ledger_entries h ON h.generation_id = c.generation_id AND h.kind = 'hold'
             WHERE c.kind = 'charge' AND c.created_at < $1",
        )
        .bind(start)
        .fetch_one(&mut *conn)
        .await?;
        let opening = Opening {
            unspent_credits: credits(&before, "credits")? - credits(&consumed_before, "credits")?,
            debt: credits(&before, "debt")?,
        };
        Ok(CashReport::build(
            from, to, opening, &cash, &sold, &flows, &consumed,
        ))
    }
}
