//! Fair dispatch and the queue's estimates across three `serve` processes on one PostgreSQL
//! database, against the simulator's rate limit: the order is the shared claim's, not an
//! instance's, and the estimated start holds when the rate window is shared.
//!
//! Short by default (150 of A's, the ones still queued once B has gone canceled); the
//! figures of `docs/PERFORMANCE.md` come from the full run, which sends every one of A's:
//! `REELGATE_FAIR_BURST=2000 REELGATE_FAIR_SEND_ALL=1` (at Kie's 20/10 s, about 17 minutes).

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reelgate_domain::accounts::ApiKey;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::multi_instance::{assert_ledger_settled_once, wait_until_everything_settled};
use crate::processes::{customer, deployment_env, get_json, postgres, Process};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `N/SECONDS` as (N, the window).
fn rate_of(rate: &str) -> (usize, Duration) {
    let (n, secs) = rate.split_once('/').expect("a rate is N/SECONDS");
    (
        n.parse().expect("N"),
        Duration::from_secs(secs.parse().expect("SECONDS")),
    )
}

fn kling(i: usize) -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": format!("a red fox, take {i}")})
}

/// A simulator at `rate` whose Kling videos take a second, and three instances on
/// `database_url` keeping to the same rate.
async fn deployment(dir: &Path, database_url: &str, rate: &str) -> (Process, Vec<Process>) {
    let mut sim = Process::sim(dir, &["--kling-ms", "1000", "--rate-limit", rate]);
    sim.wait_ready("/sim/stats").await;
    let env = deployment_env(database_url, &sim.url, rate);
    let mut instances: Vec<Process> = (0..3)
        .map(|n| Process::serve(&format!("serve{n}"), dir, &[], &env))
        .collect();
    for instance in &mut instances {
        instance.wait_ready("/healthz").await;
    }
    (sim, instances)
}

/// How many submissions were answered 5xx and tried again.
static RETRIED: AtomicUsize = AtomicUsize::new(0);

/// Submits `body`, retrying a 5xx (the database busy for now) with the same
/// `Idempotency-Key`, as a client told to retry does: one generation however many tries.
async fn submit(
    client: &reqwest::Client,
    base: &str,
    key: &ApiKey,
    body: &Value,
    idempotency_key: &str,
) -> String {
    for _ in 0..20 {
        let answer = client
            .post(format!("{base}/v1/generations"))
            .bearer_auth(key.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(body)
            .timeout(Duration::from_secs(15))
            .send()
            .await;
        match answer {
            Ok(answer) if answer.status() == 202 => {
                let body: Value = answer.json().await.expect("JSON");
                return body["id"].as_str().expect("an id").to_owned();
            }
            Ok(answer) if answer.status().is_server_error() => {}
            Ok(answer) => panic!(
                "{}: {}",
                answer.status(),
                answer.text().await.unwrap_or_default()
            ),
            Err(_) => {}
        }
        RETRIED.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("submission {idempotency_key} never got an answer");
}

/// GETs `url` as `key`'s customer and reads its JSON answer.
async fn get_as(client: &reqwest::Client, key: &ApiKey, url: &str) -> Value {
    let answer = client.get(url).bearer_auth(key.expose()).send().await;
    answer.expect("an answer").json().await.expect("JSON")
}

/// `n` submissions of `key`'s, spread over the instances in turn.
async fn burst(instances: &[Process], key: &ApiKey, name: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    futures::stream::iter(0..n)
        .map(|i| {
            let (client, base) = (client.clone(), instances[i % instances.len()].url.clone());
            async move { submit(&client, &base, key, &kling(i), &format!("{name}-{i}")).await }
        })
        .buffer_unordered(8)
        .collect()
        .await
}

/// The simulator's tasks, oldest first: (generation id from the callback URL, created ms).
async fn sim_tasks(sim: &Process) -> Vec<(String, u64)> {
    let tasks: Vec<Value> =
        serde_json::from_value(get_json(&format!("{}/sim/tasks", sim.url)).await).unwrap();
    let mut tasks: Vec<(String, u64)> = tasks
        .iter()
        .map(|t| {
            let callback = t["callback_url"].as_str().expect("a callback URL");
            let id = callback.rsplit('/').nth(1).expect("an id").to_owned();
            (id, t["created_ms"].as_u64().expect("created_ms"))
        })
        .collect();
    tasks.sort_by_key(|t| t.1);
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_generation_goes_within_two_windows_of_another_customers_burst_on_three_instances() {
    let burst_size: usize = setting("REELGATE_FAIR_BURST", 150);
    let send_all = setting("REELGATE_FAIR_SEND_ALL", 0) == 1;
    let rate: String = setting("REELGATE_FAIR_RATE", "20/10".to_owned());
    let (per_window, window) = rate_of(&rate);
    let dir = tempfile::tempdir().unwrap();
    let (store, database_url) = postgres().await;
    let (sim, instances) = deployment(dir.path(), &database_url, &rate).await;
    let a = customer(&store, "a", 100_000_000).await;
    let b = customer(&store, "b", 10_000).await;

    let started = Instant::now();
    let a_ids = burst(&instances, &a, "a", burst_size).await;
    let submitted_in = started.elapsed();
    let sent_before_b = sim_tasks(&sim).await.len();
    let b_submitted = Instant::now();
    let b_id = submit(
        &reqwest::Client::new(),
        &instances[2].url,
        &b,
        &kling(0),
        "b",
    )
    .await;
    let (b_place, waited) = loop {
        let tasks = sim_tasks(&sim).await;
        if let Some(at) = tasks.iter().position(|t| t.0 == b_id) {
            break (at, b_submitted.elapsed());
        }
        assert!(
            b_submitted.elapsed() < Duration::from_secs(120),
            "B was never sent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let a_sent_meanwhile = b_place - sent_before_b;
    println!(
        "3 instances on PostgreSQL at {rate}: A's {burst_size} submitted in {:.1} s \
         ({} tries again after a 5xx); B sent {:.1} s after it was submitted, behind \
         {a_sent_meanwhile} of A's ({sent_before_b} of A's had gone before B came)",
        submitted_in.as_secs_f64(),
        RETRIED.load(Ordering::Relaxed),
        waited.as_secs_f64()
    );
    assert!(sent_before_b < burst_size, "A's burst had all gone already");
    assert!(
        a_sent_meanwhile <= 2 * per_window,
        "{a_sent_meanwhile} of A's went first"
    );

    // All of A's still go (or, in the short run, the ones still queued are canceled, which
    // refunds them, and must then never go): none lost, none twice.
    let canceled: HashSet<String> = if send_all {
        HashSet::new()
    } else {
        let client = reqwest::Client::new();
        let (client, a, base) = (&client, &a, &instances[0].url);
        futures::stream::iter(a_ids.iter())
            .map(|id| async move {
                let answer = client
                    .post(format!("{base}/v1/generations/{id}/cancel"))
                    .bearer_auth(a.expose())
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("an answer");
                (answer.status() == 200).then(|| id.clone())
            })
            .buffer_unordered(4)
            .filter_map(|c| async { c })
            .collect()
            .await
    };
    let sending = window * u32::try_from((burst_size - canceled.len()) / per_window + 1).unwrap();
    wait_until_everything_settled(&store, &instances, sending + Duration::from_secs(60)).await;
    let all_in = started.elapsed();
    let tasks = sim_tasks(&sim).await;
    let mut sent = HashSet::new();
    for (id, _) in &tasks {
        assert!(sent.insert(id.clone()), "{id} sent twice");
    }
    assert!(sent.contains(&b_id));
    for id in &a_ids {
        assert!(
            sent.contains(id) != canceled.contains(id),
            "{id} was neither sent once nor canceled"
        );
    }
    assert_eq!(
        sent.len() + canceled.len(),
        burst_size + 1,
        "nothing else sent"
    );
    let statuses = assert_ledger_settled_once(&store).await;
    let count_of = |status: &str| statuses.get(status).copied().unwrap_or(0);
    assert_eq!(
        (count_of("succeeded"), count_of("canceled")),
        (
            i64::try_from(sent.len()).unwrap(),
            i64::try_from(canceled.len()).unwrap()
        ),
        "{statuses:?}"
    );
    let stats = get_json(&format!("{}/sim/stats", sim.url)).await;
    assert_eq!(
        stats["rate_limited"], 0,
        "kept to the shared limit: {stats}"
    );
    println!(
        "{} sent, each once, and settled {:.1} s after the burst began ({} of A's canceled \
         while queued); busiest window {} creates",
        sent.len(),
        all_in.as_secs_f64(),
        canceled.len(),
        stats["max_creates_in_window"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_estimated_start_of_a_queue_of_two_hundred_holds_on_three_instances() {
    // At Kie's own 20 per 10 s, as the estimate is promised (about 100 s). On a 5 s window a
    // loaded machine's jitter of a second or so is already 20-30 % of the shortest waits.
    let rate: String = setting("REELGATE_FAIR_ETA_RATE", "20/10".to_owned());
    let (_, window) = rate_of(&rate);
    let queue: usize = setting("REELGATE_FAIR_ETA_QUEUE", 200);
    let dir = tempfile::tempdir().unwrap();
    let (store, database_url) = postgres().await;
    let (sim, instances) = deployment(dir.path(), &database_url, &rate).await;
    let a = customer(&store, "a", 100_000_000).await;
    let client = reqwest::Client::new();
    // A few finish first, so the model's run time is measured.
    for id in burst(&instances, &a, "warm", 3).await {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let g = get_as(
                &client,
                &a,
                &format!("{}/v1/generations/{id}", instances[0].url),
            )
            .await;
            if g["status"] == "succeeded" {
                break;
            }
            assert!(Instant::now() < deadline, "{g}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let ids = burst(&instances, &a, "a", queue).await;
    let read_at = Utc::now();
    let page = get_as(
        &client,
        &a,
        &format!(
            "{}/v1/generations?status=queued&limit={queue}",
            instances[1].url
        ),
    )
    .await;
    let estimates: Vec<(String, DateTime<Utc>)> = page["generations"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|g| {
            let at = g["estimated_start_at"].as_str().expect("an estimate");
            (g["id"].as_str().unwrap().to_owned(), at.parse().unwrap())
        })
        .collect();
    assert!(
        estimates.len() >= queue / 2,
        "most wait: {}",
        estimates.len()
    );
    let deadline = Instant::now() + window * u32::try_from(queue / 20 + 6).unwrap();
    while sim_tasks(&sim).await.len() < queue + 3 {
        assert!(Instant::now() < deadline, "not all sent");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent: HashMap<String, u64> = sim_tasks(&sim).await.into_iter().collect();
    assert!(ids.iter().all(|id| sent.contains_key(id)));
    let read_ms = read_at.timestamp_millis() as f64;
    let window_ms = window.as_millis() as f64;
    let (mut errors, mut worst_absolute) = (Vec::new(), 0.0f64);
    for (id, estimate) in &estimates {
        let actual = sent[id] as f64 - read_ms;
        let estimated = estimate.timestamp_millis() as f64 - read_ms;
        worst_absolute = worst_absolute.max((estimated - actual).abs());
        // Within the first window the wait is too short for a ratio to mean anything.
        if actual >= window_ms {
            errors.push((estimated - actual) / actual);
        }
    }
    errors.sort_by(f64::total_cmp);
    let worst = errors.iter().fold(0.0f64, |w, e| w.max(e.abs()));
    println!(
        "ETA on 3 instances (PostgreSQL) of {} queued (of {queue}) at {rate}: relative error \
         median {:+.1} %, worst {:.1} % over {} waiting at least a window; worst absolute {:.2} s",
        estimates.len(),
        errors[errors.len() / 2] * 100.0,
        worst * 100.0,
        errors.len(),
        worst_absolute / 1000.0
    );
    assert!(
        worst <= 0.30,
        "an estimate was off by {:.0} %",
        worst * 100.0
    );
}
