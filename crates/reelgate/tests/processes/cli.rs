//! What an operator sees of the CLI on a terminal or in a log file: an error is one line,
//! whatever `RUST_BACKTRACE` says, and log lines written to a file carry no colour codes.

use crate::children::BINARY;
use std::process::Command;

#[test]
fn a_cli_error_is_one_line_even_with_backtraces_on() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let output = Command::new(BINARY)
        .args(["backup", "--to"])
        .arg(dir.path().join("copy.db"))
        .env(
            "REELGATE_DATABASE_URL",
            format!("sqlite://{}", missing.display()),
        )
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "off")
        .env_remove("REELGATE_KIE_API_KEY")
        .output()
        .expect("reelgate runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, no backtrace: {stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("no database at"),
        "{stderr}"
    );
}

#[test]
fn log_lines_to_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY)
        .arg("migrate")
        .env(
            "REELGATE_DATABASE_URL",
            format!("sqlite://{}/db.sqlite", dir.path().display()),
        )
        .env("RUST_LOG", "debug")
        .env_remove("REELGATE_KIE_API_KEY")
        .output()
        .expect("reelgate runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("DEBUG") || l.contains("INFO")),
        "the migration logs something to look at: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes: {stderr}");
}
