//! Kie keys the operator adds through `/v1/admin/upstream/keys`, against a simulator that
//! holds one account per key: a key is checked with Kie before it is stored, listed by its
//! fingerprint and never shown back, used by dispatch at once, and once disabled takes no new
//! work while what it created is still read with it; it can be deleted only when that is
//! settled. Keys from configuration cannot be changed here.

use reelgate::config::Settings;
use reelgate_domain::accounts::ApiKey;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

use crate::helpers::{json, wait_until, SuiteDatabase, TestApp};

const CONFIGURED: &str = "kie-configured-key-0001";
const ADDED: &str = "kie-added-key-0002-secret";
const WRONG: &str = "kie-revoked-key-0003";

/// The app on the one configured key, each key an account of its own in the simulator. Kling
/// tasks take `kling`; no callbacks, so only status reads (with the right key) finish them.
async fn app_on_one_key(kling: Duration, settings: Settings) -> (TestApp, kie_sim::RunningSim) {
    let running = kie_sim::spawn(
        kie_sim::SimConfig {
            key_balances: vec![
                (CONFIGURED.to_owned(), Decimal::from(1_000_000)),
                (ADDED.to_owned(), Decimal::from(2_000_000)),
            ],
            durations: kie_sim::Durations {
                kling,
                ..kie_sim::Durations::zero()
            },
            faults: kie_sim::Faults {
                drop_callback_ratio: 1.0,
                ..kie_sim::Faults::default()
            },
            ..kie_sim::SimConfig::for_tests()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    running.sim.revoke_key(WRONG);
    let settings = settings
        .with("REELGATE_KIE_API_KEY", CONFIGURED)
        .with("REELGATE_BALANCE_WARN_CREDITS", "0")
        .with("REELGATE_BALANCE_STOP_CREDITS", "0");
    let app = TestApp::on_simulator(&running, settings, |config| {
        config.lifecycle.poll.min_interval = Duration::from_millis(50);
        config.lifecycle.poll.max_interval = Duration::from_millis(300);
    })
    .await;
    (app, running)
}

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow"})
}

/// Adds `key` as `name` through the admin API.
async fn add(app: &TestApp, admin: &ApiKey, name: &str, key: &str) -> (u16, Value) {
    let body = json!({"name": name, "key": key});
    json(app.post_as(admin, "/v1/admin/upstream/keys", body).await).await
}

/// Adds the second account's key; its id.
async fn add_second(app: &TestApp, admin: &ApiKey) -> String {
    let (status, added) = add(app, admin, "second account", ADDED).await;
    assert_eq!(status, 201, "{added}");
    added["id"].as_str().unwrap().to_owned()
}

async fn keys(app: &TestApp, admin: &ApiKey) -> Vec<Value> {
    let (status, body) = json(app.get_as(admin, "/v1/admin/upstream/keys").await).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains(ADDED), "{body}");
    body["keys"].as_array().expect("keys").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_key_is_checked_with_kie_listed_by_fingerprint_and_never_shown() {
    let (app, _sim) = app_on_one_key(Duration::ZERO, Settings::default()).await;
    let (_, admin) = app.admin().await;
    let listed = keys(&app, &admin).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["source"], "configuration");
    assert_eq!(listed[0]["state"], "active");
    let configured = listed[0]["label"].as_str().unwrap().to_owned();

    // A key Kie refuses: the field is named, nothing is stored.
    let (status, body) = add(&app, &admin, "old", WRONG).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "key", "{body}");
    assert_eq!(body["error"]["code"], "invalid_key", "{body}");
    assert!(!body.to_string().contains(WRONG), "{body}");
    let (status, body) = add(&app, &admin, " ", ADDED).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "name", "{body}");
    assert_eq!(keys(&app, &admin).await.len(), 1, "nothing stored");

    let (status, added) = add(&app, &admin, "second account", ADDED).await;
    assert_eq!(status, 201, "{added}");
    assert!(!added.to_string().contains(ADDED), "{added}");
    assert_eq!(added["source"], "operator");
    assert_eq!(added["name"], "second account");
    assert_eq!(added["state"], "active");
    assert_eq!(
        added["balance_credits"], "2000000",
        "read when it was checked"
    );
    let label = added["label"].as_str().unwrap();
    assert!(label.starts_with("kie-") && label.len() == 12, "{label}");
    let listed = keys(&app, &admin).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[1]["id"], added["id"]);

    // The same key twice, and the configured key: both refused, clearly.
    let (status, body) = add(&app, &admin, "again", ADDED).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "key_exists", "{body}");
    assert_eq!(add(&app, &admin, "again", CONFIGURED).await.0, 409);
    for path in [
        format!("/v1/admin/upstream/keys/{configured}/disable"),
        format!("/v1/admin/upstream/keys/{configured}/enable"),
    ] {
        let (status, body) = json(app.post_as(&admin, &path, json!({})).await).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"]["code"], "key_from_configuration", "{body}");
    }
    let response = app
        .delete_as(&admin, &format!("/v1/admin/upstream/keys/{configured}"))
        .await;
    assert_eq!(response.status(), 409);
    let response = app
        .delete_as(&admin, "/v1/admin/upstream/keys/upk_no_such_key")
        .await;
    assert_eq!(response.status(), 404);

    // The upstream's own view lists both, never a key; a customer sees none of it.
    let (status, upstream) = json(app.get_as(&admin, "/v1/admin/upstream").await).await;
    assert_eq!(status, 200, "{upstream}");
    assert_eq!(upstream["keys"].as_array().unwrap().len(), 2, "{upstream}");
    assert!(!upstream.to_string().contains(ADDED), "{upstream}");
    let (_, customer) = app.customer("ada", 100).await;
    let response = app.get_as(&customer, "/v1/admin/upstream/keys").await;
    assert_eq!(response.status(), 403);

    // Nothing unsettled: it can be deleted, and the list is as it was.
    let id = added["id"].as_str().unwrap();
    let response = app
        .delete_as(&admin, &format!("/v1/admin/upstream/keys/{id}"))
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(keys(&app, &admin).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_uses_an_added_key_at_once_and_a_disabled_one_only_for_its_own_tasks() {
    // One task in flight per key, and each Kling task runs a while: the configured key is busy
    // with the first generation, so the second can only go out with the added key.
    let settings = Settings::default().with("REELGATE_MAX_CONCURRENT_TASKS", "1");
    let (app, _sim) = app_on_one_key(Duration::from_secs(8), settings).await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 1_000_000).await;
    let running = async |id: &str| {
        let (_, body) = json(app.get_as(&ada, &format!("/v1/generations/{id}")).await).await;
        body["status"] == "running"
    };

    let (status, first) = app.submit(&ada, kling()).await;
    assert_eq!(status, 202, "{first}");
    let first = first["id"].as_str().unwrap().to_owned();
    wait_until("the first generation to run", async || {
        running(&first).await
    })
    .await;
    assert_eq!(app.sim.tasks_created_with(CONFIGURED), 1);

    let id = add_second(&app, &admin).await;

    let (status, second) = app.submit(&ada, kling()).await;
    assert_eq!(status, 202, "{second}");
    let second = second["id"].as_str().unwrap().to_owned();
    wait_until("the second generation to run", async || {
        running(&second).await
    })
    .await;
    assert_eq!(
        app.sim.tasks_created_with(ADDED),
        1,
        "sent with the added key"
    );
    assert_eq!(app.sim.tasks_created_with(CONFIGURED), 1);

    // Disabled while its task runs: it cannot be deleted yet.
    let path = format!("/v1/admin/upstream/keys/{id}/disable");
    let (status, disabled) = json(app.post_as(&admin, &path, json!({})).await).await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["state"], "disabled");
    let delete = format!("/v1/admin/upstream/keys/{id}");
    let (status, refused) = json(app.delete_as(&admin, &delete).await).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["error"]["code"], "key_has_unsettled_work",
        "{refused}"
    );

    // New work goes to the configured key only; the added key's task is read with it.
    let (status, third) = app.submit(&ada, kling()).await;
    assert_eq!(status, 202, "{third}");
    let third = third["id"].as_str().unwrap().to_owned();
    for id in [&first, &second, &third] {
        let settled = app.settled(&ada, id).await;
        assert_eq!(settled["status"], "succeeded", "{settled}");
    }
    assert_eq!(
        app.sim.tasks_created_with(ADDED),
        1,
        "nothing new on a disabled key"
    );
    assert_eq!(app.sim.tasks_created_with(CONFIGURED), 2);
    assert_eq!(
        app.sim.stats().foreign_key_reads,
        0,
        "each task read with its own key"
    );

    // Settled now: the key can go.
    let response = app.delete_as(&admin, &delete).await;
    assert_eq!(response.status(), 204);
    assert_eq!(keys(&app, &admin).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_follows_the_keys_added_disabled_and_deleted_on_one() {
    if !SuiteDatabase::on_postgres() {
        return; // One SQLite file is one instance.
    }
    let (app, running) = app_on_one_key(Duration::ZERO, Settings::default()).await;
    let settings = Settings::default().with("REELGATE_KIE_API_KEY", CONFIGURED);
    let other = app.beside(&running, settings).await;
    let (_, admin) = app.admin().await;
    let id = add_second(&app, &admin).await;
    let state_there = async || {
        let listed = keys(&other, &admin).await;
        listed
            .iter()
            .find(|k| k["id"] == id.as_str())
            .map(|k| k["state"].as_str().unwrap_or_default().to_owned())
    };
    wait_until("the other instance to list the added key", async || {
        state_there().await.as_deref() == Some("active")
    })
    .await;
    let path = format!("/v1/admin/upstream/keys/{id}/disable");
    assert_eq!(app.post_as(&admin, &path, json!({})).await.status(), 200);
    wait_until("the other instance to see it disabled", async || {
        state_there().await.as_deref() == Some("disabled")
    })
    .await;
    let path = format!("/v1/admin/upstream/keys/{id}");
    assert_eq!(app.delete_as(&admin, &path).await.status(), 204);
    wait_until("the other instance to drop it", async || {
        state_there().await.is_none()
    })
    .await;
}
