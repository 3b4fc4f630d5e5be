//! Secrets never reach a log line, at any level, nor a response that is not meant to show
//! them: the Kie key, customers' passwords, API keys and webhook secrets, the server's
//! secret, and the callback tokens derived from it. The binary runs with `RUST_LOG=trace`
//! (every crate, every level) and a real flow goes through it.
//!
//! Session tokens are not covered here: the JSON API has no sign-in route; the web app's
//! tests own them.

use crate::children::{Serve, Sim, SECRET};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KIE_KEY: &str = "kie-live-key-5f0c1d2e3a4b5c6d7e8f";
const PASSWORD: &str = "hunter2-correct-horse-battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line_or_an_unrelated_response() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start_logging(
        dir.path(),
        &[
            "--duration-scale".into(),
            "0".into(),
            "--rate-limit".into(),
            "off".into(),
        ],
        "trace",
    )
    .await;
    let hits = Arc::new(AtomicU32::new(0));
    let receiver = {
        let hits = Arc::clone(&hits);
        let router = axum::Router::new().fallback(move || {
            let hits = Arc::clone(&hits);
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        url
    };
    let mut serve = Serve::new(
        dir.path(),
        vec![
            (
                "REELGATE_DATABASE_URL".into(),
                format!("sqlite://{}/db.sqlite", dir.path().display()),
            ),
            ("REELGATE_KIE_API_KEY".into(), KIE_KEY.into()),
            ("REELGATE_KIE_BASE_URL".into(), sim.url.clone()),
            ("REELGATE_KIE_UPLOAD_URL".into(), sim.url.clone()),
            ("REELGATE_ALLOW_PRIVATE_URLS".into(), "true".into()),
            ("RUST_LOG".into(), "trace".into()),
        ],
    );
    serve.start().await;
    let (key, cli_logs) = serve.user_logged("ada@example.com", PASSWORD, 1_000).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", serve.url);

    let created: Value = client
        .post(url("/v1/account/api-keys"))
        .bearer_auth(&key)
        .json(&json!({"name": "second"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_key = created["key"].as_str().expect("the new key").to_owned();
    let webhook_secret: Value = client
        .get(url("/v1/account/webhook-secret"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook_secret = webhook_secret["webhook_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let generation: Value = client
        .post(url("/v1/generations"))
        .bearer_auth(&second_key)
        .json(&json!({"model": "veo3-fast", "prompt": "a fox", "webhook_url": receiver}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = generation["id"].as_str().expect("a generation").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while hits.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the webhook never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A wrong key, a forged callback, a failed admin call: error paths log too.
    let wrong = format!("{}x", &key[..key.len() - 1]);
    let refused = client
        .get(url("/v1/account"))
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let tasks = sim.get("/sim/tasks").await;
    let callback_url = tasks[0]["callback_url"]
        .as_str()
        .expect("a callback URL")
        .to_owned();
    let token = callback_url.rsplit('/').next().unwrap().to_owned();
    client
        .post(&callback_url)
        .json(&json!({"code": 200, "data": {"taskId": "x"}}))
        .send()
        .await
        .unwrap();

    // Every GET route of the API, as the customer: none shows a secret it is not about.
    let openapi: Value = client
        .get(url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, item) in openapi["paths"].as_object().unwrap() {
        if item.get("get").is_none() || path.contains("webhook-secret") {
            continue;
        }
        let path = path.replace("{id}", &id);
        let body = client
            .get(url(&path))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for secret in [
            KIE_KEY,
            PASSWORD,
            SECRET,
            &key,
            &second_key,
            &webhook_secret,
            &token,
        ] {
            assert!(!body.contains(secret), "GET {path} shows a secret: {body}");
        }
    }

    serve.sigterm();
    serve.wait_exit(Duration::from_secs(30)).await;
    sim.stop().await;
    let mut logs = std::fs::read_to_string(serve.log_path(1)).unwrap();
    logs.push_str(&std::fs::read_to_string(dir.path().join("sim.log")).unwrap_or_default());
    logs.push_str(&cli_logs);
    assert!(
        logs.lines().count() > 100,
        "trace logging is on: {} lines",
        logs.lines().count()
    );
    assert!(logs.contains(&id), "the logs do talk about the generation");
    for (what, secret) in [
        ("the Kie key", KIE_KEY),
        ("a password", PASSWORD),
        ("the server secret", SECRET),
        ("an API key", key.as_str()),
        ("an API key", second_key.as_str()),
        ("the API key's secret part", &key[key.len() - 24..]),
        ("a webhook secret", webhook_secret.as_str()),
        ("a callback token", token.as_str()),
    ] {
        if let Some(line) = logs.lines().find(|line| line.contains(secret)) {
            panic!("{what} is in a log line: {line}");
        }
    }
}
