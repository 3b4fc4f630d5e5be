//! A batch of submissions written by one blocking call on a connection of its own
//! (rusqlite), instead of statement by statement through sqlx's SQLite driver.
//!
//! sqlx runs each SQLite connection on a thread of its own and sends every statement there
//! and its answer back: two thread switches per statement, nine statements per submission.
//! Profiled, those switches were four tenths of the server's CPU while SQLite's own work was
//! 2 % (docs/PERFORMANCE.md). Here the whole batch — every submission's statements, their
//! savepoints and the commit — is one call on one blocking thread: two switches per batch.
//!
//! Only what a submission usually does is written here: the hold, the limits, the fair place
//! and the row, with the very SQL texts the ordinary path runs (`HOLD_DEBIT`, `APPEND`,
//! `SETTINGS`, `USAGE`, `TAKE_FAIR_PLACE`, `INSERT_GENERATION`). Anything
//! else — a balance too low, a debt, a repeated hold, the low-balance threshold crossed (which
//! mails), a constraint that fails — rolls the item back to its savepoint and hands it to the
//! ordinary path ([`Written::Alone`]), which says exactly why or does the rest. So there is one
//! place where each refusal is decided, and this file only ever does less.

use std::path::Path;
use std::sync::{Arc, Mutex};

use reelgate_domain::ledger::{Actor, EntryKind};
use reelgate_domain::limits::{self, Limits};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use crate::generations::{NewGeneration, NewRow, INSERT_GENERATION};
use crate::ledger::{APPEND, HOLD_DEBIT, MAX_BALANCE};
use crate::limits::{
    by_scope, settings_from, usage_from, usage_window, Admitted, SETTINGS, TAKE_FAIR_PLACE, USAGE,
};
use crate::time::{from_millis, now_millis};
use crate::StoreError;

/// One submission of a batch, as the ordinary path would write it.
pub(crate) struct Item {
    pub new: NewGeneration,
    pub now: i64,
    pub response: Option<String>,
}

/// What became of one item.
pub(crate) enum Written {
    /// Held and inserted; committed with the batch.
    Admitted(Admitted),
    /// A limit refused it; nothing of it was written.
    Refused(StoreError),
    /// Nothing of it was written: the ordinary path must write it (or refuse it, and say why).
    Alone,
}

/// The connection batches are written on, shared by the one writer task.
#[derive(Clone)]
pub(crate) struct SqliteBatch {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteBatch")
    }
}

impl SqliteBatch {
    /// Opens the database file sqlx already opened, with the same settings (`backend.rs`).
    pub(crate) fn open(path: &Path, busy_timeout: std::time::Duration) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(busy_timeout)?;
        // Each item's savepoint copies the pages it changes again into the sub-journal; in
        // memory, not a temporary file written page by page. A bigger page cache than the
        // default 2 MB keeps the indexes every insert walks from being read back from the OS.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;",
        )?;
        Ok(SqliteBatch {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Writes `items` in one transaction on a blocking thread. The caller holds the write
    /// turn. `Err` means nothing of the batch committed.
    pub(crate) async fn write(&self, items: Arc<[Item]>) -> Result<Vec<Written>, StoreError> {
        let conn = Arc::clone(&self.conn);
        let written = tokio::task::spawn_blocking(move || {
            // A panic mid-batch leaves the connection as it was; `write_all` rolls back any
            // transaction it finds open, so the poison says nothing worth refusing on.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            write_all(&mut conn, &items)
        })
        .await
        .map_err(|_| StoreError::WriterStopped)?;
        written.map_err(StoreError::from)
    }
}

fn write_all(conn: &mut Connection, items: &[Item]) -> rusqlite::Result<Vec<Written>> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let written = write_items(conn, items).and_then(|written| {
        conn.execute_batch("COMMIT")?;
        Ok(written)
    });
    if written.is_err() && !conn.is_autocommit() {
        // Nothing of the batch stands; every caller will write its own.
        let _ = conn.execute_batch("ROLLBACK");
    }
    written
}

fn write_items(conn: &Connection, items: &[Item]) -> rusqlite::Result<Vec<Written>> {
    let mut written = Vec::with_capacity(items.len());
    for item in items {
        conn.prepare_cached("SAVEPOINT submission")?.execute([])?;
        let outcome = match submit(conn, item) {
            Ok(outcome) => outcome,
            // The item's own fault (a unique or foreign key): the ordinary path reports it.
            Err(error) if is_constraint(&error) => Written::Alone,
            Err(error) => return Err(error),
        };
        if !matches!(outcome, Written::Admitted(_)) {
            conn.prepare_cached("ROLLBACK TO submission")?.execute([])?;
        }
        conn.prepare_cached("RELEASE submission")?.execute([])?;
        written.push(outcome);
    }
    Ok(written)
}

fn is_constraint(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// `generations::submit_in`, as far as the usual case goes.
fn submit(conn: &Connection, item: &Item) -> rusqlite::Result<Written> {
    let new = &item.new;
    let user = new.user_id.as_str();
    let price = new.credits;
    if price.get() < 0 || price > MAX_BALANCE {
        return Ok(Written::Alone);
    }
    let crossed: Option<i64> = conn
        .prepare_cached(HOLD_DEBIT)?
        .query_row(params![price.get(), user], |row| row.get("crossed"))
        .optional()?;
    // Refused (the ordinary path says why), or the threshold crossed (it mails too).
    if crossed != Some(0) {
        return Ok(Written::Alone);
    }
    conn.prepare_cached(APPEND)?.query_row(
        params![
            user,
            EntryKind::Hold.as_str(),
            (-price).get(),
            format!("generation {}", new.id),
            Actor::User(new.user_id.clone()).to_string(),
            new.id.as_str(),
            now_millis(),
        ],
        |_| Ok(()),
    )?;

    let Ok(limits) = limits_of(conn, user)? else {
        return Ok(Written::Alone);
    };
    let quota = if limits.any() {
        let Ok(now) = from_millis("generations", item.now) else {
            return Ok(Written::Alone);
        };
        let [minute_ago, day_start] = usage_window(now);
        let usage =
            conn.prepare_cached(USAGE)?
                .query_row(params![user, minute_ago, day_start], |row| {
                    Ok(usage_from(
                        now,
                        [row.get("active")?, row.get("last_minute")?],
                        row.get("oldest")?,
                        row.get("spent")?,
                    ))
                })?;
        let Ok(usage) = usage else {
            return Ok(Written::Alone);
        };
        match limits::admit(&limits, &usage, price) {
            Ok(quota) => quota,
            Err(breach) => return Ok(Written::Refused(StoreError::LimitReached(breach))),
        }
    } else {
        None
    };

    let fair_key = conn
        .prepare_cached(&TAKE_FAIR_PLACE)?
        .query_row(params![limits.weight.stride(), user], |row| {
            row.get("fair_last")
        })?;

    let row = NewRow::of(new, item.now, item.response.as_deref(), fair_key);
    conn.prepare_cached(INSERT_GENERATION)?.execute(params![
        row.id,
        row.user_id,
        row.model,
        row.params,
        row.upstream_request,
        row.credits,
        row.upstream_cost_usd,
        row.now,
        row.webhook_url,
        row.idempotency_key,
        row.request_hash,
        row.first_response,
        row.fair_key,
    ])?;
    Ok(Written::Admitted(Admitted { quota, fair_key }))
}

/// The customer's limits over the defaults; the inner `Err` is a row our types cannot hold.
fn limits_of(conn: &Connection, user: &str) -> rusqlite::Result<Result<Limits, StoreError>> {
    let mut statement = conn.prepare_cached(SETTINGS)?;
    let mut rows = statement.query([user])?;
    let mut scoped = Vec::new();
    while let Some(row) = rows.next()? {
        let settings = settings_from([
            row.get("max_active")?,
            row.get("submissions_per_minute")?,
            row.get("daily_credits")?,
            row.get("weight")?,
        ]);
        match settings {
            Ok(settings) => scoped.push((row.get::<_, String>("scope")?, settings)),
            Err(corrupt) => return Ok(Err(corrupt)),
        }
    }
    let (own, defaults) = by_scope(scoped);
    Ok(Ok(own.over(defaults)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sqlite_store, TestStore};
    use crate::{DatabaseUrl, LimitScope, NewUser};
    use reelgate_domain::accounts::{Email, Password, Role, User};
    use reelgate_domain::generations::GenerationId;
    use reelgate_domain::limits::LimitSettings;
    use reelgate_domain::Credits;
    use rusqlite::types::Value;

    async fn customer(store: &TestStore) -> User {
        let user = store
            .create_user(NewUser {
                email: Email::parse("ada@example.com").unwrap(),
                password: Password::parse("correct horse battery staple").unwrap(),
                role: Role::Customer,
                signup_bonus: Credits::new(1000),
            })
            .await
            .unwrap();
        // A limit, so that the usage is read and a quota given.
        let limits = LimitSettings::new(Some(5), Some(10), Some(900), Some(2)).unwrap();
        store
            .set_limit_settings(LimitScope::Customer(&user.id), &limits)
            .await
            .unwrap();
        user
    }

    fn submission(id: &GenerationId, user: &User, now: i64) -> Item {
        let mut new = NewGeneration {
            id: id.clone(),
            user_id: user.id.clone(),
            model: "kling-2.6/text-to-video".into(),
            params: serde_json::json!({"prompt": "a fox", "duration": 5})
                .as_object()
                .cloned()
                .unwrap(),
            upstream_request: serde_json::json!({"endpoint": "jobs", "body": {"n": 1}}),
            credits: Credits::new(45),
            upstream_cost_usd: "0.28".parse().unwrap(),
            webhook_url: Some("https://hooks.example.com/x".into()),
            idempotency: None,
        };
        new.idempotency = Some(crate::IdempotencyKey {
            key: "order-1".into(),
            request_hash: "h".into(),
        });
        Item {
            new,
            now,
            response: Some("{\"first\":true}".into()),
        }
    }

    /// Every column of the rows `sql` selects, with this database's user id and times of
    /// writing (which differ between two databases by nature) replaced.
    fn rows(store: &TestStore, user: &User, sql: &str) -> Vec<Vec<Value>> {
        let DatabaseUrl::Sqlite { path } = store.url() else {
            unreachable!("a SQLite test store")
        };
        let conn = Connection::open(path).unwrap();
        let mut statement = conn.prepare(sql).unwrap();
        let columns = statement.column_count();
        let names: Vec<String> = statement
            .column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        statement
            .query_map([], |row| {
                (0..columns)
                    .map(|i| {
                        let value: Value = row.get(i)?;
                        Ok(match (&value, names[i].as_str()) {
                            (Value::Text(t), _) if t == user.id.as_str() => {
                                Value::Text("user".into())
                            }
                            (_, "id" | "created_at") if sql.contains("ledger") => Value::Null,
                            _ => value,
                        })
                    })
                    .collect()
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[tokio::test]
    async fn the_batch_writes_what_the_ordinary_path_writes() {
        let (ordinary, batched) = (sqlite_store().await.unwrap(), sqlite_store().await.unwrap());
        let (ada_o, ada_b) = (customer(&ordinary).await, customer(&batched).await);
        let id = GenerationId::new();
        let now = now_millis();

        let item = submission(&id, &ada_o, now);
        let mut tx = ordinary.begin().await.unwrap();
        let expected =
            crate::generations::submit_in(&mut tx, &item.new, now, item.response.as_deref())
                .await
                .unwrap();
        tx.commit().await.unwrap();

        let DatabaseUrl::Sqlite { path } = batched.url() else {
            unreachable!()
        };
        let batch = SqliteBatch::open(path, std::time::Duration::from_secs(1)).unwrap();
        let written = batch
            .write(Arc::from([submission(&id, &ada_b, now)]))
            .await
            .unwrap();
        let [Written::Admitted(admitted)] = &written[..] else {
            panic!("not admitted")
        };
        assert_eq!(
            (admitted.quota, admitted.fair_key),
            (expected.quota, expected.fair_key)
        );
        assert!(expected.quota.is_some(), "the limits were applied");

        for sql in [
            "SELECT * FROM generations",
            "SELECT * FROM ledger_entries ORDER BY id",
            "SELECT balance, held, debt, fair_last FROM users",
        ] {
            let (a, b) = (rows(&ordinary, &ada_o, sql), rows(&batched, &ada_b, sql));
            assert!(!a.is_empty(), "{sql}: no rows");
            assert_eq!(a, b, "{sql}");
        }
    }

    #[tokio::test]
    async fn what_the_batch_does_not_write_it_leaves_to_the_ordinary_path() {
        let store = sqlite_store().await.unwrap();
        let ada = customer(&store).await;
        let DatabaseUrl::Sqlite { path } = store.url() else {
            unreachable!()
        };
        let batch = SqliteBatch::open(path, std::time::Duration::from_secs(1)).unwrap();
        let now = now_millis();
        let mut too_dear = submission(&GenerationId::new(), &ada, now);
        too_dear.new.credits = Credits::new(5000);
        too_dear.new.idempotency = None;
        let fine = submission(&GenerationId::new(), &ada, now);
        let same_key = submission(&GenerationId::new(), &ada, now);
        let written = batch
            .write(Arc::from([too_dear, fine, same_key]))
            .await
            .unwrap();
        assert!(matches!(
            &written[..],
            [Written::Alone, Written::Admitted(_), Written::Alone]
        ));
        // Only the one admitted is held and stored; the others left nothing behind.
        let audit = store.audit_balance(&ada.id).await.unwrap();
        assert!(audit.is_consistent(), "{audit:?}");
        assert_eq!(
            store.user(&ada.id).await.unwrap().balance,
            Credits::new(955)
        );
        let stored = rows(&store, &ada, "SELECT id FROM generations");
        assert_eq!(stored.len(), 1);
    }
}
