//! A customer's credit history as they read it: one line per generation (its hold, charge and
//! refund rows summed into the amount it finally cost), one per purchase, voucher, grant or
//! other movement. The raw rows stay in `ledger` for the operator and the audit.
//!
//! A generation's line sits where its hold was written, so lines keep their order when a
//! refund arrives later, and a page is cut on row ids as the ledger's pages are.

use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::{GenerationId, Status};
use reelgate_domain::ledger::LedgerEntry;
use reelgate_domain::Credits;
use sqlx::Row;
use std::collections::HashMap;

use crate::ledger::entry_from_row;
use crate::{page, Store, StoreError};

/// A page of history lines, newest first, with where the balance stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub lines: Vec<HistoryLine>,
    pub next_cursor: Option<String>,
    pub balance: Credits,
    pub held: Credits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    /// The movement itself, or a generation's hold (its first row).
    pub entry: LedgerEntry,
    /// What the line comes to: the movement's amount, or the sum of a generation's rows
    /// (−price once charged or while held, 0 once refunded).
    pub amount: Credits,
    pub generation: Option<GenerationLine>,
}

/// What the customer recognises a generation by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationLine {
    pub id: GenerationId,
    pub model: String,
    pub prompt: Option<String>,
    pub status: Status,
}

impl Store {
    pub async fn history_page(
        &self,
        user: &UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        let before = match cursor {
            Some(c) => page::decode("history", c)?
                .parse::<i64>()
                .map_err(|_| StoreError::InvalidCursor)?,
            None => i64::MAX,
        };
        let mut conn = self.pool.acquire().await?;
        let owner = crate::accounts::user_on(&mut conn, user).await?;
        let rows = sqlx::query(
            "SELECT id, user_id, kind, amount, reason, actor, generation_id, payment_id, debt,
                    created_at
             FROM ledger_entries
             WHERE user_id = $1 AND id < $2 AND (generation_id IS NULL OR kind = 'hold')
             ORDER BY id DESC LIMIT $3",
        )
        .bind(user.as_str())
        .bind(before)
        .bind(page::fetch_size(limit))
        .fetch_all(&mut *conn)
        .await?;
        let anchors = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let anchors = page::finish(anchors, limit, |e| e.id.to_string(), "history");
        let ids: Vec<&str> = anchors
            .items
            .iter()
            .filter_map(|e| e.generation_id.as_ref().map(GenerationId::as_str))
            .collect();
        let generations = generations(&mut conn, user, &ids).await?;
        let lines = anchors
            .items
            .into_iter()
            .map(|entry| {
                let found = entry
                    .generation_id
                    .as_ref()
                    .and_then(|id| generations.get(id));
                match found {
                    Some((line, total)) => HistoryLine {
                        amount: *total,
                        generation: Some(line.clone()),
                        entry,
                    },
                    None => HistoryLine {
                        amount: entry.amount,
                        generation: None,
                        entry,
                    },
                }
            })
            .collect();
        Ok(HistoryPage {
            lines,
            next_cursor: anchors.next_cursor,
            balance: owner.balance,
            held: owner.held,
        })
    }
}

/// The page's generations with the sum of each one's rows: two queries for the whole page.
async fn generations(
    conn: &mut sqlx::AnyConnection,
    user: &UserId,
    ids: &[&str],
) -> Result<HashMap<GenerationId, (GenerationLine, Credits)>, StoreError> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = (0..ids.len())
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("generations", e);

    let sql = format!(
        "SELECT id, model, params, status FROM generations WHERE user_id = $1 AND id IN ({list})"
    );
    let mut query = sqlx::query(&sql).bind(user.as_str());
    for id in ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let id: GenerationId = row
            .try_get::<String, _>("id")?
            .parse()
            .map_err(|e| corrupt(&e))?;
        let params: serde_json::Value =
            serde_json::from_str(&row.try_get::<String, _>("params")?).map_err(|e| corrupt(&e))?;
        let line = GenerationLine {
            id: id.clone(),
            model: row.try_get("model")?,
            prompt: params
                .get("prompt")
                .and_then(|p| p.as_str())
                .map(str::to_owned),
            status: row
                .try_get::<String, _>("status")?
                .parse()
                .map_err(|e| corrupt(&e))?,
        };
        out.insert(id, (line, Credits::new(0)));
    }

    // Summed here rather than in SQL: PostgreSQL's SUM of BIGINT is NUMERIC, which the
    // `Any` driver does not decode.
    let sql = format!(
        "SELECT generation_id, amount FROM ledger_entries
         WHERE user_id = $1 AND generation_id IN ({list})"
    );
    let mut query = sqlx::query(&sql).bind(user.as_str());
    for id in ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let id: GenerationId = row
            .try_get::<String, _>("generation_id")?
            .parse()
            .map_err(|e| StoreError::corrupt("ledger_entries", &e))?;
        if let Some((_, total)) = out.get_mut(&id) {
            *total = Credits::new(total.get() + row.try_get::<i64, _>("amount")?);
        }
    }
    Ok(out)
}
