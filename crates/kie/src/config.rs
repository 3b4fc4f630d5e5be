//! What a [`KieClient`](crate::KieClient) needs to know: where Kie is, the key, and how
//! patient to be.

use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

pub const DEFAULT_BASE_URL: &str = "https://api.kie.ai";
pub const DEFAULT_UPLOAD_BASE_URL: &str = "https://kieai.redpandaai.co";

/// Client settings. `Debug` shows the key as redacted (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct KieConfig {
    /// Kie's API, `https://api.kie.ai` by default; a path prefix is kept.
    pub base_url: Url,
    /// Kie's file upload host, which is not the API host.
    pub upload_base_url: Url,
    pub api_key: SecretString,
    /// The whole of one HTTP exchange, connect to last body byte. Keep it above
    /// `connect_timeout`: a create that runs out of this time counts as sent.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Uploads carry up to 10 MB and get their own, longer, limit.
    pub upload_timeout: Duration,
    pub status_path: JobsStatusPath,
    /// For the calls that are safe to repeat: status reads, balance, 1080p.
    pub retry: RetryPolicy,
}

impl KieConfig {
    /// Kie's public hosts and default timings.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            base_url: default_url(DEFAULT_BASE_URL),
            upload_base_url: default_url(DEFAULT_UPLOAD_BASE_URL),
            api_key,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            upload_timeout: Duration::from_secs(120),
            status_path: JobsStatusPath::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// Both API and upload endpoints on one host, as the simulator serves them.
    pub fn for_single_host(base_url: Url, api_key: SecretString) -> Self {
        Self {
            upload_base_url: base_url.clone(),
            base_url,
            ..Self::new(api_key)
        }
    }
}

fn default_url(text: &str) -> Url {
    // Only ever called with this module's constant URLs, which parse.
    Url::parse(text).expect("constant URL parses")
}

/// Which path the jobs API's status read uses. Kie's current documentation names
/// `recordInfo`; the business's notes name `getTaskDetails`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobsStatusPath {
    #[default]
    RecordInfo,
    GetTaskDetails,
}

impl JobsStatusPath {
    pub fn path(self) -> &'static str {
        match self {
            Self::RecordInfo => "/api/v1/jobs/recordInfo",
            Self::GetTaskDetails => "/api/v1/jobs/getTaskDetails",
        }
    }
}

impl FromStr for JobsStatusPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "recordInfo" => Ok(Self::RecordInfo),
            "getTaskDetails" => Ok(Self::GetTaskDetails),
            other => Err(format!(
                "unknown jobs status path {other:?} (expected recordInfo or getTaskDetails)"
            )),
        }
    }
}

/// Bounded exponential backoff for calls that are safe to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first; 0 disables retries.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The pause before retry number `retry` (0-based): doubling from `initial_backoff`,
    /// capped at `max_backoff`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        let pauses: Vec<u128> = (0..5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(200), Duration::from_millis(500));
    }

    #[test]
    fn status_path_reads_both_spellings() {
        assert_eq!("recordInfo".parse(), Ok(JobsStatusPath::RecordInfo));
        assert_eq!("getTaskDetails".parse(), Ok(JobsStatusPath::GetTaskDetails));
        assert!("record-info".parse::<JobsStatusPath>().is_err());
        assert_eq!(JobsStatusPath::default().path(), "/api/v1/jobs/recordInfo");
    }

    #[test]
    fn defaults_point_at_kie() {
        let config = KieConfig::new(SecretString::from("k"));
        assert_eq!(config.base_url.as_str(), "https://api.kie.ai/");
        assert_eq!(
            config.upload_base_url.as_str(),
            "https://kieai.redpandaai.co/"
        );
    }
}
