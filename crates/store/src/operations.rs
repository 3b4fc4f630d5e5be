//! What an operator asks of the database itself: is it there, a copy of it, and the figures
//! that monitoring scrapes.

use std::path::Path;

use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// Generations of one model in one status, and the credits they hold or moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationTally {
    pub model: String,
    pub status: String,
    pub count: i64,
    pub credits: i64,
}

/// Database-wide figures: the same whichever instance reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub generations: Vec<GenerationTally>,
    /// Queued generations not yet sent upstream.
    pub queue_depth: i64,
    /// Sent upstream and not yet finished (or answer unknown).
    pub in_flight: i64,
    /// Webhook deliveries by state: `pending`, `delivered`, `gave_up`.
    pub webhook_deliveries: Vec<(String, i64)>,
}

impl Store {
    /// One round trip, to tell whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `to` while it is in use (`VACUUM
    /// INTO` reads one snapshot). `to` must not exist yet. PostgreSQL has its own tools.
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported(
                "backup copies SQLite databases; use pg_dump for PostgreSQL",
            ));
        }
        if to.exists() {
            return Err(StoreError::BackupTargetExists(to.display().to_string()));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(to.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn figures(&self) -> Result<Figures, StoreError> {
        let rows = sqlx::query(
            "SELECT model, status, COUNT(*) AS n, CAST(COALESCE(SUM(credits), 0) AS BIGINT) AS credits
             FROM generations GROUP BY model, status ORDER BY model, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let generations = rows
            .iter()
            .map(|row| {
                Ok(GenerationTally {
                    model: row.try_get("model")?,
                    status: row.try_get("status")?,
                    count: row.try_get("n")?,
                    credits: row.try_get("credits")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let queue = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN dispatch = 'waiting' THEN 1 ELSE 0 END), 0) AS BIGINT) AS waiting,
                    CAST(COALESCE(SUM(CASE WHEN dispatch <> 'waiting' THEN 1 ELSE 0 END), 0) AS BIGINT) AS sent
             FROM generations WHERE status = 'queued'",
        )
        .fetch_one(&self.pool)
        .await?;
        let running: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM generations WHERE status = 'running'")
                .fetch_one(&self.pool)
                .await?;
        let deliveries = sqlx::query(
            "SELECT CASE WHEN delivered_at IS NOT NULL THEN 'delivered'
                         WHEN gave_up_at IS NOT NULL THEN 'gave_up'
                         ELSE 'pending' END AS state,
                    COUNT(*) AS n
             FROM webhook_deliveries GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let webhook_deliveries = deliveries
            .iter()
            .map(|row| Ok((row.try_get("state")?, row.try_get("n")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Figures {
            generations,
            queue_depth: queue.try_get("waiting")?,
            in_flight: running + queue.try_get::<i64, _>("sent")?,
            webhook_deliveries,
        })
    }
}
