//! Callbacks as Kie sends them, received by a real HTTP server: both payload shapes, failures,
//! duplicates, drops, and receivers that do not answer well.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use kie_sim::{Durations, Faults, SimConfig};
use serde_json::json;

#[tokio::test]
async fn veo_callback_carries_info_with_result_urls() {
    let sim = TestSim::for_tests().await;
    let rx = Receiver::start().await;
    let id = sim
        .create_veo(json!({"prompt": "p", "callBackUrl": rx.url("veo-1")}))
        .await;
    let got = rx.wait_for(1).await;
    let (token, body) = &got[0];
    assert_eq!(token, "veo-1");
    assert_eq!(body["code"], 200);
    assert_eq!(body["msg"], "Veo3 video generated successfully.");
    assert_eq!(body["data"]["taskId"], id.as_str());
    assert_eq!(body["data"]["fallbackFlag"], false);
    let info = &body["data"]["info"];
    assert_eq!(info["resolution"], "720p");
    assert!(info["originUrls"].is_null());
    let record = sim.finished_veo(&id).await;
    assert_eq!(info["resultUrls"], record["response"]["resultUrls"]);
    assert_eq!(sim.sim().stats().callbacks_sent, 1);
}

#[tokio::test]
async fn jobs_callback_data_is_the_record_info_data() {
    let sim = TestSim::for_tests().await;
    let rx = Receiver::start().await;
    let id = sim
        .create_task(job_body("sora-2-pro-text-to-video", Some(&rx.url("job-1"))))
        .await;
    let got = rx.wait_for(1).await;
    let body = &got[0].1;
    assert_eq!(body["code"], 200);
    assert_eq!(body["data"], sim.finished_job(&id).await);
    assert_eq!(body["data"]["state"], "success");
}

#[tokio::test]
async fn failed_tasks_call_back_with_a_failure_code_and_message() {
    let sim = TestSim::start(with_faults(Faults {
        failure_ratio: 1.0,
        ..Faults::default()
    }))
    .await;
    let rx = Receiver::start().await;
    let veo = sim
        .create_veo(json!({"prompt": "p", "callBackUrl": rx.url("veo")}))
        .await;
    let job = sim
        .create_task(job_body("grok-imagine/text-to-video", Some(&rx.url("job"))))
        .await;
    let got = rx.wait_for(2).await;
    for (token, body) in got {
        let code = body["code"].as_u64().unwrap();
        assert!([400, 501].contains(&code), "{body}");
        assert!(!body["msg"].as_str().unwrap().is_empty());
        if token == "veo" {
            assert_eq!(body["data"]["taskId"], veo.as_str());
            assert!(body["data"]["info"].is_null());
        } else {
            assert_eq!(body["data"]["state"], "fail");
            assert_eq!(body["data"]["failCode"], code.to_string());
        }
    }
    let veo_rec = sim.finished_veo(&veo).await;
    assert!([2, 3].contains(&veo_rec["successFlag"].as_u64().unwrap()));
    assert!(veo_rec["response"].is_null());
    assert!(!veo_rec["errorMessage"].as_str().unwrap().is_empty());
    let job_rec = sim.finished_job(&job).await;
    assert_eq!(job_rec["state"], "fail");
    assert_eq!(job_rec["resultJson"], "");
    // A failed task has no video to fetch.
    let url = format!("{}/results/{job}.mp4", sim.running.base_url);
    assert_eq!(sim.download(&url).await.status(), 404);
}

#[tokio::test]
async fn duplicated_callbacks_arrive_twice() {
    let sim = TestSim::start(with_faults(Faults {
        duplicate_callback_ratio: 1.0,
        ..Faults::default()
    }))
    .await;
    let rx = Receiver::start().await;
    sim.create_task(job_body("kling-2.6/text-to-video", Some(&rx.url("dup"))))
        .await;
    let got = rx.wait_for(2).await;
    assert_eq!(got[0], got[1]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.received().len(), 2);
    let stats = sim.sim().stats();
    assert_eq!((stats.callbacks_duplicated, stats.callbacks_sent), (1, 2));
}

#[tokio::test]
async fn dropped_callbacks_never_arrive_but_the_task_still_ends() {
    let sim = TestSim::start(with_faults(Faults {
        drop_callback_ratio: 1.0,
        ..Faults::default()
    }))
    .await;
    let rx = Receiver::start().await;
    let id = sim
        .create_task(job_body("kling-2.6/text-to-video", Some(&rx.url("lost"))))
        .await;
    assert_eq!(sim.finished_job(&id).await["state"], "success");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sim.sim().stats().callbacks_dropped == 0 {
        assert!(std::time::Instant::now() < deadline, "drop never counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.received().is_empty());
    assert_eq!(sim.sim().stats().callbacks_sent, 0);
}

#[tokio::test]
async fn callbacks_wait_for_the_task_to_end() {
    let config = SimConfig {
        durations: Durations::uniform(Duration::from_millis(500)),
        ..SimConfig::for_tests()
    };
    let sim = TestSim::start(config).await;
    let rx = Receiver::start().await;
    let started = std::time::Instant::now();
    let ids = [
        sim.create_task(job_body("kling-2.6/text-to-video", Some(&rx.url("a"))))
            .await,
        sim.create_veo(json!({"prompt": "p", "callBackUrl": rx.url("b")}))
            .await,
    ];
    let got = rx.wait_for(2).await;
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(got.len(), 2);
    let job = sim.job_record(&ids[0]).await;
    assert_eq!(job["state"], "success");
}

#[tokio::test]
async fn a_receiver_that_refuses_is_logged_not_retried() {
    let sim = TestSim::for_tests().await;
    let rx = Receiver::answering(StatusCode::INTERNAL_SERVER_ERROR).await;
    sim.create_task(job_body("kling-2.6/text-to-video", Some(&rx.url("x"))))
        .await;
    rx.wait_for(1).await;
    let unreachable = "http://127.0.0.1:9/cb/nobody";
    sim.create_task(job_body("kling-2.6/text-to-video", Some(unreachable)))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sim.sim().stats().callbacks_failed < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "failures never counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.received().len(), 1);
    assert_eq!(sim.sim().stats().callbacks_sent, 2);
}
