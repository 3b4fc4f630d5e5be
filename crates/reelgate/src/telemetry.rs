//! Logging. `RUST_LOG` filters (default `info`); `REELGATE_LOG_FORMAT=json` gives one JSON
//! object per line for log collectors.

use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("REELGATE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // Colour codes are for a person at a terminal; in a file or a collector they are noise.
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests) is harmless; ignore it.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// An error and its causes on one line (`a: b: c`), each said once: a wrapper's message often
/// repeats its source's (`database error: {0}` over the sqlx error), which is then skipped.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("cannot read the video")]
        Read(#[source] std::io::Error),
        #[error("database error: {0}")]
        Repeats(#[source] std::io::Error),
    }

    #[test]
    fn the_chain_names_every_cause_once() {
        let io = || std::io::Error::other("disk on fire");
        assert_eq!(
            error_chain(&Outer::Read(io())),
            "cannot read the video: disk on fire"
        );
        assert_eq!(
            error_chain(&Outer::Repeats(io())),
            "database error: disk on fire"
        );
    }
}
