//! Confirming addresses: a new account's, and the new one of an account changing its email —
//! the change happens only once a link mailed to the new address is followed.

use reelgate_domain::accounts::{AccountToken, Email, Password, UserId};
use reelgate_domain::mail::{Language, MailTemplate};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use std::time::Duration;

use crate::account_tokens::{self, Purpose};
use crate::error::is_unique_violation;
use crate::mail::{self, NewMail};
use crate::retry::in_transaction;
use crate::{Store, StoreError};

/// How long a link confirming an address works.
pub const CONFIRM_LINK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What following a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The account's own address is confirmed.
    Address(UserId),
    /// The account's address is now this one.
    NewAddress(UserId, Email),
}

/// A customer who signed up: their language, their address waiting to be confirmed, and the
/// mail asking them to, in the caller's transaction.
pub(crate) async fn await_confirmation(
    conn: &mut AnyConnection,
    user: &UserId,
    language: Language,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET locale = $1, email_unverified_since = $2 WHERE id = $3")
        .bind(language.code())
        .bind(now)
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    mail_confirmation(conn, user).await
}

/// Queues the "confirm your address" mail, in the caller's transaction.
async fn mail_confirmation(conn: &mut AnyConnection, user: &UserId) -> Result<(), StoreError> {
    let token =
        account_tokens::issue(conn, user, Purpose::VerifyEmail, None, CONFIRM_LINK_TTL).await?;
    mail::enqueue_for(
        conn,
        user,
        MailTemplate::VerifyEmail,
        json!({ "token": token.expose() }),
    )
    .await?;
    Ok(())
}

/// "Your address was changed to …", to the address the account had.
async fn notify_old_address(
    conn: &mut AnyConnection,
    user: &UserId,
    before: &sqlx::any::AnyRow,
    new_email: &Email,
) -> Result<(), StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("users", e);
    let old = Email::parse(&before.try_get::<String, _>("email")?).map_err(|e| corrupt(&e))?;
    let locale: String = before.try_get("locale")?;
    let mail = NewMail {
        to: old,
        language: Language::parse(&locale).unwrap_or_default(),
        template: MailTemplate::EmailChanged,
        values: json!({ "new_email": new_email.as_str() }),
        user: Some(user.clone()),
    };
    mail::enqueue(conn, &mail).await?;
    Ok(())
}

impl Store {
    /// Sends the confirmation mail again (a new link; the old one stops working). Nothing for
    /// an address already confirmed.
    pub async fn resend_confirmation(&self, user: &UserId) -> Result<bool, StoreError> {
        in_transaction!(self, |conn| async {
            // A write first (see the crate docs); it also tells whether there is anything to do.
            let pending = sqlx::query(
                "UPDATE users SET email_unverified_since = email_unverified_since
                 WHERE id = $1 AND email_unverified_since IS NOT NULL AND closed_at IS NULL",
            )
            .bind(user.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if pending == 0 {
                return Ok::<_, StoreError>(false);
            }
            mail_confirmation(conn, user).await?;
            Ok(true)
        })
    }

    /// Follows a link from a confirmation mail (a new account's, or an email change's).
    pub async fn confirm_address(&self, token: &AccountToken) -> Result<Confirmed, StoreError> {
        let confirmed = in_transaction!(self, |conn| async {
            match account_tokens::consume(conn, token, Purpose::VerifyEmail).await {
                Ok(used) => {
                    sqlx::query(
                        "UPDATE users SET email_unverified_since = NULL
                         WHERE id = $1 AND closed_at IS NULL",
                    )
                    .bind(used.user.as_str())
                    .execute(&mut *conn)
                    .await?;
                    return Ok::<_, StoreError>(Confirmed::Address(used.user));
                }
                Err(StoreError::InvalidToken) => {}
                Err(other) => return Err(other),
            }
            let used = account_tokens::consume(conn, token, Purpose::ChangeEmail).await?;
            let new_email = used
                .new_email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(|e| StoreError::corrupt("account_tokens", e))?
                .ok_or_else(|| StoreError::corrupt("account_tokens", "change without address"))?;
            // The old address hears of it: a change it did not ask for is a stolen account.
            let before =
                sqlx::query("SELECT email, locale FROM users WHERE id = $1 AND closed_at IS NULL")
                    .bind(used.user.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
            let changed = sqlx::query(
                "UPDATE users SET email = $1, email_unverified_since = NULL
                 WHERE id = $2 AND closed_at IS NULL",
            )
            .bind(new_email.as_str())
            .bind(used.user.as_str())
            .execute(&mut *conn)
            .await;
            match changed {
                Err(e) if is_unique_violation(&e) => Err(StoreError::EmailTaken),
                Err(e) => Err(e.into()),
                Ok(done) if done.rows_affected() == 0 => Err(StoreError::InvalidToken),
                Ok(_) => {
                    if let Some(before) = before {
                        notify_old_address(conn, &used.user, &before, &new_email).await?;
                    }
                    Ok(Confirmed::NewAddress(used.user, new_email))
                }
            }
        })?;
        if let Confirmed::NewAddress(user, _) = &confirmed {
            // The cached owner of their keys still has the old address.
            self.keys.forget_user(user);
        }
        Ok(confirmed)
    }

    /// The owner asks to change their address (proving their password): a link goes to the
    /// new address, and the account keeps the old one until it is followed.
    pub async fn request_email_change(
        &self,
        user: &UserId,
        password: &Password,
        new_email: &Email,
    ) -> Result<(), StoreError> {
        self.prove_password(user, password).await?;
        let locale: Option<String> = sqlx::query_scalar("SELECT locale FROM users WHERE id = $1")
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let language = locale
            .as_deref()
            .and_then(Language::parse)
            .unwrap_or_default();
        in_transaction!(self, |conn| async {
            // Checked now so the customer hears at once; checked again when the link is followed.
            sqlx::query("UPDATE users SET locale = locale WHERE id = $1")
                .bind(user.as_str())
                .execute(&mut *conn)
                .await?;
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(new_email.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            if taken.is_some() {
                return Err(StoreError::EmailTaken);
            }
            let token = account_tokens::issue(
                conn,
                user,
                Purpose::ChangeEmail,
                Some(new_email),
                CONFIRM_LINK_TTL,
            )
            .await?;
            let mail = NewMail {
                to: new_email.clone(),
                language,
                template: MailTemplate::ChangeEmail,
                values: json!({ "token": token.expose(), "new_email": new_email.as_str() }),
                user: Some(user.clone()),
            };
            mail::enqueue(conn, &mail).await?;
            Ok::<_, StoreError>(())
        })
    }
}
