//! ardoise's domain: the pure rules of a cashless bar.
//!
//! Money is exact ([`Money`], integer cents), cards have a floor (zero or minus their overdraft
//! limit), the ledger is append-only (cancel and redo flip a transaction's state and are
//! recorded), and every operation checks the actor's [`Rights`]. The rules reach storage only
//! through the traits in [`ports`]; this crate does no I/O.

pub mod account;
pub mod bar;
pub mod business_card;
pub mod card;
pub mod catalog;
pub mod error;
pub mod exchange;
pub mod ids;
pub mod import;
pub mod languages;
pub mod mandate;
pub mod me;
pub mod member;
pub mod member_events;
pub mod members;
pub mod memory;
pub mod money;
pub mod notifications;
pub mod notify;
pub mod outbox;
pub mod paging;
pub mod ports;
pub mod product;
pub mod report;
pub mod rights;
pub mod service;
pub mod transaction;
pub mod voucher;

pub use account::{Channels, LinkPurpose, MemberAccount, MemberLink, Preferences};
pub use bar::{Applied, Bar, CardSheet, CardValidity, PayBy, Policy, StaffMove, Statistics};
pub use business_card::{
    BusinessCard, BusinessCardId, BusinessCards, CardChanges, CardVersion, Contact, ContactChanges,
    Setting, VersionChanges,
};
pub use card::{Card, CardState, CardStatus};
pub use catalog::ProductChanges;
pub use error::{CapPeriod, DomainError};
pub use exchange::{Exchange, ExchangeStore, MessageNotifier, NoMessageNotifier};
pub use ids::{CardId, IdError, Login, MemberId, TransactionId};
pub use import::{Adjustment, ImportInput, ImportPlan, ImportedCard};
pub use mandate::{Debit, Mandate, MandateTerms, Mandates};
pub use me::{CardHistory, MemberExport, MemberSpace};
pub use member::{Member, Profile, ProfileField};
pub use members::{MemberCardValidity, Members};
pub use money::{Money, MoneyError};
pub use notifications::{NotificationRequest, Notifications, Recipient};
pub use notify::{Channel, Delivery, DeliveryError, Sender};
pub use paging::{Page, Paged};
pub use ports::{
    Action, BusinessCardStore, CreditRecord, Guard, IdempotencyKey, MemberDirectory, Movement,
    Receipt, StoredAnswer, StoredCredit, TransferRecord,
};
pub use product::{Category, Product};
pub use report::Period;
pub use rights::{Actor, Operation, Principal, Rights};
pub use transaction::{StateChange, Transaction, TransactionKind};
pub use voucher::{Voucher, VoucherCode, VoucherKind, VoucherRequest, Vouchers};
