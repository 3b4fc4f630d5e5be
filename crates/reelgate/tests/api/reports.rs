//! The operator's margin and reconciliation reports through the HTTP API, against figures
//! worked out by hand.

use crate::helpers::{json, TestApp};
use chrono::{TimeZone, Utc};
use kie_sim::Faults;
use reelgate_store::testing::set_generation_times;
use serde_json::{json, Value};

async fn generate(app: &TestApp, key: &reelgate_domain::accounts::ApiKey, body: Value) -> Value {
    let (status, created) = app.submit(key, body).await;
    assert_eq!(status, 202, "{created}");
    app.settled(key, created["id"].as_str().unwrap()).await
}

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"})
}

async fn date(app: &TestApp, generation: &Value, day: u32, hour: u32) {
    let at = Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap();
    let id = generation["id"].as_str().unwrap().parse().unwrap();
    set_generation_times(&app.store, &id, Some(at), Some(at))
        .await
        .unwrap();
}

/// ada: kling ×2 on 1 Mar (45 cr, $0.275 each), one kling failed on 1 Mar;
/// bob: sora 10 s on 2 Mar (120 cr, $0.75), veo3-fast on 2 Mar (50 cr, $0.30).
async fn fixture(app: &TestApp) {
    let (_, ada) = app.customer("ada", 1000).await;
    let (_, bob) = app.customer("bob", 1000).await;
    for hour in [9, 10] {
        let done = generate(app, &ada, kling()).await;
        assert_eq!(
            (done["status"].as_str(), done["credits"].as_i64()),
            (Some("succeeded"), Some(45))
        );
        date(app, &done, 1, hour).await;
    }
    app.sim.set_faults(Faults {
        failure_ratio: 1.0,
        ..Faults::default()
    });
    let failed = generate(app, &ada, kling()).await;
    assert_eq!(failed["status"], "failed");
    date(app, &failed, 1, 11).await;
    app.sim.set_faults(Faults::default());
    let sora = generate(
        app,
        &bob,
        json!({"model": "sora-2-text-to-video", "prompt": "a fox"}),
    )
    .await;
    assert_eq!(
        (sora["status"].as_str(), sora["credits"].as_i64()),
        (Some("succeeded"), Some(120))
    );
    date(app, &sora, 2, 8).await;
    let veo = generate(app, &bob, json!({"model": "veo3-fast", "prompt": "a fox"})).await;
    assert_eq!(
        (veo["status"].as_str(), veo["credits"].as_i64()),
        (Some("succeeded"), Some(50))
    );
    date(app, &veo, 2, 9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_margin_report_matches_the_hand_computed_figures_as_json_and_csv() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    let (_, admin) = app.admin().await;
    let (status, report) = json(
        app.get_as(
            &admin,
            "/v1/admin/reports/margin?from=2026-03-01&to=2026-03-02",
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["credits_per_usd"], "108");
    assert_eq!(
        report["rows"],
        json!([
            // 90 / 108 = 0.8333…; 0.8333 − 0.55 = 0.2833
            {"day": "2026-03-01", "model": "kling-2.6/text-to-video", "succeeded": 2, "failed": 1,
             "canceled": 0, "credits_charged": 90, "credits_refunded": 45,
             "upstream_cost_usd": "0.55", "revenue_usd": "0.8333", "margin_usd": "0.2833"},
            // 120 / 108 = 1.1111…; − 0.75 = 0.3611
            {"day": "2026-03-02", "model": "sora-2-text-to-video", "succeeded": 1, "failed": 0,
             "canceled": 0, "credits_charged": 120, "credits_refunded": 0,
             "upstream_cost_usd": "0.75", "revenue_usd": "1.1111", "margin_usd": "0.3611"},
            // 50 / 108 = 0.46296…; − 0.30 = 0.163
            {"day": "2026-03-02", "model": "veo3-fast", "succeeded": 1, "failed": 0,
             "canceled": 0, "credits_charged": 50, "credits_refunded": 0,
             "upstream_cost_usd": "0.3", "revenue_usd": "0.463", "margin_usd": "0.163"},
        ])
    );
    // 260 / 108 = 2.407407… → 2.4074; cost 1.60
    assert_eq!(report["totals"]["revenue_usd"], "2.4074");
    assert_eq!(report["totals"]["upstream_cost_usd"], "1.6");
    assert_eq!(report["totals"]["margin_usd"], "0.8074");

    let csv = app
        .get_as(
            &admin,
            "/v1/admin/reports/margin?from=2026-03-01&to=2026-03-02&format=csv",
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(
        csv.text().await.unwrap(),
        "day,model,succeeded,failed,canceled,credits_charged,credits_refunded,upstream_cost_usd,revenue_usd,margin_usd\r\n\
         2026-03-01,kling-2.6/text-to-video,2,1,0,90,45,0.55,0.8333,0.2833\r\n\
         2026-03-02,sora-2-text-to-video,1,0,0,120,0,0.75,1.1111,0.3611\r\n\
         2026-03-02,veo3-fast,1,0,0,50,0,0.3,0.463,0.163\r\n"
    );

    let (_, by_customer) = json(
        app.get_as(
            &admin,
            "/v1/admin/reports/margin?from=2026-03-01&to=2026-03-02&by=customer",
        )
        .await,
    )
    .await;
    let rows: Vec<(String, i64, String)> = by_customer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_owned(),
                r["credits_charged"].as_i64().unwrap(),
                r["margin_usd"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // ada: 90 / 108 → 0.8333 − 0.55; bob: 170 / 108 = 1.574074… → 1.5741 − 1.05
    assert_eq!(
        rows,
        [
            ("ada@example.com".into(), 90, "0.2833".into()),
            ("bob@example.com".into(), 170, "0.5241".into())
        ]
    );
    let (_, one_day) = json(
        app.get_as(
            &admin,
            "/v1/admin/reports/margin?from=2026-03-02&to=2026-03-02&by=day",
        )
        .await,
    )
    .await;
    assert_eq!(one_day["rows"].as_array().unwrap().len(), 1);
    assert_eq!(one_day["rows"][0]["credits_charged"], 170);

    // With one Kie key, every generation's cost is that key's, named by its fingerprint.
    let (_, by_key) = json(
        app.get_as(
            &admin,
            "/v1/admin/reports/margin?from=2026-03-01&to=2026-03-02&by=key",
        )
        .await,
    )
    .await;
    let (_, upstream) = json(app.get_as(&admin, "/v1/admin/upstream").await).await;
    let only_key = upstream["keys"][0]["label"].as_str().unwrap();
    assert_eq!(by_key["by"], "key");
    assert_eq!(by_key["rows"].as_array().unwrap().len(), 1, "{by_key}");
    assert_eq!(by_key["rows"][0]["upstream_key"], only_key);
    assert_eq!(by_key["rows"][0]["upstream_cost_usd"], "1.6");
    assert_eq!(by_key["rows"][0]["succeeded"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_for_operators_and_name_bad_parameters() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer("ada", 0).await;
    let (_, admin) = app.admin().await;
    for path in [
        "/v1/admin/reports/margin",
        "/v1/admin/reports/reconciliation",
        "/v1/admin/upstream",
        "/v1/admin/media",
    ] {
        assert_eq!(app.get_as(&customer, path).await.status(), 403, "{path}");
        assert_eq!(app.get(path).await.status(), 401, "{path}");
    }
    for (query, field) in [
        ("from=2026-03-05&to=2026-03-01", "from"),
        ("to=31/03/2026", "to"),
        ("by=week", "by"),
        ("format=xlsx", "format"),
    ] {
        let (status, body) = json(
            app.get_as(&admin, &format!("/v1/admin/reports/margin?{query}"))
                .await,
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let (status, body) = json(
        app.get_as(&admin, "/v1/admin/reports/reconciliation?format=pdf")
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "format");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_finds_kies_balance_dropped_by_what_reelgate_computed() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 1000).await;
    let check = async || {
        let (status, body) = json(
            app.post_as(&admin, "/v1/admin/upstream/check", json!({}))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body
    };
    let before = check().await;
    assert_eq!(before["simulated"], true);
    assert_eq!(before["balance"]["credits"], "1000000");
    // The simulator charges Kie's price at creation, failed tasks included: kling 55 Kie
    // credits ($0.275) ×2, one of which fails, and sora 150 ($0.75).
    generate(&app, &ada, kling()).await;
    app.sim.set_faults(Faults {
        failure_ratio: 1.0,
        ..Faults::default()
    });
    assert_eq!(generate(&app, &ada, kling()).await["status"], "failed");
    app.sim.set_faults(Faults::default());
    generate(
        &app,
        &ada,
        json!({"model": "sora-2-text-to-video", "prompt": "a fox"}),
    )
    .await;
    let after = check().await;
    assert_eq!(after["balance"]["credits"], "999740");
    let today = Utc::now().date_naive();
    let (status, body) = json(
        app.get_as(
            &admin,
            &format!("/v1/admin/reports/reconciliation?from={today}&to={today}"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["reconciliation"];
    assert_eq!(r["kie_spent_credits"], "260");
    assert_eq!(r["kie_spent_usd"], "1.3");
    assert_eq!(r["generations_sent"], 3);
    assert_eq!(r["reelgate_cost_usd"], "1.3");
    assert_eq!(r["failed_cost_usd"], "0.275");
    assert_eq!(r["difference_usd"], "0");
    assert_eq!(r["kie_topped_up_credits"], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_the_business_routes() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/v1/admin/reports/margin", "get"),
        ("/v1/admin/reports/reconciliation", "get"),
        ("/v1/admin/upstream", "get"),
        ("/v1/admin/upstream/check", "post"),
        ("/v1/admin/media", "get"),
        ("/v1/admin/media/{id}/{index}/retry", "post"),
        ("/v1/generations/{id}/videos", "delete"),
        ("/v1/generations/{id}/videos/{index}", "get"),
        ("/v1/generations/{id}/videos/{index}/thumbnail", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    let row = &doc["components"]["schemas"]["MarginRow"]["properties"];
    for field in [
        "day",
        "model",
        "succeeded",
        "failed",
        "credits_charged",
        "credits_refunded",
        "upstream_cost_usd",
        "revenue_usd",
        "margin_usd",
    ] {
        assert!(row[field].is_object(), "MarginRow.{field} missing: {row}");
    }
}
