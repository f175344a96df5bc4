//! Invariant 2 under load: no interleaving goes below the floor, loses an update or applies a
//! cancel twice — through the batching writer and through concurrent database transactions.

use std::sync::{Arc, Barrier};
use std::time::Instant;

use ardoise_domain::ports::{Ledger, Movement, Receipt};
use ardoise_domain::DomainError;
use ardoise_store::Store;

use crate::common::*;

const THREADS: usize = 8;

/// A way to apply one movement from a plain thread.
type Apply = dyn Fn(Movement) -> Result<Receipt, DomainError> + Send + Sync;

/// The amount of the `i`-th payment of thread `t`: 0.10 to 0.90.
fn amount(t: usize, i: usize) -> i64 {
    ((t * 7 + i * 13) % 9 + 1) as i64 * 10
}

/// Runs `payments` payments per thread on one card from `THREADS` threads, each payment
/// applied by `apply`; returns (accepted sum, accepted count, refused count).
fn hammer<F>(payments: usize, apply: F) -> (i64, i64, i64)
where
    F: Fn(Movement) -> Result<Receipt, DomainError> + Send + Sync + 'static,
{
    let apply = Arc::new(apply);
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let apply = apply.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let (mut sum, mut accepted, mut refused) = (0, 0, 0);
                for i in 0..payments {
                    let a = amount(t, i);
                    match apply(pay("CAFE0001", a)) {
                        Ok(r) => {
                            assert!(r.balance_after.cents() >= 0, "below the floor: {r:?}");
                            assert_eq!(r.balance_before.cents() - a, r.balance_after.cents());
                            sum += a;
                            accepted += 1;
                        }
                        Err(DomainError::InsufficientFunds { balance, missing }) => {
                            assert!(balance.cents() < a && missing.cents() > 0);
                            refused += 1;
                        }
                        Err(other) => panic!("unexpected refusal: {other:?}"),
                    }
                }
                (sum, accepted, refused)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
}

fn through_writer(store: &Store) -> impl Fn(Movement) -> Result<Receipt, DomainError> {
    let store = store.clone();
    move |m| futures::executor::block_on(store.apply(m))
}

fn direct(store: &Store) -> impl Fn(Movement) -> Result<Receipt, DomainError> {
    let store = store.clone();
    move |m| {
        let mut results = store.apply_batch(std::slice::from_ref(&m));
        results.pop().unwrap()
    }
}

fn check_outcome(db: &TestDb, opening: i64, (sum, accepted, refused): (i64, i64, i64)) {
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
    let balance = db.balance("CAFE0001");
    assert_eq!(balance, opening - sum, "no update lost");
    assert!(balance >= 0);
    assert_eq!(db.count("transactions"), 1 + accepted);
    db.assert_invariants();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_threads_of_500_payments_never_break_the_floor() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let opening = 80_000; // about 4000 × 0.50 asked: roughly half is refused
        db.store.apply(open("CAFE0001", opening, 0)).await.unwrap();
        let started = Instant::now();
        let outcome = hammer(500, through_writer(&db.store));
        println!(
            "{backend:?}: {} payments through the writer in {:?} ({} accepted)",
            THREADS * 500,
            started.elapsed(),
            outcome.1
        );
        check_outcome(&db, opening, outcome);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_database_transactions_never_break_the_floor() {
    // Bypasses the writer: every payment is its own transaction on its own connection, as
    // with several ardoise processes on one database.
    for backend in backends() {
        let db = TestDb::new(backend);
        let opening = 10_000;
        db.store.apply(open("CAFE0001", opening, 0)).await.unwrap();
        let started = Instant::now();
        let outcome = hammer(60, direct(&db.store));
        println!(
            "{backend:?}: {} concurrent one-payment transactions in {:?}",
            THREADS * 60,
            started.elapsed()
        );
        check_outcome(&db, opening, outcome);
    }
}

fn simultaneous_flips(db: &TestDb, via: fn(&Store) -> Box<Apply>) {
    let payment = futures::executor::block_on(db.store.apply(pay("CAFE0001", 300)))
        .unwrap()
        .transaction;
    for (valid_after, refusal) in [
        (false, DomainError::AlreadyCancelled),
        (true, DomainError::AlreadyActive),
    ] {
        let apply: Arc<Apply> = Arc::from(via(&db.store));
        let start = Arc::new(Barrier::new(THREADS));
        let answers: Vec<_> = (0..THREADS)
            .map(|_| {
                let apply = apply.clone();
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    apply(flip("CAFE0001", payment, valid_after, -300))
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let ok = answers.iter().filter(|a| a.is_ok()).count();
        assert_eq!(ok, 1, "exactly one flip succeeds: {answers:?}");
        assert!(answers
            .iter()
            .all(|a| a.is_ok() || a.as_ref().err() == Some(&refusal)));
    }
    assert_eq!(db.balance("CAFE0001"), 700);
    assert_eq!(db.count("transaction_changes"), 2);
    db.assert_invariants();
}

#[test]
fn eight_simultaneous_cancels_through_the_writer_one_succeeds() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    for backend in backends() {
        let db = TestDb::new(backend);
        futures::executor::block_on(db.store.apply(open("CAFE0001", 1000, 0))).unwrap();
        simultaneous_flips(&db, |s| Box::new(through_writer(s)));
    }
}

#[test]
fn eight_simultaneous_cancels_in_concurrent_transactions_one_succeeds() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    for backend in backends() {
        let db = TestDb::new(backend);
        futures::executor::block_on(db.store.apply(open("CAFE0001", 1000, 0))).unwrap();
        simultaneous_flips(&db, |s| Box::new(direct(s)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_over_the_same_cards_in_opposite_orders_all_commit() {
    // Without ordered row locks, two PostgreSQL batches touching A then B and B then A would
    // deadlock; the store locks a batch's cards in id order first.
    for backend in backends() {
        let db = TestDb::new(backend);
        db.store.apply(open("CAFE000A", 100_000, 0)).await.unwrap();
        db.store.apply(open("CAFE000B", 100_000, 0)).await.unwrap();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = db.store.clone();
                std::thread::spawn(move || {
                    for i in 0..20 {
                        let (first, second) = if (t + i) % 2 == 0 {
                            ("CAFE000A", "CAFE000B")
                        } else {
                            ("CAFE000B", "CAFE000A")
                        };
                        let results = store.apply_batch(&[
                            pay(first, 10),
                            top_up(second, 5),
                            pay(second, 10),
                        ]);
                        assert!(results.iter().all(Result::is_ok), "{results:?}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Each batch takes 0.10 + 0.10 and gives 0.05: 0.15 leave the two cards.
        let total = db.balance("CAFE000A") + db.balance("CAFE000B");
        assert_eq!(total, 200_000 - (THREADS * 20) as i64 * 15);
        assert_eq!(db.count("transactions"), 2 + (THREADS * 20 * 3) as i64);
        db.assert_invariants();
    }
}
