//! What operators look at across all customers: generations filtered by status, model and
//! customer, and how many are in each state.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::{Generation, Status};
use sqlx::Row;

use crate::generations::{generation_from_row, GENERATION_COLUMNS};
use crate::time::to_millis;
use crate::{page, Page, Store, StoreError};

/// Which generations an operator wants to see; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerationFilter {
    pub status: Option<Status>,
    pub model: Option<String>,
    pub user: Option<UserId>,
    /// Only those with Kie's own words about a failure.
    pub with_upstream_error: bool,
}

impl Store {
    /// All customers' generations matching `filter`, newest first.
    pub async fn find_generations(
        &self,
        filter: &GenerationFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Generation>, StoreError> {
        let after = cursor.map(|c| page::decode("generations", c)).transpose()?;
        let rows = sqlx::query(&format!(
            "SELECT {GENERATION_COLUMNS} FROM generations
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR model = $2)
               AND ($3 IS NULL OR user_id = $3) AND ($4 = 0 OR upstream_error IS NOT NULL)
               AND ($5 IS NULL OR id < $5)
             ORDER BY id DESC LIMIT $6"
        ))
        .bind(filter.status.map(Status::as_str))
        .bind(filter.model.as_deref())
        .bind(filter.user.as_ref().map(UserId::as_str))
        .bind(i64::from(filter.with_upstream_error))
        .bind(after)
        .bind(page::fetch_size(limit))
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(generation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page::finish(
            items,
            limit,
            |g| g.id.to_string(),
            "generations",
        ))
    }

    /// How many generations are in each state, of those created since `since` (all when
    /// `None`). Every state is listed, with zero when there are none.
    pub async fn count_generations(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(Status, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM generations
             WHERE ($1 IS NULL OR created_at >= $1) GROUP BY status",
        )
        .bind(since.map(to_millis))
        .fetch_all(&self.pool)
        .await?;
        let mut counts: Vec<(Status, u64)> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        for row in rows {
            let status: Status = row
                .try_get::<String, _>("status")?
                .parse()
                .map_err(|e| StoreError::corrupt("generations", e))?;
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == status) {
                entry.1 = n;
            }
        }
        Ok(counts)
    }

    /// Whether any operator account exists (a fresh installation has none).
    pub async fn has_admin(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}
