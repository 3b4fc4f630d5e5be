//! The real `reelgate` binary as child processes: a simulator and `serve` instances, each
//! killed when its handle drops, even when a test panics.

use reelgate_domain::accounts::{ApiKey, Email, Password, Role};
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::{NewUser, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "scale-test-secret-shared-by-every-instance-0123456789";

/// A free port on loopback: bind to port 0, read it, let it go.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running child process; SIGKILLed on drop if still running.
pub struct Process {
    pub name: String,
    pub url: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(
        name: &str,
        port: u16,
        args: &[&str],
        env: &HashMap<String, String>,
        dir: &Path,
    ) -> Process {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let err = file.try_clone().expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_reelgate"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs(env)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err);
        let child = command.spawn().expect("reelgate starts");
        Process {
            name: name.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            child,
            log,
        }
    }

    /// `reelgate sim` on a free port.
    pub fn sim(dir: &Path, extra: &[&str]) -> Process {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["sim", "--listen", &listen, "--seed", "7"];
        args.extend_from_slice(extra);
        Process::spawn("sim", port, &args, &HashMap::new(), dir)
    }

    /// `reelgate serve` (with `flags`) on a free port, configured by `env`.
    pub fn serve(name: &str, dir: &Path, flags: &[&str], env: &HashMap<String, String>) -> Process {
        let port = free_port();
        let mut env = env.clone();
        env.insert("REELGATE_LISTEN".into(), format!("127.0.0.1:{port}"));
        // Alone, an instance receives its own callbacks.
        env.entry("REELGATE_PUBLIC_URL".into())
            .or_insert_with(|| format!("http://127.0.0.1:{port}"));
        let mut args = vec!["serve"];
        args.extend_from_slice(flags);
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("instance dir");
        Process::spawn(name, port, &args, &env, &dir)
    }

    /// Waits until `path` answers 200.
    pub async fn wait_ready(&mut self, path: &str) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(format!("{}{path}", self.url)).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{}", self.name, self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready:\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no chance to clean up, as in a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `within` for the process to exit; its exit status.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What every `serve` instance of one deployment shares: database, secret, upstream.
pub fn deployment_env(database_url: &str, sim_url: &str, rate: &str) -> HashMap<String, String> {
    [
        ("REELGATE_DATABASE_URL", database_url),
        ("REELGATE_SECRET", SECRET),
        ("REELGATE_KIE_API_KEY", "scale-test-kie-key"),
        ("REELGATE_KIE_BASE_URL", sim_url),
        ("REELGATE_KIE_UPLOAD_URL", sim_url),
        ("REELGATE_UPSTREAM_RATE_LIMIT", rate),
        ("REELGATE_ALLOW_PRIVATE_URLS", "true"),
        // Fast failover, so a killed instance's work is retaken within the test.
        ("REELGATE_UPSTREAM_TIMEOUT_MS", "2000"),
        ("REELGATE_CLAIM_LEASE_SECS", "4"),
        ("REELGATE_UNCONFIRMED_WAIT_SECS", "3"),
        ("REELGATE_POLL_MAX_INTERVAL_SECS", "2"),
        ("REELGATE_HD_WAIT_SECS", "10"),
        ("REELGATE_LOG_FORMAT", "json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A fresh PostgreSQL schema for one test, and the URL that puts `serve` in it.
pub async fn postgres() -> (reelgate_store::testing::TestStore, String) {
    let store = reelgate_store::testing::postgres_store()
        .await
        .expect("the test PostgreSQL server (REELGATE_TEST_POSTGRES_URL) is reachable");
    let url = match store.url() {
        reelgate_store::DatabaseUrl::Postgres { url } => url.clone(),
        other => panic!("not a PostgreSQL URL: {other}"),
    };
    (store, url)
}

/// A customer with `credits` and an API key, made in the database as the admin CLI would.
pub async fn customer(store: &Store, name: &str, credits: i64) -> ApiKey {
    let user = store
        .create_user(NewUser {
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            password: Password::parse("correct horse battery").unwrap(),
            role: Role::Customer,
            signup_bonus: Credits::ZERO,
        })
        .await
        .unwrap();
    store
        .grant(&user.id, Credits::new(credits), "scale test", &Actor::Cli)
        .await
        .unwrap();
    store.create_api_key(&user.id, "scale").await.unwrap().1
}

/// GETs `url` and reads its JSON answer.
pub async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url)
        .await
        .expect("an answer")
        .json()
        .await
        .expect("a JSON answer")
}
