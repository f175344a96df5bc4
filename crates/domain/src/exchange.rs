//! The members' exchange (seed 004, `exchange.md`): offers and requests of services,
//! conversations between two members, moderation, and payments from member to member.
//!
//! A payment between members is one ledger movement ([`Action::Transfer`]) touching two
//! cards: the payer's floor and the payee's ceiling and usable state are guarded in the same
//! atomic step, both or neither, through the same batched writer as the bar's payments.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::bar::{client_key, Applied};
use crate::card::{Card, CardState};
use crate::error::DomainError;
use crate::ids::{CardId, MemberId, TransactionId};
use crate::member::Member;
use crate::money::Money;
use crate::paging::{Page, Paged};
use crate::ports::{
    Action, Catalog, Clock, Guard, Ledger, MemberDirectory, Movement, Receipt, TransferRecord,
};
use crate::product::Category;
use crate::rights::{Operation, Principal};

/// The longest offer description and message.
pub const MAX_TEXT: usize = 2000;
/// The longest note of a transfer.
pub const MAX_NOTE: usize = 140;
/// A recipient hears of new messages in a conversation at most once in this time.
pub const NOTIFY_EVERY_MINUTES: i64 = 10;

/// An offer of a service, or a request for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferKind {
    Offer,
    Request,
}

impl OfferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::Offer => "offer",
            OfferKind::Request => "request",
        }
    }

    pub fn parse(text: &str) -> Option<OfferKind> {
        match text {
            "offer" => Some(OfferKind::Offer),
            "request" => Some(OfferKind::Request),
            _ => None,
        }
    }
}

/// An offer as published (seed 004's `prestation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: i64,
    pub member: MemberId,
    pub kind: OfferKind,
    pub category: i64,
    /// `None` once the category was deleted.
    pub category_name: Option<String>,
    pub description: String,
    pub wished_from: Option<NaiveDate>,
    pub wished_until: Option<NaiveDate>,
    pub price: Option<Money>,
    /// Open offers are listed; a closed one stays readable.
    pub open: bool,
    /// Who closed it: `member:<id>` (its author) or `staff:<login>` (a moderator).
    pub closed_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An offer's fields as a member writes them, checked by [`OfferDraft::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferDraft {
    pub kind: OfferKind,
    pub category: i64,
    pub description: String,
    pub wished_from: Option<NaiveDate>,
    pub wished_until: Option<NaiveDate>,
    pub price: Option<Money>,
}

impl OfferDraft {
    /// The description trimmed, 1 to 2000 characters; the dates in order; a price ≥ 0.
    pub fn check(mut self) -> Result<OfferDraft, DomainError> {
        self.description = checked_text("description", &self.description, MAX_TEXT)?;
        if let (Some(from), Some(until)) = (self.wished_from, self.wished_until) {
            if from > until {
                return Err(DomainError::malformed(
                    "field `wished_from` must not be after `wished_until`",
                ));
            }
        }
        if self.price.is_some_and(|p| p.cents() < 0) {
            return Err(DomainError::malformed("field `price` cannot be negative"));
        }
        Ok(self)
    }
}

/// What a list of offers is filtered by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferFilter {
    pub category: Option<i64>,
    /// Words that must all appear in the description (case-insensitive).
    pub words: Vec<String>,
    pub kind: Option<OfferKind>,
    pub member: Option<MemberId>,
    /// Closed ones too (staff only).
    pub all: bool,
}

/// A conversation between two members, about an offer or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: i64,
    /// The two members, the lower id first.
    pub members: (MemberId, MemberId),
    pub offer: Option<i64>,
    pub last_activity: DateTime<Utc>,
    /// Whether one of its members reported it to the moderators.
    pub reported: bool,
    pub created_at: DateTime<Utc>,
}

impl Conversation {
    /// Whether `member` is one of its two members.
    pub fn has(&self, member: MemberId) -> bool {
        self.members.0 == member || self.members.1 == member
    }

    /// The other member than `member`.
    pub fn other(&self, member: MemberId) -> MemberId {
        if self.members.0 == member {
            self.members.1
        } else {
            self.members.0
        }
    }
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub conversation: i64,
    pub author: MemberId,
    pub text: String,
    /// Hidden by a moderator: kept, shown as hidden.
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
}

/// A conversation as one of its members lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub other: MemberId,
    pub last_message: Option<Message>,
    /// Messages of the other member this member has not read.
    pub unread: u64,
}

/// The same, with the other member's name, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationView {
    pub summary: ConversationSummary,
    pub other_name: String,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The conversation of the author with `with` about `offer`, started if none exists.
    Member { with: MemberId, offer: Option<i64> },
    /// An existing conversation (its membership checked by the caller).
    Conversation(i64),
}

/// A payment from member to member, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The payer's transfer-out transaction: the transfer's id.
    pub id: TransactionId,
    /// The payee's transfer-in transaction.
    pub incoming: TransactionId,
    pub from_card: CardId,
    pub to_card: CardId,
    pub from_member: MemberId,
    pub to_member: MemberId,
    pub amount: Money,
    pub offer: Option<i64>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Who cancelled it (`staff:<login>`), if it was.
    pub cancelled_by: Option<String>,
}

/// The two members of a payment as one read sees them: each one's cards and whether they
/// are suspended (`None`: no such member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub cards: Vec<Card>,
    pub suspended: bool,
}

/// The exchange's volume over a period: the transfers not cancelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExchangeVolume {
    pub transfers: i64,
    pub amount: Money,
}

/// A payment asked by a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub to: MemberId,
    pub amount: Money,
    pub offer: Option<i64>,
    pub note: Option<String>,
    /// The payer's card; by default their only active card.
    pub from_card: Option<CardId>,
}

impl TransferRequest {
    /// What makes two requests "the same request" for an `Idempotency-Key`.
    pub fn fingerprint(&self) -> String {
        format!(
            "transfer\n{}\n{}\n{}\n{}\n{}",
            self.to.0,
            self.amount.cents(),
            self.offer.map(|o| o.to_string()).unwrap_or_default(),
            self.note.as_deref().unwrap_or(""),
            self.from_card.as_ref().map(CardId::as_str).unwrap_or("")
        )
    }
}

/// The exchange's storage: offers, conversations, transfers' records, suspensions. Each
/// write is one atomic step of the store. (The transfers' money moves through
/// [`Ledger::apply`], never here.)
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ExchangeStore: Send + Sync {
    /// A transfer by its id (the payer's transfer-out transaction).
    async fn transfer(&self, id: TransactionId) -> Result<Option<Transfer>, DomainError>;
    /// The transfers made in `[from, until)`, not cancelled: how many and how much.
    async fn volume(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ExchangeVolume, DomainError>;
    /// Whether the member is suspended from the exchange.
    async fn suspended(&self, member: MemberId) -> Result<bool, DomainError>;
    /// The payer and the payee of a payment in one read (on the payment path): their cards
    /// by id and their suspensions; `None` for a member that does not exist.
    async fn parties(
        &self,
        payer: MemberId,
        payee: MemberId,
    ) -> Result<(Option<Party>, Option<Party>), DomainError>;
    /// Suspends (`true`) or reinstates a member: `UnknownMember`.
    async fn set_suspended(
        &self,
        member: MemberId,
        suspended: bool,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// Publishes an offer: `UnknownCategory`.
    async fn add_offer(
        &self,
        member: MemberId,
        draft: OfferDraft,
        at: DateTime<Utc>,
    ) -> Result<Offer, DomainError>;
    async fn offer(&self, id: i64) -> Result<Option<Offer>, DomainError>;
    /// Replaces an open offer's fields: `UnknownOffer`, `OfferClosed`, `UnknownCategory`.
    async fn update_offer(
        &self,
        id: i64,
        draft: OfferDraft,
        at: DateTime<Utc>,
    ) -> Result<Offer, DomainError>;
    /// Closes an open offer, recording by whom: `UnknownOffer`, `OfferClosed`.
    async fn close_offer(
        &self,
        id: i64,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<Offer, DomainError>;
    /// One page of the offers matching `filter`, newest first.
    async fn offer_page(
        &self,
        filter: OfferFilter,
        page: Page,
    ) -> Result<Paged<Offer>, DomainError>;

    /// Appends a message (the conversation started if needed; its last activity moved) and
    /// marks it read by its author, in one step: the conversation and the message.
    async fn post_message(
        &self,
        author: MemberId,
        to: Recipient,
        text: String,
        at: DateTime<Utc>,
    ) -> Result<(Conversation, Message), DomainError>;
    async fn conversation(&self, id: i64) -> Result<Option<Conversation>, DomainError>;
    /// One page of a member's conversations, newest activity first, with unread counts.
    async fn conversation_page(
        &self,
        member: MemberId,
        page: Page,
    ) -> Result<Paged<ConversationSummary>, DomainError>;
    /// One page of a conversation's messages, oldest first; with `reader`, the page's
    /// messages are marked read by that member.
    async fn message_page(
        &self,
        conversation: i64,
        reader: Option<MemberId>,
        page: Page,
    ) -> Result<Paged<Message>, DomainError>;
    /// Records that `by` reported the conversation to the moderators.
    async fn report(
        &self,
        conversation: i64,
        by: MemberId,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError>;
    /// Hides a message of `conversation` (kept, marked hidden): `UnknownMessage`.
    async fn hide_message(
        &self,
        conversation: i64,
        message: i64,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<Message, DomainError>;
    /// Takes the right to notify `recipient` of the conversation's new messages at `at`,
    /// in one guarded write: `true` if they were not notified since `since`.
    async fn claim_notification(
        &self,
        conversation: i64,
        recipient: MemberId,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
}

/// How a member hears of a new message: the seam of the notifications outbox, which does
/// not exist yet ([`NoMessageNotifier`] drops the news). Called at most once per conversation
/// per 10 minutes per recipient.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MessageNotifier: Send + Sync {
    async fn new_message(
        &self,
        recipient: MemberId,
        conversation: i64,
        from: &str,
    ) -> Result<(), DomainError>;
}

/// No channel yet: nobody is told.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMessageNotifier;

#[async_trait]
impl MessageNotifier for NoMessageNotifier {
    async fn new_message(
        &self,
        _recipient: MemberId,
        _conversation: i64,
        _from: &str,
    ) -> Result<(), DomainError> {
        Ok(())
    }
}

/// A text trimmed, 1 to `max` characters, or why not (naming `field`).
pub fn checked_text(field: &str, text: &str, max: usize) -> Result<String, DomainError> {
    let text = text.trim();
    let len = text.chars().count();
    if len == 0 || len > max {
        return Err(DomainError::malformed(format!(
            "field `{field}` must be 1 to {max} characters"
        )));
    }
    Ok(text.to_owned())
}

/// The name a member is shown by to other members.
pub fn shown_name(member: &Member) -> String {
    let p = &member.profile;
    if let Some(name) = &p.display_name {
        return name.clone();
    }
    let parts: Vec<&str> = [p.first_name.as_deref(), p.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        format!("#{}", member.id.0)
    } else {
        parts.join(" ")
    }
}

/// The exchange's use cases.
#[derive(Clone)]
pub struct Exchange {
    store: Arc<dyn ExchangeStore>,
    ledger: Arc<dyn Ledger>,
    members: Arc<dyn MemberDirectory>,
    /// The categories of offers are the catalogue's (`/v1/categories`).
    catalog: Arc<dyn Catalog>,
    notifier: Arc<dyn MessageNotifier>,
    clock: Arc<dyn Clock>,
    enabled: bool,
    max_operation: Money,
}

/// The guards of a transfer: the payer may not go below their floor, the payee above their
/// maximum; both cards must be usable.
const PAYER: Guard = Guard {
    floor: true,
    ceiling: false,
    usable: true,
};
const PAYEE: Guard = Guard {
    floor: false,
    ceiling: true,
    usable: true,
};

impl Exchange {
    /// Wires the use cases; `enabled` is `exchange.enabled`, `max_operation` the bar's
    /// `money.max_operation`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn ExchangeStore>,
        ledger: Arc<dyn Ledger>,
        members: Arc<dyn MemberDirectory>,
        catalog: Arc<dyn Catalog>,
        notifier: Arc<dyn MessageNotifier>,
        clock: Arc<dyn Clock>,
        enabled: bool,
        max_operation: Money,
    ) -> Exchange {
        Exchange {
            store,
            ledger,
            members,
            catalog,
            notifier,
            clock,
            enabled,
            max_operation,
        }
    }

    /// Whether the exchange is switched on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn on(&self) -> Result<(), DomainError> {
        if self.enabled {
            Ok(())
        } else {
            Err(DomainError::ExchangeDisabled)
        }
    }

    /// A member who may take part: the exchange is on and they are not suspended.
    async fn active_member(&self, principal: &Principal) -> Result<MemberId, DomainError> {
        self.on()?;
        let me = principal.own_member()?;
        if self.store.suspended(me).await? {
            return Err(DomainError::MemberSuspended);
        }
        Ok(me)
    }

    /// Whether the member is suspended from the exchange (they still read offers and their
    /// conversations, but may not publish, write or pay).
    pub async fn suspended(&self, principal: &Principal) -> Result<bool, DomainError> {
        self.on()?;
        let me = principal.own_member()?;
        self.store.suspended(me).await
    }

    /// The categories an offer may be published in (the catalogue's, by name): members, and
    /// staff with rights ≥ 1.
    pub async fn categories(&self, principal: &Principal) -> Result<Vec<Category>, DomainError> {
        self.on()?;
        match principal {
            Principal::Member(_) => {}
            Principal::Staff(actor) => actor.check(Operation::ReadExchange)?,
            Principal::Partner(_) => return Err(DomainError::InsufficientRights),
        }
        self.catalog.categories().await
    }

    /// The name another member is shown by in the exchange ([`shown_name`]): the author of an
    /// offer, the member of a conversation, the payee of a payment. `UnknownMember`.
    pub async fn member_name(
        &self,
        principal: &Principal,
        member: MemberId,
    ) -> Result<String, DomainError> {
        self.on()?;
        match principal {
            Principal::Member(_) => {}
            Principal::Staff(actor) => actor.check(Operation::ReadExchange)?,
            Principal::Partner(_) => return Err(DomainError::InsufficientRights),
        }
        self.members
            .member(member)
            .await?
            .map(|m| shown_name(&m))
            .ok_or(DomainError::UnknownMember)
    }

    fn moderator(&self, principal: &Principal) -> Result<String, DomainError> {
        self.on()?;
        match principal {
            Principal::Staff(actor) => {
                actor.check(Operation::ModerateExchange)?;
                Ok(format!("staff:{}", actor.login))
            }
            _ => Err(DomainError::InsufficientRights),
        }
    }

    /// The offers (members, and staff with rights ≥ 1), newest first; closed ones only for
    /// staff who ask for them.
    pub async fn offers(
        &self,
        principal: &Principal,
        mut filter: OfferFilter,
        page: Page,
    ) -> Result<Paged<Offer>, DomainError> {
        self.on()?;
        match principal {
            Principal::Member(_) => {
                if filter.all {
                    return Err(DomainError::InsufficientRights);
                }
            }
            Principal::Staff(actor) => actor.check(Operation::ReadExchange)?,
            Principal::Partner(_) => return Err(DomainError::InsufficientRights),
        }
        filter.words.retain(|w| !w.is_empty());
        self.store.offer_page(filter, page).await
    }

    /// One offer (as [`Exchange::offers`]; a closed one too).
    pub async fn offer(&self, principal: &Principal, id: i64) -> Result<Offer, DomainError> {
        self.on()?;
        match principal {
            Principal::Member(_) => {}
            Principal::Staff(actor) => actor.check(Operation::ReadExchange)?,
            Principal::Partner(_) => return Err(DomainError::InsufficientRights),
        }
        self.store.offer(id).await?.ok_or(DomainError::UnknownOffer)
    }

    /// Publishes an offer or a request (a member).
    pub async fn publish(
        &self,
        principal: &Principal,
        draft: OfferDraft,
    ) -> Result<Offer, DomainError> {
        let me = self.active_member(principal).await?;
        let draft = draft.check()?;
        self.store.add_offer(me, draft, self.clock.now()).await
    }

    /// Who may change an offer: its author, or a moderator; how they are recorded.
    async fn offer_editor(&self, principal: &Principal, id: i64) -> Result<String, DomainError> {
        self.on()?;
        let offer = self
            .store
            .offer(id)
            .await?
            .ok_or(DomainError::UnknownOffer)?;
        match principal {
            Principal::Member(me) if *me == offer.member => {
                if self.store.suspended(*me).await? {
                    return Err(DomainError::MemberSuspended);
                }
                Ok(format!("member:{}", me.0))
            }
            Principal::Member(_) => Err(DomainError::InsufficientRights),
            _ => self.moderator(principal),
        }
    }

    /// Edits an open offer (its author, or a moderator).
    pub async fn edit_offer(
        &self,
        principal: &Principal,
        id: i64,
        draft: OfferDraft,
    ) -> Result<Offer, DomainError> {
        self.offer_editor(principal, id).await?;
        let draft = draft.check()?;
        self.store.update_offer(id, draft, self.clock.now()).await
    }

    /// Closes an open offer (its author, or a moderator: recorded).
    pub async fn close_offer(&self, principal: &Principal, id: i64) -> Result<Offer, DomainError> {
        let by = self.offer_editor(principal, id).await?;
        self.store.close_offer(id, by, self.clock.now()).await
    }

    /// Writes to a member, about an offer or not: the conversation of the two about that
    /// offer, started if needed. The conversation and the message.
    pub async fn write_to(
        &self,
        principal: &Principal,
        with: MemberId,
        offer: Option<i64>,
        text: &str,
    ) -> Result<(Conversation, Message), DomainError> {
        let me = self.active_member(principal).await?;
        let text = checked_text("text", text, MAX_TEXT)?;
        if with == me {
            return Err(DomainError::malformed(
                "field `with` must be another member than you",
            ));
        }
        if self.members.member(with).await?.is_none() {
            return Err(DomainError::UnknownMember);
        }
        if let Some(offer) = offer {
            if self.store.offer(offer).await?.is_none() {
                return Err(DomainError::UnknownOffer);
            }
        }
        let now = self.clock.now();
        let posted = self
            .store
            .post_message(me, Recipient::Member { with, offer }, text, now)
            .await?;
        self.notify(&posted.0, me, with).await;
        Ok(posted)
    }

    /// A conversation the principal may read: one of its members, or a moderator once it was
    /// reported. Anyone else: `UnknownConversation`, as for one that does not exist.
    async fn readable(
        &self,
        principal: &Principal,
        id: i64,
    ) -> Result<(Conversation, Option<MemberId>), DomainError> {
        self.on()?;
        let conversation = self.store.conversation(id).await?;
        match (principal, conversation) {
            (Principal::Member(me), Some(c)) if c.has(*me) => Ok((c, Some(*me))),
            (Principal::Staff(actor), Some(c))
                if c.reported && actor.may(Operation::ModerateExchange) =>
            {
                Ok((c, None))
            }
            (Principal::Partner(_), _) => Err(DomainError::InsufficientRights),
            _ => Err(DomainError::UnknownConversation),
        }
    }

    /// A conversation of the member's own, or `UnknownConversation`.
    async fn own_conversation(
        &self,
        principal: &Principal,
        id: i64,
    ) -> Result<(Conversation, MemberId), DomainError> {
        self.on()?;
        let me = principal.own_member()?;
        match self.store.conversation(id).await? {
            Some(c) if c.has(me) => Ok((c, me)),
            _ => Err(DomainError::UnknownConversation),
        }
    }

    /// Answers in one of the member's conversations.
    pub async fn answer(
        &self,
        principal: &Principal,
        id: i64,
        text: &str,
    ) -> Result<(Conversation, Message), DomainError> {
        let (conversation, me) = self.own_conversation(principal, id).await?;
        if self.store.suspended(me).await? {
            return Err(DomainError::MemberSuspended);
        }
        let text = checked_text("text", text, MAX_TEXT)?;
        let posted = self
            .store
            .post_message(me, Recipient::Conversation(id), text, self.clock.now())
            .await?;
        self.notify(&posted.0, me, conversation.other(me)).await;
        Ok(posted)
    }

    /// Tells `recipient` of a new message, at most once per conversation per 10 minutes. A
    /// failure to notify never fails the message (it is logged by the notifier).
    async fn notify(&self, conversation: &Conversation, from: MemberId, recipient: MemberId) {
        let now = self.clock.now();
        let since = now - Duration::minutes(NOTIFY_EVERY_MINUTES);
        let claimed = self
            .store
            .claim_notification(conversation.id, recipient, now, since)
            .await;
        if claimed == Ok(true) {
            let name = match self.members.member(from).await {
                Ok(Some(m)) => shown_name(&m),
                _ => format!("#{}", from.0),
            };
            let _ = self
                .notifier
                .new_message(recipient, conversation.id, &name)
                .await;
        }
    }

    /// The member's conversations, newest activity first, with the other member's name, the
    /// last message and the unread count.
    pub async fn conversations(
        &self,
        principal: &Principal,
        page: Page,
    ) -> Result<Paged<ConversationView>, DomainError> {
        self.on()?;
        let me = principal.own_member()?;
        let list = self.store.conversation_page(me, page).await?;
        let mut items = Vec::with_capacity(list.items.len());
        for summary in list.items {
            let other_name = match self.members.member(summary.other).await? {
                Some(m) => shown_name(&m),
                None => format!("#{}", summary.other.0),
            };
            items.push(ConversationView {
                summary,
                other_name,
            });
        }
        Ok(Paged {
            items,
            page: list.page,
            total: list.total,
        })
    }

    /// One conversation (one of its members, or a moderator once it was reported); anyone
    /// else: `UnknownConversation`, as for one that does not exist.
    pub async fn conversation(
        &self,
        principal: &Principal,
        id: i64,
    ) -> Result<Conversation, DomainError> {
        Ok(self.readable(principal, id).await?.0)
    }

    /// One page of a conversation's messages, oldest first; read by one of its members, they
    /// are marked read. A moderator reads a reported conversation.
    pub async fn messages(
        &self,
        principal: &Principal,
        id: i64,
        page: Page,
    ) -> Result<Paged<Message>, DomainError> {
        let (_, reader) = self.readable(principal, id).await?;
        self.store.message_page(id, reader, page).await
    }

    /// Reports one of the member's conversations to the moderators.
    pub async fn report(&self, principal: &Principal, id: i64) -> Result<(), DomainError> {
        let (_, me) = self.own_conversation(principal, id).await?;
        self.store.report(id, me, self.clock.now()).await
    }

    /// Hides a message of a reported conversation (a moderator): kept, marked hidden.
    pub async fn hide_message(
        &self,
        principal: &Principal,
        conversation: i64,
        message: i64,
    ) -> Result<Message, DomainError> {
        let by = self.moderator(principal)?;
        self.readable(principal, conversation).await?;
        self.store
            .hide_message(conversation, message, by, self.clock.now())
            .await
    }

    /// Suspends a member from the exchange, or reinstates them (a moderator).
    pub async fn suspend(
        &self,
        principal: &Principal,
        member: MemberId,
        suspended: bool,
    ) -> Result<(), DomainError> {
        let by = self.moderator(principal)?;
        self.store
            .set_suspended(member, suspended, by, self.clock.now())
            .await
    }

    /// Pays another member from card to card (a member), idempotent by the client's
    /// `Idempotency-Key` (`key`: the key and the hash of [`TransferRequest::fingerprint`]).
    /// The payee's card is their active card (the lowest id if they have several). The
    /// receipt is the payer's; its transaction id is the transfer's.
    pub async fn transfer(
        &self,
        principal: &Principal,
        request: TransferRequest,
        key: Option<(String, String)>,
    ) -> Result<Applied, DomainError> {
        self.on()?;
        let me = principal.own_member()?;
        let key = match key {
            Some((key, hash)) => Some(client_key(format!("member:{}", me.0), key, hash)?),
            None => None,
        };
        if let Some(key) = &key {
            if let Some(answer) = self.ledger.idempotent_answer(&key.owner, &key.key).await? {
                if answer.request_hash != key.request_hash {
                    return Err(DomainError::IdempotencyKeyReused);
                }
                return Ok(Applied {
                    receipt: answer.receipt,
                    replayed: true,
                });
            }
        }
        let outcome = self.transfer_once(me, &request, key.clone()).await;
        match (outcome, key) {
            (Ok(receipt), _) => Ok(Applied {
                receipt,
                replayed: false,
            }),
            (Err(e @ DomainError::IdempotencyKeyReused), Some(key)) => {
                // A concurrent retry of the same request won the race: answer what it did.
                match self.ledger.idempotent_answer(&key.owner, &key.key).await? {
                    Some(answer) if answer.request_hash == key.request_hash => Ok(Applied {
                        receipt: answer.receipt,
                        replayed: true,
                    }),
                    _ => Err(e),
                }
            }
            (Err(e), _) => Err(e),
        }
    }

    async fn transfer_once(
        &self,
        me: MemberId,
        request: &TransferRequest,
        key: Option<crate::ports::IdempotencyKey>,
    ) -> Result<Receipt, DomainError> {
        if request.to == me {
            return Err(DomainError::SelfTransfer);
        }
        if !request.amount.is_positive() {
            return Err(DomainError::NegativePayment);
        }
        if request.amount > self.max_operation {
            return Err(DomainError::malformed(format!(
                "amount {} is above the maximum of {} per operation (money.max_operation)",
                request.amount, self.max_operation
            )));
        }
        let note = match request.note.as_deref() {
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(checked_text("note", text, MAX_NOTE)?),
            None => None,
        };
        // One read for both members: the payment path stays short.
        let (payer, payee) = self.store.parties(me, request.to).await?;
        let payer = payer.ok_or(DomainError::UnknownMember)?;
        let payee = payee.ok_or(DomainError::UnknownMember)?;
        if payer.suspended || payee.suspended {
            return Err(DomainError::MemberSuspended);
        }
        if let Some(offer) = request.offer {
            if self.store.offer(offer).await?.is_none() {
                return Err(DomainError::UnknownOffer);
            }
        }
        let now = self.clock.now();
        let usable = |c: &Card| c.state_at(now) == CardState::Active;
        let from = match &request.from_card {
            Some(named) => payer
                .cards
                .into_iter()
                .find(|c| &c.id == named)
                .ok_or(DomainError::UnknownCard)?,
            None => {
                let mut active = payer.cards.into_iter().filter(usable);
                match (active.next(), active.next()) {
                    (Some(card), None) => card,
                    (None, _) => return Err(DomainError::CardBlocked(CardState::Blocked)),
                    (Some(_), Some(_)) => {
                        return Err(DomainError::malformed(
                            "field `from_card` is missing: you have several active cards",
                        ))
                    }
                }
            }
        };
        let to = payee
            .cards
            .into_iter()
            .find(usable)
            .ok_or(DomainError::CardBlocked(CardState::Blocked))?;
        let movement = Movement {
            card: from.id,
            author: format!("member:{}", me.0),
            at: now,
            action: Action::Transfer {
                to: to.id,
                amount: request.amount,
                payer: PAYER,
                payee: PAYEE,
                record: Box::new(TransferRecord {
                    from_member: me,
                    to_member: request.to,
                    offer: request.offer,
                    note,
                }),
            },
            idempotency: key.map(Box::new),
            credit: None,
            service: None,
        };
        self.ledger.apply(movement).await.map_err(blocked)
    }

    /// One transfer: its two members, or a moderator.
    pub async fn transfer_record(
        &self,
        principal: &Principal,
        id: TransactionId,
    ) -> Result<Transfer, DomainError> {
        self.on()?;
        let found = self.store.transfer(id).await?;
        match (principal, found) {
            (Principal::Member(me), Some(t)) if t.from_member == *me || t.to_member == *me => Ok(t),
            (Principal::Staff(actor), Some(t)) if actor.may(Operation::ModerateExchange) => Ok(t),
            (Principal::Staff(actor), _) => {
                actor.check(Operation::ModerateExchange)?;
                Err(DomainError::UnknownTransfer)
            }
            (Principal::Partner(_), _) => Err(DomainError::InsufficientRights),
            _ => Err(DomainError::UnknownTransfer),
        }
    }

    /// Cancels a transfer (a moderator), once: both sides restored in one movement, the
    /// payee's floor and the payer's ceiling guarded. The payer's receipt.
    pub async fn cancel_transfer(
        &self,
        principal: &Principal,
        id: TransactionId,
    ) -> Result<Receipt, DomainError> {
        let by = self.moderator(principal)?;
        let transfer = self
            .store
            .transfer(id)
            .await?
            .ok_or(DomainError::UnknownTransfer)?;
        if transfer.cancelled_by.is_some() {
            return Err(DomainError::AlreadyCancelled);
        }
        let movement = Movement {
            card: transfer.from_card,
            author: by,
            at: self.clock.now(),
            action: Action::CancelTransfer {
                transfer: transfer.id,
                incoming: transfer.incoming,
                to: transfer.to_card,
                amount: transfer.amount,
                payer: Guard {
                    ceiling: true,
                    ..Guard::default()
                },
                payee: Guard {
                    floor: true,
                    ..Guard::default()
                },
            },
            idempotency: None,
            credit: None,
            service: None,
        };
        self.ledger.apply(movement).await
    }

    /// The exchange's volume over `[from, until)` (staff with rights ≥ 2, as the statistics).
    pub async fn volume(
        &self,
        principal: &Principal,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ExchangeVolume, DomainError> {
        match principal {
            Principal::Staff(actor) => actor.check(Operation::Statistics)?,
            _ => return Err(DomainError::InsufficientRights),
        }
        self.store.volume(from, until).await
    }
}

/// A card of a transfer that cannot be used answers `CardBlocked` (the exchange's code).
fn blocked(e: DomainError) -> DomainError {
    match e {
        DomainError::CardNotUsable(state) => DomainError::CardBlocked(state),
        other => other,
    }
}
