//! Pending payments do not stay pending for ever. A worker asks each pending payment's
//! provider about it now and then — a minute after the checkout opened, then whenever it has
//! been pending as long again (2, 4, 8… minutes), a dozen questions a day — and once it has
//! been pending `REELGATE_PAYMENT_EXPIRY_SECS`:
//! - paid by the provider's word → credited, exactly once, by the normal confirm path (this is
//!   also how a payment whose confirmation was lost — a crash between the provider's answer
//!   and the credit, a notification that never came, a customer who never came back — is
//!   credited without anyone reading its page);
//! - otherwise → `expired`, recorded as an `expiry` event the operator sees.
//!
//! The provider is always asked first, and a provider that cannot be reached leaves the
//! payment pending (the claim's lease runs out and it is asked again). An expired payment the
//! provider later reports paid, by a verified notification or a page read, is credited: the
//! money was taken (`Fact::Paid` moves an expired payment to paid).

use chrono::{DateTime, Utc};
use reelgate_domain::payments::{Fact, Payment, PaymentStatus};
use reelgate_store::{queues, NewPaymentEvent, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use super::provider::ProviderError;
use super::{PaymentError, Payments};
use crate::worker::{Claimed, Worker};

/// The first question to a provider, and the shortest wait between two: sooner, the customer
/// is most likely still on the provider's page.
pub const FIRST_CHECK: Duration = Duration::from_secs(60);

pub struct PaymentExpiry {
    payments: Arc<Payments>,
    store: Store,
    expiry: Duration,
    lease: Duration,
    nudge: Notify,
}

impl PaymentExpiry {
    pub fn new(payments: Arc<Payments>, store: Store, expiry: Duration, lease: Duration) -> Self {
        PaymentExpiry {
            payments,
            store,
            expiry,
            lease,
            nudge: Notify::new(),
        }
    }

    async fn schedule(&self, payment: &Payment) {
        if let Err(error) = self
            .store
            .schedule_payment_check(&payment.id, FIRST_CHECK, self.expiry)
            .await
        {
            tracing::warn!(payment = %payment.id, %error, "payment expiry: cannot schedule");
        }
    }

    async fn expire(&self, payment: &Payment, pending: Duration, note: &str) {
        let event = NewPaymentEvent {
            provider: payment.provider,
            event_id: None,
            event_type: "expiry".into(),
            payment_id: Some(payment.id.clone()),
            payload: serde_json::json!({
                "pending_secs": pending.as_secs(),
                "expiry_secs": self.expiry.as_secs(),
                "provider": note,
            })
            .to_string(),
        };
        match self
            .store
            .apply_payment_facts(&payment.id, &[Fact::Expired], Some(&event))
            .await
        {
            Ok(settled) => tracing::info!(
                payment = %payment.id,
                status = %settled.payment.status(),
                pending_secs = pending.as_secs(),
                "pending payment expired"
            ),
            Err(error) => {
                tracing::warn!(payment = %payment.id, %error, "payment expiry: cannot expire")
            }
        }
    }

    /// One look at one pending payment.
    async fn check(&self, payment: Payment) {
        let pending = (Utc::now() - payment.created_at)
            .to_std()
            .unwrap_or_default();
        if pending < FIRST_CHECK.min(self.expiry) {
            return self.schedule(&payment).await;
        }
        let note = match &payment.provider_ref {
            // The checkout was never opened at the provider (the process stopped between
            // opening the payment and the provider's answer): nothing to ask.
            None => "no checkout was opened",
            Some(_) => match self.payments.confirm(&payment, None, Vec::new()).await {
                Ok(settled) if settled.payment.status() != PaymentStatus::Pending => {
                    tracing::info!(
                        payment = %payment.id,
                        status = %settled.payment.status(),
                        "pending payment settled by its provider's word"
                    );
                    return;
                }
                Ok(_) => "not paid",
                // Recorded for the operator by `confirm`; never credited.
                Err(PaymentError::Provider(ProviderError::Mismatch(..))) => {
                    "answered for a different payment"
                }
                // This server can no longer ask that provider, nor verify its notifications.
                Err(PaymentError::NotConfigured(_)) => "not configured on this server",
                Err(error) => {
                    // Asked again when the claim's lease runs out.
                    tracing::warn!(payment = %payment.id, %error, "payment expiry: cannot ask the provider");
                    return;
                }
            },
        };
        if pending >= self.expiry {
            self.expire(&payment, pending, note).await;
        } else {
            self.schedule(&payment).await;
        }
    }
}

impl Worker for PaymentExpiry {
    type Job = Payment;
    const NAME: &'static str = "payment expiry";
    /// Each job is one provider request, well within the lease.
    const PARALLEL: usize = 4;

    async fn claim(&self, limit: u32) -> Result<Claimed<Payment>, StoreError> {
        Ok(Claimed::Jobs(
            self.store
                .claim(&queues::PENDING_PAYMENTS, limit, self.lease)
                .await?,
        ))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.store.next_due(&queues::PENDING_PAYMENTS).await
    }

    fn nudge(&self) -> &Notify {
        &self.nudge
    }

    async fn work(&self, payment: Payment) {
        self.check(payment).await;
    }
}
