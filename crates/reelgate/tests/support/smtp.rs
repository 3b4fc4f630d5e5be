//! A real SMTP server for the tests: Python's `aiosmtpd` (from the workspace's `.venv`, made by
//! `scripts/pyenv.sh`), started on a port of our choosing, recording every mail it accepts.
//! Missing, it fails the test with a message saying how to install it; nothing is skipped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One mail as the server received it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Lower-cased names.
    pub headers: std::collections::BTreeMap<String, String>,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// The first link into `base` in the text part (what a reader would click or copy).
    pub fn link(&self, base: &str) -> String {
        let text = self.text.as_deref().unwrap_or_default();
        let start = text
            .find(base)
            .unwrap_or_else(|| panic!("no link to {base} in {text}"));
        text[start..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

pub struct SmtpServer {
    pub port: u16,
    log: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let has_aiosmtpd = venv.is_file()
        && Command::new(&venv)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        has_aiosmtpd,
        "aiosmtpd not found in {}: run `bash scripts/pyenv.sh` (it installs \
         scripts/python-requirements.txt). The mail tests do not skip themselves.",
        venv.display()
    );
    venv
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl SmtpServer {
    /// A server on a free port.
    pub fn start() -> SmtpServer {
        let mut server = SmtpServer::on(free_port());
        server.resume();
        server
    }

    /// A server for `port` that is not running yet (a mail server that is down).
    pub fn on(port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        SmtpServer {
            port,
            log: dir.path().join("received.jsonl"),
            child: None,
            _dir: dir,
        }
    }

    /// `smtp://127.0.0.1:PORT`: a plain relay, as `REELGATE_SMTP_URL` names one.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Starts (or restarts) listening.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(self.port.to_string())
            .arg(&self.log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP server starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the SMTP server says it is ready");
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        self.child = Some(child);
    }

    /// Stops listening (what it received stays readable).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn received(&self) -> Vec<Received> {
        let Ok(text) = std::fs::read_to_string(&self.log) else {
            return Vec::new();
        };
        text.lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line per mail"))
            .collect()
    }

    /// Waits (up to 30 s) until `n` mails have arrived, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} mails arrived: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
