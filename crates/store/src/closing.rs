//! A customer's own data: everything we keep about them (the export), and closing the
//! account — personal data erased, financial records kept without a name or an address.

use reelgate_domain::accounts::{ApiKeyInfo, Password, User, UserId};
use reelgate_domain::generations::Generation;
use reelgate_domain::ledger::{Actor, EntryKind, LedgerEntry};
use reelgate_domain::payments::Payment;
use reelgate_domain::Credits;
use sqlx::Row;

use crate::generations::{generation_from_row, GENERATION_COLUMNS};
use crate::mail::OutboxMail;
use crate::preferences::MailPreferences;
use crate::retry::in_transaction;
use crate::sessions::SessionInfo;
use crate::time::now_millis;
use crate::{ledger, passwords, secrets, PaymentFilter, Store, StoreError, MAX_PAGE_SIZE};

/// Every row of one account, for its owner to take away.
#[derive(Debug, Clone)]
pub struct AccountExport {
    pub user: User,
    pub preferences: MailPreferences,
    pub ledger: Vec<LedgerEntry>,
    pub generations: Vec<Generation>,
    pub payments: Vec<Payment>,
    pub api_keys: Vec<ApiKeyInfo>,
    pub sessions: Vec<SessionInfo>,
    pub mail: Vec<OutboxMail>,
}

/// What closing an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    /// Unspent credits given up (an `adjustment` row takes them off the ledger).
    pub forfeited: Credits,
}

impl Store {
    pub async fn export_account(&self, user: &UserId) -> Result<AccountExport, StoreError> {
        let owner = self.user(user).await?;
        let ledger = sqlx::query(&format!(
            "SELECT {} FROM ledger_entries WHERE user_id = $1 ORDER BY id",
            ledger::ENTRY_COLUMNS
        ))
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(ledger::entry_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let generations = sqlx::query(&format!(
            "SELECT {GENERATION_COLUMNS} FROM generations WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(generation_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let mut payments = Vec::new();
        let filter = PaymentFilter {
            user: Some(user.clone()),
            status: None,
        };
        let mut cursor = None;
        loop {
            let page = self
                .payments(&filter, cursor.as_deref(), MAX_PAGE_SIZE)
                .await?;
            payments.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(AccountExport {
            preferences: self.mail_preferences(user).await?,
            api_keys: self.list_api_keys(user).await?,
            sessions: self.sessions_of(user, None).await?,
            mail: self.mail_of(user).await?,
            user: owner,
            ledger,
            generations,
            payments,
        })
    }

    /// The owner closes their account, proving their password. Their sessions and keys stop
    /// working, their address and everything they asked for are erased, their videos are
    /// deleted (the copier removes the files); ledger and payment rows stay, tied only to the
    /// account's id. Refused while generations are in flight (their credits are held).
    pub async fn close_account(
        &self,
        user: &UserId,
        password: &Password,
    ) -> Result<Closed, StoreError> {
        self.prove_password(user, password).await?;
        // A password nobody knows: the row must still hold a valid hash.
        let unusable = secrets::new_session_token()?;
        let unusable = Password::parse(unusable.expose()).map_err(|_| StoreError::PasswordHash)?;
        let hash = &passwords::hash(&unusable).await?;
        let webhook_secret = &secrets::new_webhook_secret()?;
        let closed = in_transaction!(self, |conn| async {
            let now = now_millis();
            let closed = sqlx::query(
                "UPDATE users SET email = 'closed-' || id || '@closed.invalid',
                     password_hash = $1, webhook_secret = $2, closed_at = $3,
                     disabled_at = COALESCE(disabled_at, $3), email_unverified_since = NULL,
                     notify_generations = 0, low_balance_below = NULL
                 WHERE id = $4 AND closed_at IS NULL AND held = 0
                 RETURNING balance",
            )
            .bind(hash)
            .bind(webhook_secret.expose())
            .bind(now)
            .bind(user.as_str())
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = closed else {
                let held: Option<i64> = sqlx::query_scalar("SELECT held FROM users WHERE id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                return Err(match held {
                    Some(held) if held > 0 => StoreError::AccountBusy(format!(
                        "{held} credits are held by generations still running; close the \
                         account once they have finished"
                    )),
                    Some(_) => StoreError::AccountClosed,
                    None => StoreError::UserNotFound,
                });
            };
            let balance = Credits::new(row.try_get("balance")?);
            if balance.is_positive() {
                ledger::credit(
                    conn,
                    user,
                    EntryKind::Adjustment,
                    -balance,
                    "account closed by its owner: unspent credits given up",
                    &Actor::User(user.clone()),
                )
                .await?;
            }
            erase_personal_data(conn, user, now).await?;
            Ok::<_, StoreError>(Closed { forfeited: balance })
        })?;
        self.keys.forget_user(user);
        Ok(closed)
    }
}

/// What the customer asked for and where we sent things for them. Amounts, models, times and
/// outcomes stay: the operator's reports and the ledger are built on them.
async fn erase_personal_data(
    conn: &mut sqlx::AnyConnection,
    user: &UserId,
    now: i64,
) -> Result<(), StoreError> {
    // (statement, whether it binds the time as $2): PostgreSQL refuses unused parameters.
    let statements = [
        (
            "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2), user_agent = NULL
          WHERE user_id = $1",
            true,
        ),
        (
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2), name = 'closed'
          WHERE user_id = $1",
            true,
        ),
        (
            "UPDATE generations SET params = '{}', upstream_request = '{}', webhook_url = NULL,
              first_response = NULL, idempotency_key = NULL, request_hash = NULL, videos = '[]'
          WHERE user_id = $1",
            false,
        ),
        (
            "UPDATE media_copies SET state = 'deleted', deleted_reason = 'customer',
              deleted_at = $2, next_attempt_at = NULL
          WHERE user_id = $1 AND state <> 'deleted'",
            true,
        ),
        (
            "UPDATE media_copies SET source_url = '' WHERE user_id = $1",
            false,
        ),
        (
            "UPDATE webhook_deliveries SET payload = '{}', url = '',
              gave_up_at = CASE WHEN delivered_at IS NULL THEN COALESCE(gave_up_at, $2) END
          WHERE user_id = $1",
            true,
        ),
        (
            "UPDATE mail_outbox SET to_address = 'closed-' || user_id || '@closed.invalid',
              vars = '{}', next_attempt_at = NULL,
              gave_up_at = CASE WHEN sent_at IS NULL THEN COALESCE(gave_up_at, $2) END
          WHERE user_id = $1",
            true,
        ),
        ("DELETE FROM account_tokens WHERE user_id = $1", false),
    ];
    for (statement, binds_now) in statements {
        let query = sqlx::query(statement).bind(user.as_str());
        let query = if binds_now { query.bind(now) } else { query };
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
