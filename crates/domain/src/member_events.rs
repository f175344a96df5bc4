//! The messages ardoise sends a member by itself (services.md, members.md), through their
//! preferences: a low-balance alert after a payment (once per crossing of their threshold)
//! and a receipt of each top-up or partner credit when they asked for receipts.
//!
//! Both are queued by the store's writer in the very transaction of the movement that causes
//! them, from a [`Watch`] it reads once per batch. The texts are templates with `{card}`,
//! `{amount}` and `{balance}` placeholders: [`Watch::messages`] fills them in, and so does
//! PostgreSQL's one-statement batch (`pg_batch.rs`), with the same templates, kinds and
//! recipient rules as bound parameters.

use crate::account::Channels;
use crate::ids::{CardId, MemberId};
use crate::money::Money;
use crate::notify::Channel;
use crate::outbox::{NewMessage, Origin};
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
