//! iyzico Checkout Form, the provider Turkish customers expect (cards, installments). A form
//! is initialized per payment at its captured price, with our payment id as both the
//! `conversationId` and the `basketId`; iyzico returns the customer's browser to
//! `/v1/payments/iyzico/callback` with the form's token. That post proves nothing (anyone can
//! send it), so it is only a hint: the result is retrieved from iyzico with the token, and
//! credited only when its `signature` verifies and its amount, currency, conversation id and
//! basket all match the payment.

mod client;
mod refunds;
pub mod sign;
pub mod webhook;

use futures::future::BoxFuture;
use futures::FutureExt;
use reelgate_domain::payments::{Fact, Payment, ProviderKind};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::str::FromStr;
use url::Url;

use super::provider::{
    Buyer, Checkout, Notification, NotificationError, PaymentProvider, ProviderError, ReturnUrls,
    Target,
};
use client::{refusal, text, IyzicoClient};
use sign::{signed_price, verify_response};

/// `REELGATE_IYZICO_*`.
#[derive(Debug, Clone)]
pub struct IyzicoSettings {
    pub api_key: SecretString,
    pub secret_key: SecretString,
    pub base_url: Url,
}

pub const DEFAULT_BASE_URL: &str = "https://api.iyzipay.com";

const INITIALIZE: &str = "/payment/iyzipos/checkoutform/initialize/auth/ecom";
const RETRIEVE: &str = "/payment/iyzipos/checkoutform/auth/ecom/detail";
const REFUND: &str = "/v2/payment/refund";

pub struct Iyzico {
    client: IyzicoClient,
}

impl Iyzico {
    pub fn new(settings: &IyzicoSettings) -> Iyzico {
        Iyzico {
            client: IyzicoClient::new(
                settings.base_url.clone(),
                settings.api_key.clone(),
                settings.secret_key.clone(),
            ),
        }
    }
}

fn mismatch(what: String) -> ProviderError {
    ProviderError::Mismatch(ProviderKind::Iyzico, what)
}

fn refused(what: String) -> ProviderError {
    ProviderError::Refused(ProviderKind::Iyzico, what)
}

/// A price field of an answer (a JSON number, or a string in some answers), exactly.
fn price(answer: &Value, field: &str) -> Option<Decimal> {
    match answer.get(field)? {
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        Value::String(s) => Decimal::from_str(s).ok(),
        _ => None,
    }
}

/// What the buyer's name, identity number and addresses are sent as: reelgate sells a
/// digital good and asks its customers for none of them (an account is an email address and
/// a password), while iyzico requires every one on each form. docs/PAYMENTS.md says what a
/// live merchant must agree with iyzico about these.
const NAME: &str = "reelgate";
const SURNAME: &str = "customer";
/// The placeholder identity number iyzico's own samples and integrations use when a buyer
/// has given none.
const IDENTITY_NUMBER: &str = "11111111111";
const ADDRESS: &str = "digital delivery";
const CITY: &str = "Istanbul";
const COUNTRY: &str = "Turkey";
/// Where no client's address is known: a checkout that did not come through the server, and
/// refunds (made by this server, not by a customer's browser).
const NO_CLIENT_IP: &str = "127.0.0.1";

/// The initialize request: the price captured on the payment, the payment's ids, and the
/// buyer as far as reelgate knows them — the account's email and the address the checkout
/// request came from (through the trusted-proxy logic), the rest the placeholders above.
fn initialize_request(payment: &Payment, buyer: &Buyer, callback: &Url) -> Value {
    let amount = payment.price.amount_string();
    let ip = buyer
        .ip
        .map_or_else(|| NO_CLIENT_IP.to_owned(), |ip| ip.to_string());
    let contact = format!("{NAME} {SURNAME}");
    let address = json!({
        "contactName": contact, "city": CITY, "country": COUNTRY, "address": ADDRESS,
    });
    json!({
        "locale": "tr",
        "conversationId": payment.id.as_str(),
        "price": amount,
        "paidPrice": amount,
        "currency": payment.price.currency().code(),
        "basketId": payment.id.as_str(),
        "paymentGroup": "PRODUCT",
        "callbackUrl": callback.as_str(),
        "enabledInstallments": [1, 2, 3, 6, 9],
        "buyer": {
            "id": payment.user_id.as_str(), "name": NAME, "surname": SURNAME,
            "email": buyer.email.as_str(), "identityNumber": IDENTITY_NUMBER,
            "registrationAddress": ADDRESS, "ip": ip, "city": CITY, "country": COUNTRY,
        },
        "billingAddress": address,
        "basketItems": [{
            "id": payment.package_id.as_str(), "name": payment.package_name,
            "category1": "Credits", "itemType": "VIRTUAL", "price": amount,
        }],
    })
}

/// What a verified retrieve answer says about the payment.
fn result_facts(
    answer: &Value,
    payment: &Payment,
    secret: &str,
) -> Result<Vec<Fact>, ProviderError> {
    match text(answer, "paymentStatus") {
        Some("SUCCESS") if text(answer, "status") == Some("success") => {}
        Some("FAILURE") => {
            let why = refusal(answer).unwrap_or_else(|| "the payment failed".into());
            return Ok(vec![Fact::Failed(format!("iyzico: {why}"))]);
        }
        // Not paid yet (or the form expired unpaid): nothing to say.
        _ => return Ok(Vec::new()),
    }
    let field = |name: &str| text(answer, name).unwrap_or_default();
    let paid_price =
        price(answer, "paidPrice").ok_or_else(|| mismatch("the answer has no paidPrice".into()))?;
    let list_price =
        price(answer, "price").ok_or_else(|| mismatch("the answer has no price".into()))?;
    let (paid_text, price_text) = (signed_price(paid_price), signed_price(list_price));
    let signed = [
        field("paymentStatus"),
        field("paymentId"),
        field("currency"),
        field("basketId"),
        field("conversationId"),
        &paid_text,
        &price_text,
        field("token"),
    ];
    if !verify_response(secret, &signed, field("signature")) {
        return Err(mismatch("the answer's signature does not verify".into()));
    }
    let ours = payment.id.as_str();
    if field("conversationId") != ours || field("basketId") != ours {
        return Err(mismatch(format!(
            "the answer is for conversation {:?}, basket {:?}, not {ours}",
            field("conversationId"),
            field("basketId")
        )));
    }
    if payment.provider_ref.as_deref() != Some(field("token")) {
        return Err(mismatch("the answer is for another token".into()));
    }
    if field("currency") != payment.price.currency().code() {
        return Err(mismatch(format!(
            "currency {:?}, expected {}",
            field("currency"),
            payment.price.currency()
        )));
    }
    if paid_price != payment.price.amount() {
        return Err(mismatch(format!(
            "paid {paid_price}, expected {}",
            payment.price.amount()
        )));
    }
    // iyzico's fraud check: 1 passed, 0 under review (wait), -1 refused.
    match answer.get("fraudStatus").and_then(Value::as_i64) {
        Some(1) | None => Ok(vec![Fact::Paid {
            provider_payment_id: Some(field("paymentId").to_owned()),
        }]),
        Some(-1) => Ok(vec![Fact::Failed(
            "iyzico's fraud check refused the payment".into(),
        )]),
        Some(_) => Ok(Vec::new()),
    }
}

impl PaymentProvider for Iyzico {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Iyzico
    }

    fn create_checkout<'a>(
        &'a self,
        payment: &'a Payment,
        buyer: &'a Buyer,
        urls: &'a ReturnUrls,
    ) -> BoxFuture<'a, Result<Checkout, ProviderError>> {
        async move {
            let answer = self
                .client
                .post(
                    INITIALIZE,
                    &initialize_request(payment, buyer, &urls.callback),
                )
                .await?;
            if let Some(why) = refusal(&answer) {
                return Err(refused(why));
            }
            let conversation = text(&answer, "conversationId").unwrap_or_default();
            let token = text(&answer, "token").unwrap_or_default();
            let signature = text(&answer, "signature").unwrap_or_default();
            if !verify_response(self.client.secret_key(), &[conversation, token], signature) {
                return Err(mismatch("the new form's signature does not verify".into()));
            }
            if conversation != payment.id.as_str() || token.is_empty() {
                return Err(mismatch(format!("the new form is for {conversation:?}")));
            }
            let page = text(&answer, "paymentPageUrl")
                .and_then(|u| Url::parse(u).ok())
                .ok_or_else(|| mismatch("the new form has no paymentPageUrl".into()))?;
            Ok(Checkout {
                provider_ref: token.to_owned(),
                redirect_url: page,
            })
        }
        .boxed()
    }

    fn confirm<'a>(
        &'a self,
        payment: &'a Payment,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>> {
        async move {
            let Some(token) = &payment.provider_ref else {
                return Ok(Vec::new());
            };
            let request = json!({
                "locale": "tr", "conversationId": payment.id.as_str(), "token": token,
            });
            let answer = self.client.post(RETRIEVE, &request).await?;
            let mut facts = result_facts(&answer, payment, self.client.secret_key())?;
            if facts.iter().any(|f| matches!(f, Fact::Paid { .. })) {
                let paid = Payment {
                    provider_payment_id: payment
                        .provider_payment_id
                        .clone()
                        .or_else(|| text(&answer, "paymentId").map(str::to_owned)),
                    ..payment.clone()
                };
                match refunds::refunded_total(&self.client, &paid).await {
                    Ok(Some(total)) if total > Decimal::ZERO => {
                        facts.push(Fact::RefundedTotal(total));
                    }
                    Ok(_) => {}
                    // A payment being credited is credited now; its refunds are read on the
                    // next look. One already credited is being asked about its refunds, so
                    // the question is retried (a notification answered 5xx comes again).
                    Err(error) if payment.paid_at.is_none() => {
                        tracing::warn!(payment = %payment.id, %error, "iyzico: refunds not read");
                    }
                    Err(error) => return Err(error),
                }
            }
            Ok(facts)
        }
        .boxed()
    }

    /// iyzico's merchant notification, signed with `X-IYZ-SIGNATURE-V3` (`webhook.rs`).
    fn parse_webhook(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Notification, NotificationError> {
        webhook::parse(self.client.secret_key(), headers, body)
    }

    /// The callback: the customer's browser posting `token=…`. Unsigned, so only a hint.
    fn parse_notification(
        &self,
        _headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Notification, NotificationError> {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| NotificationError::Malformed(e.to_string()))?;
        let token = fields
            .into_iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or_else(|| NotificationError::Malformed("the callback has no token".into()))?;
        Ok(Notification {
            event_id: None,
            event_type: "checkoutform.callback".into(),
            target: Target::ProviderRef(token),
            facts: Vec::new(),
            confirm: true,
        })
    }

    fn refund<'a>(
        &'a self,
        payment: &'a Payment,
        amount: Decimal,
    ) -> BoxFuture<'a, Result<Vec<Fact>, ProviderError>> {
        async move {
            let payment_id = payment
                .provider_payment_id
                .as_deref()
                .ok_or_else(|| refused("the payment has no iyzico paymentId".into()))?;
            let request = json!({
                "locale": "tr", "conversationId": payment.id.as_str(),
                "paymentId": payment_id, "price": amount.to_string(),
                "currency": payment.price.currency().code(), "ip": NO_CLIENT_IP,
            });
            let answer = self.client.post(REFUND, &request).await?;
            if let Some(why) = refusal(&answer) {
                return Err(refused(why));
            }
            Ok(vec![Fact::RefundedTotal(payment.refunded + amount)])
        }
        .boxed()
    }
}
