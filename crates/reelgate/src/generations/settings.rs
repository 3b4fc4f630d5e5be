//! The lifecycle's knobs, with defaults fit for Kie AI itself.

use std::time::Duration;

use crate::config::{ConfigError, Settings};
use reelgate_domain::generations::PollSchedule;
use reelgate_store::{RateLimit, RateWindow};

/// Kie's published limit: 20 new generation requests per 10 seconds.
pub const KIE_RATE_LIMIT: RateLimit = RateLimit {
    requests: 20,
    per: Duration::from_secs(10),
};

/// Between taking a create's rate slot and sending its request: claiming the row, starting
/// the send.
const SEND_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleSettings {
    /// New upstream tasks per window (`REELGATE_UPSTREAM_RATE_LIMIT`, `N/SECONDS`, default Kie's 20/10).
    pub rate_limit: RateLimit,
    /// Tasks running upstream at once (`REELGATE_MAX_CONCURRENT_TASKS`, default 100).
    pub max_concurrent_tasks: u32,
    /// Budget of status reads (`REELGATE_STATUS_CALLS_PER_MINUTE`, default 600).
    pub status_calls_per_minute: u32,
    /// A task running longer fails and is refunded (`REELGATE_MAX_RUNNING_SECS`, default 3600).
    pub max_running: Duration,
    /// How long a generation may wait queued while Kie refuses for reasons only the operator
    /// can fix (key, balance, spending cap) or is down (`REELGATE_UPSTREAM_WAIT_SECS`, 1800).
    pub upstream_wait: Duration,
    /// The first pause of a model the upstream refuses as withdrawn or disabled
    /// (`REELGATE_MODEL_PAUSE_SECS`, default 600); doubled per refused probe, at most a day.
    pub model_pause: Duration,
    /// How long to wait for a callback to reveal a task whose create answer was lost
    /// (`REELGATE_UNCONFIRMED_WAIT_SECS`, default 900).
    pub unconfirmed_wait: Duration,
    /// How long to keep asking for Veo's 1080p video (`REELGATE_HD_WAIT_SECS`, default 300).
    pub hd_wait: Duration,
    /// Let webhook URLs reach private networks (`REELGATE_ALLOW_PRIVATE_URLS`, default false).
    pub allow_private_urls: bool,
    /// Webhook deliveries one customer may have pending (`REELGATE_WEBHOOK_PENDING_CAP`,
    /// default 1000); past it, the newest are given up on at once (see docs/WEBHOOKS.md).
    pub webhook_pending_cap: u32,
    /// Longest wait for one upstream answer (`REELGATE_UPSTREAM_TIMEOUT_MS`, default 30000).
    /// A create that outlasts it has an unknown outcome and is never re-sent.
    pub upstream_timeout: Duration,
    /// How long a worker's claim on a job lasts (`REELGATE_CLAIM_LEASE_SECS`, at least twice
    /// the upstream timeout; default twice the timeout plus 5 s): the time before a stopped
    /// instance's jobs are taken over by another.
    pub claim_lease: Duration,
    /// Bounds of the wait between status reads of a task that has not called back
    /// (`REELGATE_POLL_MIN_INTERVAL_MS`, default 2000; `REELGATE_POLL_MAX_INTERVAL_SECS`,
    /// default 120 — it also caps the first wait, which is otherwise the expected duration).
    pub poll: PollSchedule,
    /// How long each family usually takes upstream; the first status read waits this long.
    pub expected: ExpectedDurations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedDurations {
    pub veo: Duration,
    pub sora: Duration,
    pub kling: Duration,
    pub grok: Duration,
}

impl ExpectedDurations {
    /// Typical times Kie reports for each family.
    pub const KIE: ExpectedDurations = ExpectedDurations {
        veo: Duration::from_secs(90),
        sora: Duration::from_secs(240),
        kling: Duration::from_secs(120),
        grok: Duration::from_secs(60),
    };

    /// By catalog model id: the family is the id's first word.
    pub fn for_model(&self, model: &str) -> Duration {
        match model.split(['-', '/']).next().unwrap_or("") {
            "veo3" => self.veo,
            "sora" => self.sora,
            "kling" => self.kling,
            _ => self.grok,
        }
    }
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            rate_limit: KIE_RATE_LIMIT,
            max_concurrent_tasks: 100,
            status_calls_per_minute: 600,
            max_running: Duration::from_secs(3600),
            upstream_wait: Duration::from_secs(1800),
            model_pause: Duration::from_secs(600),
            unconfirmed_wait: Duration::from_secs(900),
            hd_wait: Duration::from_secs(300),
            allow_private_urls: false,
            webhook_pending_cap: 1000,
            upstream_timeout: Duration::from_secs(30),
            claim_lease: default_lease(Duration::from_secs(30)),
            poll: PollSchedule::default(),
            expected: ExpectedDurations::KIE,
        }
    }
}

impl LifecycleSettings {
    /// The rate window of the creates sent with one Kie key, its rows named `name` in a
    /// shared database (every instance names a key's window alike).
    pub fn create_window(&self, name: String) -> RateWindow {
        RateWindow {
            name,
            requests: self.rate_limit.requests,
            per: self.rate_limit.per,
            unanswered_for: self.upstream_timeout + SEND_MARGIN,
        }
    }

    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let defaults = LifecycleSettings::default();
        let secs = |setting: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            Ok(settings
                .parse::<u64>(setting)?
                .map(Duration::from_secs)
                .unwrap_or(default))
        };
        let rate_limit = match settings.get("REELGATE_UPSTREAM_RATE_LIMIT") {
            Some(raw) => parse_rate(raw).ok_or_else(|| ConfigError::Invalid {
                setting: "REELGATE_UPSTREAM_RATE_LIMIT",
                reason: format!("{raw:?}: expected REQUESTS/SECONDS, for example 20/10"),
            })?,
            None => defaults.rate_limit,
        };
        let positive = |setting: &'static str, default: u32| -> Result<u32, ConfigError> {
            match settings.parse::<u32>(setting)? {
                Some(0) => Err(ConfigError::Invalid {
                    setting,
                    reason: "must be at least 1".into(),
                }),
                Some(n) => Ok(n),
                None => Ok(default),
            }
        };
        let upstream_timeout = match settings.parse::<u64>("REELGATE_UPSTREAM_TIMEOUT_MS")? {
            // Zero would time every request out at once: every create "lost", never re-sent.
            Some(0) => {
                return Err(ConfigError::Invalid {
                    setting: "REELGATE_UPSTREAM_TIMEOUT_MS",
                    reason: "must be at least 1 (milliseconds)".into(),
                })
            }
            Some(ms) => Duration::from_millis(ms),
            None => defaults.upstream_timeout,
        };
        let claim_lease = match settings.parse::<u64>("REELGATE_CLAIM_LEASE_SECS")? {
            Some(secs) if Duration::from_secs(secs) < upstream_timeout * 2 => {
                return Err(ConfigError::Invalid {
                    setting: "REELGATE_CLAIM_LEASE_SECS",
                    reason: format!(
                        "{secs} s is less than twice the upstream timeout ({} ms): a claim must outlast a request",
                        upstream_timeout.as_millis()
                    ),
                })
            }
            Some(secs) => Duration::from_secs(secs),
            None => default_lease(upstream_timeout),
        };
        Ok(LifecycleSettings {
            rate_limit,
            max_concurrent_tasks: positive(
                "REELGATE_MAX_CONCURRENT_TASKS",
                defaults.max_concurrent_tasks,
            )?,
            status_calls_per_minute: positive(
                "REELGATE_STATUS_CALLS_PER_MINUTE",
                defaults.status_calls_per_minute,
            )?,
            max_running: secs("REELGATE_MAX_RUNNING_SECS", defaults.max_running)?,
            upstream_wait: secs("REELGATE_UPSTREAM_WAIT_SECS", defaults.upstream_wait)?,
            model_pause: match secs("REELGATE_MODEL_PAUSE_SECS", defaults.model_pause)? {
                // Zero would probe with every generation: no pause at all.
                zero if zero.is_zero() => {
                    return Err(ConfigError::Invalid {
                        setting: "REELGATE_MODEL_PAUSE_SECS",
                        reason: "must be at least 1 (seconds)".into(),
                    })
                }
                pause => pause,
            },
            unconfirmed_wait: secs("REELGATE_UNCONFIRMED_WAIT_SECS", defaults.unconfirmed_wait)?,
            hd_wait: secs("REELGATE_HD_WAIT_SECS", defaults.hd_wait)?,
            allow_private_urls: settings
                .parse::<bool>("REELGATE_ALLOW_PRIVATE_URLS")?
                .unwrap_or(false),
            webhook_pending_cap: positive(
                "REELGATE_WEBHOOK_PENDING_CAP",
                defaults.webhook_pending_cap,
            )?,
            upstream_timeout,
            claim_lease,
            poll: PollSchedule {
                min_interval: settings
                    .parse::<u64>("REELGATE_POLL_MIN_INTERVAL_MS")?
                    .map(Duration::from_millis)
                    .unwrap_or(defaults.poll.min_interval),
                max_interval: secs(
                    "REELGATE_POLL_MAX_INTERVAL_SECS",
                    defaults.poll.max_interval,
                )?,
            },
            expected: defaults.expected,
        })
    }
}

/// Long enough for a request and the writes around it, short enough that a stopped
/// instance's work is soon taken over.
fn default_lease(upstream_timeout: Duration) -> Duration {
    upstream_timeout * 2 + Duration::from_secs(5)
}

fn parse_rate(raw: &str) -> Option<RateLimit> {
    let (requests, secs) = raw.trim().split_once('/')?;
    let requests: u32 = requests.trim().parse().ok().filter(|n| *n > 0)?;
    let secs: u64 = secs
        .trim()
        .trim_end_matches('s')
        .parse()
        .ok()
        .filter(|n| *n > 0)?;
    Some(RateLimit {
        requests,
        per: Duration::from_secs(secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_kies_published_limits() {
        let settings = LifecycleSettings::from_settings(&Settings::default()).unwrap();
        assert_eq!(settings, LifecycleSettings::default());
        assert_eq!(
            settings.rate_limit,
            RateLimit {
                requests: 20,
                per: Duration::from_secs(10)
            }
        );
    }

    #[test]
    fn rate_limit_and_waits_are_configurable() {
        let settings = LifecycleSettings::from_settings(
            &Settings::default()
                .with("REELGATE_UPSTREAM_RATE_LIMIT", "1000/1")
                .with("REELGATE_MAX_RUNNING_SECS", "60"),
        )
        .unwrap();
        assert_eq!(
            settings.rate_limit,
            RateLimit {
                requests: 1000,
                per: Duration::from_secs(1)
            }
        );
        assert_eq!(settings.max_running, Duration::from_secs(60));
    }

    #[test]
    fn a_claim_lease_must_outlast_an_upstream_request() {
        let short = Settings::default()
            .with("REELGATE_UPSTREAM_TIMEOUT_MS", "5000")
            .with("REELGATE_CLAIM_LEASE_SECS", "9");
        let err = LifecycleSettings::from_settings(&short).unwrap_err();
        assert!(
            err.to_string().starts_with("REELGATE_CLAIM_LEASE_SECS"),
            "{err}"
        );
        let slow_upstream = Settings::default().with("REELGATE_UPSTREAM_TIMEOUT_MS", "45000");
        assert_eq!(
            LifecycleSettings::from_settings(&slow_upstream)
                .unwrap()
                .claim_lease,
            Duration::from_secs(95),
            "the default lease follows the timeout"
        );
        let fast = Settings::default()
            .with("REELGATE_UPSTREAM_TIMEOUT_MS", "2000")
            .with("REELGATE_CLAIM_LEASE_SECS", "4");
        let fast = LifecycleSettings::from_settings(&fast).unwrap();
        assert_eq!(fast.claim_lease, Duration::from_secs(4));
    }

    #[test]
    fn bad_values_name_the_setting() {
        for (key, value) in [
            ("REELGATE_UPSTREAM_RATE_LIMIT", "fast"),
            ("REELGATE_UPSTREAM_RATE_LIMIT", "0/10"),
            ("REELGATE_MAX_CONCURRENT_TASKS", "0"),
            ("REELGATE_HD_WAIT_SECS", "-1"),
            ("REELGATE_ALLOW_PRIVATE_URLS", "maybe"),
        ] {
            let err = LifecycleSettings::from_settings(&Settings::default().with(key, value))
                .unwrap_err();
            assert!(err.to_string().starts_with(key), "{err}");
        }
    }

    #[test]
    fn expected_duration_follows_the_family() {
        let expected = ExpectedDurations::KIE;
        assert_eq!(expected.for_model("veo3-fast"), expected.veo);
        assert_eq!(
            expected.for_model("sora-2-pro-image-to-video"),
            expected.sora
        );
        assert_eq!(
            expected.for_model("kling-2.6/text-to-video"),
            expected.kling
        );
        assert_eq!(
            expected.for_model("grok-imagine/text-to-video"),
            expected.grok
        );
    }
}
