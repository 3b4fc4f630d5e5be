//! Several Kie keys through the running app and a simulator holding one account per key:
//! when one key runs out of credit mid-burst, the rest go through the other, nothing that
//! could be sent fails, and every task is read with the key that created it.

use futures::StreamExt;
use reelgate::config::Settings;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

use crate::helpers::{json, wait_until, TestApp};

const KEY_A: &str = "kie-key-alpha-0001";
const KEY_B: &str = "kie-key-bravo-0002";
const BURST: usize = 12;
/// Key A pays for three Kling 2.6 text-to-video of 5 s.
const A_PAYS_FOR: usize = 3;
/// What Kie (and the simulator) charges for a 5 s silent Kling video: $0.275.
const KLING_KIE_CREDITS: i64 = 55;

async fn app_on_two_keys() -> (TestApp, kie_sim::RunningSim) {
    app_on_keys(vec![
        (
            KEY_A.to_owned(),
            Decimal::from(KLING_KIE_CREDITS * A_PAYS_FOR as i64),
        ),
        (KEY_B.to_owned(), Decimal::from(1_000_000)),
    ])
    .await
}

/// The app on keys A and B, each with its own account balance in the simulator.
async fn app_on_keys(key_balances: Vec<(String, Decimal)>) -> (TestApp, kie_sim::RunningSim) {
    let running = kie_sim::spawn(
        kie_sim::SimConfig {
            // Each key its own window of 4 creates per 2 s, as Kie limits each account.
            rate_limit: Some(kie_sim::RateLimit {
                requests: 4,
                per: Duration::from_secs(2),
            }),
            key_balances,
            faults: kie_sim::Faults {
                // No callbacks: only status reads (with the right key) can finish a task.
                drop_callback_ratio: 1.0,
                ..kie_sim::Faults::default()
            },
            ..kie_sim::SimConfig::for_tests()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    let settings = Settings::default()
        .with("REELGATE_KIE_API_KEYS", format!("{KEY_A},{KEY_B}"))
        .with("REELGATE_UPSTREAM_RATE_LIMIT", "4/2")
        // Kie's own 402 is what stops key A here, not the guard's threshold.
        .with("REELGATE_BALANCE_WARN_CREDITS", "0")
        .with("REELGATE_BALANCE_STOP_CREDITS", "0")
        .with("REELGATE_BALANCE_POLL_SECS", "1");
    let test_app = TestApp::on_simulator(&running, settings, |config| {
        config.lifecycle.poll.min_interval = Duration::from_millis(50);
        config.lifecycle.poll.max_interval = Duration::from_millis(300);
    })
    .await;
    (test_app, running)
}

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_out_of_credit_mid_burst_sends_the_rest_through_the_other_key() {
    let (app, _sim) = app_on_two_keys().await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 1_000_000).await;
    let ids: Vec<String> = futures::stream::iter(0..BURST)
        .map(|_| async {
            let (status, body) = app.submit(&ada, kling()).await;
            assert_eq!(status, 202, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .buffer_unordered(4)
        .collect()
        .await;
    for id in &ids {
        let settled = app.settled(&ada, id).await;
        assert_eq!(settled["status"], "succeeded", "{settled}");
    }

    let stats = app.sim.stats();
    assert_eq!(app.sim.tasks_created_with(KEY_A), A_PAYS_FOR);
    assert_eq!(app.sim.tasks_created_with(KEY_B), BURST - A_PAYS_FOR);
    assert_eq!(app.sim.tasks().len(), BURST, "none sent twice");
    assert!(
        stats.creates_unpaid >= 1,
        "key A ran out mid-burst: {stats:?}"
    );
    assert_eq!(stats.rate_limited, 0, "each key kept to its own window");
    // Kie shows a task only to the key that created it: any read with the other key would
    // have been answered "not found" and counted here.
    assert_eq!(stats.foreign_key_reads, 0);
    let reads = stats
        .requests
        .get("GET /api/v1/jobs/recordInfo")
        .copied()
        .unwrap_or(0);
    assert!(reads >= BURST as u64, "finished by status reads: {reads}");

    // The operator sees each key by its fingerprint and why key A is out; never a key.
    let response = app.get_as(&admin, "/v1/admin/upstream").await;
    let (status, upstream) = json(response).await;
    assert_eq!(status, 200, "{upstream}");
    let text = upstream.to_string();
    assert!(!text.contains(KEY_A) && !text.contains(KEY_B), "{text}");
    let keys = upstream["keys"].as_array().expect("keys listed");
    assert_eq!(keys.len(), 2, "{upstream}");
    let states: Vec<&str> = keys.iter().map(|k| k["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["refused", "active"], "{upstream}");
    assert!(
        keys[0]["reason"].as_str().unwrap().contains("credits"),
        "{upstream}"
    );
    wait_until("the guard to read each key's balance", async || {
        let (_, upstream) = json(app.get_as(&admin, "/v1/admin/upstream").await).await;
        upstream["keys"][0]["balance_credits"] == "0"
    })
    .await;

    // The reports break the upstream cost down per key, by fingerprint.
    let (a, b) = (
        keys[0]["label"].as_str().unwrap().to_owned(),
        keys[1]["label"].as_str().unwrap().to_owned(),
    );
    let (status, margin) = json(app.get_as(&admin, "/v1/admin/reports/margin?by=key").await).await;
    assert_eq!(status, 200, "{margin}");
    let rows: Vec<String> = margin["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["upstream_key"].as_str().unwrap(),
                r["succeeded"],
                r["upstream_cost_usd"].as_str().unwrap()
            )
        })
        .collect();
    // $0.275 a video: 3 on key A, 9 on key B.
    let mut wanted = vec![format!("{a} 3 0.825"), format!("{b} 9 2.475")];
    wanted.sort();
    assert_eq!(rows, wanted, "{margin}");
    let response = app
        .get_as(&admin, "/v1/admin/reports/margin?by=key&format=csv")
        .await;
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("upstream_key,succeeded,"), "{csv}");
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{a},3,"))),
        "{csv}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{b},9,"))),
        "{csv}"
    );

    // Each key's account against what was sent with it: key A's 165 credits ($0.825) went
    // on its three; the guard samples each key's balance every second.
    wait_until("a reconciliation of each key", async || {
        let (_, r) = json(app.get_as(&admin, "/v1/admin/reports/reconciliation").await).await;
        let per_key = r["keys"].as_array().cloned().unwrap_or_default();
        per_key.len() == 2
            && per_key[0]["upstream_key"] == a.as_str()
            && per_key[0]["reconciliation"]["kie_spent_usd"] == "0.825"
            && per_key[0]["reconciliation"]["reelgate_cost_usd"] == "0.825"
            && per_key[0]["reconciliation"]["generations_sent"] == 3
            && per_key[1]["upstream_key"] == b.as_str()
            && per_key[1]["reconciliation"]["reelgate_cost_usd"] == "2.475"
            && per_key[1]["reconciliation"]["difference_usd"] == "0"
    })
    .await;
    let response = app
        .get_as(&admin, "/v1/admin/reports/reconciliation?format=csv")
        .await;
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    let names: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(names, ["all", a.as_str(), b.as_str()], "{csv}");
    assert!(!csv.contains(KEY_A) && !csv.contains(KEY_B), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_and_1080p_and_4k_requests_use_the_key_that_created_the_task() {
    let plenty = Decimal::from(1_000_000);
    let (app, _sim) =
        app_on_keys(vec![(KEY_A.to_owned(), plenty), (KEY_B.to_owned(), plenty)]).await;
    let (_, ada) = app.customer("ada", 1_000_000).await;
    // Enough of each that both keys create some: dispatch takes the keys in turn.
    let mut ids = Vec::new();
    for resolution in ["1080p", "4k", "1080p", "4k", "1080p", "4k", "1080p", "4k"] {
        let request = json!({"model": "veo3-fast", "prompt": "a fox",
            "aspect_ratio": "16:9", "resolution": resolution});
        let (status, body) = app.submit(&ada, request).await;
        assert_eq!(status, 202, "{body}");
        ids.push((resolution, body["id"].as_str().unwrap().to_owned()));
    }
    for (resolution, id) in &ids {
        let wanted = if *resolution == "4k" { "4K" } else { "1080p" };
        wait_until("the upgraded video", async || {
            let (_, done) = json(app.get_as(&ada, &format!("/v1/generations/{id}")).await).await;
            done["videos"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v["resolution"] == wanted))
        })
        .await;
        let done = app.settled(&ada, id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    assert!(
        app.sim.tasks_created_with(KEY_A) >= 1 && app.sim.tasks_created_with(KEY_B) >= 1,
        "both keys created tasks: A {}, B {}",
        app.sim.tasks_created_with(KEY_A),
        app.sim.tasks_created_with(KEY_B)
    );
    let stats = app.sim.stats();
    let asked = |route: &str| stats.requests.get(route).copied().unwrap_or(0);
    assert!(asked("GET /api/v1/veo/get-1080p-video") >= 4, "{stats:?}");
    assert!(asked("POST /api/v1/veo/get-4k-video") >= 4, "{stats:?}");
    // A status read, 1080p fetch or 4K request with the other key is answered "not found"
    // by Kie (and the simulator), and counted here.
    assert_eq!(stats.foreign_key_reads, 0, "{stats:?}");
}
