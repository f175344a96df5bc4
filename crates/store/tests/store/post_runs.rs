//! Runs of payments and top-ups applied at once (PostgreSQL's `ardoise_post_batch`; SQLite's
//! one-by-one path must give the same answers): the order of the batch, one card many times,
//! a refusal alone in the middle, runs cut by other movements, and two writers on one
//! database.

use std::sync::{Arc, Barrier};

use ardoise_domain::ports::{Action, IdempotencyKey, Ledger, Movement, Receipt};
use ardoise_domain::{CardStatus, DomainError, TransactionId};
use ardoise_store::{Backend, Store};

use crate::common::*;

/// (transaction id, balance before, balance after) of an accepted movement.
fn ids(r: &Result<Receipt, DomainError>) -> (i64, i64, i64) {
    let r = r.as_ref().unwrap();
    (
        r.transaction.0,
        r.balance_before.cents(),
        r.balance_after.cents(),
    )
}

/// (id, kind, card, amount) of every ledger row, in id order.
fn ledger_rows(db: &TestDb) -> Vec<(i64, i64, String, i64)> {
    futures::executor::block_on(db.store.transactions(None, None))
        .unwrap()
        .into_iter()
        .map(|t| {
            (
                t.id.0,
                i64::from(t.kind.code()),
                t.card.as_str().to_owned(),
                t.amount.cents(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_card_many_times_a_refusal_in_the_middle_and_later_movements_pass_again() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(open("CAFE0002", 100, 0)).await.unwrap();

        let results = s.apply_batch(&[
            pay("CAFE0001", 400),    // 1000 → 600
            pay("CAFE0002", 30),     // another card in between: 100 → 70
            pay("CAFE0001", 400),    // 600 → 200
            pay("CAFE0001", 400),    // refused: the floor holds after each movement
            top_up("CAFE0001", 500), // 200 → 700
            pay("CAFE0001", 400),    // passes again: 700 → 300
            pay("CAFE0002", 71),     // refused: 70 left
            pay("UNKNOWN1", 10),     // refused: no such card
            pay("CAFE0001", 300),    // down to exactly zero
            pay("CAFE0001", 1),      // refused at zero
        ]);
        assert_eq!(results.len(), 10, "{backend:?}");
        assert_eq!(ids(&results[0]), (3, 1000, 600), "{backend:?}");
        assert_eq!(ids(&results[1]), (4, 100, 70));
        assert_eq!(ids(&results[2]), (5, 600, 200));
        assert_eq!(
            results[3],
            Err(DomainError::InsufficientFunds {
                balance: cents(200),
                missing: cents(200)
            })
        );
        assert_eq!(ids(&results[4]), (6, 200, 700));
        assert_eq!(ids(&results[5]), (7, 700, 300));
        assert_eq!(
            results[6],
            Err(DomainError::InsufficientFunds {
                balance: cents(70),
                missing: cents(1)
            })
        );
        assert_eq!(results[7], Err(DomainError::UnknownCard));
        assert_eq!(ids(&results[8]), (8, 300, 0));
        assert_eq!(
            results[9],
            Err(DomainError::InsufficientFunds {
                balance: cents(0),
                missing: cents(1)
            })
        );
        assert_eq!(db.balance("CAFE0001"), 0);
        assert_eq!(db.balance("CAFE0002"), 70);
        // The ledger holds the accepted movements only, in the batch's order.
        let pay_kind = 3;
        let top_up_kind = 2;
        assert_eq!(
            ledger_rows(&db)[2..],
            [
                (3, pay_kind, "CAFE0001".to_owned(), 400),
                (4, pay_kind, "CAFE0002".to_owned(), 30),
                (5, pay_kind, "CAFE0001".to_owned(), 400),
                (6, top_up_kind, "CAFE0001".to_owned(), 500),
                (7, pay_kind, "CAFE0001".to_owned(), 400),
                (8, pay_kind, "CAFE0001".to_owned(), 300),
            ]
        );
        let t = s.transaction(TransactionId(5)).await.unwrap().unwrap();
        assert_eq!(t.author, "barman");
        assert!(t.valid);
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_in_a_run_are_explained_from_the_card_as_it_was_then() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(open("CAFE0002", 999_999_999_999_990, 0))
            .await
            .unwrap();
        s.apply(open("CAFE0003", 500, 0)).await.unwrap();
        db.exec("UPDATE cards SET max_balance_cents = 1500 WHERE id = 'CAFE0001'");
        db.exec("UPDATE cards SET status = 'blocked' WHERE id = 'CAFE0003'");

        let results = s.apply_batch(&[
            top_up("CAFE0001", 400),        // 1000 → 1400
            top_up("CAFE0001", 200),        // refused by the ceiling at 1400
            pay("CAFE0001", 1400),          // 1400 → 0
            top_up("CAFE0001", 1500),       // 0 → 1500: the ceiling allows it now
            post_unguarded("CAFE0002", 20), // out of range: refused alone
            post_unguarded("CAFE0002", 10), // exactly the largest balance
            pay("CAFE0003", 10),            // blocked
            post_unguarded("CAFE0003", 10), // no usability guard: a blocked card moves
        ]);
        assert_eq!(ids(&results[0]), (4, 1000, 1400), "{backend:?}");
        assert_eq!(
            results[1],
            Err(DomainError::BalanceCeiling {
                balance: cents(1400),
                max: cents(1500)
            })
        );
        assert_eq!(ids(&results[2]), (5, 1400, 0));
        assert_eq!(ids(&results[3]), (6, 0, 1500));
        assert_eq!(
            results[4],
            Err(DomainError::malformed("the balance would overflow"))
        );
        assert_eq!(
            ids(&results[5]),
            (7, 999_999_999_999_990, 1_000_000_000_000_000)
        );
        assert!(
            matches!(results[6], Err(DomainError::CardNotUsable(_))),
            "{results:?}"
        );
        assert_eq!(ids(&results[7]), (8, 500, 510));
        db.assert_invariants();
    }
}

/// A top-up with no guard at all.
fn post_unguarded(card_id: &str, amount: i64) -> Movement {
    post(
        card_id,
        ardoise_domain::TransactionKind::TopUp,
        amount,
        ardoise_domain::ports::Guard::default(),
    )
}

fn keyed(mut m: Movement, key: &str) -> Movement {
    m.idempotency = Some(Box::new(IdempotencyKey {
        owner: "staff:barman".into(),
        key: key.into(),
        request_hash: "ab".repeat(32),
    }));
    m
}

fn set_status(card_id: &str, status: CardStatus) -> Movement {
    let mut m = pay(card_id, 1);
    m.action = Action::SetStatus { status };
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_cut_by_other_movements_on_the_same_card_keep_the_batchs_order() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        let earlier = s.apply(pay("CAFE0001", 500)).await.unwrap().transaction; // 500 left

        // Every movement below is decided by the ones before it on the same card: applied in
        // another order, at least one answer would differ.
        let results = s.apply_batch(&[
            pay("CAFE0001", 400),                        // 500 → 100
            flip("CAFE0001", earlier, false, -500),      // cancel (savepoint): 100 → 600
            pay("CAFE0001", 550),                        // only after the cancel: → 50
            set_overdraft("CAFE0001", 100),              // no savepoint, not a post
            pay("CAFE0001", 120),                        // only with the overdraft: → -70
            drain("CAFE0001"),                           // refused: negative
            keyed(top_up("CAFE0001", 200), "k1"),        // a post with a key: → 130
            pay("CAFE0001", 130),                        // → 0
            keyed(top_up("CAFE0001", 50), "k1"),         // the key again: refused alone
            top_up("CAFE0001", 40),                      // → 40
            set_status("CAFE0001", CardStatus::Blocked), // blocked from here on
            pay("CAFE0001", 10),                         // refused: blocked
            set_status("CAFE0001", CardStatus::Active),  //
            pay("CAFE0001", 10),                         // → 30
            drain("CAFE0001"),                           // 30 → 0
            top_up("CAFE0001", 5),                       // → 5
        ]);
        let r = |i: usize| ids(&results[i]);
        assert_eq!(r(0), (3, 500, 100), "{backend:?}: {results:?}");
        assert_eq!(r(1), (2, 100, 600));
        assert_eq!(r(2), (4, 600, 50));
        assert_eq!(results[3].as_ref().unwrap().balance_after, cents(50));
        assert_eq!(r(4), (5, 50, -70));
        assert_eq!(results[5], Err(DomainError::NegativeBalance));
        assert_eq!(r(6), (6, -70, 130));
        assert_eq!(r(7), (7, 130, 0));
        assert_eq!(results[8], Err(DomainError::IdempotencyKeyReused));
        // The refused keyed top-up wrote no ledger row (its key is looked up first), so
        // it took no id on either backend.
        assert_eq!(r(9), (8, 0, 40));
        assert!(results[10].is_ok());
        assert!(
            matches!(results[11], Err(DomainError::CardNotUsable(_))),
            "{results:?}"
        );
        assert!(results[12].is_ok());
        assert_eq!(r(13), (9, 40, 30));
        assert_eq!(r(14), (10, 30, 0));
        assert_eq!(r(15), (11, 0, 5));
        assert_eq!(db.balance("CAFE0001"), 5);
        assert_eq!(db.count("transaction_changes"), 1);
        assert_eq!(db.count("idempotency_keys"), 1);
        assert_eq!(ledger_rows(&db).len(), 11);
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_postgresql_database_lose_no_update() {
    // Two stores are two processes: two writer threads whose batches run at once on the same
    // cards (row locks in id order, runs of posts in one call), plus batches of several posts
    // in transactions of their own. Nothing may be lost, created or taken below a floor.
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let other = Store::connect(&db.settings).unwrap();
    const CARDS: [&str; 3] = ["CAFE000A", "CAFE000B", "CAFE000C"];
    const OPENING: i64 = 20_000;
    for c in CARDS {
        db.store.apply(open(c, OPENING, 0)).await.unwrap();
    }
    const THREADS: usize = 8;
    const ROUNDS: usize = 150;
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = if t % 2 == 0 {
                db.store.clone()
            } else {
                other.clone()
            };
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                // (net change per card, accepted, refused)
                let mut net = [0_i64; 3];
                let (mut accepted, mut refused) = (0, 0);
                for i in 0..ROUNDS {
                    // Threads 0, 1, 4, 5 go through their store's writer one movement at a
                    // time; the others apply batches of six in their own transactions.
                    let size = if t % 4 < 2 { 1 } else { 6 };
                    let batch: Vec<(usize, Movement, i64)> = (0..size)
                        .map(|j| {
                            let k = i * 6 + j;
                            let c = (t + k * 7) % 3;
                            let amount = ((t * 31 + k * 17) % 90 + 10) as i64;
                            if k % 5 == 4 {
                                (c, top_up(CARDS[c], amount), amount)
                            } else {
                                (c, pay(CARDS[c], amount * 3), -amount * 3)
                            }
                        })
                        .collect();
                    let movements: Vec<Movement> =
                        batch.iter().map(|(_, m, _)| m.clone()).collect();
                    let results = if size == 1 {
                        vec![futures::executor::block_on(
                            store.apply(movements[0].clone()),
                        )]
                    } else {
                        store.apply_batch(&movements)
                    };
                    for ((c, _, delta), result) in batch.iter().zip(results) {
                        match result {
                            Ok(r) => {
                                assert!(r.balance_after.cents() >= 0, "below the floor: {r:?}");
                                assert_eq!(
                                    r.balance_after.cents() - r.balance_before.cents(),
                                    *delta
                                );
                                net[*c] += delta;
                                accepted += 1;
                            }
                            Err(DomainError::InsufficientFunds { .. }) => refused += 1,
                            Err(other) => panic!("unexpected refusal: {other:?}"),
                        }
                    }
                }
                (net, accepted, refused)
            })
        })
        .collect();
    let (mut net, mut accepted, mut refused) = ([0_i64; 3], 0, 0);
    for t in threads {
        let (n, a, r) = t.join().unwrap();
        for c in 0..3 {
            net[c] += n[c];
        }
        accepted += a;
        refused += r;
    }
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused: the floor was never reached"
    );
    for (c, id) in CARDS.iter().enumerate() {
        let balance = db.balance(id);
        assert_eq!(balance, OPENING + net[c], "card {id}: no update lost");
        assert!(balance >= 0);
    }
    assert_eq!(db.count("transactions"), 3 + accepted);
    db.assert_invariants();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_applies_a_run_in_one_call_and_falls_back_without_the_function() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let s = &db.store;
    s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
    // Records the statement that wrote each ledger row.
    db.exec(
        "CREATE TABLE seen (q TEXT NOT NULL); \
         CREATE FUNCTION seen() RETURNS trigger AS $$ BEGIN \
         INSERT INTO seen VALUES (current_query()); RETURN NEW; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER seen AFTER INSERT ON transactions FOR EACH ROW EXECUTE FUNCTION seen();",
    );
    let batch = [
        pay("CAFE0001", 100),
        top_up("CAFE0001", 50),
        pay("CAFE0001", 5000),
        pay("CAFE0001", 100),
    ];
    let results = s.apply_batch(&batch);
    assert_eq!(ids(&results[3]), (4, 950, 850), "{results:?}");
    assert_eq!(db.count("seen"), 3);
    assert_eq!(
        db.count("seen WHERE q LIKE '%FROM ardoise_post_batch(%'"),
        3,
        "every ledger row of the run written by the one call"
    );

    // In a batch with other movements, each run of posts is one call too.
    db.exec("DELETE FROM seen");
    let mixed = s.apply_batch(&[
        pay("CAFE0001", 100),
        set_overdraft("CAFE0001", 0),
        pay("CAFE0001", 100),
        top_up("CAFE0001", 100),
    ]);
    assert_eq!(ids(&mixed[3]), (7, 650, 750), "{mixed:?}");
    assert_eq!(
        db.count("seen WHERE q LIKE '%FROM ardoise_post_batch(%'"),
        3,
        "every ledger row of the runs written by a call"
    );

    // Without the function (a database not migrated yet), the call fails and the batch is
    // applied again one movement at a time, with the same answers.
    db.exec("DELETE FROM seen; DROP FUNCTION ardoise_post_batch");
    let again = s.apply_batch(&batch);
    assert_eq!(ids(&again[0]), (8, 750, 650), "{again:?}");
    assert_eq!(ids(&again[1]), (9, 650, 700));
    assert_eq!(
        again[2],
        Err(DomainError::InsufficientFunds {
            balance: cents(700),
            missing: cents(4300)
        })
    );
    assert_eq!(ids(&again[3]), (10, 700, 600));
    assert_eq!(db.count("seen WHERE q LIKE '%ardoise_post_batch%'"), 0);
    assert_eq!(db.count("seen"), 3);
    db.assert_invariants();
}
