//! Where the test suite finds the Python tools it drives (moto_server, …): the repository's
//! virtual environment, made by `scripts/pyenv.sh` from `scripts/python-requirements.txt`.

use std::path::PathBuf;

/// The workspace root: the directory holding `Cargo.lock`, `scripts/` and `.venv/`.
pub fn workspace_root() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    root.canonicalize().unwrap_or(root)
}

/// `<workspace root>/.venv/bin/<name>`.
///
/// # Panics
/// When it is not there: a test that needs the tool fails, saying how to install it, rather
/// than skip.
pub fn python_tool(name: &str) -> PathBuf {
    let path = workspace_root().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `bash scripts/pyenv.sh` (scripts/test.sh does), which installs \
         scripts/python-requirements.txt into .venv",
        path.display()
    );
    path
}
