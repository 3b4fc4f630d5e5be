//! Several Kie keys (accounts): each has its own rate window, in-flight count, balance and
//! health. Dispatch takes them in turn, skipping a key that Kie refused (401 bad key, 402 no
//! credit, 433 spending cap) until its pause is over; a task is always read with the key that
//! created it. With one key, the pool is that key and nothing else changes.
//!
//! Keys come from configuration (first, in their order) and from the operator
//! (`operator_keys.rs`), who can add, disable and delete them while reelgate runs. The pool
//! only grows: a deleted key stays in it, unusable and unlisted, so the index a claim holds
//! always names the same key.

use chrono::{DateTime, Utc};
use kie::KieClient;
use reelgate_store::{CreateLimiter, Store, StoreError};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use utoipa::ToSchema;

use super::key_seal::KeySeal;
use super::refusal::{self, Refusal};
use super::settings::LifecycleSettings;

/// The first configured key's rate window: its name from before there were several keys, so
/// a running deployment keeps it, and the same whatever keys the operator adds.
const SINGLE_WINDOW: &str = "upstream_creates";
/// A refused key is tried again (with one generation) after this, doubling per refusal.
const FIRST_PAUSE: Duration = Duration::from_secs(30);
const LONGEST_PAUSE: Duration = Duration::from_secs(600);

/// One Kie key as the upstream hands it over: the client that sends with it, and its label.
#[derive(Clone)]
pub struct UpstreamKey {
    /// The key's fingerprint, shown to the operator and stored with each task.
    pub label: String,
    pub client: KieClient,
}

/// A key's fingerprint: never the key, nor any of its characters, and the same on every
/// instance (it names the key's shared rate window and is stored with its tasks).
pub fn fingerprint(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("kie-{}", hex::encode(&digest[..4]))
}

/// What the pool starts from: the configured keys, and how to make a client for a key the
/// operator adds (the configured upstream's settings) and unseal a stored one.
pub struct KeySetup {
    /// The first configured key (the simulator's, without one).
    pub first: UpstreamKey,
    /// The other configured keys, in their order.
    pub more: Vec<UpstreamKey>,
    pub template: kie::KieConfig,
    pub seal: KeySeal,
}

/// Where a key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `REELGATE_KIE_API_KEY(S)`: changed only there, never from the pages.
    Configured,
    /// Entered by the operator; `id` is its row in `upstream_keys`.
    Operator { id: String, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Availability {
    Enabled,
    /// No new work; its tasks are still read with it until settled.
    Disabled,
    /// Gone from the operator's list (it had nothing unsettled).
    Deleted,
}

pub struct KeyPool {
    pub(super) keys: RwLock<Vec<Arc<PoolKey>>>,
    /// Where the next round starts, so the keys take turns.
    next: AtomicUsize,
    pub(super) store: Store,
    pub(super) settings: LifecycleSettings,
    pub(super) template: kie::KieConfig,
    pub(super) seal: KeySeal,
    /// One change of the pool at a time (the periodic sync and the operator's).
    pub(super) changing: tokio::sync::Mutex<()>,
}

pub struct PoolKey {
    pub label: String,
    pub client: KieClient,
    pub(super) creates: CreateLimiter,
    pub(super) origin: Mutex<KeyOrigin>,
    pub(super) availability: Mutex<Availability>,
    refusal: Mutex<Option<Refusal>>,
    balance: Mutex<Option<Decimal>>,
}

/// A key as the operator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyView {
    /// The key's fingerprint (`kie-` and 8 hex digits of its SHA-256), never the key nor any
    /// of its characters.
    pub label: String,
    /// A key entered by the operator: its id (for disable, enable and delete) and name.
    pub id: Option<String>,
    pub name: Option<String>,
    /// `configuration` (`REELGATE_KIE_API_KEY(S)`; cannot be changed from the pages) or
    /// `operator` (entered on the operator pages or through this API).
    pub source: &'static str,
    /// `active`; `disabled` (by the operator: no new work, its tasks still read with it); or
    /// `refused` (Kie refused it: bad key, no credit, spending cap; it is tried again with
    /// one generation when `retry_at` comes).
    pub state: &'static str,
    pub since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub retry_at: Option<DateTime<Utc>>,
    /// This key's last balance read, in Kie credits.
    #[schema(value_type = Option<String>)]
    pub balance_credits: Option<Decimal>,
}

/// What a key is doing now, for the operator's page.
#[derive(Debug, Clone, Serialize)]
pub struct KeyLoad {
    pub view: KeyView,
    /// Create requests counted in its rate window now (of `REELGATE_UPSTREAM_RATE_LIMIT`).
    pub window_in_use: u32,
    /// Its tasks holding an upstream slot: sent, or being sent (of the in-flight cap).
    pub in_flight: u64,
}

impl PoolKey {
    pub(super) fn new(
        key: UpstreamKey,
        origin: KeyOrigin,
        first: bool,
        store: &Store,
        settings: &LifecycleSettings,
    ) -> Self {
        let window = if first {
            SINGLE_WINDOW.to_owned()
        } else {
            format!("{SINGLE_WINDOW}:{}", key.label)
        };
        PoolKey {
            creates: store.create_limiter(settings.create_window(window)),
            label: key.label,
            client: key.client,
            origin: Mutex::new(origin),
            availability: Mutex::new(Availability::Enabled),
            refusal: Mutex::new(None),
            balance: Mutex::new(None),
        }
    }

    pub(super) fn availability(&self) -> Availability {
        self.availability
            .lock()
            .map_or(Availability::Enabled, |a| *a)
    }

    pub(super) fn set_availability(&self, availability: Availability) {
        if let Ok(mut a) = self.availability.lock() {
            *a = availability;
        }
    }

    pub fn origin(&self) -> KeyOrigin {
        self.origin
            .lock()
            .map_or(KeyOrigin::Configured, |o| o.clone())
    }

    pub fn is_enabled(&self) -> bool {
        self.availability() == Availability::Enabled
    }

    fn listed(&self) -> bool {
        self.availability() != Availability::Deleted
    }

    /// Kie refused this key (bad key, no credit, spending cap), or the balance guard read it
    /// below the stop threshold: new work goes to the others until the pause is over, when one
    /// generation tries it. Returns the pause.
    pub(crate) fn refuse(&self, reason: &str) -> Duration {
        let Ok(mut refusal) = self.refusal.lock() else {
            return FIRST_PAUSE;
        };
        refusal::refuse(&mut refusal, reason, FIRST_PAUSE, |pause| {
            pause.min(LONGEST_PAUSE)
        })
    }

    pub fn record_balance(&self, credits: Decimal) {
        if let Ok(mut balance) = self.balance.lock() {
            *balance = Some(credits);
        }
    }

    pub(super) fn view(&self) -> KeyView {
        let refusal = self.refusal.lock().ok().and_then(|r| r.clone());
        let (id, name, source) = match self.origin() {
            KeyOrigin::Configured => (None, None, "configuration"),
            KeyOrigin::Operator { id, name } => (Some(id), Some(name), "operator"),
        };
        let state = if !self.is_enabled() {
            "disabled"
        } else if refusal.is_some() {
            "refused"
        } else {
            "active"
        };
        KeyView {
            label: self.label.clone(),
            id,
            name,
            source,
            state,
            since: refusal.as_ref().map(|r| r.since),
            reason: refusal.as_ref().map(|r| r.reason.clone()),
            retry_at: refusal.as_ref().map(|r| r.until),
            balance_credits: self
                .balance
                .lock()
                .ok()
                .and_then(|b| *b)
                .map(|b| b.normalize()),
        }
    }
}

impl KeyPool {
    /// Each key's state, window and in-flight count. With one key no fingerprint is stored,
    /// so its in-flight count is every generation's.
    pub async fn load(&self, store: &Store, cap: u32) -> Result<Vec<KeyLoad>, StoreError> {
        let several = self.is_several();
        let keys = self.entries();
        let mut loads = Vec::with_capacity(keys.len());
        for (i, key) in keys.into_iter().enumerate() {
            let in_flight = if several {
                store
                    .in_flight_upstream_with(&key.label, i == 0, cap)
                    .await?
            } else {
                store.in_flight_upstream(cap).await?
            };
            loads.push(KeyLoad {
                view: key.view(),
                window_in_use: key.creates.in_use().await?,
                in_flight,
            });
        }
        Ok(loads)
    }

    pub fn new(setup: KeySetup, store: &Store, settings: &LifecycleSettings) -> Self {
        let keys = std::iter::once(setup.first)
            .chain(setup.more)
            .enumerate()
            .map(|(i, key)| {
                Arc::new(PoolKey::new(
                    key,
                    KeyOrigin::Configured,
                    i == 0,
                    store,
                    settings,
                ))
            })
            .collect();
        KeyPool {
            keys: RwLock::new(keys),
            next: AtomicUsize::new(0),
            store: store.clone(),
            settings: settings.clone(),
            template: setup.template,
            seal: setup.seal,
            changing: tokio::sync::Mutex::new(()),
        }
    }

    fn all(&self) -> Vec<Arc<PoolKey>> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The keys the operator sees (configured, and entered and not deleted), in order.
    pub fn entries(&self) -> Vec<Arc<PoolKey>> {
        self.all().into_iter().filter(|k| k.listed()).collect()
    }

    /// Listed keys.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Several keys: each is its own account, and dispatch spreads work over them. (A key
    /// the operator disabled still counts: its tasks are read with it.)
    pub fn is_several(&self) -> bool {
        self.len() > 1
    }

    /// The key at `index` of the whole pool (deleted keys included: an index never moves).
    pub fn get(&self, index: usize) -> Option<Arc<PoolKey>> {
        self.keys.read().ok()?.get(index).cloned()
    }

    /// The client for a task created with the key labelled `label`; `None` (one key, or a
    /// task from before there were several) is the first key. A disabled key still reads
    /// its tasks; a deleted one is gone.
    pub fn for_task(&self, label: Option<&str>) -> Option<KieClient> {
        let keys = self.all();
        match label {
            None => keys.first().map(|k| k.client.clone()),
            Some(label) => keys
                .iter()
                .find(|k| k.label == label && k.listed())
                .map(|k| k.client.clone()),
        }
    }

    /// The keys' indexes, starting one further each round, so the keys take turns.
    pub(super) fn round(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.keys.read().map_or(1, |k| k.len()).max(1);
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..n).map(move |i| (start + i) % n)
    }

    /// Whether the key may be sent with now: enabled, and not refused or its pause is over
    /// (a probe).
    pub(super) fn usable(&self, index: usize) -> bool {
        self.get(index).is_some_and(|key| {
            key.is_enabled()
                && key
                    .refusal
                    .lock()
                    .ok()
                    .is_some_and(|r| r.as_ref().is_none_or(|r| r.until <= Utc::now()))
        })
    }

    /// Whether the key is refused and its pause not over: only one generation may probe it.
    pub(super) fn probing(&self, index: usize) -> bool {
        self.get(index).is_some_and(|key| {
            key.refusal
                .lock()
                .ok()
                .is_some_and(|r| r.as_ref().is_some())
        })
    }

    /// See [`PoolKey::refuse`].
    pub(crate) fn refuse(&self, index: usize, reason: &str) -> Duration {
        self.get(index)
            .map_or(FIRST_PAUSE, |key| key.refuse(reason))
    }

    /// The key took work (or answered as a working account does): back in the rotation.
    /// True if it had been refused.
    pub(super) fn works(&self, index: usize) -> bool {
        self.get(index)
            .and_then(|key| key.refusal.lock().ok().and_then(|mut r| r.take()))
            .is_some()
    }

    /// No key can be sent with now (every enabled key is refused and paused).
    pub(super) fn none_usable(&self) -> bool {
        let n = self.keys.read().map_or(0, |k| k.len());
        (0..n).all(|i| !self.usable(i))
    }

    /// How long until the first refused key may be probed.
    pub(super) fn next_retry(&self) -> Option<Duration> {
        self.all()
            .iter()
            .filter(|key| key.is_enabled())
            .filter_map(|key| key.refusal.lock().ok()?.as_ref().map(|r| r.until))
            .min()
            .map(|until| (until - Utc::now()).to_std().unwrap_or_default())
    }

    /// Each key's state, for the operator (never the key itself).
    pub fn views(&self) -> Vec<KeyView> {
        self.entries().iter().map(|key| key.view()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn a_fingerprint_is_stable_and_shows_none_of_the_key() {
        let key = "kie-secret-key-abcdef";
        let label = fingerprint(key);
        assert_eq!(label, fingerprint(key));
        assert_ne!(label, fingerprint("another-key"));
        assert_eq!(label.len(), "kie-".len() + 8);
        assert!(!label.contains("cdef") && !label.contains("secret"));
    }
}
