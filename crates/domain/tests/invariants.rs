//! Property test: random sequences of operations keep invariant 1 of pos-api.md (a card's

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! balance is the sum of its valid transactions) and no accepted debit breaks a floor.

mod common;

use ardoise_domain::ports::Ledger;
use ardoise_domain::{Actor, Card, CardStatus, DomainError, Money, PayBy, TransactionId};
use chrono::Duration;
use common::*;
use futures::executor::block_on;
use proptest::prelude::*;

const CARDS: [&str; 5] = ["CARD0001", "CARD0002", "CARD0003", "CARD0004", "CARD0005"];

#[derive(Debug, Clone)]
enum Op {
    Open {
        card: usize,
        cents: i64,
        overdraft: bool,
    },
    TopUp {
        card: usize,
        cents: i64,
    },
    Pay {
        card: usize,
        cents: i64,
    },
    PayBeers {
        card: usize,
        quantity: i64,
    },
    Drain {
        card: usize,
    },
    Overdraft {
        card: usize,
        cents: Option<i64>,
    },
    Cancel {
        tx: i64,
        as_president: bool,
    },
    Redo {
        tx: i64,
        as_president: bool,
    },
    Wait {
        seconds: i64,
    },
    Status {
        card: usize,
        status: usize,
    },
    Replace {
        card: usize,
        new: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let card = 0..CARDS.len();
    prop_oneof![
        (card.clone(), -6_000i64..20_000, any::<bool>()).prop_map(|(card, cents, overdraft)| {
            Op::Open {
                card,
                cents,
                overdraft,
            }
        }),
        (card.clone(), -500i64..120_000).prop_map(|(card, cents)| Op::TopUp { card, cents }),
        (card.clone(), -500i64..8_000).prop_map(|(card, cents)| Op::Pay { card, cents }),
        (card.clone(), -1i64..8).prop_map(|(card, quantity)| Op::PayBeers { card, quantity }),
        card.clone().prop_map(|card| Op::Drain { card }),
        (card.clone(), proptest::option::of(0i64..10_000))
            .prop_map(|(card, cents)| Op::Overdraft { card, cents }),
        (1i64..40, any::<bool>()).prop_map(|(tx, as_president)| Op::Cancel { tx, as_president }),
        (1i64..40, any::<bool>()).prop_map(|(tx, as_president)| Op::Redo { tx, as_president }),
        (0i64..200).prop_map(|seconds| Op::Wait { seconds }),
        (card.clone(), 0usize..3).prop_map(|(card, status)| Op::Status { card, status }),
        (card.clone(), card.clone()).prop_map(|(card, new)| Op::Replace { card, new }),
    ]
}

fn run(f: &Fixture, op: &Op, prez: &Actor, staff: &Actor) -> Result<(), DomainError> {
    let c = |i: &usize| card(CARDS[*i]);
    let m = Money::from_cents;
    let who = |p: &bool| if *p { prez } else { staff };
    let receipt = match op {
        Op::Open {
            card,
            cents,
            overdraft,
        } => block_on(f.bar.open_card(prez, &c(card), m(*cents), *overdraft))?,
        Op::TopUp { card, cents } => block_on(f.bar.top_up(staff, &c(card), m(*cents)))?,
        Op::Pay { card, cents } => block_on(f.bar.pay(staff, &c(card), PayBy::Amount(m(*cents))))?,
        Op::PayBeers { card, quantity } => block_on(f.bar.pay(
            staff,
            &c(card),
            PayBy::Quantity {
                quantity: *quantity,
                product: None,
            },
        ))?,
        Op::Drain { card } => block_on(f.bar.drain(staff, &c(card)))?,
        Op::Overdraft { card, cents } => {
            block_on(f.bar.set_overdraft(prez, &c(card), cents.map(m)))?
        }
        Op::Cancel { tx, as_president } => {
            block_on(f.bar.cancel(who(as_president), TransactionId(*tx)))?
        }
        Op::Redo { tx, as_president } => {
            block_on(f.bar.redo(who(as_president), TransactionId(*tx)))?
        }
        Op::Wait { seconds } => {
            f.clock.advance(Duration::seconds(*seconds));
            return Ok(());
        }
        Op::Status { card, status } => {
            let status = [CardStatus::Active, CardStatus::Blocked, CardStatus::Lost][*status];
            block_on(f.bar.set_card_status(staff, &c(card), status))?;
            return Ok(());
        }
        Op::Replace { card, new } => {
            let total = |cards: Vec<Card>| cards.iter().map(|c| c.balance.cents()).sum::<i64>();
            let before = total(block_on(f.ledger.cards()).unwrap());
            let r = block_on(f.bar.replace_card(staff, &c(card), &c(new)))?;
            // Money moves, none appears or disappears.
            assert_eq!(total(block_on(f.ledger.cards()).unwrap()), before);
            let old = block_on(f.ledger.card(&c(card))).unwrap().unwrap();
            assert_eq!(old.balance, Money::ZERO);
            assert_eq!(old.replaced_by, Some(c(new)));
            assert_eq!(r.balance_after, r.amount);
            return Ok(());
        }
    };
    // An accepted movement that lowered the balance never leaves it below the floor.
    if receipt.balance_after < receipt.balance_before {
        let card = block_on(f.ledger.card(&receipt.card)).unwrap().unwrap();
        assert!(
            receipt.balance_after >= card.floor() || receipt.balance_after == Money::ZERO,
            "{op:?} broke the floor: {receipt:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn balances_are_the_sum_of_valid_transactions(ops in proptest::collection::vec(op(), 1..60)) {
        let f = fixture();
        let prez = actor("prez", 3);
        let staff = actor("barman", 2);
        for op in &ops {
            let before = block_on(f.ledger.cards()).unwrap();
            let count = block_on(f.ledger.transactions(None, None)).unwrap().len();
            if run(&f, op, &prez, &staff).is_err() {
                // A refused operation changes nothing.
                prop_assert_eq!(block_on(f.ledger.cards()).unwrap(), before);
                prop_assert_eq!(block_on(f.ledger.transactions(None, None)).unwrap().len(), count);
            }
            assert_invariant(&f.ledger);
        }
    }
}
