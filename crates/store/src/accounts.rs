//! Users: creating them, finding them, signing them in, disabling them, and their webhook secret.

use reelgate_domain::accounts::{Email, Password, Role, User, UserId, WebhookSecret};
use reelgate_domain::ledger::Actor;
use reelgate_domain::mail::Language;
use reelgate_domain::Credits;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::page::{self, Page};
use crate::time::{from_millis, from_millis_opt, now_millis};
use crate::{error::is_unique_violation, ledger, passwords, retry, secrets, Store, StoreError};

/// What it takes to open an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub password: Password,
    pub role: Role,
    /// Credits granted on signup, as a `grant` ledger row; zero grants nothing.
    pub signup_bonus: Credits,
}

pub(crate) const USER_COLUMNS: &str =
    "id, email, role, balance, held, debt, created_at, disabled_at";

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("users", e);
    Ok(User {
        id: UserId::parse(&row.try_get::<String, _>("id")?).map_err(|e| corrupt(&e))?,
        email: Email::from_stored(&row.try_get::<String, _>("email")?).map_err(|e| corrupt(&e))?,
        role: row
            .try_get::<String, _>("role")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        balance: Credits::new(row.try_get("balance")?),
        held: Credits::new(row.try_get("held")?),
        debt: Credits::new(row.try_get("debt")?),
        created_at: from_millis("users", row.try_get("created_at")?)?,
        disabled_at: from_millis_opt("users", row.try_get("disabled_at")?)?,
    })
}

/// Lets a signed-in user through only while their account is enabled.
pub(crate) fn enabled(user: User) -> Result<User, StoreError> {
    if user.is_disabled() {
        Err(StoreError::AccountDisabled)
    } else {
        Ok(user)
    }
}

/// The user with this id, read on `conn` (inside a caller's transaction if it is one).
pub async fn user_on(conn: &mut AnyConnection, id: &UserId) -> Result<User, StoreError> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::UserNotFound)?;
    user_from_row(&row)
}

impl Store {
    /// Opens an account, granting the signup bonus in the same transaction. The operator (or
    /// the CLI) vouches for the address: it counts as confirmed.
    pub async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        self.open_account(new, None).await
    }

    /// A customer signs up on the web: the account, in their language, and a mail asking them
    /// to confirm their address, in one transaction.
    pub async fn sign_up(&self, new: NewUser, language: Language) -> Result<User, StoreError> {
        self.open_account(new, Some(language)).await
    }

    /// `signing_up`: the language of a customer signing up themselves, whose address is
    /// confirmed by mail; `None` for accounts the operator makes.
    async fn open_account(
        &self,
        new: NewUser,
        signing_up: Option<Language>,
    ) -> Result<User, StoreError> {
        if new.signup_bonus.get() < 0 {
            return Err(StoreError::InvalidAmount(new.signup_bonus));
        }
        let password_hash = passwords::hash(&new.password).await?;
        let id = UserId::generate();
        let webhook_secret = secrets::new_webhook_secret()?;
        retry::on_contention(|| async {
            let mut tx = self.pool.begin().await?;
            let now = now_millis();
            let inserted = sqlx::query(
                "INSERT INTO users (id, email, password_hash, role, webhook_secret, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id.as_str())
            .bind(new.email.as_str())
            .bind(&password_hash)
            .bind(new.role.as_str())
            .bind(webhook_secret.expose())
            .bind(now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::EmailTaken),
                other => other?,
            };
            if new.signup_bonus.is_positive() {
                ledger::grant(
                    &mut tx,
                    &id,
                    new.signup_bonus,
                    "signup bonus",
                    &Actor::System,
                )
                .await?;
            }
            if let Some(language) = signing_up {
                crate::verification::await_confirmation(&mut tx, &id, language, now).await?;
            }
            let user = user_on(&mut tx, &id).await?;
            tx.commit().await?;
            Ok(user)
        })
        .await
    }

    pub async fn user(&self, id: &UserId) -> Result<User, StoreError> {
        let mut conn = self.pool.acquire().await?;
        user_on(&mut conn, id).await
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<User, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::UserNotFound)?;
        user_from_row(&row)
    }

    /// Refuses with `InvalidCredentials` unless `password` is the open account's own, before
    /// an owner's change to their own account. No connection is held while it hashes.
    pub(crate) async fn prove_password(
        &self,
        user: &UserId,
        password: &Password,
    ) -> Result<(), StoreError> {
        let stored: Option<String> =
            sqlx::query("SELECT password_hash FROM users WHERE id = $1 AND closed_at IS NULL")
                .bind(user.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get("password_hash"))
                .transpose()?;
        if passwords::verify(password, stored).await? {
            Ok(())
        } else {
            Err(StoreError::InvalidCredentials)
        }
    }

    /// Signs a user in by email and password. A wrong email and a wrong password are the same
    /// error, and take about as long, so the form does not reveal who has an account.
    pub async fn authenticate(
        &self,
        email: &Email,
        password: &Password,
    ) -> Result<User, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let stored = row
            .as_ref()
            .map(|row| row.try_get::<String, _>("password_hash"))
            .transpose()?;
        let matches = passwords::verify(password, stored).await?;
        match row {
            Some(row) if matches => enabled(user_from_row(&row)?),
            _ => Err(StoreError::InvalidCredentials),
        }
    }

    /// Users newest first, optionally only those whose email contains `query`.
    pub async fn list_users(
        &self,
        query: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<User>, StoreError> {
        let after = cursor.map(|c| page::decode("users", c)).transpose()?;
        let pattern = query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| format!("%{}%", escape_like(&q.to_lowercase())));
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE ($1 IS NULL OR email LIKE $1 ESCAPE '\\')
               AND ($2 IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(pattern)
        .bind(after)
        .bind(page::fetch_size(limit))
        .fetch_all(&self.pool)
        .await?;
        let users = rows
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page::finish(users, limit, |u| u.id.to_string(), "users"))
    }

    /// Disables (or re-enables) an account. A disabled user's sessions and API keys stop
    /// working at once; their ledger stays as it is.
    pub async fn set_disabled(&self, id: &UserId, disabled: bool) -> Result<User, StoreError> {
        retry::on_contention(|| async {
            let mut tx = self.pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE users SET disabled_at = CASE WHEN $1 = 1 THEN COALESCE(disabled_at, $2) END
                 WHERE id = $3",
            )
            .bind(i64::from(disabled))
            .bind(now_millis())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Err(StoreError::UserNotFound);
            }
            let user = user_on(&mut tx, id).await?;
            tx.commit().await?;
            self.keys.forget_user(id);
            Ok(user)
        })
        .await
    }

    /// The secret this user's webhooks are signed with.
    pub async fn webhook_secret(&self, id: &UserId) -> Result<WebhookSecret, StoreError> {
        let raw: String = sqlx::query("SELECT webhook_secret FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::UserNotFound)?
            .try_get("webhook_secret")?;
        WebhookSecret::parse(&raw).map_err(|e| StoreError::corrupt("users", e))
    }

    /// Replaces the webhook secret; webhooks from now on are signed with the new one.
    pub async fn rotate_webhook_secret(&self, id: &UserId) -> Result<WebhookSecret, StoreError> {
        let secret = secrets::new_webhook_secret()?;
        let updated = retry::on_contention(|| async {
            Ok(
                sqlx::query("UPDATE users SET webhook_secret = $1 WHERE id = $2")
                    .bind(secret.expose())
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await?
                    .rows_affected(),
            )
        })
        .await?;
        if updated == 0 {
            return Err(StoreError::UserNotFound);
        }
        Ok(secret)
    }
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
