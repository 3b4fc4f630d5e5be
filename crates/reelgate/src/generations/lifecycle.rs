//! The shared state of the background workers, and how they are started and stopped.

use kie::KieClient;
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use url::Url;

use super::callback_token::CallbackTokens;
use super::keys::{KeyPool, KeySetup};
use super::settings::LifecycleSettings;
use crate::outbound::OutboundPolicy;
use reelgate_store::{RateLimit, SlidingWindow};

/// Everything the workers share. One per process; cheap to clone behind an `Arc`.
pub struct Lifecycle {
    pub store: Store,
    /// The first Kie key's client: the only one with one key; the balance guard's with several.
    pub kie: KieClient,
    /// Every Kie key with its own rate window, in-flight count and health.
    pub keys: KeyPool,
    pub settings: LifecycleSettings,
    pub tokens: CallbackTokens,
    pub public_url: Url,
    /// Where files uploaded through Kie's upload API live; image URLs there are trusted.
    pub upload_base_url: String,
    pub outbound: OutboundPolicy,
    /// Status reads, so polling stays within its budget.
    pub(super) status_reads: SlidingWindow,
    pub wake: Wake,
    /// What went wrong with Kie lately, for the operator.
    pub upstream_log: super::upstream_log::UpstreamLog,
    /// Customers' webhook endpoints that failed lately, and which are put off for now.
    pub webhook_circuits: crate::webhooks::circuit::Circuits,
    /// Each model's recent median run time, for the queue's estimates.
    pub(super) run_times: super::eta::RunTimes,
    /// Models the upstream withdrew, paused for every instance (`model_pause.rs`).
    pub model_pauses: super::model_pause::ModelPauses,
    /// Whether creates may go out at all: dispatch's, which the balance guard suspends.
    pub gate: super::dispatch::UpstreamGate,
    /// Dispatch's claims under way, which the queue's estimates read around.
    pub(super) claiming: super::dispatch::Claiming,
    /// The operator's webhook (set by the balance guard, which owns its settings).
    operator_alerts: std::sync::OnceLock<Arc<crate::balance_guard::alerts::OperatorAlerts>>,
    stop: watch::Sender<bool>,
}

/// Nudges that make a worker look at the database now instead of at its next tick.
#[derive(Default)]
pub struct Wake {
    pub dispatch: Notify,
    pub track: Notify,
    pub hd: Notify,
    pub webhooks: Notify,
    /// The mail deliverer: something was queued in the outbox.
    pub mail: Notify,
    /// The balance guard: read Kie's balance now (Kie just refused for lack of credits).
    pub guard: Notify,
}

impl Lifecycle {
    pub fn new(
        store: Store,
        keys: KeySetup,
        settings: LifecycleSettings,
        tokens: CallbackTokens,
        public_url: Url,
        upload_base_url: String,
    ) -> Arc<Self> {
        let outbound = OutboundPolicy {
            allow_private: settings.allow_private_urls,
        };
        let status_budget = RateLimit {
            requests: settings.status_calls_per_minute,
            per: Duration::from_secs(60),
        };
        let kie = keys.first.client.clone();
        let keys = KeyPool::new(keys, &store, &settings);
        let gate = super::dispatch::UpstreamGate::new(settings.upstream_wait);
        Arc::new(Lifecycle {
            kie,
            keys,
            status_reads: SlidingWindow::new(status_budget),
            store,
            settings,
            tokens,
            public_url,
            upload_base_url,
            outbound,
            wake: Wake::default(),
            upstream_log: Default::default(),
            webhook_circuits: Default::default(),
            run_times: Default::default(),
            model_pauses: Default::default(),
            gate,
            claiming: Default::default(),
            operator_alerts: std::sync::OnceLock::new(),
            stop: watch::channel(false).0,
        })
    }

    /// Starts the workers; they run until [`Lifecycle::stop`].
    pub fn start(self: &Arc<Self>) -> JoinSet<()> {
        use super::{dispatch, hd, track};
        use crate::worker::run;
        let mut workers = JoinSet::new();
        let shared = || Arc::clone(self);
        workers.spawn(run(
            Arc::new(dispatch::Dispatcher(shared())),
            self.stopping(),
        ));
        workers.spawn(run(
            Arc::new(dispatch::Resolver::new(shared())),
            self.stopping(),
        ));
        workers.spawn(run(Arc::new(track::Tracker(shared())), self.stopping()));
        workers.spawn(run(Arc::new(hd::HdFetcher(shared())), self.stopping()));
        workers
    }

    /// Asks the workers to finish what they hold and stop claiming.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub fn set_operator_alerts(&self, alerts: Arc<crate::balance_guard::alerts::OperatorAlerts>) {
        // Set once at start; a second guard (tests) keeps the first one's.
        let _ = self.operator_alerts.set(alerts);
    }

    pub(crate) fn operator_alerts(&self) -> Option<&crate::balance_guard::alerts::OperatorAlerts> {
        self.operator_alerts.get().map(|a| a.as_ref())
    }

    /// The client of the key that created `generation`'s task: Kie shows a task only to the
    /// account that created it. A key no longer configured falls back to the first one,
    /// which Kie will answer "not found", and says so.
    pub fn client_for(&self, generation: &Generation) -> KieClient {
        let label = generation.upstream_key.as_deref();
        self.keys.for_task(label).unwrap_or_else(|| {
            tracing::warn!(generation = %generation.id, key = ?label,
                "the Kie key that created this task is no longer configured");
            self.kie.clone()
        })
    }

    /// The URL Kie calls when a task ends: it names the generation and carries its token.
    pub fn callback_url(&self, id: &GenerationId) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}/callbacks/kie/{id}/{}", self.tokens.token(id))
    }
}

/// The span of work on one generation: every log line inside it, the upstream client's and
/// the store's included, carries the generation id (a `span` field in JSON logs).
pub(crate) fn span(id: &GenerationId) -> tracing::Span {
    tracing::info_span!("generation", generation = %id)
}
