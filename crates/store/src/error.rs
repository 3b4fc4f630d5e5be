use reelgate_domain::generations::GenerationId;
use reelgate_domain::Credits;

/// Everything the store can refuse or fail at. Business refusals (not enough credits, a used-up
/// voucher) are variants of their own so callers can map them to the right HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite:// or postgres:// (got {0:?})")]
    InvalidDatabaseUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("migration {version} was changed after it was applied to this database")]
    MigrationChanged { version: i64 },
    #[error("the database has migration {version}, newer than this build of reelgate knows")]
    DatabaseTooNew { version: i64 },

    #[error("no such user")]
    UserNotFound,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("no such API key")]
    ApiKeyNotFound,
    /// A mailed link that is unknown, used, expired, or whose account is gone.
    #[error("this link is not valid any more: it was used, it expired, or a newer one was sent")]
    InvalidToken,
    #[error("this account is closed")]
    AccountClosed,
    #[error("{0}")]
    AccountBusy(String),

    #[error("not enough credits: {needed} needed, {balance} available")]
    InsufficientCredits { balance: Credits, needed: Credits },
    #[error("this account owes {debt} credits from a refunded or disputed purchase; buy credits to pay the debt before generating")]
    InDebt { debt: Credits },
    #[error("no such credit package on sale")]
    PackageNotFound,
    #[error("no such payment")]
    PaymentNotFound,
    #[error("credit amount {0} is out of range")]
    InvalidAmount(Credits),
    #[error("generation {0} already has a hold")]
    DuplicateHold(GenerationId),
    #[error("generation {0} has no hold to settle")]
    NoHold(GenerationId),
    /// A per-customer limit refused a submission; nothing was held or stored.
    #[error("customer limit reached: {0:?}")]
    LimitReached(reelgate_domain::limits::Breach),
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyConflict,
    /// The process is shutting down: the submission may or may not have been committed.
    #[error("the submission writer stopped before answering")]
    WriterStopped,
    #[error("invalid pagination cursor")]
    InvalidCursor,

    #[error("no voucher with this code")]
    VoucherNotFound,
    #[error("this voucher has expired")]
    VoucherExpired,
    #[error("this voucher has been fully redeemed")]
    VoucherUsedUp,
    #[error("you have already redeemed this voucher")]
    VoucherAlreadyRedeemed,
    #[error("a voucher with this code already exists")]
    VoucherCodeTaken,
    #[error("invalid voucher: {0}")]
    InvalidVoucher(&'static str),

    /// A row in the database that our types cannot hold: a bug or a hand edit.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error("password hashing failed")]
    PasswordHash,
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("will not overwrite {0}: the backup target must not exist")]
    BackupTargetExists(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the connection that writes batches of submissions on SQLite (`sqlite_batch.rs`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            table,
            detail: detail.to_string(),
        }
    }

    /// Whether running the whole transaction again may succeed: SQLite lock contention that
    /// outlasted busy_timeout, or a PostgreSQL serialization failure or deadlock. In each case
    /// the database rolled the transaction back, so nothing happened.
    pub(crate) fn is_retryable(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        let Some(code) = e.code() else {
            return false;
        };
        if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
            // SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes (e.g. 517 BUSY_SNAPSHOT).
            let primary = code.parse::<i64>().map(|c| c & 0xff);
            matches!(primary, Ok(5) | Ok(6))
        } else {
            matches!(&*code, "40001" | "40P01")
        }
    }
}

/// What kind of failure a [`StoreError`] is: the one classification both front ends (and the
/// application layer) answer by, so a database outage is the same 503 everywhere and a new
/// variant cannot fall through to a 500 by being forgotten in one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// What was asked for does not exist (or is not the caller's to see).
    NotFound,
    /// The request clashes with what is stored: a taken address, a used-up voucher, an
    /// `Idempotency-Key` reused with another body, an account with work in flight.
    Conflict,
    /// A rule refuses this request as it stands: not enough credits, a limit, a wrong
    /// password, an expired link, a value out of range. Nothing was changed.
    Refused,
    /// The database cannot be used for now (unreachable, out of connections, shutting down,
    /// out of disk); the same request may succeed later. Nothing was changed.
    Unavailable,
    /// A bug, a corrupt row or a misconfiguration: nothing the caller can do about it.
    Bug,
}

impl StoreError {
    /// Which [`ErrorKind`] this is. Exhaustive on purpose: a new variant must be classified.
    pub fn kind(&self) -> ErrorKind {
        use StoreError as E;
        match self {
            E::UserNotFound
            | E::ApiKeyNotFound
            | E::PackageNotFound
            | E::PaymentNotFound
            | E::VoucherNotFound => ErrorKind::NotFound,
            E::EmailTaken
            | E::AccountBusy(_)
            | E::IdempotencyConflict
            | E::VoucherUsedUp
            | E::VoucherAlreadyRedeemed
            | E::VoucherCodeTaken => ErrorKind::Conflict,
            E::InvalidCredentials
            | E::AccountDisabled
            | E::InvalidToken
            | E::AccountClosed
            | E::InsufficientCredits { .. }
            | E::InDebt { .. }
            | E::InvalidAmount(_)
            | E::LimitReached(_)
            | E::InvalidCursor
            | E::VoucherExpired
            | E::InvalidVoucher(_)
            | E::Unsupported(_)
            | E::BackupTargetExists(_) => ErrorKind::Refused,
            // The process is stopping: another instance (or this one, restarted) will answer.
            E::WriterStopped => ErrorKind::Unavailable,
            E::Database(_) if self.is_unavailable() => ErrorKind::Unavailable,
            // Only opening the batch connection can surface one: the file cannot be used.
            E::Sqlite(_) => ErrorKind::Unavailable,
            E::InvalidDatabaseUrl(_)
            | E::CreateDataDir { .. }
            | E::MigrationChanged { .. }
            | E::DatabaseTooNew { .. }
            | E::DuplicateHold(_)
            | E::NoHold(_)
            | E::Corrupt { .. }
            | E::PasswordHash
            | E::Database(_) => ErrorKind::Bug,
        }
    }
}

impl StoreError {
    /// Whether the database could not be used at all for now — unreachable, out of
    /// connections, shutting down, or out of disk space — rather than refusing this request.
    /// Such failures pass by themselves when the database comes back: callers answer 503.
    pub(crate) fn is_unavailable(&self) -> bool {
        let StoreError::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(e) => {
                let Some(code) = e.code() else {
                    return false;
                };
                if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLITE_READONLY (8), SQLITE_IOERR (10), SQLITE_FULL (13), SQLITE_CANTOPEN
                    // (14), and their extended codes.
                    let primary = code.parse::<i64>().map(|c| c & 0xff);
                    matches!(primary, Ok(8 | 10 | 13 | 14))
                } else {
                    // Class 08 connection exceptions, 53 insufficient resources (disk full,
                    // out of memory, too many connections), 57P0x the server shutting down,
                    // 3D000 the database itself gone (dropped, or renamed for a restore):
                    // only a new connection can meet it, and the store was open before.
                    code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P0")
                        || code == "3D000"
                }
            }
            _ => false,
        }
    }
}

/// Whether a database error is a unique-constraint violation (same on both backends).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_unavailable_and_a_bad_query_a_bug() {
        for outage in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            assert_eq!(StoreError::from(outage).kind(), ErrorKind::Unavailable);
        }
        assert_eq!(StoreError::WriterStopped.kind(), ErrorKind::Unavailable);
        for bug in [
            StoreError::Database(sqlx::Error::RowNotFound),
            StoreError::Database(sqlx::Error::ColumnNotFound("credits".into())),
            StoreError::corrupt("generations", "status 'lost'"),
            StoreError::NoHold(GenerationId::new()),
        ] {
            assert_eq!(bug.kind(), ErrorKind::Bug, "{bug}");
        }
    }

    #[test]
    fn refusals_are_the_callers_to_fix() {
        assert_eq!(StoreError::UserNotFound.kind(), ErrorKind::NotFound);
        assert_eq!(StoreError::VoucherNotFound.kind(), ErrorKind::NotFound);
        assert_eq!(StoreError::EmailTaken.kind(), ErrorKind::Conflict);
        assert_eq!(StoreError::IdempotencyConflict.kind(), ErrorKind::Conflict);
        let short = StoreError::InsufficientCredits {
            balance: Credits::new(1),
            needed: Credits::new(2),
        };
        assert_eq!(short.kind(), ErrorKind::Refused);
        assert_eq!(StoreError::InvalidCredentials.kind(), ErrorKind::Refused);
        assert_eq!(StoreError::VoucherExpired.kind(), ErrorKind::Refused);
    }
}
