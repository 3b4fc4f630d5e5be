//! Serving: the public URL in result links, mounting the router elsewhere, shutting down.

mod common;

use common::*;
use kie_sim::{SimConfig, Simulator};
use serde_json::json;

#[tokio::test]
async fn result_urls_use_the_configured_public_url() {
    let sim = TestSim::start(SimConfig {
        public_url: Some("https://kie-sim.example/".into()),
        ..SimConfig::for_tests()
    })
    .await;
    let id = sim.create_veo(json!({"prompt": "p"})).await;
    let rec = sim.finished_veo(&id).await;
    assert_eq!(
        rec["response"]["resultUrls"][0],
        format!("https://kie-sim.example/results/{id}.mp4")
    );
}

#[tokio::test]
async fn a_router_mounted_by_someone_else_links_to_the_host_it_was_reached_at() {
    let sim = Simulator::new(SimConfig::for_tests());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = sim.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::new();
    let env = answer(
        client
            .post(format!("{base}/api/v1/jobs/createTask"))
            .bearer_auth(KEY)
            .json(&job_body("sora-2-text-to-video", None)),
    )
    .await;
    let id = env["data"]["taskId"].as_str().unwrap();
    let rec = answer(
        client
            .get(format!("{base}/api/v1/jobs/recordInfo?taskId={id}"))
            .bearer_auth(KEY),
    )
    .await;
    let url = &job_result_urls(&rec["data"])[0];
    assert_eq!(url, &format!("{base}/results/{id}.mp4"));
    let video = client.get(url).send().await.unwrap();
    assert_eq!(video.bytes().await.unwrap(), ASSET_720P);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = TestSim::for_tests().await;
    let url = sim.url("/sim/stats");
    assert_eq!(sim.download(&url).await.status(), 200);
    let TestSim { running, .. } = sim;
    running.shutdown().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err());
}
