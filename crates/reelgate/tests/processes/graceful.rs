//! Stopping and failing gracefully: SIGTERM lets requests in flight finish and the workers
//! stop cleanly, losing nothing; a database that becomes unreachable gives 503s (not 500s,
//! not hangs) and the server recovers by itself when it comes back.
//!
//! A full disk is not simulated here (it needs a filesystem we can fill, which a test on a
//! shared machine should not make); SQLite's "disk full" and "I/O error" codes map to the same
//! 503 as an unreachable PostgreSQL (`StoreError::is_unavailable`).

use crate::children::{Serve, Sim};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

fn address(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

async fn generation(client: &reqwest::Client, serve: &Serve, key: &str, id: &str) -> Value {
    client
        .get(format!("{}/v1/generations/{id}", serve.url))
        .bearer_auth(key)
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["--duration-scale".into(), "0.3".into()]).await;
    let mut serve = Serve::new(
        dir.path(),
        vec![
            (
                "REELGATE_DATABASE_URL".into(),
                format!("sqlite://{}/db.sqlite", dir.path().display()),
            ),
            ("REELGATE_KIE_API_KEY".into(), "kie-key".into()),
            ("REELGATE_KIE_BASE_URL".into(), sim.url.clone()),
            ("REELGATE_KIE_UPLOAD_URL".into(), sim.url.clone()),
            ("REELGATE_POLL_MAX_INTERVAL_SECS".into(), "1".into()),
        ],
    );
    serve.start().await;
    let key = serve.user("ada@example.com", 1_000, false).await;

    // A request whose body is half sent when SIGTERM comes.
    let body = json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}).to_string();
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(address(&serve.url)).await.unwrap();
    let head = format!(
        "POST /v1/generations HTTP/1.1\r\nHost: reelgate\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    serve.sigterm();
    // New connections are refused while the half-sent request is still held open by this
    // test (so the server cannot have finished stopping): polled for, not after a guessed
    // delay that a loaded machine may overrun.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address(&serve.url)).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "a stopping server still accepts new connections 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stream.write_all(second.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let id = answer
        .split("\"id\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the generation's id")
        .to_owned();

    let exit = serve.wait_exit(Duration::from_secs(30)).await;
    assert!(exit.success(), "{exit:?}");
    let log = std::fs::read_to_string(serve.log_path(1)).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains("did not stop in time"), "{log}");
    assert!(!log.contains("panicked"), "{log}");

    // The generation accepted during shutdown is carried through by the next start.
    serve.start().await;
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let g = generation(&client, &serve, &key, &id).await;
        if g["status"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "never settled: {g}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    serve.sigterm();
    assert!(serve.wait_exit(Duration::from_secs(30)).await.success());
    sim.stop().await;
}

/// A TCP proxy to PostgreSQL that the test can cut (closing every connection and refusing
/// new ones) and restore, on the same port.
struct DbProxy {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl DbProxy {
    async fn start(target: &str) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = DbProxy {
            port,
            target: target.to_owned(),
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target.clone(), Arc::clone(&self.tasks));
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(connection.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen again on {}: {e}", self.port),
            }
        };
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_gives_503_and_the_server_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let schema = reelgate_store::testing::postgres_store()
        .await
        .expect("a PostgreSQL schema");
    let reelgate_store::DatabaseUrl::Postgres { url } = schema.url() else {
        panic!("a PostgreSQL URL");
    };
    let server = url::Url::parse(url).unwrap();
    let target = format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    );
    let proxy = DbProxy::start(&target).await;
    let mut through_proxy = server.clone();
    through_proxy.set_port(Some(proxy.port)).unwrap();
    let mut serve = Serve::new(
        dir.path(),
        vec![("REELGATE_DATABASE_URL".into(), through_proxy.to_string())],
    );
    serve.start().await;
    let key = serve.user("ada@example.com", 1_000, false).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let account = || async {
        let started = Instant::now();
        let response = client
            .get(format!("{}/v1/account", serve.url))
            .bearer_auth(&key)
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body, started.elapsed())
    };
    assert_eq!(account().await.0, 200);

    proxy.cut();
    // The first request meets pooled connections that broke, the second a refused connect.
    for _ in 0..2 {
        let (status, body, took) = account().await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(took < Duration::from_secs(15), "answered after {took:?}");
    }
    let submit = client
        .post(format!("{}/v1/generations", serve.url))
        .bearer_auth(&key)
        .json(&json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}))
        .send()
        .await
        .unwrap();
    assert_eq!(submit.status(), 503);
    let health = client
        .get(format!("{}/healthz", serve.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process itself is alive");

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body, _) = account().await;
        if status == 200 {
            assert_eq!(body["balance"], 1_000);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after the database came back: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    serve.sigterm();
    assert!(serve.wait_exit(Duration::from_secs(30)).await.success());
}
