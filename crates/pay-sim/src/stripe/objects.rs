//! The Stripe objects the stand-in keeps, and their JSON as Stripe shows them.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub amount_total: i64,
    /// Lowercase ISO code, as Stripe writes it.
    pub currency: String,
    pub client_reference_id: Option<String>,
    /// `customer_email`, as the merchant prefilled it.
    pub customer_email: Option<String>,
    pub metadata: Map<String, Value>,
    /// Copied onto the payment intent (`payment_intent_data[metadata]`).
    pub intent_metadata: Map<String, Value>,
    pub product_name: String,
    /// `open`, `complete`, `expired`.
    pub status: String,
    /// `unpaid`, `paid`.
    pub payment_status: String,
    pub payment_intent: Option<String>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub url: String,
    pub created: i64,
}

impl Session {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "object": "checkout.session", "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total, "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id, "created": self.created,
            "customer_email": self.customer_email,
            "currency": self.currency, "livemode": false, "metadata": self.metadata,
            "mode": "payment", "payment_intent": self.payment_intent,
            "payment_status": self.payment_status, "status": self.status,
            "success_url": self.success_url,
            "url": if self.status == "open" { Value::from(self.url.clone()) } else { Value::Null },
        })
    }
}

#[derive(Debug, Clone)]
pub struct Charge {
    pub id: String,
    pub payment_intent: String,
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub refunded: bool,
    pub disputed: bool,
    pub dispute: Option<String>,
    pub intent_metadata: Map<String, Value>,
}

impl Charge {
    pub(crate) fn new(payment_intent: &str, session: &Session) -> Charge {
        Charge {
            id: crate::random_id("ch_", 24),
            payment_intent: payment_intent.to_owned(),
            amount: session.amount_total,
            amount_refunded: 0,
            currency: session.currency.clone(),
            refunded: false,
            disputed: false,
            dispute: None,
            intent_metadata: session.intent_metadata.clone(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "object": "charge", "amount": self.amount,
            "amount_captured": self.amount, "amount_refunded": self.amount_refunded,
            "captured": true, "currency": self.currency, "disputed": self.disputed,
            "livemode": false, "metadata": {}, "paid": true,
            "payment_intent": self.payment_intent, "refunded": self.refunded,
            "status": "succeeded",
        })
    }

    pub fn intent_json(&self, expand_charge: bool) -> Value {
        json!({
            "id": self.payment_intent, "object": "payment_intent", "amount": self.amount,
            "amount_received": self.amount, "currency": self.currency,
            "latest_charge": if expand_charge { self.to_json() } else { Value::from(self.id.clone()) },
            "livemode": false, "metadata": self.intent_metadata, "status": "succeeded",
        })
    }
}

/// An event as sent: its id, type and the exact body that is signed.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub body: String,
}
