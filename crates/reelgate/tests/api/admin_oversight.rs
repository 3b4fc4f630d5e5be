//! The operator's JSON routes for what the operator pages show: the effective price list and
//! every customer's generations, with the pages' filters.

use serde_json::json as body;

use crate::helpers::{json, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_read_the_effective_price_list() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, customer) = app.customer("ada", 0).await;
    let (status, list) = json(app.get_as(&admin, "/v1/admin/prices").await).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["rule"]["credits_per_usd"], "108");
    assert_eq!(list["rule"]["step"], 5);
    // pricing.md: Kling 2.6, 10 s with audio costs 1.10 USD and sells for 180 credits.
    let kling = list["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["model"] == "kling-2.6/text-to-video"
                && p["params"]["duration"] == 10
                && p["params"]["sound"] == true
        })
        .expect("the Kling 10 s with sound row");
    assert_eq!(kling["credits"], 180);
    let cost: rust_decimal::Decimal = kling["upstream_cost_usd"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(cost, "1.10".parse().unwrap());

    let (_, only) = json(app.get_as(&admin, "/v1/admin/prices?model=veo3-fast").await).await;
    let prices = only["prices"].as_array().unwrap();
    assert!(!prices.is_empty());
    assert!(prices.iter().all(|p| p["model"] == "veo3-fast"), "{only}");

    let (status, error) = json(app.get_as(&admin, "/v1/admin/prices?model=veo9").await).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "model");
    let (status, _) = json(app.get_as(&customer, "/v1/admin/prices").await).await;
    assert_eq!(status, 403, "customers do not see upstream costs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_filter_every_customers_generations() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (ada, ada_key) = app.customer("ada", 500).await;
    let (_, bob_key) = app.customer("bob", 500).await;
    let kling = body!({"model": "kling-2.6/text-to-video", "prompt": "a fox"});
    let grok = body!({"model": "grok-imagine/text-to-video", "prompt": "a cat"});
    let (_, a1) = app.submit(&ada_key, kling.clone()).await;
    let (_, a2) = app.submit(&ada_key, grok.clone()).await;
    let (_, b1) = app.submit(&bob_key, kling).await;
    for (key, g) in [(&ada_key, &a1), (&ada_key, &a2), (&bob_key, &b1)] {
        app.settled(key, g["id"].as_str().unwrap()).await;
    }
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["generations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, all) = json(app.get_as(&admin, "/v1/admin/generations").await).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        ids(&all),
        [&b1["id"], &a2["id"], &a1["id"]].map(|v| v.as_str().unwrap().to_owned()),
        "newest first"
    );
    let first = &all["generations"][0];
    assert_eq!(first["email"], "bob@example.com");
    assert!(first["upstream_task_id"].is_string(), "{first}");
    assert_eq!(first["upstream_cost_usd"], "0.275");

    let (_, by_email) = json(
        app.get_as(&admin, "/v1/admin/generations?customer=ada@example.com")
            .await,
    )
    .await;
    assert_eq!(ids(&by_email).len(), 2);
    let (_, by_id_and_model) = json(
        app.get_as(
            &admin,
            &format!(
                "/v1/admin/generations?customer={}&model=grok-imagine/text-to-video",
                ada.id
            ),
        )
        .await,
    )
    .await;
    assert_eq!(ids(&by_id_and_model), [a2["id"].as_str().unwrap()]);
    let (_, succeeded) = json(
        app.get_as(&admin, "/v1/admin/generations?status=succeeded&limit=2")
            .await,
    )
    .await;
    assert_eq!(ids(&succeeded).len(), 2);
    assert!(succeeded["next_cursor"].is_string());

    for (query, field) in [
        ("status=done", "status"),
        ("customer=nobody@example.com", "customer"),
        ("model=nope", "model"),
    ] {
        let (status, error) = json(
            app.get_as(&admin, &format!("/v1/admin/generations?{query}"))
                .await,
        )
        .await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}");
    }
    let (status, _) = json(app.get_as(&ada_key, "/v1/admin/generations").await).await;
    assert_eq!(status, 403);
}
