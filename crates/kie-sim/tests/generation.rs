//! Every model variant, created over HTTP, followed to success, its video downloaded.

mod common;

use std::time::Duration;

use common::*;
use kie_sim::{Durations, SimConfig, TaskState};
use serde_json::json;

async fn assert_is_mp4(sim: &TestSim, url: &str) -> usize {
    assert!(url.starts_with(&sim.running.base_url), "{url}");
    let resp = sim.download(url).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "{url} is not an MP4");
    bytes.len()
}

#[tokio::test]
async fn every_jobs_variant_succeeds_with_a_downloadable_mp4() {
    let sim = TestSim::for_tests().await;
    for model in JOB_MODELS {
        let id = sim.create_task(job_body(model, None)).await;
        assert!(id.starts_with("task_"), "{id}");
        let rec = sim.finished_job(&id).await;
        assert_eq!(rec["state"], "success", "{model}: {rec}");
        assert_eq!(rec["model"], model);
        assert_eq!(rec["failCode"], "");
        let param: serde_json::Value =
            serde_json::from_str(rec["param"].as_str().unwrap()).unwrap();
        assert_eq!(param, job_body(model, None));
        let urls = job_result_urls(&rec);
        assert_eq!(urls.len(), 1);
        assert_eq!(assert_is_mp4(&sim, &urls[0]).await, ASSET_720P.len());
    }
    assert_eq!(sim.sim().stats().tasks_created, 8);
}

#[tokio::test]
async fn both_veo_models_succeed_with_720p_then_1080p_for_16_9() {
    let sim = TestSim::for_tests().await;
    let bodies = [
        json!({"prompt": "a dog in a park", "model": "veo3", "aspect_ratio": "16:9"}),
        json!({"prompt": "a dog in a park", "model": "veo3_fast", "aspectRatio": "16:9",
               "imageUrls": [IMG]}),
    ];
    for body in bodies {
        let id = sim.create_veo(body.clone()).await;
        assert!(id.starts_with("veo_task_"), "{id}");
        let rec = sim.finished_veo(&id).await;
        assert_eq!(rec["successFlag"], 1, "{rec}");
        assert_eq!(rec["response"]["resolution"], "720p");
        assert_eq!(rec["response"]["taskId"], id.as_str());
        assert!(rec["response"]["originUrls"].is_null());
        assert_eq!(rec["fallbackFlag"], false);
        assert!(rec["completeTime"].as_u64().unwrap() >= rec["createTime"].as_u64().unwrap());
        let param: serde_json::Value =
            serde_json::from_str(rec["paramJson"].as_str().unwrap()).unwrap();
        assert_eq!(param, body);
        let url = rec["response"]["resultUrls"][0].as_str().unwrap();
        assert_eq!(assert_is_mp4(&sim, url).await, ASSET_720P.len());

        let hd = sim
            .get(&format!("/api/v1/veo/get-1080p-video?taskId={id}"))
            .await;
        assert_eq!(hd["code"], 200, "{hd}");
        let hd_url = hd["data"]["resultUrl"].as_str().unwrap();
        assert_eq!(assert_is_mp4(&sim, hd_url).await, ASSET_1080P.len());
    }
}

#[tokio::test]
async fn jobs_status_answers_under_the_seed_name_too() {
    let sim = TestSim::for_tests().await;
    let id = sim
        .create_task(job_body("kling-2.6/text-to-video", None))
        .await;
    let seed = sim
        .get(&format!("/api/v1/jobs/getTaskDetails?taskId={id}"))
        .await;
    assert_eq!(seed["code"], 200);
    assert_eq!(seed["data"], sim.job_record(&id).await);
}

#[tokio::test]
async fn tasks_move_through_kie_states_over_their_duration() {
    let config = SimConfig {
        durations: Durations::uniform(Duration::from_millis(800)),
        ..SimConfig::for_tests()
    };
    let sim = TestSim::start(config).await;
    let id = sim
        .create_task(job_body("grok-imagine/text-to-video", None))
        .await;
    let veo = sim.create_veo(json!({"prompt": "p"})).await;
    let first = sim.job_record(&id).await;
    assert!(
        matches!(
            first["state"].as_str(),
            Some("waiting" | "queuing" | "generating")
        ),
        "{first}"
    );
    assert_eq!(first["resultJson"], "");
    assert!(first["completeTime"].is_null());
    let veo_first = sim.veo_record(&veo).await;
    assert_eq!(veo_first["successFlag"], 0);
    assert!(veo_first["response"].is_null());

    let mut seen = vec![];
    loop {
        let state = sim.job_record(&id).await["state"]
            .as_str()
            .unwrap()
            .to_owned();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let order = ["waiting", "queuing", "generating", "success"];
    let positions: Vec<_> = seen
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert!(seen.len() >= 3, "too coarse to see the states: {seen:?}");
    assert_eq!(sim.finished_veo(&veo).await["successFlag"], 1);
    let tasks = sim.sim().tasks();
    assert!(tasks
        .iter()
        .all(|t| t.state == TaskState::Success && t.completed_ms.is_some()));
}

#[tokio::test]
async fn hd_video_is_refused_until_ready_and_portrait_has_one_too() {
    let config = SimConfig {
        hd_delay: Duration::from_millis(800),
        ..SimConfig::for_tests()
    };
    let sim = TestSim::start(config).await;
    let wide = sim.create_veo(json!({"prompt": "p"})).await;
    let tall = sim
        .create_veo(json!({"prompt": "p", "aspect_ratio": "9:16"}))
        .await;
    let early = sim
        .get(&format!(
            "/api/v1/veo/get-1080p-video?taskId={wide}&index=0"
        ))
        .await;
    assert_eq!(early["code"], 422, "{early}");
    assert!(early["msg"].as_str().unwrap().contains("processing"));
    // Not served before it is announced either.
    let hd_url = format!("{}/results/{wide}_1080p.mp4", sim.running.base_url);
    assert_eq!(sim.download(&hd_url).await.status(), 404);

    tokio::time::sleep(Duration::from_millis(850)).await;
    let ready = sim
        .get(&format!("/api/v1/veo/get-1080p-video?taskId={wide}"))
        .await;
    assert_eq!(ready["code"], 200, "{ready}");
    assert_eq!(ready["data"]["resultUrl"], hd_url.as_str());
    // Kie's current page: 9:16 videos are upgraded too.
    let portrait = sim
        .get(&format!("/api/v1/veo/get-1080p-video?taskId={tall}"))
        .await;
    assert_eq!(portrait["code"], 200, "{portrait}");
    let bad_index = sim
        .get(&format!(
            "/api/v1/veo/get-1080p-video?taskId={wide}&index=1"
        ))
        .await;
    assert_eq!(bad_index["code"], 422);
    let unknown = sim
        .get("/api/v1/veo/get-1080p-video?taskId=veo_task_00000000000000ff")
        .await;
    assert_eq!(unknown["code"], 404);
}
