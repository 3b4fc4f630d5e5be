//! A model the upstream withdraws or disables, paused on its own while the others run.
//!
//! Kie says a model is gone in three ways: a 505 ("feature disabled"), a refusal whose words
//! name the model as unsupported or disabled, or 422s for that model time after time while
//! other models' creates go through. Any of them pauses the model in the database (so every
//! instance stops sending it, and a restart does not forget it), fails and refunds what was
//! queued for it, refuses new submissions of it, and tells the operator. When the pause is
//! over one generation is let through as the probe: a task created ends the pause, another
//! refusal doubles it (the same arithmetic as `refusal.rs`). The operator may resume it by
//! hand at any time.

use chrono::Utc;
use kie::KieError;
use reelgate_domain::generations::{Generation, GenerationId, Why};
use reelgate_store::{ModelPause, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

use super::decide::Failure;
use super::lifecycle::{span, Lifecycle};
use super::refusal::{self, Refusal};

/// Pauses are read from the database at most this often per instance: a pause another
/// instance starts is seen within it (and a generation sent meanwhile is refused by Kie,
/// which pauses it here too).
const FRESH_FOR: Duration = Duration::from_secs(1);
/// 422s in a row for one model, while another model's create went through lately, that mean
/// the upstream no longer takes the model rather than that one request was wrong.
const REFUSALS_IN_A_ROW: u32 = 3;
/// How recent the other model's accepted create must be for the 422s to single this one out.
const OTHERS_PASSED_WITHIN: Duration = Duration::from_secs(600);
/// The longest pause, however many probes were refused.
const LONGEST: Duration = Duration::from_secs(24 * 3600);
/// Queued generations failed per statement when a model is paused, and at most this many
/// statements at once.
const FAIL_BATCH: u32 = 200;
const FAIL_ROUNDS: u32 = 50;

/// What the customer reads, on the API and in the web app, for a paused model.
pub const CUSTOMER_REASON: &str =
    "This model is temporarily unavailable: the video service has stopped taking it for now.";

/// This instance's view of the paused models and of the refusals that may lead to a pause.
#[derive(Default)]
pub struct ModelPauses {
    cache: Mutex<Option<(Instant, Arc<Vec<ModelPause>>)>>,
    /// Per model: 422s in a row since its last accepted create.
    invalid_in_a_row: Mutex<HashMap<String, u32>>,
    /// Per model: when a create of it was last accepted here.
    last_accepted: Mutex<HashMap<String, Instant>>,
}

impl ModelPauses {
    fn forget(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            *cache = None;
        }
    }

    fn cached(&self) -> Option<Arc<Vec<ModelPause>>> {
        let cache = self.cache.lock().ok()?;
        cache
            .as_ref()
            .filter(|(read, _)| read.elapsed() < FRESH_FOR)
            .map(|(_, pauses)| Arc::clone(pauses))
    }

    /// Every paused model, at most [`FRESH_FOR`] old.
    pub async fn current(&self, lifecycle: &Lifecycle) -> Result<Arc<Vec<ModelPause>>, StoreError> {
        if let Some(pauses) = self.cached() {
            return Ok(pauses);
        }
        let pauses = Arc::new(lifecycle.store.model_pauses().await?);
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((Instant::now(), Arc::clone(&pauses)));
        }
        Ok(pauses)
    }

    /// The models a new generation is refused for now (for `GET /v1/models` and the web app).
    pub async fn refused_models(&self, lifecycle: &Lifecycle) -> Vec<String> {
        let now = Utc::now();
        match self.current(lifecycle).await {
            Ok(pauses) => pauses
                .iter()
                .filter(|p| p.refuses_at(now))
                .map(|p| p.model.clone())
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "cannot read the paused models");
                Vec::new()
            }
        }
    }

    fn note_accepted(&self, model: &str) {
        if let Ok(mut counts) = self.invalid_in_a_row.lock() {
            counts.remove(model);
        }
        if let Ok(mut last) = self.last_accepted.lock() {
            last.insert(model.to_owned(), Instant::now());
        }
    }

    /// A 422 for `model`: true once they come in a row while other models pass.
    fn note_invalid(&self, model: &str) -> bool {
        let in_a_row = match self.invalid_in_a_row.lock() {
            Ok(mut counts) => {
                let count = counts.entry(model.to_owned()).or_default();
                *count += 1;
                *count
            }
            Err(_) => return false,
        };
        let others_pass = self.last_accepted.lock().is_ok_and(|last| {
            last.iter()
                .any(|(m, at)| m != model && at.elapsed() < OTHERS_PASSED_WITHIN)
        });
        in_a_row >= REFUSALS_IN_A_ROW && others_pass
    }
}

/// Whether the upstream's answer says it no longer takes the model (its catalog id and wire
/// name both count as naming it).
pub fn withdraws(error: &KieError, model: &str, wire_model: &str) -> bool {
    match error {
        KieError::FeatureDisabled { .. } => true,
        KieError::InvalidRequest { message, .. } => {
            let said = message.to_lowercase();
            let names_model = said.contains(&model.to_lowercase())
                || said.contains(&wire_model.to_lowercase())
                || said.contains("model");
            let gone = [
                "not supported",
                "unsupported",
                "disabled",
                "deprecated",
                "withdrawn",
                "no longer",
                "not available",
                "unavailable",
                "offline",
                "does not exist",
            ]
            .iter()
            .any(|word| said.contains(word));
            names_model && gone
        }
        _ => false,
    }
}

/// What a paused model's pause says of a new generation of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Not paused.
    Open,
    /// The pause is over and this generation is its probe (to be given back if the
    /// submission fails).
    Probe,
    /// Refused; the pause ends (or the probe is answered) in about this long.
    Refused { retry_after: Duration },
}

/// Whether a new generation of `model` may be submitted now; the probe, when the pause is
/// over, is taken for `generation`.
pub async fn admits(
    lifecycle: &Lifecycle,
    model: &str,
    generation: &GenerationId,
) -> Result<Admission, StoreError> {
    let pauses = lifecycle.model_pauses.current(lifecycle).await?;
    let Some(pause) = pauses.iter().find(|p| p.model == model) else {
        return Ok(Admission::Open);
    };
    let now = Utc::now();
    if pause.probe_at > now {
        let left = (pause.probe_at - now).to_std().unwrap_or_default();
        return Ok(Admission::Refused {
            retry_after: left.max(Duration::from_secs(1)),
        });
    }
    let taken = lifecycle.store.take_model_probe(model, generation).await?;
    lifecycle.model_pauses.forget();
    if !taken {
        return Ok(Admission::Refused {
            retry_after: lifecycle.settings.model_pause,
        });
    }
    tracing::info!(%model, %generation, "a paused model's pause is over: this generation probes it");
    Ok(Admission::Probe)
}

/// Whether `generation`, claimed to be sent, may go: its model is not paused, or it is the
/// model's probe.
pub async fn may_send(lifecycle: &Lifecycle, generation: &Generation) -> Result<bool, StoreError> {
    let pauses = lifecycle.model_pauses.current(lifecycle).await?;
    if !pauses.iter().any(|p| p.model == generation.model) {
        return Ok(true);
    }
    // Paused as far as this instance knows: the stored row decides (the probe is recent).
    Ok(
        match lifecycle.store.model_pause(&generation.model).await? {
            None => true,
            Some(pause) => pause.probe.is_some_and(|(probe, _)| probe == generation.id),
        },
    )
}

/// The upstream took a create of `model`: a pause of it (the probe's) is over.
pub async fn accepted(lifecycle: &Lifecycle, model: &str) {
    lifecycle.model_pauses.note_accepted(model);
    let paused = match lifecycle.model_pauses.current(lifecycle).await {
        Ok(pauses) => pauses.iter().any(|p| p.model == model),
        Err(_) => true,
    };
    if !paused {
        return;
    }
    match lifecycle.store.resume_model(model).await {
        Ok(true) => {
            tracing::warn!(%model, "the upstream takes this model again: it is offered again");
            lifecycle
                .upstream_log
                .record("model", format!("{model}: taken again; offered again"));
        }
        Ok(false) => {}
        Err(error) => tracing::error!(%model, %error, "cannot resume a paused model"),
    }
    lifecycle.model_pauses.forget();
}

/// A create of `generation` was refused: true if the refusal withdraws its model, which is
/// then paused (everything queued for it failed and refunded). The caller fails this one.
/// `counts_invalid`: whether a 422 counts towards the ones in a row that withdraw the model
/// (not for an extension, which Kie may refuse for the video it continues).
pub async fn refused(
    lifecycle: &Lifecycle,
    generation: &Generation,
    error: &KieError,
    wire: &str,
    counts_invalid: bool,
) -> bool {
    let model = generation.model.as_str();
    let withdrawn = withdraws(error, model, wire)
        || (counts_invalid
            && error.kie_code() == Some(422)
            && lifecycle.model_pauses.note_invalid(model));
    if !withdrawn {
        let paused = lifecycle
            .model_pauses
            .current(lifecycle)
            .await
            .map_or(true, |pauses| pauses.iter().any(|p| p.model == model));
        if paused {
            // Refused for its own sake (its content, say): another generation may probe.
            if let Err(error) = lifecycle
                .store
                .give_back_model_probe(model, &generation.id)
                .await
            {
                tracing::warn!(%model, %error, "cannot give a paused model's probe back");
            }
            lifecycle.model_pauses.forget();
        }
        return false;
    }
    let reason = error.to_string();
    match pause(lifecycle, model, &reason).await {
        Ok((for_how_long, true)) => {
            tracing::error!(%model, %reason, pause = ?for_how_long,
                "THE UPSTREAM WITHDREW OR DISABLED THIS MODEL: it is paused, its queued generations are refunded, one generation will probe it when the pause ends; the operator may resume it (POST /v1/admin/model-pauses/resume)");
            lifecycle.upstream_log.record(
                "model",
                format!("{model} paused for {} s: {reason}", for_how_long.as_secs()),
            );
            if let Some(alerts) = lifecycle.operator_alerts() {
                let probe_at = crate::worker::after(for_how_long);
                alerts.send_model_paused(model, &reason, probe_at);
                if !alerts.mail_to().is_empty() {
                    let subject = format!("{model} is paused: Kie withdrew or disabled it");
                    let message =
                        crate::balance_guard::alerts::model_paused_message(model, probe_at);
                    crate::mail::operators::alert(
                        &lifecycle.store,
                        alerts.mail_to(),
                        &subject,
                        &message,
                    )
                    .await;
                    lifecycle.wake.mail.notify_one();
                }
            }
        }
        // Refused again within the pause (a create already on its way): said already.
        Ok((_, false)) => {}
        Err(error) => tracing::error!(%model, %error, "cannot pause a withdrawn model"),
    }
    if let Err(error) = fail_queued(lifecycle, model, &generation.id).await {
        tracing::error!(%model, %error, "cannot fail the queued generations of a paused model");
    }
    true
}

/// The failure of a generation whose model is paused.
pub fn failure(detail: impl Into<String>) -> Failure {
    Failure::new("model_unavailable", CUSTOMER_REASON, detail)
}

/// Starts or lengthens the model's pause; returns how long it now lasts, and whether this
/// refusal started or lengthened it.
async fn pause(
    lifecycle: &Lifecycle,
    model: &str,
    reason: &str,
) -> Result<(Duration, bool), StoreError> {
    let first = lifecycle.settings.model_pause;
    // Another instance may write between our read and write: read again, a few times.
    for _ in 0..4 {
        let stored = lifecycle.store.model_pause(model).await?;
        let seen = stored.as_ref().map(|p| p.strikes);
        let running = stored.as_ref().is_some_and(|p| p.probe_at > Utc::now());
        let mut current = stored.map(|p| Refusal::stored(p.since, p.reason, p.probe_at, p.strikes));
        let for_how_long = refusal::refuse(&mut current, reason, first, |p| p.min(LONGEST));
        let Some(next) = current else {
            break;
        };
        if running {
            // Refused again within the pause (a create already on its way): nothing new.
            return Ok((for_how_long, false));
        }
        let row = ModelPause {
            model: model.to_owned(),
            reason: next.reason.clone(),
            since: next.since,
            probe_at: next.until,
            strikes: next.strikes(),
            probe: None,
        };
        if lifecycle.store.put_model_pause(&row, seen).await? {
            lifecycle.model_pauses.forget();
            return Ok((for_how_long, true));
        }
    }
    // Another instance kept writing first: it said so.
    lifecycle.model_pauses.forget();
    Ok((first, false))
}

/// Fails and refunds every queued generation of `model` not yet handed to a sender.
async fn fail_queued(
    lifecycle: &Lifecycle,
    model: &str,
    except: &GenerationId,
) -> Result<(), StoreError> {
    // Bounded, so a settlement that keeps failing cannot spin here: whatever is left is
    // failed the same way when the dispatcher claims it (`may_send`).
    for _ in 0..FAIL_ROUNDS {
        let queued = lifecycle
            .store
            .queued_unsent_of_model(model, FAIL_BATCH)
            .await?;
        let queued: Vec<_> = queued.into_iter().filter(|g| &g.id != except).collect();
        if queued.is_empty() {
            return Ok(());
        }
        for generation in &queued {
            let detail = format!("{model} paused: the upstream withdrew or disabled it");
            super::settle::fail(lifecycle, generation, Why::ModelPaused, failure(detail))
                .instrument(span(&generation.id))
                .await;
        }
    }
    Ok(())
}

/// The operator switches a paused model back on; true if it was paused.
pub async fn resume(lifecycle: &Lifecycle, model: &str) -> Result<bool, StoreError> {
    let resumed = lifecycle.store.resume_model(model).await?;
    lifecycle.model_pauses.forget();
    if resumed {
        tracing::warn!(%model, "the operator resumed a paused model");
        lifecycle
            .upstream_log
            .record("model", format!("{model}: resumed by the operator"));
    }
    Ok(resumed)
}

/// The catalog as customers see it now, and the models in it paused because the upstream
/// withdrew them (shown unavailable, in the customer's words: the operator's reason, Kie's
/// words, stays on the operator's pages).
pub async fn offered(
    lifecycle: &Lifecycle,
    catalog: &reelgate_domain::catalog::Catalog,
) -> (Vec<reelgate_domain::catalog::ModelView>, Vec<String>) {
    let mut models = catalog.view();
    let paused = lifecycle.model_pauses.refused_models(lifecycle).await;
    for model in models
        .iter_mut()
        .filter(|m| paused.iter().any(|p| p == m.id.as_str()))
    {
        model.available = false;
        model.reason = Some(CUSTOMER_REASON.to_owned());
    }
    (models, paused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_naming_the_model_as_gone_withdraws_it_and_others_do_not() {
        let invalid = |message: &str| KieError::InvalidRequest {
            code: 422,
            message: message.into(),
        };
        let model = "sora-2-text-to-video";
        assert!(withdraws(
            &KieError::FeatureDisabled {
                message: "feature disabled".into()
            },
            model,
            model
        ));
        assert!(withdraws(
            &invalid("The model sora-2-text-to-video is not supported"),
            model,
            model
        ));
        assert!(withdraws(&invalid("model is deprecated"), model, model));
        assert!(!withdraws(
            &invalid("aspect_ratio must be one of landscape, portrait"),
            model,
            model
        ));
        assert!(!withdraws(
            &KieError::InvalidRequest {
                code: 400,
                message: "prompt flagged by content policy".into()
            },
            model,
            model
        ));
    }

    #[test]
    fn invalid_requests_in_a_row_withdraw_a_model_only_while_others_pass() {
        let pauses = ModelPauses::default();
        for _ in 0..5 {
            assert!(!pauses.note_invalid("sora-2-text-to-video"));
        }
        pauses.note_accepted("kling-2.6/text-to-video");
        assert!(pauses.note_invalid("sora-2-text-to-video"));
        // An accepted create of the model itself starts its count again.
        pauses.note_accepted("sora-2-text-to-video");
        assert!(!pauses.note_invalid("sora-2-text-to-video"));
        assert!(!pauses.note_invalid("sora-2-text-to-video"));
        assert!(pauses.note_invalid("sora-2-text-to-video"));
    }
}
