//! A small typed client for the three Stripe calls reelgate makes: create and retrieve a
//! Checkout Session (and list them by payment intent), and create a refund. Requests are
//! form-encoded with `Authorization: Bearer sk_…`; the key never enters a log line or error.

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;
use url::Url;

use crate::payments::provider::ProviderError;
use reelgate_domain::payments::ProviderKind;

/// The API version the types below are written against.
const API_VERSION: &str = "2024-06-20";

#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id: String,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// `paid`, `unpaid`, `no_payment_required`.
    pub payment_status: String,
    /// `open`, `complete`, `expired`.
    pub status: Option<String>,
    pub payment_intent: Option<Expandable<PaymentIntent>>,
    pub url: Option<String>,
}

/// A field Stripe gives as an id, or as the object when asked to expand it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expandable<T> {
    Id(String),
    Object(Box<T>),
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub latest_charge: Option<Expandable<Charge>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// Cumulative, in minor units.
    pub amount_refunded: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    data: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

pub struct StripeClient {
    http: reqwest::Client,
    api_base: Url,
    secret_key: SecretString,
}

impl StripeClient {
    pub fn new(api_base: Url, secret_key: SecretString) -> StripeClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        StripeClient {
            http,
            api_base,
            secret_key,
        }
    }

    fn url(&self, path: &str) -> Result<Url, ProviderError> {
        self.api_base
            .join(path)
            .map_err(|e| ProviderError::Refused(ProviderKind::Stripe, e.to_string()))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ProviderError> {
        let unavailable = |e: String| ProviderError::Unavailable(ProviderKind::Stripe, e);
        let response = request
            .bearer_auth(self.secret_key.expose_secret())
            .header("Stripe-Version", API_VERSION)
            .send()
            .await
            // Without the URL: it would name the host only, but keep errors short.
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| unavailable(format!("unreadable answer: {e}")));
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.error.message)
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(unavailable(message))
        } else {
            Err(ProviderError::Refused(ProviderKind::Stripe, message))
        }
    }

    pub async fn create_session(
        &self,
        form: &[(String, String)],
    ) -> Result<Session, ProviderError> {
        let request = self.http.post(self.url("v1/checkout/sessions")?).form(form);
        self.send(request).await
    }

    /// The session with its payment intent and latest charge, to see refunds too.
    pub async fn retrieve_session(&self, id: &str) -> Result<Session, ProviderError> {
        let mut url = self.url("v1/checkout/sessions/")?;
        url.path_segments_mut()
            .map_err(|_| ProviderError::Refused(ProviderKind::Stripe, "bad API base".into()))?
            .pop_if_empty()
            .push(id);
        let request = self
            .http
            .get(url)
            .query(&[("expand[]", "payment_intent.latest_charge")]);
        self.send(request).await
    }

    /// The sessions that made this payment intent (one, for ours).
    pub async fn sessions_for_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Vec<Session>, ProviderError> {
        let request = self
            .http
            .get(self.url("v1/checkout/sessions")?)
            .query(&[("payment_intent", payment_intent)]);
        Ok(self.send::<List<Session>>(request).await?.data)
    }

    pub async fn create_refund(
        &self,
        payment_intent: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<Refund, ProviderError> {
        let request = self
            .http
            .post(self.url("v1/refunds")?)
            // A retried refund request must not refund twice.
            .header("Idempotency-Key", idempotency_key)
            .form(&[
                ("payment_intent", payment_intent.to_owned()),
                ("amount", amount.to_string()),
            ]);
        self.send(request).await
    }
}
