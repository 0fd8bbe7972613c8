//! Who may use the API: the check of a user's password and of a token, behind one trait so that
//! an Alignak backend can take the place of the local users file and embedded store.
//!
//! The `verify_*` and `*_token` methods may block (bcrypt is slow on purpose, SQLite does I/O):
//! `Auth` calls them from `tokio::task::spawn_blocking`, never on an HTTP worker. The `known_*`
//! methods never block: `Auth` asks them first, on the worker, and only a `None` costs a hop.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::htpasswd::UsersFile;
use super::secret::{self, RandomError};

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The durable copy of the tokens failed (`TokenKeeper`).
    #[error("{0}")]
    Store(String),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("the credential check did not finish: {0}")]
    Task(String),
    #[error("{0}")]
    Backend(String),
}

/// The answer to a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Refused,
    /// The password is right; `token` is the one the check itself gave (the backend's
    /// `/login`), else `issue_token` makes one when a token is needed.
    Accepted {
        token: Option<String>,
    },
}

pub trait CredentialStore: Send + Sync {
    /// Whether `password` is `user`'s password.
    fn verify_password(&self, user: &str, password: &str) -> Result<Verdict, CredentialError>;

    /// The user `token` belongs to, while it is valid.
    fn verify_token(&self, token: &str) -> Result<Option<String>, CredentialError>;

    /// A token for `user`, whose password was just verified.
    fn issue_token(&self, user: &str) -> Result<String, CredentialError>;

    /// Makes `token` invalid; an unknown token is not an error.
    fn revoke_token(&self, token: &str) -> Result<(), CredentialError>;

    /// `Some(true)` when the pair is known right without blocking (verified recently); `None`
    /// when only `verify_password` can tell. Never `Some(false)` from a cache of failures.
    fn known_password(&self, _user: &str, _password: &str) -> Option<bool> {
        None
    }

    /// The answer of `verify_token` when it can be given without blocking.
    fn known_token(&self, _token: &str) -> Option<Option<String>> {
        None
    }
}

/// A SHA-256 hash of a token: what is kept instead of the token.
pub type TokenHash = [u8; 32];

/// The durable copy of the tokens minted here (the embedded store's `tokens` table): read
/// once at start, written through on issue and revoke.
pub trait TokenKeeper: Send + Sync {
    /// Keeps `hash` for `user` until `expires_ms`, and forgets the expired ones.
    fn insert_token(
        &self,
        hash: &TokenHash,
        user: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), CredentialError>;
    /// Every token (hash, user, expiry) still valid at `now_ms`.
    fn live_tokens(&self, now_ms: i64) -> Result<Vec<(TokenHash, String, i64)>, CredentialError>;
    /// Forgets `hash`; an unknown one is not an error.
    fn delete_token(&self, hash: &TokenHash) -> Result<(), CredentialError>;
}

/// Without a backend: users from the htpasswd `users_file`, tokens minted here and kept,
/// hashed, in the embedded store for `token_timeout`.
pub struct LocalCredentials {
    users: UsersFile,
    /// The durable copy of the tokens: written through on issue and revoke.
    store: Arc<dyn TokenKeeper>,
    /// token hash -> (user, expiry in ms): every live token, so that checking one reads no
    /// disk. Only this process issues and revokes tokens, so the copy stays exact.
    tokens: RwLock<HashMap<TokenHash, (String, i64)>>,
    token_lifetime: Duration,
}

impl LocalCredentials {
    /// Loads the live tokens of `store` into memory.
    pub fn new(
        users: UsersFile,
        store: Arc<dyn TokenKeeper>,
        token_lifetime: Duration,
    ) -> Result<LocalCredentials, CredentialError> {
        let tokens = store
            .live_tokens(now_ms())?
            .into_iter()
            .map(|(hash, user, expires)| (hash, (user, expires)))
            .collect();
        Ok(LocalCredentials {
            users,
            store,
            tokens: RwLock::new(tokens),
            token_lifetime,
        })
    }

    /// The users file, for a reload signal.
    pub fn users(&self) -> &UsersFile {
        &self.users
    }

    fn token_in_memory(&self, token: &str) -> Option<String> {
        if token.is_empty() {
            return None;
        }
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        match tokens.get(&secret::hash(token)) {
            Some((user, expires)) if *expires > now_ms() => Some(user.clone()),
            _ => None,
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl CredentialStore for LocalCredentials {
    fn verify_password(&self, user: &str, password: &str) -> Result<Verdict, CredentialError> {
        Ok(if self.users.verify(user, password) {
            Verdict::Accepted { token: None }
        } else {
            Verdict::Refused
        })
    }

    fn verify_token(&self, token: &str) -> Result<Option<String>, CredentialError> {
        Ok(self.token_in_memory(token))
    }

    fn known_password(&self, user: &str, password: &str) -> Option<bool> {
        self.users.verified_recently(user, password).then_some(true)
    }

    fn known_token(&self, token: &str) -> Option<Option<String>> {
        Some(self.token_in_memory(token))
    }

    fn issue_token(&self, user: &str) -> Result<String, CredentialError> {
        let token = secret::new_secret()?;
        let now = now_ms();
        let lifetime = i64::try_from(self.token_lifetime.as_millis()).unwrap_or(i64::MAX);
        let hash = secret::hash(&token);
        let expires = now.saturating_add(lifetime);
        // The durable copy first: a token is valid only once a restart would keep it.
        self.store.insert_token(&hash, user, now, expires)?;
        let mut tokens = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        tokens.retain(|_, (_, expires)| *expires > now);
        tokens.insert(hash, (user.to_string(), expires));
        Ok(token)
    }

    fn revoke_token(&self, token: &str) -> Result<(), CredentialError> {
        let hash = secret::hash(token);
        // Out of memory first: the token stops working at once, even if the disk is slow.
        self.tokens
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&hash);
        self.store.delete_token(&hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tokens::TokenStore;

    fn local(lifetime: Duration) -> (tempfile::TempDir, LocalCredentials) {
        let (dir, credentials, _) = local_with_store(lifetime);
        (dir, credentials)
    }

    /// `local`, and the durable copy of its tokens.
    fn local_with_store(
        lifetime: Duration,
    ) -> (tempfile::TempDir, LocalCredentials, Arc<TokenStore>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let hash = bcrypt::hash("secret", 4).unwrap();
        std::fs::write(&path, format!("alice:{hash}\n")).unwrap();
        let (users, _) = UsersFile::open_or_create(&path).unwrap();
        let store = Arc::new(TokenStore::in_memory());
        let credentials = LocalCredentials::new(users, store.clone(), lifetime).unwrap();
        (dir, credentials, store)
    }

    #[test]
    fn tokens_are_valid_until_revoked_and_stored_hashed() {
        let (_dir, c, store) = local_with_store(Duration::from_secs(60));
        assert_eq!(
            c.verify_password("alice", "secret").unwrap(),
            Verdict::Accepted { token: None }
        );
        assert_eq!(
            c.verify_password("alice", "Secret").unwrap(),
            Verdict::Refused
        );
        let token = c.issue_token("alice").unwrap();
        assert_eq!(c.verify_token(&token).unwrap().as_deref(), Some("alice"));
        assert_eq!(c.verify_token("").unwrap(), None);
        assert_eq!(c.verify_token("alice").unwrap(), None);
        // The store is keyed by the token's hash.
        assert!(store
            .token_user(&secret::hash(&token), now_ms())
            .unwrap()
            .is_some());
        c.revoke_token(&token).unwrap();
        assert_eq!(c.verify_token(&token).unwrap(), None);
    }

    #[test]
    fn tokens_kept_in_the_store_are_valid_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(
            &path,
            format!("alice:{}\n", bcrypt::hash("secret", 4).unwrap()),
        )
        .unwrap();
        let store = Arc::new(TokenStore::open(&dir.path().join("ws.sqlite")).unwrap());
        let (users, _) = UsersFile::open_or_create(&path).unwrap();
        let first = LocalCredentials::new(users, store.clone(), Duration::from_secs(60)).unwrap();
        let kept = first.issue_token("alice").unwrap();
        let revoked = first.issue_token("alice").unwrap();
        first.revoke_token(&revoked).unwrap();
        drop(first);
        let (users, _) = UsersFile::open_or_create(&path).unwrap();
        let second = LocalCredentials::new(users, store, Duration::from_secs(60)).unwrap();
        assert_eq!(second.known_token(&kept), Some(Some("alice".into())));
        assert_eq!(second.known_token(&revoked), Some(None));
    }

    #[test]
    fn tokens_expire() {
        let (_dir, c) = local(Duration::from_millis(50));
        let token = c.issue_token("alice").unwrap();
        assert!(c.verify_token(&token).unwrap().is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(c.verify_token(&token).unwrap(), None);
    }
}
