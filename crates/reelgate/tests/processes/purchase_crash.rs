//! `kill -9` between the provider's confirmation and the credit: the real binary receives
//! Stripe's `checkout.session.completed` and asks the Stripe stand-in to confirm it (it
//! retrieves the session); the stand-in holds that answer, and the server is killed while it
//! waits. After the restart Stripe's retry of the unanswered event credits the purchase, and
//! every further copy changes nothing: one `purchase` row, the package's credits once.

use pay_sim::stripe::{StripeConfig, StripeSim};
use reelgate_store::DatabaseUrl;
use serde_json::{json, Value};

use crate::children::Serve;

async fn call(
    client: &reqwest::Client,
    serve: &Serve,
    key: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", serve.url);
    let request = match body {
        Some(body) => client.post(url).json(&body),
        None => client.get(url),
    };
    let response = request.bearer_auth(key).send().await.expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `(balance, purchase rows naming the payment)`, as the customer reads them.
async fn credited(
    client: &reqwest::Client,
    serve: &Serve,
    key: &str,
    payment: &str,
) -> (i64, usize) {
    let (_, account) = call(client, serve, key, "/v1/account", None).await;
    let (_, ledger) = call(client, serve, key, "/v1/account/ledger?limit=100", None).await;
    let purchases = ledger["entries"]
        .as_array()
        .expect("ledger entries")
        .iter()
        .filter(|e| e["kind"] == "purchase" && e["payment_id"] == payment)
        .count();
    (account["balance"].as_i64().expect("a balance"), purchases)
}

fn completed_event(stripe: &StripeSim) -> String {
    let events: Vec<String> = stripe
        .events()
        .into_iter()
        .filter(|e| e.kind == "checkout.session.completed")
        .map(|e| e.id)
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    events[0].clone()
}

async fn killed_while_confirming(database: &DatabaseUrl) {
    let dir = tempfile::tempdir().unwrap();
    let stripe = pay_sim::stripe::spawn(StripeConfig {
        auto_deliver: false,
        ..StripeConfig::default()
    })
    .await
    .expect("Stripe stand-in");
    let keys = stripe.sim.config();
    let database_url = match database {
        DatabaseUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres { url } => url.clone(),
    };
    let mut serve = Serve::new(
        dir.path(),
        vec![
            ("REELGATE_DATABASE_URL".into(), database_url),
            ("REELGATE_STRIPE_SECRET_KEY".into(), keys.secret_key),
            ("REELGATE_STRIPE_WEBHOOK_SECRET".into(), keys.webhook_secret),
            ("REELGATE_STRIPE_API_BASE".into(), stripe.base_url.clone()),
        ],
    );
    serve.start().await;
    stripe
        .sim
        .set_webhook_url(Some(format!("{}/v1/payments/stripe/webhook", serve.url)));
    let admin = serve.user("ops@example.com", 0, true).await;
    let customer = serve.user("ada@example.com", 0, false).await;
    let client = reqwest::Client::new();
    let package = json!({"name": "Starter", "credits": 500, "bonus_credits": 50,
                         "price": {"amount": "149.90", "currency": "TRY"}});
    let (status, package) =
        call(&client, &serve, &admin, "/v1/admin/packages", Some(package)).await;
    assert_eq!(status, 201, "{package}");
    let order = json!({"package": package["id"], "provider": "stripe"});
    let (status, checkout) = call(&client, &serve, &customer, "/v1/checkout", Some(order)).await;
    assert_eq!(status, 201, "{checkout}");
    let payment = checkout["payment"]["id"].as_str().unwrap().to_owned();
    let session = checkout["redirect_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .unwrap()
        .to_owned();
    stripe.sim.pay(&session).await.expect("paid at Stripe");
    let event = completed_event(&stripe.sim);

    // Stripe delivers the completion; reelgate asks Stripe about the session and is killed
    // while the answer is on its way.
    stripe.sim.hold_retrieves();
    let delivery = tokio::spawn({
        let sim = stripe.sim.clone();
        let event = event.clone();
        async move { sim.deliver(&event).await }
    });
    stripe.sim.retrieve_held().await;
    serve.kill9().await;
    assert_eq!(
        delivery.await.unwrap(),
        Ok(0),
        "the killed server answered nothing"
    );
    stripe.sim.release_retrieves();

    serve.start().await;
    assert_eq!(
        credited(&client, &serve, &customer, &payment).await,
        (0, 0),
        "nothing was credited before the kill"
    );
    // Stripe retries the event nobody answered: now it is confirmed and credited.
    let retried = stripe.sim.retry_failed().await;
    assert_eq!(retried, [(event.clone(), 200)]);
    assert_eq!(
        credited(&client, &serve, &customer, &payment).await,
        (550, 1)
    );
    // And again, as Stripe may: nothing more.
    for _ in 0..2 {
        assert_eq!(stripe.sim.deliver(&event).await, Ok(200));
    }
    assert!(stripe.sim.retry_failed().await.is_empty());
    assert_eq!(
        credited(&client, &serve, &customer, &payment).await,
        (550, 1)
    );
    let (_, view) = call(
        &client,
        &serve,
        &admin,
        &format!("/v1/admin/payments/{payment}"),
        None,
    )
    .await;
    assert_eq!(view["status"], "paid", "{view}");
    let verifications: Vec<&str> = view["events"]
        .as_array()
        .expect("the payment's events")
        .iter()
        .filter_map(|e| e["verification"].as_str())
        .collect();
    assert_eq!(
        verifications,
        ["verified", "duplicate", "duplicate"],
        "{view}"
    );
    serve.sigterm();
    assert!(serve
        .wait_exit(std::time::Duration::from_secs(30))
        .await
        .success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_stripes_confirmation_and_the_credit_credits_once_on_sqlite() {
    let database = reelgate_store::testing::sqlite_store()
        .await
        .expect("a SQLite database");
    killed_while_confirming(database.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_stripes_confirmation_and_the_credit_credits_once_on_postgres() {
    let database = reelgate_store::testing::postgres_store()
        .await
        .expect("a PostgreSQL schema");
    killed_while_confirming(database.url()).await;
}
