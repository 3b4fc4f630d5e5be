//! Applying what a provider says happened to a payment, and moving credits to match, in one
//! transaction with the record of the event that said it. The transaction starts by taking
//! the payment's row (a write: SQLite's lock, PostgreSQL's row lock), so two deliveries of one
//! event, or two events of one payment, settle one after the other, each seeing what the
//! other wrote; the unique index on purchases is the last line.

use reelgate_domain::accounts::UserId;
use reelgate_domain::ledger::{Actor, EntryKind};
use reelgate_domain::payments::settle::{self, Movement, PaymentCredits, Wallet};
use reelgate_domain::payments::{Fact, Payment, PaymentId, ProviderKind};
use reelgate_domain::Credits;
use sqlx::{AnyConnection, Row};

use crate::ledger::MAX_BALANCE;
use crate::payments::{payment_on, save};
use crate::retry::in_transaction;
use crate::time::{from_millis, now_millis};
use crate::{Store, StoreError};

/// A provider's notification or callback as received, for the operator's record.
#[derive(Debug, Clone)]
pub struct NewPaymentEvent {
    pub provider: ProviderKind,
    /// The provider's id of the event, when it has one; a verified id is acted on once.
    pub event_id: Option<String>,
    pub event_type: String,
    pub payment_id: Option<PaymentId>,
    pub payload: String,
}

/// An event as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub id: i64,
    pub provider: String,
    pub event_id: Option<String>,
    pub event_type: String,
    pub payment_id: Option<String>,
    /// `verified`, `duplicate`, or why it was refused.
    pub verification: String,
    /// What it changed, in words.
    pub effect: String,
    pub payload: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// What applying facts did.
#[derive(Debug, Clone)]
pub struct Settled {
    pub payment: Payment,
    pub movements: Vec<Movement>,
    /// The event had been acted on before: nothing was applied this time.
    pub duplicate: bool,
}

impl Store {
    /// Applies `facts` to the payment and settles its credits, recording `event` (verified)
    /// with what it changed. An event id seen verified before changes nothing.
    pub async fn apply_payment_facts(
        &self,
        id: &PaymentId,
        facts: &[Fact],
        event: Option<&NewPaymentEvent>,
    ) -> Result<Settled, StoreError> {
        let settled = in_transaction!(self, |conn| async {
            let event_row = match event {
                Some(event) => match insert_event(conn, event, "verified").await? {
                    Some(row) => Some(row),
                    None => return Ok::<_, StoreError>(None),
                },
                None => None,
            };
            let settled = apply(conn, id, facts).await?;
            if let Some(row) = event_row {
                sqlx::query("UPDATE payment_events SET effect = $2, payment_id = $3 WHERE id = $1")
                    .bind(row)
                    .bind(describe(&settled))
                    .bind(id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(Some(settled))
        })?;
        match settled {
            Some(settled) => Ok(settled),
            None => {
                if let Some(event) = event {
                    self.record_payment_event(event, "duplicate", "none: already acted on")
                        .await?;
                }
                Ok(Settled {
                    payment: self.payment(id).await?,
                    movements: Vec::new(),
                    duplicate: true,
                })
            }
        }
    }

    /// Records an event that was not acted on: refused (forged, expired, unknown payment) or a
    /// repeat. `verification` says which.
    pub async fn record_payment_event(
        &self,
        event: &NewPaymentEvent,
        verification: &str,
        effect: &str,
    ) -> Result<(), StoreError> {
        let verification = if verification == "verified" {
            "verified (not acted on)"
        } else {
            verification
        };
        in_transaction!(self, |conn| async {
            if let Some(row) = insert_event(conn, event, verification).await? {
                sqlx::query("UPDATE payment_events SET effect = $2 WHERE id = $1")
                    .bind(row)
                    .bind(effect)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<_, StoreError>(())
        })
    }

    /// Whether a verified event with this id was already acted on (saves asking the provider
    /// again for a repeat; the transaction that acts checks it once more).
    pub async fn payment_event_seen(
        &self,
        provider: ProviderKind,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM payment_events
             WHERE provider = $1 AND event_id = $2 AND verification = 'verified'",
        )
        .bind(provider.as_str())
        .bind(event_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// A payment's events, oldest first; or, without one, the latest events of any payment
    /// (refused ones often name none).
    pub async fn payment_events(
        &self,
        payment: Option<&PaymentId>,
        limit: i64,
    ) -> Result<Vec<PaymentEvent>, StoreError> {
        let rows =
            match payment {
                Some(id) => sqlx::query(
                    "SELECT id, provider, event_id, event_type, payment_id, verification, effect,
                        payload, received_at
                 FROM payment_events WHERE payment_id = $1 ORDER BY id LIMIT $2",
                )
                .bind(id.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
                None => sqlx::query(
                    "SELECT id, provider, event_id, event_type, payment_id, verification, effect,
                        payload, received_at
                 FROM payment_events ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
            };
        rows.iter()
            .map(|row| {
                Ok(PaymentEvent {
                    id: row.try_get("id")?,
                    provider: row.try_get("provider")?,
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    payment_id: row.try_get("payment_id")?,
                    verification: row.try_get("verification")?,
                    effect: row.try_get("effect")?,
                    payload: row.try_get("payload")?,
                    received_at: from_millis("payment_events", row.try_get("received_at")?)?,
                })
            })
            .collect()
    }
}

/// Inserts the event; `None` if a verified event with its id is already there.
async fn insert_event(
    conn: &mut AnyConnection,
    event: &NewPaymentEvent,
    verification: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO payment_events (provider, event_id, event_type, payment_id, verification,
             effect, payload, received_at)
         VALUES ($1, $2, $3, $4, $5, 'none', $6, $7)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(event.provider.as_str())
    .bind(event.event_id.as_deref())
    .bind(&event.event_type)
    .bind(event.payment_id.as_ref().map(PaymentId::as_str))
    .bind(verification)
    .bind(&event.payload)
    .bind(now_millis())
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("id").map_err(StoreError::from))
        .transpose()
}

fn describe(settled: &Settled) -> String {
    let status = settled.payment.status();
    if settled.movements.is_empty() {
        return format!("status {status}; no credits moved");
    }
    let moves: Vec<String> = settled
        .movements
        .iter()
        .map(|m| match m {
            Movement::Purchase(c) => format!("purchase +{c}"),
            Movement::Reversal(c) => format!("reversal -{c}"),
            Movement::Debt(c) => format!("debt +{c}"),
            Movement::DebtRepayment(c) => format!("debt repaid {c}"),
            Movement::Reinstatement(c) => format!("reinstatement +{c}"),
        })
        .collect();
    format!("status {status}; {}", moves.join(", "))
}

async fn apply(
    conn: &mut AnyConnection,
    id: &PaymentId,
    facts: &[Fact],
) -> Result<Settled, StoreError> {
    let taken = sqlx::query("UPDATE payments SET updated_at = updated_at WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if taken == 0 {
        return Err(StoreError::PaymentNotFound);
    }
    let mut payment = payment_on(&mut *conn, id).await?;
    let before = payment.clone();
    let now = chrono::Utc::now();
    let mut changed = false;
    for fact in facts {
        changed |= payment.apply(fact, now);
    }
    if changed {
        save(&mut *conn, &payment).await?;
        crate::cash::record(conn, &before, &payment).await?;
    }
    let movements = settle_credits(conn, &payment).await?;
    Ok(Settled {
        payment,
        movements,
        duplicate: false,
    })
}

/// Brings the payment's ledger rows in line with its facts.
async fn settle_credits(
    conn: &mut AnyConnection,
    payment: &Payment,
) -> Result<Vec<Movement>, StoreError> {
    // Taking the user's row first: no hold or grant changes the balance between the read
    // below and the writes (PostgreSQL; SQLite's write lock already covers it).
    sqlx::query("UPDATE users SET debt = debt WHERE id = $1")
        .bind(payment.user_id.as_str())
        .execute(&mut *conn)
        .await?;
    let wallet_row = sqlx::query("SELECT balance, debt FROM users WHERE id = $1")
        .bind(payment.user_id.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let wallet = Wallet {
        balance: Credits::new(wallet_row.try_get("balance")?),
        debt: Credits::new(wallet_row.try_get("debt")?),
    };
    let so_far = payment_credits(conn, &payment.id).await?;
    let movements = settle::movements(payment, so_far, wallet);
    for movement in &movements {
        write(conn, &payment.user_id, &payment.id, *movement).await?;
    }
    crate::mail::receipts(conn, payment, &movements).await?;
    Ok(movements)
}

/// What a payment's ledger rows add up to.
pub(crate) async fn payment_credits(
    conn: &mut AnyConnection,
    payment: &PaymentId,
) -> Result<PaymentCredits, StoreError> {
    let row = sqlx::query(
        "SELECT
             CAST(COALESCE(SUM(CASE WHEN kind = 'purchase' THEN 1 ELSE 0 END), 0) AS BIGINT)
                 AS purchases,
             CAST(COALESCE(SUM(CASE
                 WHEN kind IN ('reversal', 'reinstatement') THEN -amount
                 WHEN kind = 'debt' THEN debt
                 ELSE 0 END), 0) AS BIGINT) AS taken_back
         FROM ledger_entries WHERE payment_id = $1",
    )
    .bind(payment.as_str())
    .fetch_one(conn)
    .await?;
    Ok(PaymentCredits {
        credited: row.try_get::<i64, _>("purchases")? > 0,
        taken_back: Credits::new(row.try_get("taken_back")?),
    })
}

async fn write(
    conn: &mut AnyConnection,
    user: &UserId,
    payment: &PaymentId,
    movement: Movement,
) -> Result<(), StoreError> {
    let (kind, reason) = match movement {
        Movement::Purchase(_) => (EntryKind::Purchase, format!("bought: payment {payment}")),
        Movement::Reversal(_) => (
            EntryKind::Reversal,
            format!("taken back: payment {payment} refunded or disputed"),
        ),
        Movement::Debt(_) => (
            EntryKind::Debt,
            format!("owed: credits of payment {payment} already spent"),
        ),
        Movement::DebtRepayment(_) => (
            EntryKind::DebtRepayment,
            format!("debt paid by payment {payment}"),
        ),
        Movement::Reinstatement(_) => (
            EntryKind::Reinstatement,
            format!("given back: dispute of payment {payment} won"),
        ),
    };
    let amount = movement.balance_change();
    let debt = movement.debt_change();
    let updated = sqlx::query(
        "UPDATE users SET balance = balance + $1, debt = debt + $2
         WHERE id = $3 AND balance + $1 >= 0 AND debt + $2 >= 0
           AND balance + held + $1 <= $4",
    )
    .bind(amount)
    .bind(debt)
    .bind(user.as_str())
    .bind(MAX_BALANCE.get())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::InvalidAmount(Credits::new(amount)));
    }
    sqlx::query(
        "INSERT INTO ledger_entries (user_id, kind, amount, reason, actor, payment_id, debt,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user.as_str())
    .bind(kind.as_str())
    .bind(amount)
    .bind(reason)
    .bind(Actor::System.to_string())
    .bind(payment.as_str())
    .bind(debt)
    .bind(now_millis())
    .execute(conn)
    .await?;
    Ok(())
}
