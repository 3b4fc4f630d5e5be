//! Fair dispatch through the running app and the simulator at Kie's own limit (20 new tasks
//! per 10 s): one customer's burst no longer makes another's single video wait behind it.

use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::helpers::{json, TestApp};

const BURST: usize = 2000;
/// Kie's limit per window, which reelgate keeps to.
const PER_WINDOW: usize = 20;

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow"})
}

/// The generation id in a task's callback URL (`…/callbacks/kie/{id}/{token}`).
fn generation_of(task: &kie_sim::SimTask) -> String {
    let url = task.callback_url.as_deref().expect("a callback URL");
    url.rsplit('/').nth(1).expect("an id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_generation_goes_within_two_windows_of_another_customers_two_thousand() {
    let sim = kie_sim::SimConfig {
        rate_limit: Some(kie_sim::RateLimit::KIE),
        ..kie_sim::SimConfig::for_tests()
    };
    let app = TestApp::spawn_with_sim(reelgate::config::Settings::default(), sim).await;
    let (_, a) = app.customer("a", 10_000_000).await;
    let (_, b) = app.customer("b", 10_000).await;
    let a_ids: Vec<String> = futures::stream::iter(0..BURST)
        .map(|_| async {
            let (status, body) = app.submit(&a, kling()).await;
            assert_eq!(status, 202, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let sent_before_b = app.sim.tasks().len();
    let submitted = Instant::now();
    let (status, b_gen) = app.submit(&b, kling()).await;
    assert_eq!(status, 202, "{b_gen}");
    let b_id = b_gen["id"].as_str().unwrap().to_owned();
    let b_task = loop {
        let tasks = app.sim.tasks();
        if let Some(at) = tasks.iter().position(|t| generation_of(t) == b_id) {
            break at;
        }
        assert!(
            submitted.elapsed() < Duration::from_secs(120),
            "B was never sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let waited = submitted.elapsed();
    let a_sent_meanwhile = b_task - sent_before_b;
    println!(
        "B sent {:.1} s after it was submitted, behind {a_sent_meanwhile} of A's \
         ({sent_before_b} of A's {BURST} were sent before B came)",
        waited.as_secs_f64()
    );
    assert!(
        a_sent_meanwhile <= 2 * PER_WINDOW,
        "{a_sent_meanwhile} of A's went first"
    );
    assert!(sent_before_b < BURST, "A's burst had all gone already");

    // The rest of A's: none lost, none sent twice. (Sending all would take 1,000 s at this
    // rate; the ones still queued are canceled, which refunds them, and must never go.)
    let (app_ref, a_ref) = (&app, &a);
    let canceled: HashSet<String> = futures::stream::iter(a_ids.iter())
        .map(|id| async move {
            let (app, a) = (app_ref, a_ref);
            let response = app
                .post_as(a, &format!("/v1/generations/{id}/cancel"), json!({}))
                .await;
            (response.status().as_u16() == 200).then(|| id.clone())
        })
        .buffer_unordered(8)
        .filter_map(|c| async { c })
        .collect()
        .await;
    // Nothing canceled goes later: shown once the dispatcher has sent (and the tracker settled)
    // another of B's, submitted after the cancels, not after a sleep.
    app.after_a_round_of_the_workers(&b).await;
    let tasks = app.sim.tasks();
    let mut sent = HashSet::new();
    for task in &tasks {
        assert!(sent.insert(generation_of(task)), "sent twice: {task:?}");
    }
    for id in &a_ids {
        assert!(
            sent.contains(id) != canceled.contains(id),
            "{id} was neither sent once nor canceled"
        );
    }
    // A's burst, and B's two.
    assert_eq!(sent.len() + canceled.len(), BURST + 2);
    let (status, account) = json(app.get_as(&a, "/v1/account").await).await;
    assert_eq!(status, 200);
    // Canceled ones came back in full; what is held or spent is exactly the ones sent.
    let price = b_gen["credits"].as_i64().unwrap();
    let a_sent = i64::try_from(a_ids.len() - canceled.len()).unwrap();
    assert_eq!(
        account["balance"].as_i64().unwrap(),
        10_000_000 - a_sent * price
    );
}
