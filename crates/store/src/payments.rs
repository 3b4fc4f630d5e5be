//! Payments: opened at checkout with the package's price and credits captured, then moved on
//! only by what the provider confirms (`payment_settle.rs`).

use reelgate_domain::accounts::UserId;
use reelgate_domain::payments::{
    Money, PackageId, Payment, PaymentId, PaymentStatus, ProviderKind, Unpaid,
};
use reelgate_domain::Credits;
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::str::FromStr;

use crate::claim::Queue;
use crate::page::{self, Page};
use crate::retry::in_transaction;
use crate::time::{from_millis, from_millis_opt, now_millis, to_millis};
use crate::{error::is_unique_violation, Store, StoreError};

pub(crate) const COLUMNS: &str = "id, user_id, package_id, package_name, credits, bonus_credits, \
     amount, currency, provider, status, provider_ref, provider_payment_id, paid_at, unpaid, \
     failure, refunded, dispute, created_at, updated_at";

pub(crate) fn payment_from_row(row: &AnyRow) -> Result<Payment, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("payments", e);
    let amount: String = row.try_get("amount")?;
    let currency: String = row.try_get("currency")?;
    let unpaid = match row.try_get::<String, _>("unpaid")?.as_str() {
        "open" => Unpaid::Open,
        "expired" => Unpaid::Expired,
        "failed" => Unpaid::Failed(
            row.try_get::<Option<String>, _>("failure")?
                .unwrap_or_default(),
        ),
        other => return Err(corrupt(&other)),
    };
    let refunded: String = row.try_get("refunded")?;
    Ok(Payment {
        id: row
            .try_get::<String, _>("id")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        user_id: UserId::parse(&row.try_get::<String, _>("user_id")?).map_err(|e| corrupt(&e))?,
        package_id: row
            .try_get::<String, _>("package_id")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        package_name: row.try_get("package_name")?,
        credits: Credits::new(row.try_get("credits")?),
        bonus_credits: Credits::new(row.try_get("bonus_credits")?),
        price: Money::parse(&amount, &currency).map_err(|e| corrupt(&e))?,
        provider: row
            .try_get::<String, _>("provider")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        provider_ref: row.try_get("provider_ref")?,
        provider_payment_id: row.try_get("provider_payment_id")?,
        paid_at: from_millis_opt("payments", row.try_get("paid_at")?)?,
        unpaid,
        refunded: Decimal::from_str(&refunded).map_err(|e| corrupt(&e))?,
        dispute: row
            .try_get::<String, _>("dispute")?
            .parse()
            .map_err(|e: String| corrupt(&e))?,
        created_at: from_millis("payments", row.try_get("created_at")?)?,
        updated_at: from_millis("payments", row.try_get("updated_at")?)?,
    })
}

/// Pending payments, each due when the expiry worker should next ask its provider about it
/// (`check_at`; 0 at first, so the worker schedules its first check).
pub const PENDING_PAYMENTS: Queue<Payment> = Queue {
    table: "payments",
    key: "id",
    due_at: "check_at",
    waiting: "status = 'pending'",
    order: "check_at, id",
    on_claim: "",
    columns: COLUMNS,
    from_row: payment_from_row,
    sorted_by: None,
};

fn unpaid_columns(unpaid: &Unpaid) -> (&'static str, Option<&str>) {
    match unpaid {
        Unpaid::Open => ("open", None),
        Unpaid::Failed(reason) => ("failed", Some(reason.as_str())),
        Unpaid::Expired => ("expired", None),
    }
}

/// Writes a payment's facts back, with the status they add up to.
pub(crate) async fn save(conn: &mut AnyConnection, payment: &Payment) -> Result<(), StoreError> {
    let (unpaid, failure) = unpaid_columns(&payment.unpaid);
    sqlx::query(
        "UPDATE payments SET status = $2, provider_ref = $3, provider_payment_id = $4,
             paid_at = $5, unpaid = $6, failure = $7, refunded = $8, dispute = $9,
             updated_at = $10
         WHERE id = $1",
    )
    .bind(payment.id.as_str())
    .bind(payment.status().as_str())
    .bind(payment.provider_ref.as_deref())
    .bind(payment.provider_payment_id.as_deref())
    .bind(payment.paid_at.map(to_millis))
    .bind(unpaid)
    .bind(failure)
    .bind(payment.refunded.to_string())
    .bind(payment.dispute.as_str())
    .bind(to_millis(payment.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn payment_on(
    conn: &mut AnyConnection,
    id: &PaymentId,
) -> Result<Payment, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::PaymentNotFound)?;
    payment_from_row(&row)
}

/// Which payments an operator's list shows.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub user: Option<UserId>,
    pub status: Option<PaymentStatus>,
}

impl Store {
    /// Opens a payment for an active package, capturing its price and credits now.
    pub async fn open_payment(
        &self,
        user: &UserId,
        package: &PackageId,
        provider: ProviderKind,
    ) -> Result<Payment, StoreError> {
        let id = PaymentId::new();
        let key = id.as_str();
        let now = now_millis();
        let inserted = in_transaction!(self, |conn| async {
            sqlx::query(
                "INSERT INTO payments (id, user_id, package_id, package_name, credits,
                     bonus_credits, amount, currency, provider, status, unpaid, refunded,
                     dispute, created_at, updated_at)
                 SELECT $1, $2, id, name, credits, bonus_credits, price_amount, price_currency,
                     $3, 'pending', 'open', '0', 'none', $4, $4
                 FROM credit_packages WHERE id = $5 AND active = 1",
            )
            .bind(key)
            .bind(user.as_str())
            .bind(provider.as_str())
            .bind(now)
            .bind(package.as_str())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StoreError::from)
        })?;
        if inserted == 0 {
            return Err(StoreError::PackageNotFound);
        }
        self.payment(&id).await
    }

    /// Records the provider's handle on the checkout (its session id or token).
    pub async fn set_provider_ref(
        &self,
        id: &PaymentId,
        provider_ref: &str,
    ) -> Result<(), StoreError> {
        let outcome = in_transaction!(self, |conn| async {
            sqlx::query(
                "UPDATE payments SET provider_ref = $2, updated_at = $3
                 WHERE id = $1 AND provider_ref IS NULL",
            )
            .bind(id.as_str())
            .bind(provider_ref)
            .bind(now_millis())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StoreError::from)
        });
        match outcome {
            Ok(1) => Ok(()),
            Ok(_) => Err(StoreError::PaymentNotFound),
            Err(StoreError::Database(e)) if is_unique_violation(&e) => Err(StoreError::corrupt(
                "payments",
                "provider reference already in use",
            )),
            Err(e) => Err(e),
        }
    }

    pub async fn payment(&self, id: &PaymentId) -> Result<Payment, StoreError> {
        let mut conn = self.pool.acquire().await?;
        payment_on(&mut conn, id).await
    }

    /// The payment a provider's reference (session id, token) or payment id belongs to.
    pub async fn payment_by_ref(
        &self,
        provider: ProviderKind,
        provider_ref: &str,
    ) -> Result<Payment, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE provider = $1
             AND (provider_ref = $2 OR provider_payment_id = $2)
             ORDER BY id LIMIT 1"
        ))
        .bind(provider.as_str())
        .bind(provider_ref)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::PaymentNotFound)?;
        payment_from_row(&row)
    }

    /// Payments newest first, for one customer or (the operator's list) filtered.
    pub async fn payments(
        &self,
        filter: &PaymentFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Payment>, StoreError> {
        let before = match cursor {
            Some(c) => page::decode("payments", c)?,
            None => "~".to_owned(),
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments
             WHERE id < $1 AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR status = $3)
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(before)
        .bind(filter.user.as_ref().map(UserId::as_str))
        .bind(filter.status.map(PaymentStatus::as_str))
        .bind(page::fetch_size(limit))
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(payment_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page::finish(items, limit, |p| p.id.to_string(), "payments"))
    }

    /// Schedules the next check of a pending payment: when it has been pending as long again
    /// as it has so far (at least `min_interval`), but no later than when it is `expiry`
    /// old. Computed from the row's own `created_at`, so a claim that read an older copy
    /// cannot schedule it wrong; a payment no longer pending is left alone.
    pub async fn schedule_payment_check(
        &self,
        id: &PaymentId,
        min_interval: std::time::Duration,
        expiry: std::time::Duration,
    ) -> Result<(), StoreError> {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        let (min_interval, expiry) = (ms(min_interval), ms(expiry));
        crate::retry::on_contention(|| async {
            sqlx::query(
                "UPDATE payments SET check_at = CASE
                     WHEN created_at + $2 <= $3 + CASE WHEN $3 - created_at > $4
                                                       THEN $3 - created_at ELSE $4 END
                     THEN created_at + $2
                     ELSE $3 + CASE WHEN $3 - created_at > $4 THEN $3 - created_at ELSE $4 END
                 END
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id.as_str())
            .bind(expiry)
            .bind(now_millis())
            .bind(min_interval)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Pending payments opened before `cutoff_millis` ago, oldest first (to expire or re-ask).
    pub async fn stale_pending_payments(
        &self,
        older_than: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<Payment>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE status = 'pending' AND created_at < $1
             ORDER BY created_at LIMIT $2"
        ))
        .bind(to_millis(older_than))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(payment_from_row).collect()
    }
}
