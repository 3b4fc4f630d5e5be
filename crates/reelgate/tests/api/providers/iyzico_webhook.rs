//! iyzico's merchant notifications through the stand-in: verified by `X-IYZ-SIGNATURE-V3`,
//! confirmed by retrieving the payment from iyzico, acted on once however often and in
//! whatever order they come; a refund made in iyzico's panel takes the unspent credits back.

use rust_decimal::Decimal;
use serde_json::Value;

use super::{Db, Shop};
use crate::helpers::json;

fn webhook_url(shop: &Shop) -> String {
    shop.app.url("/v1/payments/iyzico/webhook")
}

/// Notifications held: the test delivers them, as often and in the order it wants.
async fn held(db: Db) -> Shop {
    let shop = Shop::open(db).await;
    shop.iyzico.sim.set_webhook_url(Some(webhook_url(&shop)));
    shop.iyzico.sim.hold_notifications(true);
    shop
}

async fn deliver(shop: &Shop, reference: &str) -> u16 {
    shop.iyzico
        .sim
        .deliver_notification(reference)
        .await
        .expect("a notification")
}

fn events_of(view: &Value, kind: &str) -> Vec<Value> {
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["event_type"]
                .as_str()
                .unwrap_or_default()
                .starts_with(kind)
        })
        .cloned()
        .collect()
}

async fn a_notification_credits_once(db: Db) {
    let shop = held(db).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    // The customer never comes back; iyzico's notification says it was paid.
    let reference = shop.iyzico.sim.notify_payment(&token).await.unwrap();
    for _ in 0..3 {
        assert_eq!(deliver(&shop, &reference).await, 200);
    }
    assert_eq!(shop.wallet(&key).await, (550, 0));
    assert_eq!(shop.purchases(&key, &payment).await, 1);
    let view = shop.operator_view(&payment).await;
    let events = events_of(&view, "webhook.");
    let verifications: Vec<&str> = events
        .iter()
        .map(|e| e["verification"].as_str().unwrap())
        .collect();
    assert_eq!(
        verifications,
        ["verified", "duplicate", "duplicate"],
        "{events:?}"
    );
    assert_eq!(events[0]["event_id"], reference.as_str());
    assert!(events[0]["effect"]
        .as_str()
        .unwrap()
        .contains("purchase +550"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iyzico_notification_credits_a_payment_once() {
    a_notification_credits_once(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iyzico_notification_credits_a_payment_once_on_postgres() {
    a_notification_credits_once(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_unsigned_iyzico_notifications_change_nothing() {
    let shop = held(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    shop.iyzico.sim.notify_payment(&token).await.unwrap();
    let real = shop.iyzico.sim.notifications().pop().unwrap();
    let post = |body: String, signature: Option<String>| {
        let mut request = shop
            .app
            .client
            .post(webhook_url(&shop))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-iyz-signature-v3", signature);
        }
        async move { json(request.send().await.unwrap()).await }
    };
    // The real body without its signature, with another's, and a changed body under the
    // real signature.
    let tampered = real.body.replace("SUCCESS", "FAILURE");
    for (body, signature) in [
        (real.body.clone(), None),
        (real.body.clone(), Some("00".repeat(32))),
        (tampered, Some(real.signature.clone())),
    ] {
        let (status, error) = post(body, signature).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["error"]["code"], "invalid_signature");
    }
    assert_eq!(shop.wallet(&key).await, (0, 0));
    assert_eq!(shop.purchases(&key, &payment).await, 0);
    let refused: Vec<Value> = shop
        .unmatched_events()
        .await
        .into_iter()
        .filter(|e| e["provider"] == "iyzico")
        .collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused
        .iter()
        .all(|e| e["verification"].as_str().unwrap().starts_with("refused")));
}

async fn panel_refunds_take_credits_back(db: Db) {
    let shop = held(db).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    let paid = shop.iyzico.sim.notify_payment(&token).await.unwrap();
    assert_eq!(deliver(&shop, &paid).await, 200);
    let (status, created) = shop.generate(&key).await;
    assert_eq!(status, 202, "{created}");
    let price = created["credits"].as_i64().unwrap();
    let done = shop
        .app
        .settled(&key, created["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "succeeded");
    assert!(
        price < 275,
        "the test assumes a generation below half the package"
    );

    // Half refunded in iyzico's panel: half the credits go back.
    assert!(shop
        .iyzico
        .sim
        .refund_in_panel(&token, Decimal::new(7495, 2)));
    let half = shop.iyzico.sim.notify_refund(&token).await.unwrap();
    assert_eq!(deliver(&shop, &half).await, 200);
    assert_eq!(shop.wallet(&key).await, (275 - price, 0));
    assert_eq!(
        shop.payment(&key, &payment).await["status"],
        "partially_refunded"
    );

    // The rest, then the notifications late, repeated and out of order: what was spent is
    // debt, and nothing moves twice.
    assert!(shop
        .iyzico
        .sim
        .refund_in_panel(&token, Decimal::new(7495, 2)));
    let rest = shop.iyzico.sim.notify_refund(&token).await.unwrap();
    for reference in [&rest, &half, &paid, &rest] {
        assert_eq!(deliver(&shop, reference).await, 200);
    }
    assert_eq!(shop.wallet(&key).await, (0, price));
    let view = shop.operator_view(&payment).await;
    assert_eq!(view["status"], "refunded", "{view}");
    assert_eq!(view["refunded"], "149.90");
    // The operator's button has nothing left to refund.
    let (status, error) = shop.operator_refund(&payment, None).await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (400, Some("amount"))
    );
    assert_eq!(shop.iyzico.sim.refused_auth(), 0);

    // The cash report has the panel's refunds as cash given back, and the debt.
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let (status, report) = json(
        shop.app
            .get_as(
                &shop.admin,
                &format!("/v1/admin/reports/cash?from={today}&to={tomorrow}"),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let try_total = &report["totals"][0];
    assert_eq!(
        (
            try_total["currency"].as_str(),
            try_total["cash_received"].as_str(),
            try_total["cash_refunded"].as_str(),
            try_total["cash_net"].as_str(),
            try_total["credits_sold"].as_i64()
        ),
        (
            Some("TRY"),
            Some("149.90"),
            Some("149.90"),
            Some("0.00"),
            Some(550)
        ),
        "{report}"
    );
    let last = report["days"].as_array().unwrap().last().unwrap();
    assert_eq!(last["debt_outstanding"], price, "{report}");
    assert_eq!(last["unspent_credits"], 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_in_the_iyzico_panel_takes_the_unspent_credits_back() {
    panel_refunds_take_credits_back(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_in_the_iyzico_panel_takes_the_unspent_credits_back_on_postgres() {
    panel_refunds_take_credits_back(Db::Postgres).await;
}
