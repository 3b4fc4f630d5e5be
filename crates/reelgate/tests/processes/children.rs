//! The `reelgate` binary as child processes: a simulator (`reelgate sim`) whose state outlives
//! the server, and `reelgate serve`, which tests kill, stop and restart.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub const BINARY: &str = env!("CARGO_BIN_EXE_reelgate");

/// A secret shared by every start of one test's server, so callback tokens survive restarts.
pub const SECRET: &str = "reliability-tests-secret-0123456789abcdef";

/// A port nothing listens on right now (the OS picks it; the race with others is harmless on
/// loopback in a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `url` until it answers 2xx, or panics after `within`.
pub async fn wait_ready(client: &reqwest::Client, url: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(response) = client.get(url).send().await {
            if response.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `reelgate sim` on a port of its own.
pub struct Sim {
    child: Child,
    pub url: String,
    client: reqwest::Client,
}

impl Sim {
    pub async fn start(dir: &Path, flags: &[String]) -> Sim {
        Self::start_logging(dir, flags, "warn").await
    }

    /// With `RUST_LOG` set to `level`; its stderr goes to `sim.log` in `dir`.
    pub async fn start_logging(dir: &Path, flags: &[String], level: &str) -> Sim {
        let port = free_port();
        let log = std::fs::File::create(dir.join("sim.log")).expect("sim log");
        let child = Command::new(BINARY)
            .arg("sim")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(flags)
            .env("RUST_LOG", level)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("reelgate sim starts");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        wait_ready(
            &client,
            &format!("{url}/sim/stats"),
            Duration::from_secs(20),
        )
        .await;
        Sim { child, url, client }
    }

    pub async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("simulator answers")
            .json()
            .await
            .expect("simulator JSON")
    }

    /// Replaces the injected faults (omitted fields are off).
    pub async fn set_faults(&self, faults: &Value) {
        let response = self
            .client
            .post(format!("{}/sim/faults", self.url))
            .json(faults)
            .send()
            .await
            .expect("simulator answers");
        assert!(response.status().is_success(), "faults {faults} refused");
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// `reelgate serve` with a fixed environment, restartable on the same port and database.
pub struct Serve {
    child: Option<Child>,
    env: Vec<(String, String)>,
    dir: PathBuf,
    pub url: String,
    pub starts: u32,
    client: reqwest::Client,
}

impl Serve {
    /// Not started yet; `env` is added to the defaults (listen address, secret, log level).
    pub fn new(dir: &Path, env: Vec<(String, String)>) -> Serve {
        let port = free_port();
        let mut all = vec![
            ("REELGATE_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            ("REELGATE_SECRET".to_owned(), SECRET.to_owned()),
            ("RUST_LOG".to_owned(), "info".to_owned()),
        ];
        all.extend(env);
        Serve {
            child: None,
            env: all,
            dir: dir.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            starts: 0,
            client: reqwest::Client::new(),
        }
    }

    /// Sets (or replaces) one variable for the next starts.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BINARY);
        command
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// The stderr log of start number `n` (from 1).
    pub fn log_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("serve-{n}.log"))
    }

    /// Starts `serve` without waiting for it.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts)).expect("serve log");
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("reelgate serve starts");
        self.child = Some(child);
    }

    /// Starts `serve` and waits until it answers `/healthz`.
    pub async fn start(&mut self) {
        self.spawn();
        wait_ready(
            &self.client,
            &format!("{}/healthz", self.url),
            Duration::from_secs(30),
        )
        .await;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// `kill -9`: no chance to finish anything.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Sends SIGTERM without waiting.
    pub fn sigterm(&self) {
        let pid = self.pid().expect("serve is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit by itself, at most `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("serve is running");
        match tokio::time::timeout(within, child.wait()).await {
            Ok(status) => status.expect("wait for serve"),
            Err(_) => {
                let _ = child.start_kill();
                panic!("serve did not exit within {within:?}");
            }
        }
    }

    /// Runs `reelgate admin …` on the same database; returns its stdout.
    pub async fn admin(&self, args: &[&str]) -> String {
        let output = self
            .command()
            .arg("admin")
            .args(args)
            .output()
            .await
            .expect("reelgate admin runs");
        assert!(
            output.status.success(),
            "reelgate admin {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Like [`Serve::user`] with a password of the caller's; also returns what the CLI
    /// wrote to stderr (its logs).
    pub async fn user_logged(&self, email: &str, password: &str, credits: i64) -> (String, String) {
        let mut logs = String::new();
        let mut run = async |args: &[&str]| {
            let output = self
                .command()
                .arg("admin")
                .args(args)
                .output()
                .await
                .expect("admin runs");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            logs.push_str(&String::from_utf8_lossy(&output.stderr));
            String::from_utf8(output.stdout).expect("UTF-8")
        };
        run(&["create-user", "--email", email, "--password", password]).await;
        run(&["grant", "--email", email, "--credits", &credits.to_string()]).await;
        let out = run(&["create-api-key", "--email", email]).await;
        let key = out.lines().last().expect("the key line").trim().to_owned();
        (key, logs)
    }

    /// A customer (or operator) with `credits` and an API key, made with the admin CLI.
    pub async fn user(&self, email: &str, credits: i64, admin: bool) -> String {
        let mut create = vec![
            "create-user",
            "--email",
            email,
            "--password",
            "correct horse battery",
        ];
        if admin {
            create.push("--admin");
        }
        self.admin(&create).await;
        if credits != 0 {
            let credits = credits.to_string();
            self.admin(&["grant", "--email", email, "--credits", &credits])
                .await;
        }
        let out = self.admin(&["create-api-key", "--email", email]).await;
        out.lines().last().expect("the key line").trim().to_owned()
    }
}
