//! Dispatch: sends queued generations upstream, oldest first, never faster than the rate
//! limit nor above the configured number of tasks in flight. Each create is recorded as
//! `sending` before it goes out, so after a crash we know which ones Kie may have.

use chrono::Utc;
use reelgate_domain::generations::Generation;
use reelgate_store::{Due, Outcome, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::create_limit::{Slot, Slots};
use super::decide::{self, AfterCreate, Failure};
use super::lifecycle::{after, pause, span, Lifecycle, UpstreamState};
use super::stored_request::StoredRequest;
use tracing::Instrument;

/// A create that failed for a passing reason waits this long per attempt so far.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// Creates in flight at once from this process.
const PARALLEL_CREATES: usize = 16;
/// Most rows claimed per round.
const BATCH: usize = 32;
/// How often to look for creates sent without a recorded answer.
const RESOLVE_EVERY: Duration = Duration::from_secs(1);

enum Step {
    Sent,
    NothingDue,
    /// The rate window is full for this long.
    Throttled(Duration),
    /// As many tasks are in flight upstream as allowed, or upstream refuses new work.
    Saturated,
}

pub(super) async fn run(lc: Arc<Lifecycle>) {
    let mut stop = lc.stopping();
    let sending = Arc::new(Semaphore::new(PARALLEL_CREATES));
    let mut resolved_at: Option<Instant> = None;
    // Never notified: while the rate window is full, submissions' nudges are not listened to.
    let no_nudges = Notify::new();
    // Stop is checked at the top too: with a backlog the loop never pauses.
    while !*stop.borrow() {
        // Unanswered creates fall due only after a claim lease or the unconfirmed wait, so
        // looking for them once a second is plenty; a round runs per nudge (per submission),
        // and looking every round was a query per submission.
        if resolved_at.is_none_or(|at| at.elapsed() >= RESOLVE_EVERY) {
            resolved_at = Some(Instant::now());
            if let Err(error) = resolve_unresolved(&lc).await {
                tracing::error!(%error, "dispatch: cannot resolve unanswered creates");
            }
        }
        let step = match step(&lc, &sending).await {
            Ok(step) => step,
            Err(error) => {
                tracing::error!(%error, "dispatch failed; retrying");
                Step::Saturated
            }
        };
        let next_due = match step {
            Step::Sent => continue,
            Step::NothingDue => earliest(&lc).await,
            Step::Throttled(wait) => {
                // Nothing can be sent before the window frees; waking for every submission
                // meanwhile only spun this loop (a burst behind Kie's 20/10 limit woke it
                // thousands of times a second).
                if !pause(Some(after(wait)), &no_nudges, &mut stop).await {
                    break;
                }
                continue;
            }
            Step::Saturated => None,
        };
        if !pause(next_due, &lc.wake.dispatch, &mut stop).await {
            break;
        }
    }
    // Let the creates already sent record their answers before the process goes.
    let _ = sending.acquire_many(PARALLEL_CREATES as u32).await;
}

async fn earliest(lc: &Lifecycle) -> Option<chrono::DateTime<Utc>> {
    let dispatch = lc.store.next_due(Due::Dispatch).await.ok().flatten();
    let unresolved = lc.store.next_due(Due::Unresolved).await.ok().flatten();
    dispatch.into_iter().chain(unresolved).min()
}

async fn step(lc: &Arc<Lifecycle>, sending: &Arc<Semaphore>) -> Result<Step, StoreError> {
    let state = lc.upstream_state();
    if state != UpstreamState::Accepting {
        // Generations submitted while the balance guard holds dispatch wait like the others.
        if let Some((_, reason)) = lc.dispatch_hold() {
            lc.store.mark_queued_blocked(&reason).await?;
        }
        fail_long_blocked(lc).await?;
        if state == UpstreamState::Refusing {
            return Ok(Step::Saturated);
        }
    }
    let in_flight = lc
        .store
        .in_flight_upstream(lc.settings.max_concurrent_tasks)
        .await?;
    let free = u64::from(lc.settings.max_concurrent_tasks).saturating_sub(in_flight);
    if free == 0 {
        return Ok(Step::Saturated);
    }
    let batch = if state == UpstreamState::Probing {
        1
    } else {
        BATCH
    };
    // Only as many as can be sent at once: a slot's request must go out right away, so that
    // the rate window (and, on a crash, the claim's lease) holds for it.
    let Some(mut permits) = permits_for_up_to(sending, batch.min(free_slots(free))).await else {
        return Ok(Step::Saturated);
    };
    let mut slots = match lc.creates.take_up_to(permits.num_permits()).await? {
        Slots::Taken(slots) => slots,
        Slots::Wait(wait) => return Ok(Step::Throttled(wait)),
    };
    let claimed = lc
        .store
        .claim_due(Due::Dispatch, slots.len() as u32, lc.settings.claim_lease)
        .await;
    let claimed = match claimed {
        Ok(claimed) => claimed,
        Err(error) => {
            lc.creates.give_back(slots).await;
            return Err(error);
        }
    };
    let unused = slots.split_off(claimed.len().min(slots.len()));
    lc.creates.give_back(unused).await;
    if claimed.is_empty() {
        return Ok(Step::NothingDue);
    }
    for (generation, slot) in claimed.into_iter().zip(slots) {
        let permit = permits.split(1);
        let lc = Arc::clone(lc);
        let span = span(&generation.id);
        tokio::spawn(
            async move {
                send(&lc, generation, slot).await;
                drop(permit);
            }
            .instrument(span),
        );
    }
    Ok(Step::Sent)
}

fn free_slots(free: u64) -> usize {
    usize::try_from(free).unwrap_or(usize::MAX)
}

/// Waits for one permit to send, then takes as many more (up to `n` in all) as are free.
/// `None` only if the semaphore was closed, which dispatch never does.
async fn permits_for_up_to(sending: &Arc<Semaphore>, n: usize) -> Option<OwnedSemaphorePermit> {
    let mut permits = Arc::clone(sending).acquire_owned().await.ok()?;
    let more = n.saturating_sub(1).min(sending.available_permits());
    if more > 0 {
        if let Ok(extra) = Arc::clone(sending).try_acquire_many_owned(more as u32) {
            permits.merge(extra);
        }
    }
    Some(permits)
}

async fn send(lc: &Lifecycle, generation: Generation, slot: Slot) {
    let id = &generation.id;
    let request = match StoredRequest::decode(&generation.upstream_request) {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(generation = %id, %error, "stored upstream request is unreadable");
            let failure = Failure::new(
                "internal",
                "Something went wrong on our side.",
                error.to_string(),
            );
            lc.creates.give_back(vec![slot]).await;
            settle_failed(lc, &generation, failure).await;
            return;
        }
    };
    let callback = Some(lc.callback_url(id));
    let answer = match request {
        StoredRequest::Veo(mut body) => {
            body.call_back_url = callback;
            lc.kie.create_veo(&body).await
        }
        StoredRequest::Jobs(mut body) => {
            body.call_back_url = callback;
            lc.kie.create_task(&body).await
        }
    };
    lc.creates.answered(slot).await;
    let recorded = match decide::after_create(answer) {
        AfterCreate::Running(task_id) => {
            if lc.upstream_accepting() {
                tracing::info!("upstream accepts new generations again");
                if let Err(error) = lc.store.clear_queued_blocked().await {
                    tracing::error!(%error, "cannot clear the waiting-for-capacity marks");
                }
            }
            let first_look = after(
                lc.settings
                    .poll
                    .delay(lc.settings.expected.for_model(&generation.model), 0),
            );
            tracing::info!(generation = %id, task = %task_id, "sent upstream");
            let accepted = lc
                .store
                .record_accepted(id, task_id.as_str(), first_look)
                .await;
            lc.wake.track.notify_one();
            accepted.map(drop)
        }
        AfterCreate::RetryLater {
            reason,
            rate_limited: true,
        } => {
            tracing::warn!(generation = %id, %reason, "upstream rate limit hit; waiting a full window");
            lc.creates.saturate().await;
            lc.store
                .record_not_sent(id, after(lc.settings.rate_limit.per), None)
                .await
                .map(drop)
        }
        AfterCreate::RetryLater {
            reason,
            rate_limited: false,
        } => {
            tracing::warn!(generation = %id, %reason, "upstream unavailable; will retry");
            lc.upstream_log.record("create", &reason);
            if lc.upstream_faltered() {
                refused_for_now(lc, &generation, &reason).await
            } else {
                let backoff = RETRY_BACKOFF.saturating_mul(generation.dispatch_attempts.min(6));
                lc.store
                    .record_not_sent(&generation.id, after(backoff), Some(&reason))
                    .await
                    .map(drop)
            }
        }
        AfterCreate::WaitForOperator { reason } => {
            tracing::error!(generation = %id, %reason,
                "UPSTREAM REFUSES NEW GENERATIONS until the operator acts (Kie key, balance or spending cap)");
            lc.upstream_log.record("create", &reason);
            lc.wake.guard.notify_one();
            refused_for_now(lc, &generation, &reason).await
        }
        AfterCreate::Fail(failure) => {
            tracing::info!(generation = %id, reason = %failure.detail, "upstream refused the generation");
            settle_failed(lc, &generation, failure).await;
            Ok(())
        }
        AfterCreate::Unknown { reason } => {
            tracing::warn!(generation = %id, %reason,
                "create outcome unknown: not resending; waiting for a callback to reveal the task");
            lc.upstream_log.record("create", &reason);
            lc.store
                .record_outcome_unknown(id, &reason, after(lc.settings.unconfirmed_wait))
                .await
                .map(drop)
        }
    };
    if let Err(error) = recorded {
        // The claim's lease runs out and the row is looked at again: as `sending`, it will be
        // treated as an unknown outcome, never re-sent blindly.
        tracing::error!(generation = %id, %error, "cannot record the upstream answer");
    }
}

/// Upstream will not take new work for now (outage, or an account problem only the operator
/// can fix): pause all dispatch, keep this one queued, and start its clock towards failure.
async fn refused_for_now(
    lc: &Lifecycle,
    generation: &Generation,
    reason: &str,
) -> Result<(), StoreError> {
    let pause_for = lc.upstream_refused(reason);
    tracing::warn!(pause = ?pause_for, "dispatch paused; one generation will probe when it ends");
    // Due again at once: the pause, not the row, decides when the next create goes out.
    lc.store
        .record_not_sent(&generation.id, Utc::now(), Some(reason))
        .await?;
    lc.store.mark_queued_blocked(reason).await
}

/// Generations that have waited longer than the operator allows for upstream to take work
/// again fail, and their credits go back.
async fn fail_long_blocked(lc: &Lifecycle) -> Result<(), StoreError> {
    let before = Utc::now()
        - chrono::Duration::from_std(lc.settings.upstream_wait).unwrap_or(chrono::Duration::MAX);
    for generation in lc.store.blocked_before(before, 100).await? {
        let reason = generation.blocked_reason.clone().unwrap_or_default();
        settle_failed(lc, &generation, Failure::no_capacity(reason))
            .instrument(span(&generation.id))
            .await;
    }
    Ok(())
}

/// Creates sent without a recorded answer, whose wait is over.
async fn resolve_unresolved(lc: &Lifecycle) -> Result<(), StoreError> {
    for generation in lc
        .store
        .claim_due(Due::Unresolved, 100, lc.settings.claim_lease)
        .await?
    {
        resolve(lc, &generation)
            .instrument(span(&generation.id))
            .await?;
    }
    Ok(())
}

async fn resolve(lc: &Lifecycle, generation: &Generation) -> Result<(), StoreError> {
    match generation.dispatch {
        // The worker sending it stopped (a crash, a kill) before recording Kie's answer.
        reelgate_domain::generations::Dispatch::Sending => {
            tracing::warn!(generation = %generation.id,
                "found a create sent by a stopped worker; waiting for a callback to reveal it");
            lc.store
                .record_outcome_unknown(
                    &generation.id,
                    "reelgate stopped while sending",
                    after(lc.settings.unconfirmed_wait),
                )
                .await?;
        }
        _ => settle_failed(lc, generation, Failure::never_confirmed()).await,
    }
    Ok(())
}

pub(super) async fn settle_failed(lc: &Lifecycle, generation: &Generation, failure: Failure) {
    let outcome = Outcome::Failed {
        error: reelgate_domain::generations::GenerationError {
            code: failure.code.to_owned(),
            message: failure.message,
        },
        upstream_error: Some(failure.detail),
    };
    lc.settle(generation, outcome).await;
}
