//! An in-memory ledger and catalog: the reference semantics of the ports, used by the domain's
//! tests and property tests. Not for production (nothing is durable).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{email_key, MemberAccount, MemberLink, Preferences};
use crate::bar::{explain_refusal, guard_allows};
use crate::card::{Card, CardStatus};
use crate::error::CapPeriod;
use crate::error::DomainError;
use crate::ids::{CardId, MemberId, TransactionId};
use crate::member::{Member, Profile};
use crate::money::Money;
use crate::paging::{Page, Paged};
use crate::ports::MemberAccounts;
use crate::ports::{
    Action, Catalog, Ledger, MemberDirectory, Movement, Receipt, StoredAnswer, StoredCredit, Totals,
};
use crate::product::{Category, Product};
use crate::transaction::{StateChange, Transaction, TransactionKind};

#[derive(Default)]
struct State {
    cards: BTreeMap<CardId, Card>,
    transactions: Vec<Transaction>,
    changes: Vec<StateChange>,
    products: BTreeMap<String, Product>,
    categories: BTreeMap<i64, Category>,
    answers: BTreeMap<(String, String), StoredAnswer>,
    /// (partner, when, credit).
    credits: Vec<(String, DateTime<Utc>, StoredCredit)>,
    members: BTreeMap<MemberId, Member>,
    /// Members' password hashes.
    accounts: BTreeMap<MemberId, String>,
    /// Links by token hash, with when they were used.
    links: BTreeMap<String, (MemberLink, Option<DateTime<Utc>>)>,
    preferences: BTreeMap<MemberId, Preferences>,
}

/// A ledger and catalog held in memory behind one lock.
#[derive(Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, DomainError> {
        self.state
            .lock()
            .map_err(|_| DomainError::Internal("memory ledger lock poisoned".into()))
    }

    /// Changes a card's settings directly (status, limits, validity), as an admin tool would.
    pub fn edit_card(&self, id: &CardId, edit: impl FnOnce(&mut Card)) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        let card = state.cards.get_mut(id).ok_or(DomainError::UnknownCard)?;
        edit(card);
        Ok(())
    }

    /// Every cancel and redo recorded so far.
    pub fn changes(&self) -> Result<Vec<StateChange>, DomainError> {
        Ok(self.lock()?.changes.clone())
    }
}

fn add(balance: Money, delta: Money) -> Result<Money, DomainError> {
    balance
        .checked_add(delta)
        .ok_or_else(|| DomainError::malformed("the balance would overflow"))
}

impl State {
    /// A card that may still change: `UnknownCard`, or `CardReplaced` once replaced.
    fn unreplaced(&mut self, id: &CardId) -> Result<&mut Card, DomainError> {
        let card = self.cards.get_mut(id).ok_or(DomainError::UnknownCard)?;
        if let Some(by) = &card.replaced_by {
            return Err(DomainError::CardReplaced(by.to_string()));
        }
        Ok(card)
    }

    fn next_id(&self) -> TransactionId {
        TransactionId(self.transactions.len() as i64 + 1)
    }

    fn apply(&mut self, m: Movement) -> Result<Receipt, DomainError> {
        let next_id = self.next_id();
        let push = |state: &mut State, kind, amount, quantity, product| {
            state.transactions.push(Transaction {
                id: next_id,
                kind,
                card: m.card.clone(),
                amount,
                quantity,
                product,
                valid: true,
                author: m.author.clone(),
                created_at: m.at,
            });
        };
        match m.action.clone() {
            Action::Open {
                opening,
                overdraft_limit,
            } => {
                if self.cards.contains_key(&m.card) {
                    return Err(DomainError::CardExists);
                }
                self.cards.insert(
                    m.card.clone(),
                    Card {
                        id: m.card.clone(),
                        balance: opening,
                        overdraft_limit,
                        max_balance: None,
                        status: CardStatus::Active,
                        valid_until: None,
                        member: None,
                        replaced_by: None,
                        created_at: m.at,
                    },
                );
                push(self, TransactionKind::Creation, opening, 0, None);
                Ok(receipt(next_id, &m.card, Money::ZERO, opening, opening))
            }
            Action::Post {
                kind,
                amount,
                quantity,
                product,
                guard,
            } => {
                let card = self
                    .cards
                    .get_mut(&m.card)
                    .ok_or(DomainError::UnknownCard)?;
                let delta = kind.signed(amount);
                if !guard_allows(card, delta, &guard, m.at) {
                    return Err(explain_refusal(card, delta, &guard, m.at));
                }
                let before = card.balance;
                card.balance = add(before, delta)?;
                let after = card.balance;
                push(self, kind, amount, quantity, product);
                Ok(receipt(next_id, &m.card, before, after, amount))
            }
            Action::Drain => {
                let card = self
                    .cards
                    .get_mut(&m.card)
                    .ok_or(DomainError::UnknownCard)?;
                let before = card.balance;
                if !before.is_positive() {
                    return Err(DomainError::NegativeBalance);
                }
                card.balance = Money::ZERO;
                push(self, TransactionKind::Drain, before, 0, None);
                Ok(receipt(next_id, &m.card, before, Money::ZERO, before))
            }
            Action::Flip {
                transaction,
                valid_after,
                delta,
                guard,
            } => {
                if let Some(by) = self.cards.get(&m.card).and_then(|c| c.replaced_by.clone()) {
                    return Err(DomainError::CardReplaced(by.to_string()));
                }
                let index = self
                    .transactions
                    .iter()
                    .position(|t| t.id == transaction && t.card == m.card)
                    .ok_or(DomainError::UnknownTransaction)?;
                if self.transactions[index].valid == valid_after {
                    return Err(if valid_after {
                        DomainError::AlreadyActive
                    } else {
                        DomainError::AlreadyCancelled
                    });
                }
                let card = self
                    .cards
                    .get_mut(&m.card)
                    .ok_or(DomainError::UnknownCard)?;
                if !guard_allows(card, delta, &guard, m.at) {
                    return Err(explain_refusal(card, delta, &guard, m.at));
                }
                let before = card.balance;
                card.balance = add(before, delta)?;
                let after = card.balance;
                self.transactions[index].valid = valid_after;
                self.changes.push(StateChange {
                    transaction,
                    valid_after,
                    by: m.author.clone(),
                    at: m.at,
                });
                let amount = self.transactions[index].amount;
                Ok(receipt(transaction, &m.card, before, after, amount))
            }
            Action::SetOverdraft { limit } => {
                let card = self
                    .cards
                    .get_mut(&m.card)
                    .ok_or(DomainError::UnknownCard)?;
                card.overdraft_limit = limit;
                let balance = card.balance;
                Ok(receipt(TransactionId(0), &m.card, balance, balance, limit))
            }
            Action::SetStatus { status } => {
                let card = self.unreplaced(&m.card)?;
                card.status = status;
                let balance = card.balance;
                Ok(receipt(
                    TransactionId(0),
                    &m.card,
                    balance,
                    balance,
                    Money::ZERO,
                ))
            }
            Action::SetValidUntil { until } => {
                let card = self.unreplaced(&m.card)?;
                card.valid_until = until;
                let balance = card.balance;
                Ok(receipt(
                    TransactionId(0),
                    &m.card,
                    balance,
                    balance,
                    Money::ZERO,
                ))
            }
            Action::Replace { new_card } => {
                let old = self.unreplaced(&m.card)?.clone();
                if self.cards.contains_key(&new_card) {
                    return Err(DomainError::CardExists);
                }
                let moved = old.balance;
                self.cards.insert(
                    new_card.clone(),
                    Card {
                        id: new_card.clone(),
                        status: CardStatus::Active,
                        replaced_by: None,
                        created_at: m.at,
                        ..old.clone()
                    },
                );
                if let Some(card) = self.cards.get_mut(&m.card) {
                    card.balance = Money::ZERO;
                    card.replaced_by = Some(new_card.clone());
                    if card.status == CardStatus::Active {
                        card.status = CardStatus::Blocked;
                    }
                }
                push(self, TransactionKind::TransferOut, moved, 0, None);
                let in_id = self.next_id();
                self.transactions.push(Transaction {
                    id: in_id,
                    kind: TransactionKind::TransferIn,
                    card: new_card.clone(),
                    amount: moved,
                    quantity: 0,
                    product: None,
                    valid: true,
                    author: m.author.clone(),
                    created_at: m.at,
                });
                Ok(receipt(in_id, &new_card, Money::ZERO, moved, moved))
            }
            Action::Transfer {
                to,
                amount,
                payer,
                payee,
                ..
            } => {
                let debit = amount.negated();
                let from = self.cards.get(&m.card).ok_or(DomainError::UnknownCard)?;
                if !guard_allows(from, debit, &payer, m.at) {
                    return Err(explain_refusal(from, debit, &payer, m.at));
                }
                let target = self.cards.get(&to).ok_or(DomainError::UnknownCard)?;
                if !guard_allows(target, amount, &payee, m.at) {
                    return Err(explain_refusal(target, amount, &payee, m.at));
                }
                let before = from.balance;
                let after = add(before, debit)?;
                let credited = add(target.balance, amount)?;
                if let Some(card) = self.cards.get_mut(&m.card) {
                    card.balance = after;
                }
                if let Some(card) = self.cards.get_mut(&to) {
                    card.balance = credited;
                }
                push(self, TransactionKind::TransferOut, amount, 0, None);
                let in_id = self.next_id();
                self.transactions.push(Transaction {
                    id: in_id,
                    kind: TransactionKind::TransferIn,
                    card: to.clone(),
                    amount,
                    quantity: 0,
                    product: None,
                    valid: true,
                    author: m.author.clone(),
                    created_at: m.at,
                });
                Ok(receipt(next_id, &m.card, before, after, amount))
            }
            Action::CancelTransfer {
                transfer,
                incoming,
                to,
                amount,
                payer,
                payee,
            } => {
                let position = |state: &State, id: TransactionId, card: &CardId| {
                    state
                        .transactions
                        .iter()
                        .position(|t| t.id == id && &t.card == card)
                        .ok_or(DomainError::UnknownTransaction)
                };
                let out = position(self, transfer, &m.card)?;
                let inc = position(self, incoming, &to)?;
                if !self.transactions[out].valid {
                    return Err(DomainError::AlreadyCancelled);
                }
                let debit = amount.negated();
                let target = self.cards.get(&to).ok_or(DomainError::UnknownCard)?;
                if !guard_allows(target, debit, &payee, m.at) {
                    return Err(explain_refusal(target, debit, &payee, m.at));
                }
                let from = self.cards.get(&m.card).ok_or(DomainError::UnknownCard)?;
                if !guard_allows(from, amount, &payer, m.at) {
                    return Err(explain_refusal(from, amount, &payer, m.at));
                }
                let before = from.balance;
                let after = add(before, amount)?;
                let debited = add(target.balance, debit)?;
                if let Some(card) = self.cards.get_mut(&m.card) {
                    card.balance = after;
                }
                if let Some(card) = self.cards.get_mut(&to) {
                    card.balance = debited;
                }
                for index in [out, inc] {
                    self.transactions[index].valid = false;
                    self.changes.push(StateChange {
                        transaction: self.transactions[index].id,
                        valid_after: false,
                        by: m.author.clone(),
                        at: m.at,
                    });
                }
                Ok(receipt(transfer, &m.card, before, after, amount))
            }
        }
    }
}

fn receipt(
    transaction: TransactionId,
    card: &CardId,
    balance_before: Money,
    balance_after: Money,
    amount: Money,
) -> Receipt {
    Receipt {
        transaction,
        card: card.clone(),
        balance_before,
        balance_after,
        amount,
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn card(&self, id: &CardId) -> Result<Option<Card>, DomainError> {
        Ok(self.lock()?.cards.get(id).cloned())
    }

    async fn cards(&self) -> Result<Vec<Card>, DomainError> {
        Ok(self.lock()?.cards.values().cloned().collect())
    }

    async fn transaction(&self, id: TransactionId) -> Result<Option<Transaction>, DomainError> {
        Ok(self
            .lock()?
            .transactions
            .iter()
            .find(|t| t.id == id)
            .cloned())
    }

    async fn card_transactions(&self, card: &CardId) -> Result<Vec<Transaction>, DomainError> {
        Ok(self
            .lock()?
            .transactions
            .iter()
            .filter(|t| &t.card == card)
            .cloned()
            .collect())
    }

    async fn transactions(
        &self,
        after: Option<TransactionId>,
        limit: Option<u32>,
    ) -> Result<Vec<Transaction>, DomainError> {
        let state = self.lock()?;
        let after = after.unwrap_or(TransactionId(0));
        let iter = state.transactions.iter().filter(|t| t.id > after).cloned();
        Ok(match limit {
            Some(n) => iter.take(n as usize).collect(),
            None => iter.collect(),
        })
    }

    async fn totals(&self) -> Result<Totals, DomainError> {
        let state = self.lock()?;
        let balances = || state.cards.values().map(|c| c.balance);
        Ok(Totals {
            positive_balances: balances().filter(|b| b.cents() > 0).sum(),
            negative_balances: balances().filter(|b| b.cents() < 0).sum(),
            cards: state.cards.len() as i64,
            positive_cards: balances().filter(|b| b.cents() > 0).count() as i64,
            consumed_quantity: state
                .transactions
                .iter()
                .filter(|t| t.valid && t.kind == TransactionKind::Payment)
                .map(|t| i64::from(t.quantity))
                .sum(),
            valid_amounts_by_author: {
                let mut by_author = std::collections::BTreeMap::<String, Money>::new();
                for t in state.transactions.iter().filter(|t| t.valid) {
                    let sum = by_author.entry(t.author.clone()).or_insert(Money::ZERO);
                    *sum = Money::from_cents(sum.cents() + t.amount.cents());
                }
                by_author.into_iter().collect()
            },
        })
    }

    async fn apply(&self, movement: Movement) -> Result<Receipt, DomainError> {
        if movement.service.is_some() {
            // Vouchers and mandates live in the store only (see `voucher`, `mandate`).
            return Err(DomainError::Internal(
                "the in-memory ledger keeps no vouchers nor mandates".into(),
            ));
        }
        let mut state = self.lock()?;
        // The records' checks first: a refused movement changes nothing.
        if let Some(key) = &movement.idempotency {
            if state
                .answers
                .contains_key(&(key.owner.clone(), key.key.clone()))
            {
                return Err(DomainError::IdempotencyKeyReused);
            }
        }
        if let Some(credit) = &movement.credit {
            let mine = || state.credits.iter().filter(|(p, ..)| p == &credit.partner);
            if mine().any(|(.., c)| c.reference == credit.reference) {
                return Err(DomainError::ReferenceReused);
            }
            let today: Money = mine()
                .filter(|(_, at, _)| *at >= credit.day_start)
                .map(|(.., c)| c.amount)
                .sum();
            let amount = match &movement.action {
                Action::Post { amount, .. } => *amount,
                _ => Money::ZERO,
            };
            if today.cents() + amount.cents() > credit.day_cap.cents() {
                return Err(DomainError::CreditCapExceeded {
                    cap: credit.day_cap,
                    period: CapPeriod::Day,
                });
            }
        }
        let receipt = state.apply(movement.clone())?;
        if let Some(key) = movement.idempotency.map(|k| *k) {
            state.answers.insert(
                (key.owner, key.key),
                StoredAnswer {
                    request_hash: key.request_hash,
                    receipt: receipt.clone(),
                },
            );
        }
        if let Some(credit) = movement.credit.map(|c| *c) {
            state.credits.push((
                credit.partner,
                movement.at,
                StoredCredit {
                    reference: credit.reference,
                    amount: receipt.amount,
                    receipt: receipt.clone(),
                },
            ));
        }
        Ok(receipt)
    }

    async fn idempotent_answer(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<StoredAnswer>, DomainError> {
        Ok(self
            .lock()?
            .answers
            .get(&(owner.to_owned(), key.to_owned()))
            .cloned())
    }

    async fn credit_by_reference(
        &self,
        partner: &str,
        reference: &str,
    ) -> Result<Option<StoredCredit>, DomainError> {
        Ok(self
            .lock()?
            .credits
            .iter()
            .find(|(p, _, c)| p == partner && c.reference == reference)
            .map(|(.., c)| c.clone()))
    }
}

#[async_trait]
impl Catalog for MemoryLedger {
    async fn product(&self, name: &str) -> Result<Option<Product>, DomainError> {
        Ok(self.lock()?.products.get(name).cloned())
    }

    async fn products(&self) -> Result<Vec<Product>, DomainError> {
        Ok(self.lock()?.products.values().cloned().collect())
    }

    async fn set_product(&self, product: Product) -> Result<(), DomainError> {
        self.lock()?.products.insert(product.name.clone(), product);
        Ok(())
    }

    async fn add_product(&self, product: Product) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if state.products.contains_key(&product.name) {
            return Err(DomainError::ProductExists);
        }
        check_category(&state, &product)?;
        state.products.insert(product.name.clone(), product);
        Ok(())
    }

    async fn update_product(&self, product: Product) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if !state.products.contains_key(&product.name) {
            return Err(DomainError::UnknownProduct);
        }
        check_category(&state, &product)?;
        state.products.insert(product.name.clone(), product);
        Ok(())
    }

    async fn delete_product(&self, name: &str) -> Result<bool, DomainError> {
        Ok(self.lock()?.products.remove(name).is_some())
    }

    async fn categories(&self) -> Result<Vec<Category>, DomainError> {
        let mut all: Vec<Category> = self.lock()?.categories.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    async fn category(&self, id: i64) -> Result<Option<Category>, DomainError> {
        Ok(self.lock()?.categories.get(&id).cloned())
    }

    async fn add_category(&self, name: String, at: DateTime<Utc>) -> Result<Category, DomainError> {
        let mut state = self.lock()?;
        if state.categories.values().any(|c| c.name == name) {
            return Err(DomainError::CategoryExists);
        }
        let id = state
            .categories
            .keys()
            .next_back()
            .map_or(1, |last| last + 1);
        let category = Category {
            id,
            name,
            created_at: at,
        };
        state.categories.insert(id, category.clone());
        Ok(category)
    }

    async fn rename_category(&self, id: i64, name: String) -> Result<bool, DomainError> {
        let mut state = self.lock()?;
        if state
            .categories
            .values()
            .any(|c| c.name == name && c.id != id)
        {
            return Err(DomainError::CategoryExists);
        }
        let Some(category) = state.categories.get_mut(&id) else {
            return Ok(false);
        };
        let old = std::mem::replace(&mut category.name, name.clone());
        for p in state.products.values_mut() {
            if p.category.as_ref() == Some(&old) {
                p.category = Some(name.clone());
            }
        }
        Ok(true)
    }

    async fn delete_category(&self, id: i64) -> Result<bool, DomainError> {
        let mut state = self.lock()?;
        let Some(category) = state.categories.remove(&id) else {
            return Ok(false);
        };
        for p in state.products.values_mut() {
            if p.category.as_ref() == Some(&category.name) {
                p.category = None;
            }
        }
        Ok(true)
    }
}

/// `UnknownCategory` unless the product's category, if any, exists.
fn check_category(state: &State, product: &Product) -> Result<(), DomainError> {
    match &product.category {
        Some(name) if !state.categories.values().any(|c| &c.name == name) => {
            Err(DomainError::UnknownCategory)
        }
        _ => Ok(()),
    }
}

/// `EmailTaken` if another member has the profile's e-mail address (case-insensitive).
fn email_free(
    members: &BTreeMap<MemberId, Member>,
    profile: &Profile,
    except: Option<MemberId>,
) -> Result<(), DomainError> {
    let Some(key) = profile.email.as_deref().map(crate::account::email_key) else {
        return Ok(());
    };
    let taken = members.values().any(|m| {
        Some(m.id) != except
            && m.profile.email.as_deref().map(crate::account::email_key) == Some(key.clone())
    });
    if taken {
        return Err(DomainError::EmailTaken);
    }
    Ok(())
}

#[async_trait]
impl MemberDirectory for MemoryLedger {
    async fn add_member(&self, profile: Profile, at: DateTime<Utc>) -> Result<Member, DomainError> {
        let mut state = self.lock()?;
        email_free(&state.members, &profile, None)?;
        let id = MemberId(state.members.len() as i64 + 1);
        let member = Member {
            id,
            profile,
            revision: 1,
            created_at: at,
            updated_at: at,
        };
        state.members.insert(id, member.clone());
        Ok(member)
    }

    async fn member(&self, id: MemberId) -> Result<Option<Member>, DomainError> {
        Ok(self.lock()?.members.get(&id).cloned())
    }

    async fn member_page(&self, page: Page) -> Result<Paged<Member>, DomainError> {
        Ok(page.slice(self.lock()?.members.values().cloned().collect()))
    }

    async fn update_member(
        &self,
        id: MemberId,
        revision: i64,
        profile: Profile,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let mut state = self.lock()?;
        email_free(&state.members, &profile, Some(id))?;
        match state.members.get_mut(&id) {
            Some(member) if member.revision == revision => {
                member.profile = profile;
                member.revision += 1;
                member.updated_at = at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn link_card(&self, member: MemberId, card: &CardId) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if !state.members.contains_key(&member) {
            return Err(DomainError::UnknownMember);
        }
        let card = state.unreplaced(card)?;
        match card.member {
            Some(other) if other != member => Err(DomainError::CardLinkedToOther),
            _ => {
                card.member = Some(member);
                Ok(())
            }
        }
    }

    async fn unlink_card(&self, member: MemberId, card: &CardId) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if !state.members.contains_key(&member) {
            return Err(DomainError::UnknownMember);
        }
        let card = state.cards.get_mut(card).ok_or(DomainError::UnknownCard)?;
        if card.member != Some(member) {
            return Err(DomainError::CardNotLinked);
        }
        card.member = None;
        Ok(())
    }

    async fn member_card_page(
        &self,
        member: MemberId,
        page: Page,
    ) -> Result<Paged<Card>, DomainError> {
        let state = self.lock()?;
        if !state.members.contains_key(&member) {
            return Err(DomainError::UnknownMember);
        }
        let cards = state
            .cards
            .values()
            .filter(|c| c.member == Some(member))
            .cloned()
            .collect();
        Ok(page.slice(cards))
    }
}

/// Members' accounts, links and preferences. Sessions are not the ledger's: ending a
/// member's sessions is left to the session store of the test.
#[async_trait]
impl MemberAccounts for MemoryLedger {
    async fn account_by_email(&self, key: &str) -> Result<Option<MemberAccount>, DomainError> {
        let state = self.lock()?;
        Ok(state
            .members
            .values()
            .find(|m| m.profile.email.as_deref().map(email_key).as_deref() == Some(key))
            .and_then(|m| {
                state.accounts.get(&m.id).map(|hash| MemberAccount {
                    member: m.id,
                    password_hash: hash.clone(),
                })
            }))
    }

    async fn add_link(&self, link: MemberLink) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if !state.members.contains_key(&link.member) {
            return Err(DomainError::UnknownMember);
        }
        state.links.retain(|_, (l, used)| {
            used.is_some() || l.member != link.member || l.purpose != link.purpose
        });
        state.links.insert(link.token_hash.clone(), (link, None));
        Ok(())
    }

    async fn use_link(
        &self,
        token_hash: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<Option<MemberId>, DomainError> {
        let mut state = self.lock()?;
        let member = match state.links.get_mut(token_hash) {
            Some((link, used @ None)) if link.expires_at > now => {
                *used = Some(now);
                link.member
            }
            _ => return Ok(None),
        };
        state.accounts.insert(member, password_hash);
        Ok(Some(member))
    }

    async fn preferences(&self, member: MemberId) -> Result<Option<Preferences>, DomainError> {
        Ok(self.lock()?.preferences.get(&member).copied())
    }

    async fn set_preferences(
        &self,
        member: MemberId,
        preferences: Preferences,
        _at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if !state.members.contains_key(&member) {
            return Err(DomainError::UnknownMember);
        }
        state.preferences.insert(member, preferences);
        Ok(())
    }

    async fn anonymise(
        &self,
        member: MemberId,
        anonymous: Profile,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        let found = state
            .members
            .get_mut(&member)
            .ok_or(DomainError::UnknownMember)?;
        found.profile = anonymous;
        found.revision += 1;
        found.updated_at = at;
        state.accounts.remove(&member);
        state.preferences.remove(&member);
        state.links.retain(|_, (l, _)| l.member != member);
        Ok(())
    }
}
