//! Stripe Checkout Sessions. A session is opened per payment at the price it captured
//! (`price_data`, our payment's id as `client_reference_id` and in the metadata); Stripe's
//! events are only hints: a session event is confirmed by retrieving the session
//! (`payment_status == paid`, the amount, the currency and our id checked), a refund is read
//! from the charge's cumulative `amount_refunded`, a dispute from the signed event itself.
//!
//! A small typed client rather than `async-stripe`: reelgate makes four calls, and the
//! crate's generated types cost minutes of build for each clean build and each CI run.

mod client;
mod event;
pub mod signature;

use futures::future::BoxFuture;
use futures::FutureExt;
use reelgate_domain::payments::{Fact, Money, Payment, PaymentId, ProviderKind};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::provider::{
    Buyer, Checkout, Notification, NotificationError, PaymentProvider, ProviderError, ReturnUrls,
};
use client::{Expandable, Session, StripeClient};

/// `REELGATE_STRIPE_*`.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub secret_key: SecretString,
    pub webhook_secret: SecretString,
    pub api_base: Url,
}

pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// The metadata key naming our payment on the session and its payment intent.
const PAYMENT_KEY: &str = "reelgate_payment";

pub struct Stripe {
    client: StripeClient,
    webhook_secret: SecretString,
}

impl Stripe {
    pub fn new(settings: &StripeSettings) -> Stripe {
        Stripe {
            client: StripeClient::new(settings.api_base.clone(), settings.secret_key.clone()),
            webhook_secret: settings.webhook_secret.clone(),
        }
    }
}

fn mismatch(what: String) -> ProviderError {
    ProviderError::Mismatch(ProviderKind::Stripe, what)
}

fn minor_to_decimal(units: i64, money: &Money) -> Decimal {
    Decimal::new(units, money.currency().minor_digits())
}

/// The session must be the one opened for this payment, at its price.
fn check_session(session: &Session, payment: &Payment) -> Result<(), ProviderError> {
    let ours = payment.id.as_str();
    if session.client_reference_id.as_deref() != Some(ours) {
        return Err(mismatch(format!(
            "session {} belongs to {:?}, not {ours}",
            session.id, session.client_reference_id
        )));
    }
    if let Some(named) = session.metadata.get(PAYMENT_KEY) {
        if named != ours {
            return Err(mismatch(format!(
                "session metadata names {named}, not {ours}"
            )));
        }
    }
    let currency = payment.price.currency().code().to_ascii_lowercase();
    if session.currency.as_deref() != Some(currency.as_str()) {
        return Err(mismatch(format!(
            "currency {:?}, expected {currency}",
            session.currency
        )));
    }
    if session.amount_total != Some(payment.price.minor_units()) {
        return Err(mismatch(format!(
            "amount {:?} minor units, expected {}",
            session.amount_total,
            payment.price.minor_units()
        )));
    }
    Ok(())
}

/// What a retrieved session says happened.
fn session_facts(session: &Session, payment: &Payment) -> Vec<Fact> {
    let mut facts = Vec::new();
    if session.payment_status == "paid" {
        let intent = session.payment_intent.as_ref().map(|pi| match pi {
            Expandable::Id(id) => id.clone(),
            Expandable::Object(pi) => pi.id.clone(),
        });
        facts.push(Fact::Paid {
            provider_payment_id: intent,
        });
        let charge = match &session.payment_intent {
            Some(Expandable::Object(pi)) => match &pi.latest_charge {
                Some(Expandable::Object(charge)) => Some(charge),
                _ => None,
            },
            _ => None,
        };
        if let Some(charge) = charge.filter(|c| c.amount_refunded > 0) {
            facts.push(Fact::RefundedTotal(minor_to_decimal(
                charge.amount_refunded,
                &payment.price,
            )));
        }
    } else if session.status.as_deref() == Some("expired") {
        facts.push(Fact::Expired);
    }
    facts
}

impl PaymentProvider for Stripe {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Stripe
    }

    fn create_checkout<'a>(
        &'a self,
        payment: &'a Payment,
        buyer: &'a Buyer,
        urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<Checkout, ProviderError>> {
        async move {
            let id = payment.id.to_string();
            let item = "line_items[0][price_data]";
            let name = format!(
                "{} ({} credits)",
                payment.package_name,
                payment.total_credits().get()
            );
            let form: Vec<(String, String)> = vec![
                ("mode".into(), "payment".into()),
                ("success_url".into(), urls.done.to_string()),
                ("cancel_url".into(), urls.done.to_string()),
                ("client_reference_id".into(), id.clone()),
                // Prefills the hosted page and is where Stripe sends its own receipt.
                ("customer_email".into(), buyer.email.as_str().to_owned()),
                (format!("metadata[{PAYMENT_KEY}]"), id.clone()),
                (
                    format!("payment_intent_data[metadata][{PAYMENT_KEY}]"),
                    id.clone(),
                ),
                (
                    format!("{item}[currency]"),
                    payment.price.currency().code().to_ascii_lowercase(),
                ),
                (
                    format!("{item}[unit_amount]"),
                    payment.price.minor_units().to_string(),
                ),
                (format!("{item}[product_data][name]"), name),
                ("line_items[0][quantity]".into(), "1".into()),
            ];
            let session = self.client.create_session(&form).await?;
            let url = session
                .url
                .as_deref()
                .and_then(|u| Url::parse(u).ok())
                .ok_or_else(|| mismatch("the new session has no payment page URL".into()))?;
            Ok(Checkout {
                provider_ref: session.id,
                redirect_url: url,
            })
        }
        .boxed()
    }

    fn confirm<'a>(
        &'a self,
        payment: &'a Payment,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>> {
        async move {
            let Some(session_id) = &payment.provider_ref else {
                return Ok(Vec::new());
            };
            let session = self.client.retrieve_session(session_id).await?;
            check_session(&session, payment)?;
            Ok(session_facts(&session, payment))
        }
        .boxed()
    }

    fn parse_notification(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Notification, NotificationError> {
        let header = headers
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok());
        signature::verify(
            header,
            body,
            self.webhook_secret.expose_secret(),
            chrono::Utc::now().timestamp(),
        )?;
        event::read(body)
    }

    fn refund<'a>(
        &'a self,
        payment: &'a Payment,
        amount: Decimal,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>> {
        async move {
            let intent = payment.provider_payment_id.as_deref().ok_or_else(|| {
                ProviderError::Refused(ProviderKind::Stripe, "the payment has no payment intent".into())
            })?;
            let money = Money::new(amount, payment.price.currency())
                .map_err(|e| ProviderError::Refused(ProviderKind::Stripe, e.to_string()))?;
            let total = payment.refunded + amount;
            // The same operator refund retried (a timeout, a double click) is one refund.
            let key = format!("{}-refund-to-{total}", payment.id);
            let refund = self
                .client
                .create_refund(intent, money.minor_units(), &key)
                .await?;
            tracing::info!(payment = %payment.id, refund = %refund.id, %amount, "Stripe refund made");
            Ok(vec![Fact::RefundedTotal(total)])
        }
        .boxed()
    }

    fn locate<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<PaymentId>, ProviderError>> {
        async move {
            if !reference.starts_with("pi_") {
                return Ok(None);
            }
            let sessions = self.client.sessions_for_intent(reference).await?;
            Ok(sessions
                .iter()
                .find_map(|s| s.client_reference_id.as_deref()?.parse().ok()))
        }
        .boxed()
    }
}
