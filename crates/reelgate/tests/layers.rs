//! The two front ends stay independent: the JSON API (`src/http/`) and the web app
//! (`src/web/`) share what they need through `src/front/` and the application layer
//! (`generations`, `payments`, `accounts` …), and neither names the other. `app.rs` is the one
//! place that composes both. This reads the sources, as a reviewer would.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty(), "no sources under {}", dir.display());
    files
}

/// The numbers of the lines of `text` that name the sibling module `other` (`crate::web…`,
/// `super::super::web…`, or `web` in a `use crate::{…}` group); `webhooks` is another module.
fn lines_naming(text: &str, other: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut in_group = false;
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let names = |prefix: &str| {
            code.match_indices(prefix).any(|(at, _)| {
                let rest = &code[at + prefix.len()..];
                !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        };
        if code.contains("use crate::{") {
            in_group = true;
        }
        let grouped = in_group
            && code
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == other);
        if names(&format!("crate::{other}")) || names(&format!("super::super::{other}")) || grouped
        {
            found.push(n + 1);
        }
        if in_group && code.contains("};") {
            in_group = false;
        }
    }
    found
}

/// Every line of the sources under `src/{dir}` that names `other`, with its file and number.
fn naming(dir: &str, other: &str) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in sources(&src.join(dir)) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for n in lines_naming(&text, other) {
            let shown = file.strip_prefix(&src).unwrap().display();
            found.push(format!("{shown}:{n}: {}", lines[n - 1].trim()));
        }
    }
    found
}

#[test]
fn the_api_does_not_use_the_web_app() {
    let found = naming("http", "web");
    assert!(found.is_empty(), "http/ names web/:\n{}", found.join("\n"));
}

#[test]
fn the_web_app_does_not_use_the_api() {
    let found = naming("web", "http");
    assert!(found.is_empty(), "web/ names http/:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_every_way_of_naming_the_other() {
    let text = "use crate::web::cookies;\n\
                use crate::webhooks::event;\n\
                use crate::{config,\n    web};\n\
                let page = crate::web::not_found_page(&headers); // crate::web in a comment\n\
                // crate::web::cookies\n\
                use super::super::web::Locale;\n\
                use crate::{config, webhooks};\n";
    assert_eq!(lines_naming(text, "web"), vec![1, 4, 5, 7]);
}

/// Handlers do not wake workers: the application call that queued the work does, so a front
/// end cannot forget to (and two cannot disagree about which worker to wake).
#[test]
fn no_handler_wakes_a_worker() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for dir in ["http", "web"] {
        for file in sources(&src.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.contains("notify_one") || line.contains("notify_waiters") {
                    let shown = file.strip_prefix(&src).unwrap().display();
                    found.push(format!("{shown}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "handlers waking workers:\n{}",
        found.join("\n")
    );
}
