//! Running a whole transaction again when the database says another writer got in the way.
//!
//! SQLite serialises writers: a transaction that could not take the write lock within
//! busy_timeout fails with SQLITE_BUSY and has done nothing. PostgreSQL may abort one side of a
//! deadlock. Neither is the caller's fault, so neither should surface as a failed request.

use crate::StoreError;
use std::future::Future;
use std::time::Duration;

const ATTEMPTS: u32 = 5;

/// Runs `transaction` (which must begin, do its work and commit) and runs it again from the
/// start, a few times with a short pause, while the database reports contention.
pub async fn on_contention<T, F, Fut>(mut transaction: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match transaction().await {
            Err(err) if err.is_retryable() && attempt < ATTEMPTS => {
                tracing::debug!(attempt, error = %err, "database contention, retrying");
                let jitter = u64::from(rand::random::<u8>() % 50);
                tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt) + jitter)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// `in_transaction!(store, |conn| work)`: runs `work` (a future using `conn: &mut
/// AnyConnection`) in a transaction of its own on `store`, committing on success and starting
/// over on contention.
macro_rules! in_transaction {
    ($store:expr, |$conn:ident| $work:expr) => {
        $crate::retry::on_contention(|| async move {
            let _turn = $store.write_turn().await;
            let mut tx = $store.pool.begin().await?;
            let $conn: &mut sqlx::AnyConnection = &mut tx;
            let value = $work.await?;
            tx.commit().await?;
            Ok(value)
        })
        .await
    };
}
pub(crate) use in_transaction;
