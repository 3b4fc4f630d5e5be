//! Operator routes over HTTP, and the admin CLI working next to a running server.

use reelgate_domain::accounts::ApiKey;
use serde_json::json as body;

use crate::helpers::{json, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_find_customers_by_email_page_by_page() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    for name in ["ann", "anna", "bob"] {
        app.customer(name, 0).await;
    }
    let (status, found) = json(app.get_as(&admin, "/v1/admin/users?q=ann").await).await;
    assert_eq!(status, 200);
    let mut emails: Vec<_> = found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ann@example.com", "anna@example.com"]);

    let (_, first) = json(app.get_as(&admin, "/v1/admin/users?limit=3").await).await;
    assert_eq!(first["users"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = json(
        app.get_as(&admin, &format!("/v1/admin/users?limit=3&cursor={cursor}"))
            .await,
    )
    .await;
    assert_eq!(rest["users"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_add_credits_and_negative_grants_adjust_but_never_below_zero() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (user, key) = app.customer("ada", 0).await;
    let grants = format!("/v1/admin/users/{}/grants", user.id);

    let (status, granted) = json(
        app.post_as(
            &admin,
            &grants,
            body!({"credits": 100, "reason": "launch promo"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            granted["entry"]["kind"].as_str(),
            granted["balance"].as_i64()
        ),
        (Some("grant"), Some(100))
    );
    assert_eq!(granted["entry"]["reason"], "launch promo");

    let (status, adjusted) =
        json(app.post_as(&admin, &grants, body!({"credits": -30})).await).await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            adjusted["entry"]["kind"].as_str(),
            adjusted["balance"].as_i64()
        ),
        (Some("adjustment"), Some(70))
    );

    let (status, refused) = json(app.post_as(&admin, &grants, body!({"credits": -71})).await).await;
    assert_eq!(
        (
            status,
            refused["error"]["code"].as_str(),
            refused["error"]["field"].as_str()
        ),
        (400, Some("adjustment_exceeds_balance"), Some("credits"))
    );
    // What the operator should do instead.
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("at most -70"), "{message}");
    let (status, zero) = json(app.post_as(&admin, &grants, body!({"credits": 0})).await).await;
    assert_eq!(
        (status, zero["error"]["field"].as_str()),
        (400, Some("credits"))
    );
    let nobody = app
        .post_as(
            &admin,
            "/v1/admin/users/usr_01jd3xk2v8m4q9r7s6t5w4y3z2/grants",
            body!({"credits": 5}),
        )
        .await;
    assert_eq!(nobody.status(), 404);

    let (_, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(account["balance"], 70);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_customer_is_locked_out_at_once() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (user, key) = app.customer("ada", 0).await;
    let (status, disabled) = json(
        app.post_as(
            &admin,
            &format!("/v1/admin/users/{}/disable", user.id),
            body!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(disabled["disabled"], true);
    assert_eq!(app.get_as(&key, "/v1/account").await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_create_vouchers_and_see_who_redeemed_them() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 0).await;
    let (status, created) = json(
        app.post_as(
            &admin,
            "/v1/admin/vouchers",
            body!({"credits": 25, "max_redemptions": 10}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let code = created["code"].as_str().unwrap().to_owned();
    assert_eq!(created["redemptions"], 0);

    let (status, _) = json(
        app.post_as(&ada, "/v1/vouchers/redeem", body!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, again) = json(
        app.post_as(
            &admin,
            "/v1/admin/vouchers",
            body!({"code": code, "credits": 5}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("voucher_code_taken"))
    );

    let (_, listed) = json(app.get_as(&admin, "/v1/admin/vouchers").await).await;
    let voucher = &listed["vouchers"][0];
    assert_eq!(voucher["code"], code.as_str());
    assert_eq!(voucher["redemptions"], 1);
    assert_eq!(voucher["redeemed_by"][0]["email"], "ada@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_the_account_and_admin_routes() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/v1/account", "get"),
        ("/v1/account/ledger", "get"),
        ("/v1/account/api-keys", "post"),
        ("/v1/account/api-keys/{id}", "delete"),
        ("/v1/account/webhook-secret/rotate", "post"),
        ("/v1/vouchers/redeem", "post"),
        ("/v1/admin/users", "get"),
        ("/v1/admin/users/{id}/grants", "post"),
        ("/v1/admin/users/{id}/disable", "post"),
        ("/v1/admin/vouchers", "get"),
        ("/v1/admin/vouchers", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
}

/// product.md: admin commands act on the same database as `serve` and work while it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_cli_works_while_the_server_is_busy() {
    let app = TestApp::spawn().await;
    let (_, busy_key) = app.customer("busy", 0).await;
    let database_url = app.database.url.clone();
    // On PostgreSQL the CLI keeps its data directory under the working one.
    let working_dir = app._data_dir.path().to_owned();
    let cli = move |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_reelgate"))
            .args(args)
            .current_dir(&working_dir)
            .env("REELGATE_DATABASE_URL", &database_url)
            .env_remove("REELGATE_KIE_API_KEY")
            .output()
            .expect("reelgate runs");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };

    // Keep the server writing (key use, secret rotation) while the CLI writes too.
    let traffic = {
        let client = app.client.clone();
        let url = app.url("/v1/account/webhook-secret/rotate");
        let key = busy_key.expose().to_owned();
        tokio::spawn(async move {
            for _ in 0..40 {
                let response = client.post(&url).bearer_auth(&key).send().await.unwrap();
                assert_eq!(response.status(), 200);
            }
        })
    };
    let cli_work = tokio::task::spawn_blocking(move || {
        cli(&[
            "admin",
            "create-user",
            "--email",
            "cli@example.com",
            "--password",
            "correct horse battery",
        ]);
        let granted = cli(&[
            "admin",
            "grant",
            "--email",
            "cli@example.com",
            "--credits",
            "120",
            "--reason",
            "welcome",
        ]);
        let made = cli(&[
            "admin",
            "create-api-key",
            "--email",
            "cli@example.com",
            "--name",
            "script",
        ]);
        (granted, made)
    });
    let (granted, made) = cli_work.await.unwrap();
    traffic.await.unwrap();
    assert!(granted.contains("balance now 120"), "{granted}");

    let key = ApiKey::parse(made.lines().last().unwrap()).unwrap();
    let (status, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(status, 200);
    assert_eq!(account["email"], "cli@example.com");
    assert_eq!(account["balance"], 120);
}
