//! The messages ardoise sends a member by itself (services.md, members.md), through their
//! preferences: a low-balance alert after a payment (once per crossing of their threshold),
//! a receipt of each top-up or partner credit when they asked for receipts, a card blocked or
//! declared lost; and, through [`MemberMail`], the invitation and password-reset links by
//! e-mail and the news of an exchange message.
//!
//! The movements' events are queued by the store's writer in the very transaction of the movement that causes
//! them, from a [`Watch`] it reads once per batch. The texts are templates with `{card}`,
//! `{amount}` and `{balance}` placeholders: [`Watch::messages`] fills them in, and so does
//! PostgreSQL's one-statement batch (`pg_batch.rs`), with the same templates, kinds and
//! recipient rules as bound parameters.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Channels, LinkPurpose, Preferences};
use crate::card::CardStatus;
use crate::error::DomainError;
use crate::exchange::MessageNotifier;
use crate::ids::{CardId, MemberId};
use crate::member::Member;
use crate::money::Money;
use crate::notifications::Wakeup;
use crate::notify::Channel;
use crate::outbox::Outbox;
use crate::outbox::{NewMessage, Origin};
use crate::ports::{Clock, MemberAccounts, MemberDirectory, MemberLinkSender};
use crate::transaction::TransactionKind;

/// A member event's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// The outbox's `event`.
    pub event: &'static str,
    pub title: &'static str,
    /// With `{card}`, `{amount}` and `{balance}` to fill in.
    pub text: &'static str,
}

/// The alert of a balance fallen below the member's threshold.
pub const LOW_BALANCE: Template = Template {
    event: "low_balance",
    title: "Low balance",
    text: "Card {card}: the balance is {balance}, below your alert level. Top up at the bar.",
};

/// The receipt of money put on a card (at the bar or by a partner).
pub const RECEIPT: Template = Template {
    event: "receipt",
    title: "Receipt",
    text: "Card {card}: {amount} added, the balance is now {balance}.",
};

/// A card blocked by staff: the member hears of it (it may not be their doing).
pub const CARD_BLOCKED: Template = Template {
    event: "card_blocked",
    title: "Card blocked",
    text: "Card {card} was blocked: it can no longer pay. Ask the bar if you did not expect it.",
};

/// A card declared lost: the member hears of it (a confirmation, or a warning if it was not
/// them).
pub const CARD_LOST: Template = Template {
    event: "card_lost",
    title: "Card declared lost",
    text: "Card {card} was declared lost: it can no longer pay. The bar replaces it, keeping its \
           balance.",
};

/// The message a card's new status causes: blocked or lost, not active again.
pub fn status_event(status: CardStatus) -> Option<Template> {
    match status {
        CardStatus::Blocked => Some(CARD_BLOCKED),
        CardStatus::Lost => Some(CARD_LOST),
        CardStatus::Active => None,
    }
}

/// The movements after which a low-balance alert may be due: payments at the bar and
/// partners' debits.
pub const LOW_BALANCE_KINDS: [TransactionKind; 2] =
    [TransactionKind::Payment, TransactionKind::PartnerDebit];

/// The movements that get a receipt: top-ups, at the bar or by a partner's credit.
pub const RECEIPT_KINDS: [TransactionKind; 1] = [TransactionKind::TopUp];

/// Whether a movement of `kind` may cause a member event at all.
pub fn may_notify(kind: TransactionKind) -> bool {
    LOW_BALANCE_KINDS.contains(&kind) || RECEIPT_KINDS.contains(&kind)
}

/// An amount as members read it in a message: `3.50`, `-12.00`.
pub fn amount_text(money: Money) -> String {
    let cents = money.cents();
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// What the writer needs to know of a card's member: their threshold, whether they want
/// receipts, and where they are reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub member: MemberId,
    pub low_balance: Option<Money>,
    pub receipts: bool,
    /// `(channel, address)` for each channel the member chose and has an address on.
    pub recipients: Vec<(Channel, String)>,
}

impl Watch {
    /// Where a member who chose `channels` is reached: e-mail at their address, SMS at their
    /// mobile (else their phone). No push registration is kept for members yet.
    pub fn recipients(
        channels: Channels,
        email: Option<&str>,
        mobile: Option<&str>,
        phone: Option<&str>,
    ) -> Vec<(Channel, String)> {
        let present = |a: Option<&str>| {
            a.map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
        };
        let mut out = Vec::new();
        if let Some(email) = present(email).filter(|_| channels.email) {
            out.push((Channel::Email, email));
        }
        if let Some(phone) = present(mobile).or(present(phone)).filter(|_| channels.sms) {
            out.push((Channel::Sms, phone));
        }
        out
    }

    /// A member reached through their chosen channels (the default ones when they never
    /// chose), for the messages everyone gets (a card blocked or lost).
    pub fn contact(
        member: MemberId,
        channels: Option<Channels>,
        email: Option<&str>,
        mobile: Option<&str>,
        phone: Option<&str>,
    ) -> Watch {
        let channels = channels.unwrap_or(Preferences::default().channels);
        Watch {
            member,
            low_balance: None,
            receipts: false,
            recipients: Watch::recipients(channels, email, mobile, phone),
        }
    }

    /// The event a movement of `kind` that took the balance from `before` to `after` causes:
    /// a low-balance alert only when it crosses the threshold (from at or above to below),
    /// so a member hears of it once per crossing; a receipt when they want receipts.
    pub fn event(&self, kind: TransactionKind, before: Money, after: Money) -> Option<Template> {
        if LOW_BALANCE_KINDS.contains(&kind) {
            let threshold = self.low_balance?;
            return (before >= threshold && after < threshold).then_some(LOW_BALANCE);
        }
        if RECEIPT_KINDS.contains(&kind) && self.receipts {
            return Some(RECEIPT);
        }
        None
    }

    /// The messages of `template` about `card`, one per recipient.
    pub fn messages(
        &self,
        template: Template,
        card: &CardId,
        amount: Money,
        balance: Money,
    ) -> Vec<NewMessage> {
        let text = template
            .text
            .replace("{card}", card.as_str())
            .replace("{amount}", &amount_text(amount))
            .replace("{balance}", &amount_text(balance));
        self.recipients
            .iter()
            .map(|(channel, to)| NewMessage {
                channel: *channel,
                to: to.clone(),
                event: template.event.to_owned(),
                title: template.title.to_owned(),
                message: text.clone(),
                link: None,
                picture: None,
                origin: Origin::Ardoise,
                member: Some(self.member),
                webhook_partner: None,
                skip: None,
                idempotency: None,
            })
            .collect()
    }
}

/// The member messages that no movement causes, queued in the outbox on their own: the
/// invitation and password-reset links by e-mail ([`MemberLinkSender`]) and the news of a
/// message on the exchange ([`MessageNotifier`]), through the channels the member chose.
pub struct MemberMail {
    outbox: Arc<dyn Outbox>,
    members: Arc<dyn MemberDirectory>,
    accounts: Arc<dyn MemberAccounts>,
    clock: Arc<dyn Clock>,
    wakeup: Arc<dyn Wakeup>,
    /// The channels `[notify]` configures: nothing is queued for another.
    configured: Vec<Channel>,
}

impl MemberMail {
    /// The member messages, queued for the `configured` channels; `wakeup` tells the
    /// delivery worker.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        members: Arc<dyn MemberDirectory>,
        accounts: Arc<dyn MemberAccounts>,
        clock: Arc<dyn Clock>,
        wakeup: Arc<dyn Wakeup>,
        configured: Vec<Channel>,
    ) -> MemberMail {
        MemberMail {
            outbox,
            members,
            accounts,
            clock,
            wakeup,
            configured,
        }
    }

    async fn queue(&self, messages: Vec<NewMessage>) -> Result<bool, DomainError> {
        let any = !messages.is_empty();
        let at = self.clock.now();
        for message in messages {
            self.outbox.queue(message, at).await?;
        }
        if any {
            self.wakeup.wake();
        }
        Ok(any)
    }
}

/// A message from ardoise to `member`.
fn to_member(
    member: MemberId,
    (channel, to): (Channel, String),
    event: &str,
    title: &str,
    message: String,
    link: Option<String>,
) -> NewMessage {
    NewMessage {
        channel,
        to,
        event: event.to_owned(),
        title: title.to_owned(),
        message,
        link,
        picture: None,
        origin: Origin::Ardoise,
        member: Some(member),
        webhook_partner: None,
        skip: None,
        idempotency: None,
    }
}

#[async_trait]
impl MemberLinkSender for MemberMail {
    /// A link goes by e-mail only (it opens the account): `false` without an e-mail channel
    /// or address, and staff hand the invitation's link over themselves.
    async fn send_link(
        &self,
        member: &Member,
        purpose: LinkPurpose,
        link: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        if !self.configured.contains(&Channel::Email) {
            return Ok(false);
        }
        let email_only = Channels {
            email: true,
            sms: false,
            push: false,
        };
        let Some(recipient) =
            Watch::recipients(email_only, member.profile.email.as_deref(), None, None).pop()
        else {
            return Ok(false);
        };
        let until = expires_at.format("%Y-%m-%d %H:%M UTC");
        let (event, title, message) = match purpose {
            LinkPurpose::Welcome => (
                "invitation",
                "Your member account",
                format!("You are invited to your member space at the bar. Choose your password with this link, valid until {until}."),
            ),
            LinkPurpose::Reset => (
                "password_reset",
                "Reset your password",
                format!("Choose a new password with this link, valid until {until}. If you did not ask for it, ignore this message."),
            ),
        };
        let message = to_member(
            member.id,
            recipient,
            event,
            title,
            message,
            Some(link.to_owned()),
        );
        self.queue(vec![message]).await
    }
}

#[async_trait]
impl MessageNotifier for MemberMail {
    async fn new_message(
        &self,
        recipient: MemberId,
        _conversation: i64,
        from: &str,
    ) -> Result<(), DomainError> {
        let Some(member) = self.members.member(recipient).await? else {
            return Ok(());
        };
        let channels = self
            .accounts
            .preferences(recipient)
            .await?
            .unwrap_or_default()
            .channels;
        let p = &member.profile;
        let from: String = from.chars().take(60).collect();
        let messages = Watch::recipients(
            channels,
            p.email.as_deref(),
            p.mobile.as_deref(),
            p.phone.as_deref(),
        )
        .into_iter()
        .filter(|(channel, _)| self.configured.contains(channel))
        .map(|r| {
            let text = format!(
                "{from} wrote to you on the members' exchange. Read it in your member space."
            );
            to_member(recipient, r, "exchange_message", "New message", text, None)
        })
        .collect();
        self.queue(messages).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(low_balance: Option<i64>, receipts: bool) -> Watch {
        Watch {
            member: MemberId(7),
            low_balance: low_balance.map(Money::from_cents),
            receipts,
            recipients: vec![(Channel::Email, "ana@example.org".into())],
        }
    }

    #[test]
    fn a_low_balance_alert_is_due_once_per_crossing() {
        let w = watch(Some(500), false);
        let pay = |before, after| {
            w.event(
                TransactionKind::Payment,
                Money::from_cents(before),
                Money::from_cents(after),
            )
        };
        assert_eq!(pay(600, 499), Some(LOW_BALANCE));
        assert_eq!(pay(500, 499), Some(LOW_BALANCE));
        assert_eq!(pay(499, 300), None, "already below: no second alert");
        assert_eq!(pay(900, 500), None, "at the threshold is not below it");
        assert_eq!(
            watch(None, true).event(
                TransactionKind::Payment,
                Money::from_cents(600),
                Money::from_cents(1)
            ),
            None
        );
        assert_eq!(
            w.event(TransactionKind::Drain, Money::from_cents(600), Money::ZERO),
            None
        );
    }

    #[test]
    fn receipts_only_for_top_ups_of_members_who_want_them() {
        let top_up =
            |w: &Watch| w.event(TransactionKind::TopUp, Money::ZERO, Money::from_cents(1000));
        assert_eq!(top_up(&watch(None, true)), Some(RECEIPT));
        assert_eq!(top_up(&watch(Some(500), false)), None);
    }

    #[test]
    fn messages_fill_the_template_for_each_recipient() {
        let mut w = watch(Some(500), false);
        w.recipients.push((Channel::Sms, "+33612345678".into()));
        let card = CardId::parse("CAFE0001").unwrap();
        let m = w.messages(
            LOW_BALANCE,
            &card,
            Money::from_cents(250),
            Money::from_cents(-1250),
        );
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0].message,
            "Card CAFE0001: the balance is -12.50, below your alert level. Top up at the bar."
        );
        assert_eq!(
            (m[1].channel, m[1].to.as_str()),
            (Channel::Sms, "+33612345678")
        );
        assert_eq!(m[0].origin, Origin::Ardoise);
        assert_eq!(m[0].member, Some(MemberId(7)));
        let r = w.messages(
            RECEIPT,
            &card,
            Money::from_cents(1000),
            Money::from_cents(1003),
        );
        assert_eq!(
            r[0].message,
            "Card CAFE0001: 10.00 added, the balance is now 10.03."
        );
        assert_eq!(amount_text(Money::from_cents(5)), "0.05");
    }

    #[test]
    fn a_blocked_or_lost_card_is_told_through_the_default_channels_if_none_chosen() {
        assert_eq!(status_event(CardStatus::Lost), Some(CARD_LOST));
        assert_eq!(status_event(CardStatus::Blocked), Some(CARD_BLOCKED));
        assert_eq!(status_event(CardStatus::Active), None);
        let w = Watch::contact(MemberId(3), None, Some("a@b.org"), Some("+336"), None);
        assert_eq!(w.recipients, vec![(Channel::Email, "a@b.org".to_owned())]);
        let card = CardId::parse("CAFE0001").unwrap();
        let m = w.messages(CARD_LOST, &card, Money::ZERO, Money::ZERO);
        assert!(m[0].message.chars().count() <= 166, "{}", m[0].message);
        assert_eq!(
            m[0].message,
            "Card CAFE0001 was declared lost: it can no longer pay. The bar replaces it, keeping its balance."
        );
    }

    #[test]
    fn recipients_follow_the_chosen_channels_and_known_addresses() {
        let all = Channels {
            email: true,
            sms: true,
            push: true,
        };
        assert_eq!(
            Watch::recipients(all, Some("a@b.org"), Some(" "), Some("+331")),
            vec![
                (Channel::Email, "a@b.org".to_owned()),
                (Channel::Sms, "+331".to_owned())
            ]
        );
        let email_only = Channels {
            email: true,
            sms: false,
            push: false,
        };
        assert_eq!(
            Watch::recipients(email_only, None, Some("+336"), None),
            Vec::<(Channel, String)>::new()
        );
    }
}
