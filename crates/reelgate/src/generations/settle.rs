//! Settling: the one way a generation ends, whichever worker finds out (dispatch, the
//! resolver, the tracker, the 4K upgrade, a model's pause).
//!
//! The step is checked against the domain's lifecycle first (a caller holding a stale row
//! asks for nothing the machine has no arrow for), then written by the store in one
//! transaction — the conditional state change, the ledger's charge or refund, the webhook
//! and mail rows, the media copies — so it happens exactly once however workers race. What
//! the step's effects ask of this process (waking the webhook deliverer, the 1080p fetcher,
//! dispatch for the slot freed) happens here.

use reelgate_domain::generations::lifecycle::transition;
use reelgate_domain::generations::{Effect, Event, Generation, GenerationError, Video, Why};
use reelgate_store::Outcome;

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
    let effects = match generation.state().map(|state| transition(state, event)) {
        Ok(Ok((_, effects))) => effects,
        Ok(Err(illegal)) => {
            tracing::debug!(generation = %id, %illegal, "not settled: it had moved on");
            return None;
        }
        // Columns no generation should have: the store's guard decides, as for any row.
        Err(error) => {
            tracing::error!(generation = %id, %error, "settling a generation in no known state");
            &[Effect::Webhook, Effect::FetchHd]
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
            tracing::info!(generation = %settled.id, status = %settled.status, "generation settled");
            metrics::counter!("reelgate_generations_settled_total",
                "status" => settled.status.to_string(), "model" => settled.model.clone())
            .increment(1);
            if effects.contains(&Effect::Webhook) {
                lifecycle.wake.webhooks.notify_one();
            }
            if effects.contains(&Effect::FetchHd) {
                lifecycle.wake.hd.notify_one();
            }
            // A slot upstream, or a place in the queue, is free.
            lifecycle.wake.dispatch.notify_one();
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
