//! Card reads served from memory (`Ledger::card_snapshot`): every write of this store shows
//! at once, a write of another process within the TTL, and a raw change behind the store's
//! back proves that the answer did come from memory.

use std::time::{Duration, Instant};

use ardoise_domain::ports::{Action, Ledger, MemberDirectory, Movement};
use ardoise_domain::{Card, CardStatus, Profile};

use crate::common::*;

fn lifecycle(card_id: &str, action: Action) -> Movement {
    Movement {
        card: card(card_id),
        author: "barman".into(),
        at: at(0),
        action,
        idempotency: None,
        credit: None,
        service: None,
    }
}

async fn snapshot(store: &ardoise_store::Store, id: &str) -> Card {
    store.card_snapshot(&card(id)).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_any_write_of_this_store_shows_it_at_once() {
    for backend in backends() {
        // A TTL far longer than the test: only the writes' invalidation can refresh a card.
        let db = TestDb::with(backend, |s| s.card_cache_ttl = Duration::from_secs(600));
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        assert_eq!(snapshot(s, "CAFE0001").await.balance, cents(1000));

        // A change behind the store's back is not seen: the answer comes from memory.
        db.exec("UPDATE cards SET balance_cents = 1234 WHERE id = 'CAFE0001'");
        assert_eq!(
            snapshot(s, "CAFE0001").await.balance,
            cents(1000),
            "{backend:?}"
        );
        // `Ledger::card`, what the rules read, always asks the database.
        let fresh = s.card(&card("CAFE0001")).await.unwrap().unwrap();
        assert_eq!(fresh.balance, cents(1234), "{backend:?}");

        // Payment.
        let paid = s.apply(pay("CAFE0001", 34)).await.unwrap();
        assert_eq!(
            snapshot(s, "CAFE0001").await.balance,
            cents(1200),
            "{backend:?}"
        );
        // Top-up.
        s.apply(top_up("CAFE0001", 300)).await.unwrap();
        assert_eq!(
            snapshot(s, "CAFE0001").await.balance,
            cents(1500),
            "{backend:?}"
        );
        // Cancel of the payment.
        s.apply(flip("CAFE0001", paid.transaction, false, -34))
            .await
            .unwrap();
        assert_eq!(
            snapshot(s, "CAFE0001").await.balance,
            cents(1534),
            "{backend:?}"
        );
        // Overdraft.
        s.apply(set_overdraft("CAFE0001", 2500)).await.unwrap();
        assert_eq!(
            snapshot(s, "CAFE0001").await.overdraft_limit,
            cents(2500),
            "{backend:?}"
        );
        // Validity.
        s.apply(lifecycle(
            "CAFE0001",
            Action::SetValidUntil {
                until: Some(at(3600)),
            },
        ))
        .await
        .unwrap();
        assert_eq!(
            snapshot(s, "CAFE0001").await.valid_until,
            Some(at(3600)),
            "{backend:?}"
        );
        // Block.
        s.apply(lifecycle(
            "CAFE0001",
            Action::SetStatus {
                status: CardStatus::Blocked,
            },
        ))
        .await
        .unwrap();
        assert_eq!(
            snapshot(s, "CAFE0001").await.status,
            CardStatus::Blocked,
            "{backend:?}"
        );
        // Member link and unlink (not through the writer).
        let member = s
            .add_member(
                Profile {
                    last_name: Some("Durand".into()),
                    ..Profile::default()
                },
                at(1),
            )
            .await
            .unwrap()
            .id;
        s.link_card(member, &card("CAFE0001")).await.unwrap();
        assert_eq!(
            snapshot(s, "CAFE0001").await.member,
            Some(member),
            "{backend:?}"
        );
        s.unlink_card(member, &card("CAFE0001")).await.unwrap();
        assert_eq!(snapshot(s, "CAFE0001").await.member, None, "{backend:?}");
        // Drain (the card is blocked: unblock first, reading in between).
        s.apply(lifecycle(
            "CAFE0001",
            Action::SetStatus {
                status: CardStatus::Active,
            },
        ))
        .await
        .unwrap();
        assert_eq!(snapshot(s, "CAFE0001").await.status, CardStatus::Active);
        // Replacement: both cards change; the new one was unknown (and unknown cards are
        // never kept, so it shows at once too).
        assert!(s.card_snapshot(&card("CAFE0002")).await.unwrap().is_none());
        s.apply(lifecycle(
            "CAFE0001",
            Action::Replace {
                new_card: card("CAFE0002"),
            },
        ))
        .await
        .unwrap();
        let old = snapshot(s, "CAFE0001").await;
        assert_eq!(old.balance, cents(0), "{backend:?}");
        assert_eq!(old.replaced_by, Some(card("CAFE0002")), "{backend:?}");
        assert_eq!(snapshot(s, "CAFE0002").await.balance, cents(1534));
        s.apply(drain("CAFE0002")).await.unwrap();
        assert_eq!(snapshot(s, "CAFE0002").await.balance, cents(0));
        // A refused movement changes nothing, and the snapshot says so.
        // (The new card kept the overdraft of 25.00.)
        assert!(s.apply(pay("CAFE0002", 2501)).await.is_err());
        assert_eq!(snapshot(s, "CAFE0002").await.balance, cents(0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_of_another_process_shows_within_the_ttl() {
    let ttl = Duration::from_millis(700);
    for backend in backends() {
        let db = TestDb::with(backend, |s| s.card_cache_ttl = ttl);
        db.store.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        // Another process on the same database: a second store, with its own writer.
        let other = ardoise_store::Store::connect(&db.settings).unwrap();
        let read_at = Instant::now();
        assert_eq!(snapshot(&db.store, "CAFE0001").await.balance, cents(1000));
        other.apply(pay("CAFE0001", 100)).await.unwrap();
        // The other store's own reads see its write at once.
        assert_eq!(snapshot(&other, "CAFE0001").await.balance, cents(900));
        // This one may serve its snapshot until the TTL runs out…
        let seen = snapshot(&db.store, "CAFE0001").await.balance;
        if read_at.elapsed() < ttl {
            assert_eq!(seen, cents(1000), "{backend:?}: served from memory");
        }
        // …and no longer.
        tokio::time::sleep(ttl.saturating_sub(read_at.elapsed()) + Duration::from_millis(50)).await;
        assert_eq!(
            snapshot(&db.store, "CAFE0001").await.balance,
            cents(900),
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_ttl_reads_the_database_every_time() {
    for backend in backends() {
        let db = TestDb::with(backend, |s| s.card_cache_ttl = Duration::ZERO);
        db.store.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        assert_eq!(snapshot(&db.store, "CAFE0001").await.balance, cents(1000));
        db.exec("UPDATE cards SET balance_cents = 1234 WHERE id = 'CAFE0001'");
        assert_eq!(
            snapshot(&db.store, "CAFE0001").await.balance,
            cents(1234),
            "{backend:?}"
        );
    }
}

/// Reads racing payments on one card never end up serving a balance older than the last
/// answered payment (a read that started before a commit must not store its answer after it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_racing_payments_never_keep_a_stale_balance() {
    for backend in backends() {
        let db = TestDb::with(backend, |s| s.card_cache_ttl = Duration::from_secs(600));
        let store = db.store.clone();
        store.apply(open("CAFE0001", 10_000, 0)).await.unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..4 {
            let (store, stop) = (store.clone(), stop.clone());
            readers.push(tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    store.card_snapshot(&card("CAFE0001")).await.unwrap();
                    // A hit never waits: yield, so the runtime can stop these tasks.
                    tokio::task::yield_now().await;
                }
            }));
        }
        for i in 1..=40 {
            let receipt = store.apply(pay("CAFE0001", 1)).await.unwrap();
            assert_eq!(receipt.balance_after, cents(10_000 - i));
            // Right after the answer, every read shows at least this payment.
            assert_eq!(
                snapshot(&store, "CAFE0001").await.balance,
                receipt.balance_after,
                "{backend:?}, payment {i}"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            r.await.unwrap();
        }
        assert_eq!(snapshot(&store, "CAFE0001").await.balance, cents(9_960));
    }
}

/// What the till and a payment between members read from memory (`Ledger::till_read`,
/// `ExchangeStore::parties`) is, after every write of this store, what the database says: the
/// same reads through a second store that keeps nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_till_and_the_parties_read_from_memory_what_the_database_holds() {
    use ardoise_domain::exchange::ExchangeStore;
    use ardoise_domain::ports::TillQuery;
    use ardoise_domain::{MemberId, TransactionKind};

    async fn same(s: &ardoise_store::Store, truth: &ardoise_store::Store, step: &str) {
        for author in ["barman", "other"] {
            for id in ["CAFE0001", "CAFE0002", "CAFE0003"] {
                let query = TillQuery {
                    card: Some(card(id)),
                    member: true,
                    author: Some(author.to_owned()),
                    limit: 3,
                };
                let (got, want) = (
                    s.till_read(query.clone()).await.unwrap(),
                    truth.till_read(query).await.unwrap(),
                );
                assert_eq!(got.card, want.card, "{step}: card {id}");
                assert_eq!(got.member, want.member, "{step}: member of {id}");
                assert_eq!(got.recent, want.recent, "{step}: {author}'s list");
            }
        }
        for (a, b) in [(1, 2), (2, 1), (1, 3)] {
            let (a, b) = (MemberId(a), MemberId(b));
            assert_eq!(
                s.parties(a, b).await.unwrap(),
                truth.parties(a, b).await.unwrap(),
                "{step}: parties {a:?}, {b:?}"
            );
        }
    }

    fn by(author: &str, mut m: Movement) -> Movement {
        m.author = author.to_owned();
        m
    }

    for backend in backends() {
        // A TTL far longer than the test: only the writes can change what is served.
        let db = TestDb::with(backend, |s| s.card_cache_ttl = Duration::from_secs(600));
        let s = &db.store;
        let mut settings = db.settings.clone();
        settings.card_cache_ttl = Duration::ZERO;
        let truth = ardoise_store::Store::connect(&settings).unwrap();
        let mut members = Vec::new();
        for (i, id) in ["CAFE0001", "CAFE0002", "CAFE0003"].into_iter().enumerate() {
            s.apply(open(id, 1000, 0)).await.unwrap();
            let member = s
                .add_member(
                    Profile {
                        last_name: Some(format!("Member {i}")),
                        ..Profile::default()
                    },
                    at(1),
                )
                .await
                .unwrap();
            if i < 2 {
                s.link_card(member.id, &card(id)).await.unwrap();
            }
            members.push(member);
        }
        same(s, &truth, "opened").await;

        let first = s.apply(pay("CAFE0001", 10)).await.unwrap();
        s.apply(pay("CAFE0001", 20)).await.unwrap();
        same(s, &truth, "two payments").await;
        // Another staff member's payment and top-up on the same card.
        s.apply(by("other", pay("CAFE0001", 5))).await.unwrap();
        s.apply(by("other", top_up("CAFE0001", 300))).await.unwrap();
        same(s, &truth, "another staff member").await;
        // Another staff member cancels the first payment, then redoes it.
        s.apply(by("other", flip("CAFE0001", first.transaction, false, -10)))
            .await
            .unwrap();
        same(s, &truth, "cancelled").await;
        s.apply(by("other", flip("CAFE0001", first.transaction, true, -10)))
            .await
            .unwrap();
        same(s, &truth, "redone").await;
        // A refused payment, then more than the list holds.
        assert!(s.apply(pay("CAFE0002", 5000)).await.is_err());
        for _ in 0..4 {
            s.apply(pay("CAFE0002", 1)).await.unwrap();
        }
        same(s, &truth, "refused, then four more").await;
        // Products and quantities, as the till's order lines.
        let mut line = pay("CAFE0002", 360);
        if let Action::Post {
            quantity, product, ..
        } = &mut line.action
        {
            *quantity = 2;
            *product = Some("biere".into());
        }
        s.apply(line).await.unwrap();
        same(s, &truth, "an order line").await;
        // A member renamed.
        let m = &members[0];
        let renamed = Profile {
            display_name: Some("Renamed".into()),
            ..m.profile.clone()
        };
        assert!(s
            .update_member(m.id, m.revision, renamed, at(2))
            .await
            .unwrap());
        same(s, &truth, "renamed").await;
        // Transfers between members, both ways.
        for (from, to, payer, payee) in [
            ("CAFE0001", "CAFE0002", &members[0], &members[1]),
            ("CAFE0002", "CAFE0001", &members[1], &members[0]),
        ] {
            let t = by(
                &format!("member:{}", payer.id.0),
                transfer(from, to, 7, payer.id, payee.id),
            );
            s.apply(t).await.unwrap();
            same(s, &truth, "transfer").await;
        }
        // A suspension, a card linked, a card blocked, a drain.
        s.set_suspended(members[1].id, true, "moderator".into(), at(3))
            .await
            .unwrap();
        same(s, &truth, "suspended").await;
        s.link_card(members[2].id, &card("CAFE0003")).await.unwrap();
        same(s, &truth, "linked").await;
        s.apply(lifecycle(
            "CAFE0003",
            Action::SetStatus {
                status: CardStatus::Blocked,
            },
        ))
        .await
        .unwrap();
        same(s, &truth, "blocked").await;
        s.apply(drain("CAFE0002")).await.unwrap();
        same(s, &truth, "drained").await;
        s.apply(lifecycle(
            "CAFE0002",
            Action::Replace {
                new_card: card("CAFE0004"),
            },
        ))
        .await
        .unwrap();
        same(s, &truth, "replaced").await;
        let kinds: Vec<TransactionKind> = truth
            .till_read(TillQuery {
                card: None,
                member: false,
                author: Some("barman".into()),
                limit: 3,
            })
            .await
            .unwrap()
            .recent
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(kinds.len(), 3, "{backend:?}");
    }
}
