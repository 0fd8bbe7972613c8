//! Where the daemon's log goes: standard error, or the file `log_error` names, reopened on
//! SIGHUP so that logrotate can move it away.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The open log file, when `log_error` is set; records go to standard error until then.
static FILE: Mutex<Option<(PathBuf, File)>> = Mutex::new(None);

fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

/// From now on, records go to `path` (appended).
pub fn use_file(path: &Path) -> Result<(), String> {
    let file = open(path).map_err(|e| format!("log_error {}: {e}", path.display()))?;
    *FILE.lock().unwrap_or_else(PoisonError::into_inner) = Some((path.to_path_buf(), file));
    Ok(())
}

/// Opens the file again at its path (SIGHUP); when that fails the old one is kept.
pub fn reopen() -> Result<Option<PathBuf>, String> {
    let mut current = FILE.lock().unwrap_or_else(PoisonError::into_inner);
    let Some((path, file)) = current.as_mut() else {
        return Ok(None);
    };
    *file =
        open(path).map_err(|e| format!("log_error {}: cannot reopen it: {e}", path.display()))?;
    Ok(Some(path.clone()))
}

/// The writer the logger is built with.
pub struct LogOutput;

impl Write for LogOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut current = FILE.lock().unwrap_or_else(PoisonError::into_inner);
        match current.as_mut() {
            Some((_, file)) => file.write_all(buf),
            None => std::io::stderr().write_all(buf),
        }
        .map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
