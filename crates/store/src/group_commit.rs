//! Group commit of submissions on SQLite: submissions that arrive while one is being written
//! wait for the writer, which then writes all of them in one transaction and answers each only
//! once that transaction has committed. A commit costs SQLite far more than the few statements
//! of a submission (writing the WAL frames of every page touched), and SQLite has one writer
//! anyway, so sharing the commit is what lets submissions go faster than commits can.
//!
//! Durability is unchanged: nobody is answered before their submission is committed. Each item
//! runs inside a savepoint, so one refused or failing item is rolled back alone and its
//! batch-mates commit without it. If the batch as a whole cannot be written (the database busy
//! past its timeout, a failed commit), nothing of it committed and every caller writes its own
//! submission the ordinary way.
//!
//! The batch is written in one blocking call on a connection of its own (`sqlite_batch.rs`),
//! and takes the write turn only when no other writer is waiting for it (`write_turns.rs`):
//! settlements go first.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use crate::backend::{DatabaseUrl, SQLITE_BUSY_TIMEOUT};
use crate::limits::Admitted;
use crate::sqlite_batch::{Item, SqliteBatch, Written};
use crate::{Store, StoreError};

/// Most submissions in one transaction: enough to share a commit among the clients of a busy
/// server, few enough that the first of a batch does not wait long for the last.
const MAX_BATCH: usize = 128;

/// Submissions waiting for the writer; more make a caller wait for room.
const QUEUE: usize = 1024;

/// What a caller hands the writer, and how it hears back.
pub(crate) struct Job {
    pub item: Item,
    pub reply: oneshot::Sender<Answer>,
}

pub(crate) enum Answer {
    /// Committed, or refused alone (its savepoint rolled back, its batch-mates committed).
    Done(Result<Admitted, StoreError>),
    /// Nothing of it committed: write this submission on its own.
    WriteAlone,
}

/// The way to the writer, started by the first submission (on that caller's runtime).
pub(crate) struct Batcher {
    sender: OnceLock<mpsc::Sender<Job>>,
    connection: SqliteBatch,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("started", &self.sender.get().is_some())
            .finish()
    }
}

impl Batcher {
    /// Hands the job to the writer, or gives it back if there is none to take it.
    pub(crate) async fn send(&self, store: &Store, job: Job) -> Result<(), Job> {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            // The writer's handle has no batcher of its own: when the last handle that can send
            // is dropped, the channel closes and the writer ends.
            let writer = Store {
                batcher: None,
                ..store.clone()
            };
            tokio::spawn(write_batches(writer, self.connection.clone(), receiver));
            sender
        });
        sender.send(job).await.map_err(|refused| refused.0)
    }
}

async fn write_batches(store: Store, connection: SqliteBatch, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (items, replies): (Vec<Item>, Vec<_>) =
            batch.drain(..).map(|job| (job.item, job.reply)).unzip();
        let size = items.len();
        let asked = std::time::Instant::now();
        let written = {
            let _turn = store.submission_turn().await;
            let turn_us = asked.elapsed().as_micros();
            let written = connection.write(items.into()).await;
            let write_us = asked.elapsed().as_micros() - turn_us;
            tracing::debug!(size, turn_us, write_us, "wrote a batch of submissions");
            written
        };
        match written {
            Ok(written) => {
                for (reply, written) in replies.into_iter().zip(written) {
                    let answer = match written {
                        Written::Admitted(admitted) => Answer::Done(Ok(admitted)),
                        Written::Refused(error) => Answer::Done(Err(error)),
                        Written::Alone => Answer::WriteAlone,
                    };
                    // A caller that stopped waiting (its request was dropped) is told nothing;
                    // its submission stands, as it would have on the ordinary path.
                    let _ = reply.send(answer);
                }
            }
            Err(error) => {
                tracing::warn!(%error, size, "a batch of submissions failed; writing them one by one");
                for reply in replies {
                    let _ = reply.send(Answer::WriteAlone);
                }
            }
        }
    }
}

/// Batching is for SQLite, where writers take turns; PostgreSQL writes in parallel.
pub(crate) fn for_database(url: &DatabaseUrl) -> Result<Option<Arc<Batcher>>, StoreError> {
    match url {
        DatabaseUrl::Sqlite { path } => Ok(Some(Arc::new(Batcher {
            sender: OnceLock::new(),
            connection: SqliteBatch::open(path, SQLITE_BUSY_TIMEOUT)?,
        }))),
        DatabaseUrl::Postgres { .. } => Ok(None),
    }
}
