//! Sending one of a customer's deliveries again, for both front ends: the same `webhook-id`
//! and body, due now with another day of retries; the deliverer is woken here.

use reelgate_domain::accounts::UserId;
use reelgate_store::{Store, StoreError};
use tokio::sync::Notify;

/// False when the customer has no delivery `id`. `deliverer` is the webhook deliverer.
pub async fn resend(
    store: &Store,
    deliverer: &Notify,
    user: &UserId,
    id: &str,
) -> Result<bool, StoreError> {
    let queued = store.resend_webhook(user, id).await?;
    if queued {
        deliverer.notify_one();
    }
    Ok(queued)
}
