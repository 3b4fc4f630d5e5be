//! The upstream balance guard through the real server: below the stop threshold new
//! generations wait queued instead of being refused by Kie; a top-up resumes them; the
//! operator hears about each change.

use crate::helpers::{json, wait_until, TestApp};
use axum::routing::post;
use axum::Json;
use kie_sim::SimConfig;
use reelgate::config::Settings;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// A local operator endpoint that keeps what it is sent.
pub async fn operator_inbox() -> (String, Arc<Mutex<Vec<Value>>>) {
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&inbox);
    let router = axum::Router::new().route(
        "/alerts",
        post(move |Json(alert): Json<Value>| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock().unwrap().push(alert);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, inbox)
}

fn kinds(inbox: &Mutex<Vec<Value>>) -> Vec<String> {
    inbox
        .lock()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_balance_holds_generations_queued_until_it_is_topped_up() {
    let (webhook, inbox) = operator_inbox().await;
    let app = TestApp::spawn_with_sim(
        Settings::default()
            .with("REELGATE_BALANCE_POLL_SECS", "1")
            .with("REELGATE_BALANCE_WARN_CREDITS", "1000")
            .with("REELGATE_BALANCE_STOP_CREDITS", "500")
            .with("REELGATE_OPERATOR_WEBHOOK_URL", webhook),
        SimConfig {
            // Enough for one Kling video (55 Kie credits): Kie itself would take it.
            initial_balance: Decimal::from(100),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 100).await;
    let upstream = async || json(app.get_as(&admin, "/v1/admin/upstream").await).await.1;
    wait_until("the guard to stop dispatch", async || {
        upstream().await["level"] == "stopped"
    })
    .await;
    let status = upstream().await;
    assert_eq!(status["simulated"], true);
    assert_eq!(status["balance"]["credits"], "100");
    assert_eq!(status["balance"]["usd"], "0.5");
    assert_eq!(status["dispatch"]["state"], "held");
    assert_eq!(
        (
            status["warn_below_credits"].as_str(),
            status["stop_below_credits"].as_str()
        ),
        (Some("1000"), Some("500"))
    );

    let (code, created) = app
        .submit(
            &ada,
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
        )
        .await;
    assert_eq!(code, 202, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/generations/{id}");
    wait_until("the customer to see it waiting for capacity", async || {
        json(app.get_as(&ada, &path).await).await.1["waiting_for"].is_string()
    })
    .await;
    // Over two more of the guard's rounds (three reads of the balance: two whole rounds after
    // the first): still held, nothing sent, nothing refused by Kie.
    app.balance_reads_after(app.kie_balance_reads(), 3).await;
    let (_, waiting) = json(app.get_as(&ada, &path).await).await;
    assert_eq!(waiting["status"], "queued");
    assert!(
        waiting["waiting_for"]
            .as_str()
            .unwrap()
            .contains("capacity"),
        "{waiting}"
    );
    assert!(app.sim.tasks().is_empty());
    assert_eq!(app.sim.stats().creates_unpaid, 0);

    // Topped up above the stop threshold (still below the warning one): dispatch resumes.
    app.sim.set_balance(Decimal::from(800));
    let done = app.settled(&ada, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done.get("waiting_for").is_none());
    let status = upstream().await;
    assert_eq!(status["level"], "low");
    assert_eq!(status["dispatch"]["state"], "running");

    app.sim.set_balance(Decimal::from(5000));
    wait_until("the balance to be ok again", async || {
        upstream().await["level"] == "ok"
    })
    .await;
    wait_until("three operator alerts", async || kinds(&inbox).len() >= 3).await;
    assert_eq!(
        kinds(&inbox),
        [
            "upstream.dispatch_stopped",
            "upstream.dispatch_resumed",
            "upstream.balance_ok"
        ]
    );
    let stopped = inbox.lock().unwrap()[0].clone();
    assert_eq!(stopped["balance_credits"], "100");
    assert_eq!(stopped["simulated"], true);
    assert_eq!(
        app.sim.stats().creates_unpaid,
        0,
        "Kie never refused for lack of credits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_warning_threshold_the_operator_is_warned_and_dispatch_goes_on() {
    let (webhook, inbox) = operator_inbox().await;
    let app = TestApp::spawn_with_sim(
        Settings::default()
            .with("REELGATE_BALANCE_WARN_CREDITS", "1000")
            .with("REELGATE_BALANCE_STOP_CREDITS", "100")
            .with("REELGATE_OPERATOR_WEBHOOK_URL", webhook),
        SimConfig {
            initial_balance: Decimal::from(999),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 100).await;
    let (_, status) = json(
        app.post_as(&admin, "/v1/admin/upstream/check", json!({}))
            .await,
    )
    .await;
    assert_eq!(status["level"], "low", "{status}");
    assert_eq!(status["dispatch"]["state"], "running");
    let (_, created) = app
        .submit(
            &ada,
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
        )
        .await;
    let done = app.settled(&ada, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    wait_until("the warning", async || !kinds(&inbox).is_empty()).await;
    assert_eq!(kinds(&inbox), ["upstream.balance_low"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kies_refusals_show_on_the_operators_upstream_page() {
    let app = TestApp::spawn_with_sim(
        // The guard never stops dispatch here: Kie's own 402 is what happens.
        Settings::default().with("REELGATE_BALANCE_STOP_CREDITS", "0"),
        SimConfig {
            initial_balance: Decimal::from(10),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 100).await;
    app.submit(
        &ada,
        json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
    )
    .await;
    let upstream = async || json(app.get_as(&admin, "/v1/admin/upstream").await).await.1;
    wait_until("Kie's refusal to be listed", async || {
        !upstream().await["recent_errors"]
            .as_array()
            .unwrap()
            .is_empty()
    })
    .await;
    let status = upstream().await;
    assert_eq!(status["recent_errors"][0]["call"], "create");
    assert!(
        status["recent_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("credits"),
        "{status}"
    );
    // Held, not probed: the guard reads the balance every few seconds until it rises.
    assert_eq!(status["dispatch"]["state"], "held");
}
