//! Ports: what the rules need from the outside world, as traits the adapters implement.
//!
//! Money moves only through [`Ledger::apply`]: the rules turn a request into a [`Movement`]
//! (a value), and the store applies it atomically with its [`Guard`], reporting the outcome of
//! that movement alone. Several movements may share one database transaction (group commit)
//! without changing any rule.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{LinkPurpose, MemberAccount, MemberLink, Preferences};
use crate::card::{Card, CardStatus};
use crate::error::DomainError;
use crate::ids::{CardId, Login, MemberId, TransactionId};
use crate::member::{Member, Profile};
use crate::money::Money;
use crate::paging::{Page, Paged};
use crate::product::{Category, Product};
use crate::rights::Rights;
use crate::transaction::{Transaction, TransactionKind};

/// Conditions the store checks in the same atomic step that changes a balance (in the
/// `UPDATE`'s `WHERE` clause or under a row lock), never by reading first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guard {
    /// The new balance must stay at or above the card's floor (`-overdraft_limit`).
    pub floor: bool,
    /// The new balance must stay at or below the card's `max_balance`, when it has one.
    pub ceiling: bool,
    /// The card must be `active` and its `valid_until`, if any, later than the movement's time.
    pub usable: bool,
}

/// What a movement does to its card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the card with its opening balance, recorded as a creation transaction.
    /// Refused with `CardExists` if the card exists.
    Open {
        opening: Money,
        overdraft_limit: Money,
    },
    /// Add `kind.signed(amount)` to the balance under `guard` and append the transaction.
    Post {
        kind: TransactionKind,
        amount: Money,
        quantity: u32,
        product: Option<String>,
        guard: Guard,
    },
    /// Hand back the whole balance: set it to zero and append a drain of the old balance.
    /// Refused with `NegativeBalance` if the balance is zero or negative.
    Drain,
    /// Cancel (`valid_after: false`) or redo (`true`) a transaction of this card: flip its
    /// state only if it is in the other state, add `delta` to the balance under `guard`, and
    /// record who and when. Refused with `AlreadyCancelled`/`AlreadyActive` if another request
    /// flipped it first.
    Flip {
        transaction: TransactionId,
        valid_after: bool,
        delta: Money,
        guard: Guard,
    },
    /// Set the card's overdraft limit (no money moves).
    SetOverdraft { limit: Money },
    /// Set the card's status (block, mark lost, unblock; no money moves). Refused with
    /// `CardReplaced` on a replaced card.
    SetStatus { status: CardStatus },
    /// Set or clear the card's end of validity (no money moves). Refused with `CardReplaced`
    /// on a replaced card.
    SetValidUntil { until: Option<DateTime<Utc>> },
    /// Replace the card by `new_card`, created here: the whole balance (possibly negative)
    /// moves to it as a transfer-out on this card and a transfer-in on the new one, which also
    /// gets this card's overdraft limit, maximum balance, end of validity and member. This
    /// card ends at zero, `blocked` if it was active (a lost card stays lost), and records
    /// its replacement. Refused with `CardExists` if `new_card` exists and `CardReplaced` if
    /// this card was already replaced. The receipt is the new card's transfer-in.
    Replace { new_card: CardId },
    /// A payment from member to member (the exchange): `amount` leaves this card under
    /// `payer` (floor, usable) and reaches `to` under `payee` (ceiling, usable), both or
    /// neither, as a transfer-out on this card and a transfer-in on `to`, with the
    /// `record` beside them. The receipt is this (the payer's) card's; its transaction id is
    /// the transfer's id.
    Transfer {
        to: CardId,
        amount: Money,
        payer: Guard,
        payee: Guard,
        record: Box<TransferRecord>,
    },
    /// Cancels a member-to-member transfer (`transfer`, the transfer-out of this card, and
    /// `incoming`, the transfer-in of `to`): both are flipped to cancelled, `amount` goes back
    /// from `to` (under `payee`: its floor) to this card (under `payer`: its ceiling), both
    /// or neither, and the transfer is marked cancelled. `AlreadyCancelled` the second time.
    CancelTransfer {
        transfer: TransactionId,
        incoming: TransactionId,
        to: CardId,
        amount: Money,
        payer: Guard,
        payee: Guard,
    },
}

/// What the exchange records beside a transfer's two ledger rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub from_member: MemberId,
    pub to_member: MemberId,
    /// The offer the payment is for, if any.
    pub offer: Option<i64>,
    /// At most 140 characters.
    pub note: Option<String>,
}

/// A request to change one card, decided by the rules and applied by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub card: CardId,
    /// The staff login (or partner name) on whose behalf it is done.
    pub author: String,
    pub at: DateTime<Utc>,
    pub action: Action,
    // The records are boxed: most movements have none, and a small `Movement` travels
    // cheaply to the writer thread.
    /// The client's `Idempotency-Key`, stored with the movement's answer in the same atomic
    /// step; another movement with the same owner and key is refused (`IdempotencyKeyReused`).
    pub idempotency: Option<Box<IdempotencyKey>>,
    /// A partner's card credit: recorded in the same atomic step, unique per (partner,
    /// reference) (`ReferenceReused`), and under the partner's daily cap (`CreditCapExceeded`).
    pub credit: Option<Box<CreditRecord>>,
    /// A voucher used, a partner's debit under a mandate or its refund: checked and recorded
    /// in the same atomic step (see [`ServiceRecord`]).
    pub service: Option<Box<ServiceRecord>>,
}

/// What the store checks and records with a movement of the services (vouchers, mandates),
/// atomically with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceRecord {
    /// The movement redeems coupon `code`: refused (`VoucherAlreadyUsed` with when and by
    /// whom, `VoucherExpired`, `UnknownVoucher`) unless the voucher is still issued and not
    /// expired at the movement's time, which a guarded update makes it used.
    Voucher { code: String },
    /// A partner's debit under a mandate.
    Debit(DebitRecord),
    /// The refund of debit `debit` (the movement cancels its transaction): refused with
    /// `AlreadyRefunded` if it was refunded before, by a guarded update.
    Refund { debit: i64 },
}

/// What the store checks and records for a partner's debit, atomically with it: the mandate
/// still live (not revoked, not expired at the movement's time: `MandateRequired`), and the
/// mandate's debits since `day_start`, refunded ones aside, within `cap_day` (`CapExceeded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebitRecord {
    /// The partner's client id.
    pub partner: String,
    pub mandate: i64,
    /// The partner's own reference of the debit.
    pub reference: String,
    /// The start of the current day (UTC midnight).
    pub day_start: DateTime<Utc>,
    pub cap_day: Money,
}

/// An `Idempotency-Key` and the fingerprint of the request that first used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Whose key it is (`partner:<client_id>` or `staff:<login>`): keys of different callers
    /// never collide.
    pub owner: String,
    pub key: String,
    /// Hex SHA-256 of the request's meaningful content.
    pub request_hash: String,
}

/// What the store checks and records for a partner's card credit, atomically with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRecord {
    /// The partner's client id.
    pub partner: String,
    /// The partner's own reference of the credit, unique per partner.
    pub reference: String,
    /// The start of the partner's current day (UTC midnight).
    pub day_start: DateTime<Utc>,
    /// The most the partner may credit from `day_start` on, this credit included.
    pub day_cap: Money,
}

/// The answer of a movement made with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub receipt: Receipt,
}

/// A partner's card credit as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredit {
    pub reference: String,
    pub amount: Money,
    pub receipt: Receipt,
}

/// The outcome of an applied movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The new transaction, or the flipped one for a cancel or redo; 0 for `SetOverdraft`.
    pub transaction: TransactionId,
    pub card: CardId,
    pub balance_before: Money,
    pub balance_after: Money,
    /// The amount recorded on the transaction (the old balance for a drain).
    pub amount: Money,
}

/// The reads of [`Ledger::till_read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillQuery {
    /// The card to read, if any.
    pub card: Option<CardId>,
    /// Whether to read the card's member too (when it has one).
    pub member: bool,
    /// Whose latest transactions to read, if anyone's.
    pub author: Option<String>,
    /// How many of them, at most.
    pub limit: u32,
}

/// The answer of [`Ledger::till_read`].
#[derive(Debug, Clone, Default)]
pub struct TillRead {
    /// The card asked for, if it exists.
    pub card: Option<Card>,
    /// The card's member, if asked, the card has one, and the ledger read it with the card.
    pub member: Option<Member>,
    /// The author's latest transactions, newest first (empty if none was asked for).
    pub recent: Vec<Transaction>,
}

/// Raw figures for the statistics, summed by the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Sum of the balances above zero.
    pub positive_balances: Money,
    /// Sum of the balances below zero (zero or negative).
    pub negative_balances: Money,
    pub cards: i64,
    /// How many cards hold a balance above zero.
    pub positive_cards: i64,
    /// Sum of the quantities of valid payments.
    pub consumed_quantity: i64,
    /// Sum of the amounts of the valid transactions of each staff login that made any, by
    /// login.
    pub valid_amounts_by_author: Vec<(String, Money)>,
}

/// The cards and their append-only ledger.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Ledger: Send + Sync {
    /// One card, as the database holds it now: what the rules read.
    async fn card(&self, id: &CardId) -> Result<Option<Card>, DomainError>;
    /// One card, for a read that only *answers* (a balance, a validity, `carte/info`): the
    /// store may serve it from memory. It reflects every write this process answered, but a
    /// change made by another process on the same database may take up to the store's
    /// cache TTL to show. Never decide a movement on it. The default reads [`Ledger::card`].
    async fn card_snapshot(&self, id: &CardId) -> Result<Option<Card>, DomainError> {
        self.card(id).await
    }
    /// Every card, by id.
    async fn cards(&self) -> Result<Vec<Card>, DomainError>;
    /// One transaction.
    async fn transaction(&self, id: TransactionId) -> Result<Option<Transaction>, DomainError>;
    /// A card's transactions, oldest first.
    async fn card_transactions(&self, card: &CardId) -> Result<Vec<Transaction>, DomainError>;
    /// The latest transactions written by `author` (a staff login), newest first, at most
    /// `limit`: the till's own list. A member's transactions (author `member:<id>`) are
    /// never listed. The default reads the whole ledger; the store overrides it with an
    /// indexed query.
    async fn author_transactions(
        &self,
        author: &str,
        limit: u32,
    ) -> Result<Vec<Transaction>, DomainError> {
        let mut all = self.transactions(None, None).await?;
        all.retain(|t| t.author == author && !t.author.starts_with("member:"));
        all.reverse();
        all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(all)
    }
    /// What the till shows after a scan or a movement, read at once: the card (as
    /// [`Ledger::card_snapshot`] answers it), its member when asked, and the latest
    /// transactions of an author (as [`Ledger::author_transactions`]). The default makes the
    /// reads one after the other and reads no member ([`TillRead::member`] stays `None`);
    /// the store answers from its snapshots, and reads what is missing in one blocking task.
    async fn till_read(&self, query: TillQuery) -> Result<TillRead, DomainError> {
        let card = match &query.card {
            Some(id) => self.card_snapshot(id).await?,
            None => None,
        };
        let recent = match &query.author {
            Some(author) => self.author_transactions(author, query.limit).await?,
            None => Vec::new(),
        };
        Ok(TillRead {
            card,
            member: None,
            recent,
        })
    }
    /// All transactions with an id above `after`, oldest first, at most `limit`.
    async fn transactions(
        &self,
        after: Option<TransactionId>,
        limit: Option<u32>,
    ) -> Result<Vec<Transaction>, DomainError>;
    /// One page of the transactions, oldest first: of one card, or of all cards. The default
    /// reads the whole list; the store overrides it with a counted, offset query.
    async fn transaction_page(
        &self,
        card: Option<CardId>,
        page: Page,
    ) -> Result<Paged<Transaction>, DomainError> {
        let all = match card {
            Some(card) => self.card_transactions(&card).await?,
            None => self.transactions(None, None).await?,
        };
        Ok(page.slice(all))
    }
    /// Figures for the statistics.
    async fn totals(&self) -> Result<Totals, DomainError>;
    /// Applies one movement atomically and durably, or refuses it and changes nothing.
    async fn apply(&self, movement: Movement) -> Result<Receipt, DomainError>;
    /// The stored answer of an idempotency key.
    async fn idempotent_answer(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<StoredAnswer>, DomainError> {
        let _ = (owner, key);
        Err(DomainError::Internal(
            "this ledger does not keep idempotency keys".into(),
        ))
    }
    /// A partner's credit by its reference.
    async fn credit_by_reference(
        &self,
        partner: &str,
        reference: &str,
    ) -> Result<Option<StoredCredit>, DomainError> {
        let _ = (partner, reference);
        Err(DomainError::Internal(
            "this ledger does not keep card credits".into(),
        ))
    }
}

/// The association's members and the link of their cards. Not money: these writes go to
/// the store directly, not through the ledger's writer.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MemberDirectory: Send + Sync {
    /// Adds a member with a valid profile; the member as stored (id, revision 1).
    async fn add_member(&self, profile: Profile, at: DateTime<Utc>) -> Result<Member, DomainError>;
    /// One member.
    async fn member(&self, id: MemberId) -> Result<Option<Member>, DomainError>;
    /// One page of the members, by id.
    async fn member_page(&self, page: Page) -> Result<Paged<Member>, DomainError>;
    /// Replaces a member's profile if the member is still at `revision` (a guarded update);
    /// whether it was. `false` for an unknown member too.
    async fn update_member(
        &self,
        id: MemberId,
        revision: i64,
        profile: Profile,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
    /// Links a card to a member, in one guarded update: `UnknownMember`, `UnknownCard`,
    /// `CardReplaced`, or `CardLinkedToOther` if another member owns it. Linking a card to
    /// its own member again is a success.
    async fn link_card(&self, member: MemberId, card: &CardId) -> Result<(), DomainError>;
    /// Unlinks a card from its member: `UnknownMember`, `UnknownCard`, or `CardNotLinked`
    /// if the card is not this member's.
    async fn unlink_card(&self, member: MemberId, card: &CardId) -> Result<(), DomainError>;
    /// One page of a member's cards, by id (replaced ones included): `UnknownMember`.
    async fn member_card_page(
        &self,
        member: MemberId,
        page: Page,
    ) -> Result<Paged<Card>, DomainError>;
}

/// The products the bar sells.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Catalog: Send + Sync {
    /// One product by name.
    async fn product(&self, name: &str) -> Result<Option<Product>, DomainError>;
    /// Every product, by name.
    async fn products(&self) -> Result<Vec<Product>, DomainError>;
    /// Creates the product or replaces the one with the same name.
    async fn set_product(&self, product: Product) -> Result<(), DomainError>;
    /// Creates a product: `ProductExists` if the name is taken, `UnknownCategory` if its
    /// category does not exist.
    async fn add_product(&self, product: Product) -> Result<(), DomainError>;
    /// Replaces an existing product (price, bundles, category): `UnknownProduct`,
    /// `UnknownCategory`.
    async fn update_product(&self, product: Product) -> Result<(), DomainError>;
    /// Deletes a product and its bundles (the transactions keep its name); whether it existed.
    async fn delete_product(&self, name: &str) -> Result<bool, DomainError>;
    /// Every category, by name.
    async fn categories(&self) -> Result<Vec<Category>, DomainError>;
    async fn category(&self, id: i64) -> Result<Option<Category>, DomainError>;
    /// Creates a category: `CategoryExists` if the name is taken.
    async fn add_category(&self, name: String, at: DateTime<Utc>) -> Result<Category, DomainError>;
    /// Renames a category, and its products follow: `CategoryExists`; whether it existed.
    async fn rename_category(&self, id: i64, name: String) -> Result<bool, DomainError>;
    /// Deletes a category; its products are left without one. Whether it existed.
    async fn delete_category(&self, id: i64) -> Result<bool, DomainError>;
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub login: Login,
    pub rights: Rights,
    /// The staff card that logs this user in, if any.
    pub card: Option<CardId>,
    /// The argon2id PHC string; never the password.
    pub password_hash: String,
    /// False once deleted: kept for the history, refused at login.
    pub active: bool,
}

/// The staff accounts.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait StaffDirectory: Send + Sync {
    /// One user, active or not.
    async fn user(&self, login: &Login) -> Result<Option<StaffUser>, DomainError>;
    /// The active user holding this staff card.
    async fn user_by_card(&self, card: &CardId) -> Result<Option<StaffUser>, DomainError>;
    /// Every active user, by login.
    async fn users(&self) -> Result<Vec<StaffUser>, DomainError>;
    /// Whether any user exists at all (first start).
    async fn any_user(&self) -> Result<bool, DomainError>;
    /// Adds a user: `UserExists` if the login is taken, `Malformed` if the card is another
    /// active user's.
    async fn add_user(&self, user: StaffUser) -> Result<(), DomainError>;
    /// Replaces a user's password hash and, in the same step, ends the user's sessions except
    /// the one whose token hash is `keep_session`: `UnknownUser` if no such active user.
    async fn set_password_hash(
        &self,
        login: &Login,
        hash: String,
        keep_session: Option<String>,
    ) -> Result<(), DomainError>;
    /// Replaces a user's password hash by a stronger one of the same password (a legacy hash
    /// upgraded at login), only if it is still `old`, keeping the user's sessions: whether it
    /// was replaced (`false` if the password changed meanwhile or the user is disabled).
    async fn upgrade_password_hash(
        &self,
        login: &Login,
        old: String,
        new: String,
    ) -> Result<bool, DomainError>;
    /// Sets or clears a user's staff card: `Malformed` if the card is another active user's.
    async fn set_card(&self, login: &Login, card: Option<CardId>) -> Result<(), DomainError>;
    /// Changes a user's rights. Never leaves the bar without an active president: demoting
    /// the last one is refused with [`DomainError::last_president`], checked in the same
    /// atomic step as the write (two presidents demoting each other at once: one succeeds).
    async fn set_rights(&self, login: &Login, rights: Rights) -> Result<(), DomainError>;
    /// Disables a user (history kept) and ends their sessions; refuses the last active
    /// president as [`StaffDirectory::set_rights`] does.
    async fn disable(&self, login: &Login) -> Result<(), DomainError>;
}

/// Whose session it is: a staff user's (the POS, staff routes) or a member's (their own
/// space). Both kinds share the token format, the hashing and the sliding expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionHolder {
    Staff(Login),
    Member(MemberId),
}

/// The kind of a [`SessionHolder`], each with its own idle delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Staff,
    Member,
}

impl SessionHolder {
    /// Staff or member.
    pub fn kind(&self) -> SessionKind {
        match self {
            SessionHolder::Staff(_) => SessionKind::Staff,
            SessionHolder::Member(_) => SessionKind::Member,
        }
    }
}

/// A session, known by the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    pub holder: SessionHolder,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Staff and member sessions.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create(&self, session: Session) -> Result<(), DomainError>;
    async fn find(&self, token_hash: &str) -> Result<Option<Session>, DomainError>;
    /// Records use at `at` (sliding expiry).
    async fn touch(&self, token_hash: &str, at: DateTime<Utc>) -> Result<(), DomainError>;
    async fn delete(&self, token_hash: &str) -> Result<(), DomainError>;
    /// Removes the sessions of this kind last seen before `before`.
    async fn purge(&self, kind: SessionKind, before: DateTime<Utc>) -> Result<u64, DomainError>;
}

/// Members' accounts, their one-time links and their preferences. Each write is one atomic
/// step of the store.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MemberAccounts: Send + Sync {
    /// The account of the member whose e-mail address has this key
    /// ([`crate::account::email_key`]), if that member has set a password.
    async fn account_by_email(&self, email_key: &str)
        -> Result<Option<MemberAccount>, DomainError>;
    /// Stores a new link; the member's unused links of the same purpose stop working
    /// (the newest invitation or reset is the one that counts).
    async fn add_link(&self, link: MemberLink) -> Result<(), DomainError>;
    /// Uses a link in one atomic step: if it is unused and not expired at `now`, marks it
    /// used, sets the member's password hash (creating the account) and ends the member's
    /// sessions. The member, or `None` for an unknown, used or expired link.
    async fn use_link(
        &self,
        token_hash: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<Option<MemberId>, DomainError>;
    /// The member's preferences, or `None` if never saved.
    async fn preferences(&self, member: MemberId) -> Result<Option<Preferences>, DomainError>;
    /// Saves the member's preferences.
    async fn set_preferences(
        &self,
        member: MemberId,
        preferences: Preferences,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError>;
    /// The member's deletion request, in one atomic step: the profile is replaced by
    /// `anonymous`, and the account, links, preferences and sessions are deleted. Cards and
    /// the ledger are untouched (money history is never deleted). `UnknownMember`.
    async fn anonymise(
        &self,
        member: MemberId,
        anonymous: Profile,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError>;
}

/// How a member receives a one-time link: the seam of the notification channels. Today no
/// channel exists and [`NoMemberMail`] answers `false`; staff always see an invitation's link
/// once, so a bar without e-mail can hand it over.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MemberLinkSender: Send + Sync {
    /// Sends `link` to `member`; whether it was handed to a channel. Never log the link:
    /// it carries a secret token.
    async fn send_link(
        &self,
        member: &Member,
        purpose: LinkPurpose,
        link: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
}

/// No channel configured: links are not sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMemberMail;

#[async_trait]
impl MemberLinkSender for NoMemberMail {
    async fn send_link(
        &self,
        _member: &Member,
        _purpose: LinkPurpose,
        _link: &str,
        _expires_at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        Ok(false)
    }
}

/// The time, injectable for tests.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Random secrets (session tokens, client secrets) from a CSPRNG.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenSource: Send + Sync {
    /// `len` characters of `[0-9A-Za-z]`.
    fn alphanumeric(&self, len: usize) -> String;
}

/// A partner of the OAuth2 API (a payment provider, a membership office…), registered by an
/// administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// The consumer key: `[A-Za-z0-9_-]`, generated by ardoise.
    pub client_id: String,
    pub name: String,
    /// Hex SHA-256 of the client secret; never the secret.
    pub secret_hash: String,
    /// The scopes the partner may ask for, e.g. `cards:read`.
    pub scopes: Vec<String>,
    /// Whether the partner may send its key and secret with HTTP Basic on each `/v1` call.
    pub allow_basic: bool,
    /// False once disabled: refused at authentication, its tokens inactive.
    pub active: bool,
    /// The largest card credit of one operation.
    pub credit_cap_operation: Money,
    /// The most the partner may credit in one day.
    pub credit_cap_day: Money,
    pub created_at: DateTime<Utc>,
}

/// The registered partners.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PartnerDirectory: Send + Sync {
    /// One partner, active or not.
    async fn partner(&self, client_id: &str) -> Result<Option<Partner>, DomainError>;
    /// Every partner, by client id.
    async fn partners(&self) -> Result<Vec<Partner>, DomainError>;
    /// Adds a partner; `Malformed` if the client id is taken.
    async fn add_partner(&self, partner: Partner) -> Result<(), DomainError>;
    /// Disables a partner and revokes its access tokens; whether the partner exists.
    async fn disable_partner(&self, client_id: &str) -> Result<bool, DomainError>;
    /// Replaces a partner's secret hash and revokes its access tokens; whether it exists.
    async fn set_partner_secret(&self, client_id: &str, hash: String) -> Result<bool, DomainError>;
    /// Replaces a partner's settings (name, scopes, `allow_basic`, `active`, credit caps — not
    /// its secret nor its creation time) and, with `revoke_tokens`, revokes its access tokens
    /// in the same step; whether it exists.
    async fn update_partner(
        &self,
        partner: Partner,
        revoke_tokens: bool,
    ) -> Result<bool, DomainError>;
}

/// Whom an access token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    /// A partner, by client id.
    Partner(String),
    /// A staff user.
    Staff(Login),
}

/// An OAuth2 access token, known by the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    pub owner: TokenOwner,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Authenticated requests left (seed 003's `rpt`); `None` when only time limits the token.
    pub rpt_left: Option<u32>,
    pub revoked: bool,
}

/// OAuth2 access tokens.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AccessTokenStore: Send + Sync {
    /// Stores a new token.
    async fn insert_token(&self, token: AccessToken) -> Result<(), DomainError>;
    /// One token, whatever its state.
    async fn token(&self, token_hash: &str) -> Result<Option<AccessToken>, DomainError>;
    /// Spends one request of the token if it is usable at `now` — not revoked, not expired and,
    /// if it counts requests, with one left — in one atomic step (a guarded `UPDATE`), so that
    /// N concurrent uses of a token with one request left let exactly one through. The token
    /// as it is after the use, or `None` if it was not usable.
    async fn use_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccessToken>, DomainError>;
    /// Revokes a token; whether it existed.
    async fn revoke_token(&self, token_hash: &str) -> Result<bool, DomainError>;
    /// Deletes the tokens expired at `before` (`expires_at <= before`); how many.
    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, DomainError>;
}

/// Seed 003's business cards. Not money: small writes, each one transaction.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait BusinessCardStore: Send + Sync {
    /// Adds a card. Refuses `UnknownMember`, `BusinessCardExists` when the member has one,
    /// and, for a partner's card, `ProfileLimitReached` when the partner has `partner_limit`
    /// cards already — counted in the insert's own transaction, so two creations at once
    /// cannot both pass the limit.
    async fn add_business_card(
        &self,
        card: crate::business_card::BusinessCard,
        partner_limit: u32,
    ) -> Result<(), DomainError>;
    /// One card with its versions.
    async fn business_card(
        &self,
        id: &crate::business_card::BusinessCardId,
    ) -> Result<Option<crate::business_card::BusinessCard>, DomainError>;
    /// Applies a change in one transaction: each given field is written, the others are not
    /// touched (no read-then-write), a version that does not exist is added. `false` when the
    /// card does not exist.
    async fn change_business_card(
        &self,
        id: &crate::business_card::BusinessCardId,
        changes: crate::business_card::CardChanges,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
    /// Switches an existing version on or off; `false` when the card or the version does not
    /// exist.
    async fn set_version_enabled(
        &self,
        id: &crate::business_card::BusinessCardId,
        lang: &str,
        enabled: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
    /// Deletes one version; `false` when the card or the version does not exist.
    async fn delete_version(
        &self,
        id: &crate::business_card::BusinessCardId,
        lang: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
    /// Deletes a card and its versions; `false` when it does not exist.
    async fn delete_business_card(
        &self,
        id: &crate::business_card::BusinessCardId,
    ) -> Result<bool, DomainError>;
}
