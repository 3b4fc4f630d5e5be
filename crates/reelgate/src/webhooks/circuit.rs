//! Per-endpoint circuit breaking: an endpoint (a customer's webhook URL) that failed
//! `OPEN_AFTER` times in a row is not sent to for a while, and that while doubles each time
//! it fails again, so a dead or stalling receiver stops costing delivery slots. When the
//! while is over one delivery probes it; a success closes the circuit.
//!
//! The state is this process's; what it decides is written to the deliveries themselves
//! (their next attempt is put off), so other instances see it too.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::worker::after;

/// Failures in a row that open the circuit.
pub const OPEN_AFTER: u32 = 5;
/// How long it first stays open; doubled on each failed probe, up to `LONGEST_OPEN`.
pub const FIRST_OPEN: Duration = Duration::from_secs(30);
pub const LONGEST_OPEN: Duration = Duration::from_secs(3600);
/// While one delivery probes a half-open endpoint, others to it wait this long.
const PROBE_WAIT: Duration = Duration::from_secs(5);

type Endpoint = (UserId, String);

#[derive(Debug, Clone, Default)]
struct State {
    /// Failures in a row.
    failures: u32,
    /// Times the circuit opened since it last closed.
    opened: u32,
    open_until: Option<DateTime<Utc>>,
    /// A delivery is probing the endpoint now.
    probing: bool,
    last_error: Option<String>,
}

/// Whether a delivery may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Send,
    /// Not before then: the endpoint is failing (or another delivery is probing it).
    Defer(DateTime<Utc>),
}

/// What one endpoint's circuit looks like, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitView {
    pub consecutive_failures: u32,
    /// Set while the circuit is open.
    pub open_until: Option<DateTime<Utc>>,
}

/// The circuits of every endpoint this process has sent to and seen fail.
#[derive(Debug, Default)]
pub struct Circuits {
    endpoints: Mutex<HashMap<Endpoint, State>>,
}

impl Circuits {
    /// Asks before sending to `url`: either send, or put the delivery off.
    pub fn gate(&self, user: &UserId, url: &str) -> Gate {
        let Ok(mut endpoints) = self.endpoints.lock() else {
            return Gate::Send;
        };
        let Some(state) = endpoints.get_mut(&(user.clone(), url.to_owned())) else {
            return Gate::Send;
        };
        match state.open_until {
            Some(until) if until > Utc::now() => Gate::Defer(until),
            Some(_) if state.probing => Gate::Defer(after(PROBE_WAIT)),
            Some(_) => {
                state.probing = true;
                Gate::Send
            }
            None => Gate::Send,
        }
    }

    /// The endpoint accepted a delivery: its circuit closes.
    pub fn succeeded(&self, user: &UserId, url: &str) {
        if let Ok(mut endpoints) = self.endpoints.lock() {
            endpoints.remove(&(user.clone(), url.to_owned()));
        }
    }

    /// The endpoint failed a delivery. Returns until when the circuit is now open, if it is
    /// (it just opened, or was open already).
    pub fn failed(&self, user: &UserId, url: &str, error: &str) -> Option<DateTime<Utc>> {
        let mut endpoints = self.endpoints.lock().ok()?;
        let state = endpoints.entry((user.clone(), url.to_owned())).or_default();
        state.failures = state.failures.saturating_add(1);
        state.last_error = Some(error.to_owned());
        let now = Utc::now();
        if let Some(until) = state.open_until.filter(|until| *until > now) {
            // Sent before the circuit opened: it says nothing new.
            return Some(until);
        }
        if !state.probing && state.failures < OPEN_AFTER {
            return None;
        }
        let open_for = FIRST_OPEN
            .saturating_mul(1 << state.opened.min(12))
            .min(LONGEST_OPEN);
        state.opened = state.opened.saturating_add(1);
        state.probing = false;
        let until = after(open_for);
        state.open_until = Some(until);
        Some(until)
    }

    /// The circuit of `user`'s endpoint `url`, if it has failed lately.
    pub fn view(&self, user: &UserId, url: &str) -> Option<CircuitView> {
        let endpoints = self.endpoints.lock().ok()?;
        let state = endpoints.get(&(user.clone(), url.to_owned()))?;
        Some(CircuitView {
            consecutive_failures: state.failures,
            open_until: state.open_until.filter(|until| *until > Utc::now()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::parse("usr_01jd6m5x7k3c9v2b8n4q0w1e2r").unwrap()
    }

    #[test]
    fn opens_after_failures_in_a_row_and_a_success_closes_it() {
        let circuits = Circuits::default();
        let url = "https://a.example/hooks";
        for _ in 1..OPEN_AFTER {
            assert_eq!(circuits.failed(&user(), url, "timed out"), None);
            assert_eq!(circuits.gate(&user(), url), Gate::Send);
        }
        let until = circuits.failed(&user(), url, "timed out").unwrap();
        assert!(until > Utc::now() + chrono::Duration::seconds(25));
        assert_eq!(circuits.gate(&user(), url), Gate::Defer(until));
        assert_eq!(
            circuits.gate(&user(), "https://b.example/hooks"),
            Gate::Send,
            "another endpoint is not affected"
        );
        circuits.succeeded(&user(), url);
        assert_eq!(circuits.gate(&user(), url), Gate::Send);
        assert_eq!(circuits.view(&user(), url), None);
    }

    #[test]
    fn a_failed_probe_opens_it_again_for_twice_as_long() {
        let circuits = Circuits::default();
        let url = "https://a.example/hooks";
        for _ in 0..OPEN_AFTER {
            circuits.failed(&user(), url, "HTTP 500");
        }
        // The first opening is over (as if 30 s had passed).
        circuits
            .endpoints
            .lock()
            .unwrap()
            .values_mut()
            .for_each(|s| s.open_until = Some(Utc::now()));
        assert_eq!(circuits.gate(&user(), url), Gate::Send, "one probe");
        assert!(
            matches!(circuits.gate(&user(), url), Gate::Defer(_)),
            "only one at a time"
        );
        let until = circuits.failed(&user(), url, "HTTP 500").unwrap();
        assert!(until > Utc::now() + chrono::Duration::seconds(55));
    }
}
