//! Every rule of the bar and every error it can answer, over the in-memory ledger.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ardoise_domain::card::CardState;
use ardoise_domain::ports::{Clock, Ledger};
use ardoise_domain::{CardStatus, DomainError, Money, PayBy, TransactionId, TransactionKind};
use chrono::Duration;
use common::*;
use futures::executor::block_on;

const PREZ: (&str, i64) = ("prez", 3);

fn prez() -> ardoise_domain::Actor {
    actor(PREZ.0, PREZ.1)
}

fn barman() -> ardoise_domain::Actor {
    actor("barman", 2)
}

/// A bar with card `AHS0DIEX` opened at 10.00 by the president.
fn with_card() -> Fixture {
    let f = fixture();
    block_on(
        f.bar
            .open_card(&prez(), &card("AHS0DIEX"), money("10"), false),
    )
    .unwrap();
    f
}

fn balance(f: &Fixture, id: &str) -> Money {
    block_on(f.ledger.card(&card(id))).unwrap().unwrap().balance
}

#[test]
fn open_card_records_the_opening_balance() {
    let f = fixture();
    let r = block_on(
        f.bar
            .open_card(&actor("bde", 1), &card("04a1b2c3"), money("15.60"), false),
    )
    .unwrap();
    assert_eq!(r.balance_after, money("15.60"));
    assert_eq!(r.card.as_str(), "04A1B2C3");
    let t = block_on(f.ledger.transaction(r.transaction))
        .unwrap()
        .unwrap();
    assert_eq!(t.kind, TransactionKind::Creation);
    assert_eq!(t.author, "bde");
    assert_invariant(&f.ledger);
}

#[test]
fn open_card_refusals() {
    let f = with_card();
    let id = card("NEWCARD1");
    let cases = [
        (
            actor("honeypot", 0),
            money("5"),
            false,
            DomainError::InsufficientRights,
        ),
        (
            actor("bde", 1),
            money("5"),
            true,
            DomainError::InsufficientRights,
        ),
        (prez(), money("0"), false, DomainError::NegativeBalance),
        (prez(), money("-5"), false, DomainError::NegativeBalance),
    ];
    for (who, opening, overdraft, expected) in cases {
        assert_eq!(
            block_on(f.bar.open_card(&who, &id, opening, overdraft)),
            Err(expected)
        );
    }
    assert!(matches!(
        block_on(f.bar.open_card(&prez(), &id, money("1000.01"), false)),
        Err(DomainError::Malformed(_))
    ));
    assert_eq!(
        block_on(
            f.bar
                .open_card(&prez(), &card("AHS0DIEX"), money("5"), false)
        ),
        Err(DomainError::CardExists)
    );
    // Below the floor even with the default overdraft of 50.
    assert_eq!(
        block_on(f.bar.open_card(&prez(), &id, money("-60"), true)),
        Err(DomainError::InsufficientFunds {
            balance: Money::ZERO,
            missing: money("10")
        })
    );
    assert_eq!(block_on(f.ledger.card(&id)).unwrap(), None);
}

#[test]
fn open_card_with_overdraft_may_start_at_zero_or_below() {
    let f = fixture();
    let r = block_on(
        f.bar
            .open_card(&prez(), &card("DETTE001"), money("-20"), true),
    )
    .unwrap();
    assert_eq!(r.balance_after, money("-20"));
    let c = block_on(f.ledger.card(&card("DETTE001"))).unwrap().unwrap();
    assert_eq!(c.overdraft_limit, money("50"));
    block_on(
        f.bar
            .open_card(&prez(), &card("ZERO0001"), Money::ZERO, true),
    )
    .unwrap();
    assert_invariant(&f.ledger);
}

#[test]
fn max_operation_is_inclusive() {
    let f = fixture();
    block_on(
        f.bar
            .open_card(&prez(), &card("MAXI0001"), money("1000.00"), false),
    )
    .unwrap();
    let r = block_on(
        f.bar
            .pay(&barman(), &card("MAXI0001"), PayBy::Amount(money("1000"))),
    );
    assert_eq!(r.unwrap().balance_after, Money::ZERO);
    assert!(matches!(
        block_on(f.bar.top_up(&barman(), &card("MAXI0001"), money("1000.01"))),
        Err(DomainError::Malformed(_))
    ));
}

#[test]
fn top_up_is_exact() {
    let f = fixture();
    block_on(
        f.bar
            .open_card(&prez(), &card("AHS0DIEX"), money("15.60"), false),
    )
    .unwrap();
    let r = block_on(f.bar.top_up(&barman(), &card("AHS0DIEX"), money("0.20"))).unwrap();
    assert_eq!(r.balance_before, money("15.60"));
    assert_eq!(r.balance_after.to_string(), "15.8");
    assert_invariant(&f.ledger);
}

#[test]
fn top_up_refusals() {
    let f = with_card();
    let id = card("AHS0DIEX");
    assert_eq!(
        block_on(f.bar.top_up(&actor("bde", 1), &id, money("5"))),
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(
        block_on(f.bar.top_up(&barman(), &id, Money::ZERO)),
        Err(DomainError::NegativeTopUp)
    );
    assert_eq!(
        block_on(f.bar.top_up(&barman(), &id, money("-3"))),
        Err(DomainError::NegativeTopUp)
    );
    assert_eq!(
        block_on(f.bar.top_up(&barman(), &card("UNKNOWN1"), money("3"))),
        Err(DomainError::UnknownCard)
    );
    f.ledger
        .edit_card(&id, |c| c.max_balance = Some(money("20")))
        .unwrap();
    assert_eq!(
        block_on(f.bar.top_up(&barman(), &id, money("10.01"))),
        Err(DomainError::BalanceCeiling {
            balance: money("10"),
            max: money("20")
        })
    );
    block_on(f.bar.top_up(&barman(), &id, money("10"))).unwrap();
    f.ledger
        .edit_card(&id, |c| c.status = ardoise_domain::CardStatus::Blocked)
        .unwrap();
    assert_eq!(
        block_on(f.bar.top_up(&barman(), &id, money("1"))),
        Err(DomainError::CardNotUsable(CardState::Blocked))
    );
    assert_eq!(balance(&f, "AHS0DIEX"), money("20"));
    assert_invariant(&f.ledger);
}

#[test]
fn pay_by_amount_and_by_quantity() {
    let f = with_card();
    let id = card("AHS0DIEX");
    let r = block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("1.70")))).unwrap();
    assert_eq!((r.amount, r.balance_after), (money("1.70"), money("8.30")));
    let beer = |quantity| PayBy::Quantity {
        quantity,
        product: None,
    };
    let r = block_on(f.bar.pay(&barman(), &id, beer(2))).unwrap();
    assert_eq!(r.amount, money("3.60"));
    let t = block_on(f.ledger.transaction(r.transaction))
        .unwrap()
        .unwrap();
    assert_eq!((t.quantity, t.product.as_deref()), (2, Some("biere")));
    block_on(f.bar.top_up(&barman(), &id, money("10"))).unwrap();
    // The bundle price of 6 wins over 6 × 1.80.
    let r = block_on(f.bar.pay(&barman(), &id, beer(6))).unwrap();
    assert_eq!(r.amount, money("10"));
    assert_invariant(&f.ledger);
}

#[test]
fn pay_refusals() {
    let f = with_card();
    let id = card("AHS0DIEX");
    let by = |m: &str| PayBy::Amount(money(m));
    assert_eq!(
        block_on(f.bar.pay(&actor("bde", 1), &id, by("1"))),
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(
        block_on(f.bar.pay(&barman(), &id, by("0"))),
        Err(DomainError::NegativePayment)
    );
    assert_eq!(
        block_on(f.bar.pay(&barman(), &id, by("-1"))),
        Err(DomainError::NegativePayment)
    );
    for quantity in [0, -2] {
        assert_eq!(
            block_on(f.bar.pay(
                &barman(),
                &id,
                PayBy::Quantity {
                    quantity,
                    product: None
                }
            )),
            Err(DomainError::NegativePayment)
        );
    }
    assert_eq!(
        block_on(f.bar.pay(
            &barman(),
            &id,
            PayBy::Quantity {
                quantity: 1,
                product: Some("whisky".into())
            }
        )),
        Err(DomainError::UnknownProduct)
    );
    assert!(matches!(
        block_on(f.bar.pay(
            &barman(),
            &id,
            PayBy::Quantity {
                quantity: 1000,
                product: None
            }
        )),
        Err(DomainError::Malformed(_))
    ));
    assert_eq!(
        block_on(f.bar.pay(&barman(), &id, by("10.50"))),
        Err(DomainError::InsufficientFunds {
            balance: money("10"),
            missing: money("0.50")
        })
    );
    assert_eq!(
        block_on(f.bar.pay(&barman(), &card("UNKNOWN1"), by("1"))),
        Err(DomainError::UnknownCard)
    );
    f.ledger
        .edit_card(&id, |c| c.valid_until = Some(c.created_at))
        .unwrap();
    assert_eq!(
        block_on(f.bar.pay(&barman(), &id, by("1"))),
        Err(DomainError::CardNotUsable(CardState::Expired))
    );
    f.ledger
        .edit_card(&id, |c| {
            c.valid_until = None;
            c.status = ardoise_domain::CardStatus::Lost
        })
        .unwrap();
    assert_eq!(
        block_on(f.bar.pay(&barman(), &id, by("1"))),
        Err(DomainError::CardNotUsable(CardState::Lost))
    );
    assert_eq!(balance(&f, "AHS0DIEX"), money("10"));
    assert_eq!(block_on(f.ledger.card_transactions(&id)).unwrap().len(), 1);
}

#[test]
fn overdraft_lets_a_card_go_down_to_its_floor() {
    let f = with_card();
    let id = card("AHS0DIEX");
    assert_eq!(
        block_on(f.bar.set_overdraft(&barman(), &id, None)),
        Err(DomainError::InsufficientRights)
    );
    block_on(f.bar.set_overdraft(&prez(), &id, None)).unwrap();
    let r = block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("60")))).unwrap();
    assert_eq!(r.balance_after, money("-50"));
    assert_eq!(
        block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("0.01")))),
        Err(DomainError::InsufficientFunds {
            balance: money("-50"),
            missing: money("0.01")
        })
    );
    assert!(matches!(
        block_on(f.bar.set_overdraft(&prez(), &id, Some(money("-1")))),
        Err(DomainError::Malformed(_))
    ));
    // Removing the overdraft keeps the debt but refuses further payments.
    block_on(f.bar.set_overdraft(&prez(), &id, Some(Money::ZERO))).unwrap();
    assert!(block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("1")))).is_err());
    assert_eq!(
        block_on(f.bar.set_overdraft(&prez(), &card("UNKNOWN1"), None)),
        Err(DomainError::UnknownCard)
    );
    assert_invariant(&f.ledger);
}

/// Issue 14, defect 4: an overdraft limit is bounded by `max_overdraft` (default 500.00).
#[test]
fn overdraft_limits_are_bounded_by_max_overdraft() {
    let f = with_card();
    let id = card("AHS0DIEX");
    for too_much in ["500.01", "1000000000000"] {
        let refused = block_on(f.bar.set_overdraft(&prez(), &id, Some(money(too_much))));
        assert!(
            matches!(&refused, Err(DomainError::Malformed(m)) if m.contains("500.00")),
            "{too_much}: {refused:?}"
        );
    }
    assert_eq!(
        block_on(f.ledger.card(&id))
            .unwrap()
            .unwrap()
            .overdraft_limit,
        Money::ZERO
    );
    block_on(f.bar.set_overdraft(&prez(), &id, Some(money("500.00")))).unwrap();
    let r = block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("510")))).unwrap();
    assert_eq!(r.balance_after, money("-500"));
    assert_invariant(&f.ledger);
}

#[test]
fn drain_hands_back_the_balance() {
    let f = with_card();
    let id = card("AHS0DIEX");
    assert_eq!(
        block_on(f.bar.drain(&actor("bde", 1), &id)),
        Err(DomainError::InsufficientRights)
    );
    let r = block_on(f.bar.drain(&barman(), &id)).unwrap();
    assert_eq!(
        (r.balance_before, r.balance_after, r.amount),
        (money("10"), Money::ZERO, money("10"))
    );
    let t = block_on(f.ledger.transaction(r.transaction))
        .unwrap()
        .unwrap();
    assert_eq!(t.kind, TransactionKind::Drain);
    assert_eq!(
        block_on(f.bar.drain(&barman(), &id)),
        Err(DomainError::NegativeBalance)
    );
    assert_eq!(
        block_on(f.bar.drain(&barman(), &card("UNKNOWN1"))),
        Err(DomainError::UnknownCard)
    );
    assert_invariant(&f.ledger);
}

#[test]
fn drain_refuses_a_card_in_debt() {
    let f = fixture();
    block_on(
        f.bar
            .open_card(&prez(), &card("DETTE001"), money("-5"), true),
    )
    .unwrap();
    assert_eq!(
        block_on(f.bar.drain(&barman(), &card("DETTE001"))),
        Err(DomainError::NegativeBalance)
    );
}

#[test]
fn cancel_and_redo_a_payment() {
    let f = with_card();
    let id = card("AHS0DIEX");
    let paid = block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("2.50")))).unwrap();
    let r = block_on(f.bar.cancel(&barman(), paid.transaction)).unwrap();
    assert_eq!(
        (r.balance_before, r.balance_after),
        (money("7.50"), money("10"))
    );
    assert_eq!(r.transaction, paid.transaction);
    assert_eq!(
        block_on(f.bar.cancel(&barman(), paid.transaction)),
        Err(DomainError::AlreadyCancelled)
    );
    let r = block_on(f.bar.redo(&barman(), paid.transaction)).unwrap();
    assert_eq!(r.balance_after, money("7.50"));
    assert_eq!(
        block_on(f.bar.redo(&barman(), paid.transaction)),
        Err(DomainError::AlreadyActive)
    );
    let changes = f.ledger.changes().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (changes[0].valid_after, changes[1].valid_after),
        (false, true)
    );
    assert_eq!(changes[0].by, "barman");
    assert_invariant(&f.ledger);
}

#[test]
fn correction_rules_below_rights_three() {
    let f = with_card();
    let id = card("AHS0DIEX");
    let paid = block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("1")))).unwrap();
    assert_eq!(
        block_on(f.bar.cancel(&actor("other", 2), paid.transaction)),
        Err(DomainError::NotOwnTransaction)
    );
    assert_eq!(
        block_on(f.bar.cancel(&actor("bde", 1), paid.transaction)),
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(
        block_on(f.bar.redo(&actor("bde", 1), paid.transaction)),
        Err(DomainError::InsufficientRights)
    );
    f.clock.advance(Duration::seconds(121));
    assert_eq!(
        block_on(f.bar.cancel(&barman(), paid.transaction)),
        Err(DomainError::CorrectionWindowClosed)
    );
    // The president may correct anyone's, at any time; the redo window is closed for staff too.
    block_on(f.bar.cancel(&prez(), paid.transaction)).unwrap();
    assert_eq!(
        block_on(f.bar.redo(&barman(), paid.transaction)),
        Err(DomainError::CorrectionWindowClosed)
    );
    f.clock.advance(Duration::days(400));
    block_on(f.bar.redo(&prez(), paid.transaction)).unwrap();
    assert_eq!(
        block_on(f.bar.cancel(&prez(), TransactionId(999))),
        Err(DomainError::UnknownTransaction)
    );
    assert_invariant(&f.ledger);
}

#[test]
fn within_the_window_staff_correct_their_own() {
    let f = with_card();
    let paid = block_on(
        f.bar
            .pay(&barman(), &card("AHS0DIEX"), PayBy::Amount(money("1"))),
    )
    .unwrap();
    f.clock.advance(Duration::seconds(120));
    block_on(f.bar.cancel(&barman(), paid.transaction)).unwrap();
}

#[test]
fn corrections_respect_the_floor() {
    let f = with_card();
    let id = card("AHS0DIEX");
    let topped = block_on(f.bar.top_up(&barman(), &id, money("5"))).unwrap();
    block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("12")))).unwrap();
    // The top-up was spent: cancelling it would leave -2.
    assert_eq!(
        block_on(f.bar.cancel(&barman(), topped.transaction)),
        Err(DomainError::InsufficientFunds {
            balance: money("3"),
            missing: money("2")
        })
    );
    let paid = block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("3")))).unwrap();
    block_on(f.bar.cancel(&barman(), paid.transaction)).unwrap();
    block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("1")))).unwrap();
    // Redoing the 3.00 payment would leave -1.
    assert!(matches!(
        block_on(f.bar.redo(&barman(), paid.transaction)),
        Err(DomainError::InsufficientFunds { .. })
    ));
    assert_eq!(balance(&f, "AHS0DIEX"), money("2"));
    assert_invariant(&f.ledger);
}

#[test]
fn cancelling_a_creation_removes_only_the_opening_balance() {
    let f = fixture();
    let id = card("AHS0DIEX");
    let opened = block_on(f.bar.open_card(&prez(), &id, money("10"), false)).unwrap();
    block_on(f.bar.top_up(&barman(), &id, money("5"))).unwrap();
    let r = block_on(f.bar.cancel(&prez(), opened.transaction)).unwrap();
    assert_eq!(r.balance_after, money("5"));
    assert!(block_on(f.ledger.card(&id)).unwrap().is_some());
    assert_invariant(&f.ledger);
}

#[test]
fn cancelling_a_drain_puts_the_money_back() {
    let f = with_card();
    let drained = block_on(f.bar.drain(&barman(), &card("AHS0DIEX"))).unwrap();
    let r = block_on(f.bar.cancel(&barman(), drained.transaction)).unwrap();
    assert_eq!(r.balance_after, money("10"));
    assert_invariant(&f.ledger);
}

#[test]
fn reads_and_their_rights() {
    let f = with_card();
    let id = card("AHS0DIEX");
    let bde = actor("bde", 1);
    assert!(block_on(f.bar.card_exists(&bde, &id)).unwrap());
    assert!(!block_on(f.bar.card_exists(&bde, &card("UNKNOWN1"))).unwrap());
    assert_eq!(
        block_on(f.bar.card_exists(&actor("h", 0), &id)),
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(
        block_on(f.bar.cards(&bde)),
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(block_on(f.bar.cards(&barman())).unwrap().len(), 1);
    assert_eq!(
        block_on(f.bar.card_sheet(&bde, &id)),
        Err(DomainError::InsufficientRights)
    );
    let sheet = block_on(f.bar.card_sheet(&barman(), &id)).unwrap();
    assert!(!sheet.show_overdraft);
    assert_eq!(sheet.transactions.len(), 1);
    assert!(
        block_on(f.bar.card_sheet(&prez(), &id))
            .unwrap()
            .show_overdraft
    );
    assert_eq!(
        block_on(f.bar.card_sheet(&barman(), &card("UNKNOWN1"))),
        Err(DomainError::UnknownCard)
    );
    assert_eq!(
        block_on(f.bar.transactions(&barman(), None, None)),
        Err(DomainError::InsufficientRights)
    );
    for _ in 0..4 {
        block_on(f.bar.pay(&barman(), &id, PayBy::Amount(money("1")))).unwrap();
    }
    let page = block_on(f.bar.transactions(&prez(), Some(TransactionId(2)), Some(2))).unwrap();
    assert_eq!(page.iter().map(|t| t.id.0).collect::<Vec<_>>(), vec![3, 4]);
}

#[test]
fn statistics() {
    let f = with_card();
    block_on(
        f.bar
            .open_card(&prez(), &card("DETTE001"), money("-5"), true),
    )
    .unwrap();
    block_on(
        f.bar
            .open_card(&prez(), &card("CARD0003"), money("3.01"), false),
    )
    .unwrap();
    block_on(f.bar.pay(
        &barman(),
        &card("AHS0DIEX"),
        PayBy::Quantity {
            quantity: 2,
            product: None,
        },
    ))
    .unwrap();
    let cancelled = block_on(f.bar.pay(
        &barman(),
        &card("AHS0DIEX"),
        PayBy::Quantity {
            quantity: 1,
            product: None,
        },
    ))
    .unwrap();
    block_on(f.bar.cancel(&barman(), cancelled.transaction)).unwrap();
    assert_eq!(
        block_on(f.bar.statistics(&actor("bde", 1))),
        Err(DomainError::InsufficientRights)
    );
    let s = block_on(f.bar.statistics(&barman())).unwrap();
    assert_eq!(s.receipts, money("9.41"));
    assert_eq!(s.debts, money("-5"));
    assert_eq!(s.net, money("4.41"));
    assert_eq!(s.cards, 3);
    assert_eq!(s.consumed_quantity, 2);
    assert_eq!(s.average_balance, money("1.47"));
}

#[test]
fn staff_movements_with_a_key_apply_once_per_user() {
    use ardoise_domain::StaffMove;
    let f = with_card();
    let top_up = |amount: &str| StaffMove::TopUp {
        card: card("AHS0DIEX"),
        amount: money(amount),
    };
    let key = |k: &str, m: &StaffMove| Some((k.to_owned(), m.fingerprint()));

    let first = block_on(
        f.bar
            .staff_once(&barman(), top_up("5"), key("k", &top_up("5"))),
    )
    .unwrap();
    assert!(!first.replayed);
    let again = block_on(
        f.bar
            .staff_once(&barman(), top_up("5"), key("k", &top_up("5"))),
    )
    .unwrap();
    assert!(again.replayed);
    assert_eq!(again.receipt, first.receipt);
    assert_eq!(balance(&f, "AHS0DIEX"), money("15"));

    // The key with another request: refused, nothing applied.
    assert_eq!(
        block_on(
            f.bar
                .staff_once(&barman(), top_up("6"), key("k", &top_up("6")))
        ),
        Err(DomainError::IdempotencyKeyReused)
    );
    // Another user's identical key is another key.
    let other = block_on(
        f.bar
            .staff_once(&prez(), top_up("5"), key("k", &top_up("5"))),
    )
    .unwrap();
    assert!(!other.replayed);
    assert_eq!(balance(&f, "AHS0DIEX"), money("20"));

    // A replay answers the first answer even when the movement could no longer be made.
    let cancel = StaffMove::Cancel(first.receipt.transaction);
    let done = block_on(
        f.bar
            .staff_once(&barman(), cancel.clone(), key("c", &cancel)),
    )
    .unwrap();
    assert!(!done.replayed);
    let replay = block_on(
        f.bar
            .staff_once(&barman(), cancel.clone(), key("c", &cancel)),
    )
    .unwrap();
    assert!(replay.replayed);
    assert_eq!(
        block_on(f.bar.staff_once(&barman(), cancel, None)),
        Err(DomainError::AlreadyCancelled)
    );

    // A refusal stores nothing: the key stays free.
    let pay = StaffMove::Pay {
        card: card("AHS0DIEX"),
        by: PayBy::Amount(money("100")),
    };
    assert!(matches!(
        block_on(f.bar.staff_once(&barman(), pay.clone(), key("p", &pay))),
        Err(DomainError::InsufficientFunds { .. })
    ));
    assert!(
        !block_on(
            f.bar
                .staff_once(&barman(), top_up("1"), key("p", &top_up("1")))
        )
        .unwrap()
        .replayed
    );
    // Malformed keys are refused before anything.
    assert!(matches!(
        block_on(
            f.bar
                .staff_once(&barman(), top_up("1"), Some((String::new(), "h".into())))
        ),
        Err(DomainError::Malformed(_))
    ));
    assert_invariant(&f.ledger);
}

#[test]
fn card_life_rights_and_replacement_rules() {
    let f = fixture();
    let prez = actor("prez", 3);
    let barman = actor("barman", 2);
    let bde = actor("bde", 1);
    let honeypot = actor("honey", 0);
    block_on(async {
        f.bar
            .open_card(&prez, &card("CARD0001"), money("10"), false)
            .await
            .unwrap();
        // Blocking and marking lost: rights ≥ 1; unblocking: ≥ 2.
        assert_eq!(
            f.bar
                .set_card_status(&honeypot, &card("CARD0001"), CardStatus::Blocked)
                .await,
            Err(DomainError::InsufficientRights)
        );
        let c = f
            .bar
            .set_card_status(&bde, &card("CARD0001"), CardStatus::Lost)
            .await
            .unwrap();
        assert_eq!(c.status, CardStatus::Lost);
        assert_eq!(
            f.bar
                .set_card_status(&bde, &card("CARD0001"), CardStatus::Active)
                .await,
            Err(DomainError::InsufficientRights)
        );
        assert!(matches!(
            f.bar
                .pay(&barman, &card("CARD0001"), PayBy::Amount(money("1")))
                .await,
            Err(DomainError::CardNotUsable(_))
        ));
        // Replacing: rights ≥ 2, onto a new card only, and once.
        assert_eq!(
            f.bar
                .replace_card(&bde, &card("CARD0001"), &card("CARD0002"))
                .await,
            Err(DomainError::InsufficientRights)
        );
        assert!(matches!(
            f.bar
                .replace_card(&barman, &card("CARD0001"), &card("CARD0001"))
                .await,
            Err(DomainError::Malformed(_))
        ));
        let r = f
            .bar
            .replace_card(&barman, &card("CARD0001"), &card("CARD0002"))
            .await
            .unwrap();
        assert_eq!((r.card.as_str(), r.amount), ("CARD0002", money("10")));
        assert_eq!(
            f.bar
                .replace_card(&barman, &card("CARD0001"), &card("CARD0003"))
                .await,
            Err(DomainError::CardReplaced("CARD0002".into()))
        );
        // Neither half of the transfer can be cancelled, even by the president.
        for t in f.ledger.transactions(None, None).await.unwrap() {
            if t.kind.is_transfer() {
                assert_eq!(
                    f.bar.cancel(&prez, t.id).await,
                    Err(DomainError::NotCorrectable)
                );
            }
        }
        // The end of validity: rights ≥ 2; a past one expires the card.
        let past = f.clock.now() - Duration::seconds(1);
        assert_eq!(
            f.bar
                .set_valid_until(&bde, &card("CARD0002"), Some(past))
                .await,
            Err(DomainError::InsufficientRights)
        );
        f.bar
            .set_valid_until(&barman, &card("CARD0002"), Some(past))
            .await
            .unwrap();
        let v = f.bar.card_validity(None, &card("CARD0002")).await.unwrap();
        assert_eq!(v.state, Some(CardState::Expired));
    });
    assert_invariant(&f.ledger);
}

#[test]
fn a_replacement_with_a_key_applies_once_and_replays_the_new_cards_receipt() {
    use ardoise_domain::StaffMove;
    let f = with_card();
    let replace = |new: &str| StaffMove::Replace {
        card: card("AHS0DIEX"),
        new_card: card(new),
    };
    let key = |k: &str, m: &StaffMove| Some((k.to_owned(), m.fingerprint()));
    let first = block_on(f.bar.staff_once(
        &barman(),
        replace("NEWC0001"),
        key("r", &replace("NEWC0001")),
    ))
    .unwrap();
    assert!(!first.replayed);
    assert_eq!(first.receipt.card, card("NEWC0001"));
    assert_eq!(balance(&f, "NEWC0001"), money("10"));
    assert_eq!(balance(&f, "AHS0DIEX"), Money::ZERO);
    // The retry answers the first receipt although the card is now replaced.
    let again = block_on(f.bar.staff_once(
        &barman(),
        replace("NEWC0001"),
        key("r", &replace("NEWC0001")),
    ))
    .unwrap();
    assert!(again.replayed);
    assert_eq!(again.receipt, first.receipt);
    // The key with another new card: refused, nothing applied.
    assert_eq!(
        block_on(f.bar.staff_once(
            &barman(),
            replace("NEWC0002"),
            key("r", &replace("NEWC0002"))
        )),
        Err(DomainError::IdempotencyKeyReused)
    );
    assert_eq!(
        block_on(f.bar.staff_once(&barman(), replace("NEWC0002"), None)),
        Err(DomainError::CardReplaced("NEWC0001".into()))
    );
    assert_ne!(
        replace("NEWC0001").fingerprint(),
        replace("NEWC0002").fingerprint()
    );
    assert_invariant(&f.ledger);
}
