//! The customer's own account over HTTP: balance, ledger, API keys, webhook secret, vouchers.

use chrono::{Duration, Utc};
use reelgate_domain::accounts::ApiKey;
use reelgate_domain::ledger::{Actor, VoucherCode};
use reelgate_domain::Credits;
use reelgate_store::NewVoucher;
use serde_json::json as body;

use crate::helpers::{json, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_shows_email_balance_and_held_credits() {
    let app = TestApp::spawn().await;
    let (user, key) = app.customer("ada", 100).await;
    let generation = reelgate_domain::generations::GenerationId::new();
    app.store
        .hold(&user.id, &generation, Credits::new(45), "kling")
        .await
        .unwrap();
    let (status, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(status, 200);
    assert_eq!(account["email"], "ada@example.com");
    assert_eq!(account["balance"], 55);
    assert_eq!(account["held"], 45);
    assert_eq!(account["role"], "customer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_pages_through_every_movement_newest_first() {
    let app = TestApp::spawn().await;
    let (user, key) = app.customer("ada", 0).await;
    for n in 1..=5 {
        app.store
            .grant(
                &user.id,
                Credits::new(n),
                &format!("grant {n}"),
                &Actor::Cli,
            )
            .await
            .unwrap();
    }
    let (status, first) = json(app.get_as(&key, "/v1/account/ledger?limit=2").await).await;
    assert_eq!(status, 200);
    assert_eq!(first["balance"], 15);
    let amounts = |page: &serde_json::Value| {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["amount"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(amounts(&first), [5, 4]);
    assert_eq!(first["entries"][0]["kind"], "grant");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = json(
        app.get_as(&key, &format!("/v1/account/ledger?limit=2&cursor={cursor}"))
            .await,
    )
    .await;
    assert_eq!(amounts(&second), [3, 2]);

    let (status, bad) = json(app.get_as(&key, "/v1/account/ledger?cursor=garbage").await).await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["field"], "cursor");
}

/// The history a customer reads: a video is one line with its model, prompt and final cost,
/// not a hold and a charge; the ledger keeps both rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_shows_one_line_per_video_with_what_it_cost() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 100).await;
    let prompt = "a red fox running through fresh snow at dawn, the camera following low \
                  behind it as it leaps over a fallen tree";
    let (status, created) = app
        .submit(
            &key,
            body!({"model": "kling-2.6/text-to-video", "prompt": prompt,
                   "aspect_ratio": "16:9", "duration": 5, "sound": false}),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.settled(&key, id).await["status"], "succeeded");
    let price = created["credits"].as_i64().unwrap();

    let (status, history) = json(app.get_as(&key, "/v1/account/history").await).await;
    assert_eq!(status, 200, "{history}");
    let lines = history["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "the video and the grant: {history}");
    let video = &lines[0];
    assert_eq!(video["kind"], "generation");
    assert_eq!(video["credits"], -price);
    assert_eq!(video["generation"]["id"], id);
    assert_eq!(video["generation"]["status"], "succeeded");
    assert_eq!(video["generation"]["model"], "kling-2.6/text-to-video");
    assert!(
        video["generation"]["model_title"]
            .as_str()
            .unwrap()
            .starts_with("Kling 2.6"),
        "{video}"
    );
    let start = video["generation"]["prompt_start"].as_str().unwrap();
    assert!(
        start.starts_with("a red fox running") && start.ends_with('…'),
        "{start}"
    );
    assert!(start.chars().count() <= 81, "{start}");
    assert_eq!(lines[1]["kind"], "grant");
    assert_eq!(lines[1]["credits"], 100);
    assert_eq!(history["balance"], 100 - price);

    // The raw rows are still there for whoever audits them.
    let (_, ledger) = json(app.get_as(&key, "/v1/account/ledger").await).await;
    let kinds: Vec<_> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["charge", "hold", "grant"]);

    let (status, bad) = json(app.get_as(&key, "/v1/account/history?limit=0").await).await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["field"], "limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_created_once_listed_and_revoked() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 0).await;
    let (status, created) = json(
        app.post_as(&key, "/v1/account/api-keys", body!({"name": "ci"}))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let new_key = ApiKey::parse(created["key"].as_str().unwrap()).unwrap();
    assert_eq!(created["api_key"]["name"], "ci");
    assert_eq!(app.get_as(&new_key, "/v1/account").await.status(), 200);

    let (_, listed) = json(app.get_as(&key, "/v1/account/api-keys").await).await;
    let listed = listed["api_keys"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|k| k.get("key").is_none()),
        "listings never show keys"
    );

    let id = created["api_key"]["id"].as_str().unwrap();
    let revoked = app
        .delete_as(&key, &format!("/v1/account/api-keys/{id}"))
        .await;
    assert_eq!(revoked.status(), 204);
    assert_eq!(app.get_as(&new_key, "/v1/account").await.status(), 401);
    let missing = app
        .delete_as(&key, "/v1/account/api-keys/key_nonsense")
        .await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_customers_key_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let (ada, _) = app.customer("ada", 0).await;
    let (_, bob_key) = app.customer("bob", 0).await;
    let ada_keys = app.store.list_api_keys(&ada.id).await.unwrap();
    let response = app
        .delete_as(
            &bob_key,
            &format!("/v1/account/api-keys/{}", ada_keys[0].id),
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_secret_is_readable_and_rotatable() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 0).await;
    let (_, before) = json(app.get_as(&key, "/v1/account/webhook-secret").await).await;
    let before = before["webhook_secret"].as_str().unwrap().to_owned();
    assert!(before.starts_with("whsec_"));
    let (status, rotated) = json(
        app.post_as(&key, "/v1/account/webhook-secret/rotate", body!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(rotated["webhook_secret"], before.as_str());
    let (_, after) = json(app.get_as(&key, "/v1/account/webhook-secret").await).await;
    assert_eq!(after["webhook_secret"], rotated["webhook_secret"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouchers_redeem_once_with_a_clear_error_for_each_refusal() {
    let app = TestApp::spawn().await;
    let (_, ada) = app.customer("ada", 0).await;
    let (_, bob) = app.customer("bob", 0).await;
    let voucher = |code: &str, max: i64, expires_in: i64| NewVoucher {
        code: Some(VoucherCode::parse(code).unwrap()),
        credits: Credits::new(50),
        max_redemptions: max,
        expires_at: Some(Utc::now() + Duration::minutes(expires_in)),
        created_by: Actor::Cli,
    };
    app.store
        .create_voucher(voucher("ONCE-ONLY", 1, 60))
        .await
        .unwrap();
    app.store
        .create_voucher(voucher("STALE", 5, -1))
        .await
        .unwrap();

    let redeem = |key, code: &str| app.post_as(key, "/v1/vouchers/redeem", body!({"code": code}));
    let (status, redeemed) = json(redeem(&ada, "once-only").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        (redeemed["credits"].as_i64(), redeemed["balance"].as_i64()),
        (Some(50), Some(50))
    );
    assert_eq!(redeemed["entry"]["kind"], "voucher");

    let refusals = [
        (&ada, "ONCE-ONLY", 409, "voucher_already_redeemed"),
        (&bob, "ONCE-ONLY", 409, "voucher_used_up"),
        (&bob, "STALE", 422, "voucher_expired"),
        (&bob, "NO-SUCH-CODE", 404, "not_found"),
        (&bob, "!", 400, "invalid_parameter"),
    ];
    for (key, code, expected_status, expected_code) in refusals {
        let (status, body) = json(redeem(key, code).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (expected_status, Some(expected_code)),
            "{code}"
        );
    }
    let (_, account) = json(app.get_as(&bob, "/v1/account").await).await;
    assert_eq!(account["balance"], 0);
}
