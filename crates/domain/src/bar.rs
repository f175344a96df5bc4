//! The bar's use cases over the ports: open, top up, pay, drain, overdraft, cancel, redo,
//! and the reads. Every rule of `pos-api.md` about money lives here, once.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::card::{insufficient_funds, Card, CardState, CardStatus};
use crate::error::CapPeriod;
use crate::error::DomainError;
use crate::ids::{CardId, TransactionId};
use crate::money::Money;
use crate::paging::{Page, Paged};
use crate::ports::{
    Action, Catalog, Clock, CreditRecord, Guard, IdempotencyKey, Ledger, Movement, Partner,
    Receipt, TillQuery, TillRead, Totals,
};
use crate::rights::{Actor, Operation};
use crate::transaction::{Transaction, TransactionKind};

/// The bar's settings that the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The largest opening balance, top-up or payment (inclusive).
    pub max_operation: Money,
    /// The overdraft limit that the POS flag `decouvert=true` sets.
    pub overdraft_default: Money,
    /// The largest overdraft limit a card may have, whatever sets it (inclusive).
    pub max_overdraft: Money,
    /// How long staff below rights 3 may cancel or redo their own transactions.
    pub cancel_window: Duration,
    /// The product that a payment by quantity counts when none is named.
    pub default_product: String,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_operation: Money::from_cents(100_000),
            overdraft_default: Money::from_cents(5_000),
            max_overdraft: Money::from_cents(50_000),
            cancel_window: Duration::seconds(120),
            default_product: "biere".to_owned(),
        }
    }
}

impl Policy {
    /// The overdraft limit the POS flag `decouvert` stands for: the default limit, or none.
    pub fn overdraft_limit(&self, flag: bool) -> Money {
        if flag {
            self.overdraft_default
        } else {
            Money::ZERO
        }
    }
}

/// How a payment is priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayBy {
    /// An amount typed by the staff.
    Amount(Money),
    /// A number of units of a product (the default one when `product` is `None`).
    Quantity {
        quantity: i64,
        product: Option<String>,
    },
}

/// What a card looks like to staff: the card and, if asked, its whole history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSheet {
    pub card: Card,
    pub transactions: Vec<Transaction>,
    /// Whether the actor may see the overdraft setting.
    pub show_overdraft: bool,
}

/// The statistics of the original web client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    /// Money held on cards: sum of positive balances.
    pub receipts: Money,
    /// Money owed by cards in overdraft: sum of negative balances (zero or negative).
    pub debts: Money,
    /// `receipts + debts`: the net balance of all cards.
    pub net: Money,
    pub cards: i64,
    /// Units consumed in valid payments by quantity.
    pub consumed_quantity: i64,
    /// Average balance, rounded toward zero to the cent; zero without cards.
    pub average_balance: Money,
    /// Average of the balances above zero (what the original web page shows as `soldeMoy`),
    /// rounded toward zero to the cent; zero without such cards.
    pub average_positive_balance: Money,
    /// Sum of the amounts of the valid transactions of each staff login, by login: see
    /// [`Statistics::made_by`].
    pub valid_amounts_by_author: Vec<(String, Money)>,
}

impl Statistics {
    /// Sum of the amounts of the valid transactions made by `logins`: with the logins of
    /// rights 1, what the association owes the bar (the original's `factureBDE`).
    pub fn made_by<'a>(&self, logins: impl IntoIterator<Item = &'a str>) -> Money {
        let logins: std::collections::BTreeSet<&str> = logins.into_iter().collect();
        Money::from_cents(
            self.valid_amounts_by_author
                .iter()
                .filter(|(author, _)| logins.contains(author.as_str()))
                .map(|(_, amount)| amount.cents())
                .sum(),
        )
    }
}

impl From<Totals> for Statistics {
    fn from(t: Totals) -> Statistics {
        let net = Money::from_cents(t.positive_balances.cents() + t.negative_balances.cents());
        let average_balance = if t.cards > 0 {
            Money::from_cents(net.cents() / t.cards)
        } else {
            Money::ZERO
        };
        let average_positive_balance = if t.positive_cards > 0 {
            Money::from_cents(t.positive_balances.cents() / t.positive_cards)
        } else {
            Money::ZERO
        };
        Statistics {
            receipts: t.positive_balances,
            debts: t.negative_balances,
            net,
            cards: t.cards,
            consumed_quantity: t.consumed_quantity,
            average_balance,
            average_positive_balance,
            valid_amounts_by_author: t.valid_amounts_by_author,
        }
    }
}

/// The outcome of a movement asked with an `Idempotency-Key` (a partner's credit, a staff
/// movement): its receipt, and whether it is the answer of an earlier identical request
/// (nothing was applied this time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub receipt: Receipt,
    pub replayed: bool,
}

/// A staff money movement as asked, for [`Bar::staff_once`]: the same operations as the
/// methods of the same names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffMove {
    OpenCard {
        card: CardId,
        opening: Money,
        overdraft: bool,
    },
    TopUp {
        card: CardId,
        amount: Money,
    },
    Pay {
        card: CardId,
        by: PayBy,
    },
    Drain {
        card: CardId,
    },
    Cancel(TransactionId),
    Redo(TransactionId),
    /// [`Bar::replace_card`]: its receipt is the new card's (`card` is the new card).
    Replace {
        card: CardId,
        new_card: CardId,
    },
}

impl StaffMove {
    /// What makes two requests "the same request" for an `Idempotency-Key`: the operation,
    /// its target and its amounts, in one canonical text (the caller hashes it).
    pub fn fingerprint(&self) -> String {
        match self {
            StaffMove::OpenCard {
                card,
                opening,
                overdraft,
            } => format!("open\n{card}\n{}\n{overdraft}", opening.cents()),
            StaffMove::TopUp { card, amount } => format!("topup\n{card}\n{}", amount.cents()),
            StaffMove::Pay {
                card,
                by: PayBy::Amount(amount),
            } => format!("pay\n{card}\namount\n{}", amount.cents()),
            StaffMove::Pay {
                card,
                by: PayBy::Quantity { quantity, product },
            } => format!(
                "pay\n{card}\nquantity\n{quantity}\n{}",
                product.as_deref().unwrap_or("")
            ),
            StaffMove::Drain { card } => format!("drain\n{card}"),
            StaffMove::Cancel(id) => format!("cancel\n{}", id.0),
            StaffMove::Redo(id) => format!("redo\n{}", id.0),
            StaffMove::Replace { card, new_card } => format!("replace\n{card}\n{new_card}"),
        }
    }
}

/// Checks an `Idempotency-Key` and scopes it to its owner (`staff:<login>`,
/// `partner:<client_id>`), so that two callers' identical keys never collide.
pub(crate) fn client_key(
    owner: String,
    key: String,
    request_hash: String,
) -> Result<IdempotencyKey, DomainError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::malformed(
            "the Idempotency-Key header must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(IdempotencyKey {
        owner,
        key,
        request_hash,
    })
}

/// Whether a card may be used now: its state (`None` for an unknown card) and its end date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardValidity {
    pub state: Option<CardState>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl CardValidity {
    /// Whether the card may pay and be credited now.
    pub fn valid(&self) -> bool {
        self.state == Some(CardState::Active)
    }
}

/// The longest partner reference of a credit.
const MAX_REFERENCE_LEN: usize = 100;

/// Checks a partner's credit reference: 1 to 100 characters of `[A-Za-z0-9._:/-]`.
pub(crate) fn check_reference(reference: &str) -> Result<(), DomainError> {
    let valid = !reference.is_empty()
        && reference.len() <= MAX_REFERENCE_LEN
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(DomainError::malformed(format!(
            "field `reference` must be 1 to {MAX_REFERENCE_LEN} characters of A-Z a-z 0-9 . _ : / -"
        )))
    }
}

/// The bar's operations.
#[derive(Clone)]
pub struct Bar {
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) catalog: Arc<dyn Catalog>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: Policy,
}

impl Bar {
    /// Wires the rules to their ports.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        catalog: Arc<dyn Catalog>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Bar {
        Bar {
            ledger,
            catalog,
            clock,
            policy,
        }
    }

    /// The settings in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn within_max(&self, amount: Money) -> Result<(), DomainError> {
        if amount.cents().abs() > self.policy.max_operation.cents() {
            return Err(DomainError::malformed(format!(
                "amount {amount} is above the maximum of {} per operation",
                self.policy.max_operation
            )));
        }
        Ok(())
    }

    fn movement(&self, actor: &Actor, card: &CardId, action: Action) -> Movement {
        Movement {
            card: card.clone(),
            author: actor.login.to_string(),
            at: self.clock.now(),
            action,
            idempotency: None,
            credit: None,
            service: None,
        }
    }

    /// Applies a movement, with the idempotency key it was asked with, if any.
    async fn apply(
        &self,
        mut movement: Movement,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        movement.idempotency = key.cloned().map(Box::new);
        self.ledger.apply(movement).await
    }

    /// The stored answer of an idempotency key: `None` if the key is new, the first answer if
    /// it was used for the same request, `IdempotencyKeyReused` if for another.
    pub(crate) async fn replay(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<Applied>, DomainError> {
        match self.ledger.idempotent_answer(&key.owner, &key.key).await? {
            None => Ok(None),
            Some(answer) if answer.request_hash != key.request_hash => {
                Err(DomainError::IdempotencyKeyReused)
            }
            Some(answer) => Ok(Some(Applied {
                receipt: answer.receipt,
                replayed: true,
            })),
        }
    }

    /// A staff money movement, idempotent by the client's `Idempotency-Key` when `key` (the
    /// key and the hash of the request's [`StaffMove::fingerprint`]) is given, with the same
    /// mechanism as partners' credits: the key, scoped to the staff user, is stored with the
    /// movement's receipt in the movement's atomic step. A repeat of an applied request
    /// answers its first receipt (`replayed`), whatever changed since (the rights, the
    /// correction window); the key used for another request is `IdempotencyKeyReused` and
    /// nothing is applied. A refused movement stores nothing: a retry of it is decided
    /// afresh (it moved no money, so there is nothing to apply twice).
    pub async fn staff_once(
        &self,
        actor: &Actor,
        request: StaffMove,
        key: Option<(String, String)>,
    ) -> Result<Applied, DomainError> {
        let key = match key {
            Some((key, hash)) => Some(client_key(format!("staff:{}", actor.login), key, hash)?),
            None => None,
        };
        // The key is not looked up here first: the movement is tried, and the store refuses
        // it (`IdempotencyKeyReused`, in the movement's own atomic step, before it writes)
        // when the key was used before; only then is the first answer read, below. A new
        // key, the usual case, costs no round trip of its own.
        let k = key.as_ref();
        let outcome = match request {
            StaffMove::OpenCard {
                card,
                opening,
                overdraft,
            } => {
                self.open_card_keyed(actor, &card, opening, overdraft, k)
                    .await
            }
            StaffMove::TopUp { card, amount } => self.top_up_keyed(actor, &card, amount, k).await,
            StaffMove::Pay { card, by } => self.pay_keyed(actor, &card, by, k).await,
            StaffMove::Drain { card } => self.drain_keyed(actor, &card, k).await,
            StaffMove::Cancel(id) => self.cancel_keyed(actor, id, k).await,
            StaffMove::Redo(id) => self.redo_keyed(actor, id, k).await,
            StaffMove::Replace { card, new_card } => {
                self.replace_card_keyed(actor, &card, &new_card, k).await
            }
        };
        match (outcome, key) {
            (Ok(receipt), _) => Ok(Applied {
                receipt,
                replayed: false,
            }),
            (Err(e), None) => Err(e),
            // Storage trouble says nothing about a concurrent retry.
            (Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))), _) => Err(e),
            // A repeat of an applied request, or a concurrent retry that won the race (the
            // key's insert conflicted, or the first movement left this one nothing to do: the
            // card exists, the transaction is cancelled, the balance is drained): answer what
            // the first one answered.
            (Err(e), Some(key)) => match self.replay(&key).await {
                Ok(Some(replay)) => Ok(replay),
                Ok(None) => Err(e),
                Err(DomainError::IdempotencyKeyReused) => Err(DomainError::IdempotencyKeyReused),
                Err(_) => Err(e),
            },
        }
    }

    /// Creates a card with its opening balance. With `overdraft`, the card gets the default
    /// overdraft limit (rights 3) and may open at zero or below, down to its floor.
    pub async fn open_card(
        &self,
        actor: &Actor,
        card: &CardId,
        opening: Money,
        overdraft: bool,
    ) -> Result<Receipt, DomainError> {
        self.open_card_keyed(actor, card, opening, overdraft, None)
            .await
    }

    async fn open_card_keyed(
        &self,
        actor: &Actor,
        card: &CardId,
        opening: Money,
        overdraft: bool,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::CreateCard)?;
        if overdraft {
            actor.check(Operation::CreateCardWithOverdraft)?;
        }
        self.within_max(opening)?;
        let overdraft_limit = self.bounded_overdraft(self.policy.overdraft_limit(overdraft))?;
        if !overdraft && !opening.is_positive() {
            return Err(DomainError::NegativeBalance);
        }
        if opening < overdraft_limit.negated() {
            return Err(insufficient_funds(
                Money::ZERO,
                overdraft_limit.negated(),
                opening.negated(),
            ));
        }
        let action = Action::Open {
            opening,
            overdraft_limit,
        };
        self.apply(self.movement(actor, card, action), key).await
    }

    /// Puts money on a card.
    pub async fn top_up(
        &self,
        actor: &Actor,
        card: &CardId,
        amount: Money,
    ) -> Result<Receipt, DomainError> {
        self.top_up_keyed(actor, card, amount, None).await
    }

    async fn top_up_keyed(
        &self,
        actor: &Actor,
        card: &CardId,
        amount: Money,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::TopUp)?;
        if !amount.is_positive() {
            return Err(DomainError::NegativeTopUp);
        }
        self.within_max(amount)?;
        let guard = Guard {
            ceiling: true,
            usable: true,
            ..Guard::default()
        };
        let action = Action::Post {
            kind: TransactionKind::TopUp,
            amount,
            quantity: 0,
            product: None,
            guard,
        };
        self.apply(self.movement(actor, card, action), key).await
    }

    /// Takes a payment, by amount or by quantity of a product.
    pub async fn pay(
        &self,
        actor: &Actor,
        card: &CardId,
        by: PayBy,
    ) -> Result<Receipt, DomainError> {
        self.pay_keyed(actor, card, by, None).await
    }

    async fn pay_keyed(
        &self,
        actor: &Actor,
        card: &CardId,
        by: PayBy,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::Pay)?;
        let (amount, quantity, product) = match by {
            PayBy::Amount(amount) => (amount, 0, None),
            PayBy::Quantity { quantity, product } => {
                if quantity <= 0 {
                    return Err(DomainError::NegativePayment);
                }
                let quantity = u32::try_from(quantity)
                    .map_err(|_| DomainError::malformed("quantity is too large"))?;
                let name = product.unwrap_or_else(|| self.policy.default_product.clone());
                let product = self
                    .catalog
                    .product(&name)
                    .await?
                    .ok_or(DomainError::UnknownProduct)?;
                let price = product
                    .price_for(quantity)
                    .ok_or_else(|| DomainError::malformed("quantity is too large"))?;
                (price, quantity, Some(product.name))
            }
        };
        if !amount.is_positive() {
            return Err(DomainError::NegativePayment);
        }
        self.within_max(amount)?;
        let guard = Guard {
            floor: true,
            usable: true,
            ..Guard::default()
        };
        let action = Action::Post {
            kind: TransactionKind::Payment,
            amount,
            quantity,
            product,
            guard,
        };
        self.apply(self.movement(actor, card, action), key).await
    }

    /// Credits a card on behalf of a partner (whose token holds `cards:credit`, checked by the
    /// authentication layer). Idempotent twice over: by the partner's `reference` and by the
    /// optional `Idempotency-Key` (`key`: the key and the request's hash). A repeat of an
    /// applied credit answers its first receipt with `replayed`; a key or a reference reused
    /// for a different request is refused. The per-operation cap is checked here, the daily
    /// cap by the store in the same atomic step as the credit.
    pub async fn credit(
        &self,
        partner: &Partner,
        card: &CardId,
        amount: Money,
        reference: &str,
        key: Option<(String, String)>,
    ) -> Result<Applied, DomainError> {
        if !partner.active {
            return Err(DomainError::InsufficientRights);
        }
        check_reference(reference)?;
        let idempotency = match key {
            Some((key, request_hash)) => Some(client_key(
                format!("partner:{}", partner.client_id),
                key,
                request_hash,
            )?),
            None => None,
        };
        if let Some(replay) = self
            .earlier_credit(partner, card, amount, reference, idempotency.as_ref())
            .await?
        {
            return Ok(replay);
        }
        if !amount.is_positive() {
            return Err(DomainError::NegativeTopUp);
        }
        if amount > partner.credit_cap_operation {
            return Err(DomainError::CreditCapExceeded {
                cap: partner.credit_cap_operation,
                period: CapPeriod::Operation,
            });
        }
        self.within_max(amount)?;
        let now = self.clock.now();
        let day_start = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .unwrap_or(now);
        let movement = Movement {
            card: card.clone(),
            author: format!("partner:{}", partner.client_id),
            at: now,
            action: Action::Post {
                kind: TransactionKind::TopUp,
                amount,
                quantity: 0,
                product: None,
                guard: Guard {
                    ceiling: true,
                    usable: true,
                    ..Guard::default()
                },
            },
            idempotency: idempotency.clone().map(Box::new),
            credit: Some(Box::new(CreditRecord {
                partner: partner.client_id.clone(),
                reference: reference.to_owned(),
                day_start,
                day_cap: partner.credit_cap_day,
            })),
            service: None,
        };
        match self.ledger.apply(movement).await {
            Ok(receipt) => Ok(Applied {
                receipt,
                replayed: false,
            }),
            // A concurrent retry of the same request won the race: answer what it answered.
            Err(e @ (DomainError::IdempotencyKeyReused | DomainError::ReferenceReused)) => self
                .earlier_credit(partner, card, amount, reference, idempotency.as_ref())
                .await?
                .ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// The answer of an earlier identical credit, or why the request conflicts with it.
    async fn earlier_credit(
        &self,
        partner: &Partner,
        card: &CardId,
        amount: Money,
        reference: &str,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<Applied>, DomainError> {
        if let Some(key) = key {
            if let Some(replay) = self.replay(key).await? {
                return Ok(Some(replay));
            }
        }
        match self
            .ledger
            .credit_by_reference(&partner.client_id, reference)
            .await?
        {
            Some(earlier) if &earlier.receipt.card == card && earlier.amount == amount => {
                Ok(Some(Applied {
                    receipt: earlier.receipt,
                    replayed: true,
                }))
            }
            Some(_) => Err(DomainError::ReferenceReused),
            None => Ok(None),
        }
    }

    /// Whether a card may be used now: for staff (`Some(actor)`, rights ≥ 1 as `carte/info`)
    /// or for a partner (`None`: its token's `cards:read` scope was checked by the caller).
    pub async fn card_validity(
        &self,
        actor: Option<&Actor>,
        card: &CardId,
    ) -> Result<CardValidity, DomainError> {
        if let Some(actor) = actor {
            actor.check(Operation::CardInfo)?;
        }
        let found = self.ledger.card_snapshot(card).await?;
        let now = self.clock.now();
        Ok(CardValidity {
            state: found.as_ref().map(|c| c.state_at(now)),
            valid_until: found.and_then(|c| c.valid_until),
        })
    }

    /// Hands the whole positive balance back: the card ends at zero.
    pub async fn drain(&self, actor: &Actor, card: &CardId) -> Result<Receipt, DomainError> {
        self.drain_keyed(actor, card, None).await
    }

    async fn drain_keyed(
        &self,
        actor: &Actor,
        card: &CardId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::Drain)?;
        self.apply(self.movement(actor, card, Action::Drain), key)
            .await
    }

    /// An overdraft limit within `0..=max_overdraft`, or why not.
    fn bounded_overdraft(&self, limit: Money) -> Result<Money, DomainError> {
        if limit.cents() < 0 {
            return Err(DomainError::malformed(
                "the overdraft limit cannot be negative",
            ));
        }
        if limit > self.policy.max_overdraft {
            return Err(DomainError::malformed(format!(
                "the overdraft limit cannot be above {} (money.max_overdraft)",
                self.policy.max_overdraft.to_fixed2()
            )));
        }
        Ok(limit)
    }

    /// Sets a card's overdraft limit (rights 3), at most `max_overdraft`. `None` means the configured default.
    pub async fn set_overdraft(
        &self,
        actor: &Actor,
        card: &CardId,
        limit: Option<Money>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::SetOverdraft)?;
        let limit = self.bounded_overdraft(limit.unwrap_or(self.policy.overdraft_default))?;
        self.ledger
            .apply(self.movement(actor, card, Action::SetOverdraft { limit }))
            .await
    }

    /// Blocks a card, or marks it lost (rights ≥ 1: anyone of the association may stop a
    /// card reported lost); `CardStatus::Active` unblocks it (rights ≥ 2). Payments and
    /// top-ups of a blocked or lost card are refused (`CardNotUsable`); its balance stays.
    /// The card as it is afterwards.
    pub async fn set_card_status(
        &self,
        actor: &Actor,
        card: &CardId,
        status: CardStatus,
    ) -> Result<Card, DomainError> {
        actor.check(match status {
            CardStatus::Active => Operation::UnblockCard,
            CardStatus::Blocked | CardStatus::Lost => Operation::BlockCard,
        })?;
        self.ledger
            .apply(self.movement(actor, card, Action::SetStatus { status }))
            .await?;
        self.ledger
            .card(card)
            .await?
            .ok_or(DomainError::UnknownCard)
    }

    /// Sets or clears the end of a card's validity (rights ≥ 2); from then on the card is
    /// `expired`. The card as it is afterwards.
    pub async fn set_valid_until(
        &self,
        actor: &Actor,
        card: &CardId,
        until: Option<DateTime<Utc>>,
    ) -> Result<Card, DomainError> {
        actor.check(Operation::SetCardValidity)?;
        self.ledger
            .apply(self.movement(actor, card, Action::SetValidUntil { until }))
            .await?;
        self.ledger
            .card(card)
            .await?
            .ok_or(DomainError::UnknownCard)
    }

    /// Replaces a card (lost, broken…) by a new one (rights ≥ 2, as moving money): in one
    /// atomic movement the whole balance moves to the new card, which gets the old card's
    /// member, overdraft limit, maximum and end of validity; the old card stays in the
    /// history at zero, blocked (or lost), pointing to its replacement. The receipt is the
    /// new card's transfer-in.
    pub async fn replace_card(
        &self,
        actor: &Actor,
        card: &CardId,
        new_card: &CardId,
    ) -> Result<Receipt, DomainError> {
        self.replace_card_keyed(actor, card, new_card, None).await
    }

    async fn replace_card_keyed(
        &self,
        actor: &Actor,
        card: &CardId,
        new_card: &CardId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::ReplaceCard)?;
        if card == new_card {
            return Err(DomainError::malformed(
                "field `new_card` must differ from the replaced card",
            ));
        }
        let action = Action::Replace {
            new_card: new_card.clone(),
        };
        self.apply(self.movement(actor, card, action), key).await
    }

    /// Cancels a valid transaction: its effect on the balance is reversed.
    pub async fn cancel(&self, actor: &Actor, id: TransactionId) -> Result<Receipt, DomainError> {
        self.cancel_keyed(actor, id, None).await
    }

    async fn cancel_keyed(
        &self,
        actor: &Actor,
        id: TransactionId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::Cancel)?;
        self.flip(actor, id, false, key).await
    }

    /// Redoes a cancelled transaction: its effect on the balance is applied again.
    pub async fn redo(&self, actor: &Actor, id: TransactionId) -> Result<Receipt, DomainError> {
        self.redo_keyed(actor, id, None).await
    }

    async fn redo_keyed(
        &self,
        actor: &Actor,
        id: TransactionId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        actor.check(Operation::Redo)?;
        self.flip(actor, id, true, key).await
    }

    async fn flip(
        &self,
        actor: &Actor,
        id: TransactionId,
        valid_after: bool,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        let tx = self
            .ledger
            .transaction(id)
            .await?
            .ok_or(DomainError::UnknownTransaction)?;
        let now = self.clock.now();
        check_correction(actor, &tx, valid_after, now, self.policy.cancel_window)?;
        let delta = if valid_after {
            tx.signed_amount()
        } else {
            tx.signed_amount().negated()
        };
        // A correction that takes money off the card respects its floor like any debit.
        let guard = Guard {
            floor: delta.cents() < 0,
            ..Guard::default()
        };
        let action = Action::Flip {
            transaction: id,
            valid_after,
            delta,
            guard,
        };
        self.apply(self.movement(actor, &tx.card, action), key)
            .await
    }

    /// Whether the card is a client card, for `carte/info` (rights ≥ 1).
    pub async fn card_exists(&self, actor: &Actor, card: &CardId) -> Result<bool, DomainError> {
        actor.check(Operation::CardInfo)?;
        Ok(self.ledger.card_snapshot(card).await?.is_some())
    }

    /// What the till shows after a scan or a movement, in one read of the ledger: the card
    /// (if `card`, and the actor may read balances), its member (if the actor manages
    /// members; see [`TillRead::member`]) and, with `recent`, the actor's own latest `limit`
    /// transactions (if they may read them). What the actor may not see is not read.
    pub async fn till_view(
        &self,
        actor: &Actor,
        card: Option<&CardId>,
        recent: bool,
        limit: u32,
    ) -> Result<TillRead, DomainError> {
        let query = TillQuery {
            card: card.filter(|_| actor.may(Operation::ReadBalance)).cloned(),
            member: actor.may(Operation::ManageMembers),
            author: (recent && actor.may(Operation::OwnTransactions))
                .then(|| actor.login.to_string()),
            limit,
        };
        self.ledger.till_read(query).await
    }

    /// Every card (rights ≥ 2).
    pub async fn cards(&self, actor: &Actor) -> Result<Vec<Card>, DomainError> {
        actor.check(Operation::ListCards)?;
        self.ledger.cards().await
    }

    /// One card with its whole history, oldest first (rights ≥ 2).
    pub async fn card_sheet(&self, actor: &Actor, card: &CardId) -> Result<CardSheet, DomainError> {
        actor.check(Operation::CardDetails)?;
        let found = self
            .ledger
            .card(card)
            .await?
            .ok_or(DomainError::UnknownCard)?;
        let transactions = self.ledger.card_transactions(card).await?;
        Ok(CardSheet {
            card: found,
            transactions,
            show_overdraft: actor.may(Operation::SeeOverdraft),
        })
    }

    /// One card, without its history, for staff (rights ≥ 2, as `card_sheet`). An answer
    /// only: read through [`Ledger::card_snapshot`].
    pub async fn card(&self, actor: &Actor, card: &CardId) -> Result<Card, DomainError> {
        actor.check(Operation::CardDetails)?;
        self.ledger
            .card_snapshot(card)
            .await?
            .ok_or(DomainError::UnknownCard)
    }

    /// One card, for a partner: the authentication layer has checked that the partner's token
    /// holds the `cards:read` scope, which is the whole rule for partners.
    pub async fn card_for_partner(&self, card: &CardId) -> Result<Card, DomainError> {
        self.ledger
            .card_snapshot(card)
            .await?
            .ok_or(DomainError::UnknownCard)
    }

    /// Whether the actor may see overdraft settings.
    pub fn sees_overdraft(&self, actor: &Actor) -> bool {
        actor.may(Operation::SeeOverdraft)
    }

    /// All transactions (rights 3), oldest first, after `after`, at most `limit`.
    pub async fn transactions(
        &self,
        actor: &Actor,
        after: Option<TransactionId>,
        limit: Option<u32>,
    ) -> Result<Vec<Transaction>, DomainError> {
        actor.check(Operation::AllTransactions)?;
        self.ledger.transactions(after, limit).await
    }

    /// One page of the cards, by id (rights ≥ 2, as `cards`).
    pub async fn card_page(&self, actor: &Actor, page: Page) -> Result<Paged<Card>, DomainError> {
        actor.check(Operation::ListCards)?;
        Ok(page.slice(self.ledger.cards().await?))
    }

    /// One page of a card's history, oldest first (rights ≥ 2, as `card_sheet`).
    pub async fn card_transaction_page(
        &self,
        actor: &Actor,
        card: &CardId,
        page: Page,
    ) -> Result<Paged<Transaction>, DomainError> {
        actor.check(Operation::CardDetails)?;
        if self.ledger.card(card).await?.is_none() {
            return Err(DomainError::UnknownCard);
        }
        self.ledger.transaction_page(Some(card.clone()), page).await
    }

    /// One page of all transactions, oldest first (rights 3, as `transactions`).
    pub async fn transaction_page(
        &self,
        actor: &Actor,
        page: Page,
    ) -> Result<Paged<Transaction>, DomainError> {
        actor.check(Operation::AllTransactions)?;
        self.ledger.transaction_page(None, page).await
    }

    /// One transaction (rights ≥ 2, as a card's history, which shows it too).
    pub async fn transaction(
        &self,
        actor: &Actor,
        id: TransactionId,
    ) -> Result<Transaction, DomainError> {
        actor.check(Operation::CardDetails)?;
        self.ledger
            .transaction(id)
            .await?
            .ok_or(DomainError::UnknownTransaction)
    }

    /// The statistics (rights ≥ 2).
    pub async fn statistics(&self, actor: &Actor) -> Result<Statistics, DomainError> {
        actor.check(Operation::Statistics)?;
        Ok(self.ledger.totals().await?.into())
    }
}

/// Who may cancel or redo what, and when: rights 3 anything at any time; below, only one's own
/// transactions within the window after they were made.
pub fn check_correction(
    actor: &Actor,
    tx: &Transaction,
    valid_after: bool,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(), DomainError> {
    if !tx.kind.is_correctable() {
        return Err(DomainError::NotCorrectable);
    }
    if !actor.may(Operation::CorrectOthersAnyTime) {
        if tx.author != actor.login.as_str() {
            return Err(DomainError::NotOwnTransaction);
        }
        if now - tx.created_at > window {
            return Err(DomainError::CorrectionWindowClosed);
        }
    }
    match (tx.valid, valid_after) {
        (false, false) => Err(DomainError::AlreadyCancelled),
        (true, true) => Err(DomainError::AlreadyActive),
        _ => Ok(()),
    }
}

/// Why the store refused to add `delta` to `card` under `guard` at `at`: the one place that
/// turns a failed guarded update into the error the caller sees.
pub fn explain_refusal(card: &Card, delta: Money, guard: &Guard, at: DateTime<Utc>) -> DomainError {
    if let Some(by) = &card.replaced_by {
        return DomainError::CardReplaced(by.to_string());
    }
    if guard.usable {
        if let Err(e) = card.check_usable(at) {
            return e;
        }
    }
    let after = card.balance.cents() + delta.cents();
    if guard.floor && after < card.floor().cents() {
        return insufficient_funds(card.balance, card.floor(), delta.negated());
    }
    if let (true, Some(max)) = (guard.ceiling, card.max_balance) {
        if after > max.cents() {
            return DomainError::BalanceCeiling {
                balance: card.balance,
                max,
            };
        }
    }
    DomainError::Internal(format!(
        "guarded update of card {} refused with no broken guard",
        card.id
    ))
}

/// Whether adding `delta` to `card` passes `guard` at `at`: the guard's definition, which the
/// store's SQL implements and the in-memory ledger uses directly. A replaced card refuses
/// every change of its balance, guarded or not.
pub fn guard_allows(card: &Card, delta: Money, guard: &Guard, at: DateTime<Utc>) -> bool {
    let after = card.balance.cents() + delta.cents();
    // A replaced card stays at zero whatever the guard: its money moved to its replacement.
    card.replaced_by.is_none()
        && (!guard.usable || card.check_usable(at).is_ok())
        && (!guard.floor || after >= card.floor().cents())
        && (!guard.ceiling || card.max_balance.is_none_or(|max| after <= max.cents()))
}
