use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

use super::{GenerationId, IllegalState, State, Status};
use crate::accounts::UserId;
use crate::Credits;

/// Where the upstream create request of a generation stands. Recorded before the request is
/// sent, so that after a crash we know whether Kie may have a task we never heard about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dispatch {
    /// Not sent (or certainly refused): may be sent.
    Waiting,
    /// Being sent right now by a worker holding the claim.
    Sending,
    /// Sent, and no trustworthy answer came back: a task may exist. Never sent again; a
    /// callback carrying its task id can reveal it.
    Unknown,
    /// Kie accepted it and gave a task id.
    Accepted,
}

impl Dispatch {
    pub const ALL: [Dispatch; 4] = [
        Dispatch::Waiting,
        Dispatch::Sending,
        Dispatch::Unknown,
        Dispatch::Accepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dispatch::Waiting => "waiting",
            Dispatch::Sending => "sending",
            Dispatch::Unknown => "unknown",
            Dispatch::Accepted => "accepted",
        }
    }
}

impl FromStr for Dispatch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Dispatch::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown dispatch state {s:?}"))
    }
}

/// Veo's 1080p video, fetched after success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HdFetch {
    /// Not applicable (not Veo 16:9), or not yet succeeded.
    None,
    Pending,
    Done,
    /// Kie never produced it in time; the 720p video stands.
    GaveUp,
}

impl HdFetch {
    pub const ALL: [HdFetch; 4] = [
        HdFetch::None,
        HdFetch::Pending,
        HdFetch::Done,
        HdFetch::GaveUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HdFetch::None => "none",
            HdFetch::Pending => "pending",
            HdFetch::Done => "done",
            HdFetch::GaveUp => "gave_up",
        }
    }
}

impl FromStr for HdFetch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        HdFetch::ALL
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| format!("unknown hd state {s:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Video {
    pub url: String,
    /// `720p`, `1080p`, … where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// Why a generation failed, in a stable code and in words for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GenerationError {
    pub code: String,
    pub message: String,
}

/// A generation as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub id: GenerationId,
    pub user_id: UserId,
    pub model: String,
    /// The customer's parameters in reelgate's uniform names, defaults filled in.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Kie's create body without the callback URL: `{"endpoint": "veo"|"jobs", "body": …}`.
    pub upstream_request: serde_json::Value,
    /// The price held at submission; what is charged whatever prices do later.
    pub credits: Credits,
    /// What Kie charges us for it, per the price table at submission.
    pub upstream_cost_usd: Decimal,
    pub status: Status,
    pub dispatch: Dispatch,
    pub dispatch_attempts: u32,
    pub upstream_task_id: Option<String>,
    /// Which of several Kie keys the task was sent with (its label, never the key); `None`
    /// with a single key. Status reads and 1080p requests must use the same key.
    pub upstream_key: Option<String>,
    /// When the worker in charge of the current state looks at it next.
    pub next_check_at: DateTime<Utc>,
    pub status_checks: u32,
    pub not_found_checks: u32,
    /// Since when Kie has refused it for reasons only the operator can fix, and why.
    pub blocked_since: Option<DateTime<Utc>>,
    pub blocked_reason: Option<String>,
    pub videos: Vec<Video>,
    pub hd: HdFetch,
    pub error: Option<GenerationError>,
    /// Kie's own words about a failure, for operators.
    pub upstream_error: Option<String>,
    pub webhook_url: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Its place in the fair order of dispatch (lowest first; see `limits::Weight::stride`).
    pub fair_key: i64,
}

impl Generation {
    /// Which state of the lifecycle (`lifecycle.rs`) its columns say it is in.
    pub fn state(&self) -> Result<State, IllegalState> {
        State::from_parts(self.status, self.dispatch, self.hd)
    }
}
