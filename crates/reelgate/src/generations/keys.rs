//! Several Kie keys (accounts): each has its own rate window, in-flight count, balance and
//! health. Dispatch takes them in turn, skipping a key that Kie refused (401 bad key, 402 no
//! credit, 433 spending cap) until its pause is over; a task is always read with the key that
//! created it. With one key, the pool is that key and nothing else changes.

use chrono::{DateTime, Utc};
use kie::KieClient;
use reelgate_store::{CreateLimiter, Store, StoreError};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use utoipa::ToSchema;

use super::refusal::{self, Refusal};
use super::settings::LifecycleSettings;

/// The rate window's name with one key: as it always was, so a running deployment keeps it.
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

pub struct KeyPool {
    keys: Vec<PoolKey>,
    /// Where the next round starts, so the keys take turns.
    next: AtomicUsize,
}

pub struct PoolKey {
    pub label: String,
    pub client: KieClient,
    pub(super) creates: CreateLimiter,
    refusal: Mutex<Option<Refusal>>,
    balance: Mutex<Option<Decimal>>,
}

/// A key as the operator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyView {
    /// The key's fingerprint (`kie-` and 8 hex digits of its SHA-256), never the key.
    pub label: String,
    /// `active`, or `refused` (Kie refused it: bad key, no credit, spending cap; it is tried
    /// again with one generation when `retry_at` comes).
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

impl KeyPool {
    /// Each key's state, window and in-flight count. With one key no fingerprint is stored,
    /// so its in-flight count is every generation's.
    pub async fn load(&self, store: &Store, cap: u32) -> Result<Vec<KeyLoad>, StoreError> {
        let mut loads = Vec::with_capacity(self.keys.len());
        for (key, view) in self.keys.iter().zip(self.views()) {
            let in_flight = if self.is_several() {
                store.in_flight_upstream_with(&key.label, cap).await?
            } else {
                store.in_flight_upstream(cap).await?
            };
            loads.push(KeyLoad {
                view,
                window_in_use: key.creates.in_use().await?,
                in_flight,
            });
        }
        Ok(loads)
    }

    /// `keys` is never empty (the configuration refuses that).
    pub fn new(keys: Vec<UpstreamKey>, store: &Store, settings: &LifecycleSettings) -> Self {
        let single = keys.len() == 1;
        let keys = keys
            .into_iter()
            .map(|key| {
                let window = if single {
                    SINGLE_WINDOW.to_owned()
                } else {
                    format!("{SINGLE_WINDOW}:{}", key.label)
                };
                PoolKey {
                    creates: store.create_limiter(settings.create_window(window)),
                    label: key.label,
                    client: key.client,
                    refusal: Mutex::new(None),
                    balance: Mutex::new(None),
                }
            })
            .collect();
        KeyPool {
            keys,
            next: AtomicUsize::new(0),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Several keys: each is its own account, and dispatch spreads work over them.
    pub fn is_several(&self) -> bool {
        self.keys.len() > 1
    }

    pub fn get(&self, index: usize) -> Option<&PoolKey> {
        self.keys.get(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PoolKey> {
        self.keys.iter()
    }

    /// The client for a task created with the key labelled `label`; `None` (one key, or a
    /// task from before there were several) is the first key.
    pub fn for_task(&self, label: Option<&str>) -> Option<&KieClient> {
        match label {
            None => self.keys.first().map(|k| &k.client),
            Some(label) => self
                .keys
                .iter()
                .find(|k| k.label == label)
                .map(|k| &k.client),
        }
    }

    /// The keys' indexes, starting one further each round, so the keys take turns.
    pub(super) fn round(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.keys.len().max(1);
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..n).map(move |i| (start + i) % n)
    }

    /// Whether the key may be sent with now: not refused, or its pause is over (a probe).
    pub(super) fn usable(&self, index: usize) -> bool {
        self.keys.get(index).is_some_and(|key| {
            key.refusal
                .lock()
                .ok()
                .is_some_and(|r| r.as_ref().is_none_or(|r| r.until <= Utc::now()))
        })
    }

    /// Whether the key is refused and its pause not over: only one generation may probe it.
    pub(super) fn probing(&self, index: usize) -> bool {
        self.keys.get(index).is_some_and(|key| {
            key.refusal
                .lock()
                .ok()
                .is_some_and(|r| r.as_ref().is_some())
        })
    }

    /// Kie refused this key (bad key, no credit, spending cap), or the balance guard read it
    /// below the stop threshold: new work goes to the others until the pause is over, when one
    /// generation tries it. Returns the pause.
    pub(crate) fn refuse(&self, index: usize, reason: &str) -> Duration {
        let Some(key) = self.keys.get(index) else {
            return FIRST_PAUSE;
        };
        let Ok(mut refusal) = key.refusal.lock() else {
            return FIRST_PAUSE;
        };
        refusal::refuse(&mut refusal, reason, FIRST_PAUSE, |pause| {
            pause.min(LONGEST_PAUSE)
        })
    }

    /// The key took work (or answered as a working account does): back in the rotation.
    /// True if it had been refused.
    pub(super) fn works(&self, index: usize) -> bool {
        self.keys
            .get(index)
            .and_then(|key| key.refusal.lock().ok().and_then(|mut r| r.take()))
            .is_some()
    }

    /// Every key is refused and paused: nothing can be sent until one's pause is over.
    pub(super) fn none_usable(&self) -> bool {
        (0..self.keys.len()).all(|i| !self.usable(i))
    }

    /// How long until the first refused key may be probed.
    pub(super) fn next_retry(&self) -> Option<Duration> {
        self.keys
            .iter()
            .filter_map(|key| key.refusal.lock().ok()?.as_ref().map(|r| r.until))
            .min()
            .map(|until| (until - Utc::now()).to_std().unwrap_or_default())
    }

    pub fn record_balance(&self, index: usize, credits: Decimal) {
        if let Some(mut balance) = self.keys.get(index).and_then(|k| k.balance.lock().ok()) {
            *balance = Some(credits);
        }
    }

    /// Each key's state, for the operator (never the key itself).
    pub fn views(&self) -> Vec<KeyView> {
        self.keys
            .iter()
            .map(|key| {
                let refusal = key.refusal.lock().ok().and_then(|r| r.clone());
                KeyView {
                    label: key.label.clone(),
                    state: if refusal.is_some() {
                        "refused"
                    } else {
                        "active"
                    },
                    since: refusal.as_ref().map(|r| r.since),
                    reason: refusal.as_ref().map(|r| r.reason.clone()),
                    retry_at: refusal.as_ref().map(|r| r.until),
                    balance_credits: key
                        .balance
                        .lock()
                        .ok()
                        .and_then(|b| *b)
                        .map(|b| b.normalize()),
                }
            })
            .collect()
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
