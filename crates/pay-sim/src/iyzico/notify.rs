//! The iyzico stand-in's merchant notifications and the reporting read that tells refunds.
//!
//! Notifications are JSON posts signed in `X-IYZ-SIGNATURE-V3`: hex HMAC-SHA256 keyed by the
//! secret key of the secret key followed by the fields, concatenated — `iyziEventType`,
//! `iyziPaymentId`, `token`, `paymentConversationId`, `status` in the hosted-page format (a
//! checkout form's payment), `iyziEventType`, `paymentId`, `paymentConversationId`, `status`
//! in the direct format (used here for refunds and cancels made in the merchant panel; iyzico
//! documents no format of its own for those, and a merchant should read none into the type).
//! The controls deliver any notification again, late or out of order, like the Stripe
//! stand-in's events.
//!
//! `GET /v2/reporting/payment/details?paymentConversationId=…` answers the payment with its
//! line item's refunds and its cancels, as iyzico's reporting API does.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::HashMap;

use super::sign::{signed_price, verify};
use super::{FormStatus, IyzicoSim};
use crate::{hmac_hex, random_id};

/// A notification as the stand-in sent (or holds) it.
#[derive(Debug, Clone)]
pub struct SentNotification {
    /// `iyziReferenceCode`: the same on every delivery of it.
    pub reference_code: String,
    pub event_type: String,
    pub body: String,
    pub signature: String,
}

/// Where notifications go and what came back.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    pub webhook_url: Option<String>,
    /// Hold notifications instead of posting them as they happen.
    pub hold: bool,
    pub sent: Vec<SentNotification>,
    /// Deliveries answered: (reference code, HTTP status, 0 when unreachable).
    pub deliveries: Vec<(String, u16)>,
}

const MERCHANT_ID: &str = "3397951";

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A price as iyzico writes it: a JSON number.
fn number(price: Decimal) -> Value {
    serde_json::from_str(&signed_price(price)).unwrap_or(Value::Null)
}

impl IyzicoSim {
    /// Notifications go to `url` (reelgate's `/v1/payments/iyzico/webhook`); none: kept only.
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.lock().notifier.webhook_url = url;
    }

    /// Holds notifications (a test then delivers them itself, in any order) or posts each
    /// as it happens.
    pub fn hold_notifications(&self, hold: bool) {
        self.lock().notifier.hold = hold;
    }

    /// Every notification so far, oldest first.
    pub fn notifications(&self) -> Vec<SentNotification> {
        self.lock().notifier.sent.clone()
    }

    /// What reelgate answered to each delivery, in order.
    pub fn notification_deliveries(&self) -> Vec<(String, u16)> {
        self.lock().notifier.deliveries.clone()
    }

    fn sign(&self, fields: &[&str]) -> String {
        let secret = &self.config.secret_key;
        let mut message = secret.clone();
        for field in fields {
            message.push_str(field);
        }
        hmac_hex(secret.as_bytes(), message.as_bytes())
    }

    async fn record(&self, event_type: &str, body: Value, signature: String) -> Option<String> {
        let reference_code = body["iyziReferenceCode"].as_str()?.to_owned();
        let deliver = {
            let mut state = self.lock();
            state.notifier.sent.push(SentNotification {
                reference_code: reference_code.clone(),
                event_type: event_type.to_owned(),
                body: body.to_string(),
                signature,
            });
            !state.notifier.hold && state.notifier.webhook_url.is_some()
        };
        if deliver {
            self.deliver_notification(&reference_code).await;
        }
        Some(reference_code)
    }

    /// The checkout form's outcome, as iyzico notifies it after the customer paid or was
    /// declined (hosted-page format); its reference code. `None` for a form still open.
    pub async fn notify_payment(&self, token: &str) -> Option<String> {
        let form = self.form(token)?;
        let status = match form.status {
            FormStatus::Open => return None,
            FormStatus::Paid => "SUCCESS",
            FormStatus::Declined => "FAILURE",
        };
        let payment_id = form.payment_id.clone().unwrap_or_default();
        let event_type = "CHECKOUT_FORM_AUTH";
        let signature = self.sign(&[
            event_type,
            &payment_id,
            token,
            &form.conversation_id,
            status,
        ]);
        let body = json!({
            "paymentConversationId": form.conversation_id, "merchantId": MERCHANT_ID,
            "token": token, "status": status, "iyziReferenceCode": random_id("", 36),
            "iyziEventType": event_type, "iyziEventTime": now_millis(),
            "iyziPaymentId": payment_id.parse::<i64>().map(Value::from).unwrap_or(Value::from(payment_id.clone())),
        });
        self.record(event_type, body, signature).await
    }

    /// A refund or cancel of the form's payment, as made in the merchant panel (see
    /// `refund_in_panel`), notified in the direct format; its reference code.
    pub async fn notify_refund(&self, token: &str) -> Option<String> {
        let form = self.form(token)?;
        let payment_id = form.payment_id.clone()?;
        let event_type = "REFUND";
        let status = "SUCCESS";
        let signature = self.sign(&[event_type, &payment_id, &form.conversation_id, status]);
        let body = json!({
            "paymentConversationId": form.conversation_id, "merchantId": MERCHANT_ID,
            "paymentId": payment_id, "status": status, "iyziReferenceCode": random_id("", 36),
            "iyziEventType": event_type, "iyziEventTime": now_millis(),
        });
        self.record(event_type, body, signature).await
    }

    /// Posts the notification (again) now; the status reelgate answered (0: unreachable).
    pub async fn deliver_notification(&self, reference_code: &str) -> Option<u16> {
        let (url, sent) = {
            let state = self.lock();
            let sent = state
                .notifier
                .sent
                .iter()
                .find(|n| n.reference_code == reference_code)
                .cloned()?;
            (state.notifier.webhook_url.clone()?, sent)
        };
        let status = match reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("x-iyz-signature-v3", &sent.signature)
            .body(sent.body.clone())
            .send()
            .await
        {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        self.lock()
            .notifier
            .deliveries
            .push((reference_code.to_owned(), status));
        Some(status)
    }
}

pub(crate) fn router(sim: IyzicoSim) -> Router {
    Router::new()
        .route("/v2/reporting/payment/details", get(payment_details))
        .with_state(sim)
}

fn failure(code: &str, message: &str) -> Value {
    json!({"status": "failure", "errorCode": code, "errorMessage": message, "locale": "tr",
           "systemTime": now_millis()})
}

/// The reporting read: the payment (by its conversation id or iyzico's payment id) with its
/// refunds and cancels. Signed like every request, over the path and the body as sent.
async fn payment_details(
    State(sim): State<IyzicoSim>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Json<Value> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !verify(
        header,
        &sim.config.api_key,
        &sim.config.secret_key,
        uri.path(),
        &body,
    ) {
        sim.lock().refused_auth += 1;
        return Json(failure("1000", "Geçersiz imza"));
    }
    let conversation = query.get("paymentConversationId");
    let payment_id = query.get("paymentId");
    if conversation.is_none() && payment_id.is_none() {
        return Json(failure(
            "5",
            "paymentId veya paymentConversationId gönderilmesi zorunludur",
        ));
    }
    let payments: Vec<Value> = sim
        .forms()
        .into_iter()
        .filter(|f| f.status != FormStatus::Open)
        .filter(|f| conversation.is_none_or(|c| *c == f.conversation_id))
        .filter(|f| payment_id.is_none_or(|p| f.payment_id.as_ref() == Some(p)))
        .map(|form| {
            let paid = form.status == FormStatus::Paid;
            let refund_status = if form.refunded <= Decimal::ZERO {
                "NOT_REFUNDED"
            } else if form.refunded < form.paid_price {
                "PARTIALLY_REFUNDED"
            } else {
                "TOTALLY_REFUNDED"
            };
            let entry = |amount: Decimal| {
                json!({"refundTxId": random_id("", 8), "refundPrice": number(amount),
                       "refundStatus": 1, "currencyCode": form.currency,
                       "createdDate": chrono::Utc::now().to_rfc3339()})
            };
            let (refunds, cancels) = match (form.cancelled, form.refunded > Decimal::ZERO) {
                (true, _) => (vec![], vec![entry(form.paid_price)]),
                (false, true) => (vec![entry(form.refunded)], vec![]),
                (false, false) => (vec![], vec![]),
            };
            json!({
                "paymentId": form.payment_id.as_deref().and_then(|p| p.parse::<i64>().ok()),
                "paymentStatus": if paid { 1 } else { 2 },
                "paymentRefundStatus": refund_status, "price": number(form.price),
                "paidPrice": number(form.paid_price), "installment": 1,
                "paymentConversationId": form.conversation_id, "fraudStatus": 1,
                "currency": form.currency, "basketId": form.basket_id, "phase": "AUTH",
                "cancels": cancels,
                "itemTransactions": [{
                    "paymentTransactionId": form.transaction_id, "transactionStatus": 2,
                    "price": number(form.price), "paidPrice": number(form.paid_price),
                    "refunds": refunds,
                }],
            })
        })
        .collect();
    Json(json!({
        "status": "success", "locale": "tr", "systemTime": now_millis(),
        "payments": payments,
    }))
}
