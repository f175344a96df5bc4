//! Several movements in one database transaction: a refused one is undone alone.

use ardoise_domain::ports::{IdempotencyKey, Ledger, Movement};
use ardoise_domain::{DomainError, MemberId, TransactionId};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_movement_in_the_middle_does_not_stop_its_batch_mates() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();

        let results = s.apply_batch(&[
            top_up("CAFE0001", 500),
            pay("CAFE0001", 5000),
            pay("CAFE0001", 200),
        ]);
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().unwrap().balance_after, cents(1500));
        assert_eq!(
            results[1],
            Err(DomainError::InsufficientFunds {
                balance: cents(1500),
                missing: cents(3500)
            })
        );
        let third = results[2].as_ref().unwrap();
        assert_eq!(third.balance_before, cents(1500));
        assert_eq!(third.balance_after, cents(1300));
        assert_eq!(db.balance("CAFE0001"), 1300);
        assert_eq!(db.count("transactions"), 3);
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_flip_is_rolled_back_inside_its_batch() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        let payment = s.apply(pay("CAFE0001", 800)).await.unwrap().transaction;
        s.apply(flip("CAFE0001", payment, false, -800))
            .await
            .unwrap();

        // The redo flips the payment back to valid, then the floor refuses it: the savepoint
        // must undo the flip while the batch's other movements commit.
        let results = s.apply_batch(&[
            pay("CAFE0001", 500),
            flip("CAFE0001", payment, true, -800),
            open("CAFE0001", 1, 0),
            open("CAFE0002", 300, 0),
            drain("CAFE0001"),
        ]);
        assert!(results[0].is_ok());
        assert_eq!(
            results[1],
            Err(DomainError::InsufficientFunds {
                balance: cents(500),
                missing: cents(300)
            })
        );
        assert_eq!(results[2], Err(DomainError::CardExists));
        assert!(results[3].is_ok());
        assert_eq!(results[4].as_ref().unwrap().amount, cents(500));
        assert!(!s.transaction(payment).await.unwrap().unwrap().valid);
        assert_eq!(db.count("transaction_changes"), 1);
        assert_eq!(db.balance("CAFE0001"), 0);
        assert_eq!(db.balance("CAFE0002"), 300);
        // Ids: 1 open, 2 payment, 3 payment, 4 open, 5 drain.
        assert_eq!(results[4].as_ref().unwrap().transaction, TransactionId(5));
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_batch_does_nothing() {
    let db = TestDb::new(ardoise_store::Backend::Sqlite);
    assert!(db.store.apply_batch(&[]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_error_in_the_middle_is_rolled_back_alone() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        // PostgreSQL refuses a NUL character in text: a real statement error inside the
        // batch's transaction, which only the savepoint can recover from. SQLite stores it.
        let mut odd = pay("CAFE0001", 100);
        odd.author = "bar\0man".into();
        let results = s.apply_batch(&[pay("CAFE0001", 100), odd, pay("CAFE0001", 100)]);
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        match backend {
            ardoise_store::Backend::Postgres => {
                assert!(matches!(results[1], Err(DomainError::Internal(_))));
                assert_eq!(db.balance("CAFE0001"), 800);
            }
            ardoise_store::Backend::Sqlite => {
                assert!(results[1].is_ok());
                assert_eq!(db.balance("CAFE0001"), 700);
            }
        }
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexpected_error_after_a_payments_update_loses_neither_it_nor_its_mates() {
    // Payments run without a savepoint (their guard refuses before any write). A statement
    // that fails *after* the guarded UPDATE — here a trigger refusing the ledger row — must
    // undo that payment's UPDATE and nothing else: the batch is applied again one savepoint
    // per movement.
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(open("CAFE0002", 1000, 0)).await.unwrap();
        db.exec(match backend {
            ardoise_store::Backend::Sqlite => {
                "CREATE TRIGGER boom BEFORE INSERT ON transactions WHEN NEW.author = 'boom' \
                 BEGIN SELECT RAISE(ABORT, 'boom'); END;"
            }
            ardoise_store::Backend::Postgres => {
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN \
                 IF NEW.author = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; \
                 END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER boom BEFORE INSERT ON transactions \
                 FOR EACH ROW EXECUTE FUNCTION boom();"
            }
        });
        let mut odd = pay("CAFE0001", 100);
        odd.author = "boom".into();
        let results = s.apply_batch(&[
            pay("CAFE0001", 100),
            odd,
            pay("CAFE0002", 2000), // refused by the floor, alone
            pay("CAFE0002", 300),
        ]);
        assert!(results[0].is_ok(), "{results:?}");
        assert!(
            matches!(results[1], Err(DomainError::Internal(_))),
            "{results:?}"
        );
        assert!(
            matches!(results[2], Err(DomainError::InsufficientFunds { .. })),
            "{results:?}"
        );
        assert!(results[3].is_ok(), "{results:?}");
        assert_eq!(db.balance("CAFE0001"), 900, "{backend:?}");
        assert_eq!(db.balance("CAFE0002"), 700, "{backend:?}");
        db.assert_invariants();
    }
}

fn keyed(mut m: Movement, key: &str) -> Movement {
    m.idempotency = Some(Box::new(IdempotencyKey {
        owner: "staff:barman".into(),
        key: key.into(),
        request_hash: "h".into(),
    }));
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_payments_and_transfers_without_savepoints_move_money_with_their_records_or_not_at_all(
) {
    // Keyed payments and transfers run without a savepoint in a batch: a known key is refused
    // before the first write, and a transfer refused by its payee's card gives the payer's
    // debit back before it answers (CAFE0002 ends at 850 below only if it did). A key
    // that cannot be recorded after its payment (here a trigger drops its row, as another
    // process's insert of the same key would) must undo that payment and nothing else.
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        for id in ["CAFE0001", "CAFE0002", "CAFE0003"] {
            s.apply(open(id, 1000, 0)).await.unwrap();
        }
        db.exec("UPDATE cards SET max_balance_cents = 1100 WHERE id = 'CAFE0003'");
        db.exec(match backend {
            ardoise_store::Backend::Sqlite => {
                "CREATE TRIGGER lost_key BEFORE INSERT ON idempotency_keys \
                 WHEN NEW.idempotency_key = 'lost' BEGIN SELECT RAISE(IGNORE); END;"
            }
            ardoise_store::Backend::Postgres => {
                "CREATE FUNCTION lost_key() RETURNS trigger AS $$ BEGIN \
                 IF NEW.idempotency_key = 'lost' THEN RETURN NULL; END IF; RETURN NEW; \
                 END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER lost_key BEFORE INSERT ON idempotency_keys \
                 FOR EACH ROW EXECUTE FUNCTION lost_key();"
            }
        });
        let results = s.apply_batch(&[
            keyed(pay("CAFE0001", 100), "k1"),
            keyed(pay("CAFE0001", 100), "k1"), // the same key again, in the same batch
            transfer("CAFE0002", "CAFE0001", 2000, MemberId(1), MemberId(2)), // the payer's floor refuses
            transfer("CAFE0002", "CAFE0003", 200, MemberId(1), MemberId(2)), // the payee's ceiling refuses
            transfer("CAFE0002", "CAFE0003", 100, MemberId(1), MemberId(2)),
            keyed(pay("CAFE0002", 50), "k2"),
        ]);
        assert!(results[0].is_ok(), "{backend:?} {results:?}");
        assert_eq!(results[1], Err(DomainError::IdempotencyKeyReused));
        assert!(
            matches!(results[2], Err(DomainError::InsufficientFunds { .. })),
            "{backend:?} {results:?}"
        );
        assert!(results[3].is_err(), "{backend:?} {results:?}");
        assert_eq!(
            results[4].as_ref().map(|r| r.balance_after),
            Ok(cents(900)),
            "{backend:?}"
        );
        assert_eq!(
            results[5].as_ref().map(|r| r.balance_after),
            Ok(cents(850)),
            "{backend:?}"
        );
        assert_eq!(db.balance("CAFE0001"), 900, "{backend:?}");
        assert_eq!(db.balance("CAFE0002"), 850, "{backend:?}");
        assert_eq!(db.balance("CAFE0003"), 1100, "{backend:?}");

        let results = s.apply_batch(&[
            pay("CAFE0001", 100),
            keyed(pay("CAFE0001", 100), "lost"),
            pay("CAFE0001", 100),
        ]);
        assert!(
            results[0].is_ok() && results[2].is_ok(),
            "{backend:?} {results:?}"
        );
        assert!(results[1].is_err(), "{backend:?} {results:?}");
        assert_eq!(db.balance("CAFE0001"), 700, "{backend:?}");
        assert_eq!(db.count("idempotency_keys"), 2, "{backend:?}");
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_transfers_on_distinct_cards_applies_each_both_or_neither() {
    // Six transfers, no card twice: on PostgreSQL one set-based statement applies them, and
    // the four its guards refuse (the payee's ceiling, the payee blocked, the payer's floor,
    // an unknown payee) are explained one by one, having changed nothing.
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        for i in 1..=11 {
            s.apply(open(&format!("CAFE00{i:02}"), 1000, 0))
                .await
                .unwrap();
        }
        db.exec("UPDATE cards SET max_balance_cents = 1100 WHERE id = 'CAFE0004'");
        db.exec("UPDATE cards SET status = 'blocked' WHERE id = 'CAFE0006'");
        let (a, b) = (MemberId(1), MemberId(2));
        let results = s.apply_batch(&[
            transfer("CAFE0001", "CAFE0002", 300, a, b),
            transfer("CAFE0003", "CAFE0004", 200, a, b),
            transfer("CAFE0005", "CAFE0006", 100, a, b),
            transfer("CAFE0007", "CAFE0008", 2000, a, b),
            transfer("CAFE0009", "CAFE0099", 100, a, b),
            transfer("CAFE0010", "CAFE0011", 50, a, b),
        ]);
        let first = results[0].as_ref().unwrap();
        assert_eq!(
            (first.balance_before, first.balance_after),
            (cents(1000), cents(700))
        );
        assert_eq!(
            results[1],
            Err(DomainError::BalanceCeiling {
                balance: cents(1000),
                max: cents(1100)
            }),
            "{backend:?}"
        );
        assert_eq!(
            results[2],
            Err(DomainError::CardNotUsable(
                ardoise_domain::CardState::Blocked
            )),
            "{backend:?}"
        );
        assert!(
            matches!(results[3], Err(DomainError::InsufficientFunds { .. })),
            "{backend:?} {results:?}"
        );
        assert_eq!(results[4], Err(DomainError::UnknownCard), "{backend:?}");
        let last = results[5].as_ref().unwrap();
        assert_eq!(last.balance_after, cents(950));
        let expected = [
            700, 1300, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 950, 1050,
        ];
        for (i, cents) in expected.into_iter().enumerate() {
            let id = format!("CAFE00{:02}", i + 1);
            assert_eq!(db.balance(&id), cents, "{backend:?} {id}");
        }
        // Each applied transfer: its transfer-out, then its transfer-in, in batch order.
        assert_eq!(db.count("exchange_transfers"), 2, "{backend:?}");
        for (receipt, (from, to)) in [
            (first, ("CAFE0001", "CAFE0002")),
            (last, ("CAFE0010", "CAFE0011")),
        ] {
            let out = receipt.transaction.0;
            let filter = format!(
                "exchange_transfers WHERE transaction_id = {out} AND from_card = '{from}' \
                 AND to_card = '{to}' AND incoming_id = {out} + 1"
            );
            assert_eq!(db.count(&filter), 1, "{backend:?} {out}");
            let rows = format!(
                "transactions WHERE (id = {out} AND kind = 5 AND card_id = '{from}') \
                 OR (id = {out} + 1 AND kind = 6 AND card_id = '{to}')"
            );
            assert_eq!(db.count(&rows), 2, "{backend:?} {out}");
        }
        assert!(first.transaction.0 < last.transaction.0);
        db.assert_invariants();
    }
}
