//! Logins checked by the Alignak backend: a password with its `POST /login` (which answers
//! the user's token), a token with a cheap authenticated call. Results are kept at most
//! `CACHE_FOR`, keyed by a hash of the secret, so that a client sending Basic credentials on
//! every request does not cost a backend login each time.

use std::sync::Arc;
use std::time::Duration;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use serde_json::json;

use super::client::{q, BackendError, Client};
use crate::auth::credentials::{CredentialError, CredentialStore, Verdict};
use crate::auth::secret;

const CACHE_FOR: Duration = Duration::from_secs(60);
/// Entries beyond this are dropped (least recently used first) so that guesses cannot grow
/// the cache.
const CACHE_SIZE: u64 = 10_000;

/// Who a token that the backend takes belongs to, for the logs: the backend is not asked
/// (see `verify_token`). A token from a password login here keeps its user's name.
const UNNAMED_USER: &str = "backend token user";

pub struct BackendCredentials {
    client: Arc<Client>,
    /// Random per process: the cache keys are no plain hashes of passwords.
    salt: String,
    /// hash(user, password) -> token.
    logins: Cache<[u8; 32], String>,
    /// hash(token) -> user name.
    tokens: Cache<[u8; 32], String>,
}

fn backend_error(err: BackendError) -> CredentialError {
    CredentialError::Backend(format!(
        "Alignak backend is not available currently ({err})"
    ))
}

fn cache() -> Cache<[u8; 32], String> {
    // LRU rather than moka's default TinyLFU, which may refuse a new login a place.
    Cache::builder()
        .max_capacity(CACHE_SIZE)
        .time_to_live(CACHE_FOR)
        .eviction_policy(EvictionPolicy::lru())
        .build()
}

impl BackendCredentials {
    pub fn new(client: Arc<Client>) -> BackendCredentials {
        BackendCredentials {
            client,
            salt: secret::new_secret().unwrap_or_else(|_| {
                // Without randomness the keys are still hashes; they only lose the salt.
                String::from("alignak-ws")
            }),
            logins: cache(),
            tokens: cache(),
        }
    }
}

impl CredentialStore for BackendCredentials {
    fn verify_password(&self, user: &str, password: &str) -> Result<Verdict, CredentialError> {
        let key = self.key(&format!("{user}\u{0}{password}"));
        if let Some(token) = self.logins.get(&key) {
            return Ok(Verdict::Accepted { token: Some(token) });
        }
        match self.client.login(user, password).map_err(backend_error)? {
            Some(token) => {
                self.logins.insert(key, token.clone());
                self.tokens.insert(self.key(&token), user.to_string());
                Ok(Verdict::Accepted { token: Some(token) })
            }
            None => Ok(Verdict::Refused),
        }
    }

    fn verify_token(&self, token: &str) -> Result<Option<String>, CredentialError> {
        if token.is_empty() {
            return Ok(None);
        }
        let key = self.key(token);
        if let Some(user) = self.tokens.get(&key) {
            return Ok(Some(user));
        }
        // One cheap authenticated call: only a success means the backend took the token; a
        // 401 refuses it, and anything else (a wrong URL's 404, a proxy's 403) is not an
        // answer about the token at all: 503, never "valid". The token travels only in the
        // Authorization header: a query that named it would put it in the backend's log.
        let answer = self.client.get(
            Some(token),
            "realm",
            &[
                ("projection", q(json!({"name": 1}))),
                ("max_results", "1".into()),
            ],
        );
        let user = match answer {
            Ok(_) => UNNAMED_USER.to_string(),
            Err(BackendError::Unauthorized(_)) => return Ok(None),
            Err(err) => return Err(backend_error(err)),
        };
        self.tokens.insert(key, user.clone());
        Ok(Some(user))
    }

    fn issue_token(&self, user: &str) -> Result<String, CredentialError> {
        // Never reached: a password accepted by the backend comes with the user's token.
        Err(CredentialError::Backend(format!(
            "no backend token for '{user}': log in with a password"
        )))
    }

    fn revoke_token(&self, token: &str) -> Result<(), CredentialError> {
        // The backend's token is the user's own and stays valid there (the original never
        // revoked it either); this module stops trusting it without asking again.
        self.forget(token);
        Ok(())
    }
}

impl BackendCredentials {
    fn key(&self, secret_text: &str) -> [u8; 32] {
        secret::hash(&format!("{}\u{0}{secret_text}", self.salt))
    }

    /// Drops what the caches say of `token`: the next use asks the backend again.
    pub fn forget(&self, token: &str) {
        self.tokens.invalidate(&self.key(token));
        // Each invalidation holds from the moment it returns, unlike `invalidate_entries_if`.
        for (key, cached_token) in &self.logins {
            if cached_token == token {
                self.logins.invalidate(&*key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend nobody listens on: every question that reaches it fails.
    fn credentials() -> BackendCredentials {
        BackendCredentials::new(Arc::new(Client::new("http://127.0.0.1:1").unwrap()))
    }

    #[test]
    fn a_cached_login_answers_without_the_backend_until_its_token_is_revoked() {
        let creds = credentials();
        let login = creds.key("alice\u{0}pw");
        creds.logins.insert(login, "tok".into());
        creds.tokens.insert(creds.key("tok"), "alice".into());
        assert_eq!(
            creds.verify_password("alice", "pw").unwrap(),
            Verdict::Accepted {
                token: Some("tok".into())
            }
        );
        assert_eq!(creds.verify_token("tok").unwrap(), Some("alice".into()));
        creds.revoke_token("tok").unwrap();
        // Forgotten at once: the next answer must come from the (unreachable) backend.
        assert!(creds.verify_token("tok").is_err());
        assert!(creds.verify_password("alice", "pw").is_err());
    }
}
