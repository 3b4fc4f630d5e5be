//! The one loop every background worker runs: claim what is due → work on it → when nothing
//! is due, sleep until the next due time, a nudge or the idle tick → … until stopped.
//!
//! A worker says how to claim (almost always one [`Store::claim`] of one of
//! `reelgate_store::queues`) and how to work one job; the loop owns the rest: it claims only
//! as many jobs as it can work on at once (so each is worked on well within its lease), works
//! them concurrently, checks the stop signal at the top (with a backlog it never sleeps), and
//! on stop lets the jobs in hand finish. Tests drain a queue with [`work_once`] instead, with
//! no loop and no sleeping.
//!
//! Adding a worker is implementing [`Worker`] and spawning [`run`] with it beside the others
//! (`Lifecycle::start`, `Application::run_until_stopped_as`). A whole one, about thirty lines, is in
//! `docs/ARCHITECTURE.md` ("Adding a worker"); `tests/api/workers.rs` compiles and runs that
//! same code on a real queue, so the example cannot drift from this trait.

use chrono::{DateTime, Utc};
use reelgate_store::StoreError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

/// How long a worker sleeps when it knows of nothing due. Short enough that work another
/// instance scheduled is picked up promptly; a cheap indexed query when idle.
pub const IDLE_TICK: Duration = Duration::from_secs(2);

/// What a claim came back with.
#[derive(Debug)]
pub enum Claimed<J> {
    /// Jobs to work on; none means nothing is due: sleep until the next due time or a nudge.
    Jobs(Vec<J>),
    /// Nothing may be taken for this long (a full rate window): sleep it out, deaf to nudges,
    /// which could only spin the loop meanwhile.
    WaitFor(Duration),
    /// Nothing may be taken until something changes (all upstream slots taken, upstream
    /// refusing): sleep until a nudge or the idle tick.
    Blocked,
}

/// A background worker: how it claims, and how it works one job.
pub trait Worker: Send + Sync + 'static {
    type Job: Send + 'static;
    /// Names the worker in the log.
    const NAME: &'static str;
    /// Jobs worked on at once, and so the most one claim takes.
    const PARALLEL: usize;

    /// Claims up to `limit` jobs.
    fn claim(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Claimed<Self::Job>, StoreError>> + Send;

    /// When the next job falls due, if any is waiting.
    fn next_due(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;

    /// What wakes the worker before its next due time.
    fn nudge(&self) -> &Notify;

    /// Works on one claimed job, recording its outcome (or leaving its lease to run out).
    fn work(&self, job: Self::Job) -> impl Future<Output = ()> + Send;
}

/// Runs `worker` until `stop` turns true, then waits for the jobs it holds.
pub async fn run<W: Worker>(worker: Arc<W>, mut stop: watch::Receiver<bool>) {
    let working = Arc::new(Semaphore::new(W::PARALLEL));
    while !*stop.borrow() {
        let Some(mut permits) = free_permits(&working).await else {
            break;
        };
        let limit = u32::try_from(permits.num_permits()).unwrap_or(u32::MAX);
        let sleep = match worker.claim(limit).await {
            Ok(Claimed::Jobs(jobs)) if !jobs.is_empty() => {
                for job in jobs {
                    let (worker, permit) = (Arc::clone(&worker), permits.split(1));
                    tokio::spawn(async move {
                        worker.work(job).await;
                        drop(permit);
                    });
                }
                continue;
            }
            Ok(Claimed::Jobs(_)) => match worker.next_due().await {
                Ok(next_due) => Sleep::Until(next_due),
                Err(error) => {
                    tracing::error!(worker = W::NAME, %error, "cannot learn when work is due");
                    Sleep::Until(None)
                }
            },
            Ok(Claimed::WaitFor(wait)) => Sleep::Deaf(wait),
            Ok(Claimed::Blocked) => Sleep::Until(None),
            Err(error) => {
                tracing::error!(worker = W::NAME, %error, "cannot claim work; retrying");
                Sleep::Until(None)
            }
        };
        drop(permits);
        let awake = match sleep {
            Sleep::Until(next_due) => pause(next_due, worker.nudge(), &mut stop).await,
            Sleep::Deaf(wait) => pause_for(wait, &Notify::new(), &mut stop).await,
        };
        if !awake {
            break;
        }
    }
    // Let the jobs in hand record their outcome before the process goes.
    let _ = working
        .acquire_many(u32::try_from(W::PARALLEL).unwrap_or(u32::MAX))
        .await;
}

/// Claims once and works on everything claimed, here and now; returns how many jobs (0 when
/// nothing was due or the worker may take nothing now). Tests drain a queue with it.
pub async fn work_once<W: Worker>(worker: &W) -> Result<usize, StoreError> {
    let limit = u32::try_from(W::PARALLEL).unwrap_or(u32::MAX);
    match worker.claim(limit).await? {
        Claimed::Jobs(jobs) => {
            let n = jobs.len();
            futures::future::join_all(jobs.into_iter().map(|job| worker.work(job))).await;
            Ok(n)
        }
        Claimed::WaitFor(_) | Claimed::Blocked => Ok(0),
    }
}

enum Sleep {
    Until(Option<DateTime<Utc>>),
    Deaf(Duration),
}

/// Waits for one permit, then takes all the others that are free with it. `None` only if
/// the semaphore was closed, which [`run`] never does.
async fn free_permits(working: &Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    let mut permits = Arc::clone(working).acquire_owned().await.ok()?;
    let more = u32::try_from(working.available_permits()).unwrap_or(0);
    if more > 0 {
        if let Ok(extra) = Arc::clone(working).try_acquire_many_owned(more) {
            permits.merge(extra);
        }
    }
    Some(permits)
}

/// Sleeps until `next_due` (at most `IDLE_TICK`), a nudge, or the stop signal. Returns false
/// when the worker should stop.
pub async fn pause(
    next_due: Option<DateTime<Utc>>,
    nudge: &Notify,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let wait = next_due
        .map(|due| (due - Utc::now()).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(IDLE_TICK)
        .min(IDLE_TICK);
    pause_for(wait, nudge, stop).await
}

/// Sleeps `wait` in full (workers on an interval of their own), or until a nudge or the stop
/// signal. Returns false when the worker should stop.
pub async fn pause_for(wait: Duration, nudge: &Notify, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = nudge.notified() => true,
        _ = tokio::time::sleep(wait) => true,
        _ = stop.changed() => false,
    }
}

/// The moment `delay` from now.
pub fn after(delay: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    //! A trivial worker, written as the module docs say: jobs are numbers in memory, working
    //! one adds it to a sum.
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Summer {
        queue: Mutex<Vec<u64>>,
        sum: Mutex<u64>,
        nudge: Notify,
    }

    impl Worker for Summer {
        type Job = u64;
        const NAME: &'static str = "summer";
        const PARALLEL: usize = 3;

        async fn claim(&self, limit: u32) -> Result<Claimed<u64>, StoreError> {
            let mut queue = self.queue.lock().unwrap();
            let at = queue.len().saturating_sub(limit as usize);
            Ok(Claimed::Jobs(queue.split_off(at)))
        }

        async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
            Ok(None)
        }

        fn nudge(&self) -> &Notify {
            &self.nudge
        }

        async fn work(&self, job: u64) {
            tokio::task::yield_now().await;
            *self.sum.lock().unwrap() += job;
        }
    }

    #[tokio::test]
    async fn work_once_takes_at_most_parallel_jobs_and_works_them_all() {
        let summer = Summer::default();
        summer.queue.lock().unwrap().extend(1..=5);
        assert_eq!(work_once(&summer).await.unwrap(), 3);
        assert_eq!(*summer.sum.lock().unwrap(), 3 + 4 + 5);
        assert_eq!(work_once(&summer).await.unwrap(), 2);
        assert_eq!(work_once(&summer).await.unwrap(), 0);
        assert_eq!(*summer.sum.lock().unwrap(), 15);
    }

    #[tokio::test(start_paused = true)]
    async fn a_nudge_wakes_the_loop_before_its_idle_tick_and_stop_ends_it() {
        let summer = Arc::new(Summer::default());
        let (stop, stopping) = watch::channel(false);
        let started = tokio::time::Instant::now();
        let running = tokio::spawn(run(Arc::clone(&summer), stopping));
        // Idle: the loop sleeps; the paused clock shows whether it woke for the nudge or
        // slept its tick out.
        tokio::task::yield_now().await;
        summer.queue.lock().unwrap().extend([10, 20, 30, 40]);
        summer.nudge.notify_one();
        while *summer.sum.lock().unwrap() < 100 {
            tokio::task::yield_now().await;
        }
        assert!(
            started.elapsed() < IDLE_TICK,
            "waited for the tick, not the nudge"
        );
        stop.send_replace(true);
        running.await.unwrap();
        assert!(summer.queue.lock().unwrap().is_empty());
    }
}
