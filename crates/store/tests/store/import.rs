//! `Store::import`: a checked plan written in one transaction, with its ids, its adjustments
//! and its record; refused a second time; nothing left by a dry run or a failure.

use ardoise_domain::ports::{Ledger, StaffDirectory, StaffUser};
use ardoise_domain::{
    CardId, ImportInput, ImportPlan, ImportedCard, Login, Rights, Transaction, TransactionId,
    TransactionKind,
};
use ardoise_store::StoreError;
use chrono::{TimeZone, Utc};

use crate::common::*;

fn tx(id: i64, kind: TransactionKind, card: &str, amount: i64, valid: bool) -> Transaction {
    Transaction {
        id: TransactionId(id),
        kind,
        card: CardId::parse(card).unwrap(),
        amount: cents(amount),
        quantity: u32::from(kind == TransactionKind::Payment),
        product: None,
        valid,
        author: "barman".into(),
        created_at: Utc.timestamp_opt(1_460_000_000 + id, 0).unwrap(),
    }
}

fn plan() -> ImportPlan {
    use TransactionKind::*;
    let card = |id: &str, balance: i64, limit: i64| ImportedCard {
        id: CardId::parse(id).unwrap(),
        balance: cents(balance),
        overdraft_limit: cents(limit),
    };
    let input = ImportInput {
        cards: vec![card("AHS0DIEX", 1580, 0), card("CAFE0001", 820, 5000)],
        transactions: vec![
            tx(5, Creation, "AHS0DIEX", 2000, true),
            tx(6, Payment, "AHS0DIEX", 420, true),
            tx(7, Payment, "AHS0DIEX", 180, false),
            tx(9, Creation, "CAFE0001", 1000, true),
        ],
        users: vec![
            StaffUser {
                login: Login::parse("prez").unwrap(),
                rights: Rights::President,
                card: Some(CardId::parse("PREZ0001").unwrap()),
                password_hash: "$2y$04$abcdefghijklmnopqrstuu5Yx0vZ0b2jUu0VsY0GZ5b5j5e5d5e5e"
                    .into(),
                active: true,
            },
            StaffUser {
                login: Login::parse("default").unwrap(),
                rights: Rights::President,
                card: Some(CardId::parse("OHCEE7UH").unwrap()),
                password_hash: "!".into(),
                active: false,
            },
        ],
        products: Vec::new(),
    };
    let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    ImportPlan::new(input, at, &Login::parse("ardoise-import").unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_keeps_ids_balances_and_states_and_adds_adjustments() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let plan = plan();
        let mut steps = Vec::new();
        let summary = db
            .store
            .import(&plan, "10p5", Utc::now(), false, &mut |s, n| {
                steps.push((s, n))
            })
            .unwrap();
        assert_eq!(
            (summary.cards, summary.transactions, summary.users),
            (2, 5, 2)
        );
        assert!(!steps.is_empty(), "progress is reported");

        let a = CardId::parse("AHS0DIEX").unwrap();
        let card = db.store.card(&a).await.unwrap().unwrap();
        assert_eq!(card.balance, cents(1580));
        let history = db.store.card_transactions(&a).await.unwrap();
        let ids: Vec<i64> = history.iter().map(|t| t.id.0).collect();
        assert_eq!(ids, [5, 6, 7], "{backend:?}");
        assert!(!history[2].valid, "a cancelled transaction stays cancelled");
        assert_eq!(history[0].created_at.timestamp(), 1_460_000_005);
        let c = CardId::parse("CAFE0001").unwrap();
        let card = db.store.card(&c).await.unwrap().unwrap();
        assert_eq!(
            (card.balance, card.overdraft_limit),
            (cents(820), cents(5000))
        );
        let history = db.store.card_transactions(&c).await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].kind, TransactionKind::ImportAdjustment);
        assert_eq!((history[1].id.0, history[1].amount), (10, cents(-180)));
        // Invariant 1 and the audit trail of the cancelled transaction.
        db.assert_invariants();

        let prez = db
            .store
            .user(&Login::parse("prez").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            prez.password_hash.starts_with("$2y$04$"),
            "the bcrypt hash is kept"
        );
        assert!(prez.active);
        let default = db
            .store
            .user(&Login::parse("default").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(!default.active);
        assert!(db
            .store
            .user_by_card(&CardId::parse("OHCEE7UH").unwrap())
            .await
            .unwrap()
            .is_none());

        // New movements get ids after the imported ones.
        let receipt = db.store.apply(open("NEW00001", 500, 0)).await.unwrap();
        assert_eq!(receipt.transaction, TransactionId(11), "{backend:?}");

        let records = db.store.imports().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(
            (
                records[0].cards,
                records[0].transactions,
                records[0].adjustments
            ),
            (2, 4, 1)
        );
        assert_eq!(records[0].adjustment_total_cents, -180);

        // A second import is refused and changes nothing.
        let before = db.count("transactions");
        let again = db
            .store
            .import(&plan, "10p5", Utc::now(), false, &mut |_, _| {});
        assert!(
            matches!(&again, Err(StoreError::ImportRefused(m)) if m.contains("already holds an import")),
            "{again:?}"
        );
        let dry = db
            .store
            .import(&plan, "10p5", Utc::now(), true, &mut |_, _| {});
        assert!(matches!(dry, Err(StoreError::ImportRefused(_))), "{dry:?}");
        assert_eq!(db.count("transactions"), before);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_or_a_failure_leaves_the_database_as_it_was() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let plan = plan();
        let summary = db
            .store
            .import(&plan, "10p5", Utc::now(), true, &mut |_, _| {})
            .unwrap();
        assert_eq!(summary.transactions, 5);
        assert_eq!(db.count("cards"), 0, "{backend:?}");
        assert_eq!(db.count("transactions"), 0);
        assert_eq!(db.count("staff_users"), 0);
        assert!(db.store.imports().unwrap().is_empty());

        // Refused before writing: an imported staff card is already an active user's.
        db.store
            .add_user(StaffUser {
                login: Login::parse("tresorier").unwrap(),
                rights: Rights::President,
                card: Some(CardId::parse("PREZ0001").unwrap()),
                password_hash: "x".into(),
                active: true,
            })
            .await
            .unwrap();
        let refused = db
            .store
            .import(&plan, "10p5", Utc::now(), false, &mut |_, _| {});
        assert!(
            matches!(&refused, Err(StoreError::ImportRefused(m)) if m.contains("PREZ0001")),
            "{refused:?}"
        );
        assert_eq!(db.count("cards"), 0);

        // A database error in the middle of the write, after the cards and the first
        // transactions were inserted (the audit rows of cancelled transactions cannot be
        // written): everything is rolled back.
        let mut raw = db.raw();
        raw.exec("DELETE FROM staff_users");
        raw.exec("DROP TABLE transaction_changes");
        let failed = db
            .store
            .import(&plan, "10p5", Utc::now(), false, &mut |_, _| {});
        assert!(matches!(failed, Err(StoreError::Database(_))), "{failed:?}");
        assert_eq!(db.count("cards"), 0, "nothing half-written ({backend:?})");
        assert_eq!(db.count("transactions"), 0);
        assert_eq!(db.count("staff_users"), 0);
    }
}
