//! Throttling of failed logins per source address (and of failed OAuth2 client
//! authentications per client id and address), in memory.
//!
//! Each key — an address (IPv4, or the /64 network of an IPv6 address, since one host usually
//! owns a whole /64), or a client id with such an address — has a one-minute window that opens with its first attempt. Every attempt counts
//! as a failure while it runs and is uncounted if it succeeds, so a burst of concurrent guesses
//! cannot slip past the limit. Once `limit` failures are counted in the window, every further
//! attempt from that address is refused at once — no sleeping, nothing else slowed — until the
//! window ends. Memory is bounded: past `max_entries` addresses, finished windows are dropped,
//! then the oldest.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ardoise_domain::DomainError;
use chrono::{DateTime, Duration, Utc};

/// The number of addresses tracked at most by default.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: DateTime<Utc>,
    failures: u32,
}

/// What failures are counted by; each key is normalised first (an IPv6 address to its /64).
pub trait ThrottleKey: Clone + Eq + Hash + std::fmt::Debug {
    /// The key failures are counted under.
    fn normalised(&self) -> Self;
}

impl ThrottleKey for IpAddr {
    fn normalised(&self) -> IpAddr {
        key(*self)
    }
}

/// Member password resets: the address asked for, already in its key form (lower case).
impl ThrottleKey for String {
    fn normalised(&self) -> String {
        self.clone()
    }
}

/// OAuth2 client authentications: a client id and the address it was tried from.
impl ThrottleKey for (String, IpAddr) {
    fn normalised(&self) -> (String, IpAddr) {
        (self.0.clone(), key(self.1))
    }
}

/// Counts failures per key; see the module documentation.
#[derive(Debug)]
pub struct Throttle<K: ThrottleKey> {
    limit: u32,
    window: Duration,
    max_entries: usize,
    windows: Mutex<HashMap<K, Window>>,
    /// One queue per key: its attempts are checked one after the other.
    gates: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

/// Failed staff logins, per source address.
pub type LoginThrottle = Throttle<IpAddr>;

/// How many idle per-address queues are kept before they are pruned.
const IDLE_GATES: usize = 1_024;

impl<K: ThrottleKey> Throttle<K> {
    /// A throttle refusing attempts after `failures_per_minute` failures within a minute;
    /// 0 switches throttling off.
    pub fn new(failures_per_minute: u32) -> Throttle<K> {
        Throttle::with_capacity(failures_per_minute, DEFAULT_MAX_ENTRIES)
    }

    /// A throttle refusing attempts after `limit` within `window` (rather than a minute).
    pub fn per_window(limit: u32, window: Duration) -> Throttle<K> {
        Throttle {
            window,
            ..Throttle::with_capacity(limit, DEFAULT_MAX_ENTRIES)
        }
    }

    /// The same, tracking at most `max_entries` keys.
    pub fn with_capacity(failures_per_minute: u32, max_entries: usize) -> Throttle<K> {
        Throttle {
            limit: failures_per_minute,
            window: Duration::seconds(60),
            max_entries: max_entries.max(1),
            windows: Mutex::new(HashMap::new()),
            gates: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this address's turn. Attempts from one address are checked one at a time, so
    /// that a burst of parallel guesses cannot pass the limit before their failures are counted,
    /// while honest parallel logins (several tills behind one router) simply queue for a few
    /// milliseconds instead of being refused. Waiting is asynchronous: no worker sleeps, and
    /// other addresses are not affected.
    pub async fn turn(&self, source: K) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        if self.limit == 0 {
            return None;
        }
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
            if gates.len() >= IDLE_GATES {
                gates.retain(|_, g| Arc::strong_count(g) > 1);
            }
            gates.entry(source.normalised()).or_default().clone()
        };
        Some(gate.lock_owned().await)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Window>> {
        // The map holds plain counters: a panic elsewhere cannot leave it inconsistent.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called before a login attempt from `source` at `now`: refuses with `TooManyAttempts` if
    /// the address is blocked, else counts the attempt as a failure until
    /// [`LoginThrottle::succeeded`] is called.
    pub fn begin(&self, source: K, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.limit == 0 {
            return Ok(());
        }
        let key = source.normalised();
        let mut windows = self.lock();
        if let Some(w) = windows.get_mut(&key) {
            if now - w.opened >= self.window {
                *w = Window {
                    opened: now,
                    failures: 0,
                };
            }
            if w.failures >= self.limit {
                let left = self.window - (now - w.opened);
                let seconds = (left.num_milliseconds() + 999) / 1000;
                return Err(DomainError::TooManyAttempts {
                    retry_after_seconds: u64::try_from(seconds.max(1)).unwrap_or(1),
                });
            }
            w.failures += 1;
            return Ok(());
        }
        if windows.len() >= self.max_entries {
            self.make_room(&mut windows, now);
        }
        windows.insert(
            key,
            Window {
                opened: now,
                failures: 1,
            },
        );
        Ok(())
    }

    /// Uncounts the attempt begun from `source`: it was not a failure.
    pub fn succeeded(&self, source: K) {
        if self.limit == 0 {
            return;
        }
        let key = source.normalised();
        let mut windows = self.lock();
        if let Some(w) = windows.get_mut(&key) {
            w.failures = w.failures.saturating_sub(1);
            if w.failures == 0 {
                windows.remove(&key);
            }
        }
    }

    /// The number of addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn make_room(&self, windows: &mut HashMap<K, Window>, now: DateTime<Utc>) {
        let window = self.window;
        windows.retain(|_, w| now - w.opened < window);
        if windows.len() >= self.max_entries {
            if let Some(oldest) = windows
                .iter()
                .min_by_key(|(_, w)| w.opened)
                .map(|(k, _)| k.clone())
            {
                windows.remove(&oldest);
            }
        }
    }
}

/// What an address is counted as: IPv4 addresses (also when IPv4-mapped) alone, IPv6 by /64.
fn key(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn fail(th: &LoginThrottle, source: IpAddr, at: DateTime<Utc>) -> Result<(), DomainError> {
        th.begin(source, at)
    }

    #[test]
    fn blocks_after_the_limit_for_the_rest_of_the_window() {
        let th = LoginThrottle::new(3);
        let a = ip("192.0.2.1");
        for s in 0..3 {
            assert!(fail(&th, a, t(s)).is_ok());
        }
        assert_eq!(
            fail(&th, a, t(10)),
            Err(DomainError::TooManyAttempts {
                retry_after_seconds: 50
            })
        );
        assert_eq!(
            fail(&th, a, t(59)),
            Err(DomainError::TooManyAttempts {
                retry_after_seconds: 1
            })
        );
        // The window is over: attempts are allowed again.
        assert!(fail(&th, a, t(60)).is_ok());
    }

    #[test]
    fn other_addresses_are_not_affected() {
        let th = LoginThrottle::new(2);
        let a = ip("192.0.2.1");
        fail(&th, a, t(0)).unwrap();
        fail(&th, a, t(0)).unwrap();
        assert!(fail(&th, a, t(1)).is_err());
        assert!(fail(&th, ip("192.0.2.2"), t(1)).is_ok());
        assert!(fail(&th, ip("2001:db8:1::1"), t(1)).is_ok());
    }

    #[test]
    fn successes_are_not_counted() {
        let th = LoginThrottle::new(2);
        let a = ip("192.0.2.1");
        for s in 0..10 {
            th.begin(a, t(s)).unwrap();
            th.succeeded(a);
        }
        assert_eq!(th.tracked(), 0);
        fail(&th, a, t(11)).unwrap();
        fail(&th, a, t(12)).unwrap();
        assert!(th.begin(a, t(13)).is_err());
    }

    #[test]
    fn concurrent_attempts_count_before_they_finish() {
        // Ten guesses in flight at once: only `limit` of them are let through.
        let th = LoginThrottle::new(3);
        let a = ip("192.0.2.7");
        let passed = (0..10).filter(|_| th.begin(a, t(0)).is_ok()).count();
        assert_eq!(passed, 3);
    }

    #[test]
    fn ipv6_hosts_are_counted_by_their_64_network_and_mapped_ipv4_as_ipv4() {
        let th = LoginThrottle::new(2);
        fail(&th, ip("2001:db8:0:1::1"), t(0)).unwrap();
        fail(&th, ip("2001:db8:0:1::2"), t(0)).unwrap();
        assert!(fail(&th, ip("2001:db8:0:1:ffff::9"), t(0)).is_err());
        assert!(fail(&th, ip("2001:db8:0:2::1"), t(0)).is_ok());

        fail(&th, ip("198.51.100.1"), t(0)).unwrap();
        fail(&th, ip("::ffff:198.51.100.1"), t(0)).unwrap();
        assert!(fail(&th, ip("198.51.100.1"), t(0)).is_err());
    }

    #[test]
    fn client_ids_are_counted_per_address() {
        let th: Throttle<(String, IpAddr)> = Throttle::new(2);
        let a = |id: &str, addr: &str| (id.to_owned(), ip(addr));
        th.begin(a("abc", "192.0.2.1"), t(0)).unwrap();
        th.begin(a("abc", "192.0.2.1"), t(0)).unwrap();
        assert!(th.begin(a("abc", "192.0.2.1"), t(1)).is_err());
        assert!(th.begin(a("abc", "192.0.2.2"), t(1)).is_ok());
        assert!(th.begin(a("other", "192.0.2.1"), t(1)).is_ok());
        th.begin(a("v6", "2001:db8::1"), t(0)).unwrap();
        th.begin(a("v6", "2001:db8::2"), t(0)).unwrap();
        assert!(th.begin(a("v6", "2001:db8::3"), t(0)).is_err());
    }

    #[test]
    fn zero_switches_throttling_off() {
        let th = LoginThrottle::new(0);
        for _ in 0..100 {
            assert!(fail(&th, ip("192.0.2.1"), t(0)).is_ok());
        }
        assert_eq!(th.tracked(), 0);
    }

    #[test]
    fn memory_is_bounded() {
        let th = LoginThrottle::with_capacity(5, 100);
        for i in 0..1000u32 {
            let source = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            fail(&th, source, t(i64::from(i % 30))).unwrap();
            assert!(th.tracked() <= 100);
        }
        // Finished windows are dropped first.
        let th = LoginThrottle::with_capacity(5, 2);
        fail(&th, ip("192.0.2.1"), t(0)).unwrap();
        fail(&th, ip("192.0.2.2"), t(30)).unwrap();
        fail(&th, ip("192.0.2.3"), t(70)).unwrap();
        assert_eq!(th.tracked(), 2);
    }
}
