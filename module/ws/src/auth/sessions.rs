//! Server-side sessions: the `alignak_ws` cookie names one; it holds the user and the token
//! `/login` gave, and ends after `session_timeout` without a request, or at `/logout`.
//!
//! Kept in memory: a restart logs everybody out of their sessions (their tokens stay valid).
//! Sessions are found by the SHA-256 of their id (see `secret`), and their number is bounded.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::secret::{self, RandomError};

/// Sessions kept at most; beyond, the one idle the longest is dropped.
const MAX_SESSIONS: usize = 100_000;

#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub token: String,
    last_seen: Instant,
}

pub struct Sessions {
    timeout: Duration,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new(timeout: Duration) -> Sessions {
        Sessions {
            timeout,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // Every update is a single insert or remove: nothing is half-done after a panic.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new session for `user` with `token`; returns its id, for the cookie.
    pub fn create(&self, user: &str, token: &str, now: Instant) -> Result<String, RandomError> {
        let id = secret::new_secret()?;
        let mut sessions = self.lock();
        sessions.retain(|_, s| now.saturating_duration_since(s.last_seen) < self.timeout);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(idlest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| *k)
            {
                sessions.remove(&idlest);
            }
        }
        sessions.insert(
            secret::hash(&id),
            Session {
                user: user.to_string(),
                token: token.to_string(),
                last_seen: now,
            },
        );
        Ok(id)
    }

    /// The live session `id` names, marked as used now; an idle one is ended instead.
    pub fn touch(&self, id: &str, now: Instant) -> Option<Session> {
        let key = secret::hash(id);
        let mut sessions = self.lock();
        let session = sessions.get_mut(&key)?;
        if now.saturating_duration_since(session.last_seen) >= self.timeout {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends session `id`; returns it if it existed.
    pub fn remove(&self, id: &str) -> Option<Session> {
        self.lock().remove(&secret::hash(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_while_it_is_used_and_ends_when_idle() {
        let sessions = Sessions::new(Duration::from_secs(10));
        let t = Instant::now();
        let id = sessions.create("alice", "tok", t).unwrap();
        let s = sessions.touch(&id, t + Duration::from_secs(9)).unwrap();
        assert_eq!((s.user.as_str(), s.token.as_str()), ("alice", "tok"));
        // Used at 9 s, so still alive at 18 s.
        assert!(sessions.touch(&id, t + Duration::from_secs(18)).is_some());
        assert!(sessions.touch(&id, t + Duration::from_secs(28)).is_none());
        // Ended for good, not just for that call.
        assert!(sessions.touch(&id, t + Duration::from_secs(18)).is_none());
    }

    #[test]
    fn unknown_empty_and_removed_sessions_are_not_sessions() {
        let sessions = Sessions::new(Duration::from_secs(10));
        let t = Instant::now();
        let id = sessions.create("alice", "tok", t).unwrap();
        assert!(sessions.touch("", t).is_none());
        assert!(sessions.touch("made-up", t).is_none());
        assert!(sessions.remove(&id).is_some());
        assert!(sessions.touch(&id, t).is_none());
        assert!(sessions.remove(&id).is_none());
    }
}
