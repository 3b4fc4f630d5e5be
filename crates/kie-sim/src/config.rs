//! What a simulated Kie account looks like: timings, limits, faults and money.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::model::{Family, Model};

/// Everything tunable. `Default` gives realistic demo values; [`SimConfig::for_tests`] gives a
/// simulator that finishes every task at once and never misbehaves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seeds the one RNG behind every random choice (task ids, outcomes, faults).
    pub seed: u64,
    pub durations: Durations,
    /// How long Veo's 1080p file lags behind the 720p success.
    pub hd_delay: Duration,
    /// How long Veo's 4K file takes from the `get-4k-video` request (Kie: 5–10 minutes).
    pub uhd_delay: Duration,
    /// Kie's webhook HMAC key: with one, every callback carries `X-Webhook-Timestamp` and
    /// `X-Webhook-Signature`, as Kie's do once the account turns verification on.
    pub webhook_key: Option<String>,
    /// `None` means unlimited.
    pub rate_limit: Option<RateLimit>,
    pub faults: Faults,
    /// In Kie credits (1 Kie credit = $0.005).
    pub initial_balance: Decimal,
    /// Base URL put in result and download URLs; `None` uses the bound address (or, when the
    /// router is mounted by someone else, the `Host` of the first request).
    pub public_url: Option<String>,
    /// Accounts with a balance of their own, by API key (several Kie accounts); every other key
    /// draws on `initial_balance`. Each key has its own rate window either way.
    pub key_balances: Vec<(String, Decimal)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            // A fresh seed per run: a restarted simulator must not hand out task ids that an
            // earlier run already gave to the same reelgate database.
            seed: seed_from_clock(),
            durations: Durations::default(),
            hd_delay: Duration::from_secs(2),
            uhd_delay: Duration::from_secs(10),
            webhook_key: None,
            rate_limit: Some(RateLimit::KIE),
            faults: Faults::default(),
            initial_balance: Decimal::from(1_000_000),
            public_url: None,
            key_balances: Vec::new(),
        }
    }
}

impl SimConfig {
    /// Zero durations, no HD delay, no rate limit, no faults, seed 0.
    pub fn for_tests() -> Self {
        Self {
            seed: 0,
            durations: Durations::zero(),
            hd_delay: Duration::ZERO,
            uhd_delay: Duration::ZERO,
            rate_limit: None,
            ..Self::default()
        }
    }
}

fn seed_from_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// How long a task takes from creation to its final state, per model family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Durations {
    pub veo3: Duration,
    pub veo3_fast: Duration,
    pub sora: Duration,
    pub sora_pro: Duration,
    pub kling: Duration,
    pub grok: Duration,
}

impl Default for Durations {
    /// A few seconds each, keeping the real models' order (Veo quality slowest, Grok fastest).
    fn default() -> Self {
        Self {
            veo3: Duration::from_secs(8),
            veo3_fast: Duration::from_secs(5),
            sora: Duration::from_secs(6),
            sora_pro: Duration::from_secs(9),
            kling: Duration::from_secs(5),
            grok: Duration::from_secs(4),
        }
    }
}

impl Durations {
    pub fn zero() -> Self {
        Self::uniform(Duration::ZERO)
    }

    pub fn uniform(d: Duration) -> Self {
        Self {
            veo3: d,
            veo3_fast: d,
            sora: d,
            sora_pro: d,
            kling: d,
            grok: d,
        }
    }

    /// Every duration multiplied by `factor` (negative or NaN counts as zero; overflow saturates).
    pub fn scaled(&self, factor: f64) -> Self {
        let f = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            0.0
        };
        let s =
            |d: Duration| Duration::try_from_secs_f64(d.as_secs_f64() * f).unwrap_or(Duration::MAX);
        Self {
            veo3: s(self.veo3),
            veo3_fast: s(self.veo3_fast),
            sora: s(self.sora),
            sora_pro: s(self.sora_pro),
            kling: s(self.kling),
            grok: s(self.grok),
        }
    }

    pub fn for_model(&self, model: Model) -> Duration {
        match model.family() {
            Family::Veo3 => self.veo3,
            Family::Veo3Fast => self.veo3_fast,
            Family::Sora => self.sora,
            Family::SoraPro => self.sora_pro,
            Family::Kling => self.kling,
            Family::Grok => self.grok,
        }
    }
}

/// At most `requests` new tasks per sliding window of `per`, per API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl RateLimit {
    /// Kie's published limit: 20 new generation requests per 10 seconds per key.
    pub const KIE: RateLimit = RateLimit {
        requests: 20,
        per: Duration::from_secs(10),
    };
}

/// Misbehaviour to inject. Ratios are probabilities in `[0, 1]` (values outside are clamped).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Tasks that end failed (jobs `fail`, Veo successFlag 2|3, code 501/400 in callbacks).
    pub failure_ratio: f64,
    /// Answers that are HTTP 500 with envelope code 500; the request is not acted on.
    pub server_error_ratio: f64,
    /// Added to every answer after the work is done: a slow create was created.
    pub latency: Duration,
    pub drop_callback_ratio: f64,
    pub duplicate_callback_ratio: f64,
    /// JSON answers whose body is cut short (not valid JSON); the work was done.
    pub malformed_ratio: f64,
    /// Veo 4K upgrades that Kie cannot make ("The 4K version of this video is unavailable").
    pub upscale_failure_ratio: f64,
}
