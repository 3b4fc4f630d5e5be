//! Callbacks that arrive while the dispatcher is still recording Kie's answer to the create
//! (Kie calls back at once when a task fails or finishes fast) must still settle the
//! generation at once, not at the first scheduled status read.

use crate::helpers::TestApp;
use reelgate::config::Settings;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_racing_the_create_answer_still_settle_at_once() {
    // Status reads only every 30 s or more: within the deadline, only callbacks settle.
    let app = TestApp::spawn_polling(
        Settings::default().with("REELGATE_UPSTREAM_RATE_LIMIT", "1000/1"),
        kie_sim::SimConfig::for_tests(),
        Duration::from_secs(30),
        Duration::from_secs(60),
    )
    .await;
    let (_, key) = app.customer("ada", 100_000).await;
    let mut ids = Vec::new();
    for _ in 0..30 {
        let (status, created) = app
            .submit(
                &key,
                json!({"model": "grok-imagine/text-to-video", "prompt": "a fox"}),
            )
            .await;
        assert_eq!(status, 202, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for id in &ids {
        loop {
            let generation: serde_json::Value = app
                .get_as(&key, &format!("/v1/generations/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if generation["status"] == "succeeded" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{id} waits for its scheduled status read although its callback came: {generation}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
