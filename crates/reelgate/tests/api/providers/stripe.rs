//! Stripe Checkout through the stand-in: credited once, from the retrieved session; events
//! repeated, reordered and concurrent; forged, expired and replayed signatures; refunds,
//! disputes and debt.

use serde_json::{json as body, Value};

use super::{Db, Shop};
use crate::helpers::json;

/// The ids of the stand-in's events of this type, oldest first.
fn events_of(shop: &Shop, kind: &str) -> Vec<String> {
    shop.stripe
        .sim
        .events()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.id)
        .collect()
}

async fn deliver(shop: &Shop, event: &str) -> u16 {
    shop.stripe.sim.deliver(event).await.expect("delivered")
}

/// Each event three times over, in this order; reelgate takes every copy (200).
async fn deliver_three_times(shop: &Shop, order: &[String]) {
    for event in order {
        for _ in 0..3 {
            assert_eq!(deliver(shop, event).await, 200, "{event}");
        }
    }
}

async fn purchase_is_credited_once(db: Db) {
    let shop = Shop::open(db).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
    assert!(session.starts_with("cs_test_"), "{session}");
    let opened = shop.stripe.sim.session(&session).expect("a session");
    assert_eq!(
        (opened.amount_total, opened.currency.as_str()),
        (14990, "try")
    );
    assert_eq!(
        opened.client_reference_id.as_deref(),
        Some(payment.as_str())
    );
    assert_eq!(shop.payment(&key, &payment).await["status"], "pending");

    let intent = shop.stripe.sim.pay(&session).await.expect("paid");
    assert_eq!(shop.stripe.sim.deliveries().last().map(|d| d.1), Some(200));
    let paid = shop.payment(&key, &payment).await;
    assert_eq!(
        (paid["status"].as_str(), paid["credits"].as_i64()),
        (Some("paid"), Some(550))
    );
    assert_eq!(shop.wallet(&key).await, (550, 0));

    // Stripe retries: the same event twice more changes nothing.
    let completed = events_of(&shop, "checkout.session.completed");
    for _ in 0..2 {
        assert_eq!(deliver(&shop, &completed[0]).await, 200);
    }
    assert_eq!(shop.wallet(&key).await, (550, 0));
    assert_eq!(shop.purchases(&key, &payment).await, 1);
    let view = shop.operator_view(&payment).await;
    assert_eq!(view["provider_payment_id"], intent.as_str());
    let verifications: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["verification"].as_str().unwrap())
        .collect();
    assert_eq!(verifications, ["verified", "duplicate", "duplicate"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_purchase_is_credited_once() {
    purchase_is_credited_once(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_purchase_is_credited_once_on_postgres() {
    purchase_is_credited_once(Db::Postgres).await;
}

async fn events_three_times_and_reordered(db: Db) {
    let shop = Shop::open(db).await;
    shop.stripe.sim.set_auto_deliver(false);
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
    let intent = shop.stripe.sim.pay(&session).await.unwrap();
    // Half of 149.90 refunded from the dashboard.
    shop.stripe.sim.refund(&intent, Some(7495)).await.unwrap();
    let mut order = events_of(&shop, "charge.refunded");
    order.extend(events_of(&shop, "refund.created"));
    order.extend(events_of(&shop, "checkout.session.completed"));
    assert_eq!(order.len(), 3);
    // The refund arrives before the payment's completion, and everything three times.
    deliver_three_times(&shop, &order).await;
    let read = shop.payment(&key, &payment).await;
    assert_eq!(read["status"], "partially_refunded", "{read}");
    assert_eq!(shop.wallet(&key).await, (275, 0));
    assert_eq!(shop.purchases(&key, &payment).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_events_sent_three_times_and_reordered_settle_once() {
    events_three_times_and_reordered(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_events_sent_three_times_and_reordered_settle_once_on_postgres() {
    events_three_times_and_reordered(Db::Postgres).await;
}

async fn fifty_concurrent_copies(db: Db) {
    let shop = Shop::open(db).await;
    shop.stripe.sim.set_auto_deliver(false);
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
    shop.stripe.sim.pay(&session).await.unwrap();
    let event = &events_of(&shop, "checkout.session.completed")[0];
    let (payload, header) = shop
        .stripe
        .sim
        .signed(event, chrono::Utc::now().timestamp())
        .unwrap();
    let url = shop.app.url("/v1/payments/stripe/webhook");
    let copies = (0..50).map(|_| {
        shop.app
            .client
            .post(&url)
            .header("stripe-signature", &header)
            .header("content-type", "application/json")
            .body(payload.clone())
            .send()
    });
    let answers = futures::future::join_all(copies).await;
    for answer in answers {
        assert_eq!(answer.expect("answered").status(), 200);
    }
    assert_eq!(shop.purchases(&key, &payment).await, 1);
    assert_eq!(shop.wallet(&key).await, (550, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_copies_of_one_stripe_webhook_make_one_purchase() {
    fifty_concurrent_copies(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_copies_of_one_stripe_webhook_make_one_purchase_on_postgres() {
    fifty_concurrent_copies(Db::Postgres).await;
}

async fn post_event(shop: &Shop, payload: &str, header: Option<&str>) -> (u16, Value) {
    let mut request = shop
        .app
        .client
        .post(shop.app.url("/v1/payments/stripe/webhook"))
        .header("content-type", "application/json")
        .body(payload.to_owned());
    if let Some(header) = header {
        request = request.header("stripe-signature", header);
    }
    json(request.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_replayed_stripe_signatures_credit_nothing() {
    let shop = Shop::open(Db::Sqlite).await;
    shop.stripe.sim.set_auto_deliver(false);
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
    shop.stripe.sim.pay(&session).await.unwrap();
    let event = &events_of(&shop, "checkout.session.completed")[0];
    let now = chrono::Utc::now().timestamp();
    let (payload, good) = shop.stripe.sim.signed(event, now).unwrap();

    let forger = pay_sim::stripe::spawn(pay_sim::stripe::StripeConfig {
        webhook_secret: "whsec_someone_else".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let forged = forger.sim.signature_header(&payload, now);
    let (status, refused) = post_event(&shop, &payload, Some(&forged)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_signature"))
    );
    // A captured event replayed ten minutes later.
    let (_, stale) = shop.stripe.sim.signed(event, now - 600).unwrap();
    assert_eq!(post_event(&shop, &payload, Some(&stale)).await.0, 400);
    // A valid header on a changed body.
    let altered = payload.replace("\"paid\"", "\"paid\" ");
    assert_eq!(post_event(&shop, &altered, Some(&good)).await.0, 400);
    assert_eq!(post_event(&shop, &payload, None).await.0, 400);
    assert_eq!(shop.wallet(&key).await, (0, 0));
    let reasons: Vec<String> = shop
        .unmatched_events()
        .await
        .iter()
        .map(|e| e["verification"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("timestamp outside the tolerance")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("signature does not match")),
        "{reasons:?}"
    );

    // The genuine delivery credits; the same signed request replayed within the tolerance is
    // a duplicate event and changes nothing.
    assert_eq!(post_event(&shop, &payload, Some(&good)).await.0, 200);
    assert_eq!(post_event(&shop, &payload, Some(&good)).await.0, 200);
    assert_eq!(shop.wallet(&key).await, (550, 0));
    assert_eq!(shop.purchases(&key, &payment).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_another_amount_currency_or_payment_credits_nothing() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let tampers = [
        pay_sim::stripe::Tamper {
            amount_total: Some(100),
            ..Default::default()
        },
        pay_sim::stripe::Tamper {
            currency: Some("usd".into()),
            ..Default::default()
        },
    ];
    for tamper in tampers {
        shop.stripe.sim.set_auto_deliver(false);
        let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
        shop.stripe.sim.tamper(&session, tamper).unwrap();
        shop.stripe.sim.pay(&session).await.unwrap();
        let event = events_of(&shop, "checkout.session.completed")
            .pop()
            .unwrap();
        let (payload, header) = shop
            .stripe
            .sim
            .signed(&event, chrono::Utc::now().timestamp())
            .unwrap();
        let (status, refused) = post_event(&shop, &payload, Some(&header)).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some("payment_mismatch"))
        );
        assert_eq!(shop.payment(&key, &payment).await["status"], "pending");
        let view = shop.operator_view(&payment).await;
        let last = view["events"].as_array().unwrap().last().unwrap().clone();
        assert!(
            last["verification"]
                .as_str()
                .unwrap()
                .starts_with("refused"),
            "{last}"
        );
    }
    // A correctly signed event naming a payment this server never opened.
    let payload = body!({"id": "evt_unknown_payment", "object": "event", "type": "checkout.session.completed",
        "created": 1, "data": {"object": {"id": "cs_test_unknown", "object": "checkout.session",
        "client_reference_id": "pay_01hzzzzzzzzzzzzzzzzzzzzzzz", "payment_status": "paid"}}})
    .to_string();
    let header = shop
        .stripe
        .sim
        .signature_header(&payload, chrono::Utc::now().timestamp());
    assert_eq!(post_event(&shop, &payload, Some(&header)).await.0, 200);
    assert!(shop
        .unmatched_events()
        .await
        .iter()
        .any(|e| e["event_id"] == "evt_unknown_payment"));
    assert_eq!(shop.wallet(&key).await, (0, 0));
}

async fn refund_after_spending(db: Db) {
    let shop = Shop::open(db).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.small, "stripe").await;
    let intent = shop.stripe.sim.pay(&session).await.unwrap();
    assert_eq!(shop.wallet(&key).await, (100, 0));
    let (status, created) = shop.generate(&key).await;
    assert_eq!(status, 202, "{created}");
    let spent = created["credits"].as_i64().unwrap();

    // Refunded in full from Stripe's dashboard.
    shop.stripe.sim.refund(&intent, None).await.unwrap();
    assert_eq!(shop.payment(&key, &payment).await["status"], "refunded");
    let (balance, debt) = shop.wallet(&key).await;
    assert_eq!((balance, debt), (0, spent));
    let (status, refused) = shop.generate(&key).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (402, Some("in_debt"))
    );

    // The next purchase pays the debt first.
    let (_, session) = shop.checkout(&key, &shop.small, "stripe").await;
    shop.stripe.sim.pay(&session).await.unwrap();
    assert_eq!(shop.wallet(&key).await, (100 - spent, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_refund_after_spending_leaves_debt_and_the_next_purchase_repays_it() {
    refund_after_spending(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_refund_after_spending_leaves_debt_and_the_next_purchase_repays_it_on_postgres() {
    refund_after_spending(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_takes_the_credits_back_and_winning_it_returns_them() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
    let intent = shop.stripe.sim.pay(&session).await.unwrap();
    shop.stripe.sim.dispute(&intent).await.unwrap();
    assert_eq!(shop.payment(&key, &payment).await["status"], "disputed");
    assert_eq!(shop.wallet(&key).await, (0, 0));
    shop.stripe.sim.close_dispute(&intent, true).await.unwrap();
    assert_eq!(shop.payment(&key, &payment).await["status"], "paid");
    assert_eq!(shop.wallet(&key).await, (550, 0));
    // A late copy of the opening changes nothing once the dispute is decided.
    let opened = &events_of(&shop, "charge.dispute.created")[0];
    assert_eq!(deliver(&shop, opened).await, 200);
    assert_eq!(shop.wallet(&key).await, (550, 0));
    assert_eq!(shop.operator_view(&payment).await["dispute"], "won");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_stripe_refund_goes_through_stripe_and_its_events_change_nothing_twice() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.small, "stripe").await;
    let intent = shop.stripe.sim.pay(&session).await.unwrap();
    let (status, refunded) = shop.operator_refund(&payment, Some("2.50")).await;
    assert_eq!(
        (status, refunded["status"].as_str()),
        (200, Some("partially_refunded")),
        "{refunded}"
    );
    // Stripe's own events about that refund arrived meanwhile (auto-delivered).
    assert_eq!(events_of(&shop, "charge.refunded").len(), 1);
    assert_eq!(shop.wallet(&key).await, (75, 0));
    let (status, rest) = shop.operator_refund(&payment, None).await;
    assert_eq!(
        (status, rest["status"].as_str()),
        (200, Some("refunded")),
        "{rest}"
    );
    assert_eq!(shop.wallet(&key).await, (0, 0));
    let (status, nothing) = shop.operator_refund(&payment, None).await;
    assert_eq!(
        (status, nothing["error"]["field"].as_str()),
        (400, Some("amount")),
        "{nothing}"
    );
    let _ = intent;
}

/// Every event of a disputed payment three times, newest first: the dispute's end, its
/// opening, then the payment's completion; it settles as the dispute ended.
async fn dispute_events_backwards(won: bool) {
    let shop = Shop::open(Db::Sqlite).await;
    shop.stripe.sim.set_auto_deliver(false);
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, session) = shop.checkout(&key, &shop.starter, "stripe").await;
    let intent = shop.stripe.sim.pay(&session).await.unwrap();
    shop.stripe.sim.dispute(&intent).await.unwrap();
    shop.stripe.sim.close_dispute(&intent, won).await.unwrap();
    let mut order = events_of(&shop, "charge.dispute.closed");
    order.extend(events_of(&shop, "charge.dispute.created"));
    order.extend(events_of(&shop, "checkout.session.completed"));
    assert_eq!(order.len(), 3);
    deliver_three_times(&shop, &order).await;
    let read = shop.payment(&key, &payment).await;
    let view = shop.operator_view(&payment).await;
    if won {
        assert_eq!(read["status"], "paid", "{read}");
        assert_eq!(shop.wallet(&key).await, (550, 0));
        assert_eq!(view["dispute"], "won", "{view}");
    } else {
        assert_eq!(read["status"], "disputed", "{read}");
        assert_eq!(shop.wallet(&key).await, (0, 0));
        assert_eq!(view["dispute"], "lost", "{view}");
    }
    assert_eq!(shop.purchases(&key, &payment).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispute_events_three_times_and_backwards_settle_as_a_won_dispute() {
    dispute_events_backwards(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispute_events_three_times_and_backwards_settle_as_a_lost_dispute() {
    dispute_events_backwards(false).await;
}
