//! The demo provider: a built-in payment page where the customer chooses to pay, decline or
//! pay later. No money moves, so it is on only when no real provider is configured, and it says
//! so loudly in the log and on its page. It runs the same path as a real provider: the page's
//! choice is the "provider's" record, which `confirm` reads like an API.

use futures::future::BoxFuture;
use futures::FutureExt;
use reelgate_domain::payments::{Fact, Payment, PaymentId, ProviderKind};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Mutex;
use url::Url;

use super::provider::{
    Buyer, Checkout, Notification, NotificationError, PaymentProvider, ProviderError, ReturnUrls,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoChoice {
    Pay,
    Decline,
}

/// What the demo page was told, per payment: its "bank".
pub struct Demo {
    public_url: Url,
    choices: Mutex<HashMap<PaymentId, DemoChoice>>,
}

impl Demo {
    pub fn new(public_url: Url) -> Demo {
        Demo {
            public_url,
            choices: Mutex::new(HashMap::new()),
        }
    }

    /// The customer's choice on the demo page.
    pub fn choose(&self, payment: &PaymentId, choice: DemoChoice) {
        if let Ok(mut choices) = self.choices.lock() {
            choices.entry(payment.clone()).or_insert(choice);
        }
    }

    fn choice(&self, payment: &PaymentId) -> Option<DemoChoice> {
        self.choices.lock().ok()?.get(payment).copied()
    }
}

impl PaymentProvider for Demo {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Demo
    }

    fn create_checkout<'a>(
        &'a self,
        payment: &'a Payment,
        _buyer: &'a Buyer,
        _urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<Checkout, ProviderError>> {
        let url = self
            .public_url
            .join(&format!("pay/demo/{}", payment.id))
            .map_err(|e| ProviderError::Refused(ProviderKind::Demo, e.to_string()));
        async move {
            Ok(Checkout {
                provider_ref: payment.id.to_string(),
                redirect_url: url?,
            })
        }
        .boxed()
    }

    fn confirm<'a>(
        &'a self,
        payment: &'a Payment,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>> {
        let facts = match self.choice(&payment.id) {
            Some(DemoChoice::Pay) => vec![Fact::Paid {
                provider_payment_id: Some(format!("demo_{}", payment.id)),
            }],
            Some(DemoChoice::Decline) => vec![Fact::Failed(
                "the card was declined (demo payment page)".into(),
            )],
            None => Vec::new(),
        };
        async move { Ok(facts) }.boxed()
    }

    fn parse_notification(
        &self,
        _headers: &http::HeaderMap,
        _body: &[u8],
    ) -> Result<Notification, NotificationError> {
        Err(NotificationError::Malformed(
            "the demo provider sends no notifications".into(),
        ))
    }

    fn refund<'a>(
        &'a self,
        payment: &'a Payment,
        amount: Decimal,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>> {
        let total = payment.refunded + amount;
        async move { Ok(vec![Fact::RefundedTotal(total)]) }.boxed()
    }
}
