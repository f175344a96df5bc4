//! Each movement and each refusal, on every backend, with the invariants checked after.

use ardoise_domain::card::CardState;
use ardoise_domain::ports::{Guard, Ledger, Receipt, Totals};
use ardoise_domain::{CardStatus, DomainError, TransactionId, TransactionKind};

use crate::common::*;

fn receipt(tx: i64, card_id: &str, before: i64, after: i64, amount: i64) -> Receipt {
    Receipt {
        transaction: TransactionId(tx),
        card: card(card_id),
        balance_before: cents(before),
        balance_after: cents(after),
        amount: cents(amount),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_records_the_opening_balance_and_refuses_an_existing_card() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        assert_eq!(
            s.apply(open("AHS0DIEX", 1500, 0)).await.unwrap(),
            receipt(1, "AHS0DIEX", 0, 1500, 1500)
        );
        assert_eq!(
            s.apply(open("04A2B3C4D5E6F7", -2000, 5000)).await.unwrap(),
            receipt(2, "04A2B3C4D5E6F7", 0, -2000, -2000)
        );
        assert_eq!(
            s.apply(open("AHS0DIEX", 99, 0)).await,
            Err(DomainError::CardExists)
        );

        let c = s.card(&card("AHS0DIEX")).await.unwrap().unwrap();
        assert_eq!(c.balance, cents(1500));
        assert_eq!(c.overdraft_limit, cents(0));
        assert_eq!(c.status, CardStatus::Active);
        assert_eq!(c.max_balance, None);
        assert_eq!(c.valid_until, None);
        assert_eq!(c.member, None);
        assert_eq!(c.created_at, at(0));
        let ids: Vec<String> = s
            .cards()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id.to_string())
            .collect();
        // Byte order on both backends: digits before upper case.
        assert_eq!(ids, ["04A2B3C4D5E6F7", "AHS0DIEX"]);
        assert_eq!(s.card(&card("UNKNOWN1")).await.unwrap(), None);

        let t = s.transaction(TransactionId(2)).await.unwrap().unwrap();
        assert_eq!(t.kind, TransactionKind::Creation);
        assert_eq!(t.amount, cents(-2000));
        assert_eq!(t.card, card("04A2B3C4D5E6F7"));
        assert!(t.valid);
        assert_eq!(t.author, "barman");
        assert_eq!(t.created_at, at(0));
        assert_eq!(t.quantity, 0);
        assert_eq!(s.transaction(TransactionId(3)).await.unwrap(), None);
        assert_eq!(
            db.count("transactions"),
            2,
            "the refused open wrote nothing"
        );
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_and_top_ups_respect_floor_ceiling_and_usability() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        assert_eq!(
            s.apply(pay("CAFE0001", 180)).await.unwrap(),
            receipt(2, "CAFE0001", 1000, 820, 180)
        );
        // Floor: 8.20 left, 9 asked: 0.80 missing.
        assert_eq!(
            s.apply(pay("CAFE0001", 900)).await,
            Err(DomainError::InsufficientFunds {
                balance: cents(820),
                missing: cents(80)
            })
        );
        // Down to exactly zero is fine.
        assert_eq!(
            s.apply(pay("CAFE0001", 820)).await.unwrap(),
            receipt(3, "CAFE0001", 820, 0, 820)
        );
        assert_eq!(
            s.apply(top_up("CAFE0001", 500)).await.unwrap(),
            receipt(4, "CAFE0001", 0, 500, 500)
        );

        // With an overdraft limit, down to minus the limit.
        s.apply(set_overdraft("CAFE0001", 1000)).await.unwrap();
        assert_eq!(
            s.apply(pay("CAFE0001", 1500)).await.unwrap(),
            receipt(5, "CAFE0001", 500, -1000, 1500)
        );
        assert_eq!(
            s.apply(pay("CAFE0001", 1)).await,
            Err(DomainError::InsufficientFunds {
                balance: cents(-1000),
                missing: cents(1)
            })
        );
        // A post without the floor guard (none of the bar's) may go lower.
        let unguarded = post("CAFE0001", TransactionKind::Payment, 1, Guard::default());
        assert_eq!(
            s.apply(unguarded).await.unwrap().balance_after,
            cents(-1001)
        );
        s.apply(top_up("CAFE0001", 1001)).await.unwrap();

        // Ceiling.
        db.exec("UPDATE cards SET max_balance_cents = 2000 WHERE id = 'CAFE0001'");
        assert_eq!(
            s.apply(top_up("CAFE0001", 2001)).await,
            Err(DomainError::BalanceCeiling {
                balance: cents(0),
                max: cents(2000)
            })
        );
        assert_eq!(
            s.apply(top_up("CAFE0001", 2000))
                .await
                .unwrap()
                .balance_after,
            cents(2000)
        );

        // Usability: blocked, lost, expired; the guard order is usability first.
        for (status, state) in [("blocked", CardState::Blocked), ("lost", CardState::Lost)] {
            db.exec(&format!(
                "UPDATE cards SET status = '{status}' WHERE id = 'CAFE0001'"
            ));
            assert_eq!(
                s.apply(pay("CAFE0001", 10)).await,
                Err(DomainError::CardNotUsable(state))
            );
            assert_eq!(
                s.apply(top_up("CAFE0001", 10_000)).await,
                Err(DomainError::CardNotUsable(state))
            );
        }
        db.exec("UPDATE cards SET status = 'active' WHERE id = 'CAFE0001'");
        let valid_until = at(0).timestamp_millis();
        db.exec(&format!(
            "UPDATE cards SET valid_until = {valid_until} WHERE id = 'CAFE0001'"
        ));
        // The movements happen at at(0): valid until that very instant means expired.
        assert_eq!(
            s.apply(pay("CAFE0001", 10)).await,
            Err(DomainError::CardNotUsable(CardState::Expired))
        );
        db.exec(&format!(
            "UPDATE cards SET valid_until = {} WHERE id = 'CAFE0001'",
            valid_until + 1
        ));
        assert!(s.apply(pay("CAFE0001", 10)).await.is_ok());

        // Unknown cards.
        for m in [
            pay("UNKNOWN1", 10),
            top_up("UNKNOWN1", 10),
            drain("UNKNOWN1"),
            set_overdraft("UNKNOWN1", 10),
        ] {
            assert_eq!(s.apply(m).await, Err(DomainError::UnknownCard));
        }

        let c = s.card(&card("CAFE0001")).await.unwrap().unwrap();
        assert_eq!(c.balance, cents(1990));
        assert_eq!(c.max_balance, Some(cents(2000)));
        assert_eq!(c.overdraft_limit, cents(1000));
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_record_quantity_and_product() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        let mut m = pay("CAFE0001", 540);
        if let ardoise_domain::Action::Post {
            quantity, product, ..
        } = &mut m.action
        {
            *quantity = 3;
            *product = Some("biere".into());
        }
        let r = s.apply(m).await.unwrap();
        let t = s.transaction(r.transaction).await.unwrap().unwrap();
        assert_eq!(t.kind, TransactionKind::Payment);
        assert_eq!(t.quantity, 3);
        assert_eq!(t.product.as_deref(), Some("biere"));
        assert_eq!(t.amount, cents(540));
        assert_eq!(
            s.totals().await.unwrap(),
            Totals {
                positive_balances: cents(460),
                negative_balances: cents(0),
                cards: 1,
                positive_cards: 1,
                consumed_quantity: 3,
                valid_amounts_by_author: vec![("barman".into(), cents(1540))],
            }
        );
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_hands_back_a_positive_balance_only() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1234, 0)).await.unwrap();
        assert_eq!(
            s.apply(drain("CAFE0001")).await.unwrap(),
            receipt(2, "CAFE0001", 1234, 0, 1234)
        );
        let t = s.transaction(TransactionId(2)).await.unwrap().unwrap();
        assert_eq!(t.kind, TransactionKind::Drain);
        assert_eq!(t.amount, cents(1234));
        assert_eq!(
            s.apply(drain("CAFE0001")).await,
            Err(DomainError::NegativeBalance)
        );
        s.apply(open("CAFE0002", -500, 1000)).await.unwrap();
        assert_eq!(
            s.apply(drain("CAFE0002")).await,
            Err(DomainError::NegativeBalance)
        );
        assert_eq!(db.balance("CAFE0002"), -500);
        assert_eq!(db.count("transactions"), 3);
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_redo_flip_once_respect_the_floor_and_are_recorded() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(open("CAFE0002", 1000, 0)).await.unwrap();
        let payment = s.apply(pay("CAFE0001", 300)).await.unwrap().transaction;
        let top = s.apply(top_up("CAFE0001", 500)).await.unwrap().transaction;
        assert_eq!(db.balance("CAFE0001"), 1200);

        // Cancel the payment: +3.00.
        assert_eq!(
            s.apply(flip("CAFE0001", payment, false, -300))
                .await
                .unwrap(),
            receipt(payment.0, "CAFE0001", 1200, 1500, 300)
        );
        assert_eq!(
            s.apply(flip("CAFE0001", payment, false, -300)).await,
            Err(DomainError::AlreadyCancelled)
        );
        assert!(!s.transaction(payment).await.unwrap().unwrap().valid);

        // Spend so that cancelling the top-up would break the floor.
        s.apply(pay("CAFE0001", 1200)).await.unwrap();
        assert_eq!(
            s.apply(flip("CAFE0001", top, false, 500)).await,
            Err(DomainError::InsufficientFunds {
                balance: cents(300),
                missing: cents(200)
            })
        );
        // The refused cancel left the top-up valid and recorded nothing.
        assert!(s.transaction(top).await.unwrap().unwrap().valid);
        // Redo of the payment also breaks the floor (3.00 left, 3.00 asked is fine, then not).
        assert_eq!(
            s.apply(flip("CAFE0001", payment, true, -300))
                .await
                .unwrap(),
            receipt(payment.0, "CAFE0001", 300, 0, 300)
        );
        assert_eq!(
            s.apply(flip("CAFE0001", payment, true, -300)).await,
            Err(DomainError::AlreadyActive)
        );
        s.apply(flip("CAFE0001", payment, false, -300))
            .await
            .unwrap();
        s.apply(pay("CAFE0001", 100)).await.unwrap();
        assert_eq!(
            s.apply(flip("CAFE0001", payment, true, -300)).await,
            Err(DomainError::InsufficientFunds {
                balance: cents(200),
                missing: cents(100)
            })
        );
        assert!(!s.transaction(payment).await.unwrap().unwrap().valid);

        // Unknown transaction, or a transaction of another card.
        assert_eq!(
            s.apply(flip("CAFE0001", TransactionId(999), false, -1))
                .await,
            Err(DomainError::UnknownTransaction)
        );
        assert_eq!(
            s.apply(flip("CAFE0002", payment, true, -300)).await,
            Err(DomainError::UnknownTransaction)
        );

        // Cancelling a creation removes the opening balance only.
        let creation = TransactionId(2);
        assert_eq!(
            s.apply(flip("CAFE0002", creation, false, 1000))
                .await
                .unwrap(),
            receipt(2, "CAFE0002", 1000, 0, 1000)
        );

        // The audit trail: cancel, redo, cancel of the payment, cancel of the creation.
        assert_eq!(db.count("transaction_changes"), 4);
        assert_eq!(
            db.count(&format!(
                "transaction_changes WHERE transaction_id = {} AND changed_by = 'barman'",
                payment.0
            )),
            3
        );
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdraft_setting_moves_no_money() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 700, 0)).await.unwrap();
        assert_eq!(
            s.apply(set_overdraft("CAFE0001", 5000)).await.unwrap(),
            receipt(0, "CAFE0001", 700, 700, 5000)
        );
        assert!(matches!(
            s.apply(set_overdraft("CAFE0001", -1)).await,
            Err(DomainError::Malformed(_))
        ));
        assert!(matches!(
            s.apply(open("CAFE0002", 0, -1)).await,
            Err(DomainError::Malformed(_))
        ));
        assert_eq!(
            s.card(&card("CAFE0001"))
                .await
                .unwrap()
                .unwrap()
                .overdraft_limit,
            cents(5000)
        );
        assert_eq!(db.count("transactions"), 1);
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_page_oldest_first_and_totals_add_up() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(open("CAFE0002", -300, 500)).await.unwrap();
        s.apply(pay("CAFE0001", 100)).await.unwrap();
        s.apply(top_up("CAFE0002", 50)).await.unwrap();
        s.apply(pay("CAFE0001", 100)).await.unwrap();

        let ids =
            |v: Vec<ardoise_domain::Transaction>| v.into_iter().map(|t| t.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(s.transactions(None, None).await.unwrap()),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(
            ids(s
                .transactions(Some(TransactionId(2)), Some(2))
                .await
                .unwrap()),
            [3, 4]
        );
        assert_eq!(
            ids(s.transactions(Some(TransactionId(5)), None).await.unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(s.card_transactions(&card("CAFE0001")).await.unwrap()),
            [1, 3, 5]
        );
        assert_eq!(
            ids(s.card_transactions(&card("UNKNOWN1")).await.unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(
            s.totals().await.unwrap(),
            Totals {
                positive_balances: cents(800),
                negative_balances: cents(-250),
                cards: 2,
                positive_cards: 1,
                consumed_quantity: 0,
                valid_amounts_by_author: vec![(
                    "barman".into(),
                    cents(1000 - 300 + 100 + 50 + 100)
                )],
            }
        );
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bar_runs_on_the_store() {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use ardoise_domain::ports::{Catalog, Clock};
    use ardoise_domain::{Actor, Bar, Login, PayBy, Policy, Product, Rights};
    use chrono::{DateTime, Utc};

    struct Fixed;
    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            at(10)
        }
    }

    for backend in backends() {
        let db = TestDb::new(backend);
        let store = Arc::new(db.store.clone());
        store
            .set_product(Product {
                name: "biere".into(),
                unit_price: cents(180),
                bundles: BTreeMap::from([(6, cents(1000))]),
                category: None,
            })
            .await
            .unwrap();
        let bar = Bar::new(
            store.clone() as Arc<dyn Ledger>,
            store.clone() as Arc<dyn Catalog>,
            Arc::new(Fixed),
            Policy::default(),
        );
        let barman = Actor {
            login: Login::parse("barman").unwrap(),
            rights: Rights::BarMember,
        };
        let c = card("04A2B3C4D5E6F7");
        bar.open_card(&barman, &c, cents(2000), false)
            .await
            .unwrap();
        let six = PayBy::Quantity {
            quantity: 6,
            product: None,
        };
        let r = bar.pay(&barman, &c, six).await.unwrap();
        assert_eq!((r.amount, r.balance_after), (cents(1000), cents(1000)));
        let r = bar
            .pay(
                &barman,
                &c,
                PayBy::Quantity {
                    quantity: 2,
                    product: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(r.balance_after, cents(640));
        let cancelled = bar.cancel(&barman, r.transaction).await.unwrap();
        assert_eq!(cancelled.balance_after, cents(1000));
        assert_eq!(
            bar.cancel(&barman, r.transaction).await,
            Err(DomainError::AlreadyCancelled)
        );
        assert_eq!(
            bar.pay(&barman, &c, PayBy::Amount(cents(1001))).await,
            Err(DomainError::InsufficientFunds {
                balance: cents(1000),
                missing: cents(1)
            })
        );
        let drained = bar.drain(&barman, &c).await.unwrap();
        assert_eq!(drained.amount, cents(1000));
        let stats = bar
            .statistics(&Actor {
                login: Login::parse("barman").unwrap(),
                rights: Rights::BarMember,
            })
            .await
            .unwrap();
        assert_eq!(stats.consumed_quantity, 6);
        assert_eq!(stats.cards, 1);
        db.assert_invariants();
    }
}

#[test]
fn reads_work_without_a_tokio_runtime() {
    let db = TestDb::new(ardoise_store::Backend::Sqlite);
    futures::executor::block_on(async {
        db.store.apply(open("CAFE0001", 100, 0)).await.unwrap();
        assert_eq!(
            db.store
                .card(&card("CAFE0001"))
                .await
                .unwrap()
                .unwrap()
                .balance,
            cents(100)
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authors_latest_transactions_newest_first() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        let mut by_prez = pay("CAFE0001", 10);
        by_prez.author = "prez".into();
        s.apply(by_prez).await.unwrap();
        for _ in 0..3 {
            s.apply(pay("CAFE0001", 100)).await.unwrap();
        }
        let ids =
            |v: Vec<ardoise_domain::Transaction>| v.into_iter().map(|t| t.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(s.author_transactions("barman", 10).await.unwrap()),
            [5, 4, 3, 1]
        );
        // Twice with the same limit: the statement is prepared once and reused.
        assert_eq!(
            ids(s.author_transactions("barman", 2).await.unwrap()),
            [5, 4]
        );
        assert_eq!(
            ids(s.author_transactions("barman", 2).await.unwrap()),
            [5, 4]
        );
        assert_eq!(ids(s.author_transactions("prez", 8).await.unwrap()), [2]);
        assert_eq!(
            ids(s.author_transactions("nobody", 8).await.unwrap()),
            Vec::<i64>::new()
        );
        // A member's own movements are not the till's: never listed by author (the index
        // leaves them out), as the domain's default answers too.
        let mut by_member = pay("CAFE0001", 1);
        by_member.author = "member:7".into();
        s.apply(by_member).await.unwrap();
        assert_eq!(
            ids(s.author_transactions("member:7", 8).await.unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(ids(s.author_transactions("barman", 1).await.unwrap()), [5]);
    }
}
