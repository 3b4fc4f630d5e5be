//! Pending payments through the stand-ins, left alone: the expiry worker asks the provider,
//! credits what was paid but never notified, expires the rest; an expired payment that is
//! paid after all is credited. Payments are aged in the database rather than waited for.

use reelgate::http::auth::SESSION_COOKIE;
use reelgate_domain::payments::{PaymentId, PaymentStatus};
use reelgate_store::testing::age_payment;
use std::time::Duration;

use super::{Db, Shop};
use crate::helpers::wait_until;

/// Older than the default expiry (a day).
const DAYS: Duration = Duration::from_secs(2 * 86_400);
/// Old enough to be asked about, far from expiring.
const MINUTES: Duration = Duration::from_secs(5 * 60);

async fn status_in_store(shop: &Shop, payment: &str) -> PaymentStatus {
    let id: PaymentId = payment.parse().unwrap();
    shop.app.store.payment(&id).await.unwrap().status()
}

async fn age(shop: &Shop, payment: &str, by: Duration) {
    let id: PaymentId = payment.parse().unwrap();
    age_payment(&shop.app.store, &id, by).await.unwrap();
}

/// Paid on the provider's page, the notification lost (Stripe) or the customer never back
/// (iyzico): the worker's question credits it, once, with nobody reading its page.
async fn paid_but_never_notified_is_credited(db: Db, provider: &str) {
    let shop = Shop::open(db).await;
    shop.stripe.sim.set_auto_deliver(false);
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, reference) = shop.checkout(&key, &shop.starter, provider).await;
    match provider {
        "stripe" => {
            shop.stripe.sim.pay(&reference).await.unwrap();
        }
        _ => {
            shop.iyzico.sim.pay(&reference).unwrap();
        }
    }
    age(&shop, &payment, MINUTES).await;
    wait_until("the worker credits the payment", async || {
        shop.wallet(&key).await == (550, 0)
    })
    .await;
    assert_eq!(status_in_store(&shop, &payment).await, PaymentStatus::Paid);
    assert_eq!(shop.purchases(&key, &payment).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_payment_paid_but_never_notified_is_credited_by_the_worker() {
    paid_but_never_notified_is_credited(Db::Sqlite, "stripe").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iyzico_payment_whose_customer_never_came_back_is_credited_by_the_worker() {
    paid_but_never_notified_is_credited(Db::Sqlite, "iyzico").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_paid_but_never_notified_is_credited_by_the_worker_on_postgres() {
    paid_but_never_notified_is_credited(Db::Postgres, "stripe").await;
}

/// Abandoned: asked about while young, left pending; past the expiry, `expired`, with the
/// event that says why. Then paid at Stripe after all (its session was still open): the
/// verified event credits it, since the money was taken.
async fn abandoned_expires_and_a_late_payment_is_still_credited(db: Db) {
    let shop = Shop::open(db).await;
    let (ada, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
    let (young, _) = shop.checkout(&key, &shop.small, "stripe").await;
    age(&shop, &young, MINUTES).await;
    age(&shop, &payment, DAYS).await;
    wait_until("the worker expires the payment", async || {
        status_in_store(&shop, &payment).await == PaymentStatus::Expired
    })
    .await;
    // The one not yet a day old is still pending, asked about and rescheduled.
    assert_eq!(status_in_store(&shop, &young).await, PaymentStatus::Pending);
    let read = shop.payment(&key, &payment).await;
    assert_eq!(read["status"], "expired", "{read}");
    let events = shop.operator_view(&payment).await["events"].clone();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event_type"] == "expiry"
                && e["effect"].as_str().unwrap().contains("expired")),
        "{events}"
    );
    assert_eq!(shop.wallet(&key).await, (0, 0));
    // The return page says so.
    let token = shop
        .app
        .store
        .create_session(&ada.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let page = shop
        .app
        .client
        .get(shop.app.url(&format!("/buy/payments/{payment}")))
        .header("cookie", format!("{SESSION_COOKIE}={}", token.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-status=\"expired\""), "{html}");

    shop.stripe.sim.pay(&session).await.unwrap();
    wait_until("the late payment is credited", async || {
        shop.wallet(&key).await == (550, 0)
    })
    .await;
    assert_eq!(shop.payment(&key, &payment).await["status"], "paid");
    assert_eq!(shop.purchases(&key, &payment).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_payment_expires_and_is_still_credited_if_paid_later() {
    abandoned_expires_and_a_late_payment_is_still_credited(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_payment_expires_and_is_still_credited_if_paid_later_on_postgres() {
    abandoned_expires_and_a_late_payment_is_still_credited(Db::Postgres).await;
}
