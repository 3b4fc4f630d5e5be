//! A refusal of new work — by the upstream as a whole, or by one of its keys — and the pause
//! it imposes: work waits until the pause is over, then one generation probes, and each
//! refused probe doubles the pause. One model's pause (`model_pause.rs`) is the same
//! arithmetic, stored.

use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::worker::after;

#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub since: DateTime<Utc>,
    pub reason: String,
    pub until: DateTime<Utc>,
    strikes: u32,
}

impl Refusal {
    /// A refusal as stored (a model's pause lives in the database, shared by instances).
    pub fn stored(
        since: DateTime<Utc>,
        reason: String,
        until: DateTime<Utc>,
        strikes: u32,
    ) -> Self {
        Refusal {
            since,
            reason,
            until,
            strikes,
        }
    }

    /// Refused probes so far.
    pub fn strikes(&self) -> u32 {
        self.strikes
    }
}

/// Records a refusal in `current`; returns the pause now in force. Creates already in flight
/// when a pause began are refused for the same reason and say nothing new: only a refusal
/// after the pause (a failed probe) lengthens it. The pause starts at `first`, doubles with
/// each failed probe, and `bound` caps it.
pub(super) fn refuse(
    current: &mut Option<Refusal>,
    reason: &str,
    first: Duration,
    bound: impl Fn(Duration) -> Duration,
) -> Duration {
    if let Some(running) = current.as_ref().filter(|r| r.until > Utc::now()) {
        return (running.until - Utc::now()).to_std().unwrap_or(first);
    }
    let strikes = current.as_ref().map_or(0, |r| r.strikes + 1);
    let pause = bound(first.saturating_mul(1 << strikes.min(8)));
    let since = current.as_ref().map_or_else(Utc::now, |r| r.since);
    *current = Some(Refusal {
        since,
        reason: reason.to_owned(),
        until: after(pause),
        strikes,
    });
    pause
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_within_its_pause_keeps_it_and_one_after_it_doubles_it() {
        let first = Duration::from_secs(5);
        let mut current = None;
        assert_eq!(refuse(&mut current, "down", first, |p| p), first);
        // Refused again while paused: the same pause, not a longer one.
        assert!(refuse(&mut current, "down", first, |p| p) <= first);
        // The pause ran out and the probe was refused: twice as long, capped by the bound.
        if let Some(r) = current.as_mut() {
            r.until = Utc::now() - chrono::Duration::seconds(1);
        }
        assert_eq!(refuse(&mut current, "still down", first, |p| p), 2 * first);
        if let Some(r) = current.as_mut() {
            r.until = Utc::now() - chrono::Duration::seconds(1);
        }
        let capped = refuse(&mut current, "still down", first, |p| {
            p.min(Duration::from_secs(12))
        });
        assert_eq!(capped, Duration::from_secs(12));
        assert_eq!(current.map(|r| r.reason), Some("still down".to_owned()));
    }
}
