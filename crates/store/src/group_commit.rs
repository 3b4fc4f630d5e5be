//! Group commit of submissions on SQLite: submissions that arrive while one is being written
//! wait for the writer, which then writes all of them in one transaction and answers each only
//! once that transaction has committed. A commit costs SQLite far more than the few statements
//! of a submission (writing the WAL frames of every page touched), and SQLite has one writer
//! anyway, so sharing the commit is what lets submissions go faster than commits can.
//!
//! Durability is unchanged: nobody is answered before their submission is committed. Each item
//! runs inside a savepoint, so one refused or failing item is rolled back alone and its
//! batch-mates commit without it. If the batch as a whole cannot be written (the database busy
//! past its retries, a failed commit), nothing of it committed and every caller writes its own
//! submission the ordinary way.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use crate::generations::{submit_in, NewGeneration};
use crate::limits::Admitted;
use crate::retry::on_contention;
use crate::{Store, StoreError};

/// Most submissions in one transaction: enough to share a commit among the clients of a busy
/// server, few enough that the first of a batch does not wait long for the last.
const MAX_BATCH: usize = 128;

/// Submissions waiting for the writer; more make a caller wait for room.
const QUEUE: usize = 1024;

/// What a caller hands the writer, and how it hears back.
pub(crate) struct Job {
    pub new: NewGeneration,
    pub now: i64,
    pub response: Option<String>,
    pub reply: oneshot::Sender<Answer>,
}

pub(crate) enum Answer {
    /// Committed, or refused alone (its savepoint rolled back, its batch-mates committed).
    Done(Result<Admitted, StoreError>),
    /// Nothing of the batch committed: write this submission on its own.
    WriteAlone,
}

/// The way to the writer, started by the first submission (on that caller's runtime).
#[derive(Default)]
pub(crate) struct Batcher {
    sender: OnceLock<mpsc::Sender<Job>>,
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
            tokio::spawn(write_batches(writer, receiver));
            sender
        });
        sender.send(job).await.map_err(|refused| refused.0)
    }
}

async fn write_batches(store: Store, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match write(&store, &batch).await {
            Ok(outcomes) => {
                tracing::debug!(size = batch.len(), "wrote a batch of submissions");
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    // A caller that stopped waiting (its request was dropped) is told nothing;
                    // its submission stands, as it would have on the ordinary path.
                    let _ = job.reply.send(Answer::Done(outcome));
                }
            }
            Err(error) => {
                tracing::warn!(%error, size = batch.len(), "a batch of submissions failed; writing them one by one");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Answer::WriteAlone);
                }
            }
        }
    }
}

/// One transaction for the batch; an item's own failure is rolled back to its savepoint.
async fn write(
    store: &Store,
    batch: &[Job],
) -> Result<Vec<Result<Admitted, StoreError>>, StoreError> {
    on_contention(|| async {
        let _turn = store.write_turn().await;
        let mut tx = store.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for job in batch {
            sqlx::query("SAVEPOINT submission")
                .execute(&mut *tx)
                .await?;
            match submit_in(&mut tx, &job.new, job.now, job.response.as_deref()).await {
                Ok(admitted) => {
                    sqlx::query("RELEASE submission").execute(&mut *tx).await?;
                    outcomes.push(Ok(admitted));
                }
                // The lock was lost: the whole batch starts again.
                Err(error) if error.is_retryable() => return Err(error),
                Err(error) => {
                    sqlx::query("ROLLBACK TO submission")
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("RELEASE submission").execute(&mut *tx).await?;
                    outcomes.push(Err(error));
                }
            }
        }
        tx.commit().await?;
        Ok(outcomes)
    })
    .await
}

/// Batching is for SQLite, where writers take turns; PostgreSQL writes in parallel.
pub(crate) fn for_backend(backend: crate::Backend) -> Option<Arc<Batcher>> {
    match backend {
        crate::Backend::Sqlite => Some(Arc::default()),
        crate::Backend::Postgres => None,
    }
}
