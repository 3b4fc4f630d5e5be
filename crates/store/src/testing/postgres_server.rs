//! A PostgreSQL server of the test process's own: `initdb` into a temporary directory and
//! `postgres` on a free port, from the installed server binaries. Nothing has to be running or
//! created beforehand.
//!
//! A small shell watches a pipe from this process. However the process ends (tests done, a
//! panic, `kill -9`), the kernel closes the pipe, and the shell stops the server and deletes its
//! directory: no server outlives the tests.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;

/// The URL of this process's server, started on first use.
///
/// # Panics
/// When no server can be started (binaries missing, `initdb` failing): the tests that need
/// PostgreSQL fail with the reason, they do not skip.
pub(super) fn url() -> &'static str {
    static SERVER: OnceLock<Result<TempServer, String>> = OnceLock::new();
    match SERVER.get_or_init(TempServer::start) {
        Ok(server) => &server.url,
        Err(reason) => panic!("{reason}"),
    }
}

struct TempServer {
    url: String,
    /// Never written; closed only when this process ends, which tells the watcher to stop.
    _watch: ChildStdin,
}

/// `sh -c` with `$1` the binaries' directory, `$2` a new empty directory, `$3` the port.
/// Prints `ready` once the server answers, or the reason it could not start.
const WATCHER: &str = r#"
bin=$1; dir=$2; port=$3; log=$dir/server.log
# A Ctrl-C reaches the whole process group, and the test process may be gone before `ready`
# is read: outlive both to clean up.
trap '' INT TERM HUP PIPE
as_owner=
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root.
  owner=nobody
  id -u postgres >/dev/null 2>&1 && owner=postgres
  chown "$owner" "$dir" || exit 1
  as_owner="setpriv --reuid=$owner --regid=$(id -g "$owner") --clear-groups --"
fi
if ! $as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
    --locale=C </dev/null >"$log" 2>&1; then
  echo "initdb failed:"; tail -n 20 "$log"; rm -rf "$dir"; exit 1
fi
# A plain command (setpriv execs it), so that $! is the server itself.
$as_owner "$bin/postgres" -D "$dir/data" -h 127.0.0.1 -p "$port" -k "$dir" \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
  </dev/null >>"$log" 2>&1 &
pid=$!
tries=0
until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
  tries=$((tries + 1))
  if ! kill -0 "$pid" 2>/dev/null || [ "$tries" -gt 600 ]; then
    echo "postgres did not start on port $port:"; tail -n 20 "$log"
    kill -INT "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir"; exit 1
  fi
  sleep 0.1
done
echo ready
# The test process may be gone by the time anything is written: never to its pipe.
exec >>"$log" 2>&1
read -r _
kill -INT "$pid"; wait "$pid"
rm -rf "$dir"
"#;

impl TempServer {
    fn start() -> Result<TempServer, String> {
        let bin = server_binaries()?;
        let mut last = String::new();
        // The port is free when chosen, but another process may take it before the server
        // binds it: then try another.
        for _ in 0..3 {
            match Self::start_once(&bin) {
                Ok(server) => return Ok(server),
                Err(reason) => last = reason,
            }
        }
        Err(last)
    }

    fn start_once(bin: &std::path::Path) -> Result<TempServer, String> {
        let dir = std::env::temp_dir().join(format!(
            "reelgate-postgres-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut watcher = Command::new("sh")
            .arg("-c")
            .arg(WATCHER)
            .arg("sh")
            .arg(bin)
            .arg(&dir)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run sh to start PostgreSQL: {e}"))?;
        let (Some(watch), Some(stdout)) = (watcher.stdin.take(), watcher.stdout.take()) else {
            return Err("sh started without its pipes".to_owned());
        };
        let mut stdout = BufReader::new(stdout);
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        if first.trim() == "ready" {
            return Ok(TempServer {
                url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                _watch: watch,
            });
        }
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        let _ = watcher.wait();
        Err(format!(
            "could not start a temporary PostgreSQL server from {}: {first}{rest}",
            bin.display()
        ))
    }
}

/// The directory holding `initdb`, `postgres` and `pg_isready`.
fn server_binaries() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("REELGATE_TEST_POSTGRES_BIN") {
        return Ok(dir.into());
    }
    // Debian and Ubuntu keep each major version apart; take the newest.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        .ok_or_else(|| {
            "the PostgreSQL tests start their own server, but its binaries (initdb, postgres) \
             are not installed: run scripts/test.sh (it installs them), or \
             `apt-get install postgresql`, or set REELGATE_TEST_POSTGRES_BIN to their \
             directory, or REELGATE_TEST_POSTGRES_URL to a running server"
                .to_owned()
        })
}
