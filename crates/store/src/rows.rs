//! Rows as stored, and their conversion to and from the domain's types. A row that does not
//! convert (an unknown status, a malformed id) is a corrupted database: `Failure::Corrupt`.

use std::collections::BTreeMap;

use ardoise_domain::card::{Card, CardStatus};
use ardoise_domain::ports::{
    Receipt, Session, SessionHolder, StaffUser, StoredAnswer, StoredCredit,
};
use ardoise_domain::Transaction;
use ardoise_domain::{CardId, Login, Member, MemberId, Money, Product, Profile, Rights};
use ardoise_domain::{Channels, MemberLink, Preferences};
use ardoise_domain::{TransactionId, TransactionKind};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::error::Failure;
use crate::schema::{
    card_credits, cards, idempotency_keys, member_links, member_preferences, members,
    product_bundles, products, sessions, staff_users, transaction_changes, transactions,
};

/// Unix milliseconds, as stored. Rounds toward the past, so that a stored `valid_until`
/// compares with a movement's time in SQL exactly as `Card::state_at` does in Rust.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn time(ms: i64) -> Result<DateTime<Utc>, Failure> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| Failure::Corrupt(format!("time {ms} ms")))
}

pub(crate) fn card_id(text: &str) -> Result<CardId, Failure> {
    CardId::parse(text).map_err(|e| Failure::Corrupt(e.to_string()))
}

fn login(text: &str) -> Result<Login, Failure> {
    Login::parse(text).map_err(|e| Failure::Corrupt(e.to_string()))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cards)]
pub(crate) struct CardRow {
    pub id: String,
    pub balance_cents: i64,
    pub overdraft_limit_cents: i64,
    pub max_balance_cents: Option<i64>,
    pub status: String,
    pub valid_until: Option<i64>,
    pub member_id: Option<i64>,
    pub created_at: i64,
    pub replaced_by: Option<String>,
}

impl CardRow {
    pub fn into_card(self) -> Result<Card, Failure> {
        Ok(Card {
            id: card_id(&self.id)?,
            balance: Money::from_cents(self.balance_cents),
            overdraft_limit: Money::from_cents(self.overdraft_limit_cents),
            max_balance: self.max_balance_cents.map(Money::from_cents),
            status: CardStatus::parse(&self.status)
                .ok_or_else(|| Failure::Corrupt(format!("card status {}", self.status)))?,
            valid_until: self.valid_until.map(time).transpose()?,
            member: self.member_id.map(MemberId),
            replaced_by: self.replaced_by.as_deref().map(card_id).transpose()?,
            created_at: time(self.created_at)?,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = cards)]
pub(crate) struct NewCard<'a> {
    pub id: &'a str,
    pub balance_cents: i64,
    pub overdraft_limit_cents: i64,
    pub status: &'a str,
    pub created_at: i64,
}

/// The card that replaces another, with the settings it takes over.
#[derive(Debug, Insertable)]
#[diesel(table_name = cards)]
pub(crate) struct ReplacementCard<'a> {
    pub id: &'a str,
    pub balance_cents: i64,
    pub overdraft_limit_cents: i64,
    pub max_balance_cents: Option<i64>,
    pub status: &'a str,
    pub valid_until: Option<i64>,
    pub member_id: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub(crate) struct MemberRow {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub keywords: Option<String>,
    pub notes: Option<String>,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl MemberRow {
    pub fn into_member(self) -> Result<Member, Failure> {
        Ok(Member {
            id: MemberId(self.id),
            profile: Profile {
                first_name: self.first_name,
                last_name: self.last_name,
                display_name: self.display_name,
                email: self.email,
                phone: self.phone,
                mobile: self.mobile,
                keywords: self.keywords,
                notes: self.notes,
            },
            revision: self.revision,
            created_at: time(self.created_at)?,
            updated_at: time(self.updated_at)?,
        })
    }
}

/// A member's profile columns, written whole (an unset field is NULL).
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = members, treat_none_as_null = true)]
pub(crate) struct ProfileRow {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub keywords: Option<String>,
    pub notes: Option<String>,
    /// The address's uniqueness key (`account::email_key`), under a unique index.
    pub email_key: Option<String>,
    pub updated_at: i64,
}

impl ProfileRow {
    pub fn new(p: Profile, at: DateTime<Utc>) -> ProfileRow {
        ProfileRow {
            email_key: p.email.as_deref().map(ardoise_domain::account::email_key),
            first_name: p.first_name,
            last_name: p.last_name,
            display_name: p.display_name,
            email: p.email,
            phone: p.phone,
            mobile: p.mobile,
            keywords: p.keywords,
            notes: p.notes,
            updated_at: millis(at),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = transactions)]
pub(crate) struct TransactionRow {
    pub id: i64,
    pub kind: i16,
    pub card_id: String,
    pub amount_cents: i64,
    pub quantity: i64,
    pub product: Option<String>,
    pub valid: bool,
    pub author: String,
    pub created_at: i64,
}

impl TransactionRow {
    pub fn into_transaction(self) -> Result<Transaction, Failure> {
        Ok(Transaction {
            id: TransactionId(self.id),
            kind: TransactionKind::from_code(i64::from(self.kind))
                .ok_or_else(|| Failure::Corrupt(format!("transaction kind {}", self.kind)))?,
            card: card_id(&self.card_id)?,
            amount: Money::from_cents(self.amount_cents),
            quantity: u32::try_from(self.quantity)
                .map_err(|_| Failure::Corrupt(format!("quantity {}", self.quantity)))?,
            product: self.product,
            valid: self.valid,
            author: self.author,
            created_at: time(self.created_at)?,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = transactions)]
pub(crate) struct NewTransaction<'a> {
    pub kind: i16,
    pub card_id: &'a str,
    pub amount_cents: i64,
    pub quantity: i64,
    pub product: Option<&'a str>,
    pub valid: bool,
    pub author: &'a str,
    pub created_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = transaction_changes)]
pub(crate) struct NewChange<'a> {
    pub transaction_id: i64,
    pub valid_after: bool,
    pub changed_by: &'a str,
    pub changed_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
pub(crate) struct ProductRow {
    pub name: String,
    pub unit_price_cents: i64,
    pub category: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = product_bundles)]
pub(crate) struct BundleRow {
    pub product: String,
    pub quantity: i64,
    pub price_cents: i64,
}

impl ProductRow {
    pub fn from_product(p: &Product) -> (ProductRow, Vec<BundleRow>) {
        let row = ProductRow {
            name: p.name.clone(),
            unit_price_cents: p.unit_price.cents(),
            category: p.category.clone(),
        };
        let bundles = p
            .bundles
            .iter()
            .map(|(quantity, price)| BundleRow {
                product: p.name.clone(),
                quantity: i64::from(*quantity),
                price_cents: price.cents(),
            })
            .collect();
        (row, bundles)
    }

    /// The product with its bundles (the bundles of other products are ignored).
    pub fn into_product(self, bundles: &[BundleRow]) -> Result<Product, Failure> {
        let mut prices = BTreeMap::new();
        for b in bundles.iter().filter(|b| b.product == self.name) {
            let quantity = u32::try_from(b.quantity)
                .map_err(|_| Failure::Corrupt(format!("bundle quantity {}", b.quantity)))?;
            prices.insert(quantity, Money::from_cents(b.price_cents));
        }
        Ok(Product {
            name: self.name,
            unit_price: Money::from_cents(self.unit_price_cents),
            bundles: prices,
            category: self.category,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff_users)]
pub(crate) struct StaffRow {
    pub login: String,
    pub rights: i16,
    pub card_id: Option<String>,
    pub password_hash: String,
    pub active: bool,
}

impl StaffRow {
    pub fn into_user(self) -> Result<StaffUser, Failure> {
        Ok(StaffUser {
            login: login(&self.login)?,
            rights: Rights::from_level(i64::from(self.rights))
                .ok_or_else(|| Failure::Corrupt(format!("rights {}", self.rights)))?,
            card: self.card_id.as_deref().map(card_id).transpose()?,
            password_hash: self.password_hash,
            active: self.active,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = staff_users)]
pub(crate) struct NewStaff<'a> {
    pub login: &'a str,
    pub rights: i16,
    pub card_id: Option<&'a str>,
    pub password_hash: &'a str,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow {
    pub token_hash: String,
    pub login: Option<String>,
    pub member_id: Option<i64>,
    pub created_at: i64,
    pub last_seen: i64,
}

impl SessionRow {
    pub fn from_session(s: &Session) -> SessionRow {
        let (login, member_id) = match &s.holder {
            SessionHolder::Staff(login) => (Some(login.to_string()), None),
            SessionHolder::Member(member) => (None, Some(member.0)),
        };
        SessionRow {
            token_hash: s.token_hash.clone(),
            login,
            member_id,
            created_at: millis(s.created_at),
            last_seen: millis(s.last_seen),
        }
    }

    pub fn into_session(self) -> Result<Session, Failure> {
        let holder = match (self.login, self.member_id) {
            (Some(text), None) => SessionHolder::Staff(login(&text)?),
            (None, Some(id)) => SessionHolder::Member(MemberId(id)),
            _ => {
                return Err(Failure::Corrupt(
                    "a session belongs to both or neither of a staff user and a member".into(),
                ))
            }
        };
        Ok(Session {
            token_hash: self.token_hash,
            holder,
            created_at: time(self.created_at)?,
            last_seen: time(self.last_seen)?,
        })
    }
}

/// A partner's card credit, as stored and read back.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = card_credits)]
pub(crate) struct CreditRow {
    pub partner: String,
    pub reference: String,
    pub transaction_id: i64,
    pub card_id: String,
    pub amount_cents: i64,
    pub balance_before_cents: i64,
    pub balance_after_cents: i64,
    pub created_at: i64,
}

impl CreditRow {
    pub(crate) fn into_credit(self) -> Result<StoredCredit, Failure> {
        let card = card_id(&self.card_id)?;
        Ok(StoredCredit {
            reference: self.reference,
            amount: Money::from_cents(self.amount_cents),
            receipt: Receipt {
                transaction: TransactionId(self.transaction_id),
                card,
                balance_before: Money::from_cents(self.balance_before_cents),
                balance_after: Money::from_cents(self.balance_after_cents),
                amount: Money::from_cents(self.amount_cents),
            },
        })
    }
}

/// The first answer of a movement made with an `Idempotency-Key`.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub(crate) struct IdempotencyRow {
    pub owner: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub transaction_id: i64,
    pub card_id: String,
    pub amount_cents: i64,
    pub balance_before_cents: i64,
    pub balance_after_cents: i64,
    pub created_at: i64,
}

impl IdempotencyRow {
    pub(crate) fn into_answer(self) -> Result<StoredAnswer, Failure> {
        let card = card_id(&self.card_id)?;
        Ok(StoredAnswer {
            request_hash: self.request_hash,
            receipt: Receipt {
                transaction: TransactionId(self.transaction_id),
                card,
                balance_before: Money::from_cents(self.balance_before_cents),
                balance_after: Money::from_cents(self.balance_after_cents),
                amount: Money::from_cents(self.amount_cents),
            },
        })
    }
}

/// A member's one-time link, as stored (the token's hash only).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = member_links)]
pub(crate) struct LinkRow {
    pub token_hash: String,
    pub member_id: i64,
    pub purpose: &'static str,
    pub created_at: i64,
    pub expires_at: i64,
}

impl LinkRow {
    pub fn from_link(link: &MemberLink) -> LinkRow {
        LinkRow {
            token_hash: link.token_hash.clone(),
            member_id: link.member.0,
            purpose: link.purpose.as_str(),
            created_at: millis(link.created_at),
            expires_at: millis(link.expires_at),
        }
    }
}

/// A member's preferences, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = member_preferences, treat_none_as_null = true)]
pub(crate) struct PreferencesRow {
    pub member_id: i64,
    pub email: bool,
    pub sms: bool,
    pub push: bool,
    pub low_balance_cents: Option<i64>,
    pub receipts: bool,
    pub advertisements: bool,
    pub updated_at: i64,
}

impl PreferencesRow {
    pub fn new(member: MemberId, p: Preferences, at: DateTime<Utc>) -> PreferencesRow {
        PreferencesRow {
            member_id: member.0,
            email: p.channels.email,
            sms: p.channels.sms,
            push: p.channels.push,
            low_balance_cents: p.low_balance.map(Money::cents),
            receipts: p.receipts,
            advertisements: p.advertisements,
            updated_at: millis(at),
        }
    }

    pub fn into_preferences(self) -> Preferences {
        Preferences {
            channels: Channels {
                email: self.email,
                sms: self.sms,
                push: self.push,
            },
            low_balance: self.low_balance_cents.map(Money::from_cents),
            receipts: self.receipts,
            advertisements: self.advertisements,
        }
    }
}

/// A member-to-member transfer's record, beside its two ledger rows. A `None` is inserted as
/// `NULL` (not left to the column's default), so that the insert's SQL is the same for every
/// transfer and diesel keeps it prepared.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = crate::schema::exchange_transfers)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct TransferRow {
    pub transaction_id: i64,
    pub incoming_id: i64,
    pub from_card: String,
    pub to_card: String,
    pub from_member: i64,
    pub to_member: i64,
    pub amount_cents: i64,
    pub offer_id: Option<i64>,
    pub note: Option<String>,
    pub created_at: i64,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<i64>,
}

impl TransferRow {
    pub(crate) fn into_transfer(self) -> Result<ardoise_domain::exchange::Transfer, Failure> {
        Ok(ardoise_domain::exchange::Transfer {
            id: TransactionId(self.transaction_id),
            incoming: TransactionId(self.incoming_id),
            from_card: card_id(&self.from_card)?,
            to_card: card_id(&self.to_card)?,
            from_member: MemberId(self.from_member),
            to_member: MemberId(self.to_member),
            amount: Money::from_cents(self.amount_cents),
            offer: self.offer_id,
            note: self.note,
            created_at: time(self.created_at)?,
            cancelled_by: self.cancelled_by,
        })
    }
}
