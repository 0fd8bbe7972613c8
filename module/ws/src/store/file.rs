//! The embedded store's file on disk: created private, and watched.
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
}
