//! The in-memory snapshots of cards, for reads that only *answer* (a partner's balance or
//! validity read, a staff card read, the POS `carte/info`): served without a database round
//! trip when a fresh snapshot is here. Nothing that decides a movement reads them: the
//! writer's guards stay in SQL, and `Ledger::card` keeps reading the database.
//!
//! Freshness (the design of `ardoise_auth`'s session cache):
//! - Every write of this process that can change a card — the writer's batches, member
//!   links, anything else on the `cards` table — calls [`CardSnapshots::forget`] with the
//!   cards it touched *after* its commit and before it answers, which drops them and bumps a
//!   generation number. A read that started before that write cannot store its (possibly
//!   stale) answer afterwards: [`CardSnapshots::put`] refuses it when the generation moved.
//!   So in this process a read that follows an answered write sees that write.
//! - Another process on the same database (a second server on PostgreSQL, the CLI) cannot
//!   reach this memory: a snapshot is trusted for at most the TTL after it was read, so such a
//!   change shows here within that delay. A zero TTL caches nothing.
//! - Only cards found are kept (an unknown card is read again each time), at most
//!   [`MAX_ENTRIES`] of them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ardoise_domain::Card;

/// The most cards kept; past it the map is emptied and fills again with the cards in use.
pub(crate) const MAX_ENTRIES: usize = 100_000;

struct Entry {
    card: Card,
    /// When the read that produced it started.
    fetched_at: Instant,
}

/// See the module's documentation.
pub(crate) struct CardSnapshots {
    ttl: Duration,
    generation: AtomicU64,
    cards: Mutex<HashMap<String, Entry>>,
}

/// The generation a database read started in; [`CardSnapshots::put`] stores nothing if it
/// changed since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

impl CardSnapshots {
    /// Snapshots trusted for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> CardSnapshots {
        CardSnapshots {
            ttl,
            generation: AtomicU64::new(0),
            cards: Mutex::new(HashMap::new()),
        }
    }

    /// Whether snapshots are kept at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn cards(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves a plain map behind: still usable.
        self.cards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// To be read before the database read whose answer will be stored.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// The card's snapshot if it was read less than the TTL before `now`.
    pub fn get(&self, id: &str, now: Instant) -> Option<Card> {
        if !self.enabled() {
            return None;
        }
        let cards = self.cards();
        let entry = cards.get(id)?;
        (now.saturating_duration_since(entry.fetched_at) < self.ttl).then(|| entry.card.clone())
    }

    /// Keeps `card`, read by a read that started at `fetched_at` in generation `seen`; refused
    /// if a write was reported since `seen`.
    pub fn put(&self, card: Card, fetched_at: Instant, seen: Generation) {
        if !self.enabled() {
            return;
        }
        let mut cards = self.cards();
        if self.generation.load(Ordering::Acquire) != seen.0 {
            return;
        }
        if cards.len() >= MAX_ENTRIES {
            cards.clear();
        }
        cards.insert(card.id.as_str().to_owned(), Entry { card, fetched_at });
    }

    /// Forgets the cards a committed write touched, and refuses the answers of the reads
    /// already under way.
    pub fn forget<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut ids = ids.into_iter().peekable();
        // A batch of session touches only changed no card: the reads under way may keep theirs.
        if ids.peek().is_none() {
            return;
        }
        let mut cards = self.cards();
        self.generation.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            cards.remove(id);
        }
    }

    /// Forgets every card (the data was dropped or restored).
    pub fn forget_all(&self) {
        let mut cards = self.cards();
        self.generation.fetch_add(1, Ordering::AcqRel);
        cards.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardoise_domain::{CardId, CardStatus, Money};
    use chrono::{TimeZone, Utc};

    fn card(id: &str, cents: i64) -> Card {
        Card {
            id: CardId::parse(id).unwrap(),
            balance: Money::from_cents(cents),
            overdraft_limit: Money::ZERO,
            max_balance: None,
            status: CardStatus::Active,
            valid_until: None,
            member: None,
            replaced_by: None,
            created_at: Utc.with_ymd_and_hms(2024, 4, 11, 20, 0, 0).unwrap(),
        }
    }

    const A: &str = "04A2B3C4D5E6F7";
    const B: &str = "04A2B3C4D5E6F8";

    #[test]
    fn a_snapshot_is_served_for_the_ttl_only() {
        let cache = CardSnapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        cache.put(card(A, 100), t0, cache.generation());
        assert_eq!(cache.get(A, t0).unwrap().balance, Money::from_cents(100));
        assert!(cache.get(A, t0 + Duration::from_millis(999)).is_some());
        assert!(cache.get(A, t0 + Duration::from_secs(1)).is_none());
        assert!(cache.get(B, t0).is_none());
    }

    #[test]
    fn a_read_that_started_before_a_write_cannot_store_its_answer() {
        let cache = CardSnapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        // A read starts, the writer commits a payment on the card and forgets it, then the
        // read (which saw the old balance) tries to store its answer.
        let before = cache.generation();
        cache.forget([A]);
        cache.put(card(A, 100), t0, before);
        assert!(cache.get(A, t0).is_none());
        // A read that started after the write stores its answer.
        cache.put(card(A, 99), t0, cache.generation());
        assert_eq!(cache.get(A, t0).unwrap().balance, Money::from_cents(99));
    }

    #[test]
    fn a_write_forgets_the_cards_it_touched_only() {
        let cache = CardSnapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        cache.put(card(A, 100), t0, cache.generation());
        cache.put(card(B, 200), t0, cache.generation());
        cache.forget([A]);
        assert!(cache.get(A, t0).is_none());
        assert_eq!(cache.get(B, t0).unwrap().balance, Money::from_cents(200));
        cache.forget_all();
        assert!(cache.get(B, t0).is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = CardSnapshots::new(Duration::ZERO);
        let t0 = Instant::now();
        cache.put(card(A, 100), t0, cache.generation());
        assert!(cache.get(A, t0).is_none());
    }

    #[test]
    fn the_map_is_bounded() {
        let cache = CardSnapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..=MAX_ENTRIES {
            let mut c = card(A, 1);
            c.id = CardId::parse(&format!("{i:014X}")).unwrap();
            cache.put(c, t0, cache.generation());
        }
        assert!(cache.cards().len() <= MAX_ENTRIES);
    }
}
