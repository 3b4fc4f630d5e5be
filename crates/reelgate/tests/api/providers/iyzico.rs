//! iyzico Checkout Form through the stand-in: the callback is only a hint, the retrieved
//! result's signature, amount, currency and conversation id decide; refunds through iyzico.

use pay_sim::iyzico::Tamper;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{Db, Shop};
use crate::helpers::json;

/// The customer's browser posting iyzico's token to our callback; the status and where to.
async fn callback(shop: &Shop, token: &str) -> (u16, Option<String>, Value) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(shop.app.url("/v1/payments/iyzico/callback"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, location, body)
}

async fn purchase_is_credited_once(db: Db) {
    let shop = Shop::open(db).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    let form = shop.iyzico.sim.form(&token).expect("a form");
    assert_eq!(form.conversation_id, payment);
    assert_eq!(
        (form.paid_price, form.currency.as_str()),
        (Decimal::new(14990, 2), "TRY")
    );
    assert!(form.callback_url.ends_with("/v1/payments/iyzico/callback"));

    // Back before paying: nothing.
    let (status, _, _) = callback(&shop, &token).await;
    assert_eq!(status, 303);
    assert_eq!(shop.wallet(&key).await, (0, 0));

    let payment_id = shop.iyzico.sim.pay(&token).unwrap();
    for _ in 0..3 {
        let (status, location, _) = callback(&shop, &token).await;
        assert_eq!(status, 303);
        assert!(location
            .unwrap()
            .ends_with(&format!("/buy/payments/{payment}")));
    }
    let paid = shop.payment(&key, &payment).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(shop.wallet(&key).await, (550, 0));
    assert_eq!(shop.purchases(&key, &payment).await, 1);
    assert_eq!(
        shop.operator_view(&payment).await["provider_payment_id"],
        payment_id.as_str()
    );
    assert_eq!(
        shop.iyzico.sim.refused_auth(),
        0,
        "every request carried a valid IYZWSv2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iyzico_purchase_is_credited_once() {
    purchase_is_credited_once(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iyzico_purchase_is_credited_once_on_postgres() {
    purchase_is_credited_once(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_is_credited_even_if_the_customer_never_comes_back() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    // The return page asks iyzico itself.
    assert_eq!(shop.payment(&key, &payment).await["status"], "paid");
    assert_eq!(shop.wallet(&key).await, (550, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_iyzico_callbacks_make_one_purchase() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    let answers = futures::future::join_all((0..50).map(|_| callback(&shop, &token))).await;
    assert!(answers.iter().all(|(status, _, _)| *status == 303));
    assert_eq!(shop.purchases(&key, &payment).await, 1);
    assert_eq!(shop.wallet(&key).await, (550, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_fails_the_payment_with_the_reason() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    assert!(shop.iyzico.sim.decline(&token));
    assert_eq!(callback(&shop, &token).await.0, 303);
    let failed = shop.payment(&key, &payment).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["failure"]
            .as_str()
            .unwrap()
            .contains("yetersiz bakiye"),
        "{failed}"
    );
    assert_eq!(shop.wallet(&key).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_of_another_conversation_amount_currency_or_signature_credits_nothing() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let tampers = [
        Tamper {
            conversation_id: Some("pay_01hzzzzzzzzzzzzzzzzzzzzzzz".into()),
            ..Default::default()
        },
        Tamper {
            paid_price: Some(Decimal::new(100, 2)),
            ..Default::default()
        },
        Tamper {
            currency: Some("USD".into()),
            ..Default::default()
        },
        Tamper {
            bad_signature: true,
            ..Default::default()
        },
    ];
    for tamper in tampers {
        let (payment, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
        shop.iyzico.sim.pay(&token).unwrap();
        shop.iyzico.sim.tamper(&token, tamper.clone());
        let (status, _, refused) = callback(&shop, &token).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some("payment_mismatch")),
            "{tamper:?}: {refused}"
        );
        assert_eq!(shop.payment(&key, &payment).await["status"], "pending");
        let view = shop.operator_view(&payment).await;
        assert!(view["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["verification"].as_str().unwrap().starts_with("refused")));
    }
    // A token this server never handed out.
    let (status, _, refused) = callback(&shop, "not-a-token-of-ours").await;
    assert_eq!(
        (status, refused["error"]["field"].as_str()),
        (400, Some("token"))
    );
    let (status, _, refused) = callback(&shop, "").await;
    assert_eq!(
        (status, refused["error"]["field"].as_str()),
        (400, Some("token"))
    );
    assert_eq!(shop.wallet(&key).await, (0, 0));
}

async fn refund_after_spending(db: Db) {
    let shop = Shop::open(db).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.small, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    callback(&shop, &token).await;
    let (status, created) = shop.generate(&key).await;
    assert_eq!(status, 202, "{created}");
    let spent = created["credits"].as_i64().unwrap();

    let (status, refunded) = shop.operator_refund(&payment, None).await;
    assert_eq!(
        (status, refunded["status"].as_str()),
        (200, Some("refunded")),
        "{refunded}"
    );
    assert_eq!(
        shop.iyzico.sim.form(&token).unwrap().refunded,
        Decimal::new(1000, 2)
    );
    assert_eq!(shop.wallet(&key).await, (0, spent));
    let (status, refused) = shop.generate(&key).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (402, Some("in_debt"))
    );

    let (_, token) = shop.checkout(&key, &shop.small, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    callback(&shop, &token).await;
    assert_eq!(shop.wallet(&key).await, (100 - spent, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iyzico_refund_after_spending_leaves_debt_and_the_next_purchase_repays_it() {
    refund_after_spending(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iyzico_refund_after_spending_leaves_debt_and_the_next_purchase_repays_it_on_postgres() {
    refund_after_spending(Db::Postgres).await;
}

/// The refusal the operator gets, and the refusal recorded on the payment.
async fn refused_refund(shop: &Shop, payment: &str, amount: Option<&str>, code: &str) -> Value {
    let (status, refused) = shop.operator_refund(payment, amount).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("refund_refused")),
        "{refused}"
    );
    assert_eq!(refused["error"]["field"], Value::Null, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("errorCode {code}")), "{message}");
    let view = shop.operator_view(payment).await;
    let last = view["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event_type"], "operator.refund", "{view}");
    let verification = last["verification"].as_str().unwrap();
    assert!(
        verification.starts_with("refused") && verification.contains(code),
        "{verification}"
    );
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iyzico_refuses_a_refund_beyond_what_is_left_and_nothing_moves() {
    let shop = Shop::open(Db::Sqlite).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.small, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    callback(&shop, &token).await;
    // Refunded in iyzico's panel meanwhile: reelgate does not know, iyzico refuses the rest.
    shop.iyzico
        .sim
        .refund_in_panel(&token, Decimal::new(600, 2));
    let refused = refused_refund(&shop, &payment, Some("5.00"), "5093").await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("İade tutarı, ödeme tutarından büyük olamaz"),
        "{refused}"
    );
    assert_eq!(shop.wallet(&key).await, (100, 0));
    assert_eq!(shop.payment(&key, &payment).await["status"], "paid");
    let (status, partial) = shop.operator_refund(&payment, Some("4.00")).await;
    assert_eq!(
        (status, partial["status"].as_str()),
        (200, Some("partially_refunded")),
        "{partial}"
    );
    assert_eq!(shop.wallet(&key).await, (60, 0));
}

async fn a_refused_refund_changes_nothing(db: Db) {
    let shop = Shop::open(db).await;
    let (_, key) = shop.app.customer("ada", 0).await;
    let (payment, token) = shop.checkout(&key, &shop.small, "iyzico").await;
    shop.iyzico.sim.pay(&token).unwrap();
    callback(&shop, &token).await;
    let (_, before) = json(shop.app.get_as(&key, "/v1/account/ledger?limit=100").await).await;
    assert!(shop
        .iyzico
        .sim
        .refuse_refunds(&token, "10093", "İade işlemi şu an yapılamıyor"));
    for amount in [None, Some("2.50")] {
        refused_refund(&shop, &payment, amount, "10093").await;
    }
    let (_, after) = json(shop.app.get_as(&key, "/v1/account/ledger?limit=100").await).await;
    assert_eq!(
        before["entries"], after["entries"],
        "no ledger row was written"
    );
    assert_eq!(shop.wallet(&key).await, (100, 0));
    let read = shop.payment(&key, &payment).await;
    assert_eq!(
        (read["status"].as_str(), read["refunded"].as_str()),
        (Some("paid"), Some("0.00"))
    );
    assert_eq!(
        shop.iyzico.sim.form(&token).unwrap().refunded,
        Decimal::ZERO
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_iyzico_refuses_is_a_409_with_its_reason_and_changes_nothing() {
    a_refused_refund_changes_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_iyzico_refuses_is_a_409_with_its_reason_and_changes_nothing_on_postgres() {
    a_refused_refund_changes_nothing(Db::Postgres).await;
}

/// A checkout as the customer's browser sends it through the reverse proxy, which names the
/// client in `X-Forwarded-For` (after whatever the client itself wrote there).
async fn checkout_via_proxy(
    shop: &Shop,
    key: &reelgate_domain::accounts::ApiKey,
    package: &str,
    provider: &str,
    forwarded_for: &str,
) -> String {
    let response = shop
        .app
        .client
        .post(shop.app.url("/v1/checkout"))
        .bearer_auth(key.expose())
        .header("x-forwarded-for", forwarded_for)
        .json(&serde_json::json!({"package": package, "provider": provider}))
        .send()
        .await
        .unwrap();
    let (status, checkout) = json(response).await;
    assert_eq!(status, 201, "{checkout}");
    let redirect = checkout["redirect_url"].as_str().unwrap();
    redirect.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_names_the_buyer_by_the_accounts_email_and_the_clients_address() {
    let shop = Shop::open_with(Db::Sqlite, |settings| {
        settings.with("REELGATE_TRUSTED_PROXIES", "127.0.0.1")
    })
    .await;
    let (user, key) = shop.app.customer("ada", 0).await;
    let email = user.email.as_str();
    // The proxy (trusted) names 203.0.113.9; the entry the client wrote itself is not believed.
    let token = checkout_via_proxy(
        &shop,
        &key,
        &shop.starter,
        "iyzico",
        "10.9.9.9, 203.0.113.9",
    )
    .await;
    let buyer = shop.iyzico.sim.form(&token).unwrap().buyer;
    assert_eq!(buyer["email"], email, "{buyer}");
    assert_eq!(buyer["ip"], "203.0.113.9", "{buyer}");
    assert_eq!(buyer["id"], user.id.as_str(), "{buyer}");
    // What reelgate does not ask its customers for: the documented placeholders.
    assert_eq!(buyer["identityNumber"], "11111111111", "{buyer}");
    // Straight from the client (no proxy in between): its own address.
    let (_, token) = shop.checkout(&key, &shop.starter, "iyzico").await;
    assert_eq!(
        shop.iyzico.sim.form(&token).unwrap().buyer["ip"],
        "127.0.0.1"
    );
    // Stripe's page is prefilled with the same address.
    let session = checkout_via_proxy(&shop, &key, &shop.small, "stripe", "203.0.113.9").await;
    let session = shop.stripe.sim.session(&session).unwrap();
    assert_eq!(session.customer_email.as_deref(), Some(email));
}
