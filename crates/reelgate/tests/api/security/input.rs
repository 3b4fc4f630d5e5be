//! Loose input is refused by name and costs nothing: wrong types, unknown fields (null or
//! not), control characters, unbounded text, vouchers that could never be redeemed.

use crate::helpers::{json, TestApp};
use serde_json::json;

#[tokio::test]
async fn operator_bodies_name_the_field_they_refuse() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (customer, key) = app.customer("ada", 50).await;
    let grants = format!("/v1/admin/users/{}/grants", customer.id);
    let long = "r".repeat(100_000);
    for (body, field) in [
        (json!({"credits": 1.5}), "credits"),
        (json!({"credits": "5"}), "credits"),
        (json!({"reason": "no amount"}), "credits"),
        (json!({"credits": 5, "foo": 1}), "foo"),
        (json!({"credits": 5, "reason": long}), "reason"),
        (json!({"credits": 5, "reason": "a\u{0}b"}), "reason"),
    ] {
        let (status, answer) = json(app.post_as(&admin, &grants, body.clone()).await).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let vouchers = [
        (
            json!({"credits": 5, "expires_at": "2020-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"credits": 5, "max_uses": 3}), "max_uses"),
    ];
    for (body, field) in vouchers {
        let (status, answer) = json(
            app.post_as(&admin, "/v1/admin/vouchers", body.clone())
                .await,
        )
        .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    assert_eq!(app.balance(&key).await, (50, 0));
}

#[tokio::test]
async fn key_names_are_bounded_and_free_of_control_characters() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 0).await;
    for name in [
        "n".repeat(100_000),
        "ci\u{0}".to_owned(),
        "\u{1b}[2J".to_owned(),
    ] {
        let (status, answer) = json(
            app.post_as(&key, "/v1/account/api-keys", json!({ "name": name }))
                .await,
        )
        .await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (400, Some("name")),
            "{answer}"
        );
    }
    let (status, _) = json(
        app.post_as(&key, "/v1/account/api-keys", json!({"name": "ci"}))
            .await,
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn generation_requests_refuse_unknown_nulls_and_control_characters() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1000).await;
    for (body, field) in [
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "foo": null}),
            "foo",
        ),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox\u{0}"}),
            "prompt",
        ),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "negative_prompt": "\u{7}"}),
            "negative_prompt",
        ),
    ] {
        let (status, answer) = app.submit(&key, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    // Line breaks are text; they pass.
    let (status, answer) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox\nin snow"}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    let price = answer["credits"].as_i64().unwrap();
    assert_eq!(app.balance(&key).await, (1000 - price, price));
}
