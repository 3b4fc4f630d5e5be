//! Buying credits over the JSON API on the demo provider (no provider configured): packages,
//! checkout, the price captured, refunds, debt and its 402, and field-named refusals.

use serde_json::{json as body, Value};

use crate::helpers::{json, TestApp};

async fn create_package(
    app: &TestApp,
    admin: &reelgate_domain::accounts::ApiKey,
    package: Value,
) -> Value {
    let (status, created) = json(app.post_as(admin, "/v1/admin/packages", package).await).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn starter() -> Value {
    body!({"name": "Starter", "credits": 500, "bonus_credits": 50,
           "price": {"amount": "149.90", "currency": "TRY"}, "active": true})
}

async fn pay_demo(
    app: &TestApp,
    key: &reelgate_domain::accounts::ApiKey,
    payment: &str,
    choice: &str,
) -> Value {
    let (status, paid) = json(
        app.post_as(
            key,
            &format!("/v1/payments/{payment}/demo"),
            body!({"choice": choice}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{paid}");
    paid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_a_package_on_the_demo_provider() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 0).await;
    let package = create_package(&app, &admin, starter()).await;
    assert_eq!(
        package["price"],
        body!({"amount": "149.90", "currency": "TRY"})
    );

    let (status, list) = json(app.get("/v1/packages").await).await;
    assert_eq!(status, 200);
    assert_eq!(list["packages"][0]["id"], package["id"]);
    assert_eq!(list["providers"], body!(["demo"]));

    let (status, checkout) = json(
        app.post_as(
            &key,
            "/v1/checkout",
            body!({"package": package["id"], "provider": "demo"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{checkout}");
    let payment = checkout["payment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(checkout["payment"]["status"], "pending");
    assert!(checkout["redirect_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/pay/demo/{payment}")));
    // Coming back to the return page credits nothing: only the provider's word does.
    let (_, read) = json(app.get_as(&key, &format!("/v1/payments/{payment}")).await).await;
    assert_eq!(read["status"], "pending");
    assert_eq!(app.balance(&key).await.0, 0);

    let paid = pay_demo(&app, &key, &payment, "pay").await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(
        (paid["credits"].as_i64(), paid["amount"].as_str()),
        (Some(550), Some("149.90"))
    );
    // Paying again changes nothing.
    pay_demo(&app, &key, &payment, "pay").await;
    assert_eq!(app.balance(&key).await.0, 550);
    let (_, ledger) = json(app.get_as(&key, "/v1/account/ledger").await).await;
    let purchases: Vec<&Value> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "purchase")
        .collect();
    assert_eq!(purchases.len(), 1);
    assert_eq!(purchases[0]["payment_id"], payment.as_str());
    let (_, mine) = json(app.get_as(&key, "/v1/payments").await).await;
    assert_eq!(mine["payments"][0]["id"], payment.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_demo_payment_fails_and_credits_nothing() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 0).await;
    let package = create_package(&app, &admin, starter()).await;
    let (_, checkout) = json(
        app.post_as(&key, "/v1/checkout", body!({"package": package["id"]}))
            .await,
    )
    .await;
    let payment = checkout["payment"]["id"].as_str().unwrap();
    assert_eq!(
        pay_demo(&app, &key, payment, "later").await["status"],
        "pending"
    );
    let declined = pay_demo(&app, &key, payment, "decline").await;
    assert_eq!(declined["status"], "failed");
    assert!(declined["failure"].as_str().unwrap().contains("declined"));
    assert_eq!(app.balance(&key).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_price_shown_at_checkout_is_the_price_paid_after_a_reprice() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 0).await;
    let package = create_package(&app, &admin, starter()).await;
    let id = package["id"].as_str().unwrap();
    let (_, checkout) = json(
        app.post_as(&key, "/v1/checkout", body!({"package": id}))
            .await,
    )
    .await;
    let response = app
        .client
        .patch(app.url(&format!("/v1/admin/packages/{id}")))
        .bearer_auth(admin.expose())
        .json(&body!({"price": {"amount": "299.00", "currency": "TRY"}, "credits": 10}))
        .send()
        .await
        .unwrap();
    let (status, repriced) = json(response).await;
    assert_eq!(
        (status, repriced["price"]["amount"].as_str()),
        (200, Some("299.00"))
    );
    let payment = checkout["payment"]["id"].as_str().unwrap();
    let paid = pay_demo(&app, &key, payment, "pay").await;
    assert_eq!(
        (paid["amount"].as_str(), paid["credits"].as_i64()),
        (Some("149.90"), Some(550))
    );
    assert_eq!(app.balance(&key).await.0, 550);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_after_spending_leaves_debt_refuses_generations_and_the_next_purchase_pays_it() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 0).await;
    let package = create_package(
        &app,
        &admin,
        body!({"name": "Small", "credits": 100, "price": {"amount": "10.00", "currency": "USD"}}),
    )
    .await;
    let buy = || async {
        let (_, checkout) = json(
            app.post_as(&key, "/v1/checkout", body!({"package": package["id"]}))
                .await,
        )
        .await;
        let id = checkout["payment"]["id"].as_str().unwrap().to_owned();
        pay_demo(&app, &key, &id, "pay").await;
        id
    };
    let first = buy().await;
    let generation = body!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 5});
    let (status, created) = app.submit(&key, generation.clone()).await;
    assert_eq!(status, 202, "{created}");
    let price = created["credits"].as_i64().unwrap();

    let (status, partial) = json(
        app.post_as(
            &admin,
            &format!("/v1/admin/payments/{first}/refund"),
            body!({"amount": "5.00"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, partial["status"].as_str()),
        (200, Some("partially_refunded")),
        "{partial}"
    );
    let (status, refunded) = json(
        app.post_as(
            &admin,
            &format!("/v1/admin/payments/{first}/refund"),
            body!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, refunded["status"].as_str()),
        (200, Some("refunded")),
        "{refunded}"
    );
    assert!(refunded["events"].as_array().unwrap().len() >= 2);

    let (_, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(
        (account["balance"].as_i64(), account["debt"].as_i64()),
        (Some(0), Some(price))
    );
    let (status, refused) = app.submit(&key, generation.clone()).await;
    assert_eq!(status, 402, "{refused}");
    assert_eq!(refused["error"]["code"], "in_debt");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("owes"));

    buy().await;
    let (_, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(
        (account["balance"].as_i64(), account["debt"].as_i64()),
        (Some(100 - price), Some(0))
    );
    // Refunding more than is left is refused by name.
    let (status, error) = json(
        app.post_as(
            &admin,
            &format!("/v1/admin/payments/{first}/refund"),
            body!({"amount": "1.00"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (400, Some("amount"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_checkouts_and_packages_are_refused_by_field_and_cost_nothing() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 0).await;
    let package = create_package(&app, &admin, starter()).await;
    let hidden = create_package(
        &app,
        &admin,
        body!({"name": "Old", "credits": 5, "price": {"amount": "1", "currency": "EUR"}, "active": false}),
    )
    .await;
    let cases = [
        (body!({}), "package"),
        (body!({"package": "pkg_nope"}), "package"),
        (body!({"package": hidden["id"]}), "package"),
        (
            body!({"package": package["id"], "provider": "stripe"}),
            "provider",
        ),
        (
            body!({"package": package["id"], "provider": "paypal"}),
            "provider",
        ),
    ];
    for (request, field) in cases {
        let (status, error) = json(app.post_as(&key, "/v1/checkout", request.clone()).await).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some(field)),
            "{request}: {error}"
        );
    }
    let (_, mine) = json(app.get_as(&key, "/v1/payments").await).await;
    assert_eq!(mine["payments"], body!([]));

    let bad_packages = [
        (
            body!({"credits": 5, "price": {"amount": "1", "currency": "EUR"}}),
            "name",
        ),
        (
            body!({"name": "x", "credits": 0, "price": {"amount": "1", "currency": "EUR"}}),
            "credits",
        ),
        (
            body!({"name": "x", "credits": 5, "price": {"amount": "1.001", "currency": "EUR"}}),
            "price.amount",
        ),
        (
            body!({"name": "x", "credits": 5, "price": {"amount": 1, "currency": "EUR"}}),
            "price.amount",
        ),
        (
            body!({"name": "x", "credits": 5, "price": {"amount": "1", "currency": "XYZ"}}),
            "price.currency",
        ),
        (
            body!({"name": "x", "credits": 5, "bonus_credits": -1, "price": {"amount": "1", "currency": "EUR"}}),
            "bonus_credits",
        ),
        (
            body!({"name": "x", "credits": 5, "price": {"amount": "1", "currency": "EUR"}, "colour": "red"}),
            "colour",
        ),
    ];
    for (request, field) in bad_packages {
        let (status, error) = json(
            app.post_as(&admin, "/v1/admin/packages", request.clone())
                .await,
        )
        .await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some(field)),
            "{request}: {error}"
        );
    }
    let (status, _) = json(app.post_as(&key, "/v1/admin/packages", starter()).await).await;
    assert_eq!(status, 403);
    let (_, all) = json(app.get_as(&admin, "/v1/admin/packages").await).await;
    assert_eq!(all["packages"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_see_only_their_own_payments() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 0).await;
    let (_, bob) = app.customer("bob", 0).await;
    let package = create_package(&app, &admin, starter()).await;
    let (_, checkout) = json(
        app.post_as(&ada, "/v1/checkout", body!({"package": package["id"]}))
            .await,
    )
    .await;
    let payment = checkout["payment"]["id"].as_str().unwrap();
    let (status, _) = json(app.get_as(&bob, &format!("/v1/payments/{payment}")).await).await;
    assert_eq!(status, 404);
    let (status, _) = json(
        app.post_as(
            &bob,
            &format!("/v1/payments/{payment}/demo"),
            body!({"choice": "pay"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(app.balance(&bob).await.0, 0);
    let (_, theirs) = json(app.get_as(&bob, "/v1/payments").await).await;
    assert_eq!(theirs["payments"], body!([]));
}
