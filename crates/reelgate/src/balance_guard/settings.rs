//! The balance guard's knobs.

use rust_decimal::Decimal;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

use crate::config::{ConfigError, Settings};
use reelgate_domain::accounts::Email;

#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// How often Kie's balance is read (`REELGATE_BALANCE_POLL_SECS`, default 300).
    pub poll_every: Duration,
    /// Below this many Kie credits the operator is warned (`REELGATE_BALANCE_WARN_CREDITS`,
    /// default 2000, i.e. $10).
    pub warn_below: Decimal,
    /// Below this many, dispatch stops and generations wait queued
    /// (`REELGATE_BALANCE_STOP_CREDITS`, default 200, i.e. $1; 0 never stops).
    pub stop_below: Decimal,
    /// Where warnings are POSTed (`REELGATE_OPERATOR_WEBHOOK_URL`).
    pub operator_webhook: Option<Url>,
    /// Signs them the Standard Webhooks way when set (`REELGATE_OPERATOR_WEBHOOK_SECRET`,
    /// `whsec_…`).
    pub operator_webhook_secret: Option<SecretString>,
    /// The same alerts, and a Kie key refused, mailed to these addresses
    /// (`REELGATE_OPERATOR_EMAILS`, comma-separated).
    pub operator_emails: Vec<Email>,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            poll_every: Duration::from_secs(300),
            warn_below: Decimal::from(2000),
            stop_below: Decimal::from(200),
            operator_webhook: None,
            operator_webhook_secret: None,
            operator_emails: Vec::new(),
        }
    }
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

impl GuardSettings {
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let defaults = GuardSettings::default();
        let credits = |setting: &'static str, default: Decimal| -> Result<Decimal, ConfigError> {
            match settings.parse::<Decimal>(setting)? {
                Some(n) if n.is_sign_negative() && !n.is_zero() => {
                    Err(invalid(setting, "must be zero or more Kie credits"))
                }
                Some(n) => Ok(n),
                None => Ok(default),
            }
        };
        let poll_every = match settings.parse::<u64>("REELGATE_BALANCE_POLL_SECS")? {
            Some(0) => return Err(invalid("REELGATE_BALANCE_POLL_SECS", "must be at least 1")),
            Some(secs) => Duration::from_secs(secs),
            None => defaults.poll_every,
        };
        let warn_below = credits("REELGATE_BALANCE_WARN_CREDITS", defaults.warn_below)?;
        let stop_below = credits("REELGATE_BALANCE_STOP_CREDITS", defaults.stop_below)?;
        if stop_below > warn_below {
            return Err(invalid(
                "REELGATE_BALANCE_STOP_CREDITS",
                format!("{stop_below} is above REELGATE_BALANCE_WARN_CREDITS ({warn_below}): the operator must be warned before dispatch stops"),
            ));
        }
        let operator_webhook = settings
            .get("REELGATE_OPERATOR_WEBHOOK_URL")
            .map(|raw| {
                Url::parse(raw.trim())
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        invalid(
                            "REELGATE_OPERATOR_WEBHOOK_URL",
                            format!("{raw:?}: must be an http(s) URL"),
                        )
                    })
            })
            .transpose()?;
        let operator_webhook_secret = match settings.get("REELGATE_OPERATOR_WEBHOOK_SECRET") {
            Some(secret) => {
                if crate::webhooks::signature::sign(secret, "check", 0, b"").is_err() {
                    return Err(invalid(
                        "REELGATE_OPERATOR_WEBHOOK_SECRET",
                        "must be `whsec_` followed by base64",
                    ));
                }
                Some(SecretString::from(secret.to_owned()))
            }
            None => None,
        };
        let operator_emails = settings
            .get("REELGATE_OPERATOR_EMAILS")
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(|address| {
                        Email::parse(address).map_err(|e| {
                            invalid("REELGATE_OPERATOR_EMAILS", format!("{address:?}: {e}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(GuardSettings {
            poll_every,
            warn_below,
            stop_below,
            operator_webhook,
            operator_webhook_secret,
            operator_emails,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_kie_credits_and_stop_is_below_warn() {
        let s = GuardSettings::from_settings(
            &Settings::default()
                .with("REELGATE_BALANCE_WARN_CREDITS", "500.5")
                .with("REELGATE_BALANCE_STOP_CREDITS", "100")
                .with("REELGATE_BALANCE_POLL_SECS", "1"),
        )
        .unwrap();
        assert_eq!(s.warn_below.to_string(), "500.5");
        assert_eq!(s.stop_below, Decimal::from(100));
        assert_eq!(s.poll_every, Duration::from_secs(1));
        assert!(s.operator_emails.is_empty());
        let s = GuardSettings::from_settings(&Settings::default().with(
            "REELGATE_OPERATOR_EMAILS",
            "Ops@Example.com, cto@example.com,",
        ))
        .unwrap();
        let emails: Vec<&str> = s.operator_emails.iter().map(Email::as_str).collect();
        assert_eq!(emails, ["ops@example.com", "cto@example.com"]);
        for (key, value) in [
            ("REELGATE_BALANCE_STOP_CREDITS", "5000"),
            ("REELGATE_BALANCE_WARN_CREDITS", "-1"),
            ("REELGATE_BALANCE_POLL_SECS", "0"),
            ("REELGATE_OPERATOR_WEBHOOK_URL", "ftp://x"),
            ("REELGATE_OPERATOR_WEBHOOK_SECRET", "hunter2"),
            (
                "REELGATE_OPERATOR_EMAILS",
                "ops@example.com, not an address",
            ),
        ] {
            let err =
                GuardSettings::from_settings(&Settings::default().with(key, value)).unwrap_err();
            assert!(err.to_string().starts_with(key), "{err}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }
}
