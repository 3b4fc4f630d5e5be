//! The operator's cash report against what was done: real purchases on the demo provider in
//! two currencies, a partial refund, a generation charged, a grant; then the report's money,
//! credits and unspent credits checked, as JSON and as CSV.

use serde_json::{json as body, Value};

use crate::helpers::{json, TestApp};

async fn package(
    app: &TestApp,
    admin: &reelgate_domain::accounts::ApiKey,
    package: Value,
) -> String {
    let (status, created) = json(app.post_as(admin, "/v1/admin/packages", package).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn buy(app: &TestApp, key: &reelgate_domain::accounts::ApiKey, package: &str) -> String {
    let (status, checkout) = json(
        app.post_as(key, "/v1/checkout", body!({"package": package}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{checkout}");
    let id = checkout["payment"]["id"].as_str().unwrap().to_owned();
    let (status, paid) = json(
        app.post_as(
            key,
            &format!("/v1/payments/{id}/demo"),
            body!({"choice": "pay"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, paid["status"].as_str()),
        (200, Some("paid")),
        "{paid}"
    );
    id
}

/// Balance plus held credits: what the customer can still spend.
async fn unspent(app: &TestApp, key: &reelgate_domain::accounts::ApiKey) -> i64 {
    let (balance, held) = app.balance(key).await;
    balance + held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cash_report_matches_purchases_refunds_and_generations() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 0).await;
    let (_, bob) = app.customer("bob", 40).await;
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
    let first = buy(&app, &ada, &starter).await;
    buy(&app, &ada, &starter).await;
    buy(&app, &ada, &small).await;
    // Opened but never paid: no money, no credits.
    let (status, _) = json(
        app.post_as(&ada, "/v1/checkout", body!({"package": small}))
            .await,
    )
    .await;
    assert_eq!(status, 201);

    let (status, created) = app
        .submit(
            &ada,
            body!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": 5}),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let price = created["credits"].as_i64().unwrap();
    let done = app.settled(&ada, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // Half of one Starter: 275 of its 550 credits go back.
    let (status, refunded) = json(
        app.post_as(
            &admin,
            &format!("/v1/admin/payments/{first}/refund"),
            body!({"amount": "74.95"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(unspent(&app, &ada).await, 1200 - price - 275);

    // Today and tomorrow, so that a run across midnight (UTC) still sees everything.
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let path = format!("/v1/admin/reports/cash?from={today}&to={tomorrow}");
    let (status, report) = json(app.get_as(&admin, &path).await).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["opening_unspent_credits"], 0);
    let totals = report["totals"].as_array().unwrap();
    assert_eq!(
        totals[0],
        body!({"currency": "TRY", "payments": 2, "cash_received": "299.80",
               "cash_refunded": "74.95", "cash_charged_back": "0.00", "cash_net": "224.85",
               "credits_sold": 1100})
    );
    assert_eq!(
        totals[1],
        body!({"currency": "USD", "payments": 1, "cash_received": "10.00",
               "cash_refunded": "0.00", "cash_charged_back": "0.00", "cash_net": "10.00",
               "credits_sold": 100})
    );
    assert_eq!(totals.len(), 2);
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    let sum = |field: &str| days.iter().map(|d| d[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("credits_sold"), 1200);
    assert_eq!(sum("credits_granted"), 40);
    assert_eq!(sum("credits_consumed"), price);
    assert_eq!(sum("credits_taken_back"), 275);
    let last = days.last().unwrap();
    // The liability: every account's balance plus held credits, as the accounts show them.
    assert_eq!(
        last["unspent_credits"],
        unspent(&app, &ada).await + unspent(&app, &bob).await
    );
    assert_eq!(last["debt_outstanding"], 0);

    let response = app.get_as(&admin, &format!("{path}&format=csv")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "day,currency,payments,cash_received,cash_refunded,cash_charged_back,cash_net,\
         credits_sold,credits_granted,credits_consumed,credits_taken_back,unspent_credits,\
         debt_outstanding"
    );
    let money_lines: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(",TRY,") || l.contains(",USD,"))
        .collect();
    let all_lines: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(",all,"))
        .collect();
    assert_eq!(all_lines.len(), 2, "{csv}");
    if days[0]["currencies"].as_array().unwrap().len() == 2 {
        // Everything happened on one day (the usual run).
        assert!(
            money_lines
                .contains(&format!("{today},TRY,2,299.80,74.95,0.00,224.85,1100,,,,,").as_str()),
            "{csv}"
        );
        assert!(
            money_lines.contains(&format!("{today},USD,1,10.00,0.00,0.00,10.00,100,,,,,").as_str()),
            "{csv}"
        );
        let unspent_now = last["unspent_credits"].as_i64().unwrap();
        assert_eq!(
            all_lines[0],
            format!("{today},all,,,,,,1200,40,{price},275,{unspent_now},0")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cash_report_is_for_operators_and_names_bad_fields() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 0).await;
    let (status, _) = json(app.get_as(&ada, "/v1/admin/reports/cash").await).await;
    assert_eq!(status, 403);
    for (query, field) in [
        ("from=yesterday", "from"),
        ("from=2026-03-02&to=2026-03-01", "from"),
        ("format=xml", "format"),
    ] {
        let (status, error) = json(
            app.get_as(&admin, &format!("/v1/admin/reports/cash?{query}"))
                .await,
        )
        .await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some(field)),
            "{query}: {error}"
        );
    }
    // Thirty days by default, each with its line, nothing sold.
    let (status, report) = json(app.get_as(&admin, "/v1/admin/reports/cash").await).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["days"].as_array().unwrap().len(), 30);
    assert_eq!(report["totals"], body!([]));
}
