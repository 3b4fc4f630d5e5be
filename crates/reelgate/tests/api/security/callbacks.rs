//! Kie's callbacks are unsigned, so their URL carries a per-generation token. A genuine
//! callback replayed later, or one naming a task that is not the generation's, moves nothing.

use crate::helpers::TestApp;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genuine_callback_replayed_after_settlement_changes_nothing() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1_000).await;
    let (_, created) = app
        .submit(
            &key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let done = app.settled(&key, &id).await;
    assert_eq!(done["status"], "succeeded");
    let task = app
        .sim
        .tasks()
        .into_iter()
        .find(|t| t.callback_url.as_deref().is_some_and(|u| u.contains(&id)))
        .expect("the upstream task");
    let callback_url = task.callback_url.clone().unwrap();
    let before = app.ledger_sum(&key, &id).await;
    // The genuine callback again, then the same URL claiming failure, then another task.
    for body in [
        json!({"code": 200, "msg": "success", "data": {"taskId": task.task_id, "state": "success",
               "resultJson": "{\"resultUrls\":[\"https://evil.example/v.mp4\"]}"}}),
        json!({"code": 501, "msg": "failed", "data": {"taskId": task.task_id, "state": "fail",
               "failCode": "501", "failMsg": "refund me"}}),
        json!({"code": 200, "msg": "success", "data": {"taskId": "task_someone_elses", "state": "success"}}),
    ] {
        let response = app
            .client
            .post(&callback_url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "a replay is acknowledged, and ignored"
        );
    }
    app.after_a_round_of_the_workers(&key).await;
    let after = app.get_as(&key, &format!("/v1/generations/{id}")).await;
    let after: serde_json::Value = after.json().await.unwrap();
    assert_eq!(after["status"], "succeeded");
    assert_eq!(after["videos"], done["videos"]);
    assert_eq!(app.ledger_sum(&key, &id).await, before);
}
