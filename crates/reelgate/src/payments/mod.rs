//! Selling credits: checkouts through a provider, confirmation from the provider's own API,
//! notifications, refunds. Credits move only in the store, from the facts a provider confirms
//! (`reelgate_store::Store::apply_payment_facts`); nothing here touches the ledger directly.

pub mod demo;
pub mod expiry;
pub mod iyzico;
mod pending;
pub mod provider;
pub mod settings;
pub mod stripe;

use reelgate_domain::accounts::{User, UserId};
use reelgate_domain::payments::{Fact, PackageId, Payment, PaymentId, ProviderKind};
use reelgate_store::{NewPaymentEvent, Settled, Store, StoreError};
use rust_decimal::Decimal;
use std::sync::Arc;
use url::Url;

use demo::Demo;
use provider::{Buyer, NotificationError, PaymentProvider, ProviderError, ReturnUrls, Target};

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the payment provider {0} is not configured on this server")]
    NotConfigured(ProviderKind),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("{0}")]
    NotRefundable(String),
    #[error("notification refused: {0}")]
    Refused(#[from] NotificationError),
    /// The provider said no to the operator's refund (already refunded in its panel, an
    /// amount above what it still holds…): nothing moved, and the refusal is on the payment.
    #[error("{0}")]
    RefundRefused(ProviderError),
}

/// The providers this server takes payments through, and the way to them.
pub struct Payments {
    store: Store,
    providers: Vec<Arc<dyn PaymentProvider>>,
    demo: Option<Arc<Demo>>,
    public_url: Url,
}

impl Payments {
    /// With no real provider configured, the demo provider is the only one (and says so).
    pub fn new(store: Store, public_url: Url, providers: Vec<Arc<dyn PaymentProvider>>) -> Self {
        let demo = if providers.is_empty() {
            tracing::warn!(
                "no payment provider is configured: buying credits uses the built-in DEMO \
                 payment page, where no money moves. Set REELGATE_IYZICO_* or REELGATE_STRIPE_* \
                 to take real payments."
            );
            Some(Arc::new(Demo::new(public_url.clone())))
        } else {
            None
        };
        let mut all = providers;
        if let Some(demo) = &demo {
            all.push(Arc::clone(demo) as Arc<dyn PaymentProvider>);
        }
        Payments {
            store,
            providers: all,
            demo,
            public_url,
        }
    }

    pub fn provider(&self, kind: ProviderKind) -> Result<&dyn PaymentProvider, PaymentError> {
        self.providers
            .iter()
            .find(|p| p.kind() == kind)
            .map(|p| p.as_ref())
            .ok_or(PaymentError::NotConfigured(kind))
    }

    /// The providers a customer may choose, iyzico first.
    pub fn available(&self) -> Vec<ProviderKind> {
        ProviderKind::ALL
            .into_iter()
            .filter(|kind| self.providers.iter().any(|p| p.kind() == *kind))
            .collect()
    }

    pub fn demo(&self) -> Option<&Demo> {
        self.demo.as_deref()
    }

    /// The live page a customer returns to after paying.
    pub fn return_url(&self, payment: &PaymentId) -> Url {
        self.public_url
            .join(&format!("buy/payments/{payment}"))
            .unwrap_or_else(|_| self.public_url.clone())
    }

    /// Opens a payment for the package (its price and credits captured now) and the
    /// provider's checkout for `user`, whose request came from `ip`; returns where to send
    /// the customer.
    pub async fn checkout(
        &self,
        user: &User,
        ip: Option<std::net::IpAddr>,
        package: &PackageId,
        kind: ProviderKind,
    ) -> Result<(Payment, Url), PaymentError> {
        let provider = self.provider(kind)?;
        let payment = self.store.open_payment(&user.id, package, kind).await?;
        let buyer = Buyer {
            email: user.email.clone(),
            ip,
        };
        let urls = ReturnUrls {
            done: self.return_url(&payment.id),
            callback: self
                .public_url
                .join("v1/payments/iyzico/callback")
                .unwrap_or_else(|_| self.public_url.clone()),
        };
        let checkout = match provider.create_checkout(&payment, &buyer, &urls).await {
            Ok(checkout) => checkout,
            Err(error) => {
                tracing::warn!(payment = %payment.id, %error, "could not open a checkout");
                let failed = Fact::Failed(format!("the payment could not be started: {error}"));
                self.store
                    .apply_payment_facts(&payment.id, &[failed], None)
                    .await?;
                return Err(error.into());
            }
        };
        self.store
            .set_provider_ref(&payment.id, &checkout.provider_ref)
            .await?;
        let payment = self.store.payment(&payment.id).await?;
        tracing::info!(payment = %payment.id, provider = %kind, amount = %payment.price, "checkout opened");
        Ok((payment, checkout.redirect_url))
    }

    /// Asks the payment's provider what happened and settles accordingly. An answer that does
    /// not match the payment is recorded for the operator, with what did not match.
    pub async fn confirm(
        &self,
        payment: &Payment,
        event: Option<&NewPaymentEvent>,
        mut facts: Vec<Fact>,
    ) -> Result<Settled, PaymentError> {
        let provider = self.provider(payment.provider)?;
        let mut confirmed = match provider.confirm(payment).await {
            Ok(confirmed) => confirmed,
            Err(error @ ProviderError::Mismatch(..)) => {
                tracing::warn!(payment = %payment.id, %error, "provider answer refused");
                let refused = NewPaymentEvent {
                    provider: payment.provider,
                    event_id: None,
                    event_type: event
                        .map_or("confirmation", |e| e.event_type.as_str())
                        .into(),
                    payment_id: Some(payment.id.clone()),
                    payload: event.map(|e| e.payload.clone()).unwrap_or_default(),
                };
                self.store
                    .record_payment_event(&refused, &format!("refused: {error}"), "none")
                    .await?;
                return Err(error.into());
            }
            Err(error) => return Err(error.into()),
        };
        confirmed.append(&mut facts);
        let settled = self
            .store
            .apply_payment_facts(&payment.id, &confirmed, event)
            .await?;
        log_settled(&settled);
        Ok(settled)
    }

    /// A provider's notification: verified, recorded, confirmed, settled. Refused ones are
    /// recorded too, with the reason, and change nothing.
    pub async fn notification(
        &self,
        kind: ProviderKind,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Option<Settled>, PaymentError> {
        let provider = self.provider(kind)?;
        self.act_on(kind, provider.parse_notification(headers, body), body)
            .await
    }

    /// A notification posted to the provider's webhook endpoint (iyzico's merchant
    /// notifications; Stripe's events), handled as [`Payments::notification`].
    pub async fn webhook(
        &self,
        kind: ProviderKind,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Option<Settled>, PaymentError> {
        let provider = self.provider(kind)?;
        self.act_on(kind, provider.parse_webhook(headers, body), body)
            .await
    }

    async fn act_on(
        &self,
        kind: ProviderKind,
        parsed: Result<provider::Notification, NotificationError>,
        body: &[u8],
    ) -> Result<Option<Settled>, PaymentError> {
        let provider = self.provider(kind)?;
        let payload = String::from_utf8_lossy(body).into_owned();
        let notification = match parsed {
            Ok(notification) => notification,
            Err(error) => {
                tracing::warn!(provider = %kind, %error, "payment notification refused");
                let event = NewPaymentEvent {
                    provider: kind,
                    event_id: None,
                    event_type: "unverified".into(),
                    payment_id: None,
                    payload,
                };
                self.store
                    .record_payment_event(&event, &format!("refused: {error}"), "none")
                    .await?;
                return Err(error.into());
            }
        };
        let mut event = NewPaymentEvent {
            provider: kind,
            event_id: notification.event_id.clone(),
            event_type: notification.event_type.clone(),
            payment_id: None,
            payload,
        };
        let payment = match &notification.target {
            Target::Payment(id) => self.store.payment(id).await,
            Target::ProviderRef(reference) => {
                match self.store.payment_by_ref(kind, reference).await {
                    Err(StoreError::PaymentNotFound) => match provider.locate(reference).await? {
                        Some(id) => self.store.payment(&id).await,
                        None => Err(StoreError::PaymentNotFound),
                    },
                    found => found,
                }
            }
            Target::Nothing => Err(StoreError::PaymentNotFound),
        };
        let payment = match payment {
            Ok(payment) if payment.provider == kind => payment,
            Ok(_) | Err(StoreError::PaymentNotFound) => {
                self.store
                    .record_payment_event(&event, "verified", "none: names no payment of ours")
                    .await?;
                return Ok(None);
            }
            Err(other) => return Err(other.into()),
        };
        event.payment_id = Some(payment.id.clone());
        if let Some(id) = &event.event_id {
            if self.store.payment_event_seen(kind, id).await? {
                self.store
                    .record_payment_event(&event, "duplicate", "none: already acted on")
                    .await?;
                return Ok(None);
            }
        }
        let settled = if notification.confirm {
            self.confirm(&payment, Some(&event), notification.facts)
                .await?
        } else {
            let settled = self
                .store
                .apply_payment_facts(&payment.id, &notification.facts, Some(&event))
                .await?;
            log_settled(&settled);
            settled
        };
        Ok(Some(settled))
    }

    /// The operator's refund of `amount` (all that is left when `None`) through the provider.
    pub async fn refund(
        &self,
        payment: &PaymentId,
        amount: Option<Decimal>,
        operator: &UserId,
    ) -> Result<Settled, PaymentError> {
        let payment = self.store.payment(payment).await?;
        let refundable = payment.refundable();
        let amount = amount.unwrap_or(refundable);
        if refundable <= Decimal::ZERO {
            return Err(PaymentError::NotRefundable(format!(
                "payment {} is {}: nothing is left to refund",
                payment.id,
                payment.status()
            )));
        }
        if amount <= Decimal::ZERO || amount > refundable {
            return Err(PaymentError::NotRefundable(format!(
                "amount must be more than 0 and at most {refundable} {}",
                payment.price.currency()
            )));
        }
        let provider = self.provider(payment.provider)?;
        let event = NewPaymentEvent {
            provider: payment.provider,
            event_id: None,
            event_type: "operator.refund".into(),
            payment_id: Some(payment.id.clone()),
            payload: serde_json::json!({
                "amount": amount.to_string(),
                "currency": payment.price.currency().code(),
                "operator": operator.as_str(),
            })
            .to_string(),
        };
        let facts = match provider.refund(&payment, amount).await {
            Ok(facts) => facts,
            Err(error) => {
                // The operator reads why on the payment; the ledger is untouched.
                tracing::warn!(payment = %payment.id, %error, "refund not made");
                let verification = match &error {
                    ProviderError::Refused(..) => format!("refused: {error}"),
                    _ => format!("failed: {error}"),
                };
                self.store
                    .record_payment_event(&event, &verification, "none")
                    .await?;
                return Err(match error {
                    refused @ ProviderError::Refused(..) => PaymentError::RefundRefused(refused),
                    other => PaymentError::Provider(other),
                });
            }
        };
        let settled = self
            .store
            .apply_payment_facts(&payment.id, &facts, Some(&event))
            .await?;
        log_settled(&settled);
        Ok(settled)
    }
}

fn log_settled(settled: &Settled) {
    if !settled.movements.is_empty() {
        tracing::info!(
            payment = %settled.payment.id,
            status = %settled.payment.status(),
            movements = ?settled.movements,
            "payment settled"
        );
    }
}
