//! Confirmed addresses: whether an account may generate before confirming its address
//! (`REELGATE_REQUIRE_VERIFIED_EMAIL`), and mailing the confirmation link again.

use reelgate_domain::accounts::UserId;
use reelgate_store::{Store, StoreError};
use std::time::Duration;
use tokio::sync::Notify;

use super::throttle::{self, VERIFY_PER_ACCOUNT};

#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    #[error(
        "confirm your email address first: follow the link we mailed you, or ask for a new one"
    )]
    Unverified,
    #[error("too many confirmation mails; try again in {} minutes", .0.as_secs().div_ceil(60).max(1))]
    Throttled(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refuses an account whose address is not confirmed, when the operator requires it. Checked
/// before anything is held, so a refusal charges nothing.
pub async fn may_generate(
    store: &Store,
    required: bool,
    user: &UserId,
) -> Result<(), VerificationError> {
    if required && !store.mail_preferences(user).await?.email_verified {
        return Err(VerificationError::Unverified);
    }
    Ok(())
}

/// Mails a new confirmation link (the old one stops working); false when the address is
/// confirmed already. `mail` is the mail deliverer, woken once the link is queued.
pub async fn resend(
    store: &Store,
    mail: &Notify,
    user: &UserId,
) -> Result<bool, VerificationError> {
    throttle::reserve(store, &VERIFY_PER_ACCOUNT, user.as_str())
        .await?
        .map_err(VerificationError::Throttled)?;
    let sent = store.resend_confirmation(user).await?;
    if sent {
        mail.notify_one();
    }
    Ok(sent)
}
