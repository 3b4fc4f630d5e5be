//! The customer's own data over the API: the export holds every row of the account and none of
//! another's; closing the account keeps the ledger whole and locks the ex-customer out.

use reelgate_domain::accounts::{ApiKey, Email, Password};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

use crate::helpers::{json, wait_until, TestApp};

const PASSWORD: &str = "correct horse battery";

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
           "aspect_ratio": "16:9", "duration": 5, "sound": false})
}

/// A customer's life so far: credits from the start and from the operator, a purchase on
/// the demo provider, a video made.
async fn busy_customer(app: &TestApp, admin: &ApiKey, name: &str) -> ApiKey {
    let (user, key) = app.customer(name, 300).await;
    let granted = app
        .post_as(
            admin,
            &format!("/v1/admin/users/{}/grants", user.id),
            json!({"credits": 20, "reason": "welcome"}),
        )
        .await;
    assert_eq!(granted.status(), 201);
    let (status, package) = json(
        app.post_as(
            admin,
            "/v1/admin/packages",
            json!({"name": format!("Pack {name}"), "credits": 100, "bonus_credits": 0,
                   "price": {"amount": "9.90", "currency": "TRY"}, "active": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{package}");
    let (_, checkout) = json(
        app.post_as(
            &key,
            "/v1/checkout",
            json!({"package": package["id"], "provider": "demo"}),
        )
        .await,
    )
    .await;
    let payment = checkout["payment"]["id"].as_str().unwrap();
    let paid = app
        .post_as(
            &key,
            &format!("/v1/payments/{payment}/demo"),
            json!({"choice": "pay"}),
        )
        .await;
    assert_eq!(paid.status(), 200);
    let (_, made) = app.submit(&key, kling()).await;
    app.settled(&key, made["id"].as_str().unwrap()).await;
    key
}

async fn all_ids(app: &TestApp, key: &ApiKey, path: &str, list: &str) -> BTreeSet<String> {
    let (status, page) = json(app.get_as(key, &format!("{path}?limit=200")).await).await;
    assert_eq!(status, 200, "{page}");
    assert!(page["next_cursor"].is_null(), "more than one page: {page}");
    page[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].to_string())
        .collect()
}

fn ids(export: &Value, list: &str) -> BTreeSet<String> {
    export[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_holds_every_row_of_the_account_and_nothing_of_another() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let ada = busy_customer(&app, &admin, "ada").await;
    let bob = busy_customer(&app, &admin, "bob").await;

    let response = app.get_as(&ada, "/v1/account/export").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let (_, export) = json(response).await;
    assert_eq!(export["account"]["email"], "ada@example.com");

    for (path, list, export_list) in [
        ("/v1/account/ledger", "entries", "ledger"),
        ("/v1/generations", "generations", "generations"),
        ("/v1/payments", "payments", "payments"),
    ] {
        let hers = all_ids(&app, &ada, path, list).await;
        let his = all_ids(&app, &bob, path, list).await;
        assert!(!hers.is_empty(), "{path}");
        assert_eq!(ids(&export, export_list), hers, "{path}");
        assert!(hers.is_disjoint(&his), "{path}");
    }
    assert_eq!(export["api_keys"].as_array().unwrap().len(), 1);
    // Her mail (the note of her grant) is listed, without anything secret.
    assert!(export["mail"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["template"] == "credits_added"));
    let text = export.to_string();
    assert!(!text.contains("bob@"), "{text}");
    assert!(!text.contains(ada.expose()), "the export holds no key");
}

async fn close(app: &TestApp, key: &ApiKey, password: &str, forfeit: i64) -> (u16, Value) {
    json(
        app.post_as(
            key,
            "/v1/account/close",
            json!({"password": password, "forfeit_credits": forfeit}),
        )
        .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_account_keeps_its_ledger_whole_and_its_owner_out() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.admin().await;
    let ada = busy_customer(&app, &admin, "ada").await;
    let (_, account) = json(app.get_as(&ada, "/v1/account").await).await;
    let user_id = account["id"].as_str().unwrap().to_owned();
    let balance = account["balance"].as_i64().unwrap();
    assert!(balance > 0);
    let (_, generations) = json(app.get_as(&ada, "/v1/generations").await).await;
    let generation = generations["generations"][0].clone();
    let price = generation["credits"].as_i64().unwrap();
    let session = app
        .store
        .create_session(
            &reelgate_domain::accounts::UserId::parse(&user_id).unwrap(),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    wait_until("the video copied", async || {
        files_under(&app.media_dir()) > 0
    })
    .await;

    // The credits given up must be the ones shown.
    let (status, body) = close(&app, &ada, PASSWORD, balance - 1).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "forfeit_credits");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("{balance} unspent credits")));
    let (status, body) = close(&app, &ada, "not the password", balance).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "password");

    let (status, body) = close(&app, &ada, PASSWORD, balance).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"closed": true, "forfeited_credits": balance}));

    // Out: the key, the session and the password.
    assert_eq!(app.get_as(&ada, "/v1/account").await.status(), 401);
    assert_eq!(app.store.session_user(&session).await.unwrap(), None);
    let email = Email::parse("ada@example.com").unwrap();
    let password = Password::parse(PASSWORD).unwrap();
    assert!(app.store.authenticate(&email, &password).await.is_err());

    // The operator still has the financial record, tied to no address.
    let (_, users) = json(app.get_as(&admin, "/v1/admin/users?limit=200").await).await;
    let shown = users.to_string();
    assert!(shown.contains(&user_id), "{shown}");
    assert!(!shown.contains("ada@example.com"), "{shown}");
    let id = reelgate_domain::accounts::UserId::parse(&user_id).unwrap();
    let export = app.store.export_account(&id).await.unwrap();
    let sum: i64 = export.ledger.iter().map(|e| e.amount.get()).sum();
    assert_eq!(sum, 0, "every credit in is matched by one out");
    assert_eq!(export.user.balance.get(), 0);
    let of_generation: i64 = export
        .ledger
        .iter()
        .filter(|e| {
            e.generation_id.as_ref().map(|g| g.to_string())
                == generation["id"].as_str().map(str::to_owned)
        })
        .map(|e| e.amount.get())
        .sum();
    assert_eq!(of_generation, -price);
    assert_eq!(export.payments.len(), 1);
    assert!(export
        .ledger
        .iter()
        .any(|e| e.kind.to_string() == "adjustment" && e.amount.get() == -balance));
    // What she asked for is erased, and the videos are gone from storage.
    assert!(export.generations.iter().all(|g| g.params.is_empty()));
    wait_until("the video files removed", async || {
        files_under(&app.media_dir()) == 0
    })
    .await;
}

/// Files (not folders) anywhere under `dir`.
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => files_under(&e.path()),
                Ok(_) => 1,
                Err(_) => 0,
            })
            .sum()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_with_a_video_in_the_making_is_not_closed_and_nothing_moves() {
    let mut sim = kie_sim::SimConfig::for_tests();
    sim.durations.kling = Duration::from_secs(60);
    let app = TestApp::spawn_with_sim(reelgate::config::Settings::default(), sim).await;
    let (_, key) = app.customer("ada", 300).await;
    let (status, made) = app.submit(&key, kling()).await;
    assert_eq!(status, 202, "{made}");
    let (balance, held) = app.balance(&key).await;
    assert!(held > 0);

    let (status, body) = close(&app, &key, PASSWORD, balance).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "account_busy");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("{held} credits are held")));
    // Still open, still whole.
    assert_eq!(app.balance(&key).await, (balance, held));
    let (_, account) = json(app.get_as(&key, "/v1/account").await).await;
    assert_eq!(account["email"], "ada@example.com");
}
