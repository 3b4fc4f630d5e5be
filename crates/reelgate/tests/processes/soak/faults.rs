//! The fault schedule: the run cycles through phases, each setting the simulator's faults and
//! the callback proxy's. 429s come all the time from a simulator rate limit stricter than the
//! one reelgate is configured with; `kill -9` comes on its own clock.

use serde_json::{json, Value};
use std::time::Duration;

use crate::chaos_proxy::CallbackFaults;

pub struct Phase {
    pub name: &'static str,
    pub sim: Value,
    pub callbacks: CallbackFaults,
    /// Upstream answers slower than reelgate's timeout.
    pub timeouts: bool,
}

/// Callbacks are always a little late, out of order, sometimes replayed and forged.
fn everyday_callbacks() -> CallbackFaults {
    CallbackFaults {
        drop: 0.0,
        duplicate: 0.05,
        max_delay: Duration::from_millis(1500),
        replay: 0.05,
        forge: 0.05,
    }
}

/// `latency_ms` is above the server's upstream timeout in the timeout phase.
pub fn phases(timeout_ms: u64) -> Vec<Phase> {
    let base = everyday_callbacks();
    vec![
        Phase {
            name: "calm",
            sim: json!({}),
            callbacks: base,
            timeouts: false,
        },
        Phase {
            name: "upstream 5xx",
            sim: json!({"server_error_ratio": 0.3}),
            callbacks: base,
            timeouts: false,
        },
        Phase {
            name: "tasks fail upstream",
            sim: json!({"failure_ratio": 0.3}),
            callbacks: base,
            timeouts: false,
        },
        Phase {
            name: "garbled answers",
            sim: json!({"malformed_ratio": 0.15}),
            callbacks: base,
            timeouts: false,
        },
        Phase {
            name: "timeouts",
            sim: json!({"latency_ms": timeout_ms + 500}),
            callbacks: base,
            timeouts: true,
        },
        Phase {
            name: "callbacks lost, doubled, late",
            sim: json!({"drop_callback_ratio": 0.3, "duplicate_callback_ratio": 0.3}),
            callbacks: CallbackFaults {
                drop: 0.2,
                duplicate: 0.3,
                max_delay: Duration::from_secs(4),
                replay: 0.2,
                forge: 0.2,
            },
            timeouts: false,
        },
        Phase {
            name: "everything at once",
            sim: json!({"server_error_ratio": 0.1, "failure_ratio": 0.1, "malformed_ratio": 0.05,
                        "drop_callback_ratio": 0.2, "duplicate_callback_ratio": 0.2}),
            callbacks: CallbackFaults {
                drop: 0.1,
                duplicate: 0.2,
                max_delay: Duration::from_secs(3),
                replay: 0.1,
                forge: 0.1,
            },
            timeouts: false,
        },
    ]
}

/// After the load: no faults, callbacks on time, so everything can settle.
pub fn quiet() -> (Value, CallbackFaults) {
    (
        json!({}),
        CallbackFaults {
            max_delay: Duration::from_millis(100),
            ..CallbackFaults::default()
        },
    )
}
