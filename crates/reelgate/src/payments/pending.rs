//! A payment still pending, as both front ends bring it up to date: asked of its provider
//! (a payment whose notification was lost is still credited, by the provider's word), or, on
//! the demo provider, decided by the customer's choice on its page.

use reelgate_domain::payments::{Payment, ProviderKind};
use reelgate_store::StoreError;

use super::demo::DemoChoice;
use super::{PaymentError, Payments};

impl Payments {
    /// A pending payment as its provider sees it now; unchanged if the provider cannot say.
    pub async fn refresh(&self, payment: Payment) -> Payment {
        if payment.paid_at.is_some() || payment.provider_ref.is_none() {
            return payment;
        }
        match self.confirm(&payment, None, Vec::new()).await {
            Ok(settled) => settled.payment,
            Err(error) => {
                tracing::debug!(payment = %payment.id, %error, "could not refresh a pending payment");
                payment
            }
        }
    }

    /// The demo provider's page reports the customer's choice (`None`: decide later); the
    /// payment is then confirmed the way any provider's is (the demo "bank" says what was
    /// chosen). A payment of another provider is not the demo's to decide: not found.
    pub async fn demo_decide(
        &self,
        payment: &Payment,
        choice: Option<DemoChoice>,
    ) -> Result<Payment, PaymentError> {
        let demo = self
            .demo()
            .ok_or(PaymentError::NotConfigured(ProviderKind::Demo))?;
        if payment.provider != ProviderKind::Demo {
            return Err(PaymentError::Store(StoreError::PaymentNotFound));
        }
        if let Some(choice) = choice {
            demo.choose(&payment.id, choice);
        }
        Ok(self.confirm(payment, None, Vec::new()).await?.payment)
    }
}
