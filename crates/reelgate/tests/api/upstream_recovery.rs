//! Recovery after upstream trouble, through the real server and the built-in simulator: an
//! outage shorter than the operator's wait loses no queued generation, and a top-up after
//! Kie refused for lack of credits resumes dispatch within seconds.

use crate::helpers::{json, wait_until, TestApp};
use kie_sim::{Faults, SimConfig};
use reelgate::config::Settings;
use rust_decimal::Decimal;
use serde_json::json;
use std::time::{Duration, Instant};

/// The outage of the first test: longer than half its 30 s wait.
const BURST: Duration = Duration::from_secs(17);

fn kling() -> serde_json::Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_generations_outlast_a_seventeen_second_burst_of_5xx_within_a_thirty_second_wait() {
    // A burst over half the wait: a pause that doubled (5, 10, 20 s) would put the next probe
    // past the wait, while probes at most a fifth of the wait apart leave seconds to spare
    // for the dispatch after it, even on a loaded machine.
    let app = TestApp::spawn_with_sim(
        Settings::default()
            .with("REELGATE_UPSTREAM_WAIT_SECS", "30")
            .with("REELGATE_UPSTREAM_RATE_LIMIT", "100/1"),
        SimConfig {
            faults: Faults {
                server_error_ratio: 1.0,
                ..Faults::default()
            },
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 10_000).await;
    // The burst counts from the first submission, as each generation's wait does at the
    // earliest: a slow submission loop does not lengthen the outage the generations see.
    let burst_began = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..30 {
        let (status, created) = app.submit(&key, kling()).await;
        assert_eq!(status, 202, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep_until((burst_began + BURST).into()).await;
    assert!(app.sim.tasks().is_empty(), "every create got a 5xx");
    app.sim.set_faults(Faults::default());
    let burst_over = Instant::now();
    let mut outcomes = Vec::new();
    for id in &ids {
        let done = app.settled(&key, id).await;
        outcomes.push(format!("{} {}", done["status"], done["error"]["code"]));
    }
    let succeeded = outcomes
        .iter()
        .filter(|o| o.starts_with("\"succeeded\""))
        .count();
    assert_eq!(succeeded, 30, "{outcomes:?}");
    println!("30/30 succeeded {:?} after the burst", burst_over.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kie_refuses_for_lack_of_credits_a_top_up_resumes_dispatch_within_seconds() {
    // No threshold of the operator's stops dispatch: only Kie's own 402 does. The balance is
    // read at the default interval (300 s) while dispatch runs.
    let app = TestApp::spawn_with_sim(
        Settings::default()
            .with("REELGATE_BALANCE_WARN_CREDITS", "0")
            .with("REELGATE_BALANCE_STOP_CREDITS", "0"),
        SimConfig {
            // Less than one Kling video costs Kie (56 credits).
            initial_balance: Decimal::from(10),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/generations/{id}");
    wait_until("Kie to refuse the create for lack of credits", async || {
        app.sim.stats().creates_unpaid == 1
    })
    .await;
    // Held, Kie is not asked again for longer than the first pause a probe would follow (5 s):
    // counted by the server's own reads of the balance, every 2 s while held, not by a sleep.
    app.balance_reads_after(app.kie_balance_reads(), 4).await;
    let (_, waiting) = json(app.get_as(&key, &path).await).await;
    assert_eq!(waiting["status"], "queued", "{waiting}");
    assert!(waiting["waiting_for"].is_string(), "{waiting}");
    let (_, upstream) = json(app.get_as(&admin, "/v1/admin/upstream").await).await;
    assert_eq!(upstream["dispatch"]["state"], "held", "{upstream}");
    assert_eq!(
        app.sim.stats().creates_unpaid,
        1,
        "held, not probing Kie with creates it must refuse"
    );

    app.sim.set_balance(Decimal::from(1000));
    let topped_up = Instant::now();
    wait_until("the generation to be sent after the top-up", async || {
        json(app.get_as(&key, &path).await).await.1["status"] != "queued"
    })
    .await;
    let resumed_after = topped_up.elapsed();
    assert!(
        resumed_after < Duration::from_secs(5),
        "dispatch resumed {resumed_after:?} after the top-up"
    );
    println!("dispatch resumed {resumed_after:?} after the top-up");
    assert_eq!(app.settled(&key, &id).await["status"], "succeeded");
}
