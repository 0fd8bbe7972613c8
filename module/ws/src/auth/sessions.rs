//! Sessions sealed in the `alignak_ws` cookie: the cookie itself holds the user, the token
//! `/login` gave and when the session was last used, encrypted and authenticated with
//! ChaCha20-Poly1305 under the `session_key` (SHA-256 of the module key). Every gateway
//! configured with the same key opens the same cookies, and a restart ends no session; without
//! `session_key` the key is random per process (sessions then live on this gateway only).
//!
//! A session ends after `session_timeout` without a request (the cookie is sealed again with
//! the new time, at most once a minute, and sent back), or at `/logout`: this gateway then
//! refuses that session at once; another gateway refuses it once its token is refused there or
//! its idle time is over (the README says what holds where).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::secret::{self, RandomError};

/// Bound to every sealed cookie: a value sealed for anything else never opens as a session.
const ASSOCIATED: &[u8] = b"alignak_ws session v1";
const NONCE_BYTES: usize = 12;
/// Ended sessions remembered at most; beyond, the oldest are forgotten first.
const MAX_ENDED: usize = 100_000;
/// A session used again this long after it was sealed is sealed again with the new time.
const RESEAL_AFTER_SECS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub token: String,
}

/// A session in use, and the new cookie value when it was sealed again.
#[derive(Debug)]
pub struct Touched {
    pub session: Session,
    pub resealed: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The session's id: what `/logout` ends.
    #[serde(rename = "s")]
    id: String,
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "t")]
    token: String,
    /// Unix seconds of the last use the cookie records.
    #[serde(rename = "l")]
    last_seen: u64,
}

pub struct Sessions {
    timeout_secs: u64,
    cipher: ChaCha20Poly1305,
    /// Ended session ids (hashed), with when they can be forgotten (their cookie has expired).
    ended: Mutex<HashMap<[u8; 32], u64>>,
}

impl Sessions {
    /// `key`: the shared secret of `session_key` (any length; its SHA-256 is the AEAD key).
    pub fn new(timeout: Duration, key: &[u8]) -> Sessions {
        let key: [u8; 32] = Sha256::digest(key).into();
        Sessions {
            timeout_secs: timeout.as_secs().max(1),
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            ended: Mutex::new(HashMap::new()),
        }
    }

    fn seal(&self, sealed: &Sealed) -> Result<String, RandomError> {
        let mut nonce = [0u8; NONCE_BYTES];
        nonce.copy_from_slice(&secret::random_key()?[..NONCE_BYTES]);
        // Serialising a struct of strings and an integer cannot fail.
        let plain = serde_json::to_vec(sealed).unwrap_or_default();
        let Ok(cipher_text) = self.cipher.encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: ASSOCIATED,
            },
        ) else {
            // Only a message beyond ChaCha20's 256 GiB could fail.
            return Ok(String::new());
        };
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&cipher_text);
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    fn open(&self, cookie: &str) -> Option<Sealed> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cookie)
            .ok()?;
        if bytes.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, cipher_text) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: cipher_text,
                    aad: ASSOCIATED,
                },
            )
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }

    fn ended(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], u64>> {
        // Every update is a single insert or a retain: nothing is half-done after a panic.
        self.ended.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new session for `user` with `token`, used at `now` (Unix seconds): the cookie value.
    pub fn create(&self, user: &str, token: &str, now: u64) -> Result<String, RandomError> {
        self.seal(&Sealed {
            id: secret::new_secret()?,
            user: user.to_string(),
            token: token.to_string(),
            last_seen: now,
        })
    }

    /// The live session a cookie holds, used at `now`; `None` for anything else (made up,
    /// sealed with another key, idle too long, ended here).
    pub fn touch(&self, cookie: &str, now: u64) -> Option<Touched> {
        let mut sealed = self.live(cookie, now)?;
        let reseal_after = RESEAL_AFTER_SECS.min(self.timeout_secs / 2);
        let resealed = if now.saturating_sub(sealed.last_seen) >= reseal_after {
            sealed.last_seen = now;
            self.seal(&sealed).ok()
        } else {
            None
        };
        Some(Touched {
            session: Session {
                user: sealed.user,
                token: sealed.token,
            },
            resealed,
        })
    }

    /// What a cookie holds while its session is live: not idle too long, not ended here.
    fn live(&self, cookie: &str, now: u64) -> Option<Sealed> {
        let sealed = self.open(cookie)?;
        // A cookie from the future (a clock far ahead elsewhere) is not trusted either.
        if now.saturating_sub(sealed.last_seen) >= self.timeout_secs
            || sealed.last_seen > now + RESEAL_AFTER_SECS
        {
            return None;
        }
        if self.ended().contains_key(&secret::hash(&sealed.id)) {
            return None;
        }
        Some(sealed)
    }

    /// Ends the session a cookie holds, here; returns it if it was live.
    pub fn remove(&self, cookie: &str, now: u64) -> Option<Session> {
        let sealed = self.live(cookie, now)?;
        let mut ended = self.ended();
        ended.retain(|_, forget_at| *forget_at > now);
        if ended.len() >= MAX_ENDED {
            if let Some(oldest) = ended.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
                ended.remove(&oldest);
            }
        }
        ended.insert(secret::hash(&sealed.id), now + self.timeout_secs);
        Some(Session {
            user: sealed.user,
            token: sealed.token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000;

    fn sessions(timeout: u64) -> Sessions {
        Sessions::new(
            Duration::from_secs(timeout),
            b"a shared key of the gateways",
        )
    }

    #[test]
    fn a_session_lives_while_it_is_used_and_ends_when_idle() {
        let sessions = sessions(100);
        let cookie = sessions.create("alice", "tok", T).unwrap();
        let touched = sessions.touch(&cookie, T + 10).unwrap();
        assert_eq!(
            touched.session,
            Session {
                user: "alice".into(),
                token: "tok".into()
            }
        );
        assert!(touched.resealed.is_none(), "resealed at most once a minute");
        assert!(sessions.touch(&cookie, T + 99).is_some());
        // Idle too long as that cookie says; the cookie sealed again at 61 s lives on.
        assert!(sessions.touch(&cookie, T + 100).is_none());
        let resealed = sessions.touch(&cookie, T + 61).unwrap().resealed.unwrap();
        assert_ne!(resealed, cookie);
        assert!(sessions.touch(&resealed, T + 160).is_some());
        assert!(sessions.touch(&resealed, T + 161).is_none());
    }

    #[test]
    fn every_gateway_with_the_key_opens_it_and_no_other() {
        let (a, b) = (sessions(100), sessions(100));
        let cookie = a.create("alice", "tok", T).unwrap();
        assert!(b.touch(&cookie, T + 1).is_some());
        let other = Sessions::new(Duration::from_secs(100), b"another key");
        assert!(other.touch(&cookie, T + 1).is_none());
        // A changed byte, a made-up value, an empty one: no session.
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&cookie)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        for cookie in [tampered.as_str(), "made-up", "", "AAAA"] {
            assert!(a.touch(cookie, T + 1).is_none(), "{cookie}");
        }
        // Sealed in the future (a clock far ahead): refused.
        let future = a.create("alice", "tok", T + 3600).unwrap();
        assert!(a.touch(&future, T).is_none());
    }

    #[test]
    fn logout_ends_it_here_at_once() {
        let (a, b) = (sessions(100), sessions(100));
        let cookie = a.create("alice", "tok", T).unwrap();
        assert!(a.remove(&cookie, T + 1).is_some());
        assert!(a.touch(&cookie, T + 2).is_none());
        assert!(a.remove(&cookie, T + 2).is_none());
        // Another gateway knows nothing of it: until its idle time is over.
        assert!(b.touch(&cookie, T + 2).is_some());
        assert!(b.touch(&cookie, T + 100).is_none());
    }
}
