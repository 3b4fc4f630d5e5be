//! `kill -9` while generations are in flight: the `reelgate` binary is killed and restarted
//! several times against a simulator that outlives it. Every generation must end settled
//! exactly once, and none may be sent upstream twice.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_reelgate");

/// A child process that is killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Setup {
    env: Vec<(String, String)>,
    api: String,
    sim: String,
}

impl Setup {
    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.envs(self.env.iter().cloned()).stdin(Stdio::null());
        command
    }

    fn serve(&self) -> Process {
        Process(
            self.command()
                .arg("serve")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("serve starts"),
        )
    }

    fn admin(&self, args: &[&str]) -> String {
        let output = self.command().arg("admin").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "{base} never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get_json(client: &reqwest::Client, url: &str, key: &str) -> Value {
    client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "port {port} never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_flight_loses_nothing_and_settles_everything_once() {
    let data = tempfile::tempdir().unwrap();
    let (sim_port, api_port) = (free_port(), free_port());
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let setup = Setup {
        env: vec![
            (
                "REELGATE_DATABASE_URL".into(),
                format!("sqlite://{}/reelgate.db", data.path().display()),
            ),
            ("REELGATE_LISTEN".into(), format!("127.0.0.1:{api_port}")),
            ("REELGATE_KIE_API_KEY".into(), "kie-test-key".into()),
            ("REELGATE_KIE_BASE_URL".into(), sim_url.clone()),
            ("REELGATE_KIE_UPLOAD_URL".into(), sim_url.clone()),
            (
                "REELGATE_SECRET".into(),
                "a-test-secret-that-is-long-enough-1234".into(),
            ),
            ("REELGATE_UPSTREAM_RATE_LIMIT".into(), "1000/1".into()),
            ("REELGATE_UPSTREAM_TIMEOUT_MS".into(), "2000".into()),
            ("REELGATE_UNCONFIRMED_WAIT_SECS".into(), "3".into()),
            // Callbacks sent while serve is down are lost; polling must find those tasks soon.
            ("REELGATE_POLL_MIN_INTERVAL_MS".into(), "200".into()),
            ("REELGATE_POLL_MAX_INTERVAL_SECS".into(), "1".into()),
            ("RUST_LOG".into(), "warn".into()),
        ],
        api: format!("http://127.0.0.1:{api_port}"),
        sim: sim_url,
    };
    let _sim = Process(
        setup
            .command()
            .args([
                "sim",
                "--listen",
                &format!("127.0.0.1:{sim_port}"),
                "--seed",
                "7",
            ])
            .args([
                "--duration-scale",
                "0",
                "--kling-ms",
                "1200",
                "--rate-limit",
                "off",
                "--latency-ms",
                "150",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_listening(sim_port).await;
    let mut serve = setup.serve();
    wait_healthy(&client, &setup.api).await;
    setup.admin(&[
        "create-user",
        "--email",
        "ada@example.com",
        "--password",
        "correct horse battery",
    ]);
    setup.admin(&["grant", "--email", "ada@example.com", "--credits", "10000"]);
    let key = setup.admin(&["create-api-key", "--email", "ada@example.com"]);
    let key = key.lines().last().unwrap().trim().to_owned();

    let mut ids = Vec::new();
    let mut in_flight_at_kills = Vec::new();
    for round in 0..3 {
        for _ in 0..12 {
            let created: Value = client
                .post(format!("{}/v1/generations", setup.api))
                .bearer_auth(&key)
                .json(&json!({"model": "kling-2.6/text-to-video", "prompt": format!("fox, round {round}")}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            ids.push(created["id"].as_str().expect("accepted").to_owned());
        }
        tokio::time::sleep(Duration::from_millis(150 + 200 * round)).await;
        let page: Value = get_json(
            &client,
            &format!("{}/v1/generations?limit=200", setup.api),
            &key,
        )
        .await;
        let unsettled = page["generations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| matches!(g["status"].as_str(), Some("queued" | "running")))
            .count();
        in_flight_at_kills.push(unsettled);
        // SIGKILL: no chance to finish anything.
        serve.0.kill().unwrap();
        serve.0.wait().unwrap();
        serve = setup.serve();
        wait_healthy(&client, &setup.api).await;
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let generations: Vec<Value> = loop {
        let page: Value = get_json(
            &client,
            &format!("{}/v1/generations?limit=200", setup.api),
            &key,
        )
        .await;
        let all = page["generations"].as_array().unwrap().clone();
        if all
            .iter()
            .all(|g| matches!(g["status"].as_str(), Some("succeeded" | "failed")))
        {
            break all;
        }
        assert!(Instant::now() < deadline, "not all settled: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let listed: std::collections::BTreeSet<&str> = generations
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    let accepted: std::collections::BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(listed, accepted, "every accepted generation, and no other");
    assert_eq!(generations.len(), ids.len(), "each once");

    let ledger: Value = get_json(
        &client,
        &format!("{}/v1/account/ledger?limit=200", setup.api),
        &key,
    )
    .await;
    let mut rows: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for entry in ledger["entries"].as_array().unwrap() {
        if let Some(id) = entry["generation_id"].as_str() {
            let kind = entry["kind"].as_str().expect("a kind").to_owned();
            rows.entry(id.to_owned())
                .or_default()
                .push((kind, entry["amount"].as_i64().unwrap()));
        }
    }
    let mut charged = 0;
    for generation in &generations {
        let id = generation["id"].as_str().unwrap();
        let price = generation["credits"].as_i64().unwrap();
        assert!(price > 0, "{generation}");
        // A hold at submission, then exactly one settlement: charged (the hold kept) on
        // success, refunded otherwise.
        let mut kinds = rows.remove(id).unwrap_or_default();
        kinds.sort();
        let expected = if generation["status"] == "succeeded" {
            charged += price;
            vec![("charge".to_owned(), 0), ("hold".to_owned(), -price)]
        } else {
            vec![("hold".to_owned(), -price), ("refund".to_owned(), price)]
        };
        assert_eq!(kinds, expected, "the ledger rows of {generation}");
    }
    assert!(rows.is_empty(), "rows of unknown generations: {rows:?}");
    assert_eq!(ledger["balance"], 10_000 - charged);
    assert_eq!(ledger["held"], 0);

    let tasks: Vec<Value> = client
        .get(format!("{}/sim/tasks", setup.sim))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_generation: HashMap<String, usize> = HashMap::new();
    for task in &tasks {
        let url = task["callback_url"].as_str().unwrap();
        let id = url
            .split("/callbacks/kie/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap();
        *per_generation.entry(id.to_owned()).or_default() += 1;
    }
    assert!(
        per_generation.values().all(|n| *n == 1),
        "a generation was sent upstream twice: {per_generation:?}"
    );
    let succeeded = generations
        .iter()
        .filter(|g| g["status"] == "succeeded")
        .count();
    eprintln!(
        "{} generations, {succeeded} succeeded, in flight at each kill: {in_flight_at_kills:?}, upstream tasks: {}",
        generations.len(),
        tasks.len()
    );
    assert!(
        in_flight_at_kills.iter().all(|n| *n > 0),
        "each kill must hit work in flight"
    );
    assert!(
        succeeded * 2 >= generations.len(),
        "most survive the crashes: {succeeded}/{}",
        generations.len()
    );
}
