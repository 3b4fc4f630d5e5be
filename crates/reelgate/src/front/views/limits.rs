//! A customer's limits at one level, as the operator reads and writes them on both front ends
//! (each front end parses what it is sent on its own: `http/limits.rs`, `web/pages/admin/limits.rs`).

use reelgate_domain::limits::{LimitSettings, Limits};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Limits at one level. A field left out or `null` is not set here: a customer then has the
/// default, and a default then means no limit.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// Generations queued or running at once; more are refused with 429 `too_many_active`.
    #[schema(minimum = 1)]
    pub max_active: Option<u32>,
    /// Submissions per minute (sliding); more are refused with 429 `rate_limited`,
    /// `Retry-After` and `RateLimit-*` headers.
    #[schema(minimum = 1)]
    pub submissions_per_minute: Option<u32>,
    /// Credits held or spent per UTC day; a generation that would pass it is refused with
    /// 402 `daily_spending_cap`.
    #[schema(minimum = 1)]
    pub daily_credits: Option<i64>,
    /// The customer's share of dispatch when several have work queued (tier): 1 by default,
    /// e.g. 4 for a paying partner, at most 100.
    #[schema(minimum = 1, maximum = 100)]
    pub weight: Option<u32>,
}

impl From<&LimitSettings> for LimitsBody {
    fn from(s: &LimitSettings) -> Self {
        LimitsBody {
            max_active: s.max_active,
            submissions_per_minute: s.submissions_per_minute,
            daily_credits: s.daily_credits.map(|c| c.get()),
            weight: s.weight.map(|w| w.get()),
        }
    }
}

impl From<&Limits> for LimitsBody {
    fn from(l: &Limits) -> Self {
        LimitsBody {
            max_active: l.max_active,
            submissions_per_minute: l.submissions_per_minute,
            daily_credits: l.daily_credits.map(|c| c.get()),
            weight: Some(l.weight.get()),
        }
    }
}
