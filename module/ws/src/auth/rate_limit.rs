//! Failed authentications, counted per subject (`Auth` counts a password per (address, user)
//! and a token per address), so that passwords and tokens cannot be guessed over HTTP: after a
//! burst of failures the subject is blocked, for longer each time. Other subjects of the same
//! address are not: one misconfigured client behind a NAT does not lock out the others.
//!
//! Addresses are the TCP peer's: behind a reverse proxy every client shares the proxy's address
//! (forwarded headers are not trusted, anyone can write them). IPv6 clients are counted per /64,
//! the block a single host usually gets.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before the address is blocked.
    pub burst: u32,
    /// The first block; each next one doubles, up to `max_block`.
    pub first_block: Duration,
    pub max_block: Duration,
    /// An address without failure for this long starts again from nothing.
    pub forget_after: Duration,
    /// Addresses remembered at most (the memory is bounded whatever the clients do).
    pub max_addresses: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            burst: 5,
            first_block: Duration::from_secs(10),
            max_block: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
            max_addresses: 65_536,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Attempts being checked now. They count against the burst, so that a client cannot
    /// start a thousand guesses at once before the first failure is counted.
    in_flight: u32,
    blocks: u32,
    blocked_until: Option<Instant>,
    last_failure: Option<Instant>,
}

impl Entry {
    const FRESH: Entry = Entry {
        failures: 0,
        in_flight: 0,
        blocks: 0,
        blocked_until: None,
        last_failure: None,
    };

    fn forgettable(&self, policy: &Policy, now: Instant) -> bool {
        self.in_flight == 0
            && self
                .last_failure
                .is_none_or(|at| now.saturating_duration_since(at) >= policy.forget_after)
    }
}

pub struct RateLimiter<K> {
    policy: Policy,
    entries: Mutex<HashMap<K, Entry>>,
}

/// Whether an authentication attempt may be checked now.
pub enum Admission<'a, K: Eq + Hash + Clone> {
    /// Go on; tell the attempt if it fails.
    Go(Attempt<'a, K>),
    /// The address is blocked for this long.
    Blocked(Duration),
    /// As many attempts as the address may still fail are being checked: wait for one.
    Busy,
}

/// An attempt being checked. Dropped without `failed`, it did not fail.
pub struct Attempt<'a, K: Eq + Hash + Clone> {
    limiter: &'a RateLimiter<K>,
    address: K,
}

impl<K: Eq + Hash + Clone> Attempt<'_, K> {
    /// Counts the failure; returns the block it started, if it did.
    pub fn failed(self, now: Instant) -> Option<Duration> {
        let policy = &self.limiter.policy;
        let mut entries = self.limiter.lock();
        let entry = entries.get_mut(&self.address)?;
        entry.last_failure = Some(now);
        entry.failures += 1;
        if entry.failures < policy.burst {
            return None;
        }
        let block = policy
            .first_block
            .saturating_mul(1u32 << entry.blocks.min(20))
            .min(policy.max_block);
        entry.failures = 0;
        entry.blocks = entry.blocks.saturating_add(1);
        entry.blocked_until = Some(now + block);
        Some(block)
    }
}

impl<K: Eq + Hash + Clone> Drop for Attempt<'_, K> {
    fn drop(&mut self) {
        let mut entries = self.limiter.lock();
        if let Some(entry) = entries.get_mut(&self.address) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if entry.in_flight == 0 && entry.failures == 0 && entry.blocks == 0 {
                entries.remove(&self.address);
            }
        }
    }
}

/// The key an address is counted under: itself, or its /64 for IPv6.
pub fn key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub fn new(policy: Policy) -> RateLimiter<K> {
        RateLimiter {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        // The map stays consistent whatever panicked while holding it: every update is a
        // few plain assignments.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long `address` is still blocked, if it is; changes nothing.
    pub fn blocked(&self, address: &K, now: Instant) -> Option<Duration> {
        let entries = self.lock();
        let until = entries.get(address)?.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Asks to check an attempt from `address`.
    pub fn begin(&self, address: K, now: Instant) -> Admission<'_, K> {
        let policy = &self.policy;
        let mut entries = self.lock();
        if !entries.contains_key(&address) && entries.len() >= policy.max_addresses {
            make_room(&mut entries, policy, now);
        }
        let entry = entries.entry(address.clone()).or_insert(Entry::FRESH);
        if let Some(until) = entry.blocked_until.filter(|until| *until > now) {
            return Admission::Blocked(until - now);
        }
        if entry.forgettable(policy, now) {
            *entry = Entry::FRESH;
        }
        if entry.failures + entry.in_flight >= policy.burst {
            return Admission::Busy;
        }
        entry.in_flight += 1;
        Admission::Go(Attempt {
            limiter: self,
            address,
        })
    }
}

/// Forgets the addresses that may be forgotten; if none may, the one that failed longest ago.
fn make_room<K: Eq + Hash + Clone>(entries: &mut HashMap<K, Entry>, policy: &Policy, now: Instant) {
    entries.retain(|_, e| !e.forgettable(policy, now));
    if entries.len() >= policy.max_addresses {
        if let Some(oldest) = entries
            .iter()
            // Attempts being checked are kept: their failure must count.
            .min_by_key(|(_, e)| (e.in_flight > 0, e.last_failure))
            .map(|(address, _)| address.clone())
        {
            entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn limiter() -> RateLimiter<IpAddr> {
        RateLimiter::new(Policy::default())
    }

    fn go(limiter: &RateLimiter<IpAddr>, address: IpAddr, now: Instant) -> Attempt<'_, IpAddr> {
        match limiter.begin(address, now) {
            Admission::Go(attempt) => attempt,
            Admission::Blocked(d) => panic!("blocked for {d:?}"),
            Admission::Busy => panic!("busy"),
        }
    }

    fn blocked(limiter: &RateLimiter<IpAddr>, address: IpAddr, now: Instant) -> Option<Duration> {
        match limiter.begin(address, now) {
            Admission::Blocked(d) => Some(d),
            _ => None,
        }
    }

    fn fail(limiter: &RateLimiter<IpAddr>, times: u32, now: Instant) -> Option<Duration> {
        (0..times)
            .map(|_| go(limiter, A, now).failed(now))
            .last()
            .flatten()
    }

    #[test]
    fn a_burst_of_failures_blocks_the_address_and_only_it() {
        let limiter = limiter();
        let t = Instant::now();
        assert_eq!(fail(&limiter, 4, t), None);
        assert_eq!(go(&limiter, A, t).failed(t), Some(Duration::from_secs(10)));
        assert_eq!(blocked(&limiter, A, t), Some(Duration::from_secs(10)));
        assert_eq!(
            blocked(&limiter, A, t + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        drop(go(&limiter, B, t));
        drop(go(&limiter, A, t + Duration::from_secs(10)));
    }

    #[test]
    fn successes_do_not_count() {
        let limiter = limiter();
        let t = Instant::now();
        for _ in 0..20 {
            drop(go(&limiter, A, t));
        }
        assert!(limiter.lock().is_empty(), "nothing kept for a good client");
    }

    #[test]
    fn attempts_in_flight_count_against_the_burst() {
        let limiter = limiter();
        let t = Instant::now();
        go(&limiter, A, t).failed(t);
        let attempts: Vec<_> = (0..4).map(|_| go(&limiter, A, t)).collect();
        assert!(matches!(limiter.begin(A, t), Admission::Busy));
        drop(attempts);
        drop(go(&limiter, A, t));
    }

    #[test]
    fn each_block_is_twice_the_one_before_up_to_the_maximum() {
        let limiter = limiter();
        let mut t = Instant::now();
        let mut blocks = Vec::new();
        for _ in 0..9 {
            let block = fail(&limiter, 5, t).unwrap();
            blocks.push(block.as_secs());
            t += block;
        }
        assert_eq!(blocks, [10, 20, 40, 80, 160, 320, 640, 900, 900]);
    }

    #[test]
    fn an_address_quiet_for_an_hour_starts_again() {
        let limiter = limiter();
        let t = Instant::now();
        fail(&limiter, 5, t);
        let later = t + Duration::from_secs(3600);
        assert_eq!(fail(&limiter, 4, later), None);
        assert_eq!(
            go(&limiter, A, later).failed(later),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert_eq!(key(a), key(b));
        assert_ne!(key(a), key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(key(mapped), A);
    }

    #[test]
    fn memory_is_bounded() {
        let limiter: RateLimiter<IpAddr> = RateLimiter::new(Policy {
            max_addresses: 3,
            ..Policy::default()
        });
        let t = Instant::now();
        for i in 0..10u8 {
            let now = t + Duration::from_secs(i.into());
            go(&limiter, IpAddr::from([10, 0, 0, i]), now).failed(now);
        }
        let entries = limiter.lock();
        assert_eq!(entries.len(), 3);
        assert!(entries.contains_key(&IpAddr::from([10, 0, 0, 9])));
    }
}
