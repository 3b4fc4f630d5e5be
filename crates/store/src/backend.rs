//! The two databases reelgate runs on, and the little that differs between them.
//!
//! All queries go through sqlx's `Any` driver with `$1`-style placeholders, which SQLite accepts
//! too, so one set of SQL serves both. What differs is the schema files and how a connection
//! is set up.

use crate::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// A query for `n`, 1 if the migrations table exists in the current schema, else 0.
    pub(crate) fn migrations_table_exists(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master
                 WHERE type = 'table' AND name = 'schema_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            }
        }
    }

    /// Appended to a claim's inner SELECT: on PostgreSQL, concurrent claimers (other workers,
    /// other instances) skip rows another claim has locked instead of queueing behind it and
    /// then finding them taken. SQLite has one writer at a time and no such clause.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// The database server's clock in milliseconds since the epoch, as an SQL expression.
    /// Instances share a window of times only if they read one clock: the server's.
    pub(crate) fn now_millis_sql(self) -> &'static str {
        match self {
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Backend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
        }
    }

    /// A query (binding the lock's name as `$1`) that makes transactions take turns until
    /// they end. SQLite needs none: a transaction's first write already serialises it.
    pub(crate) fn named_lock(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => {
                Some("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l")
            }
        }
    }

    /// A statement that makes concurrent migrations take turns until the transaction ends.
    pub(crate) fn migration_lock(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            // The key is "reelgate" in ASCII. DO, because the Any driver cannot read the void
            // that `SELECT pg_advisory_xact_lock(…)` returns.
            Backend::Postgres => {
                Some("DO $$ BEGIN PERFORM pg_advisory_xact_lock(8243106209236874341); END $$")
            }
        }
    }
}

/// Where the database is, as configured by `REELGATE_DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file, created with its directory on first start.
    Sqlite { path: PathBuf },
    /// A PostgreSQL connection URL, passed to the driver as given.
    Postgres { url: String },
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, StoreError> {
        let raw = raw.trim();
        if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            if path.is_empty() || path.contains('?') || path == ":memory:" {
                return Err(StoreError::InvalidDatabaseUrl(raw.to_owned()));
            }
            return Ok(DatabaseUrl::Sqlite {
                path: PathBuf::from(path),
            });
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|_| StoreError::InvalidDatabaseUrl(redact(raw)))?;
            return Ok(DatabaseUrl::Postgres {
                url: raw.to_owned(),
            });
        }
        Err(StoreError::InvalidDatabaseUrl(redact(raw)))
    }

    pub fn sqlite(path: impl Into<PathBuf>) -> DatabaseUrl {
        DatabaseUrl::Sqlite { path: path.into() }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite { .. } => Backend::Sqlite,
            DatabaseUrl::Postgres { .. } => Backend::Postgres,
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<DatabaseUrl, StoreError> {
        DatabaseUrl::parse(s)
    }
}

/// Shows the URL without its password, so it can go in logs and errors.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres { url } => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            // Only fails for URLs that cannot have a password, and this one has one.
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

/// How long a SQLite writer waits for another (this process's or the admin CLI's) to finish.
pub(crate) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl PoolSettings {
    /// What `Store::connect` uses for `backend`. PostgreSQL gets more connections: each of
    /// its transactions holds one through a commit that waits for the server's fsync, and a
    /// burst (64 clients submitting, 10,000 callbacks, the workers) kept 10 so busy that
    /// requests waited out the acquire timeout and were answered 503; in-flight commits are
    /// also what PostgreSQL flushes together. SQLite has one writer whatever the pool, and
    /// every extra connection is another page cache to warm.
    pub fn for_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => PoolSettings::default(),
            Backend::Postgres => PoolSettings {
                max_connections: 32,
                ..PoolSettings::default()
            },
        }
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 10,
            // Well under the HTTP request timeout (30 s): a database that cannot be reached
            // makes requests fail promptly with 503, not hang until the client gives up.
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

pub(crate) async fn connect(
    url: &DatabaseUrl,
    settings: &PoolSettings,
) -> Result<AnyPool, StoreError> {
    sqlx::any::install_default_drivers();
    let options = pool_options(settings);
    match url {
        DatabaseUrl::Sqlite { path } => {
            create_parent_dir(path)?;
            let connect: AnyConnectOptions = sqlite_driver_url(path).parse()?;
            let pool = options
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // synchronous = NORMAL in WAL mode: a commit is written to the WAL
                        // but not fsynced; the WAL is synced at checkpoints. A committed
                        // transaction survives the process being killed (even -9); a power
                        // cut or kernel crash may lose the last moments. With FULL every
                        // commit waited for an fsync, which capped submissions at a few
                        // hundred per second on ordinary disks.
                        let pragmas = format!(
                            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
                             PRAGMA synchronous = NORMAL;",
                            SQLITE_BUSY_TIMEOUT.as_millis()
                        );
                        conn.execute(&*pragmas).await.map(|_| ())
                    })
                })
                .connect_with(connect)
                .await?;
            // WAL lets readers (the web app) go on while the admin CLI writes. The mode is stored
            // in the file, so setting it once per start is enough.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_optional(&pool)
                .await?;
            Ok(pool)
        }
        DatabaseUrl::Postgres { url } => {
            let connect: AnyConnectOptions = url.parse()?;
            Ok(options.connect_with(connect).await?)
        }
    }
}

fn pool_options(settings: &PoolSettings) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
}

fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDataDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// The driver percent-decodes the path and reads options after `?`; `mode=rwc` creates the file.
fn sqlite_driver_url(path: &Path) -> String {
    let mut encoded = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            ' ' => encoded.push_str("%20"),
            c => encoded.push(c),
        }
    }
    format!("sqlite://{encoded}?mode=rwc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_url_is_a_relative_sqlite_file() {
        let url = DatabaseUrl::parse("sqlite://data/reelgate.db").unwrap();
        assert_eq!(url, DatabaseUrl::sqlite("data/reelgate.db"));
        assert_eq!(url.backend(), Backend::Sqlite);
    }

    #[test]
    fn absolute_sqlite_paths_keep_their_root() {
        let url = DatabaseUrl::parse("sqlite:///var/lib/reelgate/db.sqlite").unwrap();
        assert_eq!(url, DatabaseUrl::sqlite("/var/lib/reelgate/db.sqlite"));
    }

    #[test]
    fn postgres_urls_never_print_their_password() {
        let url = DatabaseUrl::parse("postgres://app:hunter2@db.internal/reelgate").unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert!(!url.to_string().contains("hunter2"));
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_secrets() {
        let err = DatabaseUrl::parse("mysql://root:hunter2@localhost/x").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }
}
