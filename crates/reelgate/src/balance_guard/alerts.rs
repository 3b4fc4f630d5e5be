//! Telling the operator about the Kie balance, and about a model Kie withdrew, by webhook
//! (`REELGATE_OPERATOR_WEBHOOK_URL`):
//! a JSON POST, signed the Standard Webhooks way when a secret is configured. Best effort,
//! retried a few times; the log says the same in any case, and `mail::operators` mails it.
//!
//! The operator configured this address, so unlike customers' webhooks it may be on a
//! private network.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::time::Duration;
use url::Url;

use super::GuardSettings;
use reelgate_domain::reports::KIE_CREDIT_USD;

const ATTEMPTS: u32 = 4;
const FIRST_RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Low,
    Stopped,
    Resumed,
    Recovered,
}

impl AlertKind {
    /// The alert in a line (a mail's subject).
    pub fn subject(self) -> &'static str {
        match self {
            AlertKind::Low => "the Kie balance is low",
            AlertKind::Stopped => "dispatch stopped: the Kie balance is below the stop threshold",
            AlertKind::Resumed => "dispatch resumed",
            AlertKind::Recovered => "the Kie balance is above the warning threshold again",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            AlertKind::Low => "The Kie balance is below the warning threshold: top it up.",
            AlertKind::Stopped => {
                "The Kie balance is below the stop threshold: new generations wait queued until it is topped up."
            }
            AlertKind::Resumed => "The Kie balance was topped up: generations are sent again.",
            AlertKind::Recovered => "The Kie balance is above the warning threshold again.",
        }
    }

    fn event_type(self) -> &'static str {
        match self {
            AlertKind::Low => "upstream.balance_low",
            AlertKind::Stopped => "upstream.dispatch_stopped",
            AlertKind::Resumed => "upstream.dispatch_resumed",
            AlertKind::Recovered => "upstream.balance_ok",
        }
    }
}

#[derive(Debug, Serialize)]
struct Alert {
    #[serde(rename = "type")]
    kind: &'static str,
    message: String,
    balance_credits: String,
    balance_usd: String,
    warn_below_credits: String,
    stop_below_credits: String,
    simulated: bool,
    at: chrono::DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct ModelAlert {
    #[serde(rename = "type")]
    kind: &'static str,
    message: String,
    model: String,
    /// Kie's words.
    reason: String,
    probe_at: DateTime<Utc>,
    simulated: bool,
    at: DateTime<Utc>,
}

pub struct OperatorAlerts {
    url: Option<Url>,
    secret: Option<SecretString>,
    /// The operators' addresses (`REELGATE_OPERATOR_EMAILS`), for the alerts also mailed.
    mail_to: Vec<reelgate_domain::accounts::Email>,
    simulated: bool,
    http: reqwest::Client,
}

impl OperatorAlerts {
    pub fn new(settings: &GuardSettings, simulated: bool) -> Self {
        OperatorAlerts {
            url: settings.operator_webhook.clone(),
            secret: settings.operator_webhook_secret.clone(),
            mail_to: settings.operator_emails.clone(),
            simulated,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// Sends in the background; never blocks the guard.
    pub fn send(&self, kind: AlertKind, credits: Decimal, settings: &GuardSettings) {
        let Some(url) = self.url.clone() else {
            return;
        };
        let message = kind.message();
        let alert = Alert {
            kind: kind.event_type(),
            message: message.to_owned(),
            balance_credits: credits.normalize().to_string(),
            balance_usd: (credits * KIE_CREDIT_USD).normalize().to_string(),
            warn_below_credits: settings.warn_below.normalize().to_string(),
            stop_below_credits: settings.stop_below.normalize().to_string(),
            simulated: self.simulated,
            at: Utc::now(),
        };
        self.post(url, &alert);
    }

    /// Kie refused `model` as withdrawn or disabled: it is paused until `probe_at` (or the
    /// operator resumes it).
    pub fn send_model_paused(&self, model: &str, reason: &str, probe_at: DateTime<Utc>) {
        let Some(url) = self.url.clone() else {
            return;
        };
        let alert = ModelAlert {
            kind: "upstream.model_paused",
            message: model_paused_message(model, probe_at),
            model: model.to_owned(),
            reason: reason.to_owned(),
            probe_at,
            simulated: self.simulated,
            at: Utc::now(),
        };
        self.post(url, &alert);
    }

    /// Where the alerts that are also mailed go (none: not mailed).
    pub fn mail_to(&self) -> &[reelgate_domain::accounts::Email] {
        &self.mail_to
    }

    /// Posts `alert` in the background, retried; never blocks the caller.
    fn post(&self, url: Url, alert: &impl Serialize) {
        let body = match serde_json::to_vec(alert) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, "cannot encode the operator alert");
                return;
            }
        };
        let (http, secret) = (self.http.clone(), self.secret.clone());
        tokio::spawn(async move {
            let id = format!("msg_{}", ulid::Ulid::new().to_string().to_lowercase());
            let mut wait = FIRST_RETRY;
            for attempt in 1..=ATTEMPTS {
                match deliver(&http, &url, secret.as_ref(), &id, &body).await {
                    Ok(()) => return,
                    Err(error) if attempt == ATTEMPTS => {
                        tracing::error!(%error, "cannot deliver the operator alert; giving up");
                    }
                    Err(error) => {
                        tracing::warn!(%error, attempt, "operator alert not delivered; retrying");
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                }
            }
        });
    }
}

async fn deliver(
    http: &reqwest::Client,
    url: &Url,
    secret: Option<&SecretString>,
    id: &str,
    body: &[u8],
) -> Result<(), String> {
    let mut request = http
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec());
    if let Some(secret) = secret {
        let signed = crate::webhooks::signature::sign(
            secret.expose_secret(),
            id,
            Utc::now().timestamp(),
            body,
        )
        .map_err(|e| e.to_string())?;
        request = request
            .header("webhook-id", signed.id)
            .header("webhook-timestamp", signed.timestamp.to_string())
            .header("webhook-signature", signed.signature);
    }
    let response = request
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}

/// What the operator is told of a model Kie withdrew, by webhook and by mail.
pub fn model_paused_message(model: &str, probe_at: DateTime<Utc>) -> String {
    format!(
        "Kie refuses {model} as withdrawn or disabled: it is paused, its queued generations are refunded, and one generation probes it at {probe_at}. Resume it on the dashboard once Kie takes it."
    )
}
