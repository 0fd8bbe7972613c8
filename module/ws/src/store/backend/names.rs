//! Creations of one name wait for each other within this gateway: the backend's `unique`
//! rule is a check-then-insert, so two concurrent POSTs of one name both pass it. A session
//! holds the name from the lookup that found nothing until its creation is done.
//!
//! The map holds only the names held right now (an entry goes with its guard), so it is
//! bounded by the number of sessions running at once.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct NameLocks {
    held: Mutex<HashSet<String>>,
    freed: Condvar,
}

/// One held name; dropping it lets the next waiter in.
pub struct NameGuard {
    locks: Arc<NameLocks>,
    pub key: String,
}

impl NameLocks {
    /// `key` held by this caller, or `None` when `deadline` passed first.
    pub fn acquire(self: &Arc<Self>, key: &str, deadline: Instant) -> Option<NameGuard> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while held.contains(key) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            held = self
                .freed
                .wait_timeout(held, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        held.insert(key.to_string());
        Some(NameGuard {
            locks: Arc::clone(self),
            key: key.to_string(),
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for NameGuard {
    fn drop(&mut self) {
        self.locks
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
        self.locks.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_held_name_waits_and_entries_go_with_their_guards() {
        let locks = Arc::new(NameLocks::default());
        let soon = || Instant::now() + Duration::from_millis(50);
        let first = locks.acquire("host\0a", soon()).expect("free name");
        assert!(locks.acquire("host\0a", soon()).is_none(), "held elsewhere");
        let other = locks
            .acquire("host\0b", soon())
            .expect("another name is free");
        assert_eq!(locks.len(), 2);
        drop(first);
        drop(other);
        assert_eq!(locks.len(), 0);
        let waiter = {
            let locks = Arc::clone(&locks);
            let held = locks.acquire("host\0a", soon()).expect("free again");
            let t = std::thread::spawn(move || {
                locks
                    .acquire("host\0a", Instant::now() + Duration::from_secs(10))
                    .is_some()
            });
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
            t
        };
        assert!(waiter.join().expect("no panic"), "the waiter gets the name");
    }
}
