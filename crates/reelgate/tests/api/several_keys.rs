//! Several Kie keys through the running app and a simulator holding one account per key:
//! when one key runs out of credit mid-burst, the rest go through the other, nothing that
//! could be sent fails, and every task is read with the key that created it.

use futures::StreamExt;
use reelgate::app::Application;
use reelgate::config::{Config, Settings};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

use crate::helpers::{json, wait_until, SuiteDatabase, TestApp};

const KEY_A: &str = "kie-key-alpha-0001";
const KEY_B: &str = "kie-key-bravo-0002";
const BURST: usize = 12;
/// Key A pays for three Kling 2.6 text-to-video of 5 s.
const A_PAYS_FOR: usize = 3;
/// What Kie (and the simulator) charges for a 5 s silent Kling video: $0.275.
const KLING_KIE_CREDITS: i64 = 55;

async fn app_on_two_keys() -> (TestApp, kie_sim::RunningSim) {
    let running = kie_sim::spawn(
        kie_sim::SimConfig {
            // Each key its own window of 4 creates per 2 s, as Kie limits each account.
            rate_limit: Some(kie_sim::RateLimit {
                requests: 4,
                per: Duration::from_secs(2),
            }),
            key_balances: vec![
                (
                    KEY_A.to_owned(),
                    Decimal::from(KLING_KIE_CREDITS * A_PAYS_FOR as i64),
                ),
                (KEY_B.to_owned(), Decimal::from(1_000_000)),
            ],
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
    let data_dir = tempfile::tempdir().expect("temp dir");
    let database = SuiteDatabase::new(data_dir.path()).await;
    let settings = database
        .settings(Settings::default(), data_dir.path())
        .with("REELGATE_LISTEN", "127.0.0.1:0")
        .with("REELGATE_KIE_API_KEYS", format!("{KEY_A},{KEY_B}"))
        .with("REELGATE_KIE_BASE_URL", running.base_url.clone())
        .with("REELGATE_KIE_UPLOAD_URL", running.base_url.clone())
        .with("REELGATE_UPSTREAM_RATE_LIMIT", "4/2")
        // Kie's own 402 is what stops key A here, not the guard's threshold.
        .with("REELGATE_BALANCE_WARN_CREDITS", "0")
        .with("REELGATE_BALANCE_STOP_CREDITS", "0")
        .with("REELGATE_BALANCE_POLL_SECS", "1");
    let mut config = Config::from_settings(&settings).expect("test config");
    config.lifecycle.poll.min_interval = Duration::from_millis(50);
    config.lifecycle.poll.max_interval = Duration::from_millis(300);
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://{}", app.local_addr());
    let store = app.store().clone();
    tokio::spawn(app.run_until_stopped());
    let test_app = TestApp {
        address,
        database,
        client: reqwest::Client::new(),
        store,
        sim: running.sim.clone(),
        _data_dir: data_dir,
    };
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
}
