//! What the simulator saw and did, for tests and demos to assert on.

use std::collections::BTreeMap;

use serde::Serialize;

/// A snapshot of the simulator's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    /// Requests per route, e.g. `"POST /api/v1/jobs/createTask"`.
    pub requests: BTreeMap<String, u64>,
    pub tasks_created: u64,
    /// Tasks created with a failing outcome (`failure_ratio`).
    pub tasks_failing: u64,
    /// Creates refused because the request was invalid (422 and friends).
    pub creates_rejected: u64,
    /// Creates refused for want of Kie credits (402).
    pub creates_unpaid: u64,
    /// Creates refused by the rate limit (429).
    pub rate_limited: u64,
    /// The most creates one API key sent within one rate window (refused ones included).
    pub max_creates_in_window: u32,
    /// Callback POSTs made (a duplicated callback counts twice).
    pub callbacks_sent: u64,
    /// Callback POSTs that failed to deliver (error or non-2xx answer); never retried.
    pub callbacks_failed: u64,
    pub callbacks_dropped: u64,
    pub callbacks_duplicated: u64,
    pub server_errors_injected: u64,
    /// Task reads (status, 1080p) with a key other than the one that created the task:
    /// answered "not found", as Kie shows a task only to its own account.
    pub foreign_key_reads: u64,
    pub malformed_injected: u64,
}

impl SimStats {
    pub(crate) fn count_request(&mut self, route: &str) {
        // Routes are a fixed set, so the map stays small.
        match self.requests.get_mut(route) {
            Some(n) => *n += 1,
            None => {
                self.requests.insert(route.to_owned(), 1);
            }
        }
    }
}
