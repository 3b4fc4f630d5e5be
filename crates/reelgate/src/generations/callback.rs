//! Kie's callbacks. Each is only a hint: it must carry the generation's token, and even then
//! the outcome is confirmed with the status endpoint before anything is settled.

use chrono::Utc;
use kie::Callback;
use reelgate_domain::generations::lifecycle::transition;
use reelgate_domain::generations::{Event, GenerationId};
use reelgate_store::StoreError;

use super::lifecycle::Lifecycle;
use tracing::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum CallbackRefused {
    #[error("no such generation")]
    Unknown,
    #[error("wrong callback token")]
    Forged,
    #[error("missing or wrong Kie webhook signature")]
    Unsigned,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Kie's webhook signature headers as received, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct KieSignature<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

pub async fn receive(
    lifecycle: &Lifecycle,
    id: &str,
    token: &str,
    signed: KieSignature<'_>,
    body: &[u8],
) -> Result<(), CallbackRefused> {
    let id: GenerationId = id.parse().map_err(|_| CallbackRefused::Unknown)?;
    let span = super::lifecycle::span(&id);
    receive_for(lifecycle, id, token, signed, body)
        .instrument(span)
        .await
}

async fn receive_for(
    lifecycle: &Lifecycle,
    id: GenerationId,
    token: &str,
    signed: KieSignature<'_>,
    body: &[u8],
) -> Result<(), CallbackRefused> {
    if !lifecycle.tokens.verify(&id, token) {
        tracing::warn!(generation = %id, "refused a callback with a wrong token");
        return Err(CallbackRefused::Forged);
    }
    let callback = Callback::parse(body);
    let task_id = callback
        .as_ref()
        .ok()
        .map(|c| c.task_id.as_str().to_owned());
    // The signature covers the task id, not the body: it proves Kie sent a callback about
    // that task, and nothing more, so the outcome is still read from Kie.
    if !lifecycle
        .tokens
        .kie_signature_holds(task_id.as_deref(), signed.timestamp, signed.signature)
    {
        tracing::warn!(generation = %id, "refused a callback without Kie's valid signature");
        return Err(CallbackRefused::Unsigned);
    }
    let generation = lifecycle
        .store
        .generation(&id)
        .await?
        .ok_or(CallbackRefused::Unknown)?;
    let can = |event| {
        generation
            .state()
            .is_ok_and(|state| transition(state, event).is_ok())
    };
    if can(Event::CallbackHint) {
        // An upscale sold after the fact tracks the original's task under its own id
        // (`<task>:4k:<generation>`); Kie's 4K callback names the original task.
        let of_upscale = |named: &str| {
            generation
                .upstream_task_id
                .as_deref()
                .is_some_and(|own| own.starts_with(&format!("{named}:4k:")))
        };
        if task_id.as_deref().is_some_and(|named| {
            Some(named) != generation.upstream_task_id.as_deref() && !of_upscale(named)
        }) {
            tracing::warn!(generation = %id, "callback names another task; ignored");
            return Ok(());
        }
        lifecycle.store.check_now(&id).await?;
        lifecycle.wake.track.notify_one();
    } else if can(Event::UpstreamAccepted) {
        // The create's answer was lost (or is still on its way), and Kie tells us the task:
        // adopt it; the tracker confirms its state before settling.
        if let Some(task_id) = task_id {
            if lifecycle
                .store
                .record_accepted(&id, &task_id, Utc::now())
                .await?
            {
                tracing::info!(generation = %id, task = %task_id, "a callback revealed the upstream task");
            } else {
                // The dispatcher recorded Kie's answer in the meantime, with a first look
                // scheduled near the model's usual duration: the task has ended already.
                lifecycle.store.check_now(&id).await?;
            }
            lifecycle.wake.track.notify_one();
        }
    } else {
        // Late or duplicated: the generation has already moved on.
        tracing::debug!(generation = %id, status = %generation.status, "callback ignored");
    }
    if let Err(error) = callback {
        tracing::debug!(generation = %id, %error, "callback body not understood; treated as a hint");
    }
    Ok(())
}
