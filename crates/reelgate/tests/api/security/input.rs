//! Loose input is refused by name and costs nothing: wrong types, unknown fields (null or
//! not), control characters, unbounded text, vouchers that could never be redeemed.

use crate::helpers::{json, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

/// Every JSON body refuses a field it does not take, `null` or not, by name: a typo such as
/// `reson` must not pass as "no reason given".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_refuses_an_unknown_field_by_name() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (customer, key) = app.customer("ada", 50).await;
    let user = customer.id.to_string();
    let cases = [
        (
            &key,
            "/v1/account/api-keys",
            json!({"name": "ci", "foo": null}),
        ),
        (
            &key,
            "/v1/vouchers/redeem",
            json!({"code": "ABCD-EFGH", "foo": null}),
        ),
        (
            &key,
            "/v1/checkout",
            json!({"package": "pkg_x", "foo": null}),
        ),
        (
            &key,
            "/v1/payments/pay_x/demo",
            json!({"choice": "pay", "foo": null}),
        ),
        (
            &key,
            "/v1/auth/password-reset",
            json!({"email": "a@b.example", "foo": null}),
        ),
        (
            &key,
            "/v1/auth/password-reset/confirm",
            json!({"token": "rgt_x", "password": "long enough pw", "foo": null}),
        ),
        (
            &admin,
            &format!("/v1/admin/users/{user}/grants"),
            json!({"credits": 5, "foo": null}),
        ),
        (
            &admin,
            "/v1/admin/vouchers",
            json!({"credits": 5, "foo": null}),
        ),
        (
            &admin,
            "/v1/admin/payments/pay_x/refund",
            json!({"foo": null}),
        ),
        (
            &admin,
            "/v1/admin/packages",
            json!({"name": "S", "credits": 5, "price": {"amount": "1.00", "currency": "TRY"}, "foo": null}),
        ),
    ];
    for (caller, path, body) in cases {
        let (status, answer) = json(app.post_as(caller, path, body.clone()).await).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["field"], "foo", "{path}: {answer}");
        assert_eq!(
            answer["error"]["code"], "unknown_parameter",
            "{path}: {answer}"
        );
    }
    // Inside a package's price too.
    let (status, answer) = json(
        app.post_as(
            &admin,
            "/v1/admin/packages",
            json!({"name": "S", "credits": 5, "price": {"amount": "1.00", "currency": "TRY", "vat": null}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("price.vat")),
        "{answer}"
    );
    let (status, answer) = json(
        app.client
            .put(app.url(&format!("/v1/admin/users/{user}/limits")))
            .bearer_auth(admin.expose())
            .json(&json!({"max_active": 2, "foo": null}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("foo")),
        "{answer}"
    );
    assert_eq!(app.balance(&key).await, (50, 0));
}

/// A body's wrong type is said in words about the field: `{"credits": 1.5}` is not "invalid
/// type: floating point", it is "credits must be a whole number".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_type_names_the_field_and_says_what_it_must_be() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (customer, key) = app.customer("ada", 50).await;
    let grants = format!("/v1/admin/users/{}/grants", customer.id);
    for (body, field, says) in [
        (
            json!({"credits": 1.5}),
            "credits",
            "credits must be a whole number",
        ),
        (
            json!({"credits": "5"}),
            "credits",
            "credits must be a whole number",
        ),
        (json!({"reason": "x"}), "credits", "credits is required"),
        (
            json!({"credits": 5, "reason": 7}),
            "reason",
            "reason must be a string",
        ),
    ] {
        let (status, answer) = json(app.post_as(&admin, &grants, body.clone()).await).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(says), "{body}: {message}");
    }
    // A query parameter is named alike.
    let (status, answer) = json(app.get_as(&key, "/v1/generations?limit=many").await).await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("limit")),
        "{answer}"
    );
    assert_eq!(app.balance(&key).await, (50, 0));
}

/// reelgate's `duration` is a number; a string of digits is Kie's spelling of Sora's
/// `n_frames` only, accepted under that name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_sent_as_a_string_is_refused_except_in_kies_own_spelling() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1000).await;
    for body in [
        json!({"model": "kling-2.6/text-to-video", "prompt": "a fox", "duration": "5"}),
        json!({"model": "grok-imagine/text-to-video", "prompt": "a fox", "duration": "6"}),
        json!({"model": "sora-2-text-to-video", "prompt": "a fox", "duration": "10"}),
    ] {
        let (status, answer) = app.submit(&key, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], "duration", "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("must be a number") || message.contains("whole number"),
            "{message}"
        );
    }
    assert_eq!(app.balance(&key).await, (1000, 0));
    let (status, answer) = app
        .submit(
            &key,
            json!({"model": "sora-2-text-to-video", "prompt": "a fox", "n_frames": "10"}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["params"]["duration"], 10, "{answer}");
}

/// Every free-text field is bounded and refuses control characters, by name, at no cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_field_is_bounded_and_free_of_control_characters() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (customer, key) = app.customer("ada", 1000).await;
    let user = customer.id.to_string();
    let huge = "x".repeat(100_000);
    let long_url = format!("https://example.com/{}", "a".repeat(3000));
    let fox = |extra: serde_json::Value| {
        let mut body = json!({"model": "kling-2.6/image-to-video", "prompt": "a fox",
            "image_urls": ["https://img.example/a.png"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            &key,
            "/v1/checkout".to_owned(),
            json!({"package": huge}),
            "package",
        ),
        (
            &key,
            "/v1/checkout".to_owned(),
            json!({"provider": "demo\u{0}"}),
            "provider",
        ),
        (
            &key,
            "/v1/payments/pay_x/demo".to_owned(),
            json!({"choice": huge}),
            "choice",
        ),
        (
            &key,
            "/v1/vouchers/redeem".to_owned(),
            json!({"code": huge}),
            "code",
        ),
        (
            &key,
            "/v1/auth/password-reset/confirm".to_owned(),
            json!({"token": huge, "password": "long enough pw"}),
            "token",
        ),
        (
            &key,
            "/v1/generations".to_owned(),
            fox(json!({"webhook_url": long_url})),
            "webhook_url",
        ),
        (
            &key,
            "/v1/generations".to_owned(),
            fox(json!({"webhook_url": "https://hooks.example/\tx"})),
            "webhook_url",
        ),
        (
            &key,
            "/v1/generations".to_owned(),
            fox(json!({"image_urls": [long_url]})),
            "image_urls",
        ),
        (
            &key,
            "/v1/generations".to_owned(),
            fox(json!({"image_urls": ["https://img.example/a\n.png"]})),
            "image_urls",
        ),
        (
            &key,
            "/v1/generations".to_owned(),
            fox(json!({"prompt": huge})),
            "prompt",
        ),
        (
            &key,
            "/v1/generations".to_owned(),
            fox(json!({"prompt": "a\u{1b}[2Jfox"})),
            "prompt",
        ),
        (
            &admin,
            format!("/v1/admin/users/{user}/grants"),
            json!({"credits": 5, "reason": huge}),
            "reason",
        ),
        (
            &admin,
            "/v1/admin/vouchers".to_owned(),
            json!({"credits": 5, "code": huge}),
            "code",
        ),
        (
            &admin,
            "/v1/admin/payments/pay_x/refund".to_owned(),
            json!({"amount": huge}),
            "amount",
        ),
        (
            &admin,
            "/v1/admin/packages".to_owned(),
            json!({"name": huge, "credits": 5, "price": {"amount": "1.00", "currency": "TRY"}}),
            "name",
        ),
        (
            &admin,
            "/v1/admin/packages".to_owned(),
            json!({"name": "S", "credits": 5, "price": {"amount": "1.00", "currency": huge}}),
            "price.currency",
        ),
    ];
    for (caller, path, body, field) in cases {
        let (status, answer) = json(app.post_as(caller, &path, body).await).await;
        assert_eq!(status, 400, "{path} {field}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(field),
            "{path}: the message does not name {field}: {message}"
        );
        // The refusal does not echo the megabyte back.
        assert!(
            answer.to_string().len() < 2_000,
            "{path}: {} bytes",
            answer.to_string().len()
        );
    }
    // A URI is bounded by hyper (64 KiB); within that, each parameter by its own bound.
    let long = "q".repeat(1000);
    for (path, field) in [
        (format!("/v1/admin/users?q={long}"), "q"),
        (format!("/v1/generations?cursor={long}"), "cursor"),
        ("/v1/admin/generations?model=a%00b".to_owned(), "model"),
    ] {
        let (status, answer) = json(app.get_as(&admin, &path).await).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (400, Some(field)),
            "{answer}"
        );
    }
    assert_eq!(app.balance(&key).await, (1000, 0));
}
