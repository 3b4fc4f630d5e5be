//! What customers and operators ask of the copies, for whichever front end they ask through:
//! the store marks the rows, and the copier is woken here to act on them.

use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::GenerationId;
use reelgate_store::{Store, StoreError};

use super::Media;

impl Media {
    /// Marks the customer's copies of a generation's videos deleted; the copier removes the
    /// files. False when the customer has no such generation.
    pub async fn delete_of(
        &self,
        db: &Store,
        user: &UserId,
        generation: &GenerationId,
    ) -> Result<bool, StoreError> {
        let marked = db.delete_media_of(user, generation).await?.is_some();
        if marked {
            self.wake.notify_one();
        }
        Ok(marked)
    }

    /// Queues a failed copy again, at once. False when it is not a failed copy.
    pub async fn retry(
        &self,
        db: &Store,
        generation: &GenerationId,
        index: u32,
    ) -> Result<bool, StoreError> {
        let queued = db.retry_media(generation, index).await?;
        if queued {
            self.wake.notify_one();
        }
        Ok(queued)
    }
}
