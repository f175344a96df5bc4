//! Micropayments (services.md): a member grants a partner a mandate, and the partner may then
//! debit the member's cards within the mandate's caps, and refund a debit within 7 days, once.
//!
//! The rules are here; the store enforces, in the debit's own atomic step, that the mandate is
//! still live and that the day's debits stay within its daily cap (see
//! [`crate::ports::DebitRecord`]), exactly as it does for the partners' credit caps.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::bar::{check_reference, client_key, Policy};
use crate::error::{CapPeriod, DomainError};
use crate::ids::{CardId, MemberId, TransactionId};
use crate::money::Money;
use crate::ports::{
    Action, Clock, DebitRecord, Guard, IdempotencyKey, Ledger, Movement, Partner, PartnerDirectory,
    Receipt, ServiceRecord,
};
use crate::rights::{Operation, Principal};
use crate::transaction::TransactionKind;

/// How long a partner may refund its debit.
pub const REFUND_WINDOW_DAYS: i64 = 7;

/// A member's mandate to a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mandate {
    pub id: i64,
    pub member: MemberId,
    /// The partner's client id.
    pub partner: String,
    pub cap_operation: Money,
    pub cap_day: Money,
    pub valid_until: Option<DateTime<Utc>>,
    /// `member`, or `staff:<login>` when staff granted it on the member's behalf.
    pub granted_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Mandate {
    /// `active`, `revoked` or `expired` at `now`.
    pub fn state_at(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.valid_until.is_some_and(|until| until <= now) {
            "expired"
        } else {
            "active"
        }
    }
}

/// A mandate to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMandate {
    pub member: MemberId,
    pub partner: String,
    pub cap_operation: Money,
    pub cap_day: Money,
    pub valid_until: Option<DateTime<Utc>>,
    pub granted_by: String,
    pub created_at: DateTime<Utc>,
}

/// A partner's debit as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debit {
    pub id: i64,
    pub partner: String,
    pub mandate: i64,
    pub reference: String,
    pub transaction: TransactionId,
    pub card: CardId,
    pub amount: Money,
    /// The card's balance just after the debit.
    pub balance_after: Money,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

/// The mandates and debits, stored. The debits are written by the ledger's movements
/// ([`ServiceRecord::Debit`]); this port reads them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MandateBook: Send + Sync {
    /// Stores a mandate: `UnknownMember`, `UnknownPartner`.
    async fn add_mandate(&self, mandate: NewMandate) -> Result<Mandate, DomainError>;
    /// A member's mandates, newest first.
    async fn mandates_of(&self, member: MemberId) -> Result<Vec<Mandate>, DomainError>;
    async fn mandate(&self, id: i64) -> Result<Option<Mandate>, DomainError>;
    /// The newest mandate of `member` to `partner` live at `at` (not revoked, not expired).
    async fn live_mandate(
        &self,
        member: MemberId,
        partner: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Mandate>, DomainError>;
    /// Revokes a mandate if it is not revoked yet (a guarded update); whether it was.
    async fn revoke_mandate(
        &self,
        id: i64,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
    async fn debit(&self, id: i64) -> Result<Option<Debit>, DomainError>;
    async fn debit_by_transaction(
        &self,
        transaction: TransactionId,
    ) -> Result<Option<Debit>, DomainError>;
}

/// What a mandate allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateTerms {
    /// The partner's client id.
    pub partner: String,
    pub cap_operation: Money,
    pub cap_day: Money,
    pub valid_until: Option<DateTime<Utc>>,
}

/// The outcome of a debit: the debit, the card's new balance, and whether it is the answer
/// of an earlier identical request (`Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debited {
    pub debit: Debit,
    pub replayed: bool,
}

/// The refund of a debit: the debit as it is now, and the movement that gave the money back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    pub debit: Debit,
    pub receipt: Receipt,
}

/// The mandate and micropayment use cases.
#[derive(Clone)]
pub struct Mandates {
    ledger: Arc<dyn Ledger>,
    book: Arc<dyn MandateBook>,
    partners: Arc<dyn PartnerDirectory>,
    clock: Arc<dyn Clock>,
    policy: Policy,
}

impl Mandates {
    /// Wires the use cases to their ports.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        book: Arc<dyn MandateBook>,
        partners: Arc<dyn PartnerDirectory>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Mandates {
        Mandates {
            ledger,
            book,
            partners,
            clock,
            policy,
        }
    }

    /// The member a principal acts for: a member themself (`member` must be `None` or their
    /// own), or staff rights 3 for the member named.
    fn member_of(
        principal: &Principal,
        member: Option<MemberId>,
    ) -> Result<(MemberId, String), DomainError> {
        match (principal, member) {
            (Principal::Member(own), None) => Ok((*own, "member".to_owned())),
            (Principal::Staff(actor), Some(member)) => {
                actor.check(Operation::ManageMandates)?;
                Ok((member, format!("staff:{}", actor.login)))
            }
            _ => Err(DomainError::InsufficientRights),
        }
    }

    /// Grants a mandate: by the member (`member: None`), or by staff rights 3 on behalf of
    /// `member` (recorded in `granted_by`). The caps are positive, the per-operation one at
    /// most the daily one and the per-operation maximum; the partner exists and is active.
    pub async fn grant(
        &self,
        principal: &Principal,
        member: Option<MemberId>,
        terms: MandateTerms,
    ) -> Result<Mandate, DomainError> {
        let (member, granted_by) = Self::member_of(principal, member)?;
        if !terms.cap_operation.is_positive() || !terms.cap_day.is_positive() {
            return Err(DomainError::malformed(
                "fields `cap_operation` and `cap_day` must be positive",
            ));
        }
        if terms.cap_operation > terms.cap_day {
            return Err(DomainError::malformed(
                "field `cap_operation` is above field `cap_day`",
            ));
        }
        if terms.cap_operation > self.policy.max_operation {
            return Err(DomainError::malformed(format!(
                "field `cap_operation` is above the maximum of {} per operation",
                self.policy.max_operation
            )));
        }
        let now = self.clock.now();
        if terms.valid_until.is_some_and(|until| until <= now) {
            return Err(DomainError::malformed("field `valid_until` is in the past"));
        }
        match self.partners.partner(&terms.partner).await? {
            Some(partner) if partner.active => {}
            _ => return Err(DomainError::UnknownPartner),
        }
        self.book
            .add_mandate(NewMandate {
                member,
                partner: terms.partner,
                cap_operation: terms.cap_operation,
                cap_day: terms.cap_day,
                valid_until: terms.valid_until,
                granted_by,
                created_at: now,
            })
            .await
    }

    /// A member's mandates (the member, or staff rights 3 for `member`).
    pub async fn list(
        &self,
        principal: &Principal,
        member: Option<MemberId>,
    ) -> Result<Vec<Mandate>, DomainError> {
        let (member, _) = Self::member_of(principal, member)?;
        self.book.mandates_of(member).await
    }

    /// Revokes a mandate at once (the member, or staff rights 3 for `member`): the debits
    /// that have not committed yet are refused. A mandate of another member is unknown.
    pub async fn revoke(
        &self,
        principal: &Principal,
        member: Option<MemberId>,
        id: i64,
    ) -> Result<Mandate, DomainError> {
        let (member, by) = Self::member_of(principal, member)?;
        let mandate = self
            .book
            .mandate(id)
            .await?
            .filter(|m| m.member == member)
            .ok_or(DomainError::UnknownMandate)?;
        if mandate.revoked_at.is_none() {
            self.book.revoke_mandate(id, by, self.clock.now()).await?;
        }
        self.book
            .mandate(id)
            .await?
            .ok_or(DomainError::UnknownMandate)
    }

    /// A partner's debit of a card (scope `cards:debit`, checked by the caller), under a live
    /// mandate of the card's member to that partner (`MandateRequired`), within its caps
    /// (`CapExceeded`) and the card's floor (`InsufficientFunds`). Idempotent by the optional
    /// `Idempotency-Key` (`key`: the key and the request's hash), as partners' credits are.
    pub async fn debit(
        &self,
        partner: &Partner,
        card: &CardId,
        amount: Money,
        reference: &str,
        key: Option<(String, String)>,
    ) -> Result<Debited, DomainError> {
        if !partner.active {
            return Err(DomainError::InsufficientRights);
        }
        check_reference(reference)?;
        let key = match key {
            Some((key, hash)) => Some(client_key(
                format!("partner:{}", partner.client_id),
                key,
                hash,
            )?),
            None => None,
        };
        if let Some(key) = &key {
            if let Some(replay) = self.replay(key).await? {
                return Ok(replay);
            }
        }
        if !amount.is_positive() {
            return Err(DomainError::NegativePayment);
        }
        if amount > self.policy.max_operation {
            return Err(DomainError::malformed(format!(
                "amount {amount} is above the maximum of {} per operation",
                self.policy.max_operation
            )));
        }
        let member = self
            .ledger
            .card(card)
            .await?
            .ok_or(DomainError::UnknownCard)?
            .member
            .ok_or(DomainError::MandateRequired)?;
        let now = self.clock.now();
        let mandate = self
            .book
            .live_mandate(member, &partner.client_id, now)
            .await?
            .ok_or(DomainError::MandateRequired)?;
        if amount > mandate.cap_operation {
            return Err(DomainError::CapExceeded {
                remaining: mandate.cap_operation,
                period: CapPeriod::Operation,
            });
        }
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
                kind: TransactionKind::PartnerDebit,
                amount,
                quantity: 0,
                product: None,
                guard: Guard {
                    floor: true,
                    usable: true,
                    ..Guard::default()
                },
            },
            idempotency: key.clone().map(Box::new),
            credit: None,
            service: Some(Box::new(ServiceRecord::Debit(DebitRecord {
                partner: partner.client_id.clone(),
                mandate: mandate.id,
                reference: reference.to_owned(),
                day_start,
                cap_day: mandate.cap_day,
            }))),
        };
        match self.ledger.apply(movement).await {
            Ok(receipt) => Ok(Debited {
                debit: self.debit_of(receipt.transaction).await?,
                replayed: false,
            }),
            // A concurrent retry of the same request won the race: answer what it answered.
            Err(DomainError::IdempotencyKeyReused) => match &key {
                Some(key) => self
                    .replay(key)
                    .await?
                    .ok_or(DomainError::IdempotencyKeyReused),
                None => Err(DomainError::IdempotencyKeyReused),
            },
            Err(e) => Err(e),
        }
    }

    async fn debit_of(&self, transaction: TransactionId) -> Result<Debit, DomainError> {
        self.book
            .debit_by_transaction(transaction)
            .await?
            .ok_or_else(|| DomainError::Internal(format!("no debit for transaction {transaction}")))
    }

    /// The first answer of a key used before for the same request, `IdempotencyKeyReused` if
    /// for another, `None` if new.
    async fn replay(&self, key: &IdempotencyKey) -> Result<Option<Debited>, DomainError> {
        match self.ledger.idempotent_answer(&key.owner, &key.key).await? {
            None => Ok(None),
            Some(answer) if answer.request_hash != key.request_hash => {
                Err(DomainError::IdempotencyKeyReused)
            }
            Some(answer) => Ok(Some(Debited {
                debit: self.debit_of(answer.receipt.transaction).await?,
                replayed: true,
            })),
        }
    }

    /// One of the partner's debits.
    pub async fn get_debit(&self, partner: &Partner, id: i64) -> Result<Debit, DomainError> {
        self.book
            .debit(id)
            .await?
            .filter(|d| d.partner == partner.client_id)
            .ok_or(DomainError::UnknownDebit)
    }

    /// Refunds a debit: by the partner that made it (another's is unknown), within
    /// [`REFUND_WINDOW_DAYS`] days, once (`AlreadyRefunded`, checked again by a guarded
    /// update in the refund's atomic step). The debit's transaction is cancelled, which gives
    /// the amount back to the card whatever its state.
    pub async fn refund(&self, partner: &Partner, id: i64) -> Result<Refunded, DomainError> {
        if !partner.active {
            return Err(DomainError::InsufficientRights);
        }
        let debit = self.get_debit(partner, id).await?;
        if debit.refunded_at.is_some() {
            return Err(DomainError::AlreadyRefunded);
        }
        let now = self.clock.now();
        if now - debit.created_at > Duration::days(REFUND_WINDOW_DAYS) {
            return Err(DomainError::RefundWindowClosed);
        }
        let movement = Movement {
            card: debit.card.clone(),
            author: format!("partner:{}", partner.client_id),
            at: now,
            action: Action::Flip {
                transaction: debit.transaction,
                valid_after: false,
                delta: debit.amount,
                guard: Guard::default(),
            },
            idempotency: None,
            credit: None,
            service: Some(Box::new(ServiceRecord::Refund { debit: debit.id })),
        };
        let receipt = match self.ledger.apply(movement).await {
            Ok(receipt) => receipt,
            // The debit's transaction was cancelled by the refund that won the race.
            Err(DomainError::AlreadyCancelled) => return Err(DomainError::AlreadyRefunded),
            Err(e) => return Err(e),
        };
        let debit = self.get_debit(partner, id).await?;
        Ok(Refunded { debit, receipt })
    }
}
