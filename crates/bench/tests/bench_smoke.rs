//! `reelgate-bench` in miniature, so that it keeps working: tiny counts and short runs, every
//! scenario, and checks that the table and the charts come out. No timing is asserted: the
//! figures of a debug build on a shared CI machine mean nothing.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_reelgate-bench");

fn bench(out: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .args(["--runs", "1", "--seconds", "0.3", "--clients", "2"])
        .args(["--concurrency", "1,2", "--stored", "50,100"])
        .args([
            "--sweep-runs",
            "1",
            "--sweep-seconds",
            "0.2",
            "--burst",
            "12",
        ])
        .args([
            "--in-flight",
            "20",
            "--watch-seconds",
            "1",
            "--relay-reads",
            "5",
        ])
        .arg("--out")
        .arg(out)
        .output()
        .expect("reelgate-bench starts");
    assert!(
        output.status.success(),
        "bench failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the table is UTF-8")
}

#[test]
fn the_benchmark_prints_every_figure_and_draws_its_charts() {
    let out = tempfile::tempdir().unwrap();
    let table = bench(out.path(), &["--databases", "sqlite"]);
    for figure in [
        "| submit: accepted POST /v1/generations, 2 clients |",
        "| read: GET /v1/generations/{id}, 2 clients |",
        "GET /healthz",
        "sqlite: against concurrency",
        "sqlite: against stored generations",
        "| upstream calls per jobs generation (create + status) |",
        "| last settled after the simulator finished the last task |",
        "sqlite: 20 generations in flight",
        "| upstream status reads per minute |",
        "| status read through KieClient::task_status |",
    ] {
        assert!(table.contains(figure), "no {figure:?} in\n{table}");
    }
    for chart in ["concurrency.svg", "stored.svg"] {
        let svg = std::fs::read_to_string(out.path().join(chart)).unwrap();
        assert!(svg.starts_with("<svg"), "{chart}");
        assert_eq!(svg.matches("<polyline").count(), 4, "{chart}");
    }
    let written = std::fs::read_to_string(out.path().join("results.md")).unwrap();
    assert!(written.contains("machine: "), "{written}");
}

#[test]
fn the_benchmark_runs_on_postgresql() {
    let out = tempfile::tempdir().unwrap();
    let table = bench(
        out.path(),
        &["--databases", "postgres", "--only", "http,burst"],
    );
    assert!(
        table.contains("postgres: submit and read"),
        "no PostgreSQL figures in\n{table}"
    );
    assert!(table.contains("postgres: end to end, 12 generations at once"));
}
