//! `/sim/*`, as a test driving the `reelgate sim` binary would use them.

mod common;

use common::*;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

async fn control(
    sim: &TestSim,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = sim.client.request(method, sim.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn stats_and_tasks_show_what_happened() {
    let sim = TestSim::for_tests().await;
    let rx = Receiver::start().await;
    let id = sim
        .create_task(job_body("kling-2.6/image-to-video", Some(&rx.url("t"))))
        .await;
    sim.finished_job(&id).await;
    rx.wait_for(1).await;

    let stats: Value = control(&sim, reqwest::Method::GET, "/sim/stats", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["tasks_created"], 1);
    assert_eq!(stats["callbacks_sent"], 1);
    assert_eq!(stats["requests"]["POST /api/v1/jobs/createTask"], 1);
    assert!(
        stats["requests"]["GET /api/v1/jobs/recordInfo"]
            .as_u64()
            .unwrap()
            >= 1
    );

    let tasks: Value = control(&sim, reqwest::Method::GET, "/sim/tasks", None)
        .await
        .json()
        .await
        .unwrap();
    let task = &tasks[0];
    assert_eq!(task["task_id"], id.as_str());
    assert_eq!(task["model"], "kling-2.6/image-to-video");
    assert_eq!(task["callback_url"], rx.url("t"));
    assert_eq!(
        task["request"],
        job_body("kling-2.6/image-to-video", Some(&rx.url("t")))
    );
    assert_eq!(task["state"], "success");
    assert_eq!(task["cost"], "220");
}

#[tokio::test]
async fn balance_can_be_read_and_set_exactly() {
    let sim = TestSim::for_tests().await;
    let set = control(
        &sim,
        reqwest::Method::POST,
        "/sim/balance",
        Some(json!({"credits": "123.5"})),
    )
    .await;
    assert_eq!(set.status(), 200);
    assert_eq!(sim.sim().balance(), dec!(123.5));
    let credit = sim.get("/api/v1/chat/credit").await;
    assert_eq!(credit["data"].to_string(), "123.5");
    control(
        &sim,
        reqwest::Method::POST,
        "/sim/balance",
        Some(json!({"credits": 0.1})),
    )
    .await;
    assert_eq!(sim.sim().balance(), dec!(0.1));
    let bad = control(
        &sim,
        reqwest::Method::POST,
        "/sim/balance",
        Some(json!({"credits": "lots"})),
    )
    .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn faults_posted_take_effect_and_omitted_ones_are_off() {
    let sim = TestSim::for_tests().await;
    let set = control(
        &sim,
        reqwest::Method::POST,
        "/sim/faults",
        Some(json!({"server_error_ratio": 1.0, "latency_ms": 5})),
    )
    .await;
    assert_eq!(set.status(), 200);
    let answer: Value = set.json().await.unwrap();
    assert_eq!(answer["server_error_ratio"], 1.0);
    assert_eq!(answer["failure_ratio"], 0.0);
    assert_eq!(
        sim.sim().faults().latency,
        std::time::Duration::from_millis(5)
    );
    let resp = sim
        .download(&sim.url("/api/v1/veo/record-info?taskId=x"))
        .await;
    assert_eq!(resp.status(), 500);

    control(&sim, reqwest::Method::POST, "/sim/faults", Some(json!({}))).await;
    assert_eq!(sim.sim().faults(), kie_sim::Faults::default());
    for bad in [json!({"failure_ratio": 2.0}), json!({"typo_ratio": 0.1})] {
        let resp = control(&sim, reqwest::Method::POST, "/sim/faults", Some(bad)).await;
        assert_eq!(resp.status(), 400);
    }
}
