//! The member events a batch's movements cause (`ardoise_domain::member_events`): a
//! low-balance alert, a receipt, a card blocked or declared lost. They are queued in the outbox in the batch's own
//! transaction, under the movement's savepoint when it has one: the movement and its messages
//! commit together, or neither does.
//!
//! The watches of a batch's cards are read once per batch, and only when the batch holds a
//! post that may cause an event; a batch of cards nobody watches then costs that one indexed
//! read. PostgreSQL's one-statement batch queues the same events in SQL (`pg_batch.rs`).

use std::collections::HashMap;

use ardoise_domain::member_events::{may_notify, status_event, Watch};
use ardoise_domain::ports::{Action, Movement, Receipt};
use ardoise_domain::{CardStatus, Channels, MemberId, Money};

use crate::error::Failure;
use crate::outbox::{queue_in, OutboxSql};
use crate::sql::Sql;

/// Who watches each card of a batch, by card id.
pub(crate) type Watches = HashMap<String, Watch>;

/// The card of `m` if it is a post that may cause a member event.
fn notifying_card(m: &Movement) -> Option<&str> {
    match &m.action {
        Action::Post { kind, .. } if may_notify(*kind) => Some(m.card.as_str()),
        _ => None,
    }
}

/// The watches of the cards `movements` post to (nothing read if no post may notify).
pub(crate) fn watches_of<C: Sql>(conn: &mut C, movements: &[Movement]) -> Result<Watches, Failure> {
    let mut cards: Vec<&str> = movements.iter().filter_map(notifying_card).collect();
    if cards.is_empty() {
        return Ok(Watches::new());
    }
    cards.sort_unstable();
    cards.dedup();
    let rows = conn.watches(&cards)?;
    let mut watches = Watches::with_capacity(rows.len());
    for (card, member, email, sms, push, low_balance, receipts, address, mobile, phone) in rows {
        let channels = Channels { email, sms, push };
        let watch = Watch {
            member: MemberId(member),
            low_balance: low_balance.map(Money::from_cents),
            receipts,
            recipients: Watch::recipients(
                channels,
                address.as_deref(),
                mobile.as_deref(),
                phone.as_deref(),
            ),
        };
        watches.insert(card, watch);
    }
    Ok(watches)
}

/// Queues, in the current transaction, the events that movement `m`, applied as `receipt`,
/// causes to the member watching its card.
pub(crate) fn queue_events<C: OutboxSql + Sql>(
    conn: &mut C,
    watches: &Watches,
    m: &Movement,
    receipt: &Receipt,
) -> Result<(), Failure> {
    if let Action::SetStatus { status } = &m.action {
        return queue_status_event(conn, m, *status);
    }
    if watches.is_empty() {
        return Ok(());
    }
    let (Action::Post { kind, amount, .. }, Some(watch)) =
        (&m.action, watches.get(m.card.as_str()))
    else {
        return Ok(());
    };
    let Some(template) = watch.event(*kind, receipt.balance_before, receipt.balance_after) else {
        return Ok(());
    };
    let messages = watch.messages(template, &m.card, *amount, receipt.balance_after);
    if !messages.is_empty() {
        queue_in(conn, &messages, m.at)?;
    }
    Ok(())
}

/// Queues the message of a card blocked or declared lost to its member, if it has one.
fn queue_status_event<C: OutboxSql + Sql>(
    conn: &mut C,
    m: &Movement,
    status: CardStatus,
) -> Result<(), Failure> {
    let Some(template) = status_event(status) else {
        return Ok(());
    };
    let Some((member, email, sms, push, address, mobile, phone)) =
        conn.card_contact(m.card.as_str())?
    else {
        return Ok(());
    };
    let channels = match (email, sms, push) {
        (Some(email), Some(sms), Some(push)) => Some(Channels { email, sms, push }),
        _ => None,
    };
    let watch = Watch::contact(
        MemberId(member),
        channels,
        address.as_deref(),
        mobile.as_deref(),
        phone.as_deref(),
    );
    let messages = watch.messages(template, &m.card, Money::ZERO, Money::ZERO);
    if !messages.is_empty() {
        queue_in(conn, &messages, m.at)?;
    }
    Ok(())
}
