//! The payment providers' settings (product.md): each is on when its keys are set.

use secrecy::SecretString;
use std::time::Duration;

use super::iyzico::{IyzicoSettings, DEFAULT_BASE_URL};
use super::stripe::{StripeSettings, DEFAULT_API_BASE};
use crate::config::{parse_http_url, ConfigError, Settings};

#[derive(Debug, Clone)]
pub struct PaymentSettings {
    pub stripe: Option<StripeSettings>,
    pub iyzico: Option<IyzicoSettings>,
    /// A payment still pending this long after its checkout opened, and not paid by its
    /// provider's word, becomes `expired` (`REELGATE_PAYMENT_EXPIRY_SECS`, default a day).
    pub expiry: Duration,
}

/// A day: as long as a Stripe Checkout session stays payable by default, so that a payment
/// is rarely expired here while its provider's page still takes money (it would then be
/// credited anyway, as docs/PAYMENTS.md says).
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(86_400);

/// Below this an expiry would race customers still on the provider's page.
const MIN_EXPIRY_SECS: u64 = 60;

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            stripe: None,
            iyzico: None,
            expiry: DEFAULT_EXPIRY,
        }
    }
}

fn secret(settings: &Settings, name: &'static str) -> Result<Option<SecretString>, ConfigError> {
    match settings.get(name).map(str::trim) {
        Some("") => Err(ConfigError::Invalid {
            setting: name,
            reason: "must not be empty".into(),
        }),
        Some(value) => Ok(Some(SecretString::from(value.to_owned()))),
        None => Ok(None),
    }
}

impl PaymentSettings {
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let both = |a: &'static str, b: &'static str| ConfigError::Invalid {
            setting: a,
            reason: format!("needs {b} as well"),
        };
        let stripe = match (
            secret(settings, "REELGATE_STRIPE_SECRET_KEY")?,
            secret(settings, "REELGATE_STRIPE_WEBHOOK_SECRET")?,
        ) {
            (Some(secret_key), Some(webhook_secret)) => Some(StripeSettings {
                secret_key,
                webhook_secret,
                api_base: parse_http_url(
                    "REELGATE_STRIPE_API_BASE",
                    settings
                        .get("REELGATE_STRIPE_API_BASE")
                        .unwrap_or(DEFAULT_API_BASE),
                )?,
            }),
            (Some(_), None) => {
                return Err(both(
                    "REELGATE_STRIPE_SECRET_KEY",
                    "REELGATE_STRIPE_WEBHOOK_SECRET",
                ))
            }
            (None, Some(_)) => {
                return Err(both(
                    "REELGATE_STRIPE_WEBHOOK_SECRET",
                    "REELGATE_STRIPE_SECRET_KEY",
                ))
            }
            (None, None) => None,
        };
        let iyzico = match (
            secret(settings, "REELGATE_IYZICO_API_KEY")?,
            secret(settings, "REELGATE_IYZICO_SECRET_KEY")?,
        ) {
            (Some(api_key), Some(secret_key)) => Some(IyzicoSettings {
                api_key,
                secret_key,
                base_url: parse_http_url(
                    "REELGATE_IYZICO_BASE_URL",
                    settings
                        .get("REELGATE_IYZICO_BASE_URL")
                        .unwrap_or(DEFAULT_BASE_URL),
                )?,
            }),
            (Some(_), None) => {
                return Err(both(
                    "REELGATE_IYZICO_API_KEY",
                    "REELGATE_IYZICO_SECRET_KEY",
                ))
            }
            (None, Some(_)) => {
                return Err(both(
                    "REELGATE_IYZICO_SECRET_KEY",
                    "REELGATE_IYZICO_API_KEY",
                ))
            }
            (None, None) => None,
        };
        let expiry = match settings.parse::<u64>("REELGATE_PAYMENT_EXPIRY_SECS")? {
            Some(secs) if secs < MIN_EXPIRY_SECS => {
                return Err(ConfigError::Invalid {
                    setting: "REELGATE_PAYMENT_EXPIRY_SECS",
                    reason: format!("must be at least {MIN_EXPIRY_SECS} (seconds)"),
                })
            }
            Some(secs) => Duration::from_secs(secs),
            None => DEFAULT_EXPIRY,
        };
        Ok(PaymentSettings {
            stripe,
            iyzico,
            expiry,
        })
    }

    /// The providers these settings turn on, iyzico first.
    pub fn providers(&self) -> Vec<std::sync::Arc<dyn super::provider::PaymentProvider>> {
        let mut providers: Vec<std::sync::Arc<dyn super::provider::PaymentProvider>> = Vec::new();
        if let Some(iyzico) = &self.iyzico {
            providers.push(std::sync::Arc::new(super::iyzico::Iyzico::new(iyzico)));
        }
        if let Some(stripe) = &self.stripe {
            providers.push(std::sync::Arc::new(super::stripe::Stripe::new(stripe)));
        }
        providers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_on_only_with_both_of_its_keys() {
        let none = PaymentSettings::from_settings(&Settings::default()).unwrap();
        assert!(none.stripe.is_none() && none.iyzico.is_none());
        assert!(none.providers().is_empty(), "the demo provider then");

        let both = Settings::default()
            .with("REELGATE_STRIPE_SECRET_KEY", "sk_test_1")
            .with("REELGATE_STRIPE_WEBHOOK_SECRET", "whsec_1")
            .with("REELGATE_IYZICO_API_KEY", "sandbox-a")
            .with("REELGATE_IYZICO_SECRET_KEY", "sandbox-b")
            .with(
                "REELGATE_IYZICO_BASE_URL",
                "https://sandbox-api.iyzipay.com",
            );
        let on = PaymentSettings::from_settings(&both).unwrap();
        assert_eq!(
            on.stripe.unwrap().api_base.as_str(),
            "https://api.stripe.com/"
        );
        assert_eq!(
            on.iyzico.unwrap().base_url.as_str(),
            "https://sandbox-api.iyzipay.com/"
        );

        let half = Settings::default().with("REELGATE_STRIPE_SECRET_KEY", "sk_test_1");
        let err = PaymentSettings::from_settings(&half)
            .unwrap_err()
            .to_string();
        assert!(err.contains("REELGATE_STRIPE_WEBHOOK_SECRET"), "{err}");
        let half = Settings::default().with("REELGATE_IYZICO_SECRET_KEY", "x");
        let err = PaymentSettings::from_settings(&half)
            .unwrap_err()
            .to_string();
        assert!(err.contains("REELGATE_IYZICO_API_KEY"), "{err}");
        let bad = Settings::default()
            .with("REELGATE_IYZICO_API_KEY", "a")
            .with("REELGATE_IYZICO_SECRET_KEY", "b")
            .with("REELGATE_IYZICO_BASE_URL", "ftp://x");
        let err = PaymentSettings::from_settings(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("REELGATE_IYZICO_BASE_URL"), "{err}");
    }

    #[test]
    fn pending_payments_expire_after_a_day_unless_configured() {
        let default = PaymentSettings::from_settings(&Settings::default()).unwrap();
        assert_eq!(default.expiry, Duration::from_secs(86_400));
        let hour = Settings::default().with("REELGATE_PAYMENT_EXPIRY_SECS", "3600");
        assert_eq!(
            PaymentSettings::from_settings(&hour).unwrap().expiry,
            Duration::from_secs(3600)
        );
        for bad in ["5", "soon", "-1"] {
            let settings = Settings::default().with("REELGATE_PAYMENT_EXPIRY_SECS", bad);
            let err = PaymentSettings::from_settings(&settings)
                .unwrap_err()
                .to_string();
            assert!(err.contains("REELGATE_PAYMENT_EXPIRY_SECS"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_keys_never_print() {
        let both = Settings::default()
            .with("REELGATE_STRIPE_SECRET_KEY", "sk_live_very_secret")
            .with("REELGATE_STRIPE_WEBHOOK_SECRET", "whsec_very_secret")
            .with("REELGATE_IYZICO_API_KEY", "iyzico_api_very_secret")
            .with("REELGATE_IYZICO_SECRET_KEY", "iyzico_very_secret");
        let printed = format!("{:?}", PaymentSettings::from_settings(&both).unwrap());
        assert!(!printed.contains("very_secret"), "{printed}");
    }
}
