//! The Stripe stand-in: Checkout Sessions (create, retrieve, list by payment intent), Refunds,
//! and webhook events signed as Stripe signs them (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256
//! of `t.body` keyed by the whole `whsec_…` secret). Amounts are integers of the currency's
//! minor unit and currencies lowercase, as on Stripe's wire.

mod http;
mod objects;

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

use crate::{hmac_hex, random_id, Running};
pub use objects::{Charge, Event, Session};

/// Keys the stand-in accepts and signs with.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub secret_key: String,
    pub webhook_secret: String,
    /// Where events are posted (reelgate's `/v1/payments/stripe/webhook`); none: kept only.
    pub webhook_url: Option<String>,
    /// Post each event as it happens; off, a test delivers them itself, in any order.
    pub auto_deliver: bool,
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            secret_key: "sk_test_reelgate_sim".into(),
            webhook_secret: "whsec_reelgate_sim".into(),
            webhook_url: None,
            auto_deliver: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    NoSuchSession(String),
    NoSuchPayment(String),
    NoSuchEvent(String),
    /// The session is not open, or the amount is more than is left.
    Refused(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::NoSuchSession(id) => write!(f, "No such checkout.session: '{id}'"),
            SimError::NoSuchPayment(id) => write!(f, "No such payment_intent: '{id}'"),
            SimError::NoSuchEvent(id) => write!(f, "No such event: '{id}'"),
            SimError::Refused(why) => f.write_str(why),
        }
    }
}

/// What the "customer" did on the hosted page; how a session's answer is tampered with.
#[derive(Debug, Clone, Default)]
pub struct Tamper {
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub client_reference_id: Option<String>,
}

#[derive(Default)]
pub(crate) struct State {
    pub base_url: String,
    pub sessions: Vec<Session>,
    pub charges: Vec<Charge>,
    pub events: Vec<Event>,
    /// Deliveries answered, per event id: (status, how many).
    pub deliveries: Vec<(String, u16)>,
}

/// Whether answers to session retrieves are held back, and how many are waiting.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hold {
    pub holding: bool,
    pub waiting: usize,
}

/// The stand-in's state and controls; cheap to clone.
#[derive(Clone)]
pub struct StripeSim {
    pub(crate) config: Arc<Mutex<StripeConfig>>,
    pub(crate) state: Arc<Mutex<State>>,
    /// Retrieving a session is how a merchant confirms a payment; holding its answer opens
    /// the moment between Stripe's confirmation and the merchant's credit for a test to
    /// stop the merchant in, without any hook in the merchant.
    pub(crate) hold: Arc<tokio::sync::watch::Sender<Hold>>,
    http: reqwest::Client,
}

/// Starts the Stripe stand-in on a free port.
pub async fn spawn(config: StripeConfig) -> std::io::Result<Running<StripeSim>> {
    let sim = StripeSim {
        config: Arc::new(Mutex::new(config)),
        state: Arc::default(),
        hold: Arc::new(tokio::sync::watch::channel(Hold::default()).0),
        http: reqwest::Client::new(),
    };
    let running = Running::serve(sim.clone(), http::router(sim.clone())).await?;
    sim.lock().base_url.clone_from(&running.base_url);
    Ok(running)
}

impl StripeSim {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test thread must not wedge the stand-in for the others.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn config(&self) -> StripeConfig {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_webhook_url(&self, url: Option<String>) {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .webhook_url = url;
    }

    pub fn set_auto_deliver(&self, on: bool) {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .auto_deliver = on;
    }

    pub fn session(&self, id: &str) -> Option<Session> {
        self.lock().sessions.iter().find(|s| s.id == id).cloned()
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The customer pays on the hosted page: a payment intent and its charge, the session
    /// complete and paid, `checkout.session.completed`. Returns the payment intent's id.
    pub async fn pay(&self, session: &str) -> Result<String, SimError> {
        let (pi, event) = {
            let mut state = self.lock();
            let index = session_index(&state, session)?;
            let open = state.sessions[index].status == "open";
            if !open {
                return Err(SimError::Refused(format!("session {session} is not open")));
            }
            let pi = random_id("pi_", 24);
            let s = &mut state.sessions[index];
            s.status = "complete".into();
            s.payment_status = "paid".into();
            s.payment_intent = Some(pi.clone());
            let charge = Charge::new(&pi, s);
            state.charges.push(charge);
            let object = state.sessions[index].to_json();
            (
                pi,
                push_event(&mut state, "checkout.session.completed", object),
            )
        };
        self.auto_deliver(&[event]).await;
        Ok(pi)
    }

    /// The customer gives up (or the session times out): `checkout.session.expired`.
    pub async fn expire(&self, session: &str) -> Result<(), SimError> {
        let event = {
            let mut state = self.lock();
            let index = session_index(&state, session)?;
            if state.sessions[index].status != "open" {
                return Err(SimError::Refused(format!("session {session} is not open")));
            }
            state.sessions[index].status = "expired".into();
            let object = state.sessions[index].to_json();
            push_event(&mut state, "checkout.session.expired", object)
        };
        self.auto_deliver(&[event]).await;
        Ok(())
    }

    /// Changes what retrieving the session answers (a forged or confused payment).
    pub fn tamper(&self, session: &str, tamper: Tamper) -> Result<(), SimError> {
        let mut state = self.lock();
        let index = session_index(&state, session)?;
        let s = &mut state.sessions[index];
        if let Some(amount) = tamper.amount_total {
            s.amount_total = amount;
        }
        if let Some(currency) = tamper.currency {
            s.currency = currency;
        }
        if let Some(reference) = tamper.client_reference_id {
            s.client_reference_id = Some(reference);
        }
        Ok(())
    }

    /// A refund of `amount` minor units (all that is left when `None`), as from the dashboard
    /// or the API: `refund.created` then `charge.refunded`.
    pub async fn refund(
        &self,
        payment_intent: &str,
        amount: Option<i64>,
    ) -> Result<Value, SimError> {
        let (refund, events) = {
            let mut state = self.lock();
            let charge = charge_mut(&mut state, payment_intent)?;
            let left = charge.amount - charge.amount_refunded;
            let amount = amount.unwrap_or(left);
            if amount <= 0 || amount > left {
                return Err(SimError::Refused(format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
                )));
            }
            charge.amount_refunded += amount;
            charge.refunded = charge.amount_refunded == charge.amount;
            let refund = json!({
                "id": random_id("re_", 24), "object": "refund", "amount": amount,
                "charge": charge.id, "currency": charge.currency,
                "payment_intent": payment_intent, "status": "succeeded",
                "created": chrono::Utc::now().timestamp(),
            });
            let charge = charge.to_json();
            let first = push_event(&mut state, "refund.created", refund.clone());
            let second = push_event(&mut state, "charge.refunded", charge);
            (refund, vec![first, second])
        };
        self.auto_deliver(&events).await;
        Ok(refund)
    }

    /// The cardholder disputes the charge: `charge.dispute.created`.
    pub async fn dispute(&self, payment_intent: &str) -> Result<(), SimError> {
        self.dispute_event(payment_intent, None).await
    }

    /// The dispute is decided: `charge.dispute.closed` with status `won` or `lost`.
    pub async fn close_dispute(&self, payment_intent: &str, won: bool) -> Result<(), SimError> {
        self.dispute_event(payment_intent, Some(won)).await
    }

    async fn dispute_event(&self, payment_intent: &str, won: Option<bool>) -> Result<(), SimError> {
        let event = {
            let mut state = self.lock();
            let charge = charge_mut(&mut state, payment_intent)?;
            charge.disputed = true;
            let dispute_id = charge
                .dispute
                .get_or_insert_with(|| random_id("dp_", 24))
                .clone();
            let status = match won {
                None => "needs_response",
                Some(true) => "won",
                Some(false) => "lost",
            };
            let object = json!({
                "id": dispute_id, "object": "dispute", "amount": charge.amount,
                "charge": charge.id, "currency": charge.currency,
                "payment_intent": payment_intent, "reason": "fraudulent", "status": status,
                "created": chrono::Utc::now().timestamp(),
            });
            let kind = if won.is_some() {
                "charge.dispute.closed"
            } else {
                "charge.dispute.created"
            };
            push_event(&mut state, kind, object)
        };
        self.auto_deliver(&[event]).await;
        Ok(())
    }

    /// The body and `Stripe-Signature` header of an event, signed at `timestamp`.
    pub fn signed(&self, event_id: &str, timestamp: i64) -> Result<(String, String), SimError> {
        let body = self
            .lock()
            .events
            .iter()
            .find(|e| e.id == event_id)
            .map(|e| e.body.clone())
            .ok_or_else(|| SimError::NoSuchEvent(event_id.to_owned()))?;
        let header = self.signature_header(&body, timestamp);
        Ok((body, header))
    }

    /// `t=…,v1=…` as Stripe sends it.
    pub fn signature_header(&self, body: &str, timestamp: i64) -> String {
        let secret = self.config().webhook_secret;
        let v1 = hmac_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes());
        format!("t={timestamp},v1={v1}")
    }

    /// Posts the event to the webhook URL now, signed now; the status reelgate answered.
    pub async fn deliver(&self, event_id: &str) -> Result<u16, SimError> {
        let now = chrono::Utc::now().timestamp();
        let (body, header) = self.signed(event_id, now)?;
        let Some(url) = self.config().webhook_url else {
            return Err(SimError::Refused("no webhook URL is set".into()));
        };
        let status = match self
            .http
            .post(&url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", header)
            .body(body)
            .send()
            .await
        {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        self.lock().deliveries.push((event_id.to_owned(), status));
        Ok(status)
    }

    /// What reelgate answered to each delivery, in order.
    pub fn deliveries(&self) -> Vec<(String, u16)> {
        self.lock().deliveries.clone()
    }

    /// Stripe's retry: every event whose latest delivery was not answered 2xx (or not at
    /// all) is delivered again, oldest first; what reelgate answered this time.
    pub async fn retry_failed(&self) -> Vec<(String, u16)> {
        let failed: Vec<String> = {
            let state = self.lock();
            state
                .events
                .iter()
                .filter(|event| {
                    let last = state.deliveries.iter().rev().find(|d| d.0 == event.id);
                    last.is_some_and(|(_, status)| !(200..300).contains(status))
                })
                .map(|event| event.id.clone())
                .collect()
        };
        let mut answers = Vec::new();
        for id in failed {
            if let Ok(status) = self.deliver(&id).await {
                answers.push((id, status));
            }
        }
        answers
    }

    /// From now on, answers to session retrieves wait until [`StripeSim::release_retrieves`].
    pub fn hold_retrieves(&self) {
        self.hold.send_modify(|hold| hold.holding = true);
    }

    /// Lets held and later retrieves be answered.
    pub fn release_retrieves(&self) {
        self.hold.send_modify(|hold| hold.holding = false);
    }

    /// Waits until a session retrieve is being held: the merchant is asking Stripe to
    /// confirm a payment and waits for the answer.
    pub async fn retrieve_held(&self) {
        let mut hold = self.hold.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = hold.wait_for(|hold| hold.waiting > 0).await;
    }

    /// Called by a retrieve before it answers: returns once retrieves are not held.
    pub(crate) async fn pass_hold(&self) {
        let mut hold = self.hold.subscribe();
        if !hold.borrow().holding {
            return;
        }
        /// Counts the wait out again even when the merchant hangs up mid-wait (the
        /// request's future is then dropped).
        struct Waiting<'a>(&'a tokio::sync::watch::Sender<Hold>);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.send_modify(|hold| hold.waiting -= 1);
            }
        }
        self.hold.send_modify(|hold| hold.waiting += 1);
        let _waiting = Waiting(&self.hold);
        let _ = hold.wait_for(|hold| !hold.holding).await;
    }

    async fn auto_deliver(&self, events: &[String]) {
        let config = self.config();
        if !config.auto_deliver || config.webhook_url.is_none() {
            return;
        }
        for id in events {
            let _ = self.deliver(id).await;
        }
    }
}

fn session_index(state: &State, id: &str) -> Result<usize, SimError> {
    state
        .sessions
        .iter()
        .position(|s| s.id == id)
        .ok_or_else(|| SimError::NoSuchSession(id.to_owned()))
}

fn charge_mut<'a>(state: &'a mut State, payment_intent: &str) -> Result<&'a mut Charge, SimError> {
    state
        .charges
        .iter_mut()
        .find(|c| c.payment_intent == payment_intent)
        .ok_or_else(|| SimError::NoSuchPayment(payment_intent.to_owned()))
}

/// Records an event about `object`; its id.
fn push_event(state: &mut State, kind: &str, object: Value) -> String {
    let id = random_id("evt_", 24);
    let body = json!({
        "id": id, "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "data": {"object": object},
        "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "type": kind,
    })
    .to_string();
    state.events.push(Event {
        id: id.clone(),
        kind: kind.to_owned(),
        body,
    });
    id
}
