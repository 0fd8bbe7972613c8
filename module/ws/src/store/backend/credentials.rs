//! Logins checked by the Alignak backend: a password with its `POST /login` (which answers
//! the user's token), a token with a cheap authenticated call. Results are kept at most
//! `CACHE_FOR`, keyed by a hash of the secret, so that a client sending Basic credentials on
//! every request does not cost a backend login each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::client::{q, BackendError, Client};
use crate::auth::credentials::{CredentialError, CredentialStore, Verdict};
use crate::auth::secret;

const CACHE_FOR: Duration = Duration::from_secs(60);
/// Entries beyond this are dropped (oldest first) so that guesses cannot grow the cache.
const CACHE_SIZE: usize = 10_000;

/// Who a token that the backend takes belongs to, for the logs: the backend is not asked
/// (see `verify_token`). A token from a password login here keeps its user's name.
const UNNAMED_USER: &str = "backend token user";

pub struct BackendCredentials {
    client: Arc<Client>,
    /// Random per process: the cache keys are no plain hashes of passwords.
    salt: String,
    /// hash(user, password) -> token.
    logins: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    /// hash(token) -> user name.
    tokens: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

fn backend_error(err: BackendError) -> CredentialError {
    CredentialError::Backend(format!(
        "Alignak backend is not available currently ({err})"
    ))
}

fn cached(cache: &Mutex<HashMap<[u8; 32], (String, Instant)>>, key: &[u8; 32]) -> Option<String> {
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    match cache.get(key) {
        Some((value, at)) if at.elapsed() < CACHE_FOR => Some(value.clone()),
        Some(_) => {
            cache.remove(key);
            None
        }
        None => None,
    }
}

fn remember(cache: &Mutex<HashMap<[u8; 32], (String, Instant)>>, key: [u8; 32], value: String) {
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= CACHE_SIZE {
        cache.retain(|_, (_, at)| at.elapsed() < CACHE_FOR);
        if cache.len() >= CACHE_SIZE {
            cache.clear();
        }
    }
    cache.insert(key, (value, Instant::now()));
}

impl BackendCredentials {
    pub fn new(client: Arc<Client>) -> BackendCredentials {
        BackendCredentials {
            client,
            salt: secret::new_secret().unwrap_or_else(|_| {
                // Without randomness the keys are still hashes; they only lose the salt.
                String::from("alignak-ws")
            }),
            logins: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        }
    }
}

impl CredentialStore for BackendCredentials {
    fn verify_password(&self, user: &str, password: &str) -> Result<Verdict, CredentialError> {
        let key = self.key(&format!("{user}\u{0}{password}"));
        if let Some(token) = cached(&self.logins, &key) {
            return Ok(Verdict::Accepted { token: Some(token) });
        }
        match self.client.login(user, password).map_err(backend_error)? {
            Some(token) => {
                remember(&self.logins, key, token.clone());
                remember(&self.tokens, self.key(&token), user.to_string());
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
        if let Some(user) = cached(&self.tokens, &key) {
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
        remember(&self.tokens, key, user.clone());
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
        let key = self.key(token);
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        self.logins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (t, _)| t != token);
    }
}
