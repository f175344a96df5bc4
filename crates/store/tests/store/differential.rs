//! The store against the domain's in-memory reference ledger: the same pseudo-random
//! movements, the same answers, the same final state.

use ardoise_domain::memory::MemoryLedger;
use ardoise_domain::ports::{Action, Guard, Ledger, Movement};
use ardoise_domain::{CardStatus, Transaction, TransactionId, TransactionKind};

use crate::common::*;

/// A small deterministic generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
    fn flag(&mut self) -> bool {
        self.next(2) == 1
    }
}

const CARDS: [&str; 4] = ["CAFE0001", "CAFE0002", "CAFE0003", "Badge42"];

/// A movement on a random card. Cancels and redos mostly target a real transaction of that
/// card with the delta the bar would compute (so that the ledger invariant keeps holding),
/// sometimes an unknown one or another card's.
fn random_movement(rng: &mut Lcg, step: i64, transactions: &[Transaction]) -> Movement {
    let mut card_id = CARDS[rng.next(CARDS.len() as u64) as usize].to_owned();
    let amount = cents(rng.next(3000) as i64 + 1);
    let guard = Guard {
        floor: rng.next(4) != 0,
        ceiling: rng.flag(),
        usable: rng.flag(),
    };
    let action = match rng.next(13) {
        0 => Action::Open {
            opening: cents(rng.next(4000) as i64 - 1000),
            overdraft_limit: cents(rng.next(3) as i64 * 500),
        },
        1..=3 => Action::Post {
            kind: TransactionKind::Payment,
            amount,
            quantity: rng.next(4) as u32,
            product: rng.flag().then(|| "biere".to_owned()),
            guard,
        },
        4..=5 => Action::Post {
            kind: TransactionKind::TopUp,
            amount,
            quantity: 0,
            product: None,
            guard,
        },
        6 => Action::Drain,
        7..=8 => {
            let id = rng.next(transactions.len() as u64 + 2) as i64;
            let valid_after = rng.flag();
            let target = transactions.iter().find(|t| t.id.0 == id);
            let delta = match target {
                Some(t) if valid_after => t.signed_amount(),
                Some(t) => t.signed_amount().negated(),
                None => cents(rng.next(2000) as i64 - 1000),
            };
            if let (Some(t), true) = (target, rng.next(5) != 0) {
                card_id = t.card.to_string();
            }
            Action::Flip {
                transaction: TransactionId(id),
                valid_after,
                delta,
                guard,
            }
        }
        9 => Action::SetOverdraft {
            limit: cents(rng.next(4) as i64 * 250),
        },
        10 => Action::Replace {
            new_card: card(CARDS[rng.next(CARDS.len() as u64) as usize]),
        },
        11 => Action::SetStatus {
            status: [CardStatus::Active, CardStatus::Blocked, CardStatus::Lost]
                [rng.next(3) as usize],
        },
        _ => Action::SetValidUntil {
            until: rng.flag().then(|| at(step + rng.next(5) as i64 - 2)),
        },
    };
    Movement {
        card: card(&card_id),
        author: format!("staff{}", rng.next(3)),
        at: at(step),
        action,
        idempotency: None,
        credit: None,
        service: None,
    }
}

/// Changes a card's settings the same way in both ledgers.
async fn edit(db: &TestDb, memory: &MemoryLedger, rng: &mut Lcg, step: i64) {
    let card_id = CARDS[rng.next(CARDS.len() as u64) as usize];
    // A replaced card is retired for good (the schema keeps it so).
    match memory.card(&card(card_id)).await.unwrap() {
        Some(c) if c.replaced_by.is_none() => {}
        _ => return,
    }
    let (status, sql_status) = match rng.next(6) {
        0 => (CardStatus::Blocked, "blocked"),
        1 => (CardStatus::Lost, "lost"),
        _ => (CardStatus::Active, "active"),
    };
    let max = (rng.next(3) == 0).then(|| rng.next(5000) as i64);
    let until = (rng.next(4) == 0).then(|| at(step + rng.next(5) as i64 - 2));
    memory
        .edit_card(&card(card_id), |c| {
            c.status = status;
            c.max_balance = max.map(cents);
            c.valid_until = until;
        })
        .unwrap();
    let sql = |v: Option<i64>| v.map_or("NULL".to_owned(), |v| v.to_string());
    db.exec(&format!(
        "UPDATE cards SET status = '{sql_status}', max_balance_cents = {}, valid_until = {} \
         WHERE id = '{card_id}'",
        sql(max),
        sql(until.map(|t| t.timestamp_millis()))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_answers_like_the_reference_ledger() {
    for backend in backends() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in [1_u64, 2, 3] {
            let db = TestDb::new(backend);
            let memory = MemoryLedger::new();
            let mut rng = Lcg(seed);
            let mut transactions = Vec::new();
            let mut refusals = 0;
            for step in 0..250 {
                if rng.next(12) == 0 {
                    edit(&db, &memory, &mut rng, step).await;
                    continue;
                }
                let m = random_movement(&mut rng, step, &transactions);
                let expected = memory.apply(m.clone()).await;
                let got = db.store.apply(m.clone()).await;
                assert_eq!(got, expected, "{backend:?} seed {seed} step {step}: {m:?}");
                refusals += usize::from(expected.is_err());
                if let Err(e) = &expected {
                    seen.insert(e.code());
                }
                transactions = memory.transactions(None, None).await.unwrap();
            }
            assert!(
                refusals > 20 && refusals < 200,
                "a useful mix: {refusals} refusals"
            );
            assert_eq!(
                db.store.cards().await.unwrap(),
                memory.cards().await.unwrap()
            );
            assert_eq!(
                db.store.transactions(None, None).await.unwrap(),
                memory.transactions(None, None).await.unwrap()
            );
            assert_eq!(
                db.store.totals().await.unwrap(),
                memory.totals().await.unwrap()
            );
            assert_eq!(
                db.count("transaction_changes"),
                memory.changes().unwrap().len() as i64
            );
            db.assert_invariants();
        }
        // Every refusal a movement can meet was met.
        let expected = [
            "BALANCE_CEILING_ERROR",
            "CARD_EXISTS_ERROR",
            "CARD_NOT_FOUND_ERROR",
            "CARD_NOT_USABLE_ERROR",
            "CARD_REPLACED_ERROR",
            "INSUFFICIENT_FUNDS_ERROR",
            "NON_POSITIVE_BALANCE_ERROR",
            "TRANSACTION_ALREADY_ACTIVE_ERROR",
            "TRANSACTION_ALREADY_CANCELLED_ERROR",
            "TRANSACTION_NOT_FOUND_ERROR",
        ];
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
    }
}
