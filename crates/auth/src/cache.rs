//! The in-memory cache of authenticated credentials: staff sessions and partner access tokens
//! (those without a request budget), keyed by the SHA-256 of the token — never the token
//! itself — so that most requests authenticate without a database query.
//!
//! Freshness:
//! - In this process every write that could end or narrow a credential (logout, expiry,
//!   revocation, a user disabled, rights or password changed, a partner disabled or its secret
//!   rotated) calls [`AuthCache::invalidate`] once the write is done, which empties the cache
//!   and bumps a generation number. A lookup that started before an invalidation cannot
//!   store its (possibly stale) answer afterwards: [`AuthCache::put`] refuses it when the
//!   generation moved. So revocation takes effect at once for this process.
//! - Another process on the same database (a second server on PostgreSQL, or the CLI's
//!   `partner disable`) cannot reach this memory: an entry is trusted for at most
//!   [`DEFAULT_TTL`] after it was read from the database, so such a revocation takes effect
//!   within that delay.
//! - Expiry (idle sessions, token lifetime) is checked on every hit against the clock.
//! - Tokens limited by a number of requests (`rpt`) are never cached: each request spends one
//!   unit through the database's guarded `UPDATE`, which keeps the budget exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};

use crate::staff::Holder;

/// How long an entry read from the database is trusted: the delay after which a revocation
/// made by another process takes effect here.
pub const DEFAULT_TTL: Duration = Duration::seconds(1);

/// The most entries kept per kind; past it the cache is emptied (only valid credentials are
/// ever stored, so this takes that many live sessions or tokens).
const MAX_ENTRIES: usize = 100_000;

/// A staff or member session as last seen valid.
#[derive(Debug, Clone)]
pub(crate) struct CachedSession {
    /// Who holds it (a staff user with their rights as read then, or a member).
    pub holder: Holder,
    /// `last_seen` as stored in the database (or written by this process).
    pub last_seen: DateTime<Utc>,
}

/// A partner's access token (without `rpt`) as last seen valid, with its active holder.
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    pub caller: crate::oauth::Caller,
    pub expires_at: DateTime<Utc>,
}

struct Entry<V> {
    value: V,
    /// When it was read from the database (by the service's clock).
    fetched_at: DateTime<Utc>,
}

#[derive(Default)]
struct Maps {
    sessions: HashMap<String, Entry<CachedSession>>,
    tokens: HashMap<String, Entry<CachedToken>>,
}

/// See the module's documentation.
pub(crate) struct AuthCache {
    ttl: Duration,
    generation: AtomicU64,
    maps: Mutex<Maps>,
}

/// The generation a lookup started in; [`AuthCache::put_session`] and
/// [`AuthCache::put_token`] store nothing if it changed since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

impl AuthCache {
    /// A cache trusting its entries for `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            generation: AtomicU64::new(0),
            maps: Mutex::new(Maps::default()),
        }
    }

    fn maps(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock leaves plain maps behind: still usable.
        self.maps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fresh(&self, fetched_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now >= fetched_at && now - fetched_at < self.ttl
    }

    /// To be read before a database lookup whose answer will be stored.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// Forgets everything, and refuses the answers of lookups already under way.
    pub fn invalidate(&self) {
        let mut maps = self.maps();
        self.generation.fetch_add(1, Ordering::AcqRel);
        maps.sessions.clear();
        maps.tokens.clear();
    }

    pub fn session(&self, hash: &str, now: DateTime<Utc>) -> Option<CachedSession> {
        let maps = self.maps();
        let entry = maps.sessions.get(hash)?;
        self.fresh(entry.fetched_at, now)
            .then(|| entry.value.clone())
    }

    pub fn put_session(
        &self,
        hash: &str,
        value: CachedSession,
        fetched_at: DateTime<Utc>,
        seen: Generation,
    ) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let mut maps = self.maps();
        if self.generation.load(Ordering::Acquire) != seen.0 {
            return;
        }
        if maps.sessions.len() >= MAX_ENTRIES {
            maps.sessions.clear();
        }
        maps.sessions
            .insert(hash.to_owned(), Entry { value, fetched_at });
    }

    /// Records a touch written by this process, keeping the entry's age.
    pub fn set_last_seen(&self, hash: &str, at: DateTime<Utc>) {
        if let Some(entry) = self.maps().sessions.get_mut(hash) {
            if entry.value.last_seen < at {
                entry.value.last_seen = at;
            }
        }
    }

    pub fn forget_session(&self, hash: &str) {
        self.maps().sessions.remove(hash);
    }

    pub fn token(&self, hash: &str, now: DateTime<Utc>) -> Option<CachedToken> {
        let maps = self.maps();
        let entry = maps.tokens.get(hash)?;
        self.fresh(entry.fetched_at, now)
            .then(|| entry.value.clone())
    }

    pub fn put_token(
        &self,
        hash: &str,
        value: CachedToken,
        fetched_at: DateTime<Utc>,
        seen: Generation,
    ) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let mut maps = self.maps();
        if self.generation.load(Ordering::Acquire) != seen.0 {
            return;
        }
        if maps.tokens.len() >= MAX_ENTRIES {
            maps.tokens.clear();
        }
        maps.tokens
            .insert(hash.to_owned(), Entry { value, fetched_at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardoise_domain::{Actor, Login, Rights};
    use chrono::TimeZone;

    fn session(at: DateTime<Utc>) -> CachedSession {
        CachedSession {
            holder: Holder::Staff(Actor {
                login: Login::parse("alice").unwrap(),
                rights: Rights::President,
            }),
            last_seen: at,
        }
    }

    #[test]
    fn entries_live_for_the_ttl_only() {
        let t0 = Utc.with_ymd_and_hms(2024, 4, 11, 20, 0, 0).unwrap();
        let cache = AuthCache::new(Duration::seconds(1));
        cache.put_session("h", session(t0), t0, cache.generation());
        assert!(cache.session("h", t0).is_some());
        assert!(cache
            .session("h", t0 + Duration::milliseconds(999))
            .is_some());
        assert!(cache.session("h", t0 + Duration::seconds(1)).is_none());
        // A clock that went back does not trust the entry either.
        assert!(cache.session("h", t0 - Duration::seconds(1)).is_none());
        assert!(cache.session("other", t0).is_none());
    }

    #[test]
    fn an_invalidation_refuses_the_lookups_under_way() {
        let t0 = Utc.with_ymd_and_hms(2024, 4, 11, 20, 0, 0).unwrap();
        let cache = AuthCache::new(Duration::seconds(1));
        cache.put_session("a", session(t0), t0, cache.generation());
        let before = cache.generation();
        cache.invalidate();
        assert!(cache.session("a", t0).is_none());
        // A lookup that read the database before the invalidation stores nothing.
        cache.put_session("b", session(t0), t0, before);
        assert!(cache.session("b", t0).is_none());
        cache.put_session("b", session(t0), t0, cache.generation());
        assert!(cache.session("b", t0).is_some());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let t0 = Utc.with_ymd_and_hms(2024, 4, 11, 20, 0, 0).unwrap();
        let cache = AuthCache::new(Duration::zero());
        cache.put_session("a", session(t0), t0, cache.generation());
        assert!(cache.session("a", t0).is_none());
    }
}
