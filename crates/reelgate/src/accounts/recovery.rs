//! Password reset by mail: asking for a link (always "on its way", whoever asks, so the answer
//! does not tell who has an account) and using it.

use reelgate_domain::accounts::{AccountToken, Email, Password, UserId};
use reelgate_store::{Store, StoreError};
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::Notify;

use super::throttle::{self, RESET_PER_ADDRESS, RESET_PER_CLIENT};

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("too many requests; try again in {} minutes", .0.as_secs().div_ceil(60).max(1))]
    Throttled(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Asks for a reset link to `email`. Succeeds the same whether or not an account has the
/// address, and when the address has had its share of links (the mail is then not sent).
/// `mail` is the mail deliverer, woken once the link is queued.
pub async fn request_reset(
    store: &Store,
    mail: &Notify,
    email: &str,
    client: Option<IpAddr>,
) -> Result<(), RecoveryError> {
    let email = Email::parse(email).map_err(|e| RecoveryError::Invalid {
        field: "email",
        message: e.to_string(),
    })?;
    let client_key = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    throttle::reserve(store, &RESET_PER_CLIENT, &client_key)
        .await?
        .map_err(RecoveryError::Throttled)?;
    if throttle::reserve(store, &RESET_PER_ADDRESS, email.as_str())
        .await?
        .is_err()
    {
        tracing::info!("password reset: this address has had its links for now; none sent");
        return Ok(());
    }
    let mailed = store.request_password_reset(&email).await?;
    tracing::info!(mailed, "password reset requested");
    mail.notify_one();
    Ok(())
}

/// Sets a new password with a mailed link; every session of the account ends, and the owner
/// is mailed (`mail` is the deliverer, woken once it is queued).
pub async fn confirm_reset(
    store: &Store,
    mail: &Notify,
    token: &str,
    password: &str,
) -> Result<UserId, RecoveryError> {
    let token = AccountToken::parse(token.trim()).map_err(|_| RecoveryError::Invalid {
        field: "token",
        message: StoreError::InvalidToken.to_string(),
    })?;
    let password = Password::parse(password).map_err(|e| RecoveryError::Invalid {
        field: "password",
        message: e.to_string(),
    })?;
    match store.reset_password(&token, &password).await {
        Ok(user) => {
            mail.notify_one();
            Ok(user)
        }
        Err(StoreError::InvalidToken) => Err(RecoveryError::Invalid {
            field: "token",
            message: StoreError::InvalidToken.to_string(),
        }),
        Err(other) => Err(other.into()),
    }
}
