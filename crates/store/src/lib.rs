//! reelgate persistence: accounts, sessions, API keys, the credit ledger and vouchers, on
//! SQLite (the default, one file) or PostgreSQL (several instances), with one set of SQL.
//!
//! Write transactions always begin with a write statement. SQLite then takes its write lock
//! first thing, where busy_timeout can wait for it, instead of failing when a read snapshot
//! tries to upgrade; that is what lets the admin CLI work while `serve` runs.

mod account_tokens;
mod accounts;
mod api_keys;
mod backend;
#[cfg(feature = "bulk")]
mod bulk;
mod cash;
mod claim;
mod closing;
mod create_limiter;
mod error;
mod generation_read;
mod generations;
mod group_commit;
mod guards;
pub mod history;
mod key_cache;
pub mod ledger;
mod limits;
pub mod mail;
mod media;
mod migrate;
mod model_pauses;
mod operations;
mod oversight;
mod packages;
mod page;
mod passwords;
mod payment_settle;
mod payments;
mod preferences;
mod queue_place;
mod rate_slots;
mod recovery;
mod reports;
mod retry;
mod secrets;
mod sessions;
mod sliding_window;
mod sqlite_batch;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod throttle;
mod time;
mod tracking;
mod upstream_keys;
mod verification;
mod vouchers;
mod webhook_backlog;
mod webhook_deliveries;
mod write_turns;

pub use accounts::NewUser;
pub use backend::{Backend, DatabaseUrl, PoolSettings};
#[cfg(feature = "bulk")]
pub use bulk::{BulkState, BulkTemplate};
pub use claim::Queue;
pub use closing::{AccountExport, Closed};
pub use create_limiter::{CreateLimiter, Slot, Slots};
pub use error::{ErrorKind, StoreError};
pub use generations::{Canceled, IdempotencyKey, NewGeneration, Outcome, Submitted};
pub use history::{GenerationLine, HistoryLine, HistoryPage};
pub use key_cache::{KEY_CACHE_CAPACITY, KEY_CACHE_TTL};
pub use ledger::{BalanceAudit, LedgerPage};
pub use limits::{CustomerLimits, LimitScope};
pub use mail::{NewMail, OutboxMail};
pub use media::MediaTrouble;
pub use migrate::known_versions;
pub use model_pauses::ModelPause;
pub use operations::{Figures, GenerationTally};
pub use oversight::GenerationFilter;
pub use packages::{NewPackage, PackageChange};
pub use page::{Page, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use payment_settle::{NewPaymentEvent, PaymentEvent, Settled};
pub use payments::PaymentFilter;
pub use preferences::MailPreferences;
pub use queue_place::{QueuePlaces, EXACT_PLACES_UP_TO, QUEUE_VIEW_TTL};
pub use rate_slots::{RateSlots, RateWindow};
pub use recovery::RESET_LINK_TTL;
pub use retry::on_contention;
pub use sessions::SessionInfo;
pub use sliding_window::{RateLimit, SlidingWindow};
pub use sqlx::{AnyConnection, AnyPool, Transaction};
pub use throttle::{Attempt, AttemptId, AttemptLimit};
pub use upstream_keys::{KeyDeletion, StoredUpstreamKey};
pub use verification::{Confirmed, CONFIRM_LINK_TTL};
pub use vouchers::NewVoucher;
pub use webhook_backlog::{FailingEndpoint, WebhookBacklog};
pub use webhook_deliveries::{DeliveryRecord, WebhookDelivery};

/// Every queue a worker claims from, for [`Store::claim`] and [`Store::next_due`].
pub mod queues {
    pub use crate::mail::MAIL;
    pub use crate::media::MEDIA_COPIES;
    pub use crate::payments::PENDING_PAYMENTS;
    pub use crate::tracking::{DISPATCH, HD, RUNNING, UNRESOLVED};
    pub use crate::webhook_deliveries::WEBHOOKS;
}

/// A handle on the database; cheap to clone (it is a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: sqlx::AnyPool,
    backend: Backend,
    /// SQLite only: this process's write transactions take turns here (`write_turns.rs`).
    write_turns: Option<std::sync::Arc<write_turns::WriteTurns>>,
    /// API keys recently seen valid, shared by every clone of this handle.
    keys: std::sync::Arc<key_cache::KeyCache>,
    /// SQLite only: where submissions wait to be written together (`group_commit.rs`).
    batcher: Option<std::sync::Arc<group_commit::Batcher>>,
    /// The long queue's order, for places past the exactly counted ones (`queue_place.rs`).
    queue_view: std::sync::Arc<queue_place::QueueView>,
}

impl Store {
    /// Connects to the database (creating a SQLite file and its directory if missing).
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
        Store::connect_with(url, &PoolSettings::for_backend(url.backend())).await
    }

    pub async fn connect_with(
        url: &DatabaseUrl,
        settings: &PoolSettings,
    ) -> Result<Store, StoreError> {
        let pool = backend::connect(url, settings).await?;
        let write_turns = match url.backend() {
            Backend::Sqlite => Some(std::sync::Arc::default()),
            Backend::Postgres => None,
        };
        Ok(Store {
            pool,
            backend: url.backend(),
            write_turns,
            keys: std::sync::Arc::new(key_cache::KeyCache::new(KEY_CACHE_TTL, KEY_CACHE_CAPACITY)),
            batcher: group_commit::for_database(url)?,
            queue_view: std::sync::Arc::default(),
        })
    }

    /// Waits for this process's turn to write (SQLite), held until the guard drops.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_turns {
            Some(turns) => Some(turns.take().await),
            None => None,
        }
    }

    /// The turn for a batch of new submissions: after every other writer waiting (SQLite).
    pub(crate) async fn submission_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_turns {
            Some(turns) => Some(turns.take_after_others().await),
            None => None,
        }
    }

    /// Applies pending schema migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        migrate::run(&self.pool, self.backend).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.pool
    }

    /// A transaction for composing store operations (e.g. inserting a generation and holding
    /// its price atomically). On SQLite its first statement must be a write; see the crate docs.
    pub async fn begin(&self) -> Result<Transaction<'static, sqlx::Any>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
