//! Voucher codes: the operator creates them, each customer may redeem each code once, for a
//! `voucher` ledger row.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::{Email, UserId};
use reelgate_domain::ledger::{Actor, EntryKind, LedgerEntry, Redemption, Voucher, VoucherCode};
use reelgate_domain::Credits;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::retry::{self, in_transaction};
use crate::time::{from_millis, from_millis_opt, now_millis, to_millis};
use crate::{error::is_unique_violation, ledger, secrets, Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewVoucher {
    /// The code to print; `None` generates one.
    pub code: Option<VoucherCode>,
    pub credits: Credits,
    pub max_redemptions: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_by: Actor,
}

const VOUCHER_COLUMNS: &str =
    "code, credits, max_redemptions, redemptions, expires_at, created_by, created_at";

fn voucher_from_row(row: &AnyRow) -> Result<Voucher, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("vouchers", e);
    Ok(Voucher {
        code: VoucherCode::parse(&row.try_get::<String, _>("code")?).map_err(|e| corrupt(&e))?,
        credits: Credits::new(row.try_get("credits")?),
        max_redemptions: row.try_get("max_redemptions")?,
        redemptions: row.try_get("redemptions")?,
        expires_at: from_millis_opt("vouchers", row.try_get("expires_at")?)?,
        created_by: row
            .try_get::<String, _>("created_by")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        created_at: from_millis("vouchers", row.try_get("created_at")?)?,
    })
}

impl Store {
    pub async fn create_voucher(&self, new: NewVoucher) -> Result<Voucher, StoreError> {
        if !new.credits.is_positive() || new.credits > ledger::MAX_BALANCE {
            return Err(StoreError::InvalidAmount(new.credits));
        }
        if new.max_redemptions < 1 {
            return Err(StoreError::InvalidVoucher(
                "max_redemptions must be at least 1",
            ));
        }
        let code = match new.code.clone() {
            Some(code) => code,
            None => secrets::new_voucher_code()?,
        };
        let row = retry::on_contention(|| async {
            let inserted = sqlx::query(&format!(
                "INSERT INTO vouchers (code, credits, max_redemptions, expires_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {VOUCHER_COLUMNS}"
            ))
            .bind(code.as_str())
            .bind(new.credits.get())
            .bind(new.max_redemptions)
            .bind(new.expires_at.map(to_millis))
            .bind(new.created_by.to_string())
            .bind(now_millis())
            .fetch_one(&self.pool)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => Err(StoreError::VoucherCodeTaken),
                other => Ok(other?),
            }
        })
        .await?;
        voucher_from_row(&row)
    }

    /// Redeems `code` for `user`: one `voucher` ledger row of the voucher's credits. Refuses
    /// unknown, expired, used-up and already-redeemed codes, each with its own error.
    pub async fn redeem_voucher(
        &self,
        user: &UserId,
        code: &VoucherCode,
    ) -> Result<LedgerEntry, StoreError> {
        in_transaction!(self, |conn| async {
            let entry = redeem(conn, user, code).await?;
            crate::mail::credits_added(conn, &entry).await?;
            Ok::<_, StoreError>(entry)
        })
    }

    /// All vouchers, newest first, with how often each was redeemed.
    pub async fn list_vouchers(&self) -> Result<Vec<Voucher>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VOUCHER_COLUMNS} FROM vouchers ORDER BY created_at DESC, code"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(voucher_from_row).collect()
    }

    /// Who redeemed which voucher, newest first; only `code`'s if given.
    pub async fn voucher_redemptions(
        &self,
        code: Option<&VoucherCode>,
    ) -> Result<Vec<Redemption>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.code, r.user_id, u.email, r.redeemed_at
             FROM voucher_redemptions r JOIN users u ON u.id = r.user_id
             WHERE $1 IS NULL OR r.code = $1
             ORDER BY r.redeemed_at DESC, r.code, r.user_id",
        )
        .bind(code.map(VoucherCode::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let corrupt =
                    |e: &dyn std::fmt::Display| StoreError::corrupt("voucher_redemptions", e);
                Ok(Redemption {
                    code: VoucherCode::parse(&row.try_get::<String, _>("code")?)
                        .map_err(|e| corrupt(&e))?,
                    user_id: UserId::parse(&row.try_get::<String, _>("user_id")?)
                        .map_err(|e| corrupt(&e))?,
                    email: Email::from_stored(&row.try_get::<String, _>("email")?)
                        .map_err(|e| corrupt(&e))?,
                    redeemed_at: from_millis("voucher_redemptions", row.try_get("redeemed_at")?)?,
                })
            })
            .collect()
    }
}

async fn redeem(
    conn: &mut AnyConnection,
    user: &UserId,
    code: &VoucherCode,
) -> Result<LedgerEntry, StoreError> {
    let now = now_millis();
    // Counting the redemption first is the write that opens the transaction, and its condition
    // is what keeps racing customers from redeeming a code more often than it allows.
    let credits = sqlx::query(
        "UPDATE vouchers SET redemptions = redemptions + 1
         WHERE code = $1 AND redemptions < max_redemptions
           AND (expires_at IS NULL OR expires_at > $2)
         RETURNING credits",
    )
    .bind(code.as_str())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(credits) = credits else {
        return Err(why_not_redeemable(conn, user, code, now).await?);
    };
    let credits = Credits::new(credits.try_get("credits")?);
    let reason = format!("voucher {code}");
    let entry = ledger::credit(
        conn,
        user,
        EntryKind::Voucher,
        credits,
        &reason,
        &Actor::User(user.clone()),
    )
    .await?;
    let recorded = sqlx::query(
        "INSERT INTO voucher_redemptions (code, user_id, ledger_entry_id, redeemed_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(code.as_str())
    .bind(user.as_str())
    .bind(entry.id)
    .bind(now)
    .execute(&mut *conn)
    .await;
    match recorded {
        Err(e) if is_unique_violation(&e) => Err(StoreError::VoucherAlreadyRedeemed),
        other => other.map(|_| entry).map_err(StoreError::from),
    }
}

async fn why_not_redeemable(
    conn: &mut AnyConnection,
    user: &UserId,
    code: &VoucherCode,
    now: i64,
) -> Result<StoreError, StoreError> {
    let voucher = sqlx::query(&format!(
        "SELECT {VOUCHER_COLUMNS} FROM vouchers WHERE code = $1"
    ))
    .bind(code.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(voucher) = voucher else {
        return Ok(StoreError::VoucherNotFound);
    };
    let voucher = voucher_from_row(&voucher)?;
    let redeemed_by_user =
        sqlx::query("SELECT 1 AS one FROM voucher_redemptions WHERE code = $1 AND user_id = $2")
            .bind(code.as_str())
            .bind(user.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
    Ok(if redeemed_by_user {
        StoreError::VoucherAlreadyRedeemed
    } else if voucher.expires_at.is_some_and(|at| to_millis(at) <= now) {
        StoreError::VoucherExpired
    } else {
        StoreError::VoucherUsedUp
    })
}
