//! The last few things that went wrong talking to Kie, for the operator's upstream page. Kept
//! in memory per instance: it answers "what is happening now", the database keeps the rest.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use utoipa::ToSchema;

const KEPT: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UpstreamEvent {
    pub at: DateTime<Utc>,
    /// Which call: `create`, `status`, `balance`, …
    pub call: &'static str,
    /// Kie's answer or the transport failure, never the API key.
    pub message: String,
}

#[derive(Debug, Default)]
pub struct UpstreamLog {
    events: Mutex<VecDeque<UpstreamEvent>>,
}

impl UpstreamLog {
    pub fn record(&self, call: &'static str, message: impl Into<String>) {
        let Ok(mut events) = self.events.lock() else {
            return;
        };
        if events.len() == KEPT {
            events.pop_back();
        }
        events.push_front(UpstreamEvent {
            at: Utc::now(),
            call,
            message: message.into(),
        });
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<UpstreamEvent> {
        self.events
            .lock()
            .map(|events| events.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_fifty_newest_first() {
        let log = UpstreamLog::default();
        for n in 0..60 {
            log.record("create", format!("refusal {n}"));
        }
        let recent = log.recent();
        assert_eq!(recent.len(), KEPT);
        assert_eq!(recent[0].message, "refusal 59");
        assert_eq!(recent[KEPT - 1].message, "refusal 10");
    }
}
