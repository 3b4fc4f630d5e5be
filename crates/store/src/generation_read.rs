//! Reading one generation the way its owner is shown it: the row and its videos' copies in
//! one query, a primary-key lookup joined to the copies' `(generation_id, idx)` index.

use std::sync::LazyLock;

use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_domain::media::MediaCopy;
use sqlx::Row;

use crate::generations::{generation_from_row, GENERATION_COLUMNS};
use crate::media::{copy_from_row, COLUMNS as COPY_COLUMNS};
use crate::{Store, StoreError};

/// The copies' columns come back as `m_…`, apart from the generation's own `id`, `user_id`…
const COPY_PREFIX: &str = "m_";

static SQL: LazyLock<String> = LazyLock::new(|| {
    // Named explicitly: SQLite does not promise a joined column's name otherwise.
    let columns = |alias: &str, prefix: &str, list: &str| -> String {
        list.split(',')
            .map(str::trim)
            .map(|c| format!("{alias}.{c} AS {prefix}{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT {}, {} FROM generations g
         LEFT JOIN media_copies m ON m.generation_id = g.id
         WHERE g.id = $1 AND g.user_id = $2
         ORDER BY m.idx",
        columns("g", "", GENERATION_COLUMNS),
        columns("m", COPY_PREFIX, COPY_COLUMNS),
    )
});

impl Store {
    /// One of `user`'s generations with the copies of its videos, if it exists and is theirs.
    pub async fn generation_with_media_of(
        &self,
        user: &UserId,
        id: &GenerationId,
    ) -> Result<Option<(Generation, Vec<MediaCopy>)>, StoreError> {
        let rows = sqlx::query(SQL.as_str())
            .bind(id.as_str())
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let generation = generation_from_row(first)?;
        let mut copies = Vec::new();
        for row in &rows {
            let joined: Option<String> = row.try_get("m_generation_id")?;
            if joined.is_some() {
                copies.push(copy_from_row(row, COPY_PREFIX)?);
            }
        }
        Ok(Some((generation, copies)))
    }
}
