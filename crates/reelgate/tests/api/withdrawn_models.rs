//! A model the upstream withdraws, through the real server and the built-in simulator: it is
//! paused on its own (refunded, refused, shown unavailable) while the others run, probed again
//! after its pause, and the operator can offer it again by hand.

use crate::helpers::{json, wait_until, TestApp};
use kie_sim::{Faults, SimConfig, Withdrawal};
use reelgate::config::Settings;
use serde_json::{json, Value};
use std::time::Duration;

const SORA: &str = "sora-2-text-to-video";

fn sora() -> Value {
    json!({"model": SORA, "prompt": "a lighthouse in a storm"})
}

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"})
}

async fn model_entry(app: &TestApp, id: &str) -> Value {
    let (status, catalog) = json(app.get("/v1/models").await).await;
    assert_eq!(status, 200, "{catalog}");
    catalog["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} is not in the catalog"))
}

async fn pauses(app: &TestApp, admin: &reelgate_domain::accounts::ApiKey) -> Vec<Value> {
    let (status, body) = json(app.get_as(admin, "/v1/admin/model-pauses").await).await;
    assert_eq!(status, 200, "{body}");
    body["paused"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_model_is_paused_and_refunded_while_others_run_and_the_operator_resumes_it() {
    // Two creates per two seconds, each answered after half a second: the first Sora and
    // Kling go out, the rest are still queued when Kie's refusal comes back.
    let (webhook, inbox) = crate::balance_guard::operator_inbox().await;
    let app = TestApp::spawn_with_sim(
        Settings::default()
            .with("REELGATE_MODEL_PAUSE_SECS", "3600")
            .with("REELGATE_UPSTREAM_RATE_LIMIT", "2/2")
            .with("REELGATE_OPERATOR_WEBHOOK_URL", webhook),
        SimConfig {
            faults: Faults {
                latency: Duration::from_millis(500),
                ..Faults::default()
            },
            ..SimConfig::for_tests()
        },
    )
    .await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 10_000).await;
    app.sim.withdraw_model(SORA, Some(Withdrawal::Disabled));

    let mut soras = Vec::new();
    let mut klings = Vec::new();
    for _ in 0..5 {
        let (status, created) = app.submit(&key, sora()).await;
        assert_eq!(status, 202, "{created}");
        soras.push(created["id"].as_str().unwrap().to_owned());
        let (status, created) = app.submit(&key, kling()).await;
        assert_eq!(status, 202, "{created}");
        klings.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &soras {
        // Failed while queued, never sent: the pause refunds what waited for the model.
        let done = app.settled(&key, id).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["error"]["code"], "model_unavailable", "{done}");
        let message = done["error"]["message"].as_str().unwrap();
        assert!(message.contains("temporarily unavailable"), "{message}");
        assert!(message.contains("credits have been returned"), "{message}");
        assert!(
            !message.contains("disabled"),
            "Kie's words are the operator's: {message}"
        );
        app.assert_refunded(&key, id, done["credits"].as_i64().unwrap())
            .await;
    }
    for id in &klings {
        let done = app.settled(&key, id).await;
        assert_eq!(
            done["status"], "succeeded",
            "other models are untouched: {done}"
        );
    }
    assert!(
        app.sim.tasks().iter().all(|t| t.model != SORA),
        "Kie made no Sora task"
    );
    assert_eq!(
        app.sim.stats().creates_rejected,
        1,
        "one refusal paused the model: the other Sora generations were never sent"
    );
    let (balance_before, held) = app.balance(&key).await;
    assert_eq!(held, 0);

    // Shown unavailable, in the customer's words; the others offered as before.
    let entry = model_entry(&app, SORA).await;
    assert_eq!(entry["available"], false, "{entry}");
    assert!(
        entry["reason"]
            .as_str()
            .unwrap()
            .contains("temporarily unavailable"),
        "{entry}"
    );
    assert_eq!(
        model_entry(&app, "kling-2.6/text-to-video").await["available"],
        true
    );

    // A new submission is refused with a clear error, and nothing is charged.
    let (status, refused) = app.submit(&key, sora()).await;
    assert_eq!(status, 503, "{refused}");
    assert_eq!(refused["error"]["code"], "model_unavailable", "{refused}");
    assert_eq!(refused["error"]["field"], "model", "{refused}");
    assert_eq!(app.balance(&key).await, (balance_before, 0));
    let (status, created) = app.submit(&key, kling()).await;
    assert_eq!(status, 202, "{created}");

    // The operator is told once, by the operator webhook, with Kie's words.
    wait_until("the operator's alert", async || {
        inbox
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "upstream.model_paused")
    })
    .await;
    let alerts: Vec<Value> = inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "upstream.model_paused")
        .cloned()
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["model"], SORA);
    assert!(alerts[0]["reason"].as_str().unwrap().contains("disabled"));

    // The operator sees why, and switches it back on once Kie takes it again.
    let paused = pauses(&app, &admin).await;
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert_eq!(paused[0]["model"], SORA);
    assert!(
        paused[0]["reason"].as_str().unwrap().contains("disabled"),
        "{paused:?}"
    );
    let (status, body) = json(
        app.post_as(
            &key,
            "/v1/admin/model-pauses/resume",
            json!({"model": SORA}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "customers cannot resume a model: {body}");
    app.sim.withdraw_model(SORA, None);
    let (status, body) = json(
        app.post_as(
            &admin,
            "/v1/admin/model-pauses/resume",
            json!({"model": SORA}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(pauses(&app, &admin).await.is_empty());
    assert_eq!(model_entry(&app, SORA).await["available"], true);
    let (status, created) = app.submit(&key, sora()).await;
    assert_eq!(status, 202, "{created}");
    let done = app.settled(&key, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let (status, body) = json(
        app.post_as(
            &admin,
            "/v1/admin/model-pauses/resume",
            json!({"model": SORA}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "not paused any more: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_model_is_probed_by_one_generation_after_a_doubling_pause_until_kie_takes_it() {
    let app = TestApp::spawn_with(Settings::default().with("REELGATE_MODEL_PAUSE_SECS", "1")).await;
    let (_, admin) = app.admin().await;
    let (_, key) = app.customer("ada", 10_000).await;
    // Kie's other way of saying it: a 422 that names the model as not supported.
    app.sim.withdraw_model(SORA, Some(Withdrawal::Unsupported));

    let (_, first) = app.submit(&key, sora()).await;
    let first = app.settled(&key, first["id"].as_str().unwrap()).await;
    assert_eq!(first["error"]["code"], "model_unavailable", "{first}");
    let (status, _) = app.submit(&key, sora()).await;
    assert_eq!(status, 503, "paused");

    // After the pause one generation probes; Kie still refuses it, and the pause doubles.
    let probe = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, body) = app.submit(&key, sora()).await;
        if status == 202 {
            break body;
        }
        assert_eq!(status, 503, "{body}");
    };
    let probe = app.settled(&key, probe["id"].as_str().unwrap()).await;
    assert_eq!(probe["status"], "failed", "{probe}");
    assert_eq!(probe["error"]["code"], "model_unavailable", "{probe}");
    let paused = pauses(&app, &admin).await;
    assert_eq!(paused[0]["refused_probes"], 1, "{paused:?}");
    let (status, _) = app.submit(&key, sora()).await;
    assert_eq!(status, 503, "paused again, for twice as long");

    // Kie takes it again: the next probe goes through and the model is offered again.
    app.sim.withdraw_model(SORA, None);
    let mut probe = Value::Null;
    wait_until("a probe to be let through", async || {
        let (status, body) = app.submit(&key, sora()).await;
        probe = body;
        status == 202
    })
    .await;
    let probe = app.settled(&key, probe["id"].as_str().unwrap()).await;
    assert_eq!(probe["status"], "succeeded", "{probe}");
    assert!(pauses(&app, &admin).await.is_empty());
    assert_eq!(model_entry(&app, SORA).await["available"], true);
    let (status, created) = app.submit(&key, sora()).await;
    assert_eq!(status, 202, "{created}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kies_bare_422s_for_one_model_while_others_pass_pause_that_model_alone() {
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_MODEL_PAUSE_SECS", "3600")).await;
    let (_, key) = app.customer("ada", 10_000).await;
    let (_, other) = app.submit(&key, kling()).await;
    let other = app.settled(&key, other["id"].as_str().unwrap()).await;
    assert_eq!(other["status"], "succeeded", "another model passes");
    // Kie's answer names nothing: one or two could be this request's fault, three in a row
    // for one model while another passes are the model.
    app.sim.withdraw_model(SORA, Some(Withdrawal::Invalid));
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (status, created) = app.submit(&key, sora()).await;
        assert_eq!(status, 202, "{created}");
        let done = app.settled(&key, created["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "failed", "{done}");
        codes.push(done["error"]["code"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        codes,
        ["upstream_refused", "upstream_refused", "model_unavailable"]
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, refused) = app.submit(&key, sora()).await;
    assert_eq!(status, 503, "{refused}");
    assert_eq!(model_entry(&app, SORA).await["available"], false);
    let (status, created) = app.submit(&key, kling()).await;
    assert_eq!(status, 202, "other models are untouched: {created}");
}
