//! Partners' card credits and idempotency keys: written in the movement's savepoint, unique,
//! and the daily cap checked atomically with the credit — also across two writers (two
//! processes) on one database.

use std::sync::Arc;

use ardoise_domain::ports::{CreditRecord, IdempotencyKey, Ledger, Partner, PartnerDirectory};
use ardoise_domain::{CapPeriod, DomainError, Money, Movement};

use crate::common::*;

fn partner(id: &str) -> Partner {
    Partner {
        client_id: id.into(),
        name: format!("partner {id}"),
        secret_hash: "ab".repeat(32),
        scopes: vec!["cards:credit".into()],
        allow_basic: false,
        active: true,
        credit_cap_operation: Money::from_cents(50_000),
        credit_cap_day: Money::from_cents(500_000),
        created_at: at(0),
    }
}

/// A credit of `amount` cents by `partner` with `reference`, under a daily cap of `cap` cents
/// counted from `at(100)`.
fn credit(card_id: &str, amount: i64, partner: &str, reference: &str, cap: i64) -> Movement {
    let mut m = top_up(card_id, amount);
    m.at = at(200);
    m.credit = Some(Box::new(CreditRecord {
        partner: partner.into(),
        reference: reference.into(),
        day_start: at(100),
        day_cap: cents(cap),
    }));
    m
}

fn keyed(mut m: Movement, key: &str, hash: &str) -> Movement {
    m.idempotency = Some(Box::new(IdempotencyKey {
        owner: "partner:p1".into(),
        key: key.into(),
        request_hash: hash.into(),
    }));
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_and_keys_are_recorded_with_their_movement_and_unique() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.add_partner(partner("p1")).await.unwrap();
        s.apply(open("CAFE0001", 100, 0)).await.unwrap();

        let r = s
            .apply(keyed(
                credit("CAFE0001", 1000, "p1", "ref-1", 5000),
                "k1",
                "h1",
            ))
            .await
            .unwrap();
        assert_eq!(r.balance_after, cents(1100));
        let answer = s
            .idempotent_answer("partner:p1", "k1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.request_hash, "h1");
        assert_eq!(answer.receipt, r);
        let stored = s.credit_by_reference("p1", "ref-1").await.unwrap().unwrap();
        assert_eq!(stored.receipt, r);
        assert_eq!(stored.amount, cents(1000));
        assert_eq!(s.idempotent_answer("partner:p1", "k2").await.unwrap(), None);
        assert_eq!(s.credit_by_reference("p1", "ref-2").await.unwrap(), None);

        // A reused reference or key refuses the movement, which leaves no trace.
        assert_eq!(
            s.apply(credit("CAFE0001", 1000, "p1", "ref-1", 5000)).await,
            Err(DomainError::ReferenceReused)
        );
        assert_eq!(
            s.apply(keyed(
                credit("CAFE0001", 500, "p1", "ref-2", 5000),
                "k1",
                "h2"
            ))
            .await,
            Err(DomainError::IdempotencyKeyReused)
        );
        assert_eq!(db.balance("CAFE0001"), 1100);
        assert_eq!(db.count("transactions"), 2);
        assert_eq!(s.credit_by_reference("p1", "ref-2").await.unwrap(), None);

        // The daily cap: credits from the day's start count, this one included.
        s.apply(credit("CAFE0001", 3000, "p1", "ref-3", 5000))
            .await
            .unwrap();
        assert_eq!(
            s.apply(credit("CAFE0001", 1001, "p1", "ref-4", 5000)).await,
            Err(DomainError::CreditCapExceeded {
                cap: cents(5000),
                period: CapPeriod::Day
            })
        );
        s.apply(credit("CAFE0001", 1000, "p1", "ref-4", 5000))
            .await
            .unwrap();
        // A new day starts from zero.
        let mut tomorrow = credit("CAFE0001", 5000, "p1", "ref-5", 5000);
        if let Some(c) = tomorrow.credit.as_mut() {
            c.day_start = at(300);
        }
        tomorrow.at = at(400);
        s.apply(tomorrow).await.unwrap();
        assert_eq!(db.balance("CAFE0001"), 100 + 1000 + 3000 + 1000 + 5000);
        db.assert_invariants();
    }
}

/// Another process credits for the same partner while a credit is being applied: the
/// partner's lock (PostgreSQL) or the write transaction (SQLite) makes the credit wait, and
/// its daily sum then includes the other process's credit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_sum_sees_a_concurrent_credit_of_another_process() {
    for backend in backends() {
        let db = TestDb::new(backend);
        db.store.add_partner(partner("p1")).await.unwrap();
        db.store.apply(open("CAFE0001", 100, 0)).await.unwrap();
        db.store.apply(open("CAFE0002", 100, 0)).await.unwrap();
        let mut other = db.raw();
        let begin = match backend {
            ardoise_store::Backend::Sqlite => "BEGIN IMMEDIATE",
            ardoise_store::Backend::Postgres => "BEGIN",
        };
        other.exec(begin);
        if backend == ardoise_store::Backend::Postgres {
            // What the other process's credit holds while it sums and inserts.
            other.exec("SELECT client_id FROM partners WHERE client_id = 'p1' FOR UPDATE");
        }
        let store = Arc::new(ardoise_store::Store::connect(&db.settings).unwrap());
        let task = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .apply(credit("CAFE0001", 200, "p1", "mine", 1000))
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!task.is_finished(), "{backend:?}: the credit did not wait");
        // The other process's credit of 9.00 on another card, with its movement, then its
        // commit.
        let at_ms = at(150).timestamp_millis();
        other.exec(&format!(
            "UPDATE cards SET balance_cents = balance_cents + 900 WHERE id = 'CAFE0002'; \
             INSERT INTO transactions (id, kind, card_id, amount_cents, quantity, valid, author, \
             created_at) VALUES (1000, 2, 'CAFE0002', 900, 0, TRUE, 'partner:p1', {at_ms}); \
             INSERT INTO card_credits VALUES ('p1', 'theirs', 1000, 'CAFE0002', 900, 100, 1000, \
             {at_ms}); COMMIT"
        ));
        assert_eq!(
            task.await.unwrap(),
            Err(DomainError::CreditCapExceeded {
                cap: cents(1000),
                period: CapPeriod::Day
            }),
            "{backend:?}"
        );
        assert_eq!(db.balance("CAFE0001"), 100);
        assert_eq!(db.balance("CAFE0002"), 1000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_cap_holds_across_two_writers() {
    for backend in backends() {
        let db = TestDb::new(backend);
        db.store.add_partner(partner("p1")).await.unwrap();
        for i in 0..12 {
            db.store
                .apply(open(&format!("CAFE{i:04}"), 100, 0))
                .await
                .unwrap();
        }
        // A second store on the same database: another process, another writer thread.
        let other = Arc::new(ardoise_store::Store::connect(&db.settings).unwrap());
        let first = Arc::new(ardoise_store::Store::connect(&db.settings).unwrap());
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                other.clone()
            };
            tasks.push(tokio::spawn(async move {
                store
                    .apply(credit(
                        &format!("CAFE{i:04}"),
                        200,
                        "p1",
                        &format!("race-{i}"),
                        1000,
                    ))
                    .await
            }));
        }
        let mut applied = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => applied += 1,
                Err(DomainError::CreditCapExceeded { .. }) => {}
                Err(e) => panic!("{backend:?}: {e}"),
            }
        }
        assert_eq!(applied, 5, "{backend:?}");
        assert_eq!(
            db.value("SELECT CAST(SUM(amount_cents) AS BIGINT) AS v FROM card_credits"),
            1000
        );
        db.assert_invariants();
    }
}
