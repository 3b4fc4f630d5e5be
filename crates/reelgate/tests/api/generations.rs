//! The generation lifecycle through the real HTTP server, against the simulator: every model
//! end to end, and every upstream fault the simulator can inject.

use crate::helpers::{json, TestApp};
use kie_sim::{Faults, SimConfig};
use reelgate::config::Settings;
use serde_json::{json, Value};
use std::time::Duration;

const MODELS: [&str; 11] = [
    "veo3",
    "veo3-fast",
    "veo3-lite",
    "sora-2-text-to-video",
    "sora-2-image-to-video",
    "sora-2-pro-text-to-video",
    "sora-2-pro-image-to-video",
    "kling-2.6/text-to-video",
    "kling-2.6/image-to-video",
    "grok-imagine/text-to-video",
    "grok-imagine/image-to-video",
];

fn request(model: &str) -> Value {
    let mut body = json!({"model": model, "prompt": "a red fox running through snow"});
    if model.contains("image-to-video") {
        body["image_urls"] = json!(["https://images.example.com/fox.png"]);
    }
    // Veo sold at 1080p, so its 1080p version is fetched (720p, the default, has none).
    if model.starts_with("veo3") {
        body["resolution"] = json!("1080p");
    }
    body
}

fn kling() -> Value {
    request("kling-2.6/text-to-video")
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_model_generates_a_playable_video_and_is_charged_once() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 10_000).await;
    let mut spent = 0;
    let mut ids = Vec::new();
    for model in MODELS {
        let (status, created) = app.submit(&key, request(model)).await;
        assert_eq!(status, 202, "{model}: {created}");
        assert_eq!(created["status"], "queued");
        spent += created["credits"].as_i64().unwrap();
        ids.push((model, created["id"].as_str().unwrap().to_owned()));
    }
    for (model, id) in &ids {
        let done = app.settled(&key, id).await;
        assert_eq!(done["status"], "succeeded", "{model}: {done}");
        let videos = done["videos"].as_array().unwrap();
        assert!(!videos.is_empty(), "{model}");
        let video = app
            .client
            .get(videos[0]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(video.status(), 200);
        let bytes = video.bytes().await.unwrap();
        assert_eq!(&bytes[4..8], b"ftyp", "{model}: an MP4 file");
        if model.starts_with("veo3") {
            let resolutions: Vec<_> = videos.iter().map(|v| v["resolution"].clone()).collect();
            assert_eq!(
                resolutions,
                vec![json!("720p"), json!("1080p")],
                "{model}: sold at 1080p, gets 1080p"
            );
        }
        app.assert_charged(&key, id, done["credits"].as_i64().unwrap())
            .await;
    }
    assert_eq!(app.balance(&key).await, (10_000 - spent, 0));
    assert_eq!(
        app.sim.tasks().len(),
        MODELS.len(),
        "one upstream task per generation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_failure_fails_the_generation_and_refunds_it_once() {
    let app = TestApp::with_faults(Faults {
        failure_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let id = created["id"].as_str().unwrap();
    let done = app.settled(&key, id).await;
    assert_eq!(done["status"], "failed");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with("Your credits have been returned."),
        "{message}"
    );
    assert!(!message.contains(".."), "one stop per sentence: {message}");
    assert_eq!(app.balance(&key).await, (100, 0));
    let (sum, kinds) = app.ledger_sum(&key, id).await;
    assert_eq!(
        (sum, kinds),
        (0, vec!["refund".to_owned(), "hold".to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_callbacks_are_made_up_for_by_polling() {
    let app = TestApp::with_faults(Faults {
        drop_callback_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let done = app.settled(&key, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(app.sim.stats().callbacks_sent, 0, "{:?}", app.sim.stats());
}

/// Tasks that end at once call back before their create is answered; that callback must
/// still make the generation settle now, not at the first scheduled look (ten minutes here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_that_beat_the_create_answer_still_settle_at_once() {
    let app = TestApp::spawn_polling(
        Settings::default().with("REELGATE_UPSTREAM_RATE_LIMIT", "1000/1"),
        SimConfig::for_tests(),
        Duration::from_secs(600),
        Duration::from_secs(600),
    )
    .await;
    let (_, key) = app.customer("ada", 10_000).await;
    let mut ids = Vec::new();
    for _ in 0..30 {
        let (status, created) = app.submit(&key, kling()).await;
        assert_eq!(status, 202, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(app.settled(&key, id).await["status"], "succeeded");
    }
    let stats = app.sim.stats();
    assert_eq!(
        stats.requests["GET /api/v1/jobs/recordInfo"], 30,
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_late_callbacks_settle_nothing_twice() {
    let app = TestApp::with_faults(Faults {
        duplicate_callback_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let done = app.settled(&key, &id).await;
    assert_eq!(done["status"], "succeeded");
    // A late replay of Kie's callback, to the URL Kie was given.
    let task = app.sim.tasks().into_iter().next().unwrap();
    let callback_url = task.callback_url.clone().unwrap();
    let replay = app
        .client
        .post(&callback_url)
        .json(&json!({"code": 200, "msg": "success", "data": {"taskId": task.task_id, "state": "success",
            "resultJson": "{\"resultUrls\":[\"https://x/v.mp4\"]}", "failCode": "", "failMsg": ""}}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    app.after_a_round_of_the_workers(&key).await;
    app.assert_charged(&key, &id, done["credits"].as_i64().unwrap())
        .await;
    assert_eq!(app.balance(&key).await.1, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_callbacks_are_refused() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let id = created["id"].as_str().unwrap();
    let body = json!({"code": 200, "data": {"taskId": "task_forged", "state": "success",
        "resultJson": "{\"resultUrls\":[\"https://evil/v.mp4\"]}"}});
    let forged = app
        .client
        .post(app.url(&format!(
            "/callbacks/kie/{id}/00000000000000000000000000000000"
        )))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let unknown =
        app.client
            .post(app.url(
                "/callbacks/kie/gen_01jd3xk2v8m4q9r7s6t5w4y3z2/00000000000000000000000000000000",
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(
        unknown.status(),
        403,
        "a wrong token tells nothing, not even whether the id exists"
    );
    let done = app.settled(&key, id).await;
    let urls = done["videos"].to_string();
    assert!(!urls.contains("evil"), "{urls}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_keep_the_generation_queued_until_upstream_recovers() {
    let app = TestApp::with_faults(Faults {
        server_error_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    wait_until("the generation to wait for capacity", async || {
        let (_, g) = json(app.get_as(&key, &format!("/v1/generations/{id}")).await).await;
        g["status"] == "queued" && g["waiting_for"].is_string()
    })
    .await;
    assert!(
        app.sim.tasks().is_empty(),
        "a create that got a 5xx created nothing"
    );
    app.sim.set_faults(Faults::default());
    let done = app.settled(&key, &id).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(app.sim.tasks().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_account_out_of_credits_fails_and_refunds_after_the_configured_wait() {
    let app = TestApp::spawn_with_sim(
        Settings::default().with("REELGATE_UPSTREAM_WAIT_SECS", "1"),
        SimConfig {
            initial_balance: 0.into(),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let done = app.settled(&key, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error"]["code"], "upstream_unavailable");
    assert_eq!(app.balance(&key).await, (100, 0));
    assert!(app.sim.tasks().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_creates_are_retried_and_all_complete() {
    let app = TestApp::spawn_with_sim(
        Settings::default().with("REELGATE_UPSTREAM_RATE_LIMIT", "100/1"),
        SimConfig {
            rate_limit: Some(kie_sim::RateLimit {
                requests: 2,
                per: Duration::from_secs(1),
            }),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 1000).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (_, created) = app.submit(&key, kling()).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(app.settled(&key, id).await["status"], "succeeded");
    }
    assert_eq!(
        app.sim.tasks().len(),
        5,
        "each generation created upstream once"
    );
    assert!(
        app.sim.stats().rate_limited > 0,
        "the simulator did refuse some creates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reelgate_itself_never_exceeds_the_configured_rate() {
    let app = TestApp::spawn_with_sim(
        Settings::default().with("REELGATE_UPSTREAM_RATE_LIMIT", "3/1"),
        SimConfig {
            rate_limit: Some(kie_sim::RateLimit {
                requests: 3,
                per: Duration::from_secs(1),
            }),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 1000).await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        let (_, created) = app.submit(&key, kling()).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(app.settled(&key, id).await["status"], "succeeded");
    }
    let stats = app.sim.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert!(stats.max_creates_in_window <= 3, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_never_sent_twice_and_still_completes() {
    let app = TestApp::spawn_with_sim(
        Settings::default().with("REELGATE_UPSTREAM_TIMEOUT_MS", "300"),
        SimConfig {
            faults: Faults {
                latency: Duration::from_millis(1500),
                ..Faults::default()
            },
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    wait_until("the simulator to have the task", async || {
        !app.sim.tasks().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.sim.set_faults(Faults::default());
    let done = app.settled(&key, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(app.sim.tasks().len(), 1, "never re-sent");
    app.assert_charged(&key, &id, done["credits"].as_i64().unwrap())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_generation_can_be_canceled_and_is_refunded() {
    let app = TestApp::spawn_with_sim(
        Settings::default().with("REELGATE_MAX_CONCURRENT_TASKS", "1"),
        SimConfig {
            durations: kie_sim::Durations::uniform(Duration::from_secs(3)),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, first) = app.submit(&key, kling()).await;
    let first = first["id"].as_str().unwrap().to_owned();
    wait_until("the first to run", async || app.sim.tasks().len() == 1).await;
    let (_, second) = app.submit(&key, kling()).await;
    let second = second["id"].as_str().unwrap().to_owned();
    assert_eq!(app.balance(&key).await, (10, 90));
    let (status, canceled) = json(
        app.post_as(&key, &format!("/v1/generations/{second}/cancel"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(app.balance(&key).await, (55, 45));
    let (status, refused) = json(
        app.post_as(&key, &format!("/v1/generations/{first}/cancel"), json!({}))
            .await,
    )
    .await;
    assert_eq!(
        status, 409,
        "a running generation cannot be canceled: {refused}"
    );
    assert_eq!(refused["error"]["code"], "not_cancelable");
    assert_eq!(app.settled(&key, &first).await["status"], "succeeded");
    assert_eq!(app.balance(&key).await, (55, 0));
    assert_eq!(
        app.sim.tasks().len(),
        1,
        "the canceled one never went upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_returns_the_first_response_and_refuses_another_body() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 1000).await;
    let send = |body: Value| {
        app.client
            .post(app.url("/v1/generations"))
            .bearer_auth(key.expose())
            .header("Idempotency-Key", "order-42")
            .json(&body)
            .send()
    };
    let (s1, first) = json(send(kling()).await.unwrap()).await;
    let (s2, again) = json(send(kling()).await.unwrap()).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first, again, "the first response, verbatim");
    let mut other = kling();
    other["duration"] = json!(10);
    let (s3, conflict) = json(send(other).await.unwrap()).await;
    assert_eq!(s3, 409, "{conflict}");
    assert_eq!(conflict["error"]["code"], "idempotency_conflict");
    app.settled(&key, first["id"].as_str().unwrap()).await;
    assert_eq!(app.balance(&key).await, (1000 - 45, 0), "charged once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_racing_submissions_on_a_balance_for_ten_accept_exactly_ten() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 450).await;
    let submissions = (0..40).map(|_| app.submit(&key, kling()));
    let answers = futures::future::join_all(submissions).await;
    let accepted: Vec<_> = answers.iter().filter(|(s, _)| *s == 202).collect();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 402 && b["error"]["code"] == "insufficient_credits");
    assert_eq!(accepted.len(), 10);
    assert_eq!(refused.count(), 30);
    for (_, created) in accepted {
        app.settled(&key, created["id"].as_str().unwrap()).await;
    }
    assert_eq!(app.balance(&key).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_costs_nothing() {
    let app = TestApp::spawn().await;
    let (_, key) = app.customer("ada", 100).await;
    for (body, field) in [
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "x", "aspect_ratio": "4:3"}),
            "aspect_ratio",
        ),
        (json!({"model": "nope", "prompt": "x"}), "model"),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "x", "colour": "red"}),
            "colour",
        ),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "x", "webhook_url": "http://127.0.0.1/hook"}),
            "webhook_url",
        ),
        (
            json!({"model": "kling-2.6/text-to-video", "prompt": "x", "webhook_url": "http://169.254.169.254/"}),
            "webhook_url",
        ),
        (
            json!({"model": "sora-2-image-to-video", "prompt": "x", "image_urls": ["http://10.0.0.1/a.png"]}),
            "image_urls",
        ),
    ] {
        let (status, error) = app.submit(&key, body.clone()).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    assert_eq!(app.balance(&key).await, (100, 0));
    let (_, list) = json(app.get_as(&key, "/v1/generations").await).await;
    assert_eq!(list["generations"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_see_only_their_own_generations() {
    let app = TestApp::spawn().await;
    let (_, ada) = app.customer("ada", 100).await;
    let (_, bob) = app.customer("bob", 100).await;
    let (_, created) = app.submit(&ada, kling()).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.get_as(&bob, &format!("/v1/generations/{id}"))
            .await
            .status(),
        404
    );
    let cancel = app
        .post_as(&bob, &format!("/v1/generations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(cancel.status(), 404);
    let (_, list) = json(app.get_as(&bob, "/v1/generations").await).await;
    assert_eq!(list["generations"], json!([]));
    let (_, list) = json(
        app.get_as(&ada, "/v1/generations?status=queued,running")
            .await,
    )
    .await;
    assert_eq!(list["error"]["field"], "status");
    assert_eq!(
        app.client
            .get(app.url("/v1/generations"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veo_1080p_that_lags_joins_the_succeeded_generation_later() {
    let app = TestApp::spawn_with_sim(
        Settings::default(),
        SimConfig {
            hd_delay: Duration::from_millis(1500),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, request("veo3-fast")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let done = app.settled(&key, &id).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(
        done["videos"].as_array().unwrap().len(),
        1,
        "720p first: {done}"
    );
    wait_until("the 1080p video", async || {
        let (_, g) = json(app.get_as(&key, &format!("/v1/generations/{id}")).await).await;
        g["videos"].as_array().unwrap().len() == 2
    })
    .await;
    let (_, g) = json(app.get_as(&key, &format!("/v1/generations/{id}")).await).await;
    assert_eq!(g["videos"][1]["resolution"], "1080p");
    assert_eq!(
        app.balance(&key).await,
        (100 - 55, 0),
        "charged once, the 1080p price"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_running_past_the_limit_fails_and_is_refunded() {
    let app = TestApp::spawn_with_sim(
        Settings::default().with("REELGATE_MAX_RUNNING_SECS", "1"),
        SimConfig {
            durations: kie_sim::Durations::uniform(Duration::from_secs(30)),
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, key) = app.customer("ada", 100).await;
    let (_, created) = app.submit(&key, kling()).await;
    let done = app.settled(&key, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error"]["code"], "timed_out");
    assert_eq!(app.balance(&key).await, (100, 0));
}
