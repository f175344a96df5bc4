//! The in-memory snapshots behind the reads that only *answer*: cards (a partner's balance
//! or validity read, a staff card read, the POS `carte/info`, the till), members (the name the
//! till shows), each staff member's latest transactions (the till's list) and which cards a
//! member holds (who pays whom between members). Served without a database round trip when a
//! fresh snapshot is here. Nothing that decides a movement's money reads them: the writer's
//! guards stay in SQL, and `Ledger::card` keeps reading the database.
//!
//! Freshness (the design of `ardoise_auth`'s session cache):
//! - Every write of this process that can change what a snapshot holds — the writer's
//!   batches, member links and profiles, anything else on those tables — revises the
//!   snapshots *after* its commit and before it answers: it drops what it changed (or, for
//!   the writer, sets what it knows exactly: the balance it wrote, the transaction it
//!   appended), bumps a generation number and stamps what it set or dropped with it. A read
//!   that started before that write cannot store its (possibly stale) answer of a key the
//!   write revised: [`SnapshotMap::put`] refuses it when the key was revised (or the whole
//!   kind dropped) since the read started, even if a newer read stored its answer in
//!   between. The answers of other keys are kept: a batch of payments does not spoil the
//!   reads of the cards it did not touch. So in this process a read that follows an answered
//!   write sees that write.
//! - A transfer's receipt is the payer's: the payee's snapshot, which holds every balance
//!   this process wrote on the card, gets the amount added. Only if no read replaced that
//!   snapshot while the batch ran ([`Snapshots::before_batch`]): such a read may have seen
//!   the batch's commit already. Otherwise the payee's snapshot is dropped.
//! - Another process on the same database (a second server on PostgreSQL, the CLI) cannot
//!   reach this memory: a snapshot is trusted for at most the TTL after it was *read from the
//!   database* (a revision by the writer does not make it younger), so such a change shows
//!   here within that delay. A zero TTL caches nothing.
//! - Only things found are kept (an unknown card is read again each time), at most
//!   [`MAX_ENTRIES`] of each kind.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ardoise_domain::ports::{Action, Movement, Receipt};
use ardoise_domain::{Card, DomainError, Member, Transaction};

use crate::ledger::{recorded_transaction, touched_cards, Recorded};

/// The most entries of one kind kept; past it the map is emptied and fills again with those
/// in use.
pub(crate) const MAX_ENTRIES: usize = 100_000;

struct Entry<V> {
    /// The snapshot, or `None` once a write dropped it (kept to refuse the reads that
    /// started before that write).
    value: Option<V>,
    /// When the database read that produced it started.
    fetched_at: Instant,
    /// The generation of the last write that set or dropped it (0: none yet). A read that
    /// replaces the value keeps it, so that a read older than that write still cannot.
    revised: u64,
    /// Which [`SnapshotMap::put`] stored the value (a count of the puts), so that a batch can
    /// tell whether a read replaced the value while it ran (see [`Snapshots::before_batch`]).
    stored_by: u64,
}

/// The entries of one kind, and the generation of the last write that dropped them all.
struct Entries<K, V> {
    map: HashMap<K, Entry<V>>,
    cleared: u64,
    /// How many values [`SnapshotMap::put`] stored.
    puts: u64,
}

impl<K: Eq + Hash, V> Entries<K, V> {
    /// Which put stored the value of `key`, if there is one (see [`Entry::stored_by`]).
    fn stored_by<Q>(&self, key: &Q) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entry = self.map.get(key)?;
        entry.value.as_ref().map(|_| entry.stored_by)
    }
}

/// Snapshots of one kind, by key. See the module's documentation.
pub(crate) struct SnapshotMap<K, V> {
    ttl: Duration,
    generation: AtomicU64,
    entries: Mutex<Entries<K, V>>,
}

/// The generation a database read started in; [`SnapshotMap::put`] stores nothing if a write
/// revised the key since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

impl<K: Eq + Hash, V: Clone> SnapshotMap<K, V> {
    /// Snapshots trusted for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> SnapshotMap<K, V> {
        SnapshotMap {
            ttl,
            generation: AtomicU64::new(0),
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                cleared: 0,
                puts: 0,
            }),
        }
    }

    /// Whether snapshots are kept at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn entries(&self) -> MutexGuard<'_, Entries<K, V>> {
        // A panic while holding the lock leaves a plain map behind: still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// To be read before the database read whose answer will be stored.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// The snapshot of `key` if it was read from the database less than the TTL before `now`.
    pub fn get<Q>(&self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries();
        let entry = entries.map.get(key)?;
        if now.saturating_duration_since(entry.fetched_at) >= self.ttl {
            return None;
        }
        entry.value.clone()
    }

    /// Keeps `value` under `key`, read by a read that started at `fetched_at` in generation
    /// `seen`; refused if a write revised `key` (or dropped every snapshot) since `seen`.
    pub fn put(&self, key: K, value: V, fetched_at: Instant, seen: Generation) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries();
        if entries.cleared > seen.0 {
            return;
        }
        // The mark of the last write stays: a read that started before it, and ends after
        // this one, must still be refused.
        let revised = entries.map.get(&key).map_or(0, |e| e.revised);
        if revised > seen.0 {
            return;
        }
        if entries.map.len() >= MAX_ENTRIES && !entries.map.contains_key(&key) {
            // Dropping the marks of revised keys too: refuse every read under way.
            entries.map.clear();
            entries.cleared = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            return;
        }
        entries.puts += 1;
        let stored_by = entries.puts;
        entries.map.insert(
            key,
            Entry {
                value: Some(value),
                fetched_at,
                revised,
                stored_by,
            },
        );
    }

    /// Forgets what a committed write changed, and refuses the answers of the reads already
    /// under way.
    pub fn forget<'a, Q>(&self, keys: impl IntoIterator<Item = &'a Q>)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized + ToOwned<Owned = K> + 'a,
    {
        let mut keys = keys.into_iter().peekable();
        // A write that changed nothing here: the reads under way may keep their answers.
        if keys.peek().is_none() {
            return;
        }
        let mut revision = self.revise();
        for key in keys {
            revision.remove(key);
        }
    }

    /// Forgets everything (the data was dropped or restored).
    pub fn forget_all(&self) {
        self.revise().clear();
    }

    /// The snapshots as a committed write revises them: the reads already under way cannot
    /// store their answers of what it revises, and the write sets or drops what it changed while it
    /// holds the returned guard.
    pub fn revise(&self) -> Revision<'_, K, V> {
        let entries = self.entries();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        Revision {
            entries,
            generation,
        }
    }
}

/// The snapshots of one kind under revision by a committed write (see
/// [`SnapshotMap::revise`]).
pub(crate) struct Revision<'a, K, V> {
    entries: MutexGuard<'a, Entries<K, V>>,
    /// The write's generation, stamped on what it sets or drops.
    generation: u64,
}

impl<K: Eq + Hash, V> Revision<'_, K, V> {
    /// The snapshot of `key`, to set what the write changed in it (its age is kept: a
    /// revision knows only what this process wrote). Whether or not there is one, the reads
    /// of `key` under way will not store their answers.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized + ToOwned<Owned = K>,
    {
        if !self.entries.map.contains_key(key) {
            // No snapshot: the mark alone, so that a read under way cannot store what it
            // read before this write.
            self.remove(key);
            return None;
        }
        let entry = self.entries.map.get_mut(key)?;
        entry.revised = self.generation;
        entry.value.as_mut()
    }

    /// Drops the snapshot of `key`; the reads of `key` under way will not store their
    /// answers.
    pub fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized + ToOwned<Owned = K>,
    {
        let generation = self.generation;
        match self.entries.map.get_mut(key) {
            Some(entry) => {
                entry.value = None;
                entry.revised = generation;
            }
            None => {
                if self.entries.map.len() >= MAX_ENTRIES {
                    self.clear();
                    return;
                }
                self.entries.map.insert(
                    key.to_owned(),
                    Entry {
                        value: None,
                        fetched_at: Instant::now(),
                        revised: generation,
                        stored_by: 0,
                    },
                );
            }
        }
    }

    /// Drops every snapshot of this kind; no read under way will store its answer.
    pub fn clear(&mut self) {
        self.entries.map.clear();
        self.entries.cleared = self.generation;
    }
}

/// A staff member's latest transactions, newest first: the first `limit` of the ledger, or
/// all of them when there are fewer.
#[derive(Debug, Clone)]
pub(crate) struct RecentList {
    pub limit: u32,
    pub transactions: Vec<Transaction>,
}

impl RecentList {
    /// The latest `limit` transactions, if this list holds that many (or all there are).
    pub fn first(&self, limit: u32) -> Option<Vec<Transaction>> {
        if limit > self.limit {
            return None;
        }
        let n = usize::try_from(limit).unwrap_or(usize::MAX);
        Some(self.transactions.iter().take(n).cloned().collect())
    }

    /// Adds a transaction the author just wrote, in id order, keeping the latest `limit`.
    fn add(&mut self, tx: Transaction) {
        let at = self.transactions.partition_point(|t| t.id.0 > tx.id.0);
        match self.transactions.get_mut(at) {
            Some(t) if t.id == tx.id => *t = tx,
            _ => self.transactions.insert(at, tx),
        }
        self.transactions
            .truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
    }
}

/// What a payment between members needs to know of a member who holds cards, besides the
/// cards themselves (which are in [`Snapshots::cards`]).
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    /// The ids of the member's cards, in id order.
    pub cards: Vec<String>,
    /// Whether the member is suspended from the exchange.
    pub suspended: bool,
}

/// Which reads stored the snapshots of the cards a batch's transfers credit, before the
/// batch was applied (see [`Snapshots::before_batch`]).
#[derive(Debug, Default)]
pub(crate) struct BeforeBatch {
    /// The [`Entry::stored_by`] of each payee's snapshot, by card id (none: no snapshot).
    stored_by: HashMap<String, u64>,
}

/// Every kind of snapshot the store keeps.
pub(crate) struct Snapshots {
    /// Cards by id.
    pub cards: SnapshotMap<String, Card>,
    /// Members by id.
    pub members: SnapshotMap<i64, Member>,
    /// Staff members' latest transactions, by author.
    pub recent: SnapshotMap<String, RecentList>,
    /// Members' cards and suspension, by member id (members holding at least one card).
    pub holders: SnapshotMap<i64, Holder>,
}

impl Snapshots {
    /// Snapshots trusted for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Snapshots {
        Snapshots {
            cards: SnapshotMap::new(ttl),
            members: SnapshotMap::new(ttl),
            recent: SnapshotMap::new(ttl),
            holders: SnapshotMap::new(ttl),
        }
    }

    /// Forgets everything (the data was dropped, restored or imported).
    pub fn forget_all(&self) {
        self.cards.forget_all();
        self.members.forget_all();
        self.recent.forget_all();
        self.holders.forget_all();
    }

    /// To be called before a batch of `movements` is applied: which reads stored the
    /// snapshots of the cards its transfers credit (see [`Snapshots::after_batch`]).
    pub fn before_batch(&self, movements: &[Movement]) -> BeforeBatch {
        let mut payees = movements
            .iter()
            .filter_map(|m| match &m.action {
                Action::Transfer { to, .. } => Some(to.as_str()),
                _ => None,
            })
            .peekable();
        if payees.peek().is_none() {
            // No transfer: the snapshots' lock is not taken.
            return BeforeBatch::default();
        }
        let entries = self.cards.entries();
        let stored_by = payees
            .filter_map(|id| Some((id.to_owned(), entries.stored_by(id)?)))
            .collect();
        BeforeBatch { stored_by }
    }

    /// Revises the snapshots after a batch of `movements` was committed (or not), with their
    /// `answers`: a balance the batch wrote is set on its card's snapshot and a transaction
    /// it appended on its author's list; anything else it may have changed is dropped.
    /// `before` is what [`Snapshots::before_batch`] answered before the batch was applied.
    pub fn after_batch(
        &self,
        movements: &[Movement],
        answers: &[Result<Receipt, DomainError>],
        before: &BeforeBatch,
    ) {
        if movements.is_empty() {
            return;
        }
        let mut cards = self.cards.revise();
        for (m, answer) in movements.iter().zip(answers) {
            match (answer, &m.action) {
                // These change the balance of their card only.
                (Ok(r), Action::Post { .. } | Action::Drain | Action::Flip { .. })
                    if r.card == m.card =>
                {
                    if let Some(card) = cards.get_mut(m.card.as_str()) {
                        card.balance = r.balance_after;
                    }
                }
                (Ok(r), Action::Transfer { to, amount, .. }) if r.card == m.card => {
                    if let Some(card) = cards.get_mut(m.card.as_str()) {
                        card.balance = r.balance_after;
                    }
                    // The receipt is the payer's. The payee's snapshot holds every balance
                    // this process wrote on the card, so the amount added is its new one —
                    // unless a read replaced it while the batch ran: that read may have seen
                    // the batch's commit already, so it is dropped.
                    let stored_by = cards.entries.stored_by(to.as_str());
                    let unread = stored_by.is_some()
                        && stored_by == before.stored_by.get(to.as_str()).copied();
                    let credited = match cards.get_mut(to.as_str()) {
                        Some(card) if unread => card
                            .balance
                            .checked_add(*amount)
                            .map(|balance| card.balance = balance),
                        _ => None,
                    };
                    if credited.is_none() {
                        cards.remove(to.as_str());
                    }
                }
                _ => {
                    for id in touched_cards(std::slice::from_ref(m)) {
                        cards.remove(id);
                    }
                }
            }
        }
        drop(cards);
        // A replacement gives its member a new card.
        if movements
            .iter()
            .any(|m| matches!(m.action, Action::Replace { .. }))
        {
            self.holders.forget_all();
        }
        let mut recent = self.recent.revise();
        for (m, answer) in movements.iter().zip(answers) {
            match answer {
                Ok(receipt) => match recorded_transaction(m, receipt) {
                    Recorded::Nothing => {}
                    Recorded::One(tx) => {
                        if let Some(list) = recent.get_mut(m.author.as_str()) {
                            list.add(tx);
                        }
                    }
                    // Its author's transactions only (a transfer, a replacement).
                    Recorded::Other => recent.remove(m.author.as_str()),
                    // A cancel or a redo changes a transaction of any author.
                    Recorded::Flipped => recent.clear(),
                },
                // Whether it was committed is not known.
                Err(DomainError::StorageUnavailable | DomainError::Internal(_)) => recent.clear(),
                // Refused: nothing was written.
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardoise_domain::ports::Guard;
    use ardoise_domain::{CardId, CardStatus, Money, TransactionId, TransactionKind};
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
    const C: &str = "04A2B3C4D5E6F9";

    fn cards(ttl: Duration) -> SnapshotMap<String, Card> {
        SnapshotMap::new(ttl)
    }

    fn put(cache: &SnapshotMap<String, Card>, c: Card, at: Instant) {
        cache.put(c.id.as_str().to_owned(), c, at, cache.generation());
    }

    #[test]
    fn a_snapshot_is_served_for_the_ttl_only() {
        let cache = cards(Duration::from_secs(1));
        let t0 = Instant::now();
        put(&cache, card(A, 100), t0);
        assert_eq!(cache.get(A, t0).unwrap().balance, Money::from_cents(100));
        assert!(cache.get(A, t0 + Duration::from_millis(999)).is_some());
        assert!(cache.get(A, t0 + Duration::from_secs(1)).is_none());
        assert!(cache.get(B, t0).is_none());
    }

    #[test]
    fn a_read_that_started_before_a_write_cannot_store_its_answer() {
        let cache = cards(Duration::from_secs(1));
        let t0 = Instant::now();
        // A read starts, the writer commits a payment on the card and forgets it, then the
        // read (which saw the old balance) tries to store its answer.
        let before = cache.generation();
        cache.forget([A]);
        cache.put(A.to_owned(), card(A, 100), t0, before);
        assert!(cache.get(A, t0).is_none());
        // A read that started after the write stores its answer.
        put(&cache, card(A, 99), t0);
        assert_eq!(cache.get(A, t0).unwrap().balance, Money::from_cents(99));
    }

    #[test]
    fn a_write_spoils_the_reads_of_what_it_revised_only() {
        let snapshots = Snapshots::new(Duration::from_secs(1));
        let cache = &snapshots.cards;
        let t0 = Instant::now();
        put(cache, card(A, 100), t0);
        // Three reads start: of A (cached), of B and of C (neither cached).
        let before = cache.generation();
        // A batch pays on A and on B (B's read saw the balance before it), nothing on C.
        batch(
            &snapshots,
            &[payment(A, "bar", 10), payment(B, "bar", 10)],
            &[paid(A, 1, 100, 90), paid(B, 2, 200, 190)],
        );
        cache.put(A.to_owned(), card(A, 100), t0, before);
        cache.put(B.to_owned(), card(B, 200), t0, before);
        cache.put(C.to_owned(), card(C, 300), t0, before);
        // A keeps the balance the writer set, B stores nothing stale, C's answer is kept.
        assert_eq!(cache.get(A, t0).unwrap().balance, Money::from_cents(90));
        assert!(cache.get(B, t0).is_none());
        assert_eq!(cache.get(C, t0).unwrap().balance, Money::from_cents(300));
        // A read of B that started after the batch stores its answer.
        put(cache, card(B, 190), t0);
        assert_eq!(cache.get(B, t0).unwrap().balance, Money::from_cents(190));
        // Dropping every snapshot spoils every read under way.
        let before = cache.generation();
        cache.forget_all();
        cache.put(C.to_owned(), card(C, 300), t0, before);
        assert!(cache.get(C, t0).is_none());
    }

    #[test]
    fn a_write_forgets_the_cards_it_touched_only() {
        let cache = cards(Duration::from_secs(1));
        let t0 = Instant::now();
        put(&cache, card(A, 100), t0);
        put(&cache, card(B, 200), t0);
        cache.forget([A]);
        assert!(cache.get(A, t0).is_none());
        assert_eq!(cache.get(B, t0).unwrap().balance, Money::from_cents(200));
        cache.forget_all();
        assert!(cache.get(B, t0).is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = cards(Duration::ZERO);
        let t0 = Instant::now();
        put(&cache, card(A, 100), t0);
        assert!(cache.get(A, t0).is_none());
    }

    #[test]
    fn the_map_is_bounded() {
        let cache = cards(Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..=MAX_ENTRIES {
            let mut c = card(A, 1);
            c.id = CardId::parse(&format!("{i:014X}")).unwrap();
            put(&cache, c, t0);
        }
        assert!(cache.entries().map.len() <= MAX_ENTRIES);
    }

    fn payment(card: &str, author: &str, cents: i64) -> Movement {
        Movement {
            card: CardId::parse(card).unwrap(),
            author: author.to_owned(),
            at: Utc.with_ymd_and_hms(2026, 12, 7, 20, 0, 0).unwrap(),
            action: Action::Post {
                kind: TransactionKind::Payment,
                amount: Money::from_cents(cents),
                quantity: 0,
                product: None,
                guard: Guard::default(),
            },
            idempotency: None,
            credit: None,
            service: None,
        }
    }

    /// A batch applied between the two calls the writer makes around it.
    fn batch(s: &Snapshots, movements: &[Movement], answers: &[Result<Receipt, DomainError>]) {
        let before = s.before_batch(movements);
        s.after_batch(movements, answers, &before);
    }

    fn transfer(from: &str, to: &str, cents: i64) -> Movement {
        let mut m = payment(from, "member:1", 0);
        m.action = Action::Transfer {
            to: CardId::parse(to).unwrap(),
            amount: Money::from_cents(cents),
            payer: Guard::default(),
            payee: Guard::default(),
            record: Box::new(ardoise_domain::ports::TransferRecord {
                from_member: ardoise_domain::MemberId(1),
                to_member: ardoise_domain::MemberId(2),
                offer: None,
                note: None,
            }),
        };
        m
    }

    #[test]
    fn a_read_older_than_a_write_stays_refused_after_a_newer_read() {
        let cache = cards(Duration::from_secs(1));
        let t0 = Instant::now();
        // A slow read of A starts and sees 100; a write pays 1 on A; a read that started
        // after the write stores 99; then the slow read tries to store its 100.
        let slow = cache.generation();
        cache.forget([A]);
        put(&cache, card(A, 99), t0);
        cache.put(A.to_owned(), card(A, 100), t0, slow);
        assert_eq!(cache.get(A, t0).unwrap().balance, Money::from_cents(99));
    }

    #[test]
    fn a_transfer_credits_the_payees_snapshot_unless_a_read_replaced_it_meanwhile() {
        let s = Snapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        put(&s.cards, card(A, 100), t0);
        put(&s.cards, card(B, 200), t0);
        let paid_out = |id, before, after| {
            let mut r = paid(A, id, before, after);
            if let Ok(r) = &mut r {
                r.amount = Money::from_cents(30);
            }
            r
        };
        batch(&s, &[transfer(A, B, 30)], &[paid_out(1, 100, 70)]);
        assert_eq!(s.cards.get(A, t0).unwrap().balance, Money::from_cents(70));
        assert_eq!(s.cards.get(B, t0).unwrap().balance, Money::from_cents(230));
        // A read of B runs while the next transfer commits: it sees 260 and stores it before
        // the writer revises the snapshots. Adding 30 again would show 290.
        let movements = [transfer(A, B, 30)];
        let before = s.before_batch(&movements);
        put(&s.cards, card(B, 260), t0);
        s.after_batch(&movements, &[paid_out(2, 70, 40)], &before);
        assert_eq!(s.cards.get(A, t0).unwrap().balance, Money::from_cents(40));
        assert!(s.cards.get(B, t0).is_none());
        // A payee with no snapshot before the batch keeps none.
        let movements = [transfer(A, C, 10)];
        let before = s.before_batch(&movements);
        put(&s.cards, card(C, 310), t0);
        s.after_batch(&movements, &[paid_out(3, 40, 30)], &before);
        assert!(s.cards.get(C, t0).is_none());
    }

    fn paid(card: &str, id: i64, before: i64, after: i64) -> Result<Receipt, DomainError> {
        Ok(Receipt {
            transaction: TransactionId(id),
            card: CardId::parse(card).unwrap(),
            balance_before: Money::from_cents(before),
            balance_after: Money::from_cents(after),
            amount: Money::from_cents(before - after),
        })
    }

    #[test]
    fn a_batch_sets_the_balances_it_wrote_and_keeps_the_snapshots_age() {
        let s = Snapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        put(&s.cards, card(A, 100), t0);
        put(&s.cards, card(B, 200), t0);
        let before = s.cards.generation();
        batch(
            &s,
            &[
                payment(A, "bar", 10),
                payment(A, "bar", 5),
                payment(B, "bar", 500),
            ],
            &[
                paid(A, 1, 100, 90),
                paid(A, 2, 90, 85),
                Err(DomainError::InsufficientFunds {
                    balance: Money::from_cents(200),
                    missing: Money::from_cents(300),
                }),
            ],
        );
        assert_eq!(s.cards.get(A, t0).unwrap().balance, Money::from_cents(85));
        // A refused movement is dropped, as any change not known exactly.
        assert!(s.cards.get(B, t0).is_none());
        assert!(s.cards.get(A, t0 + Duration::from_secs(1)).is_none());
        // A read under way during the batch cannot store its answer.
        s.cards.put(B.to_owned(), card(B, 200), t0, before);
        assert!(s.cards.get(B, t0).is_none());
    }

    fn list(ids: &[i64]) -> RecentList {
        RecentList {
            limit: 3,
            transactions: ids
                .iter()
                .map(|&id| {
                    let m = payment(A, "bar", 1);
                    let Recorded::One(tx) = recorded_transaction(&m, &paid(A, id, 2, 1).unwrap())
                    else {
                        panic!("a payment records one transaction");
                    };
                    tx
                })
                .collect(),
        }
    }

    fn ids(l: &[Transaction]) -> Vec<i64> {
        l.iter().map(|t| t.id.0).collect()
    }

    #[test]
    fn a_batch_appends_its_transactions_to_their_authors_lists() {
        let s = Snapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        s.recent
            .put("bar".to_owned(), list(&[7, 5]), t0, s.recent.generation());
        batch(
            &s,
            &[
                payment(A, "bar", 1),
                payment(B, "other", 1),
                payment(A, "bar", 2),
            ],
            &[paid(A, 8, 10, 9), paid(B, 9, 10, 9), paid(A, 10, 9, 7)],
        );
        let got = s.recent.get("bar", t0).unwrap();
        assert_eq!(ids(&got.transactions), vec![10, 8, 7]);
        assert_eq!(got.transactions[0].amount, Money::from_cents(2));
        assert_eq!(got.transactions[0].author, "bar");
        assert_eq!(ids(&got.first(2).unwrap()), vec![10, 8]);
        assert!(got.first(4).is_none());
        // Nobody asked for the other author's list: nothing is kept for it.
        assert!(s.recent.get("other", t0).is_none());
    }

    #[test]
    fn a_cancel_or_an_unsure_commit_drops_every_list() {
        let s = Snapshots::new(Duration::from_secs(1));
        let t0 = Instant::now();
        s.recent
            .put("bar".to_owned(), list(&[7]), t0, s.recent.generation());
        let mut cancel = payment(A, "other", 0);
        cancel.action = Action::Flip {
            transaction: TransactionId(7),
            valid_after: false,
            delta: Money::from_cents(1),
            guard: Guard::default(),
        };
        batch(&s, &[cancel], &[paid(A, 7, 1, 2)]);
        assert!(s.recent.get("bar", t0).is_none());

        s.recent
            .put("bar".to_owned(), list(&[7]), t0, s.recent.generation());
        batch(
            &s,
            &[payment(A, "other", 1)],
            &[Err(DomainError::StorageUnavailable)],
        );
        assert!(s.recent.get("bar", t0).is_none());
    }
}
