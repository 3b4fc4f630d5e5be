//! What the operator runs around `serve`: metrics, readiness, backups, stopping, roles.
//! (Requests in flight at SIGTERM are covered by the `processes` tests.)

use reelgate_domain::accounts::ApiKey;
use reelgate_store::{DatabaseUrl, Store};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::balancer::{webhook_receiver, Hooks};
use crate::db_proxy::DbProxy;
use crate::processes::{customer, deployment_env, postgres, Process};

/// A migrated SQLite database in `dir`: its URL and a handle on it.
async fn sqlite(dir: &Path) -> (String, Store) {
    let url = format!("sqlite://{}/reelgate.db", dir.display());
    let store = Store::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (url, store)
}

fn quick_sim(dir: &Path, extra: &[&str]) -> Process {
    let mut args = vec![
        "--duration-scale",
        "0",
        "--hd-delay-ms",
        "0",
        "--rate-limit",
        "off",
    ];
    args.extend_from_slice(extra);
    Process::sim(dir, &args)
}

async fn submit(instance: &Process, key: &ApiKey, body: Value) -> String {
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/generations", instance.url))
        .bearer_auth(key.expose())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let generation: Value = answer.json().await.unwrap();
    generation["id"].as_str().unwrap().to_owned()
}

/// Polls the generation until it is final; its object.
async fn settled(instance: &Process, key: &ApiKey, id: &str) -> Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let generation: Value = client
            .get(format!("{}/v1/generations/{id}", instance.url))
            .bearer_auth(key.expose())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ["succeeded", "failed", "canceled"]
            .contains(&generation["status"].as_str().unwrap_or(""))
        {
            return generation;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {generation}\n{}",
            instance.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get(url: String) -> (u16, String) {
    let answer = reqwest::get(url).await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// The value of the series `name` whose labels include all of `labels`.
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (metric, value) = line.rsplit_once(' ')?;
            let (metric_name, rest) = metric.split_once('{').unwrap_or((metric, ""));
            let matches = metric_name == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            matches.then(|| value.parse().ok()).flatten()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_traffic_generations_upstream_calls_credits_and_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, store) = sqlite(dir.path()).await;
    let mut sim = quick_sim(dir.path(), &[]);
    sim.wait_ready("/sim/stats").await;
    let hooks_url = webhook_receiver(Hooks::default()).await;
    let mut serve = Process::serve(
        "serve",
        dir.path(),
        &[],
        &deployment_env(&database_url, &sim.url, "100/1"),
    );
    serve.wait_ready("/healthz").await;
    let key = customer(&store, "ada", 1000).await;
    let client = reqwest::Client::new();

    let kling = submit(
        &serve,
        &key,
        json!({"model": "kling-2.6/text-to-video", "prompt": "a fox",
        "webhook_url": format!("{hooks_url}/hooks/1")}),
    )
    .await;
    assert_eq!(settled(&serve, &key, &kling).await["status"], "succeeded");
    client
        .post(format!("{}/sim/faults", sim.url))
        .json(&json!({"failure_ratio": 1.0}))
        .send()
        .await
        .unwrap();
    let grok = submit(
        &serve,
        &key,
        json!({"model": "grok-imagine/text-to-video", "prompt": "a fox",
        "webhook_url": format!("{hooks_url}/hooks/2")}),
    )
    .await;
    assert_eq!(settled(&serve, &key, &grok).await["status"], "failed");
    // An upstream error of a known kind.
    client
        .post(format!("{}/sim/faults", sim.url))
        .json(&json!({"server_error_ratio": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(get(format!("{}/readyz", serve.url)).await.0, 503);
    client
        .post(format!("{}/sim/faults", sim.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (status, text) = get(format!("{}/metrics", serve.url)).await;
        assert_eq!(status, 200);
        if series(
            &text,
            "reelgate_webhook_deliveries",
            &[("state", "delivered")],
        ) == Some(2.0)
        {
            break text;
        }
        assert!(Instant::now() < deadline, "webhooks not delivered:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let kling_model = ("model", "kling-2.6/text-to-video");
    let grok_model = ("model", "grok-imagine/text-to-video");
    for (name, labels, expected) in [
        (
            "reelgate_http_requests_total",
            vec![
                ("method", "POST"),
                ("route", "/v1/generations"),
                ("status", "202"),
            ],
            Some(2.0),
        ),
        (
            "reelgate_http_request_duration_seconds_count",
            vec![("method", "POST"), ("route", "/v1/generations")],
            Some(2.0),
        ),
        (
            "reelgate_http_requests_total",
            vec![("route", "/v1/generations/{id}"), ("status", "200")],
            None,
        ),
        (
            "reelgate_generations",
            vec![("status", "succeeded"), kling_model],
            Some(1.0),
        ),
        (
            "reelgate_generations",
            vec![("status", "failed"), grok_model],
            Some(1.0),
        ),
        ("reelgate_queue_depth", vec![], Some(0.0)),
        ("reelgate_upstream_in_flight", vec![], Some(0.0)),
        ("reelgate_credits_held", vec![kling_model], Some(0.0)),
        (
            "reelgate_credits_charged_total",
            vec![kling_model],
            Some(45.0),
        ),
        (
            "reelgate_credits_refunded_total",
            vec![grok_model],
            Some(15.0),
        ),
        (
            "reelgate_generations_settled_total",
            vec![("status", "succeeded"), kling_model],
            Some(1.0),
        ),
        (
            "reelgate_webhook_attempts_total",
            vec![("outcome", "delivered")],
            Some(2.0),
        ),
        (
            "reelgate_upstream_requests_total",
            vec![("endpoint", "/api/v1/jobs/createTask"), ("outcome", "ok")],
            Some(2.0),
        ),
        (
            "reelgate_upstream_requests_total",
            vec![
                ("endpoint", "/api/v1/chat/credit"),
                ("outcome", "server_error"),
            ],
            None,
        ),
        (
            "reelgate_upstream_request_duration_seconds_count",
            vec![("endpoint", "/api/v1/jobs/createTask")],
            Some(2.0),
        ),
        ("reelgate_database_up", vec![], Some(1.0)),
    ] {
        let value = series(&text, name, &labels);
        match expected {
            Some(expected) => assert_eq!(value, Some(expected), "{name}{labels:?} in\n{text}"),
            None => assert!(
                value.is_some_and(|v| v >= 1.0),
                "{name}{labels:?} in\n{text}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_what_cannot_be_reached() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, url) = postgres().await;
    let mut through_proxy = url::Url::parse(&url).unwrap();
    let target = format!(
        "{}:{}",
        through_proxy.host_str().unwrap(),
        through_proxy.port().unwrap_or(5432)
    );
    let proxy = DbProxy::start(target).await;
    through_proxy.set_host(Some("127.0.0.1")).unwrap();
    through_proxy.set_port(Some(proxy.port)).unwrap();
    let mut sim = quick_sim(dir.path(), &[]);
    sim.wait_ready("/sim/stats").await;
    let mut serve = Process::serve(
        "serve",
        dir.path(),
        &[],
        &deployment_env(through_proxy.as_str(), &sim.url, "20/10"),
    );
    serve.wait_ready("/healthz").await;
    let readyz = || async {
        let (status, body) = get(format!("{}/readyz", serve.url)).await;
        (status, serde_json::from_str::<Value>(&body).unwrap())
    };

    let (status, body) = readyz().await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")), "{body}");

    proxy.cut();
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"]["ok"], false, "{body}");
    assert!(
        body["database"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert_eq!(body["upstream"]["ok"], true, "{body}");
    assert_eq!(
        get(format!("{}/healthz", serve.url)).await.0,
        200,
        "alive all the same"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while readyz().await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready again after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    sim.kill();
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"]["ok"], true, "{body}");
    assert_eq!(body["upstream"]["ok"], false, "{body}");
}

fn reelgate(args: &[&str], env: &HashMap<String, String>) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_reelgate"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_running_instance_opens_with_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, store) = sqlite(dir.path()).await;
    let mut sim = quick_sim(dir.path(), &[]);
    sim.wait_ready("/sim/stats").await;
    let env = deployment_env(&database_url, &sim.url, "100/1");
    let mut serve = Process::serve("serve", dir.path(), &[], &env);
    serve.wait_ready("/healthz").await;
    let key = customer(&store, "ada", 1000).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            submit(
                &serve,
                &key,
                json!({"model": "grok-imagine/text-to-video", "prompt": "a fox"}),
            )
            .await,
        );
    }
    for id in &ids {
        settled(&serve, &key, id).await;
    }

    let copy = dir.path().join("copy.db");
    let copy_arg = copy.display().to_string();
    let backup = reelgate(&["backup", "--to", &copy_arg], &env);
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(String::from_utf8_lossy(&backup.stdout).contains("copied"));

    let copied = Store::connect(&DatabaseUrl::sqlite(&copy)).await.unwrap();
    for sql in [
        "SELECT id || ':' || status || ':' || credits FROM generations ORDER BY id",
        "SELECT kind || ':' || amount || ':' || COALESCE(generation_id, '') FROM ledger_entries ORDER BY id",
        "SELECT email || ':' || balance || ':' || held FROM users ORDER BY email",
        "SELECT prefix FROM api_keys ORDER BY id",
    ] {
        let rows = |store: Store| async move {
            sqlx::query_scalar::<_, String>(sql).fetch_all(store.pool()).await.unwrap()
        };
        let (live, copy) = (rows(store.clone()).await, rows(copied.clone()).await);
        assert!(!live.is_empty(), "{sql}");
        assert_eq!(live, copy, "{sql}");
    }

    let again = reelgate(&["backup", "--to", &copy_arg], &env);
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("must not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_the_answer_to_a_create_already_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, store) = sqlite(dir.path()).await;
    // Every answer takes 1.5 s; tasks take a minute, so no callback comes meanwhile.
    let mut sim = quick_sim(dir.path(), &["--latency-ms", "1500", "--kling-ms", "60000"]);
    sim.wait_ready("/sim/stats").await;
    let env = deployment_env(&database_url, &sim.url, "100/1");
    let mut serve = Process::serve("serve", dir.path(), &[], &env);
    serve.wait_ready("/healthz").await;
    let key = customer(&store, "ada", 1000).await;
    let id = submit(
        &serve,
        &key,
        json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
    )
    .await;

    // Wait until the create has reached the simulator, whose answer is on its way.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, stats) = get(format!("{}/sim/stats", sim.url)).await;
        let stats: Value = serde_json::from_str(&stats).unwrap();
        if stats["tasks_created"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the create never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nothing else is in flight: only the workers' drain keeps the process for the answer.
    let (status, serve) = terminate(serve).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}\n{}",
        serve.log_tail()
    );
    assert!(serve.log_text().contains("shutting down"));
    let generation = store
        .generation(&id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        generation.status.to_string(),
        "running",
        "the worker recorded Kie's answer before the process went"
    );
}

/// SIGTERM, and the exit status if it exits within 30 s.
async fn terminate(mut serve: Process) -> (Option<std::process::ExitStatus>, Process) {
    tokio::task::spawn_blocking(move || (serve.terminate(Duration::from_secs(30)), serve))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_only_and_workers_only_instances_split_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let (store, database_url) = postgres().await;
    let mut sim = quick_sim(dir.path(), &[]);
    sim.wait_ready("/sim/stats").await;
    let env = deployment_env(&database_url, &sim.url, "20/1");
    let mut api = Process::serve("api", dir.path(), &["--api-only"], &env);
    api.wait_ready("/healthz").await;
    // Callbacks go to the API instance, as a load balancer in front of API instances would send them.
    let mut workers_env = env.clone();
    workers_env.insert("REELGATE_PUBLIC_URL".into(), api.url.clone());
    let mut workers = Process::serve("workers", dir.path(), &["--workers-only"], &workers_env);
    workers.wait_ready("/healthz").await;

    assert_eq!(
        get(format!("{}/v1/models", workers.url)).await.0,
        404,
        "workers serve no API"
    );
    assert_eq!(get(format!("{}/metrics", workers.url)).await.0, 200);
    assert_eq!(get(format!("{}/readyz", workers.url)).await.0, 200);

    let key = customer(&store, "ada", 1000).await;
    let id = submit(
        &api,
        &key,
        json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
    )
    .await;
    assert_eq!(settled(&api, &key, &id).await["status"], "succeeded");
    assert!(workers.log_text().contains("sent upstream"));
    assert!(
        !api.log_text().contains("sent upstream"),
        "the API instance sent nothing"
    );

    let both = reelgate(&["serve", "--api-only", "--workers-only"], &env);
    assert!(!both.status.success(), "the two roles exclude each other");
    drop((sim, api, workers));
}
