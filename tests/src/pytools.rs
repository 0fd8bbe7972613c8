//! Python tools from PyPI that some tests use to check our output with a real client's code
//! (`prometheus_client`'s OpenMetrics parser, `openapi-spec-validator`), each in a venv of the
//! tests' own under `~/.cache/alignak-ws-tests/`, made on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python, with `packages` installed and `module` importable; `None` when python3,
/// its venv module or PyPI is not there (the caller skips, or fails under `CI`).
pub fn python_with(venv_name: &str, packages: &[&str], module: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let venv = home.join(".cache/alignak-ws-tests").join(venv_name);
    let python = venv.join("bin/python");
    let ready = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return Some(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    let installed = made
        && Command::new(&python)
            .args(["-m", "pip", "install", "-q"])
            .args(packages)
            .status()
            .is_ok_and(|s| s.success());
    (installed && ready(&python)).then_some(python)
}

/// [`python_with`], or `None` after printing `SKIPPED` — a failure under `CI`, where python3
/// and PyPI are there.
pub fn python_or_skip(venv_name: &str, packages: &[&str], module: &str) -> Option<PathBuf> {
    let found = python_with(venv_name, packages, module);
    if found.is_none() {
        crate::skip_or_fail_under_ci(
            &format!("python3 with venv and pip is needed under CI to install {packages:?}"),
            &format!("no python3 venv with {packages:?} (python3 -m venv, pip install)"),
        );
    }
    found
}

/// Runs `python` with `args` and then the path of a file named `file_name` holding `text` (in a
/// temporary directory), and asserts that it succeeds; a failure says `what` and all the tool
/// printed.
pub fn check_file(
    python: &Path,
    args: &[&str],
    file_name: &str,
    text: &str,
    what: &str,
) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(file_name);
    std::fs::write(&file, text).expect("write the file to check");
    crate::run_successfully(Command::new(python).args(args).arg(&file), what)
}
