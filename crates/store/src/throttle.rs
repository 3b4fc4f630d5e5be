//! Throttles on guessable things (passwords, reset tokens, verification codes): at most
//! `limit` attempts per subject per window, counted in the database.
//!
//! An attempt is *reserved* before it is made, in one transaction that counts the subject's
//! attempts and adds one only if there is room, so requests sent all at once cannot all pass
//! one check (checking first and recording the failure after let 99 of 100 concurrent guesses
//! through). On PostgreSQL a lock named after the subject, held until commit, makes reservers
//! on every instance take turns; on SQLite the transaction's first statement is a write, which
//! serialises them. Times are the database server's, so instances' clocks need not agree.
//!
//! Subjects are stored as SHA-256 digests: the table never holds an email or an address.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::retry::in_transaction;
use crate::{Store, StoreError};

/// One throttle: at most `limit` attempts per subject within `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLimit {
    /// Which throttle this is (`sign_in`, `password_reset`, …); subjects are counted per name.
    pub name: &'static str,
    pub limit: u32,
    pub window: Duration,
}

/// A reserved attempt, to be [`forgiven`](Store::forgive_attempt) if it was never made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptId(i64);

/// What [`Store::reserve_attempt`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead: the attempt counts for one window from now unless forgiven or cleared.
    Reserved(AttemptId),
    /// The subject has used up its attempts; the oldest stops counting in `retry_after`.
    Refused { retry_after: Duration },
}

/// One in this many reservations also sweeps every subject's expired rows, so subjects that
/// are never tried again do not stay in the table for ever.
const SWEEP_ONE_IN: u8 = 64;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn digest(limit: &AttemptLimit, subject: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(limit.name.as_bytes());
    hash.update([0]);
    hash.update(subject.as_bytes());
    hex::encode(hash.finalize())
}

impl Store {
    /// Reserves one attempt of `subject` under `limit`, or says how long until one is free.
    pub async fn reserve_attempt(
        &self,
        limit: &AttemptLimit,
        subject: &str,
    ) -> Result<Attempt, StoreError> {
        let subject = digest(limit, subject);
        let now = self.backend.now_millis_sql();
        let sweep = rand::random::<u8>().is_multiple_of(SWEEP_ONE_IN);
        let subject = &subject;
        in_transaction!(self, |conn| async {
            // On PostgreSQL the lock that makes every instance's reservations of this subject
            // take turns; on SQLite a write first, which takes the database's write lock.
            if let Some(lock) = self.backend.named_lock() {
                sqlx::query(lock)
                    .bind(subject)
                    .fetch_one(&mut *conn)
                    .await?;
            }
            sqlx::query(&format!(
                "DELETE FROM throttle_attempts
                 WHERE throttle = $1 AND subject = $2 AND counts_until <= {now}"
            ))
            .bind(limit.name)
            .bind(subject)
            .execute(&mut *conn)
            .await?;
            if sweep {
                sqlx::query(&format!(
                    "DELETE FROM throttle_attempts WHERE counts_until <= {now}"
                ))
                .execute(&mut *conn)
                .await?;
            }
            let row = sqlx::query(&format!(
                "SELECT COUNT(*) AS used, MIN(counts_until) AS first_end, {now} AS now
                 FROM throttle_attempts
                 WHERE throttle = $1 AND subject = $2 AND counts_until > {now}"
            ))
            .bind(limit.name)
            .bind(subject)
            .fetch_one(&mut *conn)
            .await?;
            let used: i64 = row.try_get("used")?;
            let now_ms: i64 = row.try_get("now")?;
            if used >= i64::from(limit.limit) {
                let first_end: Option<i64> = row.try_get("first_end")?;
                let wait = first_end.map_or(0, |end| end - now_ms);
                return Ok::<_, StoreError>(Attempt::Refused {
                    retry_after: Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
                });
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO throttle_attempts (throttle, subject, taken_at, counts_until)
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(limit.name)
            .bind(subject)
            .bind(now_ms)
            .bind(now_ms.saturating_add(millis(limit.window)))
            .fetch_one(&mut *conn)
            .await?;
            Ok(Attempt::Reserved(AttemptId(id)))
        })
    }

    /// The attempt was not made after all (the server failed before it could be): it does
    /// not count.
    pub async fn forgive_attempt(&self, attempt: AttemptId) -> Result<(), StoreError> {
        in_transaction!(self, |conn| async {
            sqlx::query("DELETE FROM throttle_attempts WHERE id = $1")
                .bind(attempt.0)
                .execute(&mut *conn)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// The subject proved itself (a correct password): its attempts so far stop counting.
    pub async fn clear_attempts(
        &self,
        limit: &AttemptLimit,
        subject: &str,
    ) -> Result<(), StoreError> {
        let subject = digest(limit, subject);
        let subject = &subject;
        in_transaction!(self, |conn| async {
            sqlx::query("DELETE FROM throttle_attempts WHERE throttle = $1 AND subject = $2")
                .bind(limit.name)
                .bind(subject)
                .execute(&mut *conn)
                .await?;
            Ok::<_, StoreError>(())
        })
    }
}
