// Over 400 lines: about 350 of code (the htpasswd formats and their checks), the rest its unit tests.
//! The users file (`users_file`): an Apache htpasswd file, the format Nagios admins already
//! keep their `htpasswd.users` in: bcrypt (`htpasswd -B`), and the weaker `$apr1$` and `{SHA}`
//! (see `hashes`).
//!
//! The file is read again when it changes, so users added with `htpasswd -B` can log in without
//! a restart. On a first start with no usable file, it is created with an `admin` user and a
//! random password (secure by default: there is no built-in password).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::hashes::{self, Scheme};
use super::secret::{new_password, RandomError};

/// The verified-password cache (`auth_cache_timeout`, `auth_cache_max_entries`), as Apache's
/// `mod_authn_socache`: a client sending Basic `user:password` on every request then costs one
/// bcrypt per `lifetime`, not one per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedCache {
    /// How long a verified pair is taken without running bcrypt again; zero: never cached.
    pub lifetime: Duration,
    /// Pairs kept at most; beyond, the expired ones go, then all (only right passwords enter
    /// it, so its size is bounded by the real clients, not by guesses).
    pub max_entries: usize,
}

impl Default for VerifiedCache {
    fn default() -> Self {
        VerifiedCache {
            lifetime: Duration::from_secs(300),
            max_entries: 10_000,
        }
    }
}

/// The bcrypt cost of the generated admin password. Its 20 random characters resist guessing
/// by themselves; the cost only has to keep each HTTP Basic check cheap (a few tens of ms).
const GENERATED_COST: u32 = 10;
const GENERATED_PASSWORD_LENGTH: usize = 20;
pub const GENERATED_USER: &str = "admin";

/// Checked against when the user is unknown, so that an unknown user takes as long to refuse
/// as a wrong password and the timing does not tell which users exist. Its password is random
/// and was thrown away.
const DUMMY_HASH: &str = "$2y$10$ghsJqmmvqAiG1aHQk7N5OuW93b3fj8EDaDux7WohnxjrrAJvp11AK";

#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    #[error("cannot read the users file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the users file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the users file {path} has no usable user: only bcrypt, $apr1$ and {{SHA}} hashes are supported (create users with: htpasswd -B {path} <user>)"
    )]
    NoUsableUser { path: PathBuf },
    #[error("cannot make the admin password: {0}")]
    Random(#[from] RandomError),
    #[error("cannot hash the admin password: {0}")]
    Hash(#[from] bcrypt::BcryptError),
}

/// What a first start created: the password, to be shown once.
pub struct CreatedAdmin {
    pub password: String,
}

/// What identifies a version of the file, to notice that it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: SystemTime,
    len: u64,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        let meta = fs::metadata(path)?;
        Ok(Stamp {
            modified: meta.modified()?,
            len: meta.len(),
            inode: meta.ino(),
        })
    }
}

struct Loaded {
    stamp: Option<Stamp>,
    /// user -> bcrypt hash.
    users: HashMap<String, String>,
    /// keyed hash of (user, password) -> (user, when bcrypt accepted it). Never the password
    /// nor its bcrypt hash: a dump of this map gives nothing to try offline without the key.
    verified: HashMap<[u8; 32], (String, Instant)>,
}

pub struct UsersFile {
    path: PathBuf,
    loaded: Mutex<Loaded>,
    /// Random per process: the cache's keys are not plain hashes of passwords.
    cache_key: [u8; 32],
    cache: VerifiedCache,
}

/// The cache key of a (user, password) pair.
fn pair_key(cache_key: &[u8; 32], user: &str, password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(cache_key);
    hasher.update(user.as_bytes());
    hasher.update([0u8]);
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

/// The users of an htpasswd text, and a warning (without any hash) for each line skipped.
fn parse(text: &str, path: &Path) -> (HashMap<String, String>, Vec<String>) {
    let mut users = HashMap::new();
    let mut warnings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            warnings.push(format!(
                "{}:{number}: not a 'user:hash' line; skipped",
                path.display()
            ));
            continue;
        };
        let (user, hash) = (user.trim(), hash.trim());
        if user.is_empty() {
            warnings.push(format!(
                "{}:{number}: no user name; skipped",
                path.display()
            ));
        } else if Scheme::of(hash).is_none() {
            warnings.push(format!(
                "{}:{number}: user '{user}': not a bcrypt, $apr1$ or {{SHA}} hash (crypt is not supported: use htpasswd -B); this user cannot log in",
                path.display()
            ));
        } else if users.contains_key(user) {
            // Apache uses the first line of a user; so do we.
            warnings.push(format!(
                "{}:{number}: user '{user}' appears again; this line is ignored",
                path.display()
            ));
        } else {
            if Scheme::of(hash).is_some_and(Scheme::is_weak) {
                warnings.push(format!(
                    "{}:{number}: user '{user}': weak hash (MD5 or SHA-1, quick to guess offline): set it again with htpasswd -B",
                    path.display()
                ));
            }
            users.insert(user.to_string(), hash.to_string());
        }
    }
    (users, warnings)
}

impl UsersFile {
    /// Reads the users file. When it is missing or empty, creates it (mode 0600, directory
    /// included) with the user `admin` and a random password, returned to be shown once.
    pub fn open_or_create(path: &Path) -> Result<(UsersFile, Option<CreatedAdmin>), HtpasswdError> {
        let read_error = |source| HtpasswdError::Read {
            path: path.to_path_buf(),
            source,
        };
        // The stamp is taken before the text: a change in between is then seen (and read) at
        // the next check, not missed.
        let before = Stamp::of(path);
        let (text, created, stamp) = match fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => (text, None, before.map_err(read_error)?),
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(read_error(err)),
            _ => {
                let (text, created) = create(path)?;
                (text, Some(created), Stamp::of(path).map_err(read_error)?)
            }
        };
        let (users, warnings) = parse(&text, path);
        for warning in &warnings {
            log::warn!("{warning}");
        }
        if users.is_empty() {
            return Err(HtpasswdError::NoUsableUser {
                path: path.to_path_buf(),
            });
        }
        log::info!(
            "users file {}: {} user(s) can log in",
            path.display(),
            users.len()
        );
        let cache_key = super::secret::random_key()?;
        let file = UsersFile {
            path: path.to_path_buf(),
            loaded: Mutex::new(Loaded {
                stamp: Some(stamp),
                users,
                verified: HashMap::new(),
            }),
            cache_key,
            cache: VerifiedCache::default(),
        };
        Ok((file, created))
    }

    /// The verified-password cache's bounds (the default: 5 minutes, 10,000 pairs).
    pub fn with_cache(mut self, cache: VerifiedCache) -> UsersFile {
        self.cache = cache;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as it is now: read again if its stamp changed (one `stat` per call).
    fn current(&self) -> std::sync::MutexGuard<'_, Loaded> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = Stamp::of(&self.path).ok();
        if stamp != loaded.stamp {
            let text = stamp.and_then(|_| fs::read_to_string(&self.path).ok());
            let users = match &text {
                Some(text) => {
                    let (users, warnings) = parse(text, &self.path);
                    for warning in &warnings {
                        log::warn!("{warning}");
                    }
                    log::info!(
                        "users file {} changed: {} user(s) can log in",
                        self.path.display(),
                        users.len()
                    );
                    users
                }
                None => {
                    log::warn!(
                        "users file {} cannot be read: nobody can log in with a password until it is back",
                        self.path.display()
                    );
                    HashMap::new()
                }
            };
            // A user whose line changed or went away loses its verified pairs at once.
            let mut verified = std::mem::take(&mut loaded.verified);
            verified
                .retain(|_, (user, _)| loaded.users.get(user.as_str()) == users.get(user.as_str()));
            *loaded = Loaded {
                stamp,
                users,
                verified,
            };
        }
        loaded
    }

    /// Read again now, whatever the stamp says (for a reload signal).
    pub fn reload(&self) {
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stamp = None;
        drop(self.current());
    }

    /// Whether (`user`, `password`) was verified by bcrypt less than the cache's lifetime ago
    /// and the user's line has not changed since. Cheap (a `stat` and a hash): fit for an async worker.
    /// `false` says "not known", not "wrong": then call `verify`.
    pub fn verified_recently(&self, user: &str, password: &str) -> bool {
        let key = pair_key(&self.cache_key, user, password);
        let mut loaded = self.current();
        match loaded.verified.get(&key) {
            Some((_, at)) if at.elapsed() < self.cache.lifetime => true,
            Some(_) => {
                loaded.verified.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Whether `password` is `user`'s. Takes as long for an unknown user as for a known one.
    /// Blocking (bcrypt is deliberately slow): call it off the async workers.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        if self.verified_recently(user, password) {
            return true;
        }
        let hash = self.current().users.get(user).cloned();
        let right = match &hash {
            Some(hash) => hashes::verify(password, hash),
            None => {
                let _ = bcrypt::verify(password, DUMMY_HASH);
                false
            }
        };
        if right {
            let mut loaded = self.current();
            // Only if the line bcrypt checked is still the user's: a change during the check
            // must not let the old password in.
            if loaded.users.get(user) == hash.as_ref() && !self.cache.lifetime.is_zero() {
                let VerifiedCache {
                    lifetime,
                    max_entries,
                } = self.cache;
                if loaded.verified.len() >= max_entries {
                    loaded.verified.retain(|_, (_, at)| at.elapsed() < lifetime);
                    if loaded.verified.len() >= max_entries {
                        loaded.verified.clear();
                    }
                }
                let key = pair_key(&self.cache_key, user, password);
                loaded
                    .verified
                    .insert(key, (user.to_string(), Instant::now()));
            }
        }
        right
    }
}

/// Writes a new users file with `admin` and a random password; returns its text too. Written to
/// a temporary file (mode 0600 from its creation: the hash is never readable by others) and
/// renamed into place.
fn create(path: &Path) -> Result<(String, CreatedAdmin), HtpasswdError> {
    let create_error = |source| HtpasswdError::Create {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(create_error)?;
    }
    let password = new_password(GENERATED_PASSWORD_LENGTH)?;
    let text = format!(
        "{GENERATED_USER}:{}\n",
        bcrypt::hash(&password, GENERATED_COST)?
    );
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".new-{}", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if let Err(err) = written {
        let _ = fs::remove_file(&temporary);
        return Err(create_error(err));
    }
    Ok((text, CreatedAdmin { password }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by `htpasswd -nbB admin 'correct horse'` (Apache 2.4).
    const FROM_HTPASSWD: &str =
        "admin:$2y$05$cLyRK0DZ/8sbaNRMDBdOV.Bc99Vyck61k3KlHHQ8a1pxwElV..S0e\n";

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("users.htpasswd");
        fs::write(&path, text).unwrap();
        path
    }

    /// The users file `htpasswd` wrote, opened: its folder (kept while the test runs), its path
    /// and the users.
    fn admin_file() -> (tempfile::TempDir, PathBuf, UsersFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), FROM_HTPASSWD);
        let (users, _) = UsersFile::open_or_create(&path).unwrap();
        (dir, path, users)
    }

    /// Renamed into place, as htpasswd does: a new inode even within the same second.
    fn replace(path: &Path, text: &str) {
        let new = path.with_file_name("new");
        fs::write(&new, text).unwrap();
        fs::rename(&new, path).unwrap();
    }

    /// A users line with a bcrypt hash of the lowest cost, quick to verify.
    fn bcrypt_line(user: &str, password: &str) -> String {
        format!("{user}:{}\n", bcrypt::hash(password, 4).unwrap())
    }

    #[test]
    fn htpasswd_b_hashes_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), FROM_HTPASSWD);
        let (users, created) = UsersFile::open_or_create(&path).unwrap();
        assert!(created.is_none());
        assert!(users.verify("admin", "correct horse"));
        assert!(!users.verify("admin", "correct horse "));
        assert!(!users.verify("admin", ""));
        assert!(!users.verify("nobody", "correct horse"));
    }

    #[test]
    fn other_hashes_and_bad_lines_are_skipped_with_a_warning_without_the_hash() {
        let text = "# comment\n\
                    crypt:2w18ct5R8E3s6\n\
                    nocolon\n\
                    :$2y$05$x\n\
                    admin:$2b$04$abcdefghijklmnopqrstuu5HiKxB2iZ1D3dWXMbp2gJDVXDu0uS4O\n\
                    admin:$2y$05$second\n";
        let (users, warnings) = parse(text, Path::new("u"));
        assert_eq!(users.len(), 1);
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("u:2: user 'crypt': not a bcrypt, $apr1$ or {SHA} hash"));
        assert!(
            warnings
                .iter()
                .all(|w| !w.contains("2w18") && !w.contains("$2")),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_missing_or_empty_file_is_created_with_admin_and_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        for (path, existing) in [
            (dir.path().join("a/b/users.htpasswd"), None),
            (dir.path().join("empty.htpasswd"), Some(" \n")),
        ] {
            if let Some(text) = existing {
                fs::write(&path, text).unwrap();
            }
            let (users, created) = UsersFile::open_or_create(&path).unwrap();
            let password = created.expect("created").password;
            assert_eq!(password.len(), 20);
            assert!(users.verify("admin", &password));
            let meta = fs::metadata(&path).unwrap();
            assert_eq!(meta.mode() & 0o777, 0o600);
            let text = fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("admin:$2b$10$"), "{text}");
            assert!(!text.contains(&password));
            // A second start keeps the file and its password.
            let (users, created) = UsersFile::open_or_create(&path).unwrap();
            assert!(created.is_none());
            assert!(users.verify("admin", &password));
        }
    }

    #[test]
    fn a_file_without_usable_user_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "crypt:2w18ct5R8E3s6\n");
        let err = UsersFile::open_or_create(&path).err().unwrap();
        assert!(matches!(err, HtpasswdError::NoUsableUser { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "crypt:2w18ct5R8E3s6\n");
    }

    #[test]
    fn a_changed_file_is_read_again() {
        let (_dir, path, users) = admin_file();
        assert!(!users.verify("bob", "builder"));
        replace(
            &path,
            &format!("{FROM_HTPASSWD}{}", bcrypt_line("bob", "builder")),
        );
        assert!(users.verify("bob", "builder"));
        fs::remove_file(&path).unwrap();
        assert!(!users.verify("admin", "correct horse"));
    }

    #[test]
    fn verified_pairs_are_cached_until_the_users_line_changes() {
        let (_dir, path, users) = admin_file();
        assert!(!users.verified_recently("admin", "correct horse"));
        assert!(users.verify("admin", "correct horse"));
        assert!(users.verified_recently("admin", "correct horse"));
        // Only the right pair is known; a wrong password is never answered from the cache.
        assert!(!users.verified_recently("admin", "correct horse!"));
        assert!(!users.verify("admin", "correct horse!"));
        // The cache holds neither the password nor its bcrypt hash.
        let dump = format!("{:?}", users.loaded.lock().unwrap().verified);
        assert!(
            !dump.contains("correct") && !dump.contains("$2y$"),
            "{dump}"
        );
        // A changed password: the old one is refused from the next call.
        replace(&path, &bcrypt_line("admin", "battery"));
        assert!(!users.verified_recently("admin", "correct horse"));
        assert!(!users.verify("admin", "correct horse"));
        assert!(users.verify("admin", "battery"));
        assert!(users.verified_recently("admin", "battery"));
        // A removed user too.
        replace(&path, &bcrypt_line("bob", "builder"));
        assert!(!users.verified_recently("admin", "battery"));
        assert!(!users.verify("admin", "battery"));
    }

    #[test]
    fn the_cache_keeps_its_lifetime_and_its_number_of_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let text = bcrypt_line("alice", "a") + &bcrypt_line("bob", "b");
        let path = write(dir.path(), &text);
        let open = |cache| {
            UsersFile::open_or_create(&path)
                .unwrap()
                .0
                .with_cache(cache)
        };
        // auth_cache_timeout 0: bcrypt on every check, nothing remembered.
        let users = open(VerifiedCache {
            lifetime: Duration::ZERO,
            max_entries: 10,
        });
        assert!(users.verify("alice", "a"));
        assert!(!users.verified_recently("alice", "a"));
        assert!(users.loaded.lock().unwrap().verified.is_empty());
        // A pair is taken for its lifetime only.
        let users = open(VerifiedCache {
            lifetime: Duration::from_millis(200),
            max_entries: 10,
        });
        assert!(users.verify("alice", "a"));
        assert!(users.verified_recently("alice", "a"));
        std::thread::sleep(Duration::from_millis(300));
        assert!(!users.verified_recently("alice", "a"));
        assert!(users.verify("alice", "a"));
        // At most max_entries pairs: a full cache of live pairs is emptied for the new one.
        let users = open(VerifiedCache {
            lifetime: Duration::from_secs(300),
            max_entries: 1,
        });
        assert!(users.verify("alice", "a"));
        assert!(users.verify("bob", "b"));
        assert!(users.verified_recently("bob", "b"));
        assert!(!users.verified_recently("alice", "a"));
        assert_eq!(users.loaded.lock().unwrap().verified.len(), 1);
    }
}
