//! How often links may be mailed: per address and per client for password resets, per
//! account for confirmation mails sent again.
//!
//! Counted in the database (`reelgate_store::throttle`), reserved before the mail is queued,
//! so concurrent requests cannot slip past the count and every instance on one PostgreSQL
//! shares it — as the sign-in throttle (`web::throttle`) does.

use reelgate_store::{Attempt, AttemptLimit, Store, StoreError};
use std::time::Duration;

/// Links mailed to one address per hour: enough for a customer who lost one, too few to fill
/// someone's mailbox.
pub const RESET_PER_ADDRESS: AttemptLimit = AttemptLimit {
    name: "password_reset_address",
    limit: 3,
    window: Duration::from_secs(3600),
};

/// Reset requests from one client per 15 minutes, whatever the addresses.
pub const RESET_PER_CLIENT: AttemptLimit = AttemptLimit {
    name: "password_reset_client",
    limit: 10,
    window: Duration::from_secs(15 * 60),
};

/// Confirmation mails an account may ask for again per hour.
pub const VERIFY_PER_ACCOUNT: AttemptLimit = AttemptLimit {
    name: "verify_email_account",
    limit: 3,
    window: Duration::from_secs(3600),
};

/// Reserves one attempt of `subject`: `Err(wait)` while it has used up its share.
pub async fn reserve(
    store: &Store,
    limit: &AttemptLimit,
    subject: &str,
) -> Result<Result<(), Duration>, StoreError> {
    Ok(match store.reserve_attempt(limit, subject).await? {
        Attempt::Reserved(_) => Ok(()),
        Attempt::Refused { retry_after } => Err(retry_after),
    })
}
