//! The mail outbox: a row per mail, written in the same transaction as the event that causes
//! it, then sent by the deliverer (`reelgate`'s `mail::deliver`) until the mail server takes
//! it or a day has passed. A mail server that is down delays mail; it never fails or slows the
//! request that caused it, and no mail is lost.
//!
//! To mail something from your own transaction:
//!
//! ```ignore
//! let mut tx = store.begin().await?;
//! // … your writes …
//! reelgate_store::mail::enqueue_for(&mut tx, &user_id, MailTemplate::Receipt,
//!     json!({"kind": "purchase", "payment_id": id, "package": name, "credits": 550,
//!            "amount": "149.90", "currency": "TRY"})).await?;
//! tx.commit().await?;
//! ```
//!
//! `enqueue_for` writes to the account's address in its language, and nothing for a closed
//! account; `enqueue` writes to any address. The values are what the template of
//! `MailTemplate` documents; they are rendered when the mail is sent, so nothing here knows
//! about texts. Nudge the deliverer afterwards (`Lifecycle::wake.mail`) or it looks within a
//! couple of seconds anyway.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::{Email, UserId};
use reelgate_domain::generations::{Generation, Status};
use reelgate_domain::ledger::LedgerEntry;
use reelgate_domain::mail::{Language, MailTemplate};
use reelgate_domain::payments::settle::Movement;
use reelgate_domain::payments::{Payment, PaymentStatus};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::time::Duration;

use crate::claim::Queue;
use crate::time::{from_millis, from_millis_opt, now_millis, to_millis};
use crate::{Store, StoreError};

/// A mail to queue for any address.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub to: Email,
    pub language: Language,
    pub template: MailTemplate,
    pub values: Value,
    /// The account it concerns, if any: its export lists it, its deletion erases it.
    pub user: Option<UserId>,
}

/// One mail of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMail {
    /// `mail_…`; the Message-ID is built from it.
    pub id: String,
    pub user_id: Option<UserId>,
    pub to: Email,
    pub language: Language,
    pub template: MailTemplate,
    /// Erased (`{}`) once sent when the mail carried a secret link.
    pub values: Value,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub gave_up_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, user_id, to_address, locale, template, vars, attempts, last_error, \
                       created_at, sent_at, gave_up_at";

/// The outbox as a queue of the shared claim (`crate::claim`): a claim is a lease, so no other
/// deliverer (or instance) takes a mail meanwhile, and a deliverer that dies lets it come back.
pub const MAIL: Queue<OutboxMail> = Queue {
    table: "mail_outbox",
    key: "id",
    due_at: "next_attempt_at",
    waiting: "sent_at IS NULL AND gave_up_at IS NULL",
    order: "next_attempt_at, id",
    on_claim: ", attempts = attempts + 1",
    columns: COLUMNS,
    from_row: mail_from_row,
    sorted_by: None,
};

fn new_id() -> String {
    format!("mail_{}", ulid::Ulid::new().to_string().to_lowercase())
}

fn mail_from_row(row: &AnyRow) -> Result<OutboxMail, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("mail_outbox", e);
    let locale: String = row.try_get("locale")?;
    Ok(OutboxMail {
        id: row.try_get("id")?,
        user_id: row
            .try_get::<Option<String>, _>("user_id")?
            .map(|id| UserId::parse(&id))
            .transpose()
            .map_err(|e| corrupt(&e))?,
        to: Email::parse(&row.try_get::<String, _>("to_address")?).map_err(|e| corrupt(&e))?,
        language: Language::parse(&locale).ok_or_else(|| corrupt(&locale))?,
        template: row
            .try_get::<String, _>("template")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        values: serde_json::from_str(&row.try_get::<String, _>("vars")?)
            .map_err(|e| corrupt(&e))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).map_err(|e| corrupt(&e))?,
        last_error: row.try_get("last_error")?,
        created_at: from_millis("mail_outbox", row.try_get("created_at")?)?,
        sent_at: from_millis_opt("mail_outbox", row.try_get("sent_at")?)?,
        gave_up_at: from_millis_opt("mail_outbox", row.try_get("gave_up_at")?)?,
    })
}

/// Queues `mail` in the caller's transaction: it exists if and only if the caller commits.
/// Returns the mail's id.
pub async fn enqueue(conn: &mut AnyConnection, mail: &NewMail) -> Result<String, StoreError> {
    let id = new_id();
    let now = now_millis();
    sqlx::query(
        "INSERT INTO mail_outbox (id, user_id, to_address, locale, template, vars,
             next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(mail.user.as_ref().map(UserId::as_str))
    .bind(mail.to.as_str())
    .bind(mail.language.code())
    .bind(mail.template.as_str())
    .bind(mail.values.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Queues a mail to `user`'s address, in their language, in the caller's transaction.
/// `None` (and nothing queued) for a closed account or an unknown user.
pub async fn enqueue_for(
    conn: &mut AnyConnection,
    user: &UserId,
    template: MailTemplate,
    values: Value,
) -> Result<Option<String>, StoreError> {
    enqueue_where(conn, user, template, values, "").await
}

/// As [`enqueue_for`], only if the customer has not switched off mail about generations.
pub async fn enqueue_generation_notice(
    conn: &mut AnyConnection,
    user: &UserId,
    template: MailTemplate,
    values: Value,
) -> Result<Option<String>, StoreError> {
    enqueue_where(conn, user, template, values, "AND notify_generations = 1").await
}

async fn enqueue_where(
    conn: &mut AnyConnection,
    user: &UserId,
    template: MailTemplate,
    values: Value,
    condition: &str,
) -> Result<Option<String>, StoreError> {
    let id = new_id();
    // One INSERT … SELECT: a write first, as SQLite transactions need (see the crate docs).
    let inserted = sqlx::query(&format!(
        "INSERT INTO mail_outbox (id, user_id, to_address, locale, template, vars,
             next_attempt_at, created_at)
         SELECT $1, id, email, locale, $2, $3, $4, $4 FROM users
         WHERE id = $5 AND closed_at IS NULL {condition}"
    ))
    .bind(&id)
    .bind(template.as_str())
    .bind(values.to_string())
    .bind(now_millis())
    .bind(user.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok((inserted > 0).then_some(id))
}

/// "Credits added" for a grant or a voucher that just moved credits in.
pub(crate) async fn credits_added(
    conn: &mut AnyConnection,
    entry: &LedgerEntry,
) -> Result<(), StoreError> {
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
        .bind(entry.user_id.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let values = json!({
        "credits": entry.amount.get(),
        "balance": balance,
        "reason": entry.reason,
        "kind": entry.kind.as_str(),
    });
    enqueue_for(conn, &entry.user_id, MailTemplate::CreditsAdded, values).await?;
    Ok(())
}

/// "Your balance is below N credits": a hold just took the balance under the threshold the
/// customer chose.
pub(crate) async fn low_balance(
    conn: &mut AnyConnection,
    user: &UserId,
    balance: i64,
    threshold: i64,
) -> Result<(), StoreError> {
    let values = json!({ "balance": balance, "threshold": threshold });
    enqueue_for(conn, user, MailTemplate::LowBalance, values).await?;
    Ok(())
}

/// A receipt for each way money moved in one settling of a payment: a purchase credited, or
/// credits taken back for a refund or a chargeback. Nothing for a dispute won (no template
/// says it) or for a settling that moved nothing (a repeated event).
pub(crate) async fn receipts(
    conn: &mut AnyConnection,
    payment: &Payment,
    movements: &[Movement],
) -> Result<(), StoreError> {
    let purchased: i64 = movements
        .iter()
        .filter_map(|m| match m {
            Movement::Purchase(c) => Some(c.get()),
            _ => None,
        })
        .sum();
    let taken_back: i64 = movements
        .iter()
        .filter_map(|m| match m {
            Movement::Reversal(c) | Movement::Debt(c) => Some(c.get()),
            _ => None,
        })
        .sum();
    let receipt = |kind: &str, credits: i64, amount: String| {
        json!({
            "kind": kind,
            "payment_id": payment.id.as_str(),
            "package": payment.package_name,
            "credits": credits,
            "amount": amount,
            "currency": payment.price.currency().code(),
        })
    };
    if purchased > 0 {
        let values = receipt("purchase", purchased, payment.price.amount_string());
        enqueue_for(conn, &payment.user_id, MailTemplate::Receipt, values).await?;
    }
    if taken_back > 0 {
        let (kind, amount) = match payment.status() {
            PaymentStatus::Disputed => ("chargeback", payment.price.amount_string()),
            _ => ("refund", payment.refunded.to_string()),
        };
        let values = receipt(kind, taken_back, amount);
        enqueue_for(conn, &payment.user_id, MailTemplate::Receipt, values).await?;
    }
    Ok(())
}

/// "Your video is ready" / "could not be generated, credits returned", for a generation that
/// has just ended, unless its owner switched these off.
pub(crate) async fn generation_ended(
    conn: &mut AnyConnection,
    generation: &Generation,
) -> Result<(), StoreError> {
    let (template, values) = match generation.status {
        Status::Succeeded => (
            MailTemplate::VideoReady,
            json!({ "generation_id": generation.id.as_str(), "model": generation.model }),
        ),
        Status::Failed => (
            MailTemplate::VideoFailed,
            json!({
                "generation_id": generation.id.as_str(),
                "model": generation.model,
                "credits": generation.credits.get(),
                "error": generation.error.as_ref().map(|e| e.message.as_str()),
            }),
        ),
        _ => return Ok(()),
    };
    enqueue_generation_notice(conn, &generation.user_id, template, values).await?;
    Ok(())
}

impl Store {
    /// Queues one mail in a transaction of its own (operator alerts, tests).
    pub async fn enqueue_mail(&self, mail: &NewMail) -> Result<String, StoreError> {
        crate::retry::in_transaction!(self, |conn| enqueue(conn, mail))
    }

    /// Claims up to `limit` unsent mails that are due, for `lease` (see [`MAIL`]).
    pub async fn claim_mail(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        self.claim(&MAIL, limit, lease).await
    }

    /// When the next unsent mail falls due.
    pub async fn next_mail_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.next_due(&MAIL).await
    }

    /// The mail server took the mail. A mail that carried a secret link keeps no copy of it.
    pub async fn record_mail_sent(&self, id: &str, erase_values: bool) -> Result<(), StoreError> {
        let now = now_millis();
        crate::retry::on_contention(|| async {
            sqlx::query(
                "UPDATE mail_outbox SET sent_at = $1, last_error = NULL, next_attempt_at = NULL,
                     vars = CASE WHEN $2 = 1 THEN '{}' ELSE vars END
                 WHERE id = $3 AND sent_at IS NULL",
            )
            .bind(now)
            .bind(i64::from(erase_values))
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// The attempt failed: tried again at `retry_at`, or (no retry) given up.
    pub async fn record_mail_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let now = now_millis();
        crate::retry::on_contention(|| async {
            let query = match retry_at {
                Some(at) => sqlx::query(
                    "UPDATE mail_outbox SET last_error = $1, next_attempt_at = $2
                     WHERE id = $3 AND sent_at IS NULL",
                )
                .bind(error)
                .bind(to_millis(at)),
                None => sqlx::query(
                    "UPDATE mail_outbox SET last_error = $1, gave_up_at = $2, next_attempt_at = NULL
                     WHERE id = $3 AND sent_at IS NULL",
                )
                .bind(error)
                .bind(now),
            };
            query.bind(id).execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    /// The newest `limit` mails, for the operator's outbox page.
    pub async fn recent_mail(&self, limit: u32) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mail_outbox ORDER BY created_at DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mail_from_row).collect()
    }

    /// Every mail about one account, whichever of its addresses it went to, oldest first
    /// (the account export).
    pub async fn mail_of(&self, user: &UserId) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mail_outbox WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mail_from_row).collect()
    }

    /// Every mail to one address, oldest first (tests).
    pub async fn mail_to(&self, address: &Email) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mail_outbox WHERE to_address = $1 ORDER BY created_at, id"
        ))
        .bind(address.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mail_from_row).collect()
    }
}
