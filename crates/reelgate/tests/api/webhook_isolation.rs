//! One customer's webhooks do not hold up another's: a receiver that never answers keeps
//! only its own deliveries waiting, an endpoint that keeps failing is put off as a whole and
//! shown to the operator, and a customer may have only so many deliveries pending.

use crate::helpers::{json, wait_until, TestApp};
use crate::webhooks::start_receiver;
use reelgate::config::Settings;
use reelgate_domain::generations::GenerationId;
use reelgate_domain::media::MediaState;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An app that may post webhooks to this machine and sends creates as fast as they come.
async fn app(settings: Settings) -> TestApp {
    TestApp::spawn_with(
        settings
            .with("REELGATE_ALLOW_PRIVATE_URLS", "true")
            .with("REELGATE_UPSTREAM_RATE_LIMIT", "1000/1"),
    )
    .await
}

/// A receiver that takes connections and never answers; counts the connections it holds.
async fn start_tarpit() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let held = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&held);
    tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            sockets.push(socket);
        }
    });
    (url, held)
}

/// Submits `n` generations with `webhook_url` as `key`'s owner and waits for them to end;
/// returns their ids.
async fn finished_generations(
    app: &TestApp,
    key: &reelgate_domain::accounts::ApiKey,
    n: usize,
    webhook_url: &str,
) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let (status, created) = app
            .submit(
                key,
                json!({"model": "kling-2.6/text-to-video", "prompt": "fox", "webhook_url": webhook_url}),
            )
            .await;
        assert_eq!(status, 202, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        app.settled(key, id).await;
    }
    ids
}

async fn delivery_log(app: &TestApp, key: &reelgate_domain::accounts::ApiKey) -> Vec<Value> {
    let (status, log) = json(app.get_as(key, "/v1/account/webhook-deliveries").await).await;
    assert_eq!(status, 200, "{log}");
    log["deliveries"].as_array().unwrap().clone()
}

fn in_state<'a>(log: &'a [Value], state: &str) -> Vec<&'a Value> {
    log.iter().filter(|d| d["state"] == state).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_hold_up_another_customers_webhook() {
    let app = app(Settings::default()).await;
    let (_, mallory) = app.customer("mallory", 100_000).await;
    let (_, ada) = app.customer("ada", 1000).await;
    let (tarpit, held) = start_tarpit().await;
    // Three times what the deliverer works on at once, all queued before ada's.
    let ids = finished_generations(&app, &mallory, 48, &tarpit).await;
    wait_until("the tarpit to hold deliveries", async || {
        held.load(Ordering::SeqCst) > 0
    })
    .await;
    // Their videos copied, so that ada's waits for nothing but the deliverer (a success's
    // webhook goes out once reelgate has its own copy).
    let ids: Vec<GenerationId> = ids.iter().map(|id| id.parse().unwrap()).collect();
    wait_until("mallory's videos to be copied", async || {
        let copies = app.store.media_of(&ids).await.unwrap();
        copies.iter().all(|c| c.state != MediaState::Pending)
    })
    .await;

    let (url, receiver) = start_receiver(0).await;
    let (_, created) = app
        .submit(
            &ada,
            json!({"model": "kling-2.6/text-to-video", "prompt": "fox", "webhook_url": url}),
        )
        .await;
    app.settled(&ada, created["id"].as_str().unwrap()).await;
    let settled = Instant::now();
    while receiver.received.lock().unwrap().is_empty() {
        assert!(
            settled.elapsed() < Duration::from_secs(5),
            "ada's webhook not delivered within 5 s of her generation ending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = settled.elapsed();
    let log = delivery_log(&app, &mallory).await;
    let waiting = in_state(&log, "pending").len();
    assert!(
        waiting > 40,
        "the tarpit still holds mallory's deliveries: {waiting} pending"
    );
    assert!(in_state(&log, "delivered").is_empty());
    println!("ada's webhook delivered {took:?} after her generation ended, with {waiting} of mallory's pending at a tarpit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_keeps_failing_is_put_off_and_shown_to_the_operator() {
    let app = app(Settings::default()).await;
    let (user, ada) = app.customer("ada", 10_000).await;
    let (_, admin) = app.admin().await;
    let (url, receiver) = start_receiver(u32::MAX).await;
    // The circuit opens after this and before it is seen open: its end is bounded by both,
    // however long a loaded machine takes in between.
    let before_any = chrono::Utc::now();
    finished_generations(&app, &ada, 10, &url).await;

    let mut endpoint = Value::Null;
    wait_until(
        "the operator to see the endpoint's circuit open",
        async || {
            let (_, list) = json(app.get_as(&admin, "/v1/admin/webhook-endpoints").await).await;
            endpoint = list["endpoints"][0].clone();
            // Open, and the attempt that opened it recorded.
            endpoint["circuit"] == "open" && endpoint["failing"].as_u64() >= Some(5)
        },
    )
    .await;
    let seen_open = chrono::Utc::now();
    assert_eq!(endpoint["url"], url.as_str());
    assert_eq!(endpoint["user_id"], user.id.as_str());
    assert_eq!(endpoint["email"], user.email.as_str());
    assert_eq!(endpoint["pending"], 10, "{endpoint}");
    assert!(endpoint["failing"].as_u64().unwrap() >= 5, "{endpoint}");
    assert!(
        endpoint["last_error"].as_str().unwrap().contains("500"),
        "{endpoint}"
    );
    let open_until: chrono::DateTime<chrono::Utc> =
        endpoint["open_until"].as_str().unwrap().parse().unwrap();
    let open_for = chrono::Duration::seconds(30);
    let slack = chrono::Duration::seconds(1);
    assert!(
        open_until >= before_any + open_for - slack && open_until <= seen_open + open_for + slack,
        "open for 30 s from a moment between {before_any} and {seen_open}: {open_until}"
    );

    // Five failures in a row open it; at most three others were in flight by then. Once
    // every attempt the receiver saw is recorded, none is in flight: any later one would be
    // sent through the open circuit.
    let mut sent = 0;
    wait_until("the attempts in flight to be answered", async || {
        let recorded: u64 = delivery_log(&app, &ada)
            .await
            .iter()
            .map(|d| d["attempts"].as_u64().unwrap())
            .sum();
        sent = receiver.received.lock().unwrap().len();
        recorded == sent as u64
    })
    .await;
    assert!((5..=8).contains(&sent), "{sent} attempts");
    // Nothing is sent while the circuit is open: proved over rounds the deliverer is seen to
    // make (another customer's webhook, due after the circuit opened, delivered), not over a
    // sleep.
    let (_, bob) = app.customer("bob", 1000).await;
    let (working, delivered) = start_receiver(0).await;
    finished_generations(&app, &bob, 1, &working).await;
    wait_until("bob's webhook to be delivered", async || {
        !delivered.received.lock().unwrap().is_empty()
    })
    .await;
    assert!(
        chrono::Utc::now() < open_until,
        "the rounds ended within the open circuit"
    );
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        sent,
        "nothing is sent while the circuit is open"
    );
    // The customer's log says when each is tried next: once the circuit closes.
    for delivery in delivery_log(&app, &ada).await {
        assert_eq!(delivery["state"], "pending");
        let next: chrono::DateTime<chrono::Utc> = delivery["next_attempt_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            next >= open_until - chrono::Duration::seconds(1),
            "{delivery}"
        );
    }
    let status = app
        .get_as(&bob, "/v1/admin/webhook-endpoints")
        .await
        .status();
    assert_eq!(status, 403, "for operators only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_pending_cap_a_customers_newest_deliveries_are_given_up_saying_why() {
    let app = app(Settings::default().with("REELGATE_WEBHOOK_PENDING_CAP", "3")).await;
    let (_, ada) = app.customer("ada", 10_000).await;
    let (url, _receiver) = start_receiver(u32::MAX).await;
    finished_generations(&app, &ada, 5, &url).await;
    let mut log = Vec::new();
    wait_until("two deliveries given up", async || {
        log = delivery_log(&app, &ada).await;
        in_state(&log, "failed").len() == 2
    })
    .await;
    let pending = in_state(&log, "pending");
    assert_eq!(pending.len(), 3, "{log:?}");
    let given_up = in_state(&log, "failed");
    for delivery in &given_up {
        let error = delivery["last_error"].as_str().unwrap();
        assert!(
            error.contains("3 deliveries were already pending"),
            "{error}"
        );
        for kept in &pending {
            assert!(
                delivery["created_at"].as_str() >= kept["created_at"].as_str(),
                "the newest are given up: {log:?}"
            );
        }
    }
}
