//! Versioned schema migrations, one file per version per backend, embedded in the binary.
//!
//! Each migration runs in its own transaction whose first statement claims its version in
//! `schema_migrations`. Two processes migrating at once (say `serve` and `reelgate migrate`)
//! therefore apply each version exactly once: the second one waits on the first's claim and
//! then finds the version taken.

use crate::{Backend, StoreError};
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")),
        }),*]
    };
}

const SQLITE: &[Migration] = migrations!("sqlite":
    1 "0001_accounts_and_ledger",
    2 "0002_generations",
    3 "0003_upstream_rate_slots",
    4 "0004_business",
    5 "0005_dispatch_index",
    8 "0008_payments",
    9 "0009_mail",
    10 "0010_fair_dispatch",
    11 "0011_attempt_throttle",
    12 "0012_webhook_events",
    13 "0013_upstream_keys",
    14 "0014_key_balance_samples",
    15 "0015_model_pauses",
    16 "0016_operator_upstream_keys",
    17 "0017_cash",
);
const POSTGRES: &[Migration] = migrations!("postgres":
    1 "0001_accounts_and_ledger",
    2 "0002_generations",
    3 "0003_upstream_rate_slots",
    4 "0004_business",
    5 "0005_dispatch_index",
    8 "0008_payments",
    9 "0009_mail",
    10 "0010_fair_dispatch",
    11 "0011_attempt_throttle",
    12 "0012_webhook_events",
    13 "0013_upstream_keys",
    14 "0014_key_balance_samples",
    15 "0015_model_pauses",
    16 "0016_operator_upstream_keys",
    17 "0017_cash",
);

/// The versions this build knows for `backend`, oldest first.
pub fn known_versions(backend: Backend) -> Vec<i64> {
    migrations(backend).iter().map(|m| m.version).collect()
}

pub(crate) fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Applies the migrations this database lacks; returns the versions applied now.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<Vec<i64>, StoreError> {
    run_up_to(pool, backend, i64::MAX).await
}

/// As [`run`], stopping after version `last` (tests of upgrades start from an older schema).
pub(crate) async fn run_up_to(
    pool: &AnyPool,
    backend: Backend,
    last: i64,
) -> Result<Vec<i64>, StoreError> {
    // Checked first so that PostgreSQL does not log "already exists" on every start.
    let exists: i64 = sqlx::query(backend.migrations_table_exists())
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    if exists == 0 {
        crate::retry::on_contention(|| async {
            let mut tx = pool.begin().await?;
            lock(&mut tx, backend).await?;
            sqlx::query(CREATE_TABLE).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
        .await?;
    }

    let known = migrations(backend);
    let newest: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_migrations")
        .fetch_one(pool)
        .await?
        .try_get("v")?;
    let newest_known = known.last().map_or(0, |m| m.version);
    if let Some(version) = newest.filter(|v| *v > newest_known) {
        return Err(StoreError::DatabaseTooNew { version });
    }

    let mut applied = Vec::new();
    for migration in known.iter().take_while(|m| m.version <= last) {
        if crate::retry::on_contention(|| apply(pool, backend, migration)).await? {
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
            applied.push(migration.version);
        }
    }
    Ok(applied)
}

/// PostgreSQL runs concurrent DDL side by side, and two `CREATE TABLE IF NOT EXISTS` can
/// collide; an advisory lock held until commit makes migrating processes take turns. SQLite
/// needs nothing: its first write already serialises them.
async fn lock(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<(), StoreError> {
    if let Some(sql) = backend.migration_lock() {
        sqlx::raw_sql(sql).execute(conn).await?;
    }
    Ok(())
}

async fn apply(
    pool: &AnyPool,
    backend: Backend,
    migration: &Migration,
) -> Result<bool, StoreError> {
    let checksum = hex::encode(Sha256::digest(migration.sql.as_bytes()));
    let mut tx = pool.begin().await?;
    lock(&mut tx, backend).await?;
    let claimed = sqlx::query(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(migration.version)
    .bind(migration.name)
    .bind(&checksum)
    .bind(crate::time::now_millis())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        let stored: String =
            sqlx::query("SELECT checksum FROM schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_one(&mut *tx)
                .await?
                .try_get("checksum")?;
        tx.rollback().await?;
        if stored != checksum {
            return Err(StoreError::MigrationChanged {
                version: migration.version,
            });
        }
        return Ok(false);
    }
    sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions_in_increasing_order() {
        let versions = |b| {
            migrations(b)
                .iter()
                .map(|m| (m.version, m.name))
                .collect::<Vec<_>>()
        };
        assert_eq!(versions(Backend::Sqlite), versions(Backend::Postgres));
        // Gaps are allowed (versions are handed out to work landing in any order); the order
        // of application is not.
        let numbers: Vec<i64> = migrations(Backend::Sqlite)
            .iter()
            .map(|m| m.version)
            .collect();
        // Each issue owns a version number, so there may be gaps; never a repeat or a step back.
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert_eq!(numbers.first(), Some(&1));
    }
}
