//! What iyzico has refunded of a payment, whoever asked for it — reelgate's refund button or
//! the merchant panel — from its reporting API (`GET /v2/reporting/payment/details`): every
//! line item's refunds plus the cancels, summed exactly. The checkout form's result does not
//! say; this does, so a refund made in the panel takes the credits back like one made here.

use reelgate_domain::payments::{Payment, ProviderKind};
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

use super::client::{refusal, text, IyzicoClient};
use crate::payments::provider::ProviderError;

const DETAILS: &str = "/v2/reporting/payment/details";

fn amount(value: Option<&Value>) -> Option<Decimal> {
    match value? {
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        Value::String(s) => Decimal::from_str(s).ok(),
        _ => None,
    }
}

fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The total iyzico reports refunded of the payment, `None` when it reports no such paid
/// payment (yet).
pub async fn refunded_total(
    client: &IyzicoClient,
    payment: &Payment,
) -> Result<Option<Decimal>, ProviderError> {
    let answer = client
        .get(&format!(
            "{DETAILS}?paymentConversationId={}",
            payment.id.as_str()
        ))
        .await?;
    if let Some(why) = refusal(&answer) {
        return Err(ProviderError::Refused(ProviderKind::Iyzico, why));
    }
    Ok(total_of(&answer, payment))
}

/// The refunded total of the paid payment the answer lists for this payment.
pub fn total_of(answer: &Value, payment: &Payment) -> Option<Decimal> {
    let ours = answer
        .get("payments")?
        .as_array()?
        .iter()
        .filter(|p| text(p, "paymentConversationId") == Some(payment.id.as_str()))
        .filter(|p| p.get("paymentStatus").and_then(Value::as_i64) == Some(1))
        .filter(|p| text(p, "currency") == Some(payment.price.currency().code()))
        .find(|p| match &payment.provider_payment_id {
            Some(known) => id_text(p.get("paymentId")).as_ref() == Some(known),
            None => true,
        })?;
    let list = |value: Option<&Value>| value.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut total = Decimal::ZERO;
    for item in list(ours.get("itemTransactions")) {
        for refund in list(item.get("refunds")) {
            total += amount(refund.get("refundPrice")).unwrap_or_default();
        }
    }
    for cancel in list(ours.get("cancels")) {
        total += amount(cancel.get("refundPrice")).unwrap_or_default();
    }
    Some(total)
}
