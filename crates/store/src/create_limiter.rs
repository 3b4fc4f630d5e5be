//! The upstream's limit on new tasks is one limit per API key, however many reelgate
//! instances send with that key. The store offers the limiter its database calls for
//! ([`Store::create_limiter`]): one instance (SQLite) counts in memory; instances sharing a
//! PostgreSQL database count in it (`rate_slots.rs`), so that together they keep to the limit.

use std::time::Duration;

use crate::sliding_window::{RateLimit, SlidingWindow};
use crate::{Backend, RateSlots, RateWindow, Store, StoreError};

pub enum CreateLimiter {
    /// Counted in this process.
    Local(SlidingWindow),
    /// Counted in the database every instance shares.
    Shared { store: Store, window: RateWindow },
}

/// A permission to send one create request; give it back answered, or unused.
#[derive(Debug)]
pub struct Slot(Option<i64>);

pub enum Slots {
    Taken(Vec<Slot>),
    /// None free; one frees up in about this long.
    Wait(Duration),
}

impl Store {
    /// The limiter of `window` for this database: shared on PostgreSQL (the database of
    /// several instances), in this process on SQLite (one instance). The window's name is
    /// its rows' in the database: every instance must name a key's window alike.
    pub fn create_limiter(&self, window: RateWindow) -> CreateLimiter {
        match self.backend() {
            Backend::Sqlite => CreateLimiter::Local(SlidingWindow::new(RateLimit {
                requests: window.requests,
                per: window.per,
            })),
            Backend::Postgres => CreateLimiter::Shared {
                store: self.clone(),
                window,
            },
        }
    }
}

impl CreateLimiter {
    /// Takes up to `n` slots now.
    pub async fn take_up_to(&self, n: usize) -> Result<Slots, StoreError> {
        match self {
            CreateLimiter::Local(window) => Ok(match window.take_up_to(n).await {
                Ok(free) => Slots::Taken((0..free).map(|_| Slot(None)).collect()),
                Err(wait) => Slots::Wait(wait),
            }),
            CreateLimiter::Shared { store, window } => {
                let wanted = u32::try_from(n).unwrap_or(u32::MAX);
                Ok(match store.take_rate_slots(window, wanted).await? {
                    RateSlots::Taken(ids) => {
                        Slots::Taken(ids.into_iter().map(|id| Slot(Some(id))).collect())
                    }
                    RateSlots::Full(wait) => Slots::Wait(wait),
                })
            }
        }
    }

    /// The slot's request has been answered: it counts one window from now.
    pub async fn answered(&self, slot: Slot) {
        match (self, slot.0) {
            (CreateLimiter::Local(window), _) => window.complete().await,
            (CreateLimiter::Shared { store, window }, Some(id)) => {
                // Unrecorded, the slot keeps counting until its request could no longer
                // arrive: later than needed, never too early.
                if let Err(error) = store.answered_rate_slot(window, id).await {
                    tracing::warn!(%error, "cannot record a create's answer in the rate window");
                }
            }
            (CreateLimiter::Shared { .. }, None) => {}
        }
    }

    /// Slots taken but not used.
    pub async fn give_back(&self, slots: Vec<Slot>) {
        match self {
            CreateLimiter::Local(window) => window.give_back(slots.len()).await,
            CreateLimiter::Shared { store, .. } => {
                let ids: Vec<i64> = slots.into_iter().filter_map(|slot| slot.0).collect();
                if let Err(error) = store.release_rate_slots(&ids).await {
                    tracing::warn!(%error, "cannot give back unused rate slots; they expire");
                }
            }
        }
    }

    /// When each slot of the window is next free, soonest first: the local window knows it;
    /// the shared one is read from the database (every instance's slots). `None` when that
    /// read fails: estimates then assume the slots free a whole window at a time.
    pub async fn free_at(&self) -> Option<Vec<tokio::time::Instant>> {
        match self {
            CreateLimiter::Local(window) => Some(window.free_at().await),
            CreateLimiter::Shared { store, window } => {
                let busy = match store.rate_slots_free_in(window).await {
                    Ok(busy) => busy,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the shared rate window for an estimate");
                        return None;
                    }
                };
                let now = tokio::time::Instant::now();
                let requests = window.requests as usize;
                let free = requests.saturating_sub(busy.len());
                let mut at: Vec<tokio::time::Instant> = std::iter::repeat_n(now, free)
                    .chain(busy.into_iter().map(|wait| now + wait))
                    .collect();
                at.truncate(requests);
                Some(at)
            }
        }
    }

    /// How many of the window's slots count now (taken and not yet a window old).
    pub async fn in_use(&self) -> Result<u32, StoreError> {
        match self {
            CreateLimiter::Local(window) => {
                let free_at = window.free_at().await;
                // After the read: a free slot is "free at" the moment of the read.
                let now = tokio::time::Instant::now();
                let busy = free_at.iter().filter(|at| **at > now).count();
                Ok(u32::try_from(busy).unwrap_or(u32::MAX))
            }
            CreateLimiter::Shared { store, window } => store.rate_slots_in_use(window).await,
        }
    }

    /// Upstream said 429 although we kept to the limit: count the window as full from now.
    pub async fn saturate(&self) {
        match self {
            CreateLimiter::Local(window) => window.saturate().await,
            CreateLimiter::Shared { store, window } => {
                if let Err(error) = store.fill_rate_window(window).await {
                    tracing::warn!(%error, "cannot mark the rate window full");
                }
            }
        }
    }
}
