//! The iyzico stand-in: Checkout Form initialize and retrieve, refund (v1 and v2) and cancel,
//! the reporting read of a payment's refunds, merchant notifications (`notify.rs`),
//! every request checked for iyzico's `IYZWSv2` authorization and answers signed as iyzico
//! signs them (HMAC-SHA256 of the documented fields joined with `:`). Prices are JSON numbers
//! and currencies upper case, as on iyzico's wire.

mod http;
mod notify;
mod sign;

use rust_decimal::Decimal;
use std::sync::{Arc, Mutex};

use crate::{random_id, Running};
pub use notify::SentNotification;
pub use sign::{authorization, response_signature, signed_price};

#[derive(Debug, Clone)]
pub struct IyzicoConfig {
    pub api_key: String,
    pub secret_key: String,
}

impl Default for IyzicoConfig {
    fn default() -> Self {
        IyzicoConfig {
            api_key: "sandbox-reelgate-sim-api-key".into(),
            secret_key: "sandbox-reelgate-sim-secret-key".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormStatus {
    /// Waiting on the customer.
    Open,
    Paid,
    Declined,
}

/// One checkout form, as initialized.
#[derive(Debug, Clone)]
pub struct Form {
    pub token: String,
    pub conversation_id: String,
    pub basket_id: String,
    pub price: Decimal,
    pub paid_price: Decimal,
    pub currency: String,
    pub callback_url: String,
    pub status: FormStatus,
    pub payment_id: Option<String>,
    pub transaction_id: Option<String>,
    pub refunded: Decimal,
    pub cancelled: bool,
    pub tamper: Tamper,
    /// iyzico's `(errorCode, errorMessage)` for every refund or cancel asked of this form.
    pub refuse_refunds: Option<(String, String)>,
    /// The `buyer` object the form was initialized with, as sent.
    pub buyer: serde_json::Value,
}

/// What retrieving a form answers instead of the truth (still signed by "iyzico", unless
/// `bad_signature`).
#[derive(Debug, Clone, Default)]
pub struct Tamper {
    pub conversation_id: Option<String>,
    pub paid_price: Option<Decimal>,
    pub currency: Option<String>,
    pub bad_signature: bool,
}

#[derive(Default)]
pub(crate) struct State {
    pub base_url: String,
    pub forms: Vec<Form>,
    /// Requests whose `IYZWSv2` authorization did not verify.
    pub refused_auth: u32,
    /// Merchant notifications (`notify.rs`).
    pub notifier: notify::Notifier,
}

#[derive(Clone)]
pub struct IyzicoSim {
    pub config: IyzicoConfig,
    pub(crate) state: Arc<Mutex<State>>,
}

/// Starts the iyzico stand-in on a free port.
pub async fn spawn(config: IyzicoConfig) -> std::io::Result<Running<IyzicoSim>> {
    let sim = IyzicoSim {
        config,
        state: Arc::default(),
    };
    let router = http::router(sim.clone()).merge(notify::router(sim.clone()));
    let running = Running::serve(sim.clone(), router).await?;
    sim.lock().base_url.clone_from(&running.base_url);
    Ok(running)
}

impl IyzicoSim {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn form(&self, token: &str) -> Option<Form> {
        self.lock().forms.iter().find(|f| f.token == token).cloned()
    }

    pub fn forms(&self) -> Vec<Form> {
        self.lock().forms.clone()
    }

    /// How many requests came with an authorization that did not verify.
    pub fn refused_auth(&self) -> u32 {
        self.lock().refused_auth
    }

    fn with_form<T>(&self, token: &str, change: impl FnOnce(&mut Form) -> T) -> Option<T> {
        let mut state = self.lock();
        state
            .forms
            .iter_mut()
            .find(|f| f.token == token)
            .map(change)
    }

    /// The customer pays on iyzico's page; the payment's id.
    pub fn pay(&self, token: &str) -> Option<String> {
        self.with_form(token, |form| {
            if form.status == FormStatus::Open {
                form.status = FormStatus::Paid;
                form.payment_id = Some(random_digits(8));
                form.transaction_id = Some(random_digits(8));
            }
            form.payment_id.clone()
        })
        .flatten()
    }

    /// The bank declines the card.
    pub fn decline(&self, token: &str) -> bool {
        self.with_form(token, |form| {
            if form.status == FormStatus::Open {
                form.status = FormStatus::Declined;
            }
        })
        .is_some()
    }

    pub fn tamper(&self, token: &str, tamper: Tamper) -> bool {
        self.with_form(token, |form| form.tamper = tamper).is_some()
    }

    /// From now on iyzico refuses refunds and cancels of this form with this code and
    /// message, as it does when the bank or its own rules say no.
    pub fn refuse_refunds(&self, token: &str, code: &str, message: &str) -> bool {
        self.with_form(token, |form| {
            form.refuse_refunds = Some((code.to_owned(), message.to_owned()))
        })
        .is_some()
    }

    /// A refund or cancel made in iyzico's merchant panel rather than through the API.
    pub fn refund_in_panel(&self, token: &str, amount: Decimal) -> bool {
        self.with_form(token, |form| {
            form.refunded = (form.refunded + amount).min(form.paid_price)
        })
        .is_some()
    }
}

fn random_digits(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let first = rng.gen_range(1..=9).to_string();
    let rest: String = (1..len)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect();
    first + &rest
}

pub(crate) fn new_token() -> String {
    random_id("", 36).to_lowercase()
}
