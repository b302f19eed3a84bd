//! Sign-in throttling: failed password checks, counted per account and per
//! client address, each with an exponential back-off.
//!
//! A key (a username, an address) may fail `free` times; each further
//! failure makes every attempt on that key wait `initial × 2^(failures −
//! free)`, at most `max`. An attempt that must wait is refused before any
//! password hash is computed. A key's failures are forgotten `memory` after
//! its last one (and an account's at its next successful sign-in).
//!
//! A small bounded map rather than a rate-limiter crate: `governor` counts
//! every request against a fixed quota, while this counts only failures and
//! grows the wait with each; both tables hold at most [`MAX_KEYS`] keys
//! (expired ones are dropped first, then the longest quiet), so their memory
//! is bounded whatever an attacker sends. The tables live in the node's
//! memory: each node throttles on its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys one table holds (about 100 bytes each).
pub(crate) const MAX_KEYS: usize = 100_000;

/// Longest username kept as a key; longer names share the key of their prefix.
const MAX_KEY_CHARS: usize = 128;

/// How one table counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub free: u32,
    pub initial: Duration,
    pub max: Duration,
    pub memory: Duration,
}

impl Rule {
    fn wait_after(&self, failures: u32) -> Option<Duration> {
        if failures < self.free {
            return None;
        }
        let doublings = (failures - self.free).min(31);
        Some(self.initial.saturating_mul(1u32 << doublings).min(self.max))
    }
}

#[derive(Debug)]
struct Entry {
    failures: u32,
    last: Instant,
    until: Instant,
}

/// What a recorded failure led to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    /// Failures of the key in a row (within the memory).
    pub failures: u32,
    /// How long the next attempt must wait, if at all.
    pub wait: Option<Duration>,
    /// Whether this failure is worth an audit entry: the key entered its
    /// back-off, or failed `free` more times since.
    pub audit: bool,
}

struct Table<K> {
    rule: Rule,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(rule: Rule) -> Self {
        Table {
            rule,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        entry.until <= now && now.duration_since(entry.last) >= self.rule.memory
    }

    /// How long `key` must still wait.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().expect("throttle lock");
        let entry = entries.get(key)?;
        (entry.until > now).then(|| entry.until - now)
    }

    fn fail(&self, key: K, now: Instant) -> Failure {
        let mut entries = self.entries.lock().expect("throttle lock");
        if entries.len() >= MAX_KEYS && !entries.contains_key(&key) {
            entries.retain(|_, entry| !self.expired(entry, now));
            if entries.len() >= MAX_KEYS {
                let quietest = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.last)
                    .map(|(key, _)| key.clone());
                if let Some(quietest) = quietest {
                    entries.remove(&quietest);
                }
            }
        }
        let entry = entries.entry(key).or_insert(Entry {
            failures: 0,
            last: now,
            until: now,
        });
        if self.expired(entry, now) {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        let wait = self.rule.wait_after(entry.failures);
        if let Some(wait) = wait {
            entry.until = now + wait;
        }
        Failure {
            failures: entry.failures,
            wait,
            audit: self.rule.free > 0 && entry.failures.is_multiple_of(self.rule.free),
        }
    }

    fn forget(&self, key: &K) {
        self.entries.lock().expect("throttle lock").remove(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().expect("throttle lock").len()
    }
}

/// Why an attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Account(Duration),
    Address(Duration),
}

/// The per-account and per-address tables of one node.
pub(crate) struct SignInThrottle {
    accounts: Table<String>,
    addresses: Table<IpAddr>,
}

impl SignInThrottle {
    pub(crate) fn new(account: Rule, address: Rule) -> Self {
        SignInThrottle {
            accounts: Table::new(account),
            addresses: Table::new(address),
        }
    }

    /// Refuses an attempt that must still wait (the address first: it is
    /// the attacker's, and an address that waits does not touch the account).
    pub(crate) fn check(&self, username: &str, from: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        if let Some(wait) = self.addresses.wait(&address_key(from), now) {
            return Err(Refusal::Address(wait));
        }
        if let Some(wait) = self.accounts.wait(&account_key(username), now) {
            return Err(Refusal::Account(wait));
        }
        Ok(())
    }

    /// Counts a wrong password (or an unknown username) for both keys.
    pub(crate) fn failed(&self, username: &str, from: IpAddr) -> (Failure, Failure) {
        let now = Instant::now();
        (
            self.accounts.fail(account_key(username), now),
            self.addresses.fail(address_key(from), now),
        )
    }

    /// A successful sign-in clears the account's failures (not the address's:
    /// an attacker with one valid account could otherwise reset its own count).
    pub(crate) fn succeeded(&self, username: &str) {
        self.accounts.forget(&account_key(username));
    }
}

fn account_key(username: &str) -> String {
    username.chars().take(MAX_KEY_CHARS).collect()
}

/// IPv4 addresses as they are; IPv6 by their /64, the block one host or
/// one site is given (a host can pick any address inside it).
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(free: u32) -> Rule {
        Rule {
            free,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            memory: Duration::from_secs(900),
        }
    }

    #[test]
    fn the_wait_doubles_after_the_free_failures_and_stops_at_the_maximum() {
        let table = Table::new(rule(3));
        let now = Instant::now();
        let waits: Vec<_> = (0..10)
            .map(|_| {
                table
                    .fail("alice".to_owned(), now)
                    .wait
                    .map(|w| w.as_secs())
            })
            .collect();
        assert_eq!(
            waits,
            [
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60),
                Some(60)
            ]
        );
        assert_eq!(
            table.wait(&"alice".to_owned(), now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(table.wait(&"bob".to_owned(), now), None);
    }

    #[test]
    fn failures_are_forgotten_after_the_memory() {
        let table = Table::new(rule(2));
        let start = Instant::now();
        table.fail("alice".to_owned(), start);
        table.fail("alice".to_owned(), start);
        let later = start + Duration::from_secs(901);
        assert_eq!(table.wait(&"alice".to_owned(), later), None);
        assert_eq!(table.fail("alice".to_owned(), later).failures, 1);
    }

    #[test]
    fn the_table_never_holds_more_than_its_bound() {
        let table = Table::new(rule(5));
        let now = Instant::now();
        for i in 0..MAX_KEYS + 10 {
            table.fail(format!("user{i}"), now + Duration::from_millis(i as u64));
        }
        assert_eq!(table.len(), MAX_KEYS);
        // The quietest keys went first.
        assert!(table.entries.lock().unwrap().get("user0").is_none());
    }

    #[test]
    fn ipv6_addresses_share_their_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
