//! The access log (`log_access <path>`): one JSON line per answered request, appended to a
//! file that SIGHUP reopens (logrotate moves the old one away, the next line goes to a new
//! file).
//!
//! A line names the caller's user once credentials proved it, never a password, a token or a
//! cookie: only the path is written, not the query string (a client may put anything there).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::json;

/// Who the request came from, once authentication proved it; set by the router on the answer.
#[derive(Debug, Clone, Default)]
pub struct AccessUser(pub Option<String>);

/// What one line says about a request and its answer.
pub struct AccessRecord<'a> {
    pub peer: SocketAddr,
    pub method: &'a str,
    pub path: &'a str,
    pub user: Option<&'a str>,
    pub status: u16,
    pub bytes: u64,
    pub duration: Duration,
    pub user_agent: Option<&'a str>,
}

pub struct AccessLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

#[derive(Debug, thiserror::Error)]
#[error("log_access {}: cannot open it for appending: {source}", path.display())]
pub struct OpenError {
    path: PathBuf,
    source: std::io::Error,
}

fn open(path: &Path) -> Result<File, OpenError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        // User names and addresses: not for every local account to read.
        .mode(0o640)
        .open(path)
        .map_err(|source| OpenError {
            path: path.to_path_buf(),
            source,
        })
}

impl AccessLog {
    /// Opens (or creates) the file; an error stops the start.
    pub fn open(path: &Path) -> Result<AccessLog, OpenError> {
        Ok(AccessLog {
            path: path.to_path_buf(),
            file: Mutex::new(Some(open(path)?)),
        })
    }

    /// Opens the file again at its path (SIGHUP after a rotation). When that fails the old
    /// file is kept, so no line is lost for it.
    pub fn reopen(&self) -> Result<(), OpenError> {
        let file = open(&self.path)?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = Some(file);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the line of one request. A write that fails is logged, not retried: the
    /// answer has gone already.
    pub fn record(&self, record: &AccessRecord<'_>) {
        let line = json!({
            "time": jiff::Timestamp::now().to_string(),
            "remote_addr": record.peer.ip().to_string(),
            "user": record.user,
            "method": record.method,
            "path": record.path,
            "status": record.status,
            "bytes": record.bytes,
            "duration_ms": (record.duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            "user_agent": record.user_agent,
        });
        let mut text = line.to_string();
        text.push('\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = file.as_mut() {
            // One write call per line: appends from several threads never interleave.
            if let Err(err) = f.write_all(text.as_bytes()) {
                log::warn!("access log {}: {err}", self.path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_per_request_and_reopen_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(&path).unwrap();
        let record = AccessRecord {
            peer: "127.0.0.1:5000".parse().unwrap(),
            method: "GET",
            path: "/host",
            user: Some("admin"),
            status: 200,
            bytes: 12,
            duration: Duration::from_millis(3),
            user_agent: Some("check_http"),
        };
        log.record(&record);
        std::fs::rename(&path, dir.path().join("access.log.1")).unwrap();
        log.reopen().unwrap();
        log.record(&record);
        let old = std::fs::read_to_string(dir.path().join("access.log.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert_eq!(old.lines().count(), 1);
        assert_eq!(new.lines().count(), 1);
        let line: serde_json::Value = serde_json::from_str(new.trim()).unwrap();
        assert_eq!(line["user"], "admin");
        assert_eq!(line["status"], 200);
        assert_eq!(line["path"], "/host");
    }
}
