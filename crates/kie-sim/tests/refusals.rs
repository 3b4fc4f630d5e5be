//! What Kie refuses, over HTTP: bad keys, invalid bodies, unknown tasks and routes, too little
//! money, too many creates. A refused create never becomes a task.

mod common;

use std::time::Duration;

use common::*;
use kie_sim::{RateLimit, SimConfig};
use rust_decimal_macros::dec;
use serde_json::{json, Value};

#[tokio::test]
async fn a_missing_or_empty_key_gets_code_401_in_an_http_200() {
    let sim = TestSim::for_tests().await;
    let body = job_body("kling-2.6/text-to-video", None);
    let url = sim.url("/api/v1/jobs/createTask");
    for auth in [None, Some("Bearer "), Some("Bearer    "), Some("Basic abc")] {
        let mut req = sim.client.post(&url).json(&body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let env: Value = resp.json().await.unwrap();
        assert_eq!(env["code"], 401, "{auth:?}: {env}");
    }
    let credit = answer(sim.client.get(sim.url("/api/v1/chat/credit"))).await;
    assert_eq!(credit["code"], 401);
    assert!(sim.sim().tasks().is_empty());
}

#[tokio::test]
async fn invalid_bodies_get_422_naming_the_field_and_create_nothing() {
    let sim = TestSim::for_tests().await;
    let mut kling = job_body("kling-2.6/text-to-video", None);
    kling["input"]["negative_prompt"] = json!("blurry");
    let cases = [
        ("/api/v1/jobs/createTask", kling, "input.negative_prompt"),
        (
            "/api/v1/jobs/createTask",
            json!({"model": "grok-imagine/image-to-video",
                   "input": {"image_urls": [IMG], "mode": "spicy"}}),
            "input.mode",
        ),
        (
            "/api/v1/jobs/createTask",
            json!({"model": "kling-2.6", "input": {}}),
            "model",
        ),
        (
            "/api/v1/veo/generate",
            json!({"prompt": "p", "aspectRatio": "16:9", "aspect_ratio": "9:16"}),
            "aspect_ratio",
        ),
        (
            "/api/v1/veo/generate",
            json!({"prompt": "p", "model": "veo3-fast"}),
            "model",
        ),
    ];
    for (path, body, field) in cases {
        let env = sim.post(path, &body).await;
        assert_eq!(env["code"], 422, "{env}");
        assert!(env["msg"].as_str().unwrap().contains(field), "{env}");
        assert!(env["data"].is_null());
    }
    let raw = sim
        .client
        .post(sim.url("/api/v1/veo/generate"))
        .bearer_auth(KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    let env: Value = raw.json().await.unwrap();
    assert_eq!(env["code"], 422);
    assert!(sim.sim().tasks().is_empty());
    assert_eq!(sim.sim().stats().creates_rejected, 5);
    assert_eq!(sim.sim().balance(), SimConfig::for_tests().initial_balance);
}

#[tokio::test]
async fn unknown_tasks_are_404_and_ids_do_not_cross_apis() {
    let sim = TestSim::for_tests().await;
    let veo = sim.create_veo(json!({"prompt": "p"})).await;
    let job = sim
        .create_task(job_body("sora-2-text-to-video", None))
        .await;
    let cases = [
        format!("/api/v1/jobs/recordInfo?taskId={veo}"),
        format!("/api/v1/veo/record-info?taskId={job}"),
        "/api/v1/jobs/recordInfo?taskId=task_00000000000000aa".to_owned(),
        "/api/v1/veo/record-info?taskId=nonsense".to_owned(),
    ];
    for path in cases {
        assert_eq!(sim.get(&path).await["code"], 404, "{path}");
    }
    assert_eq!(sim.get("/api/v1/jobs/recordInfo").await["code"], 422);
    let resp = sim.download(&sim.url("/api/v1/nope")).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], 404);
}

#[tokio::test]
async fn creates_are_charged_at_kie_prices_until_the_balance_runs_out() {
    let sim = TestSim::for_tests().await;
    sim.sim().set_balance(dec!(100));
    sim.create_veo(json!({"prompt": "p", "model": "veo3_fast"}))
        .await;
    assert_eq!(sim.sim().balance(), dec!(40));
    let credit = sim.get("/api/v1/chat/credit").await;
    assert_eq!(credit, json!({"code": 200, "msg": "success", "data": 40}));

    let refused = sim
        .post("/api/v1/veo/generate", &json!({"prompt": "p"}))
        .await;
    assert_eq!(refused["code"], 402, "{refused}");
    assert_eq!(sim.sim().balance(), dec!(40));
    assert_eq!(sim.sim().tasks().len(), 1);
    assert_eq!(sim.sim().stats().creates_unpaid, 1);

    let mut grok = job_body("grok-imagine/text-to-video", None);
    grok["input"]["duration"] = json!("7");
    sim.create_task(grok).await;
    // 7 s at 480p: 1.6 Kie credits a second, a balance with decimals.
    assert_eq!(sim.sim().balance(), dec!(28.8));
    let credit = sim.get("/api/v1/chat/credit").await;
    assert_eq!(credit["data"].to_string(), "28.8");
    let tasks = sim.sim().tasks();
    assert_eq!(tasks[1].cost, dec!(11.2));
}

#[tokio::test]
async fn creates_past_the_rate_limit_get_429_and_are_not_created() {
    let config = SimConfig {
        rate_limit: Some(RateLimit {
            requests: 3,
            per: Duration::from_secs(60),
        }),
        ..SimConfig::for_tests()
    };
    let sim = TestSim::start(config).await;
    for _ in 0..3 {
        sim.create_task(job_body("kling-2.6/text-to-video", None))
            .await;
    }
    let over = sim
        .post("/api/v1/veo/generate", &json!({"prompt": "p"}))
        .await;
    assert_eq!(over["code"], 429, "{over}");
    // Status checks are not limited.
    let id = &sim.sim().tasks()[0].task_id;
    sim.job_record(id).await;
    // Another key has its own window.
    let other = answer(
        sim.client
            .post(sim.url("/api/v1/veo/generate"))
            .bearer_auth("another-key")
            .json(&json!({"prompt": "p"})),
    )
    .await;
    assert_eq!(other["code"], 200);

    let stats = sim.sim().stats();
    assert_eq!(sim.sim().tasks().len(), 4);
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.max_creates_in_window, 4);
}

#[tokio::test]
async fn each_key_is_its_own_account_and_sees_only_its_own_tasks() {
    let config = SimConfig {
        key_balances: vec![("acct-b".to_owned(), dec!(60))],
        ..SimConfig::for_tests()
    };
    let sim = TestSim::start(config).await;
    let create_as = async |key: &str| {
        answer(
            sim.client
                .post(sim.url("/api/v1/jobs/createTask"))
                .bearer_auth(key)
                .json(&job_body("kling-2.6/text-to-video", None)),
        )
        .await
    };
    let read_as = async |key: &str, id: &str| {
        answer(
            sim.client
                .get(sim.url("/api/v1/jobs/recordInfo"))
                .bearer_auth(key)
                .query(&[("taskId", id)]),
        )
        .await
    };
    // acct-b's own 60 credits pay for one Kling video (55, Kie's $0.275), not two; the shared balance is
    // untouched by it.
    let shared_before = sim.sim().balance();
    let first = create_as("acct-b").await;
    assert_eq!(first["code"], 200, "{first}");
    assert_eq!(create_as("acct-b").await["code"], 402);
    assert_eq!(sim.sim().balance_of("acct-b"), dec!(5));
    assert_eq!(sim.sim().balance(), shared_before);
    assert_eq!(create_as(KEY).await["code"], 200);
    assert_eq!(sim.sim().tasks_created_with("acct-b"), 1);

    let id = first["data"]["taskId"].as_str().unwrap();
    assert_eq!(read_as("acct-b", id).await["code"], 200);
    assert_eq!(read_as(KEY, id).await["code"], 404);
    assert_eq!(sim.sim().stats().foreign_key_reads, 1);
}
