//! Dispatch: sends queued generations upstream, oldest first, never faster than the rate
//! limit nor above the configured number of tasks in flight. Each create is recorded as
//! `sending` before it goes out, so after a crash we know which ones Kie may have.

use chrono::{DateTime, Utc};
use kie::KieError;
use reelgate_domain::generations::{Dispatch, Generation, Why};
use reelgate_store::{queues, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use super::decide::{self, AfterCreate, Failure};
use super::lifecycle::{span, Lifecycle};
use super::model_pause;
use super::settle;
use super::stored_request::StoredRequest;
use crate::worker::{after, Claimed, Worker, IDLE_TICK};
use reelgate_store::{Slot, Slots};
use tracing::Instrument;

pub mod claiming;
pub mod gate;
pub use claiming::Claiming;
pub use gate::{Passage, UpstreamGate};

/// A create that failed for a passing reason waits this long per attempt so far.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// Sends queued generations upstream as the gate, the in-flight cap and the rate window
/// allow.
pub(super) struct Dispatcher(pub(super) Arc<Lifecycle>);

/// A claimed generation, its place in a key's rate window, and that key's index.
type Job = (Generation, Slot, usize);

impl Worker for Dispatcher {
    type Job = Job;
    const NAME: &'static str = "dispatch";
    /// Creates in flight at once from this process.
    const PARALLEL: usize = 16;

    async fn claim(&self, limit: u32) -> Result<Claimed<Job>, StoreError> {
        claim(&self.0, limit).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.0.store.next_due(&queues::DISPATCH).await
    }

    fn nudge(&self) -> &Notify {
        &self.0.wake.dispatch
    }

    async fn work(&self, (generation, slot, key): Job) {
        let span = span(&generation.id);
        send(&self.0, generation, slot, key).instrument(span).await;
    }
}

/// Settles creates sent without a recorded answer, once their wait is over.
pub(super) struct Resolver {
    lifecycle: Arc<Lifecycle>,
    /// Nothing nudges it: these rows fall due only after a claim lease or the unconfirmed wait.
    never: Notify,
}

impl Resolver {
    pub(super) fn new(lifecycle: Arc<Lifecycle>) -> Resolver {
        Resolver {
            lifecycle,
            never: Notify::new(),
        }
    }
}

impl Worker for Resolver {
    type Job = Generation;
    const NAME: &'static str = "unanswered creates";
    const PARALLEL: usize = 16;

    async fn claim(&self, limit: u32) -> Result<Claimed<Generation>, StoreError> {
        let lease = self.lifecycle.settings.claim_lease;
        let claimed = self
            .lifecycle
            .store
            .claim(&queues::UNRESOLVED, limit, lease);
        Ok(Claimed::Jobs(claimed.await?))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.lifecycle.store.next_due(&queues::UNRESOLVED).await
    }

    fn nudge(&self) -> &Notify {
        &self.never
    }

    async fn work(&self, generation: Generation) {
        let span = span(&generation.id);
        if let Err(error) = resolve(&self.lifecycle, &generation).instrument(span).await {
            tracing::error!(generation = %generation.id, %error, "cannot record an unanswered create");
        }
    }
}

async fn claim(lifecycle: &Arc<Lifecycle>, limit: u32) -> Result<Claimed<Job>, StoreError> {
    let passage = lifecycle.gate.passage();
    if passage != Passage::Open {
        // Generations submitted while the balance guard suspends dispatch wait like the others.
        if let Some((_, reason)) = lifecycle.gate.suspension() {
            lifecycle.store.mark_queued_blocked(&reason).await?;
        }
        fail_long_blocked(lifecycle).await?;
        if passage == Passage::Closed {
            // A suspension ends when the guard resumes dispatch (a nudge); a pause at a known
            // time, when the probe must go out and not up to an idle tick later. Either way the
            // loop looks again within a tick, to fail the generations whose wait is over.
            return Ok(
                match (lifecycle.gate.suspension(), lifecycle.gate.pause_left()) {
                    (None, Some(left)) => Claimed::WaitFor(left.min(IDLE_TICK)),
                    _ => Claimed::Blocked,
                },
            );
        }
    }
    let cap = lifecycle.settings.max_concurrent_tasks;
    if !lifecycle.keys.is_several() {
        let in_flight = lifecycle.store.in_flight_upstream(cap).await?;
        let batch = if passage == Passage::Probing {
            1
        } else {
            limit
        };
        return take_and_claim(lifecycle, 0, batch, in_flight).await;
    }
    // Several keys: the first (in turn) that can take work gets this round's batch; the cap
    // and the rate window are each key's own.
    if lifecycle.keys.none_usable() {
        fail_long_blocked(lifecycle).await?;
        let left = lifecycle.keys.next_retry().unwrap_or(IDLE_TICK);
        return Ok(Claimed::WaitFor(left.min(IDLE_TICK)));
    }
    let mut soonest: Option<Duration> = None;
    for index in lifecycle.keys.round() {
        let Some(key) = lifecycle
            .keys
            .get(index)
            .filter(|_| lifecycle.keys.usable(index))
        else {
            continue;
        };
        let in_flight = lifecycle
            .store
            .in_flight_upstream_with(&key.label, index == 0, cap)
            .await?;
        let probe = passage == Passage::Probing || lifecycle.keys.probing(index);
        let batch = if probe { 1 } else { limit };
        match take_and_claim(lifecycle, index, batch, in_flight).await? {
            Claimed::WaitFor(wait) => soonest = Some(soonest.map_or(wait, |s| s.min(wait))),
            Claimed::Blocked => {}
            claimed => return Ok(claimed),
        }
    }
    Ok(soonest.map_or(Claimed::Blocked, Claimed::WaitFor))
}

/// Takes up to `batch` slots of key `index`'s window (no more than its cap leaves free) and
/// claims as many queued generations.
async fn take_and_claim(
    lifecycle: &Lifecycle,
    index: usize,
    batch: u32,
    in_flight: u64,
) -> Result<Claimed<Job>, StoreError> {
    let Some(key) = lifecycle.keys.get(index) else {
        return Ok(Claimed::Blocked);
    };
    // Until the claimed rows are marked as being sent, estimates wait (`eta.rs`).
    let _under_way = lifecycle.claiming.begin();
    let free = u64::from(lifecycle.settings.max_concurrent_tasks).saturating_sub(in_flight);
    if free == 0 {
        return Ok(Claimed::Blocked);
    }
    // Only as many as can be sent at once: a slot's request must go out right away, so that
    // the rate window (and, on a crash, the claim's lease) holds for it.
    let wanted = usize::try_from(u64::from(batch).min(free)).unwrap_or(1);
    let mut slots = match key.creates.take_up_to(wanted).await? {
        Slots::Taken(slots) => slots,
        Slots::Wait(wait) => return Ok(Claimed::WaitFor(wait)),
    };
    let count = u32::try_from(slots.len()).unwrap_or(batch);
    let claimed = match lifecycle
        .store
        .claim(&queues::DISPATCH, count, lifecycle.settings.claim_lease)
        .await
    {
        Ok(claimed) => claimed,
        Err(error) => {
            key.creates.give_back(slots).await;
            return Err(error);
        }
    };
    // Upstream may have refused while this claim was under way (a create was answered 402 or
    // 5xx meanwhile, and the row it put back is due at once): what was claimed goes back
    // unsent rather than into a refusal. (Under load this sent a second create into Kie's 402.)
    if !claimed.is_empty() && lifecycle.gate.passage() == Passage::Closed {
        for generation in &claimed {
            let reason = generation.blocked_reason.as_deref();
            lifecycle
                .store
                .record_not_sent(&generation.id, Utc::now(), reason)
                .await?;
        }
        key.creates.give_back(slots).await;
        return Ok(Claimed::Blocked);
    }
    let unused = slots.split_off(claimed.len().min(slots.len()));
    key.creates.give_back(unused).await;
    Ok(Claimed::Jobs(
        claimed
            .into_iter()
            .zip(slots)
            .map(|(generation, slot)| (generation, slot, index))
            .collect(),
    ))
}

async fn send(lifecycle: &Lifecycle, generation: Generation, slot: Slot, index: usize) {
    let id = &generation.id;
    let Some(key) = lifecycle.keys.get(index) else {
        return;
    };
    let request = match StoredRequest::decode(&generation.upstream_request) {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(generation = %id, %error, "stored upstream request is unreadable");
            let failure = Failure::new(
                "internal",
                "Something went wrong on our side.",
                error.to_string(),
            );
            key.creates.give_back(vec![slot]).await;
            settle::fail(lifecycle, &generation, Why::Refused, failure).await;
            return;
        }
    };
    match model_pause::may_send(lifecycle, &generation).await {
        Ok(true) => {}
        Ok(false) => {
            // Queued before its model was paused (on another instance, or a moment ago).
            key.creates.give_back(vec![slot]).await;
            let detail = format!("{} paused: not sent", generation.model);
            settle::fail(
                lifecycle,
                &generation,
                Why::ModelPaused,
                model_pause::failure(detail),
            )
            .await;
            return;
        }
        Err(error) => {
            tracing::warn!(generation = %id, %error, "cannot read the paused models; sending");
        }
    }
    // An extension goes with the key that made the task it continues; anything else with the
    // key whose turn it is. (The rate slot is the turn's key's: one create's worth at most.)
    let (client, label) = match request.required_key() {
        Some(wanted) => match lifecycle.keys.for_task(wanted.as_deref()) {
            Some(client) => (client, wanted.clone().unwrap_or(key.label.clone())),
            None => (key.client.clone(), key.label.clone()),
        },
        None => (key.client.clone(), key.label.clone()),
    };
    if lifecycle.keys.is_several() {
        // Before the request goes out: a task whose answer is lost still belongs to this key.
        if let Err(error) = lifecycle.store.record_sending_key(id, &label).await {
            tracing::error!(generation = %id, %error, "cannot record the key a create is sent with");
            key.creates.give_back(vec![slot]).await;
            return;
        }
    }
    let callback = Some(lifecycle.callback_url(id));
    let wire_model = request.wire_model().to_owned();
    // Only a create of the model itself says whether Kie still takes the model: a refused
    // upgrade or extension is about that one video.
    let tells_of_model = match &request {
        StoredRequest::Veo(_) | StoredRequest::Jobs(_) => Some(true),
        StoredRequest::Extend(_) => Some(false),
        StoredRequest::Upscale(_) => None,
    };
    let answer = match request {
        StoredRequest::Veo(mut body) => {
            body.call_back_url = callback;
            client.create_veo(&body).await
        }
        StoredRequest::Jobs(mut body) => {
            body.call_back_url = callback;
            client.create_task(&body).await
        }
        StoredRequest::Extend(mut extension) => {
            extension.request.call_back_url = callback;
            client.extend_veo(&extension.request).await
        }
        StoredRequest::Upscale(upscale) => {
            // Kie makes the 4K version of the original task; the generation tracks that
            // request under a task id of its own (one task is one generation's).
            let original = kie::TaskId::from(upscale.task_id.clone());
            client
                .veo_4k(&original, 0, callback.as_deref())
                .await
                .map(|_| kie::TaskId::from(format!("{}:4k:{id}", upscale.task_id)))
        }
    };
    key.creates.answered(slot).await;
    match &answer {
        Ok(_) => model_pause::accepted(lifecycle, &generation.model).await,
        Err(error @ (KieError::FeatureDisabled { .. } | KieError::InvalidRequest { .. }))
            if tells_of_model.is_some()
                && model_pause::refused(
                    lifecycle,
                    &generation,
                    error,
                    &wire_model,
                    tells_of_model == Some(true),
                )
                .await =>
        {
            // The service answered; only this model is gone.
            upstream_works(lifecycle).await;
            key_works(lifecycle, index).await;
            let failure = model_pause::failure(error.to_string());
            settle::fail(lifecycle, &generation, Why::ModelPaused, failure).await;
            return;
        }
        Err(_) => {}
    }
    let recorded = match decide::after_create(answer) {
        AfterCreate::Running(task_id) => {
            upstream_works(lifecycle).await;
            key_works(lifecycle, index).await;
            let first_look = after(
                lifecycle
                    .settings
                    .poll
                    .delay(lifecycle.settings.expected.for_model(&generation.model), 0),
            );
            tracing::info!(generation = %id, task = %task_id, "sent upstream");
            let accepted = lifecycle
                .store
                .record_accepted(id, task_id.as_str(), first_look)
                .await;
            lifecycle.wake.track.notify_one();
            accepted.map(drop)
        }
        AfterCreate::RetryLater {
            reason,
            rate_limited: true,
        } => {
            tracing::warn!(generation = %id, %reason, "upstream rate limit hit; waiting a full window");
            upstream_works(lifecycle).await;
            key.creates.saturate().await;
            lifecycle
                .store
                .record_not_sent(id, after(lifecycle.settings.rate_limit.per), None)
                .await
                .map(drop)
        }
        AfterCreate::RetryLater {
            reason,
            rate_limited: false,
        } => {
            tracing::warn!(generation = %id, %reason, "upstream unavailable; will retry");
            lifecycle.upstream_log.record("create", &reason);
            if lifecycle.gate.faltered() {
                refused_for_now(lifecycle, &generation, &reason).await
            } else {
                let backoff = RETRY_BACKOFF.saturating_mul(generation.dispatch_attempts.min(6));
                lifecycle
                    .store
                    .record_not_sent(&generation.id, after(backoff), Some(&reason))
                    .await
                    .map(drop)
            }
        }
        AfterCreate::WaitForOperator { reason } | AfterCreate::OutOfCredits { reason }
            if lifecycle.keys.is_several() =>
        {
            key_refused(lifecycle, &generation, index, &reason).await
        }
        AfterCreate::WaitForOperator { reason } => {
            tracing::error!(generation = %id, %reason,
                "UPSTREAM REFUSES NEW GENERATIONS until the operator acts (Kie key, balance or spending cap)");
            lifecycle.upstream_log.record("create", &reason);
            lifecycle.wake.guard.notify_one();
            refused_for_now(lifecycle, &generation, &reason).await
        }
        AfterCreate::OutOfCredits { reason } => {
            tracing::error!(generation = %id, %reason,
                "KIE REFUSES NEW GENERATIONS FOR LACK OF CREDITS: dispatch suspended until its balance is topped up");
            lifecycle.upstream_log.record("create", &reason);
            lifecycle.gate.suspend_for_kie_refusal(&reason);
            lifecycle.wake.guard.notify_one();
            keep_queued(lifecycle, &generation, &reason).await
        }
        AfterCreate::Fail(failure) => {
            tracing::info!(generation = %id, reason = %failure.detail, "upstream refused the generation");
            upstream_works(lifecycle).await;
            key_works(lifecycle, index).await;
            settle::fail(lifecycle, &generation, Why::Refused, failure).await;
            Ok(())
        }
        AfterCreate::Unknown { reason } => {
            tracing::warn!(generation = %id, %reason,
                "create outcome unknown: not resending; waiting for a callback to reveal the task");
            lifecycle.upstream_log.record("create", &reason);
            lifecycle
                .store
                .record_outcome_unknown(id, &reason, after(lifecycle.settings.unconfirmed_wait))
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

/// Kie refused one of several keys (bad key, no credit, spending cap): the key leaves the
/// rotation for a pause and this generation goes out again at once, with another key. Only
/// when every key is refused does dispatch stop as it does with one key.
async fn key_refused(
    lifecycle: &Lifecycle,
    generation: &Generation,
    index: usize,
    reason: &str,
) -> Result<(), StoreError> {
    let label = lifecycle
        .keys
        .get(index)
        .map_or_else(|| "?".to_owned(), |k| k.label.clone());
    let pause = lifecycle.keys.refuse(index, reason);
    tracing::error!(generation = %generation.id, key = %label, %reason, ?pause,
        "KIE REFUSES THIS KEY (bad key, no credit or spending cap): new generations go to the other keys until the operator acts");
    lifecycle
        .upstream_log
        .record("create", format!("key {label}: {reason}"));
    lifecycle.wake.guard.notify_one();
    if lifecycle.keys.none_usable() {
        tracing::error!("EVERY KIE KEY IS REFUSED: dispatch waits for one to be retried");
        return keep_queued(lifecycle, generation, reason).await;
    }
    lifecycle
        .store
        .record_not_sent(&generation.id, Utc::now(), None)
        .await
        .map(drop)
}

/// One of several keys answered as a working account does: back in the rotation.
async fn key_works(lifecycle: &Lifecycle, index: usize) {
    if lifecycle.keys.is_several() && lifecycle.keys.works(index) {
        let label = lifecycle
            .keys
            .get(index)
            .map_or_else(|| "?".to_owned(), |k| k.label.clone());
        tracing::info!(key = %label, "Kie takes work with this key again");
        if lifecycle.gate.suspension().is_none() && lifecycle.gate.refusal().is_none() {
            if let Err(error) = lifecycle.store.clear_queued_blocked().await {
                tracing::error!(%error, "cannot clear the waiting-for-capacity marks");
            }
        }
    }
}

/// Upstream will not take new work for now (outage, or an account problem only the operator
/// can fix): pause all dispatch, keep this one queued, and start its clock towards failure.
async fn refused_for_now(
    lifecycle: &Lifecycle,
    generation: &Generation,
    reason: &str,
) -> Result<(), StoreError> {
    let pause_for = lifecycle.gate.refused(reason);
    tracing::warn!(pause = ?pause_for, "dispatch paused; one generation will probe when it ends");
    keep_queued(lifecycle, generation, reason).await
}

/// Puts a generation upstream did not take back in the queue, and starts every queued
/// generation's clock towards failure.
async fn keep_queued(
    lifecycle: &Lifecycle,
    generation: &Generation,
    reason: &str,
) -> Result<(), StoreError> {
    // Due again at once: the pause or the suspension, not the row, decides when it goes out.
    lifecycle
        .store
        .record_not_sent(&generation.id, Utc::now(), Some(reason))
        .await?;
    lifecycle.store.mark_queued_blocked(reason).await
}

/// Upstream answered as a working service does, so a probe that gets any such answer ends
/// the pause (not only one that creates a task: a probe refused for its own content says
/// just as much).
async fn upstream_works(lifecycle: &Lifecycle) {
    if lifecycle.gate.works() {
        tracing::info!("upstream accepts new generations again");
        if lifecycle.gate.suspension().is_none() {
            if let Err(error) = lifecycle.store.clear_queued_blocked().await {
                tracing::error!(%error, "cannot clear the waiting-for-capacity marks");
            }
        }
    }
}

/// Generations that have waited longer than the operator allows for upstream to take work
/// again fail, and their credits go back.
async fn fail_long_blocked(lifecycle: &Lifecycle) -> Result<(), StoreError> {
    let before = Utc::now()
        - chrono::Duration::from_std(lifecycle.settings.upstream_wait)
            .unwrap_or(chrono::Duration::MAX);
    for generation in lifecycle.store.blocked_before(before, 100).await? {
        let reason = generation.blocked_reason.clone().unwrap_or_default();
        settle::fail(
            lifecycle,
            &generation,
            Why::WaitedTooLong,
            Failure::no_capacity(reason),
        )
        .instrument(span(&generation.id))
        .await;
    }
    Ok(())
}

async fn resolve(lifecycle: &Lifecycle, generation: &Generation) -> Result<(), StoreError> {
    match generation.dispatch {
        // The worker sending it stopped (a crash, a kill) before recording Kie's answer.
        Dispatch::Sending => {
            tracing::warn!(generation = %generation.id,
                "found a create sent by a stopped worker; waiting for a callback to reveal it");
            lifecycle
                .store
                .record_outcome_unknown(
                    &generation.id,
                    "reelgate stopped while sending",
                    after(lifecycle.settings.unconfirmed_wait),
                )
                .await?;
        }
        _ => {
            let failure = Failure::never_confirmed();
            settle::fail(lifecycle, generation, Why::NeverConfirmed, failure).await;
        }
    }
    Ok(())
}
