//! Every route the router is built from, read from the application's source: each
//! `#[utoipa::path(method, path = "…")]` (the JSON API's routes) and each
//! `.route("…", get(…).post(…))` (the web app's pages, and anything added to a router without
//! being documented). The matrix tries these, not only what `/openapi.json` admits to.

use std::collections::BTreeSet;
use std::path::Path;

/// `(method, path template)`, method in lower case.
pub type Route = (String, String);

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub fn in_source() -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("source file");
        let text = without_tests(&text);
        documented(text, &mut routes);
        routed(text, &mut routes);
    }
    routes
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The file up to its unit tests (which may build routers of their own).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// The string literal at the start of `text` (after blanks), and what follows it.
fn literal(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start().strip_prefix('"')?;
    let end = text.find('"')?;
    Some((&text[..end], &text[end + 1..]))
}

fn documented(text: &str, routes: &mut BTreeSet<Route>) {
    for (at, _) in text.match_indices("utoipa::path(") {
        let rest = &text[at + "utoipa::path(".len()..];
        let method = rest
            .trim_start()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default();
        let path = rest
            .find("path")
            .and_then(|p| rest[p + 4..].trim_start().strip_prefix('='))
            .and_then(literal)
            .map(|(path, _)| path);
        match path {
            Some(path) if METHODS.contains(&method) => {
                routes.insert((method.to_owned(), path.to_owned()));
            }
            _ => panic!("cannot read the route of `utoipa::path({}`", &rest[..60]),
        }
    }
}

fn routed(text: &str, routes: &mut BTreeSet<Route>) {
    for (at, _) in text.match_indices(".route(") {
        let rest = &text[at + ".route(".len()..];
        let Some((path, handlers)) = literal(rest) else {
            panic!(
                "a route whose path is not a literal: .route({}",
                &rest[..60]
            );
        };
        let handlers = &handlers[..closing_paren(handlers)];
        let mut found = false;
        for method in METHODS {
            let call = format!("{method}(");
            let called = handlers.match_indices(&call).any(|(i, _)| {
                !handlers[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if called {
                routes.insert((method.to_owned(), path.to_owned()));
                found = true;
            }
        }
        assert!(found, "no method in .route(\"{path}\"{handlers})");
    }
}

/// Where the call whose arguments `text` continues ends.
fn closing_paren(text: &str) -> usize {
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    text.len()
}
