//! SQLite only: this process's write transactions take turns here before they begin.
//!
//! SQLite lets one writer in at a time anyway; a writer that finds the lock taken waits in
//! SQLite's busy handler, which polls with sleeps of 1, 2, 5, 10… ms — under load most of a
//! transaction's latency, and the lock often sits free while everyone sleeps. Queueing
//! in-process instead hands the lock over the moment it is released. (Other processes, like
//! the admin CLI, still meet the busy handler; they are rare.)
//!
//! Turns are taken in order of arrival, except that a batch of new submissions lets every
//! other writer waiting go first: settlements, callbacks, ledger moves and the workers' claims
//! finish work already paid for and must not queue behind a stream of new work.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, MutexGuard};

/// How many times a batch of submissions steps back for others before it takes its turn
/// regardless, so that a steady stream of other writers cannot stop submissions altogether.
const MAX_STEPS_BACK: usize = 4;

#[derive(Debug, Default)]
pub(crate) struct WriteTurns {
    turn: Mutex<()>,
    /// Writers other than the submission batch waiting for the turn.
    waiting: AtomicUsize,
}

impl WriteTurns {
    /// The turn, in order of arrival.
    pub(crate) async fn take(&self) -> MutexGuard<'_, ()> {
        let _counted = Waiting::count(&self.waiting);
        self.turn.lock().await
    }

    /// The turn once nobody else is waiting for it (within [`MAX_STEPS_BACK`]).
    pub(crate) async fn take_after_others(&self) -> MutexGuard<'_, ()> {
        for _ in 0..MAX_STEPS_BACK {
            let turn = self.turn.lock().await;
            if self.waiting.load(Ordering::Acquire) == 0 {
                return turn;
            }
            // The lock is fair: those waiting now get it before this task's next `lock`.
            drop(turn);
            tokio::task::yield_now().await;
        }
        self.turn.lock().await
    }
}

/// Counts a waiting writer until it has the turn or gives up waiting (its future dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::AcqRel);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_submission_batch_lets_a_waiting_writer_go_first() {
        let turns = Arc::new(WriteTurns::default());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = turns.take().await;
        let batch = tokio::spawn({
            let (turns, order) = (Arc::clone(&turns), Arc::clone(&order));
            async move {
                let _turn = turns.take_after_others().await;
                order.lock().unwrap().push("batch");
            }
        });
        // The batch queues first, the settlement second.
        tokio::task::yield_now().await;
        let settlement = tokio::spawn({
            let (turns, order) = (Arc::clone(&turns), Arc::clone(&order));
            async move {
                let _turn = turns.take().await;
                order.lock().unwrap().push("settlement");
            }
        });
        tokio::task::yield_now().await;
        drop(held);
        batch.await.unwrap();
        settlement.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["settlement", "batch"]);
    }

    #[tokio::test]
    async fn a_writer_that_stops_waiting_is_no_longer_counted() {
        let turns = WriteTurns::default();
        let held = turns.take().await;
        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(10), turns.take()).await;
        assert!(gave_up.is_err());
        drop(held);
        assert_eq!(turns.waiting.load(Ordering::Acquire), 0);
    }
}
