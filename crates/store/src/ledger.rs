//! The credit ledger, as operations over a connection so that callers can compose them with
//! their own writes in one transaction (the generation lifecycle inserts a generation and holds
//! its price atomically). `Store` has wrappers that run each in a transaction of its own.
//!
//! Every operation keeps `users.balance` (the sum of the user's rows) and `users.held` (prices
//! of unsettled holds) in step with the rows it appends, in the same transaction. Each one
//! begins with a write, as SQLite needs (see the crate docs). Balances cannot go negative:
//! debits are a conditional `UPDATE … WHERE balance >= amount`, which both databases evaluate
//! against the latest committed row, however many requests race.

use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::GenerationId;
use reelgate_domain::ledger::{Actor, EntryKind, LedgerEntry, Settlement};
use reelgate_domain::Credits;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::page;
use crate::retry::in_transaction;
use crate::time::{from_millis, now_millis};
use crate::{error::is_unique_violation, Store, StoreError};

/// No balance may exceed this (a million billion credits), so sums can never overflow an i64,
/// which on SQLite would silently turn into a float.
pub const MAX_BALANCE: Credits = Credits::new(1_000_000_000_000_000);

/// A page of a user's ledger, newest first, with where their balance stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: Option<String>,
    pub balance: Credits,
    pub held: Credits,
}

/// Takes `$1` credits from customer `$2`'s balance into held, if the balance covers it and the
/// account owes nothing; no row if not. `crossed` is 1 when this took the balance from at or
/// above the customer's low-balance threshold to below it. (Also written by the native
/// SQLite batch, `sqlite_batch.rs`: one text for both.)
pub(crate) const HOLD_DEBIT: &str = "UPDATE users SET balance = balance - $1, held = held + $1
     WHERE id = $2 AND balance >= $1 AND debt = 0
     RETURNING balance, low_balance_below,
         CAST(CASE WHEN low_balance_below IS NOT NULL AND balance < low_balance_below
                   AND balance + $1 >= low_balance_below THEN 1 ELSE 0 END AS BIGINT)
             AS crossed";

/// A ledger row: user, kind, amount, reason, actor, generation, time.
pub(crate) const APPEND: &str =
    "INSERT INTO ledger_entries (user_id, kind, amount, reason, actor, generation_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

/// Holds the price of `generation` from the user's balance: appends a `hold` row of −price and
/// moves the price from `balance` to `held`. Fails with `InsufficientCredits` rather than let
/// the balance go negative, and with `DuplicateHold` if the generation already has a hold.
pub async fn hold(
    conn: &mut AnyConnection,
    user: &UserId,
    generation: &GenerationId,
    price: Credits,
    reason: &str,
) -> Result<LedgerEntry, StoreError> {
    if price.get() < 0 || price > MAX_BALANCE {
        return Err(StoreError::InvalidAmount(price));
    }
    // The same statement tells whether this hold took the balance across the customer's
    // low-balance threshold (from at or above it to below): the reminder is mailed then, once
    // per crossing, without another read on the hot path.
    let debited = sqlx::query(HOLD_DEBIT)
        .bind(price.get())
        .bind(user.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(debited) = debited else {
        let balance = current_balance(conn, user).await?;
        // A repeated hold is reported as such, whatever the balance is now.
        if settlement(conn, generation).await? != Settlement::NotHeld {
            return Err(StoreError::DuplicateHold(generation.clone()));
        }
        // While the account owes (a refunded purchase was spent), nothing new is started.
        let debt = crate::accounts::user_on(&mut *conn, user).await?.debt;
        if debt.is_positive() {
            return Err(StoreError::InDebt { debt });
        }
        return Err(StoreError::InsufficientCredits {
            balance,
            needed: price,
        });
    };
    if debited.try_get::<i64, _>("crossed")? == 1 {
        let balance: i64 = debited.try_get("balance")?;
        let threshold: Option<i64> = debited.try_get("low_balance_below")?;
        crate::mail::low_balance(conn, user, balance, threshold.unwrap_or_default()).await?;
    }
    let entry = Entry {
        user,
        kind: EntryKind::Hold,
        amount: -price,
        reason,
        actor: &Actor::User(user.clone()),
        generation_id: Some(generation),
    };
    match append(conn, entry).await {
        Err(StoreError::Database(e)) if is_unique_violation(&e) => {
            Err(StoreError::DuplicateHold(generation.clone()))
        }
        other => other,
    }
}

/// The generation succeeded: its held price becomes spent. Appends a `charge` row of 0 (the
/// hold already took the credits off the balance). Returns `false` if the generation was
/// already captured or released, so retries and racing workers settle it once.
pub async fn capture(
    conn: &mut AnyConnection,
    generation: &GenerationId,
) -> Result<bool, StoreError> {
    settle(conn, generation, EntryKind::Charge, "generation succeeded").await
}

/// The generation failed or was canceled: its held price goes back to the balance. Appends a
/// `refund` row of +price. Returns `false` if the generation was already captured or released.
pub async fn release(
    conn: &mut AnyConnection,
    generation: &GenerationId,
    reason: &str,
) -> Result<bool, StoreError> {
    settle(conn, generation, EntryKind::Refund, reason).await
}

async fn settle(
    conn: &mut AnyConnection,
    generation: &GenerationId,
    kind: EntryKind,
    reason: &str,
) -> Result<bool, StoreError> {
    // The row is copied from the hold, so the write comes first and needs no prior read; the
    // unique index on settlements makes a second capture or release (or both racing) a no-op.
    let amount_sql = match kind {
        EntryKind::Refund => "-amount",
        _ => "0",
    };
    let inserted = sqlx::query(&format!(
        "INSERT INTO ledger_entries (user_id, kind, amount, reason, actor, generation_id, created_at)
         SELECT user_id, $1, {amount_sql}, $2, $3, generation_id, $4 FROM ledger_entries
         WHERE generation_id = $5 AND kind = 'hold'
         ON CONFLICT DO NOTHING
         RETURNING user_id"
    ))
    .bind(kind.as_str())
    .bind(reason)
    .bind(Actor::System.to_string())
    .bind(now_millis())
    .bind(generation.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = inserted else {
        return match settlement(conn, generation).await? {
            Settlement::NotHeld => Err(StoreError::NoHold(generation.clone())),
            _ => Ok(false),
        };
    };
    let user: String = row.try_get("user_id")?;
    let price = "(SELECT -amount FROM ledger_entries WHERE generation_id = $1 AND kind = 'hold')";
    let update = match kind {
        EntryKind::Refund => {
            format!(
                "UPDATE users SET held = held - {price}, balance = balance + {price} WHERE id = $2"
            )
        }
        _ => format!("UPDATE users SET held = held - {price} WHERE id = $2"),
    };
    sqlx::query(&update)
        .bind(generation.as_str())
        .bind(&user)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Adds credits the operator gives (`amount` must be positive).
pub async fn grant(
    conn: &mut AnyConnection,
    user: &UserId,
    amount: Credits,
    reason: &str,
    actor: &Actor,
) -> Result<LedgerEntry, StoreError> {
    if !amount.is_positive() {
        return Err(StoreError::InvalidAmount(amount));
    }
    credit(conn, user, EntryKind::Grant, amount, reason, actor).await
}

/// An operator's correction of either sign; it may not take the balance below zero.
pub async fn adjust(
    conn: &mut AnyConnection,
    user: &UserId,
    amount: Credits,
    reason: &str,
    actor: &Actor,
) -> Result<LedgerEntry, StoreError> {
    if amount == Credits::ZERO {
        return Err(StoreError::InvalidAmount(amount));
    }
    credit(conn, user, EntryKind::Adjustment, amount, reason, actor).await
}

/// Moves `amount` (either sign) into the user's spendable balance with a row of `kind`.
pub(crate) async fn credit(
    conn: &mut AnyConnection,
    user: &UserId,
    kind: EntryKind,
    amount: Credits,
    reason: &str,
    actor: &Actor,
) -> Result<LedgerEntry, StoreError> {
    // `unsigned_abs`: the absolute value of i64::MIN does not fit an i64.
    if amount.get().unsigned_abs() > MAX_BALANCE.get().unsigned_abs() {
        return Err(StoreError::InvalidAmount(amount));
    }
    let updated = sqlx::query(
        "UPDATE users SET balance = balance + $1
         WHERE id = $2 AND balance + $1 >= 0 AND balance + held + $1 <= $3",
    )
    .bind(amount.get())
    .bind(user.as_str())
    .bind(MAX_BALANCE.get())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        let balance = current_balance(conn, user).await?;
        return Err(if amount.get() < 0 {
            StoreError::InsufficientCredits {
                balance,
                needed: -amount,
            }
        } else {
            StoreError::InvalidAmount(amount)
        });
    }
    let entry = Entry {
        user,
        kind,
        amount,
        reason,
        actor,
        generation_id: None,
    };
    append(conn, entry).await
}

async fn current_balance(conn: &mut AnyConnection, user: &UserId) -> Result<Credits, StoreError> {
    let row = sqlx::query("SELECT balance FROM users WHERE id = $1")
        .bind(user.as_str())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::UserNotFound)?;
    Ok(Credits::new(row.try_get("balance")?))
}

struct Entry<'a> {
    user: &'a UserId,
    kind: EntryKind,
    amount: Credits,
    reason: &'a str,
    actor: &'a Actor,
    generation_id: Option<&'a GenerationId>,
}

async fn append(conn: &mut AnyConnection, entry: Entry<'_>) -> Result<LedgerEntry, StoreError> {
    let created_at = now_millis();
    let row = sqlx::query(APPEND)
        .bind(entry.user.as_str())
        .bind(entry.kind.as_str())
        .bind(entry.amount.get())
        .bind(entry.reason)
        .bind(entry.actor.to_string())
        .bind(entry.generation_id.map(GenerationId::as_str))
        .bind(created_at)
        .fetch_one(conn)
        .await?;
    Ok(LedgerEntry {
        id: row.try_get("id")?,
        user_id: entry.user.clone(),
        kind: entry.kind,
        amount: entry.amount,
        reason: entry.reason.to_owned(),
        actor: entry.actor.clone(),
        generation_id: entry.generation_id.cloned(),
        payment_id: None,
        debt: Credits::ZERO,
        created_at: from_millis("ledger_entries", created_at)?,
    })
}

/// Where a generation's credits stand, from its rows.
pub async fn settlement(
    conn: &mut AnyConnection,
    generation: &GenerationId,
) -> Result<Settlement, StoreError> {
    let rows = sqlx::query("SELECT kind, amount FROM ledger_entries WHERE generation_id = $1")
        .bind(generation.as_str())
        .fetch_all(conn)
        .await?;
    let mut price = None;
    let mut settled = None;
    for row in &rows {
        let kind: String = row.try_get("kind")?;
        match kind.as_str() {
            "hold" => price = Some(-Credits::new(row.try_get("amount")?)),
            "charge" | "refund" => settled = Some(kind),
            other => return Err(StoreError::corrupt("ledger_entries", other)),
        }
    }
    Ok(match (price, settled.as_deref()) {
        (None, None) => Settlement::NotHeld,
        (Some(price), None) => Settlement::Held { price },
        (Some(price), Some("charge")) => Settlement::Captured { price },
        (Some(price), Some(_)) => Settlement::Released { price },
        (None, Some(_)) => {
            return Err(StoreError::corrupt(
                "ledger_entries",
                "settled without a hold",
            ))
        }
    })
}

/// One page of the user's rows, newest first.
pub async fn page(
    conn: &mut AnyConnection,
    user: &UserId,
    cursor: Option<&str>,
    limit: u32,
) -> Result<LedgerPage, StoreError> {
    let before = match cursor {
        Some(c) => page::decode("ledger", c)?
            .parse::<i64>()
            .map_err(|_| StoreError::InvalidCursor)?,
        None => i64::MAX,
    };
    let owner = crate::accounts::user_on(&mut *conn, user).await?;
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS}
         FROM ledger_entries WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(user.as_str())
    .bind(before)
    .bind(page::fetch_size(limit))
    .fetch_all(conn)
    .await?;
    let entries = rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let page = page::finish(entries, limit, |e| e.id.to_string(), "ledger");
    Ok(LedgerPage {
        entries: page.items,
        next_cursor: page.next_cursor,
        balance: owner.balance,
        held: owner.held,
    })
}

/// What [`entry_from_row`] reads.
pub(crate) const ENTRY_COLUMNS: &str =
    "id, user_id, kind, amount, reason, actor, generation_id, payment_id, debt, created_at";

pub(crate) fn entry_from_row(row: &AnyRow) -> Result<LedgerEntry, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("ledger_entries", e);
    Ok(LedgerEntry {
        id: row.try_get("id")?,
        user_id: UserId::parse(&row.try_get::<String, _>("user_id")?).map_err(|e| corrupt(&e))?,
        kind: row
            .try_get::<String, _>("kind")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        amount: Credits::new(row.try_get("amount")?),
        reason: row.try_get("reason")?,
        actor: row
            .try_get::<String, _>("actor")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        generation_id: row
            .try_get::<Option<String>, _>("generation_id")?
            .map(|id| id.parse())
            .transpose()
            .map_err(|e| corrupt(&e))?,
        payment_id: row
            .try_get::<Option<String>, _>("payment_id")?
            .map(|id| id.parse())
            .transpose()
            .map_err(|e| corrupt(&e))?,
        debt: Credits::new(row.try_get("debt")?),
        created_at: from_millis("ledger_entries", row.try_get("created_at")?)?,
    })
}

/// A user's cached balances next to what their rows say; in a healthy database the two agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceAudit {
    pub cached_balance: Credits,
    pub cached_held: Credits,
    pub cached_debt: Credits,
    /// The sum of the rows' debt changes.
    pub debt_sum: Credits,
    /// The sum of all the user's rows.
    pub row_sum: Credits,
    /// The prices of holds with no charge or refund yet.
    pub unsettled_holds: Credits,
}

impl BalanceAudit {
    pub fn is_consistent(&self) -> bool {
        self.cached_balance == self.row_sum
            && self.cached_held == self.unsettled_holds
            && self.cached_debt == self.debt_sum
    }
}

pub async fn audit(conn: &mut AnyConnection, user: &UserId) -> Result<BalanceAudit, StoreError> {
    let owner = crate::accounts::user_on(&mut *conn, user).await?;
    // SUM over BIGINT is NUMERIC on PostgreSQL, which the Any driver cannot read; cast it back.
    let row = sqlx::query(
        "SELECT
             CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS row_sum,
             CAST(COALESCE(SUM(debt), 0) AS BIGINT) AS debt_sum,
             CAST(COALESCE(SUM(CASE WHEN kind = 'hold' AND NOT EXISTS (
                 SELECT 1 FROM ledger_entries s
                 WHERE s.generation_id = h.generation_id AND s.kind IN ('charge', 'refund')
             ) THEN -amount ELSE 0 END), 0) AS BIGINT) AS unsettled
         FROM ledger_entries h WHERE user_id = $1",
    )
    .bind(user.as_str())
    .fetch_one(conn)
    .await?;
    Ok(BalanceAudit {
        cached_balance: owner.balance,
        cached_held: owner.held,
        cached_debt: owner.debt,
        debt_sum: Credits::new(row.try_get("debt_sum")?),
        row_sum: Credits::new(row.try_get("row_sum")?),
        unsettled_holds: Credits::new(row.try_get("unsettled")?),
    })
}

/// Each ledger operation in a transaction of its own, retried on contention.
impl Store {
    pub async fn hold(
        &self,
        user: &UserId,
        generation: &GenerationId,
        price: Credits,
        reason: &str,
    ) -> Result<LedgerEntry, StoreError> {
        in_transaction!(self, |conn| hold(conn, user, generation, price, reason))
    }

    pub async fn capture(&self, generation: &GenerationId) -> Result<bool, StoreError> {
        in_transaction!(self, |conn| capture(conn, generation))
    }

    pub async fn release(
        &self,
        generation: &GenerationId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        in_transaction!(self, |conn| release(conn, generation, reason))
    }

    pub async fn grant(
        &self,
        user: &UserId,
        amount: Credits,
        reason: &str,
        actor: &Actor,
    ) -> Result<LedgerEntry, StoreError> {
        in_transaction!(self, |conn| grant(conn, user, amount, reason, actor))
    }

    pub async fn adjust(
        &self,
        user: &UserId,
        amount: Credits,
        reason: &str,
        actor: &Actor,
    ) -> Result<LedgerEntry, StoreError> {
        in_transaction!(self, |conn| adjust(conn, user, amount, reason, actor))
    }

    /// An operator's "give this user N credits" (CLI `admin grant`, `POST …/grants`): a grant
    /// when N is positive, an adjustment when negative, refused when zero. Without a reason,
    /// the row says the operator did it.
    pub async fn operator_grant(
        &self,
        user: &UserId,
        amount: Credits,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<LedgerEntry, StoreError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        match amount.get() {
            0 => Err(StoreError::InvalidAmount(amount)),
            n if n > 0 => {
                let reason = reason.unwrap_or("granted by operator");
                in_transaction!(self, |conn| async {
                    let entry = grant(conn, user, amount, reason, actor).await?;
                    crate::mail::credits_added(conn, &entry).await?;
                    Ok::<_, StoreError>(entry)
                })
            }
            _ => {
                let reason = reason.unwrap_or("adjusted by operator");
                self.adjust(user, amount, reason, actor).await
            }
        }
    }

    pub async fn settlement(&self, generation: &GenerationId) -> Result<Settlement, StoreError> {
        let mut conn = self.pool.acquire().await?;
        settlement(&mut conn, generation).await
    }

    pub async fn ledger_page(
        &self,
        user: &UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<LedgerPage, StoreError> {
        let mut conn = self.pool.acquire().await?;
        page(&mut conn, user, cursor, limit).await
    }

    pub async fn audit_balance(&self, user: &UserId) -> Result<BalanceAudit, StoreError> {
        let mut conn = self.pool.acquire().await?;
        audit(&mut conn, user).await
    }
}
