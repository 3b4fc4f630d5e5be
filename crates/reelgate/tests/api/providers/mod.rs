//! Buying credits through the Stripe and iyzico stand-ins (`crates/pay-sim`): the real server,
//! the real provider clients, the providers' wire formats and signatures; on SQLite and on
//! PostgreSQL.

mod expiry;
mod iyzico;
mod iyzico_webhook;
mod stripe;

use pay_sim::iyzico::{IyzicoConfig, IyzicoSim};
use pay_sim::stripe::{StripeConfig, StripeSim};
use pay_sim::Running;
use reelgate::config::Settings;
use reelgate_domain::accounts::ApiKey;
use reelgate_store::testing::TestStore;
use serde_json::{json as body, Value};

use crate::helpers::{json, TestApp};

#[derive(Debug, Clone, Copy)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The app with both providers configured against their stand-ins.
pub struct Shop {
    pub app: TestApp,
    pub stripe: Running<StripeSim>,
    pub iyzico: Running<IyzicoSim>,
    pub admin: ApiKey,
    /// A 500+50-credit package at 149.90 TRY, and a 100-credit one at 10.00 USD.
    pub starter: String,
    pub small: String,
    _postgres: Option<TestStore>,
}

impl Shop {
    pub async fn open(db: Db) -> Shop {
        Self::open_with(db, |settings| settings).await
    }

    /// With settings of the test's own on top of the providers'.
    pub async fn open_with(db: Db, tune: impl FnOnce(Settings) -> Settings) -> Shop {
        let stripe = pay_sim::stripe::spawn(StripeConfig::default())
            .await
            .expect("Stripe stand-in");
        let iyzico = pay_sim::iyzico::spawn(IyzicoConfig::default())
            .await
            .expect("iyzico stand-in");
        let stripe_config = stripe.sim.config();
        let mut settings = Settings::default()
            .with("REELGATE_STRIPE_SECRET_KEY", stripe_config.secret_key)
            .with(
                "REELGATE_STRIPE_WEBHOOK_SECRET",
                stripe_config.webhook_secret,
            )
            .with("REELGATE_STRIPE_API_BASE", stripe.base_url.clone())
            .with("REELGATE_IYZICO_API_KEY", iyzico.sim.config.api_key.clone())
            .with(
                "REELGATE_IYZICO_SECRET_KEY",
                iyzico.sim.config.secret_key.clone(),
            )
            .with("REELGATE_IYZICO_BASE_URL", iyzico.base_url.clone());
        let postgres = match db {
            Db::Sqlite => None,
            Db::Postgres => {
                let store = reelgate_store::testing::empty_postgres_store()
                    .await
                    .expect("a PostgreSQL schema");
                settings = settings.with("REELGATE_DATABASE_URL", store.url().to_string());
                Some(store)
            }
        };
        let app = TestApp::spawn_with(tune(settings)).await;
        stripe
            .sim
            .set_webhook_url(Some(app.url("/v1/payments/stripe/webhook")));
        let (_, admin) = app.admin().await;
        let starter = package(
            &app,
            &admin,
            body!({"name": "Starter", "credits": 500, "bonus_credits": 50,
                   "price": {"amount": "149.90", "currency": "TRY"}}),
        )
        .await;
        let small = package(
            &app,
            &admin,
            body!({"name": "Small", "credits": 100, "price": {"amount": "10.00", "currency": "USD"}}),
        )
        .await;
        Shop {
            app,
            stripe,
            iyzico,
            admin,
            starter,
            small,
            _postgres: postgres,
        }
    }

    /// Opens a checkout; the payment's id and the provider's reference from its redirect
    /// (the Stripe session id, the iyzico token).
    pub async fn checkout(&self, key: &ApiKey, package: &str, provider: &str) -> (String, String) {
        let (status, checkout) = json(
            self.app
                .post_as(
                    key,
                    "/v1/checkout",
                    body!({"package": package, "provider": provider}),
                )
                .await,
        )
        .await;
        assert_eq!(status, 201, "{checkout}");
        let payment = checkout["payment"]["id"].as_str().unwrap().to_owned();
        let redirect = checkout["redirect_url"].as_str().unwrap();
        let reference = redirect.rsplit('/').next().unwrap().to_owned();
        (payment, reference)
    }

    pub async fn payment(&self, key: &ApiKey, payment: &str) -> Value {
        let (status, read) = json(
            self.app
                .get_as(key, &format!("/v1/payments/{payment}"))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{read}");
        read
    }

    /// The operator's view of the payment, with its events.
    pub async fn operator_view(&self, payment: &str) -> Value {
        let (status, read) = json(
            self.app
                .get_as(&self.admin, &format!("/v1/admin/payments/{payment}"))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{read}");
        read
    }

    /// The events naming no payment, as the operator's list shows them.
    pub async fn unmatched_events(&self) -> Vec<Value> {
        let (status, list) = json(self.app.get_as(&self.admin, "/v1/admin/payments").await).await;
        assert_eq!(status, 200, "{list}");
        list["unmatched_events"].as_array().unwrap().clone()
    }

    /// `(balance, debt)`.
    pub async fn wallet(&self, key: &ApiKey) -> (i64, i64) {
        let (_, account) = json(self.app.get_as(key, "/v1/account").await).await;
        (
            account["balance"].as_i64().unwrap(),
            account["debt"].as_i64().unwrap(),
        )
    }

    /// The customer's `purchase` rows for this payment.
    pub async fn purchases(&self, key: &ApiKey, payment: &str) -> usize {
        let (_, ledger) = json(self.app.get_as(key, "/v1/account/ledger?limit=100").await).await;
        ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "purchase" && e["payment_id"] == payment)
            .count()
    }

    /// The operator refunds through the provider.
    pub async fn operator_refund(&self, payment: &str, amount: Option<&str>) -> (u16, Value) {
        let request = match amount {
            Some(amount) => body!({"amount": amount}),
            None => body!({}),
        };
        json(
            self.app
                .post_as(
                    &self.admin,
                    &format!("/v1/admin/payments/{payment}/refund"),
                    request,
                )
                .await,
        )
        .await
    }

    /// Spends `credits` on a generation; its status.
    pub async fn generate(&self, key: &ApiKey) -> (u16, Value) {
        self.app
            .submit(
                key,
                body!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 5}),
            )
            .await
    }
}

async fn package(app: &TestApp, admin: &ApiKey, package: Value) -> String {
    let (status, created) = json(app.post_as(admin, "/v1/admin/packages", package).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}
