//! Sends queued webhook deliveries: signed, to the address checked just now (not whatever
//! the name resolves to by the time we connect), retried with backoff for a day. A success's
//! delivery is composed at its first attempt, once reelgate has copied the videos, so that it
//! carries reelgate's links rather than Kie's temporary files.
//!
//! Customers do not wait on each other: each has a share of the slots (`share`), and an
//! endpoint that keeps failing is put off as a whole (`circuit`) instead of taking slots.

use chrono::{DateTime, Utc};
use reelgate_store::{queues, StoreError, WebhookDelivery};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use url::Url;

use super::circuit::Gate;
use super::event::{EventType, WebhookEvent};
use super::share::{self, InFlight};
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
pub struct Deliverer {
    lifecycle: Arc<Lifecycle>,
    links: MediaLinks,
    in_flight: InFlight,
}

impl Deliverer {
    pub fn new(lifecycle: Arc<Lifecycle>, links: MediaLinks) -> Deliverer {
        Deliverer {
            lifecycle,
            links,
            in_flight: InFlight::default(),
        }
    }

    /// Gives up on what a customer has pending past the cap, at once: a customer's endpoint
    /// that stalls must not let its queue grow without bound.
    async fn enforce_cap(&self, backlog: &reelgate_store::WebhookBacklog) {
        let cap = self.lifecycle.settings.webhook_pending_cap;
        if backlog.pending <= u64::from(cap) {
            return;
        }
        match self
            .lifecycle
            .store
            .give_up_webhooks_over(&backlog.user_id, cap)
            .await
        {
            Ok(n) => tracing::warn!(user = %backlog.user_id, given_up = n, cap,
                "too many webhook deliveries pending for one customer: gave up on the newest"),
            Err(error) => tracing::error!(user = %backlog.user_id, %error,
                "cannot give up on the webhook deliveries past the cap"),
        }
    }
}

impl Worker for Deliverer {
    type Job = WebhookDelivery;
    const NAME: &'static str = "webhooks";
    const PARALLEL: usize = 16;

    async fn claim(&self, limit: u32) -> Result<Claimed<WebhookDelivery>, StoreError> {
        let lease = self.lifecycle.settings.claim_lease;
        // Customers whose share is all in flight come first in the list too; ask for enough
        // to find `limit` others behind them.
        let wanted = limit.saturating_add(self.in_flight.customers());
        let backlogs = self.lifecycle.store.webhook_backlogs(wanted).await?;
        for backlog in &backlogs {
            self.enforce_cap(backlog).await;
        }
        let mut jobs = Vec::new();
        for (user, n) in share::split(&backlogs, &self.in_flight, limit) {
            match self
                .lifecycle
                .store
                .claim_webhooks_of(&user, n, lease)
                .await
            {
                Ok(claimed) => {
                    self.in_flight.started(&user, claimed.len());
                    jobs.extend(claimed);
                }
                // Those claimed already are worked on; the rest wait for the next claim.
                Err(error) if !jobs.is_empty() => {
                    tracing::error!(%error, "cannot claim a customer's webhook deliveries");
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        if jobs.is_empty() && !backlogs.is_empty() {
            // Due, but each customer's share is in flight: a finished delivery nudges.
            return Ok(Claimed::Blocked);
        }
        Ok(Claimed::Jobs(jobs))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.lifecycle.store.next_due(&queues::WEBHOOKS).await
    }

    fn nudge(&self) -> &Notify {
        &self.lifecycle.wake.webhooks
    }

    async fn work(&self, delivery: WebhookDelivery) {
        let span = tracing::info_span!("generation", generation = %delivery.generation_id);
        let user = delivery.user_id.clone();
        attempt(&self.lifecycle, &self.links, delivery)
            .instrument(span)
            .await;
        self.in_flight.finished(&user);
        self.lifecycle.wake.webhooks.notify_one();
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
    lifecycle: &Lifecycle,
    links: &MediaLinks,
    delivery: &WebhookDelivery,
) -> Result<Composed, String> {
    let id: GenerationId = delivery
        .generation_id
        .parse()
        .map_err(|e| format!("bad generation id: {e}"))?;
    let generation = lifecycle
        .store
        .generation(&id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the generation no longer exists")?;
    let copies = lifecycle
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

async fn attempt(lifecycle: &Lifecycle, links: &MediaLinks, mut delivery: WebhookDelivery) {
    let circuits = &lifecycle.webhook_circuits;
    if let Gate::Defer(until) = circuits.gate(&delivery.user_id, &delivery.url) {
        // Not sent, so not an attempt: the endpoint is failing, and this waits with the rest.
        if let Err(error) = lifecycle.store.defer_webhook(&delivery.id, until).await {
            tracing::error!(delivery = %delivery.id, %error, "cannot defer the webhook");
        }
        return;
    }
    let outcome = if delivery.payload.is_empty() {
        match compose(lifecycle, links, &delivery).await {
            Ok(Composed::Waiting) => {
                if let Err(error) = lifecycle
                    .store
                    .defer_webhook(&delivery.id, after(COPY_POLL))
                    .await
                {
                    tracing::error!(delivery = %delivery.id, %error, "cannot defer the webhook");
                }
                // The copier makes waiting deliveries due when a copy is made, but not this one
                // if the copy was made while it was being composed: look once more.
                if let Ok(Composed::Ready(_)) = compose(lifecycle, links, &delivery).await {
                    if let Err(error) = lifecycle
                        .store
                        .webhooks_ready(&delivery.generation_id)
                        .await
                    {
                        tracing::warn!(delivery = %delivery.id, %error, "cannot make the webhook due");
                    }
                    lifecycle.wake.webhooks.notify_one();
                }
                return;
            }
            Ok(Composed::Ready(payload)) => {
                match lifecycle
                    .store
                    .compose_webhook(&delivery.id, &payload)
                    .await
                {
                    Ok(()) => {
                        delivery.payload = payload;
                        send(lifecycle, &delivery).await
                    }
                    Err(error) => Err(format!("cannot save the composed payload: {error}")),
                }
            }
            Err(error) => Err(format!("cannot compose the payload: {error}")),
        }
    } else {
        send(lifecycle, &delivery).await
    };
    let delivered = if outcome.is_ok() {
        "delivered"
    } else {
        "failed"
    };
    metrics::counter!("reelgate_webhook_attempts_total", "outcome" => delivered).increment(1);
    let (error, retry_at) = match &outcome {
        Ok(()) => {
            circuits.succeeded(&delivery.user_id, &delivery.url);
            (None, None)
        }
        Err(error) => {
            let age = (Utc::now() - delivery.created_at)
                .to_std()
                .unwrap_or_default();
            let wait =
                BACKOFF[(delivery.attempts.saturating_sub(1) as usize).min(BACKOFF.len() - 1)];
            let open_until = circuits.failed(&delivery.user_id, &delivery.url, error);
            if let Some(until) = open_until {
                put_off_endpoint(lifecycle, &delivery, until).await;
            }
            let retry_at = (age + wait <= KEEP_TRYING_FOR)
                .then(|| after(wait).max(open_until.unwrap_or_default()));
            tracing::warn!(delivery = %delivery.id, generation = %delivery.generation_id,
                attempts = delivery.attempts, %error, will_retry = retry_at.is_some(), "webhook not delivered");
            (Some(error.as_str()), retry_at)
        }
    };
    if let Err(error) = lifecycle
        .store
        .record_webhook_attempt(&delivery.id, error, retry_at)
        .await
    {
        tracing::error!(delivery = %delivery.id, %error, "cannot record the webhook attempt");
    }
}

/// The endpoint's circuit is open: its other pending deliveries wait until it closes, here
/// and on every instance, instead of each taking a slot to fail.
async fn put_off_endpoint(lifecycle: &Lifecycle, delivery: &WebhookDelivery, until: DateTime<Utc>) {
    match lifecycle
        .store
        .defer_endpoint_webhooks(&delivery.user_id, &delivery.url, until)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::warn!(user = %delivery.user_id, url = %delivery.url, deferred = n,
            %until, "webhook endpoint keeps failing: its deliveries wait"),
        Err(error) => tracing::error!(%error, "cannot put off a failing endpoint's webhooks"),
    }
}

async fn send(lifecycle: &Lifecycle, delivery: &WebhookDelivery) -> Result<(), String> {
    let url = Url::parse(&delivery.url).map_err(|e| format!("bad URL: {e}"))?;
    // Checked again now: the name may point somewhere else than at submission.
    let addrs = lifecycle
        .outbound
        .resolve(&url)
        .await
        .map_err(|e| format!("refused: {e}"))?;
    let secret = lifecycle
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
        .timeout(TIMEOUT.min(lifecycle.settings.claim_lease / 2))
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
