//! Settling: the one way a generation ends, whichever worker finds out (dispatch, the
//! resolver, the tracker, the 4K upgrade, a model's pause) or whether the customer cancels.
//!
//! The step is checked against the domain's lifecycle first (a caller holding a stale row
//! asks for nothing the machine has no arrow for), then written by the store in one
//! transaction — the conditional state change, the ledger's charge or refund, the webhook
//! and mail rows, the media copies — so it happens exactly once however workers race. What
//! the step's effects ask of this process (waking the webhook deliverer, the 1080p fetcher,
//! dispatch for the slot freed) happens here.

use reelgate_domain::accounts::UserId;
use reelgate_domain::generations::lifecycle::{transition, IllegalTransition};
use reelgate_domain::generations::{
    Effect, Event, Generation, GenerationError, GenerationId, Video, Why,
};
use reelgate_store::{Canceled, Outcome, StoreError};

use super::decide::Failure;
use super::lifecycle::Lifecycle;

/// The task succeeded with `videos`; `hd_pending`: its 1080p video is still to be fetched.
pub(super) async fn succeed(
    lifecycle: &Lifecycle,
    generation: &Generation,
    videos: Vec<Video>,
    hd_pending: bool,
) -> Option<Generation> {
    let event = Event::TaskSucceeded { hd_pending };
    settle(
        lifecycle,
        generation,
        event,
        Outcome::Succeeded { videos, hd_pending },
    )
    .await
}

/// The generation failed, for `why`; its credits go back.
pub(super) async fn fail(
    lifecycle: &Lifecycle,
    generation: &Generation,
    why: Why,
    failure: Failure,
) -> Option<Generation> {
    let outcome = Outcome::Failed {
        error: GenerationError {
            code: failure.code.to_owned(),
            message: failure.message,
        },
        upstream_error: Some(failure.detail),
    };
    settle(lifecycle, generation, Event::Failed(why), outcome).await
}

async fn settle(
    lifecycle: &Lifecycle,
    generation: &Generation,
    event: Event,
    outcome: Outcome,
) -> Option<Generation> {
    let id = &generation.id;
    let effects = match effects_of(generation, event) {
        Ok(effects) => effects,
        Err(illegal) => {
            tracing::debug!(generation = %id, %illegal, "not settled: it had moved on");
            return None;
        }
    };
    let settled = lifecycle
        .store
        .settle_generation_from(
            id,
            Some(generation.status),
            &outcome,
            crate::webhooks::event::payload,
        )
        .await;
    match settled {
        Ok(Some(settled)) => {
            ended(lifecycle, &settled, effects);
            Some(settled)
        }
        Ok(None) => {
            tracing::debug!(generation = %id, "already settled");
            None
        }
        Err(error) => {
            tracing::error!(generation = %id, %error, "cannot settle; will retry");
            None
        }
    }
}

/// The customer cancels their generation `id`; only one not yet sent can be. Checked and
/// written like any other end, but the caller is a person waiting for the answer, so the
/// store's error is theirs to see rather than a worker's to retry.
pub(super) async fn cancel(
    lifecycle: &Lifecycle,
    user: &UserId,
    id: &GenerationId,
) -> Result<Option<Canceled>, StoreError> {
    let Some(seen) = lifecycle.store.generation_of(user, id).await? else {
        return Ok(None);
    };
    let effects = match effects_of(&seen, Event::Canceled) {
        Ok(effects) => effects,
        // Sent, or ended: the machine has no arrow for it, so nothing is written.
        Err(_) => return Ok(Some(Canceled::TooLate(seen))),
    };
    let canceled = lifecycle
        .store
        .cancel_generation(user, id, crate::webhooks::event::payload)
        .await?;
    if let Some(Canceled::Now(generation)) = &canceled {
        ended(lifecycle, generation, effects);
    }
    Ok(canceled)
}

/// What `event` does to `generation` as last read, or why it cannot happen to it.
fn effects_of(
    generation: &Generation,
    event: Event,
) -> Result<&'static [Effect], IllegalTransition> {
    match generation.state() {
        Ok(state) => transition(state, event).map(|(_, effects)| effects),
        // Columns no generation should have: the store's guard decides, as for any row, and
        // whoever might be waiting for an end is told.
        Err(error) => {
            tracing::error!(generation = %generation.id, %error, "settling a generation in no known state");
            Ok(&[Effect::Webhook, Effect::Mail, Effect::FetchHd])
        }
    }
}

/// After the store wrote the end: counted, and the workers its effects concern woken.
fn ended(lifecycle: &Lifecycle, settled: &Generation, effects: &[Effect]) {
    tracing::info!(generation = %settled.id, status = %settled.status, "generation settled");
    metrics::counter!("reelgate_generations_settled_total",
        "status" => settled.status.to_string(), "model" => settled.model.clone())
    .increment(1);
    if effects.contains(&Effect::Webhook) {
        lifecycle.wake.webhooks.notify_one();
    }
    if effects.contains(&Effect::Mail) {
        lifecycle.wake.mail.notify_one();
    }
    if effects.contains(&Effect::FetchHd) {
        lifecycle.wake.hd.notify_one();
    }
    // A slot upstream, or a place in the queue, is free.
    lifecycle.wake.dispatch.notify_one();
}
