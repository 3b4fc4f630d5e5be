//! Dispatch's gate: whether new creates may go out at all, as this instance has learnt from
//! the upstream's answers and from the balance guard.
//!
//! Two things close it. A *refusal* (an outage — five failed creates in a row — or an account
//! problem only the operator can fix: 401, 433) pauses dispatch; when the pause ends one
//! generation probes, and each refused probe doubles the pause (`refusal.rs`). A
//! *suspension* (Kie's balance below the operator's stop threshold, or Kie's own 402) stops
//! dispatch without probing, until the balance guard sees the balance rise and resumes it.
//! (A ledger *hold* is something else: the credits set aside at submission.)

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::generations::refusal::{self, Refusal};

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

/// Whether creates may go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passage {
    Open,
    /// Refusing (and the pause is not over), or suspended.
    Closed,
    /// Refusing, and the pause is over: try one.
    Probing,
}

/// Dispatch stopped for lack of Kie credits: since when, why, and whether Kie itself refused
/// (a 402) rather than the balance falling below the operator's threshold.
#[derive(Debug, Clone)]
struct Suspension {
    since: DateTime<Utc>,
    reason: String,
    kie_refused: bool,
}

/// This instance's gate in front of the upstream. One per process, in the `Lifecycle`.
pub struct UpstreamGate {
    /// How long a queued generation waits for the upstream before it fails: the pause stays
    /// a fraction of it.
    upstream_wait: Duration,
    refusal: Mutex<Option<Refusal>>,
    /// Creates failed in a row for reasons that may pass; reset by any working answer.
    faltering: AtomicU32,
    suspension: Mutex<Option<Suspension>>,
}

impl UpstreamGate {
    pub fn new(upstream_wait: Duration) -> Self {
        UpstreamGate {
            upstream_wait,
            refusal: Mutex::new(None),
            faltering: AtomicU32::new(0),
            suspension: Mutex::new(None),
        }
    }

    pub fn passage(&self) -> Passage {
        if self.suspension().is_some() {
            return Passage::Closed;
        }
        match self
            .refusal
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.until))
        {
            None => Passage::Open,
            Some(until) if until > Utc::now() => Passage::Closed,
            Some(_) => Passage::Probing,
        }
    }

    /// Since when and why the upstream refuses new generations, if it does (for the operator).
    pub fn refusal(&self) -> Option<(DateTime<Utc>, String)> {
        self.refusal
            .lock()
            .ok()?
            .as_ref()
            .map(|r| (r.since, r.reason.clone()))
    }

    /// How long the current refusal's pause still lasts, if dispatch is paused by one.
    pub fn pause_left(&self) -> Option<Duration> {
        let until = self.refusal.lock().ok()?.as_ref()?.until;
        (until - Utc::now()).to_std().ok()
    }

    /// Records a refusal; returns how long dispatch now pauses.
    pub fn refused(&self, reason: &str) -> Duration {
        let Ok(mut refusal) = self.refusal.lock() else {
            return FIRST_PAUSE;
        };
        let probes_apart = self.upstream_wait / PROBES_PER_WAIT;
        refusal::refuse(&mut refusal, reason, FIRST_PAUSE, |pause| {
            pause
                .min(LONGEST_PAUSE)
                .min(probes_apart)
                .max(SHORTEST_PAUSE)
        })
    }

    /// A create failed for a reason that may be passing (a 5xx, maintenance, a dropped
    /// connection). Returns true when enough have failed in a row to call it an outage.
    pub fn faltered(&self) -> bool {
        self.faltering
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
            >= OUTAGE_AFTER
    }

    /// The upstream answered a create as a working service does (took it, refused that
    /// request, or asked us to slow down): no refusal any more. True if it had been refusing.
    pub fn works(&self) -> bool {
        self.faltering.store(0, Ordering::Relaxed);
        self.refusal
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .is_some()
    }

    /// Stops dispatch until [`UpstreamGate::resume`]: unlike a refusal, nothing is probed
    /// meanwhile, since the balance guard knows when Kie will take work again.
    pub fn suspend(&self, reason: &str) {
        self.set_suspension(reason, false);
    }

    /// Kie refused a create for lack of credits (402): suspends dispatch like
    /// [`UpstreamGate::suspend`] until the balance guard sees the balance rise.
    pub fn suspend_for_kie_refusal(&self, reason: &str) {
        self.set_suspension(reason, true);
    }

    fn set_suspension(&self, reason: &str, kie_refused: bool) {
        if let Ok(mut suspension) = self.suspension.lock() {
            let since = suspension.as_ref().map_or_else(Utc::now, |s| s.since);
            *suspension = Some(Suspension {
                since,
                reason: reason.to_owned(),
                kie_refused,
            });
        }
    }

    /// Since when dispatch is suspended because Kie itself refused for lack of credits.
    pub fn suspended_for_kie_refusal(&self) -> Option<DateTime<Utc>> {
        self.suspension
            .lock()
            .ok()?
            .as_ref()
            .filter(|s| s.kie_refused)
            .map(|s| s.since)
    }

    /// Lets dispatch run again; true if it was suspended (the caller wakes dispatch).
    pub fn resume(&self) -> bool {
        self.suspension
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .is_some()
    }

    /// Since when and why dispatch is suspended, if it is.
    pub fn suspension(&self) -> Option<(DateTime<Utc>, String)> {
        self.suspension
            .lock()
            .ok()?
            .as_ref()
            .map(|s| (s.since, s.reason.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_refusals_and_suspensions_close_the_gate_each_in_its_way() {
        let gate = UpstreamGate::new(Duration::from_secs(600));
        assert_eq!(gate.passage(), Passage::Open);
        for _ in 1..OUTAGE_AFTER {
            assert!(!gate.faltered());
        }
        assert!(gate.faltered(), "five in a row are an outage");
        assert_eq!(gate.refused("down"), FIRST_PAUSE);
        assert_eq!(gate.passage(), Passage::Closed);
        assert!(gate.works(), "a working answer ends the refusal");
        assert_eq!(gate.passage(), Passage::Open);
        assert!(!gate.faltered(), "and starts the count again");

        gate.suspend_for_kie_refusal("402");
        assert_eq!(gate.passage(), Passage::Closed);
        assert!(gate.suspended_for_kie_refusal().is_some());
        gate.suspend("below the stop threshold");
        assert!(gate.suspended_for_kie_refusal().is_none());
        assert!(gate.resume());
        assert!(!gate.resume());
        assert_eq!(gate.passage(), Passage::Open);
    }
}
