use reelgate_store::testing::{empty_postgres_store, empty_sqlite_store, TestStore};
use reelgate_store::{DatabaseUrl, Store, StoreError};
use sqlx::Row;

async fn migrations_apply_once(store: &TestStore) {
    let all = reelgate_store::known_versions(store.backend());
    assert_eq!(all.first(), Some(&1));
    assert_eq!(store.migrate().await.unwrap(), all);
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
}

/// `serve` and `reelgate migrate` may start together; each version is applied exactly once.
async fn concurrent_migrations_apply_each_version_once(store: &TestStore) {
    let other = Store::connect(store.url()).await.unwrap();
    let (a, b) = tokio::join!(store.migrate(), other.migrate());
    // The two may split the work between them, but together apply each version once.
    let mut applied: Vec<i64> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    applied.sort();
    assert_eq!(applied, reelgate_store::known_versions(store.backend()));
}

async fn a_changed_migration_is_refused(store: &TestStore) {
    store.migrate().await.unwrap();
    sqlx::query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(err, StoreError::MigrationChanged { version: 1 }),
        "{err:?}"
    );
}

async fn a_database_from_a_newer_build_is_refused(store: &TestStore) {
    store.migrate().await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 0)")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(err, StoreError::DatabaseTooNew { version: 999 }),
        "{err:?}"
    );
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test]
            async fn $test() { super::$test(&super::empty_sqlite_store().await.unwrap()).await }
        )* }
        mod postgres { $(
            #[tokio::test]
            async fn $test() { super::$test(&super::empty_postgres_store().await.unwrap()).await }
        )* }
    };
}

on_both_backends!(
    migrations_apply_once,
    concurrent_migrations_apply_each_version_once,
    a_changed_migration_is_refused,
    a_database_from_a_newer_build_is_refused,
);

#[tokio::test]
async fn first_start_creates_the_sqlite_file_and_its_directory_in_wal_mode() {
    let dir = std::env::temp_dir()
        .join("reelgate-tests")
        .join(format!("fresh-{}", std::process::id()))
        .join("nested");
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("reelgate.db");
    let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    assert!(path.exists());
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(mode, "wal");
    let foreign_keys: i64 = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(foreign_keys, 1);
    store.close().await;
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}
