//! The processes a benchmark measures: `reelgate sim` and `reelgate serve`, started as
//! children (of this binary, run as `reelgate`, unless `--binary` names another), so the server's memory and CPU are its own and can be read from
//! `/proc`.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed when dropped (a benchmark that fails half-way leaves nothing behind).
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Process {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak and current resident memory, in bytes (`VmHWM`, `VmRSS`).
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .with_context(|| format!("no {name} in /proc/PID/status"))?;
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .context("malformed /proc/PID/status")?
                .parse()?;
            Ok(kib * 1024)
        };
        Ok(Memory {
            peak: field("VmHWM:")?,
            current: field("VmRSS:")?,
        })
    }

    /// CPU time used so far, user and system together.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        self.stat_ticks(11..13)
    }

    /// CPU time used by its children that have ended (ffmpeg making posters).
    pub fn children_cpu_time(&self) -> anyhow::Result<Duration> {
        self.stat_ticks(13..15)
    }

    /// The sum of some tick fields of `/proc/PID/stat`, counted after the command name.
    fn stat_ticks(&self, fields: std::ops::Range<usize>) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // The command name (field 2) may hold spaces; fields after its ')' are plain.
        let after_name = stat.rsplit_once(')').context("malformed /proc/PID/stat")?.1;
        let parts: Vec<&str> = after_name.split_whitespace().collect();
        // utime, stime, cutime and cstime are fields 14 to 17 of the line, 12 to 15 after
        // the name.
        let ticks: u64 = parts
            .get(fields)
            .context("short /proc/PID/stat")?
            .iter()
            .map(|f| f.parse::<u64>())
            .sum::<Result<u64, _>>()?;
        // USER_HZ is 100 on every Linux this runs on (it is fixed by the kernel ABI).
        Ok(Duration::from_millis(ticks * 10))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub peak: u64,
    pub current: u64,
}

/// Where the children come from and where their logs go.
pub struct Launcher {
    pub binary: PathBuf,
    /// Arguments before the command (`reelgate` when the binary is this benchmark).
    pub prefix: Vec<std::ffi::OsString>,
    pub logs: PathBuf,
    /// Settings given to every server, over the scenario's own.
    pub server_env: Vec<(String, String)>,
}

impl Launcher {
    /// `reelgate sim` with these flags, on a free loopback port.
    pub async fn sim(&self, name: &str, flags: &[String]) -> anyhow::Result<Process> {
        let addr = free_addr()?;
        let mut command = self.command(name)?;
        command
            .arg("sim")
            .arg("--listen")
            .arg(addr.to_string())
            .args(flags);
        self.start(command, addr, "/sim/stats").await
    }

    /// `reelgate serve` with these settings, on a free loopback port.
    pub async fn serve(&self, name: &str, env: &[(String, String)]) -> anyhow::Result<Process> {
        let addr = free_addr()?;
        let mut command = self.command(name)?;
        command
            .arg("serve")
            .env("REELGATE_LISTEN", addr.to_string())
            .env("REELGATE_PUBLIC_URL", format!("http://{addr}"))
            .envs(env.iter().cloned())
            .envs(self.server_env.iter().cloned());
        self.start(command, addr, "/healthz").await
    }

    fn command(&self, name: &str) -> anyhow::Result<Command> {
        let log = std::fs::File::create(self.logs.join(format!("{name}.log")))?;
        let mut command = Command::new(&self.binary);
        command.args(&self.prefix);
        // Only what the benchmark sets: an operator's REELGATE_* in the shell must not leak in.
        command
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "RUST_LOG"))
            // A server on PostgreSQL keeps its files in `./data`: the run's folder, not the
            // caller's (the test suite's was the crate's source folder).
            .current_dir(&self.logs)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        Ok(command)
    }

    async fn start(
        &self,
        mut command: Command,
        addr: SocketAddr,
        ready_path: &str,
    ) -> anyhow::Result<Process> {
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        let mut process = Process { child, addr };
        let url = format!("http://{addr}{ready_path}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(answer) = client.get(&url).send().await {
                if answer.status().is_success() {
                    return Ok(process);
                }
            }
            if let Some(status) = process.child.try_wait()? {
                anyhow::bail!(
                    "{:?} exited with {status}; see the logs in {}",
                    command.get_args().next().unwrap_or_default(),
                    self.logs.display()
                );
            }
            anyhow::ensure!(Instant::now() < deadline, "{url} never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A loopback port nobody listens on right now. Another process could take it before the
/// child binds it; on a benchmark machine that does not happen in practice.
fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// The logs folder, created if missing.
pub fn logs_dir(out: &Path) -> anyhow::Result<PathBuf> {
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs)?;
    Ok(logs)
}
