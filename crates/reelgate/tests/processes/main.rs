//! Tests that run the `reelgate` binary itself as child processes: the soak under faults and
//! crashes, and (in their own modules) graceful shutdown and what the logs never contain.

mod chaos_proxy;
mod children;
mod cli;
mod graceful;
mod logs;
mod purchase_crash;
mod soak;

use reelgate_store::testing::{postgres_store, sqlite_store};

fn publish(report: &soak::Report, dir: tempfile::TempDir) {
    let table = report.markdown();
    println!("{table}");
    if let Ok(path) = std::env::var("REELGATE_SOAK_REPORT") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("report file");
        writeln!(file, "{table}").expect("report written");
    }
    let failures = report.failures();
    if !failures.is_empty() || std::env::var_os("REELGATE_SOAK_KEEP").is_some() {
        // Keep the servers' logs for whoever looks into it.
        std::mem::forget(dir);
    }
    assert!(
        failures.is_empty(),
        "the soak found {} problems (logs in {}):\n{}",
        failures.len(),
        report.log_dir.display(),
        failures.join("\n")
    );
}

fn soak_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("reelgate-soak-")
        .tempdir()
        .expect("temp dir")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_on_sqlite_loses_and_doubles_no_credit() {
    let dir = soak_dir();
    let database = sqlite_store().await.expect("a SQLite database");
    let report = soak::run("SQLite", database.url(), dir.path()).await;
    publish(&report, dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_on_postgres_loses_and_doubles_no_credit() {
    let dir = soak_dir();
    let database = postgres_store().await.expect("a PostgreSQL schema");
    let report = soak::run("PostgreSQL", database.url(), dir.path()).await;
    publish(&report, dir);
}
