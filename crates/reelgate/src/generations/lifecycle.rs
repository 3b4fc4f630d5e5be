//! The shared state of the background workers, and how they are started and stopped.

use chrono::{DateTime, Utc};
use kie::KieClient;
use reelgate_domain::generations::{Generation, GenerationId};
use reelgate_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use url::Url;

use super::callback_token::CallbackTokens;
use super::keys::{KeyPool, UpstreamKey};
use super::rate_limit::{RateLimit, SlidingWindow};
use super::refusal::{self, Refusal};
use super::settings::LifecycleSettings;
use crate::outbound::OutboundPolicy;

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
    /// The operator's webhook (set by the balance guard, which owns its settings).
    operator_alerts: std::sync::OnceLock<Arc<crate::balance_guard::alerts::OperatorAlerts>>,
    refusal: std::sync::Mutex<Option<Refusal>>,
    /// Creates failed in a row for reasons that may pass; reset by any accepted create.
    faltering: std::sync::atomic::AtomicU32,
    /// Dispatch stopped until Kie's balance is topped up (the balance guard releases it).
    hold: std::sync::Mutex<Option<Hold>>,
    stop: watch::Sender<bool>,
}

/// Dispatch held for lack of Kie credits: since when, why, and whether Kie itself refused
/// (a 402) rather than the balance falling below the operator's threshold.
#[derive(Debug, Clone)]
struct Hold {
    since: DateTime<Utc>,
    reason: String,
    kie_refused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UpstreamState {
    Accepting,
    /// Refusing, and the pause is not over.
    Refusing,
    /// Refusing, and the pause is over: try one.
    Probing,
}

const FIRST_PAUSE: Duration = Duration::from_secs(5);
/// This many creates failing in a row (5xx, maintenance, connection errors) is an outage, not
/// bad luck: dispatch pauses as it does for account problems.
const OUTAGE_AFTER: u32 = 5;
const LONGEST_PAUSE: Duration = Duration::from_secs(300);
/// The pause is also at most this fraction of `REELGATE_UPSTREAM_WAIT_SECS`, so every queued
/// generation sees several probes before its wait runs out, the last one near its end.
const PROBES_PER_WAIT: u32 = 5;
/// Shortest pause, whatever the wait.
const SHORTEST_PAUSE: Duration = Duration::from_millis(200);

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
        first_key: UpstreamKey,
        more_keys: Vec<UpstreamKey>,
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
        let kie = first_key.client.clone();
        let keys = std::iter::once(first_key).chain(more_keys).collect();
        let keys = KeyPool::new(keys, &store, &settings);
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
            operator_alerts: std::sync::OnceLock::new(),
            refusal: std::sync::Mutex::new(None),
            faltering: std::sync::atomic::AtomicU32::new(0),
            hold: std::sync::Mutex::new(None),
            stop: watch::channel(false).0,
        })
    }

    /// Starts the workers; they run until [`Lifecycle::stop`].
    pub fn start(self: &Arc<Self>) -> JoinSet<()> {
        use super::{dispatch, hd, track};
        use crate::worker::run;
        let mut workers = JoinSet::new();
        let lc = || Arc::clone(self);
        workers.spawn(run(Arc::new(dispatch::Dispatcher(lc())), self.stopping()));
        workers.spawn(run(
            Arc::new(dispatch::Resolver::new(lc())),
            self.stopping(),
        ));
        workers.spawn(run(Arc::new(track::Tracker(lc())), self.stopping()));
        workers.spawn(run(Arc::new(hd::HdFetcher(lc())), self.stopping()));
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

    /// Since when and why upstream refuses new generations, if it does (for the operator).
    pub fn upstream_refusal(&self) -> Option<(DateTime<Utc>, String)> {
        self.refusal
            .lock()
            .ok()?
            .as_ref()
            .map(|r| (r.since, r.reason.clone()))
    }

    /// Stops dispatch until [`Lifecycle::release_dispatch_hold`]: unlike a refusal, nothing is
    /// probed meanwhile, since the balance guard knows when Kie will take work again.
    pub fn hold_dispatch(&self, reason: &str) {
        self.set_hold(reason, false);
    }

    /// Kie refused a create for lack of credits (402): holds dispatch like
    /// [`Lifecycle::hold_dispatch`] until the balance guard sees the balance rise.
    pub fn hold_dispatch_for_kie_refusal(&self, reason: &str) {
        self.set_hold(reason, true);
    }

    fn set_hold(&self, reason: &str, kie_refused: bool) {
        if let Ok(mut hold) = self.hold.lock() {
            let since = hold.as_ref().map_or_else(Utc::now, |h| h.since);
            *hold = Some(Hold {
                since,
                reason: reason.to_owned(),
                kie_refused,
            });
        }
    }

    /// Since when dispatch is held because Kie itself refused for lack of credits, if it is.
    pub fn held_for_kie_refusal(&self) -> Option<DateTime<Utc>> {
        self.hold
            .lock()
            .ok()?
            .as_ref()
            .filter(|h| h.kie_refused)
            .map(|h| h.since)
    }

    /// Lets dispatch run again; true if it was held.
    pub fn release_dispatch_hold(&self) -> bool {
        let released = self.hold.lock().ok().and_then(|mut h| h.take()).is_some();
        if released {
            self.wake.dispatch.notify_one();
        }
        released
    }

    /// Since when and why dispatch is held by the balance guard, if it is.
    pub fn dispatch_hold(&self) -> Option<(DateTime<Utc>, String)> {
        self.hold
            .lock()
            .ok()?
            .as_ref()
            .map(|h| (h.since, h.reason.clone()))
    }

    /// How long the current refusal's pause still lasts, if dispatch is paused by one.
    pub(super) fn pause_left(&self) -> Option<Duration> {
        let until = self.refusal.lock().ok()?.as_ref()?.until;
        (until - Utc::now()).to_std().ok()
    }

    pub(super) fn upstream_state(&self) -> UpstreamState {
        if self.dispatch_hold().is_some() {
            return UpstreamState::Refusing;
        }
        match self
            .refusal
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.until))
        {
            None => UpstreamState::Accepting,
            Some(until) if until > Utc::now() => UpstreamState::Refusing,
            Some(_) => UpstreamState::Probing,
        }
    }

    /// Records a refusal; returns how long dispatch now pauses.
    pub(super) fn upstream_refused(&self, reason: &str) -> Duration {
        let Ok(mut refusal) = self.refusal.lock() else {
            return FIRST_PAUSE;
        };
        let probes_apart = self.settings.upstream_wait / PROBES_PER_WAIT;
        refusal::refuse(&mut refusal, reason, FIRST_PAUSE, |pause| {
            pause
                .min(LONGEST_PAUSE)
                .min(probes_apart)
                .max(SHORTEST_PAUSE)
        })
    }

    /// A create failed for a reason that may be passing (a 5xx, maintenance, a dropped
    /// connection). Returns true when enough have failed in a row to call it an outage.
    pub(super) fn upstream_faltered(&self) -> bool {
        self.faltering
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .saturating_add(1)
            >= OUTAGE_AFTER
    }

    /// Upstream answered a create as a working service does (took it, refused that request, or
    /// asked us to slow down): dispatch runs normally again. True if it had been refusing.
    pub(super) fn upstream_accepting(&self) -> bool {
        self.faltering
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.refusal
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .is_some()
    }

    /// The client of the key that created `generation`'s task: Kie shows a task only to the
    /// account that created it. A key no longer configured falls back to the first one,
    /// which Kie will answer "not found", and says so.
    pub fn client_for(&self, generation: &Generation) -> &KieClient {
        let label = generation.upstream_key.as_deref();
        self.keys.for_task(label).unwrap_or_else(|| {
            tracing::warn!(generation = %generation.id, key = ?label,
                "the Kie key that created this task is no longer configured");
            &self.kie
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
