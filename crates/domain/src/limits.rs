//! What one customer may ask of the shared upstream: how many generations queued or running at
//! once, how many submissions a minute, how many credits a day, and their share of dispatch
//! (the tier's weight). The operator sets defaults and overrides them per customer; the
//! decision about one submission is plain arithmetic on what the store counted.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Credits;

/// The window of the submissions-per-minute limit.
pub const MINUTE: Duration = Duration::seconds(MINUTE_SECS as i64);
const MINUTE_SECS: u64 = 60;

/// The most a weight can be: a partner at 100 gets a hundred slots for each of a weight-1
/// customer's, which is already more than any tier needs.
pub const MAX_WEIGHT: u32 = 100;

/// A customer's share of dispatch relative to others with work queued (1 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Weight(u32);

impl Weight {
    pub const DEFAULT: Weight = Weight(1);

    pub fn get(self) -> u32 {
        self.0
    }

    /// How far one generation moves its customer's place in the fair order: a weight of 4
    /// moves a quarter as far, so it comes round four times as often.
    pub fn stride(self) -> i64 {
        FAIR_STRIDE / i64::from(self.0)
    }
}

/// One generation's step in the fair order at weight 1.
pub const FAIR_STRIDE: i64 = 1_000_000;

impl TryFrom<u32> for Weight {
    type Error = LimitError;

    fn try_from(value: u32) -> Result<Self, LimitError> {
        if (1..=MAX_WEIGHT).contains(&value) {
            Ok(Weight(value))
        } else {
            Err(LimitError::Weight(value))
        }
    }
}

impl From<Weight> for u32 {
    fn from(w: Weight) -> u32 {
        w.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("weight must be between 1 and {MAX_WEIGHT} (got {0})")]
    Weight(u32),
    #[error("{field} must be at least 1 (leave it out, or null, for no limit)")]
    Zero { field: &'static str },
}

impl LimitError {
    pub fn field(&self) -> &'static str {
        match self {
            LimitError::Weight(_) => "weight",
            LimitError::Zero { field } => field,
        }
    }
}

/// Limits as set at one level (the operator's defaults, or one customer's overrides). `None`
/// means "not set here": a customer inherits the default, a default means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitSettings {
    pub max_active: Option<u32>,
    pub submissions_per_minute: Option<u32>,
    pub daily_credits: Option<Credits>,
    pub weight: Option<Weight>,
}

impl LimitSettings {
    /// Refuses limits of zero: a customer who may submit nothing is a disabled account, and
    /// the operator has a button for that.
    pub fn new(
        max_active: Option<u32>,
        submissions_per_minute: Option<u32>,
        daily_credits: Option<i64>,
        weight: Option<u32>,
    ) -> Result<Self, LimitError> {
        let positive = |v: Option<u32>, field| match v {
            Some(0) => Err(LimitError::Zero { field }),
            other => Ok(other),
        };
        let daily_credits = match daily_credits {
            Some(n) if n < 1 => {
                return Err(LimitError::Zero {
                    field: "daily_credits",
                })
            }
            other => other.map(Credits::new),
        };
        Ok(LimitSettings {
            max_active: positive(max_active, "max_active")?,
            submissions_per_minute: positive(submissions_per_minute, "submissions_per_minute")?,
            daily_credits,
            weight: weight.map(Weight::try_from).transpose()?,
        })
    }

    /// This customer's overrides over the operator's defaults.
    pub fn over(self, defaults: LimitSettings) -> Limits {
        Limits {
            max_active: self.max_active.or(defaults.max_active),
            submissions_per_minute: self
                .submissions_per_minute
                .or(defaults.submissions_per_minute),
            daily_credits: self.daily_credits.or(defaults.daily_credits),
            weight: self.weight.or(defaults.weight).unwrap_or(Weight::DEFAULT),
        }
    }
}

/// The limits that apply to one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_active: Option<u32>,
    pub submissions_per_minute: Option<u32>,
    pub daily_credits: Option<Credits>,
    pub weight: Weight,
}

impl Limits {
    /// Whether any submission limit is set (if not, nothing needs counting).
    pub fn any(&self) -> bool {
        self.max_active.is_some()
            || self.submissions_per_minute.is_some()
            || self.daily_credits.is_some()
    }
}

/// What the store counted for one customer, at `now`, before this submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub now: DateTime<Utc>,
    /// Generations queued or running.
    pub active: u32,
    /// Submissions within the last minute.
    pub last_minute: u32,
    /// The earliest of those: the window frees a place a minute after it.
    pub oldest_in_minute: Option<DateTime<Utc>>,
    /// Credits held or spent on generations submitted since midnight UTC (refunded ones not).
    pub spent_today: Credits,
}

/// Why a submission was refused, with when it will be possible again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    TooManyActive {
        limit: u32,
    },
    TooManyPerMinute {
        quota: Quota,
    },
    DailyCap {
        cap: Credits,
        spent: Credits,
        price: Credits,
        resets_at: DateTime<Utc>,
    },
}

/// The state of the submissions-per-minute window, for `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Whole seconds until a place frees (0 when one is free now and none is used).
    pub reset_secs: u64,
}

/// Decides one submission of `price` credits: the quota it leaves, or the limit it breaks.
/// The active limit is checked first (it frees only when work finishes), then the minute,
/// then money, so the customer hears about the limit that lasts longest.
pub fn admit(limits: &Limits, usage: &Usage, price: Credits) -> Result<Option<Quota>, Breach> {
    if let Some(limit) = limits.max_active {
        if usage.active >= limit {
            return Err(Breach::TooManyActive { limit });
        }
    }
    let quota = limits.submissions_per_minute.map(|limit| {
        let reset_secs = usage
            .oldest_in_minute
            .map(|oldest| whole_secs_until(oldest + MINUTE, usage.now))
            .unwrap_or(0)
            // A racing submission may carry a later clock than this one's: never past a minute.
            .min(MINUTE_SECS);
        Quota {
            limit,
            remaining: limit.saturating_sub(usage.last_minute),
            reset_secs,
        }
    });
    if let Some(quota) = quota {
        if quota.remaining == 0 {
            return Err(Breach::TooManyPerMinute { quota });
        }
    }
    if let Some(cap) = limits.daily_credits {
        if usage.spent_today.get().saturating_add(price.get()) > cap.get() {
            return Err(Breach::DailyCap {
                cap,
                spent: usage.spent_today,
                price,
                resets_at: next_midnight(usage.now),
            });
        }
    }
    // This submission takes a place: the headers say what is left after it.
    Ok(quota.map(|q| Quota {
        remaining: q.remaining - 1,
        reset_secs: if usage.last_minute == 0 {
            60
        } else {
            q.reset_secs
        },
        ..q
    }))
}

/// Midnight UTC at the start of `now`'s day: the daily cap counts from here.
pub fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now)
}

pub fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    day_start(now) + Duration::days(1)
}

/// Seconds from `now` until `at`, rounded up (a client waiting that long finds it free).
pub fn whole_secs_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = u64::try_from((at - now).num_milliseconds()).unwrap_or(0);
    ms.div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn usage(now: &str) -> Usage {
        Usage {
            now: at(now),
            active: 0,
            last_minute: 0,
            oldest_in_minute: None,
            spent_today: Credits::new(0),
        }
    }

    fn limits(settings: LimitSettings) -> Limits {
        settings.over(LimitSettings::default())
    }

    #[test]
    fn overrides_win_and_unset_ones_inherit_the_default() {
        let defaults = LimitSettings::new(Some(10), Some(30), None, None).unwrap();
        let partner = LimitSettings::new(Some(100), None, Some(5000), Some(4)).unwrap();
        let effective = partner.over(defaults);
        assert_eq!(effective.max_active, Some(100));
        assert_eq!(effective.submissions_per_minute, Some(30));
        assert_eq!(effective.daily_credits, Some(Credits::new(5000)));
        assert_eq!(effective.weight.get(), 4);
        let plain = LimitSettings::default().over(LimitSettings::default());
        assert_eq!(plain.weight, Weight::DEFAULT);
        assert!(!plain.any());
    }

    #[test]
    fn zero_limits_and_weights_out_of_range_are_refused_naming_the_field() {
        let err = LimitSettings::new(Some(0), None, None, None).unwrap_err();
        assert_eq!(err.field(), "max_active");
        let err = LimitSettings::new(None, None, Some(0), None).unwrap_err();
        assert_eq!(err.field(), "daily_credits");
        let err = LimitSettings::new(None, None, None, Some(101)).unwrap_err();
        assert_eq!(err.field(), "weight");
        assert!(LimitSettings::new(None, None, None, Some(0)).is_err());
    }

    #[test]
    fn the_active_limit_counts_queued_and_running() {
        let limits = limits(LimitSettings::new(Some(3), None, None, None).unwrap());
        let mut u = usage("2026-12-01T10:00:00Z");
        u.active = 2;
        assert_eq!(admit(&limits, &u, Credits::new(10)), Ok(None));
        u.active = 3;
        assert_eq!(
            admit(&limits, &u, Credits::new(10)),
            Err(Breach::TooManyActive { limit: 3 })
        );
    }

    #[test]
    fn the_minute_window_frees_a_minute_after_its_oldest_submission() {
        let limits = limits(LimitSettings::new(None, Some(2), None, None).unwrap());
        let mut u = usage("2026-12-01T10:00:40Z");
        assert_eq!(
            admit(&limits, &u, Credits::new(1)),
            Ok(Some(Quota {
                limit: 2,
                remaining: 1,
                reset_secs: 60
            }))
        );
        u.last_minute = 1;
        u.oldest_in_minute = Some(at("2026-12-01T10:00:10.500Z"));
        assert_eq!(
            admit(&limits, &u, Credits::new(1)),
            Ok(Some(Quota {
                limit: 2,
                remaining: 0,
                reset_secs: 31
            }))
        );
        u.last_minute = 2;
        assert_eq!(
            admit(&limits, &u, Credits::new(1)),
            Err(Breach::TooManyPerMinute {
                quota: Quota {
                    limit: 2,
                    remaining: 0,
                    reset_secs: 31
                }
            })
        );
    }

    #[test]
    fn the_daily_cap_takes_the_price_into_account_and_resets_at_midnight_utc() {
        let limits = limits(LimitSettings::new(None, None, Some(100), None).unwrap());
        let mut u = usage("2026-12-01T22:15:00Z");
        u.spent_today = Credits::new(60);
        assert_eq!(admit(&limits, &u, Credits::new(40)), Ok(None));
        assert_eq!(
            admit(&limits, &u, Credits::new(41)),
            Err(Breach::DailyCap {
                cap: Credits::new(100),
                spent: Credits::new(60),
                price: Credits::new(41),
                resets_at: at("2026-12-02T00:00:00Z"),
            })
        );
        assert_eq!(day_start(u.now), at("2026-12-01T00:00:00Z"));
    }

    #[test]
    fn heavier_weights_take_shorter_strides() {
        let one = Weight::DEFAULT.stride();
        let four = Weight::try_from(4).unwrap().stride();
        assert_eq!(one, 4 * four);
        assert!(Weight::try_from(MAX_WEIGHT).unwrap().stride() > 0);
    }
}
