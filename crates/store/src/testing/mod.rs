//! Fresh, isolated, migrated stores for tests, in this crate and in others.
//!
//! Each SQLite store is a new file in the temp directory; each PostgreSQL store is a new schema
//! on the server named by `REELGATE_TEST_POSTGRES_URL`, or else on a temporary server of this
//! process's own ([`postgres_server`]), so tests run in parallel. Both are removed when the
//! [`TestStore`] is dropped, even if the test panicked.

use std::ops::Deref;
use std::path::PathBuf;

use sqlx::{Connection, Executor};

use crate::{DatabaseUrl, PoolSettings, Store, StoreError};

mod postgres_server;
mod tools;

pub use tools::{python_tool, workspace_root};

/// The PostgreSQL server tests use: `REELGATE_TEST_POSTGRES_URL`, or else a temporary server
/// started for this process on first use and gone when it ends.
///
/// # Panics
/// When no temporary server can be started; the message says why and what to install.
pub fn test_postgres_url() -> String {
    match std::env::var("REELGATE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => postgres_server::url().to_owned(),
    }
}

/// A migrated store that deletes its database when dropped. Derefs to [`Store`].
#[derive(Debug)]
pub struct TestStore {
    store: Store,
    url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Files(PathBuf),
    Schema { server_url: String, schema: String },
}

impl TestStore {
    /// The URL of this store's database, e.g. to start the app on it.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

fn unique_name() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

fn test_pool() -> PoolSettings {
    PoolSettings {
        max_connections: 8,
        ..PoolSettings::default()
    }
}

/// A new SQLite database file, migrated.
pub async fn sqlite_store() -> Result<TestStore, StoreError> {
    let test = empty_sqlite_store().await?;
    test.migrate().await?;
    Ok(test)
}

/// A new PostgreSQL schema, migrated.
pub async fn postgres_store() -> Result<TestStore, StoreError> {
    let test = empty_postgres_store().await?;
    test.migrate().await?;
    Ok(test)
}

/// A new SQLite database file with no tables yet.
pub async fn empty_sqlite_store() -> Result<TestStore, StoreError> {
    let path = std::env::temp_dir()
        .join("reelgate-tests")
        .join(format!("{}.db", unique_name()));
    let url = DatabaseUrl::sqlite(&path);
    let store = Store::connect_with(&url, &test_pool()).await?;
    Ok(TestStore {
        store,
        url,
        cleanup: Cleanup::Files(path),
    })
}

/// A new, empty schema on the test PostgreSQL server.
pub async fn empty_postgres_store() -> Result<TestStore, StoreError> {
    sqlx::any::install_default_drivers();
    // The first call may start a server and wait for it: off the runtime's threads.
    let server_url = tokio::task::spawn_blocking(test_postgres_url)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let schema = format!("test_{}", unique_name());
    let mut admin = sqlx::AnyConnection::connect(&server_url).await?;
    admin
        .execute(&*format!("CREATE SCHEMA \"{schema}\""))
        .await?;
    admin.close().await?;

    // Every pooled connection starts with the schema first on its search path.
    let separator = if server_url.contains('?') { '&' } else { '?' };
    let url = DatabaseUrl::parse(&format!(
        "{server_url}{separator}options[search_path]={schema}"
    ))?;
    let cleanup = Cleanup::Schema { server_url, schema };
    let store = match Store::connect_with(&url, &test_pool()).await {
        Ok(store) => store,
        Err(e) => {
            drop_now(&cleanup);
            return Err(e);
        }
    };
    Ok(TestStore {
        store,
        url,
        cleanup,
    })
}

impl Drop for TestStore {
    fn drop(&mut self) {
        drop_now(&self.cleanup);
    }
}

fn drop_now(cleanup: &Cleanup) {
    match cleanup {
        Cleanup::Files(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                // Missing files (no WAL yet) are fine; anything else just leaves a temp file.
                let _ = std::fs::remove_file(file);
            }
        }
        Cleanup::Schema { server_url, schema } => {
            // Drop cannot await, and may run inside the test's runtime: do it on a thread
            // with a runtime of its own.
            let server_url = server_url.clone();
            let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let mut conn = sqlx::AnyConnection::connect(&server_url).await?;
                    conn.execute(&*sql).await?;
                    conn.close().await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                tracing::warn!(%schema, "could not drop test schema");
            }
        }
    }
}

/// Moves a generation's times, so that reports over past days can be tested.
pub async fn set_generation_times(
    store: &Store,
    id: &reelgate_domain::generations::GenerationId,
    dispatched_at: Option<chrono::DateTime<chrono::Utc>>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE generations SET dispatched_at = COALESCE($1, dispatched_at),
             finished_at = COALESCE($2, finished_at)
         WHERE id = $3",
    )
    .bind(dispatched_at.map(|at| at.timestamp_millis()))
    .bind(finished_at.map(|at| at.timestamp_millis()))
    .bind(id.as_str())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Makes a payment `by` older than it is and due for the expiry worker's check now, so that
/// expiry can be tested without waiting for it.
pub async fn age_payment(
    store: &Store,
    id: &reelgate_domain::payments::PaymentId,
    by: std::time::Duration,
) -> Result<(), StoreError> {
    let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
    sqlx::query("UPDATE payments SET created_at = created_at - $1, check_at = 0 WHERE id = $2")
        .bind(by)
        .bind(id.as_str())
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Applies the migrations up to `version` only: the schema an older build left behind.
pub async fn migrate_to(store: &Store, version: i64) -> Result<Vec<i64>, StoreError> {
    crate::migrate::run_up_to(store.pool(), store.backend(), version).await
}
