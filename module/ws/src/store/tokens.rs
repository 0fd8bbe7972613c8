//! The tokens minted by `/login`, in the embedded store's SQLite file (`embedded_store`),
//! table `tokens` (see `schema.rs`).
//!
//! It is the durable copy behind `auth::credentials::TokenKeeper`: read once at start, written
//! on `/login` and `/logout` (from the blocking pool), never on a request's check, which the
//! authentication answers from memory. The token store keeps its own connection to the file
//! behind a `Mutex` (the hosts side has another: WAL lets both work).

use super::file;
#[cfg(test)]
use super::schema;

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{params, Connection, OptionalExtension};

/// The store file's one error type: the tokens' connection is opened as the store's is.
pub type TokenStoreError = file::StoreFileError;

pub use crate::auth::credentials::TokenHash;
use crate::auth::credentials::{CredentialError, TokenKeeper};

pub struct TokenStore {
    connection: Mutex<Connection>,
}

impl TokenStore {
    /// Opens (or creates) the store at `path`, creating its directory, and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<TokenStore, TokenStoreError> {
        let (connection, _) = file::open_read_write(path, true)?;
        Ok(TokenStore {
            connection: Mutex::new(connection),
        })
    }

    /// An in-memory store, for unit tests.
    #[cfg(test)]
    pub fn in_memory() -> TokenStore {
        let mut connection = Connection::open_in_memory().expect("in-memory SQLite");
        file::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        TokenStore {
            connection: Mutex::new(connection),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, TokenStoreError> {
        // A panic while holding the lock cannot leave a half-done statement behind: SQLite
        // rolls it back. The connection stays usable.
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(f(&connection)?)
    }

    /// The user a token (by its hash) belongs to, if it exists and has not expired.
    pub fn token_user(
        &self,
        hash: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<String>, TokenStoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT username FROM tokens WHERE hash = ?1 AND expires_ms > ?2",
                params![&hash[..], now_ms],
                |row| row.get(0),
            )
            .optional()
        })
    }
}

/// The SQLite side of the tokens `auth` keeps in memory.
impl TokenKeeper for TokenStore {
    /// Keeps a token (by its hash) for `username` until `expires_ms`, and forgets the tokens
    /// that have expired, so the table does not grow without bound.
    fn insert_token(
        &self,
        hash: &TokenHash,
        username: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), CredentialError> {
        self.with(|c| {
            c.execute("DELETE FROM tokens WHERE expires_ms <= ?1", params![now_ms])?;
            c.execute(
                "INSERT OR REPLACE INTO tokens (hash, username, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![&hash[..], username, now_ms, expires_ms],
            )?;
            Ok(())
        })
        .map_err(kept)
    }

    /// Every token (hash, user, expiry) still valid at `now_ms`: what the in-memory copy
    /// starts from.
    fn live_tokens(&self, now_ms: i64) -> Result<Vec<(TokenHash, String, i64)>, CredentialError> {
        self.with(|c| {
            let mut statement =
                c.prepare("SELECT hash, username, expires_ms FROM tokens WHERE expires_ms > ?1")?;
            let rows = statement.query_map(params![now_ms], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, row.get(1)?, row.get(2)?))
            })?;
            let mut tokens = Vec::new();
            for row in rows {
                let (hash, user, expires) = row?;
                // A row that is not a SHA-256 can match no token: skip it.
                if let Ok(hash) = TokenHash::try_from(hash.as_slice()) {
                    tokens.push((hash, user, expires));
                }
            }
            Ok(tokens)
        })
        .map_err(kept)
    }

    /// Forgets a token (by its hash); forgetting an unknown token is not an error.
    fn delete_token(&self, hash: &TokenHash) -> Result<(), CredentialError> {
        self.with(|c| {
            c.execute("DELETE FROM tokens WHERE hash = ?1", params![&hash[..]])?;
            Ok(())
        })
        .map_err(kept)
    }
}

fn kept(error: TokenStoreError) -> CredentialError {
    CredentialError::Store(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_until_they_expire_or_are_deleted() {
        let store = TokenStore::in_memory();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        store.insert_token(&a, "alice", 1_000, 2_000).unwrap();
        store.insert_token(&b, "bob", 1_000, 5_000).unwrap();
        assert_eq!(
            store.token_user(&a, 1_999).unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(store.token_user(&a, 2_000).unwrap(), None);
        assert_eq!(store.token_user(&[3u8; 32], 1_000).unwrap(), None);
        store.delete_token(&b).unwrap();
        assert_eq!(store.token_user(&b, 1_000).unwrap(), None);
        store.delete_token(&b).unwrap();
    }

    #[test]
    fn expired_tokens_are_purged_when_a_new_one_is_kept() {
        let store = TokenStore::in_memory();
        store.insert_token(&[1u8; 32], "alice", 0, 10).unwrap();
        store.insert_token(&[2u8; 32], "bob", 20, 30).unwrap();
        let rows: i64 = store
            .with(|c| c.query_row("SELECT count(*) FROM tokens", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn the_file_is_created_with_its_directory_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("var/lib/alignak/ws.sqlite");
        let store = TokenStore::open(&path).unwrap();
        store.insert_token(&[1u8; 32], "alice", 0, 10).unwrap();
        drop(store);
        // Opening again keeps the data and does not migrate twice.
        let store = TokenStore::open(&path).unwrap();
        assert_eq!(
            store.token_user(&[1u8; 32], 5).unwrap().as_deref(),
            Some("alice")
        );
        let version: u32 = store
            .with(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
            .unwrap();
        assert_eq!(version, schema::VERSION as u32);
    }

    #[test]
    fn a_file_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.sqlite");
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        let err = TokenStore::open(&path).err().unwrap();
        assert!(
            matches!(err, TokenStoreError::TooNew { found: 99, .. }),
            "{err}"
        );
    }
}
