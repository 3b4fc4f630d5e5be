//! Injected misbehaviour, each kind observable from the client side, and seeded replays.

mod common;

use std::time::{Duration, Instant};

use common::*;
use kie_sim::{Faults, SimConfig};
use serde_json::{json, Value};

#[tokio::test]
async fn a_server_error_is_http_500_and_the_create_did_not_happen() {
    let sim = TestSim::start(with_faults(Faults {
        server_error_ratio: 1.0,
        ..Faults::default()
    }))
    .await;
    let resp = sim
        .client
        .post(sim.url("/api/v1/veo/generate"))
        .bearer_auth(KEY)
        .json(&json!({"prompt": "p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let env: Value = resp.json().await.unwrap();
    assert_eq!(env["code"], 500);
    let credit = sim.get("/api/v1/chat/credit").await;
    assert_eq!(credit["code"], 500);
    assert!(sim.sim().tasks().is_empty());
    assert_eq!(sim.sim().balance(), SimConfig::for_tests().initial_balance);
    let stats = sim.sim().stats();
    assert_eq!(stats.server_errors_injected, 2);
    assert_eq!(stats.requests["POST /api/v1/veo/generate"], 1);
    // Control endpoints are never faulty.
    let control = sim.download(&sim.url("/sim/stats")).await;
    assert_eq!(control.status(), 200);
}

#[tokio::test]
async fn a_slow_create_that_times_out_was_created_anyway() {
    let sim = TestSim::start(with_faults(Faults {
        latency: Duration::from_millis(400),
        ..Faults::default()
    }))
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let result = impatient
        .post(sim.url("/api/v1/jobs/createTask"))
        .bearer_auth(KEY)
        .json(&job_body("kling-2.6/text-to-video", None))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(sim.sim().tasks().len(), 1);

    let started = Instant::now();
    sim.get("/api/v1/chat/credit").await;
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn a_malformed_answer_is_not_json_but_the_work_was_done() {
    let sim = TestSim::start(with_faults(Faults {
        malformed_ratio: 1.0,
        ..Faults::default()
    }))
    .await;
    let resp = sim
        .client
        .post(sim.url("/api/v1/jobs/createTask"))
        .bearer_auth(KEY)
        .json(&job_body("sora-2-text-to-video", None))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with("{\"code\":200"), "{text}");
    assert_eq!(sim.sim().tasks().len(), 1);
    assert_eq!(sim.sim().stats().malformed_injected, 1);
    // Videos are not JSON and are never garbled.
    let id = &sim.sim().tasks()[0].task_id;
    let video = sim
        .download(&format!("{}/results/{id}.mp4", sim.running.base_url))
        .await;
    assert_eq!(video.bytes().await.unwrap().len(), ASSET_720P.len());
}

#[tokio::test]
async fn faults_can_be_changed_on_a_running_simulator() {
    let sim = TestSim::for_tests().await;
    let first = sim
        .create_task(job_body("kling-2.6/text-to-video", None))
        .await;
    sim.sim().set_faults(Faults {
        failure_ratio: 1.0,
        ..Faults::default()
    });
    let second = sim
        .create_task(job_body("kling-2.6/text-to-video", None))
        .await;
    assert_eq!(sim.finished_job(&first).await["state"], "success");
    assert_eq!(sim.finished_job(&second).await["state"], "fail");
    assert_eq!(sim.sim().stats().tasks_failing, 1);
}

/// Ids and outcomes of ten creates against a fresh simulator with `seed`.
async fn run(seed: u64) -> Vec<(String, String)> {
    let sim = TestSim::start(SimConfig {
        seed,
        faults: Faults {
            failure_ratio: 0.5,
            ..Faults::default()
        },
        ..SimConfig::for_tests()
    })
    .await;
    let mut out = vec![];
    for i in 0..10 {
        let id = if i % 2 == 0 {
            sim.create_task(job_body("grok-imagine/text-to-video", None))
                .await
        } else {
            sim.create_veo(json!({"prompt": "p"})).await
        };
        let outcome = if i % 2 == 0 {
            sim.finished_job(&id).await["state"].to_string()
        } else {
            sim.finished_veo(&id).await["successFlag"].to_string()
        };
        out.push((id, outcome));
    }
    out
}

#[tokio::test]
async fn the_same_seed_replays_the_same_ids_and_outcomes() {
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    let b = run(43).await;
    assert_ne!(a, b);
    let outcomes: std::collections::HashSet<_> = a.iter().map(|(_, o)| o.as_str()).collect();
    assert!(
        outcomes.len() > 1,
        "a 0.5 failure ratio gave one outcome: {a:?}"
    );
}
