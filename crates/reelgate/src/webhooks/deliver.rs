//! Sends queued webhook deliveries: signed, to the address checked just now (not whatever
//! the name resolves to by the time we connect), retried with backoff for a day. A success's
//! delivery is composed at its first attempt, once reelgate has copied the videos, so that it
//! carries reelgate's links rather than Kie's temporary files.

use chrono::{DateTime, Utc};
use reelgate_store::{queues, StoreError, WebhookDelivery};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use url::Url;

use super::event::{EventType, WebhookEvent};
use super::signature;
use crate::generations::lifecycle::Lifecycle;
use crate::media::{present, MediaLinks};
use crate::worker::{after, Claimed, Worker};
use reelgate_domain::generations::GenerationId;
use reelgate_domain::media::MediaState;
use tracing::Instrument;

/// The longest a customer's endpoint gets to answer (less, if the claim lease is short).
const TIMEOUT: Duration = Duration::from_secs(10);
const KEEP_TRYING_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long a success's webhook waits for the first attempt at reelgate's copies of its
/// videos before it is sent with what there is (a stuck copy must not hold the news back).
const COPY_WAIT: Duration = Duration::from_secs(300);
/// How often a waiting delivery looks again (the copier also wakes it when a copy is made).
const COPY_POLL: Duration = Duration::from_secs(2);
const BACKOFF: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(8 * 3600),
];

/// Sends the customer webhooks that are due. Successes carry reelgate's links to the
/// copies, so it signs them with the media's signer.
pub struct Deliverer(pub Arc<Lifecycle>, pub MediaLinks);

impl Worker for Deliverer {
    type Job = WebhookDelivery;
    const NAME: &'static str = "webhooks";
    const PARALLEL: usize = 16;

    async fn claim(&self, limit: u32) -> Result<Claimed<WebhookDelivery>, StoreError> {
        let lease = self.0.settings.claim_lease;
        Ok(Claimed::Jobs(
            self.0.store.claim(&queues::WEBHOOKS, limit, lease).await?,
        ))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.0.store.next_due(&queues::WEBHOOKS).await
    }

    fn nudge(&self) -> &Notify {
        &self.0.wake.webhooks
    }

    async fn work(&self, delivery: WebhookDelivery) {
        let span = tracing::info_span!("generation", generation = %delivery.generation_id);
        attempt(&self.0, &self.1, delivery).instrument(span).await;
    }
}

/// What a delivery is to send, or that it is still waiting for copies.
enum Composed {
    Ready(String),
    Waiting,
}

/// The payload of an uncomposed delivery: the generation as `GET` shows it now, with
/// reelgate's links, or `Waiting` while a copy is still being made (for up to `COPY_WAIT`).
async fn compose(
    lc: &Lifecycle,
    links: &MediaLinks,
    delivery: &WebhookDelivery,
) -> Result<Composed, String> {
    let id: GenerationId = delivery
        .generation_id
        .parse()
        .map_err(|e| format!("bad generation id: {e}"))?;
    let generation = lc
        .store
        .generation(&id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the generation no longer exists")?;
    let copies = lc
        .store
        .media_of(std::slice::from_ref(&id))
        .await
        .map_err(|e| e.to_string())?;
    // Only a first attempt is waited for: a copy that has failed once retries over minutes,
    // and the news goes out now with Kie's link for that video.
    let copying = copies
        .iter()
        .any(|c| c.state == MediaState::Pending && c.last_error.is_none());
    let age = (Utc::now() - delivery.created_at)
        .to_std()
        .unwrap_or_default();
    if copying && age < COPY_WAIT {
        return Ok(Composed::Waiting);
    }
    let event_type = EventType::parse(&delivery.event_type)
        .ok_or_else(|| format!("unknown event type {}", delivery.event_type))?;
    let own: Vec<_> = copies.iter().collect();
    let event = WebhookEvent {
        event_type,
        timestamp: Utc::now(),
        generation: present::present(&generation, &own, links, Utc::now()),
    };
    serde_json::to_string(&event)
        .map(Composed::Ready)
        .map_err(|e| e.to_string())
}

async fn attempt(lc: &Lifecycle, links: &MediaLinks, mut delivery: WebhookDelivery) {
    let outcome = if delivery.payload.is_empty() {
        match compose(lc, links, &delivery).await {
            Ok(Composed::Waiting) => {
                if let Err(error) = lc.store.defer_webhook(&delivery.id, after(COPY_POLL)).await {
                    tracing::error!(delivery = %delivery.id, %error, "cannot defer the webhook");
                }
                return;
            }
            Ok(Composed::Ready(payload)) => {
                match lc.store.compose_webhook(&delivery.id, &payload).await {
                    Ok(()) => {
                        delivery.payload = payload;
                        send(lc, &delivery).await
                    }
                    Err(error) => Err(format!("cannot save the composed payload: {error}")),
                }
            }
            Err(error) => Err(format!("cannot compose the payload: {error}")),
        }
    } else {
        send(lc, &delivery).await
    };
    let delivered = if outcome.is_ok() {
        "delivered"
    } else {
        "failed"
    };
    metrics::counter!("reelgate_webhook_attempts_total", "outcome" => delivered).increment(1);
    let (error, retry_at) = match &outcome {
        Ok(()) => (None, None),
        Err(error) => {
            let age = (Utc::now() - delivery.created_at)
                .to_std()
                .unwrap_or_default();
            let wait =
                BACKOFF[(delivery.attempts.saturating_sub(1) as usize).min(BACKOFF.len() - 1)];
            let retry_at = (age + wait <= KEEP_TRYING_FOR).then(|| after(wait));
            tracing::warn!(delivery = %delivery.id, generation = %delivery.generation_id,
                attempts = delivery.attempts, %error, will_retry = retry_at.is_some(), "webhook not delivered");
            (Some(error.as_str()), retry_at)
        }
    };
    if let Err(error) = lc
        .store
        .record_webhook_attempt(&delivery.id, error, retry_at)
        .await
    {
        tracing::error!(delivery = %delivery.id, %error, "cannot record the webhook attempt");
    }
}

async fn send(lc: &Lifecycle, delivery: &WebhookDelivery) -> Result<(), String> {
    let url = Url::parse(&delivery.url).map_err(|e| format!("bad URL: {e}"))?;
    // Checked again now: the name may point somewhere else than at submission.
    let addrs = lc
        .outbound
        .resolve(&url)
        .await
        .map_err(|e| format!("refused: {e}"))?;
    let secret = lc
        .store
        .webhook_secret(&delivery.user_id)
        .await
        .map_err(|e| format!("no signing secret: {e}"))?;
    let signed = signature::sign(
        secret.expose(),
        &delivery.id,
        Utc::now().timestamp(),
        delivery.payload.as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut client = reqwest::Client::builder()
        .timeout(TIMEOUT.min(lc.settings.claim_lease / 2))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(host) = url.host_str() {
        client = client.resolve_to_addrs(host, &addrs);
    }
    let client = client.build().map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &signed.id)
        .header("webhook-timestamp", signed.timestamp.to_string())
        .header("webhook-signature", &signed.signature)
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if response.status().is_success() {
        tracing::info!(delivery = %delivery.id, generation = %delivery.generation_id, "webhook delivered");
        Ok(())
    } else {
        Err(format!("answered HTTP {}", response.status().as_u16()))
    }
}
