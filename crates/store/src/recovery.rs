//! Getting back into an account and keeping it one's own: password reset by mail, changing the
//! password, signing out everywhere.

use reelgate_domain::accounts::{AccountToken, Email, Password, SessionToken, UserId};
use reelgate_domain::mail::MailTemplate;
use serde_json::json;
use sqlx::AnyConnection;
use std::time::Duration;

use crate::account_tokens::{self, Purpose};
use crate::retry::in_transaction;
use crate::time::now_millis;
use crate::{mail, passwords, secrets, Store, StoreError};

/// How long a password reset link works.
pub const RESET_LINK_TTL: Duration = Duration::from_secs(3600);

impl Store {
    /// Mails a reset link if an open, enabled account has this address, and says whether it
    /// did — for logs and tests only: callers must answer the same either way, so that the
    /// form does not tell who has an account.
    pub async fn request_password_reset(&self, email: &Email) -> Result<bool, StoreError> {
        in_transaction!(self, |conn| async {
            // A write first (see the crate docs), which also ends the account's older links.
            sqlx::query(
                "UPDATE account_tokens SET used_at = $1
                 WHERE purpose = 'password_reset' AND used_at IS NULL
                   AND user_id = (SELECT id FROM users WHERE email = $2)",
            )
            .bind(now_millis())
            .bind(email.as_str())
            .execute(&mut *conn)
            .await?;
            let Some(user) = open_account(conn, email).await? else {
                return Ok::<_, StoreError>(false);
            };
            let token =
                account_tokens::issue(conn, &user, Purpose::PasswordReset, None, RESET_LINK_TTL)
                    .await?;
            mail::enqueue_for(
                conn,
                &user,
                MailTemplate::PasswordReset,
                json!({ "token": token.expose() }),
            )
            .await?;
            Ok(true)
        })
    }

    /// Sets a new password through a reset link: the link is used up, every session of the
    /// account ends, and the address counts as confirmed (the link reached it).
    pub async fn reset_password(
        &self,
        token: &AccountToken,
        password: &Password,
    ) -> Result<UserId, StoreError> {
        let hash = &passwords::hash(password).await?;
        in_transaction!(self, |conn| async {
            let used = account_tokens::consume(conn, token, Purpose::PasswordReset).await?;
            let now = now_millis();
            let updated = sqlx::query(
                "UPDATE users SET password_hash = $1, email_unverified_since = NULL
                 WHERE id = $2 AND closed_at IS NULL AND disabled_at IS NULL",
            )
            .bind(hash)
            .bind(used.user.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if updated == 0 {
                // Closed or disabled since the link was sent: the link does nothing.
                return Err(StoreError::InvalidToken);
            }
            end_sessions(conn, &used.user, None, now).await?;
            mail::enqueue_for(conn, &used.user, MailTemplate::PasswordChanged, json!({})).await?;
            Ok::<_, StoreError>(used.user)
        })
    }

    /// The owner changes their password, proving the current one. Every other session ends;
    /// `keep` (the session making the change, if any) stays signed in.
    pub async fn change_password(
        &self,
        user: &UserId,
        current: &Password,
        new: &Password,
        keep: Option<&SessionToken>,
    ) -> Result<(), StoreError> {
        self.prove_password(user, current).await?;
        let hash = &passwords::hash(new).await?;
        in_transaction!(self, |conn| async {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(user.as_str())
                .execute(&mut *conn)
                .await?;
            end_sessions(conn, user, keep, now_millis()).await?;
            account_tokens::supersede(conn, user, Purpose::PasswordReset, now_millis()).await?;
            mail::enqueue_for(conn, user, MailTemplate::PasswordChanged, json!({})).await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Ends every session of the user but `keep`; returns how many ended.
    pub async fn sign_out_everywhere(
        &self,
        user: &UserId,
        keep: Option<&SessionToken>,
    ) -> Result<u64, StoreError> {
        in_transaction!(self, |conn| end_sessions(conn, user, keep, now_millis()))
    }
}

/// The open, enabled account with this address.
async fn open_account(
    conn: &mut AnyConnection,
    email: &Email,
) -> Result<Option<UserId>, StoreError> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM users WHERE email = $1 AND closed_at IS NULL AND disabled_at IS NULL",
    )
    .bind(email.as_str())
    .fetch_optional(conn)
    .await?;
    id.map(|id| UserId::parse(&id).map_err(|e| StoreError::corrupt("users", e)))
        .transpose()
}

pub(crate) async fn end_sessions(
    conn: &mut AnyConnection,
    user: &UserId,
    keep: Option<&SessionToken>,
    now: i64,
) -> Result<u64, StoreError> {
    let keep = keep.map(|token| secrets::hash(token.expose()));
    Ok(sqlx::query(
        "UPDATE sessions SET revoked_at = $1
         WHERE user_id = $2 AND revoked_at IS NULL AND token_hash <> COALESCE($3, '')",
    )
    .bind(now)
    .bind(user.as_str())
    .bind(keep)
    .execute(conn)
    .await?
    .rows_affected())
}
