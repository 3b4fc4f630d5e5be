//! The payment providers' settings (product.md): each is on when its keys are set.

use secrecy::SecretString;

use super::iyzico::{IyzicoSettings, DEFAULT_BASE_URL};
use super::stripe::{StripeSettings, DEFAULT_API_BASE};
use crate::config::{parse_http_url, ConfigError, Settings};

#[derive(Debug, Clone, Default)]
pub struct PaymentSettings {
    pub stripe: Option<StripeSettings>,
    pub iyzico: Option<IyzicoSettings>,
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
        Ok(PaymentSettings { stripe, iyzico })
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
