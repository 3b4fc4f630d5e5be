//! Sends queued webhook deliveries: signed, to the address checked just now (not whatever
//! the name resolves to by the time we connect), retried with backoff for a day.

use chrono::{DateTime, Utc};
use reelgate_store::{queues, StoreError, WebhookDelivery};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use url::Url;

use super::signature;
use crate::generations::lifecycle::Lifecycle;
use crate::worker::{after, Claimed, Worker};
use tracing::Instrument;

/// The longest a customer's endpoint gets to answer (less, if the claim lease is short).
const TIMEOUT: Duration = Duration::from_secs(10);
const KEEP_TRYING_FOR: Duration = Duration::from_secs(24 * 3600);
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

/// Sends the customer webhooks that are due.
pub struct Deliverer(pub Arc<Lifecycle>);

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
        attempt(&self.0, delivery).instrument(span).await;
    }
}

async fn attempt(lc: &Lifecycle, delivery: WebhookDelivery) {
    let outcome = send(lc, &delivery).await;
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
