//! What a customer wants from us by mail, and in which language.

use reelgate_domain::accounts::UserId;
use reelgate_domain::mail::Language;
use reelgate_domain::Credits;
use sqlx::Row;

use crate::retry::in_transaction;
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailPreferences {
    pub language: Language,
    /// The address was confirmed (a link mailed to it was followed, or the operator made the
    /// account).
    pub email_verified: bool,
    /// "Your video is ready" / "could not be generated" mails.
    pub notify_generations: bool,
    /// Opt-in: mail once when the balance falls below this.
    pub low_balance_below: Option<Credits>,
}

impl Store {
    pub async fn mail_preferences(&self, user: &UserId) -> Result<MailPreferences, StoreError> {
        let row = sqlx::query(
            "SELECT locale, email_unverified_since, notify_generations, low_balance_below
             FROM users WHERE id = $1",
        )
        .bind(user.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::UserNotFound)?;
        let locale: String = row.try_get("locale")?;
        Ok(MailPreferences {
            language: Language::parse(&locale).unwrap_or_default(),
            email_verified: row
                .try_get::<Option<i64>, _>("email_unverified_since")?
                .is_none(),
            notify_generations: row.try_get::<i64, _>("notify_generations")? != 0,
            low_balance_below: row
                .try_get::<Option<i64>, _>("low_balance_below")?
                .map(Credits::new),
        })
    }

    /// The language mail is written in (the web app's, when the customer chooses one).
    pub async fn set_language(&self, user: &UserId, language: Language) -> Result<(), StoreError> {
        in_transaction!(self, |conn| async {
            sqlx::query("UPDATE users SET locale = $1 WHERE id = $2 AND locale <> $1")
                .bind(language.code())
                .bind(user.as_str())
                .execute(&mut *conn)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Sets what the customer wants mailed. A new low-balance threshold starts afresh.
    pub async fn set_mail_preferences(
        &self,
        user: &UserId,
        notify_generations: bool,
        low_balance_below: Option<Credits>,
    ) -> Result<(), StoreError> {
        if let Some(threshold) = low_balance_below.filter(|c| !c.is_positive()) {
            return Err(StoreError::InvalidAmount(threshold));
        }
        in_transaction!(self, |conn| async {
            let updated = sqlx::query(
                "UPDATE users SET notify_generations = $1, low_balance_below = $2,
                     low_balance_mailed_at = NULL
                 WHERE id = $3 AND closed_at IS NULL",
            )
            .bind(i64::from(notify_generations))
            .bind(low_balance_below.map(Credits::get))
            .bind(user.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if updated == 0 {
                return Err(StoreError::UserNotFound);
            }
            Ok::<_, StoreError>(())
        })
    }
}
