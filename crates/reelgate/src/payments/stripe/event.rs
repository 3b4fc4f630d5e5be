//! Reading a verified Stripe event into a hint about one of our payments.

use reelgate_domain::payments::{Dispute, Fact};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::payments::provider::{Notification, NotificationError, Target};

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    object: Value,
}

fn field<'a>(object: &'a Value, name: &str) -> Option<&'a str> {
    object.get(name).and_then(Value::as_str)
}

pub fn read(body: &[u8]) -> Result<Notification, NotificationError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| NotificationError::Malformed(format!("not a Stripe event: {e}")))?;
    let object = &event.data.object;
    let by_intent = || match field(object, "payment_intent") {
        Some(pi) => Target::ProviderRef(pi.to_owned()),
        None => Target::Nothing,
    };
    let (target, facts, confirm) = match event.kind.as_str() {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.expired" => (session_target(object), Vec::new(), true),
        "checkout.session.async_payment_failed" => (
            session_target(object),
            vec![Fact::Failed("the bank did not complete the payment".into())],
            true,
        ),
        // Cumulative, so a late or repeated one changes nothing. Every currency we sell in has
        // two minor digits (`Currency::minor_digits`).
        "charge.refunded" => {
            let refunded = object
                .get("amount_refunded")
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    NotificationError::Malformed("charge without amount_refunded".into())
                })?;
            (
                by_intent(),
                vec![Fact::RefundedTotal(Decimal::new(refunded, 2))],
                false,
            )
        }
        // One refund's amount is not the total: ask Stripe for the charge's.
        "refund.created" | "refund.updated" => (by_intent(), Vec::new(), true),
        "charge.dispute.created" => (by_intent(), vec![Fact::Dispute(Dispute::Open)], false),
        "charge.dispute.closed" => {
            let decided = match field(object, "status") {
                Some("won") | Some("warning_closed") => Dispute::Won,
                Some("lost") => Dispute::Lost,
                other => {
                    return Err(NotificationError::Malformed(format!(
                        "closed dispute with status {other:?}"
                    )))
                }
            };
            (by_intent(), vec![Fact::Dispute(decided)], false)
        }
        _ => (Target::Nothing, Vec::new(), false),
    };
    Ok(Notification {
        event_id: Some(event.id),
        event_type: event.kind,
        target,
        facts,
        confirm,
    })
}

fn session_target(session: &Value) -> Target {
    let named = field(session, "client_reference_id").or_else(|| {
        session
            .get("metadata")
            .and_then(|m| field(m, super::PAYMENT_KEY))
    });
    match named.and_then(|id| id.parse().ok()) {
        Some(id) => Target::Payment(id),
        None => match field(session, "id") {
            Some(id) => Target::ProviderRef(id.to_owned()),
            None => Target::Nothing,
        },
    }
}
