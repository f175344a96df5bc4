//! Moving a bar from another system: the rules every importer follows, whatever it reads.
//!
//! An importer parses the old system's rows with the domain's parsers (card ids, logins,
//! money, rights, product names) and hands them to [`ImportPlan::new`], which checks that they
//! make one consistent ledger and reconciles each card: the old system's stored balance is
//! kept (what the members see on their cards) and, where it differs from the sum of the card's
//! valid history, the difference is recorded as one [`TransactionKind::ImportAdjustment`], so
//! that invariant 1 (a balance is the sum of its valid transactions) holds from the first day.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::card::{Card, CardStatus};
use crate::ids::{CardId, Login, TransactionId};
use crate::money::Money;
use crate::ports::StaffUser;
use crate::product::Product;
use crate::transaction::{Transaction, TransactionKind};

/// A card as the old system stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCard {
    pub id: CardId,
    /// The balance the old system shows for the card.
    pub balance: Money,
    pub overdraft_limit: Money,
}

/// What an importer read, already parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportInput {
    pub cards: Vec<ImportedCard>,
    pub products: Vec<Product>,
    /// The history, in any order: the plan sorts it by id.
    pub transactions: Vec<Transaction>,
    pub users: Vec<StaffUser>,
}

/// A card whose stored balance is not the sum of its valid history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub card: CardId,
    /// The balance the old system stored (kept).
    pub stored: Money,
    /// The sum of the card's valid imported transactions.
    pub history: Money,
    /// `stored - history`: what the old system created (positive) or lost (negative).
    pub difference: Money,
    /// The adjustment transaction that records it.
    pub transaction: TransactionId,
}

/// A checked, reconciled import, ready to be written in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    /// By id; each card is dated by its first transaction (or the import time without one).
    pub cards: Vec<Card>,
    pub products: Vec<Product>,
    /// By id: the imported history, then one adjustment per disagreeing card.
    pub transactions: Vec<Transaction>,
    pub users: Vec<StaffUser>,
    /// By card id.
    pub adjustments: Vec<Adjustment>,
    /// What an operator should know but that does not stop the import (a card below its
    /// floor, a disabled user...), in a stable order.
    pub warnings: Vec<String>,
}

impl ImportPlan {
    /// Checks `input` and reconciles every card. The adjustments are dated `at`, made by
    /// `author`, and numbered after the last imported transaction. Every problem found is
    /// returned at once (not only the first): duplicated card ids, logins or transaction ids,
    /// a transaction of an unknown card, a staff card held by two active users, a product
    /// the catalogue would refuse, sums past the range of money.
    pub fn new(
        input: ImportInput,
        at: DateTime<Utc>,
        author: &Login,
    ) -> Result<ImportPlan, Vec<String>> {
        let ImportInput {
            cards,
            products,
            mut transactions,
            users,
        } = input;
        let mut problems = Vec::new();
        let mut warnings = Vec::new();

        let mut by_id: BTreeMap<CardId, ImportedCard> = BTreeMap::new();
        for card in cards {
            if let Some(first) = by_id.get(&card.id) {
                problems.push(format!(
                    "card {} appears twice (balances {} and {}; ids differing only in case are \
                     one NFC card)",
                    card.id, first.balance, card.balance
                ));
            } else {
                by_id.insert(card.id.clone(), card);
            }
        }

        let mut names = BTreeSet::new();
        for product in &products {
            if let Err(e) = product.check() {
                problems.push(format!("product `{}`: {e}", product.name));
            }
            if !names.insert(product.name.clone()) {
                problems.push(format!("product `{}` appears twice", product.name));
            }
        }

        transactions.sort_by_key(|t| t.id);
        let mut history: HashMap<CardId, Money> = HashMap::new();
        let mut first_use: HashMap<CardId, DateTime<Utc>> = HashMap::new();
        let mut previous: Option<TransactionId> = None;
        for t in &transactions {
            if t.id.0 <= 0 {
                problems.push(format!("transaction {}: ids start at 1", t.id));
            }
            if previous == Some(t.id) {
                problems.push(format!("transaction {} appears twice", t.id));
            }
            previous = Some(t.id);
            if !by_id.contains_key(&t.card) {
                problems.push(format!("transaction {}: unknown card {}", t.id, t.card));
                continue;
            }
            let first = first_use.entry(t.card.clone()).or_insert(t.created_at);
            *first = (*first).min(t.created_at);
            if t.valid {
                let sum = history.entry(t.card.clone()).or_insert(Money::ZERO);
                match sum.checked_add(t.signed_amount()) {
                    Some(s) => *sum = s,
                    None => problems.push(format!(
                        "card {}: the sum of its transactions is too large",
                        t.card
                    )),
                }
            }
        }

        let mut logins = BTreeSet::new();
        let mut staff_cards: BTreeMap<CardId, Login> = BTreeMap::new();
        for user in &users {
            if !logins.insert(user.login.clone()) {
                problems.push(format!("user {} appears twice", user.login));
            }
            if let (true, Some(card)) = (user.active, &user.card) {
                if let Some(other) = staff_cards.insert(card.clone(), user.login.clone()) {
                    problems.push(format!(
                        "staff card {card} is held by two users, {other} and {}",
                        user.login
                    ));
                }
            }
        }

        let mut next_id = transactions.last().map_or(1, |t| t.id.0.saturating_add(1));
        let mut adjustments = Vec::new();
        let mut out_cards = Vec::with_capacity(by_id.len());
        for (id, card) in by_id {
            let sum = history.get(&id).copied().unwrap_or(Money::ZERO);
            if card.balance < card.overdraft_limit.negated() {
                warnings.push(format!(
                    "card {id}: balance {} is below its floor {} (kept as the old system held it)",
                    card.balance,
                    card.overdraft_limit.negated()
                ));
            }
            match card.balance.checked_sub(sum) {
                Some(difference) if difference != Money::ZERO => {
                    let transaction = TransactionId(next_id);
                    next_id = next_id.saturating_add(1);
                    transactions.push(Transaction {
                        id: transaction,
                        kind: TransactionKind::ImportAdjustment,
                        card: id.clone(),
                        amount: difference,
                        quantity: 0,
                        product: None,
                        valid: true,
                        author: author.to_string(),
                        created_at: at,
                    });
                    adjustments.push(Adjustment {
                        card: id.clone(),
                        stored: card.balance,
                        history: sum,
                        difference,
                        transaction,
                    });
                }
                Some(_) => {}
                None => problems.push(format!("card {id}: balance and history too far apart")),
            }
            out_cards.push(Card {
                created_at: first_use.get(&id).copied().unwrap_or(at),
                id,
                balance: card.balance,
                overdraft_limit: card.overdraft_limit,
                max_balance: None,
                status: CardStatus::Active,
                valid_until: None,
                member: None,
                replaced_by: None,
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        if !users
            .iter()
            .any(|u| u.active && u.rights == crate::Rights::President)
        {
            warnings.push(
                "no active user with rights 3 is imported: create one (`ardoise user add \
                 --rights 3`) before serving, or nobody can manage staff"
                    .to_owned(),
            );
        }
        for user in users.iter().filter(|u| !u.active) {
            warnings.push(format!(
                "user {} is imported disabled: it cannot log in until enabled",
                user.login
            ));
        }
        Ok(ImportPlan {
            cards: out_cards,
            products,
            transactions,
            users,
            adjustments,
            warnings,
        })
    }

    /// The sum of the adjustments: the money the old system created (positive) or lost
    /// (negative) beyond what its history explains.
    pub fn adjustment_total(&self) -> Money {
        self.adjustments.iter().map(|a| a.difference).sum()
    }

    /// How many transactions came from the old system (the adjustments not counted).
    pub fn imported_transactions(&self) -> usize {
        self.transactions.len() - self.adjustments.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_460_000_000 + s, 0).unwrap()
    }

    fn card(id: &str, cents: i64) -> ImportedCard {
        ImportedCard {
            id: CardId::parse(id).unwrap(),
            balance: Money::from_cents(cents),
            overdraft_limit: Money::ZERO,
        }
    }

    fn tx(id: i64, kind: TransactionKind, card: &str, cents: i64, valid: bool) -> Transaction {
        Transaction {
            id: TransactionId(id),
            kind,
            card: CardId::parse(card).unwrap(),
            amount: Money::from_cents(cents),
            quantity: 0,
            product: None,
            valid,
            author: "barman".into(),
            created_at: at(id),
        }
    }

    fn importer() -> Login {
        Login::parse("import").unwrap()
    }

    #[test]
    fn a_card_whose_balance_disagrees_gets_one_adjustment_for_the_difference() {
        use TransactionKind::*;
        let input = ImportInput {
            cards: vec![card("AHS0DIEX", 1580), card("CAFE0001", 1000)],
            transactions: vec![
                tx(7, Payment, "CAFE0001", 500, false),
                tx(5, Creation, "AHS0DIEX", 2000, true),
                tx(6, Payment, "AHS0DIEX", 180, true),
                tx(8, Creation, "CAFE0001", 1000, true),
                tx(9, Payment, "AHS0DIEX", 180, false),
            ],
            ..ImportInput::default()
        };
        let plan = ImportPlan::new(input, at(100), &importer()).unwrap();
        let ids: Vec<i64> = plan.transactions.iter().map(|t| t.id.0).collect();
        assert_eq!(
            ids,
            [5, 6, 7, 8, 9, 10],
            "by id, the adjustment after the last"
        );
        assert_eq!(plan.adjustments.len(), 1);
        let a = &plan.adjustments[0];
        assert_eq!(a.card.as_str(), "AHS0DIEX");
        assert_eq!(
            (a.stored, a.history, a.difference),
            (
                Money::from_cents(1580),
                Money::from_cents(1820),
                Money::from_cents(-240)
            )
        );
        assert_eq!(plan.adjustment_total(), Money::from_cents(-240));
        assert_eq!(plan.imported_transactions(), 5);
        let adj = plan.transactions.last().unwrap();
        assert_eq!(adj.kind, ImportAdjustment);
        assert_eq!(
            (adj.id, adj.amount),
            (TransactionId(10), Money::from_cents(-240))
        );
        // Invariant 1 holds on every card.
        for c in &plan.cards {
            let sum: Money = plan
                .transactions
                .iter()
                .filter(|t| t.valid && t.card == c.id)
                .map(Transaction::signed_amount)
                .sum();
            assert_eq!(sum, c.balance, "card {}", c.id);
        }
        assert_eq!(
            plan.cards[0].created_at,
            at(5),
            "dated by its first transaction"
        );
    }

    #[test]
    fn every_problem_is_listed() {
        use TransactionKind::*;
        let mut twice = StaffUser {
            login: Login::parse("bob").unwrap(),
            rights: crate::Rights::BarMember,
            card: Some(CardId::parse("STAFF001").unwrap()),
            password_hash: "x".into(),
            active: true,
        };
        let input = ImportInput {
            cards: vec![card("deadbeef", 100), card("DEADBEEF", 200)],
            transactions: vec![
                tx(3, TopUp, "DEADBEEF", 100, true),
                tx(3, TopUp, "DEADBEEF", 100, true),
                tx(4, TopUp, "UNKNOWN1", 100, true),
            ],
            products: vec![Product {
                name: " biere".into(),
                unit_price: Money::from_cents(180),
                bundles: BTreeMap::new(),
                category: None,
            }],
            users: vec![twice.clone(), {
                twice.login = Login::parse("alice").unwrap();
                twice
            }],
        };
        let problems = ImportPlan::new(input, at(0), &importer()).unwrap_err();
        let all = problems.join("\n");
        assert!(all.contains("card DEADBEEF appears twice"), "{all}");
        assert!(all.contains("transaction 3 appears twice"), "{all}");
        assert!(
            all.contains("transaction 4: unknown card UNKNOWN1"),
            "{all}"
        );
        assert!(all.contains("product ` biere`"), "{all}");
        assert!(
            all.contains("staff card STAFF001 is held by two users"),
            "{all}"
        );
        assert_eq!(problems.len(), 5, "{all}");
    }

    #[test]
    fn a_card_below_its_floor_is_kept_with_a_warning() {
        let input = ImportInput {
            cards: vec![card("CAFE0002", -50)],
            ..ImportInput::default()
        };
        let plan = ImportPlan::new(input, at(0), &importer()).unwrap();
        assert_eq!(plan.cards[0].balance, Money::from_cents(-50));
        assert_eq!(plan.adjustments[0].difference, Money::from_cents(-50));
        assert_eq!(plan.adjustments[0].transaction, TransactionId(1));
        assert!(
            plan.warnings[0].contains("below its floor"),
            "{:?}",
            plan.warnings
        );
    }
}
