//! The embedded store's file on disk: created private, opened (the one opener of every
//! connection to it, the store's and the tokens'), and watched.
//!
//! The file holds tokens and the history: it is created 0600 whatever the umask (SQLite
//! gives its `-wal` and `-shm` the database's mode), and an existing file readable by
//! everyone loses its "other" bits at open (logged).
//!
//! Watched: the inode the session connection has open is compared with the one at the path
//! before every batch (one `stat`, about a microsecond). A file removed or replaced while
//! running would otherwise take every later write into an unlinked inode (OK, then lost at
//! the next start).

use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{retention, schema};

/// How long a connection waits for another one's lock before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store file could not be opened, or (for the tokens) queried.
#[derive(Debug, thiserror::Error)]
pub enum StoreFileError {
    #[error("cannot create the directory of the embedded store {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot prepare the embedded store {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store file was removed while running: put it back, or restart for a new one")]
    Removed,
    #[error("the store file changed while it was opened")]
    Changed,
    #[error("cannot open the embedded store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the embedded store {path} has schema version {found}, newer than this module's {known}"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("embedded store: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl StoreFileError {
    /// What went wrong without the path: what an answer may say (the path stays in the log).
    pub fn cause(&self) -> String {
        match self {
            StoreFileError::CreateDir { source, .. } | StoreFileError::File { source, .. } => {
                source.to_string()
            }
            StoreFileError::Open { source, .. } => source.to_string(),
            StoreFileError::TooNew { found, known, .. } => format!(
                "the store file has schema version {found}, newer than this module's {known}"
            ),
            other => other.to_string(),
        }
    }
}

/// A read-write connection to the file, creating it (0600, with its directory) only when
/// `create`, its schema brought up to date; returned with the file it has open, which was
/// the one at the path when the opening started.
pub fn open_read_write(
    path: &Path,
    create: bool,
) -> Result<(Connection, Identity), StoreFileError> {
    let io = |source| StoreFileError::File {
        path: path.to_path_buf(),
        source,
    };
    if create {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreFileError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
    }
    prepare(path, create).map_err(io)?;
    let before = identity(path).map_err(io)?.ok_or(StoreFileError::Removed)?;
    let mut conn = connect(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let sql = |source| StoreFileError::Open {
        path: path.to_path_buf(),
        source,
    };
    // Before WAL: a file from before retention is rewritten once for incremental vacuum.
    retention::enable_incremental_vacuum(&conn).map_err(sql)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    migrate(&mut conn, path)?;
    match identity(path).map_err(io)? {
        Some(after) if after == before => Ok((conn, before)),
        _ => Err(StoreFileError::Changed),
    }
}

/// A read-only connection to the file, which must exist.
pub fn open_read_only(path: &Path) -> Result<Connection, StoreFileError> {
    connect(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreFileError> {
    let sql = |source| StoreFileError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    Ok(conn)
}

/// Brings the schema up to date; a file from a newer version is refused by name.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreFileError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = schema::VERSION as u32;
    if found > known {
        return Err(StoreFileError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    Ok(schema::migrate(conn)?)
}

/// Which file a path names: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    dev: u64,
    ino: u64,
}

/// What the path holds now, `None` when nothing is there.
pub fn identity(path: &Path) -> std::io::Result<Option<Identity>> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
        })),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn sidecars(path: &Path) -> [PathBuf; 2] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [with("-wal"), with("-shm")]
}

/// Creates the file 0600 when it is missing (`create`), and takes "other" access away from
/// an existing one and its `-wal`/`-shm`. Returns whether the file was created.
pub fn prepare(path: &Path, create: bool) -> std::io::Result<bool> {
    if create {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(file) => {
                // The umask may have taken bits away, never added any: set it exactly.
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                return Ok(true);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    let [wal, shm] = sidecars(path);
    for file in [path.to_path_buf(), wal, shm] {
        let meta = match std::fs::metadata(&file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o007 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & !0o007))?;
            log::warn!(
                "{}: mode {mode:o} let every user read the store (tokens, history): now {:o}",
                file.display(),
                mode & !0o007
            );
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_0600_and_an_existing_one_loses_other_access() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.sqlite");
        assert!(prepare(&path, true).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!prepare(&path, true).unwrap());
        assert_eq!(mode(&path), 0o640);
        let before = identity(&path).unwrap();
        assert!(before.is_some());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(identity(&path).unwrap(), None);
        assert!(!prepare(&path, false).unwrap());
        assert!(!path.exists(), "not created again");
    }

    #[test]
    fn the_opener_makes_a_private_versioned_file_and_opens_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("var/lib/ws.sqlite");
        let (conn, first) = open_read_write(&path, true).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, schema::VERSION as u32);
        drop(conn);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (_, again) = open_read_write(&path, false).unwrap();
        assert_eq!(again, first);
        assert!(open_read_only(&path).is_ok());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            open_read_write(&path, false),
            Err(StoreFileError::Removed)
        ));
        assert!(!path.exists(), "not created again");
    }
}
