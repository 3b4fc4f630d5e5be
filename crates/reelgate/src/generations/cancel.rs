//! Canceling a generation not yet sent upstream: refunded, its webhook and mail queued, in
//! one transaction (`Store::cancel_generation`). Called by the JSON API and the web page
//! alike. It ends the generation the way every end goes (`settle::cancel`), which wakes the
//! workers that deliver what it queued, so no front end has to.

use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_store::{Canceled, StoreError};

use super::lifecycle::Lifecycle;
use super::settle;

/// What became of a cancel.
pub enum Cancel {
    /// Canceled now, and refunded.
    Done(Box<Generation>),
    /// Already sent upstream (or finished): it stays as it is.
    TooLate(Box<Generation>),
    /// No generation of the customer's has this id.
    NotFound,
}

/// Cancels the customer's generation `id` if it has not been sent upstream yet.
pub async fn cancel(
    lifecycle: &Lifecycle,
    user: &UserId,
    id: &GenerationId,
) -> Result<Cancel, StoreError> {
    Ok(match settle::cancel(lifecycle, user, id).await? {
        Some(Canceled::Now(generation)) => Cancel::Done(Box::new(generation)),
        Some(Canceled::TooLate(generation)) => Cancel::TooLate(Box::new(generation)),
        None => Cancel::NotFound,
    })
}
