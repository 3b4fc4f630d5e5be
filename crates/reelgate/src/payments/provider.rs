//! The one interface every payment provider implements. The ledger never sees a provider: a
//! provider only turns its own API and notifications into [`Fact`]s about a payment, which the
//! store applies and settles the same way whichever provider said them. Adding PayTR, Paddle
//! or Lemon Squeezy is one more implementation of this trait.

use futures::future::BoxFuture;
use reelgate_domain::accounts::Email;
use reelgate_domain::payments::{Fact, Payment, PaymentId, ProviderKind};
use rust_decimal::Decimal;
use std::net::IpAddr;
use url::Url;

/// Who is buying, as far as reelgate knows: its customers give an email address and nothing
/// else, and the checkout request comes from an address. A provider that wants more (iyzico's
/// buyer) says in its module what it sends for the rest.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub email: Email,
    /// The customer's address as the trusted-proxy logic resolved it (`client_addr`); none
    /// only for a request that did not come through the server.
    pub ip: Option<IpAddr>,
}

/// Where the provider sends the customer back to.
#[derive(Debug, Clone)]
pub struct ReturnUrls {
    /// The live return page of this payment.
    pub done: Url,
    /// Where iyzico posts its token (the customer's browser carries it).
    pub callback: Url,
}

/// A checkout the provider opened.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The provider's handle on it (Stripe session id, iyzico token), kept on the payment.
    pub provider_ref: String,
    /// Where to send the customer to pay.
    pub redirect_url: Url,
}

/// A notification whose signature checked out: a hint naming a payment, to be confirmed.
#[derive(Debug, Clone)]
pub struct Notification {
    pub event_id: Option<String>,
    pub event_type: String,
    pub target: Target,
    /// Facts the notification itself carries that need no further confirmation (a refund or a
    /// dispute takes credits away; a signed event saying so is enough). Payment itself is
    /// always confirmed from the provider's API.
    pub facts: Vec<Fact>,
    /// Whether to ask the provider's API about the payment now.
    pub confirm: bool,
}

/// Which payment a notification is about.
#[derive(Debug, Clone)]
pub enum Target {
    Payment(PaymentId),
    /// The provider's reference: a session id, a token, a payment intent.
    ProviderRef(String),
    /// An event of no payment of ours (another integration on the same account).
    Nothing,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached or answered 5xx: try again later.
    #[error("{0} is unavailable: {1}")]
    Unavailable(ProviderKind, String),
    /// The provider refused the request (bad key, invalid amount, already refunded…).
    #[error("{0} refused: {1}")]
    Refused(ProviderKind, String),
    /// The provider's answer does not match the payment (amount, currency, conversation id,
    /// signature): never credited.
    #[error("{0} answered for a different payment: {1}")]
    Mismatch(ProviderKind, String),
}

/// Why a notification was not acted on; recorded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("signature missing")]
    MissingSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp outside the tolerance")]
    Expired,
    #[error("malformed: {0}")]
    Malformed(String),
}

pub trait PaymentProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Opens a checkout for the payment at the price it captured, for this buyer.
    fn create_checkout<'a>(
        &'a self,
        payment: &'a Payment,
        buyer: &'a Buyer,
        urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<Checkout, ProviderError>>;

    /// Asks the provider's own API what happened to the payment. Only this may say `Paid`.
    fn confirm<'a>(
        &'a self,
        payment: &'a Payment,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>>;

    /// Checks a notification's signature and reads it (iyzico: its callback's token).
    fn parse_notification(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Notification, NotificationError>;

    /// Refunds `amount` of the payment through the provider; the facts it reports after.
    fn refund<'a>(
        &'a self,
        payment: &'a Payment,
        amount: Decimal,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>>;

    /// Our payment behind a provider reference we have not recorded yet (a refund event for a
    /// payment intent that arrived before the payment's own completion), from the provider.
    /// Checks and reads a notification the provider posts to its webhook endpoint; for a
    /// provider whose notifications all arrive there (Stripe), the same as
    /// `parse_notification`.
    fn parse_webhook(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Notification, NotificationError> {
        self.parse_notification(headers, body)
    }

    fn locate<'a>(
        &'a self,
        _reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<PaymentId>, ProviderError>> {
        futures::FutureExt::boxed(async { Ok(None) })
    }
}
