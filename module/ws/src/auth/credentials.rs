//! Who may use the API: the check of a user's password and of a token, behind one trait so that
//! an Alignak backend can take the place of the local users file and embedded store.
//!
//! Every method may block (bcrypt is slow on purpose, SQLite does I/O): `Auth` calls them from
//! `tokio::task::spawn_blocking`, never on an HTTP worker.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::htpasswd::UsersFile;
use super::secret::{self, RandomError};
use crate::store::tokens::{TokenStore, TokenStoreError};

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Store(#[from] TokenStoreError),
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
}

/// Without a backend: users from the htpasswd `users_file`, tokens minted here and kept,
/// hashed, in the embedded store for `token_timeout`.
pub struct LocalCredentials {
    users: UsersFile,
    store: Arc<TokenStore>,
    token_lifetime: Duration,
}

impl LocalCredentials {
    pub fn new(
        users: UsersFile,
        store: Arc<TokenStore>,
        token_lifetime: Duration,
    ) -> LocalCredentials {
        LocalCredentials {
            users,
            store,
            token_lifetime,
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
        if token.is_empty() {
            return Ok(None);
        }
        Ok(self.store.token_user(&secret::hash(token), now_ms())?)
    }

    fn issue_token(&self, user: &str) -> Result<String, CredentialError> {
        let token = secret::new_secret()?;
        let now = now_ms();
        let lifetime = i64::try_from(self.token_lifetime.as_millis()).unwrap_or(i64::MAX);
        self.store.insert_token(
            &secret::hash(&token),
            user,
            now,
            now.saturating_add(lifetime),
        )?;
        Ok(token)
    }

    fn revoke_token(&self, token: &str) -> Result<(), CredentialError> {
        Ok(self.store.delete_token(&secret::hash(token))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(lifetime: Duration) -> (tempfile::TempDir, LocalCredentials) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let hash = bcrypt::hash("secret", 4).unwrap();
        std::fs::write(&path, format!("alice:{hash}\n")).unwrap();
        let (users, _) = UsersFile::open_or_create(&path).unwrap();
        let store = Arc::new(TokenStore::in_memory());
        (dir, LocalCredentials::new(users, store, lifetime))
    }

    #[test]
    fn tokens_are_valid_until_revoked_and_stored_hashed() {
        let (_dir, c) = local(Duration::from_secs(60));
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
        assert!(c
            .store
            .token_user(&secret::hash(&token), now_ms())
            .unwrap()
            .is_some());
        c.revoke_token(&token).unwrap();
        assert_eq!(c.verify_token(&token).unwrap(), None);
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
