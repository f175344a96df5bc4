//! Money movements and the ledger's reads.
//!
//! A batch of movements is one write transaction. A movement that can be refused after a
//! write (a cancel, a credit with its records, an idempotency key) runs under its own
//! savepoint, so a refused movement is undone alone; the others need none, since their
//! guards refuse before anything is written (see [`needs_savepoint`]). A movement never reads a balance to compute a new
//! one: the guard sits in the `UPDATE`'s `WHERE` clause, and a card is read only to explain a
//! refusal (or, for a drain, under a row lock).

use ardoise_domain::bar::{explain_refusal, guard_allows};
use ardoise_domain::ports::{
    Action, CreditRecord, Guard, Ledger, Movement, Receipt, StoredAnswer, StoredCredit, TillQuery,
    TillRead, Totals,
};
use ardoise_domain::TransactionKind;
use ardoise_domain::{CapPeriod, CardStatus};
use ardoise_domain::{Card, CardId, DomainError, Money, Page, Paged, Transaction, TransactionId};
use async_trait::async_trait;
use diesel::Connection;
use std::time::Instant;

use crate::db::{with_conn, with_writer_conn, WriterDb};
use crate::error::Failure;
use crate::member_events::{queue_events, watches_of};
use crate::outbox::OutboxSql;
use crate::pg_batch::{plain_post_run, transfer_run, PostBatch};
use crate::rows::{
    millis, CardRow, CreditRow, IdempotencyRow, MemberRow, NewCard, NewChange, NewTransaction,
    ReplacementCard, TransactionRow, TransferRow,
};
use crate::services::{check_record, write_record, ServiceSql};
use crate::snapshots::RecentList;
use crate::sql::{Sql, MAX_BALANCE_CENTS};
use crate::writer::Touch;
use crate::Store;

/// How many times a batch is tried again after a lock conflict with another writer
/// (PostgreSQL deadlock or serialization failure) before answering `StorageUnavailable`.
const CONFLICT_RETRIES: usize = 5;

/// How many times a guarded update is tried again when it matched no row although the card,
/// read just after, passes the guard (another PostgreSQL transaction changed it in between).
const CHANGED_CARD_RETRIES: usize = 3;

/// What a batch answers: each movement's outcome in order, and the outcome of its session
/// touches (all or none).
pub(crate) type BatchAnswers = (Vec<Result<Receipt, DomainError>>, Result<(), DomainError>);

/// Applies `movements` in one database transaction, each under its own savepoint, and
/// answers each one's outcome in order. Only commits are answered `Ok`: if the transaction
/// cannot commit, every movement gets the error and nothing is written. The sessions'
/// `touches` are written in the same transaction, under one savepoint of their own: a
/// failed touch never undoes a movement.
pub(crate) fn apply_batch(
    db: &mut WriterDb,
    movements: &[Movement],
    touches: &[Touch],
) -> BatchAnswers {
    if movements.is_empty() && touches.is_empty() {
        return (Vec::new(), Ok(()));
    }
    let mut mode = Mode::Grouped;
    let mut attempt = 0;
    loop {
        let mut unexpected = false;
        match with_writer_conn!(&mut *db, |conn| apply_batch_on(
            conn,
            movements,
            touches,
            mode,
            &mut unexpected
        )) {
            Ok(results) => return results,
            Err(failure) if unexpected && mode == Mode::Grouped => {
                // Nothing was committed: apply the batch again, each movement under its
                // savepoint, so that the error stays with its movement.
                tracing::warn!(error = ?failure, "a movement failed unexpectedly: applying its batch one savepoint each");
                mode = Mode::OneByOne;
            }
            Err(failure) if failure.is_conflict() && attempt < CONFLICT_RETRIES => {
                attempt += 1;
                tracing::debug!(attempt, "batch conflicted with another writer, retrying");
            }
            Err(failure) => {
                let error = failure.into_domain();
                let answers = movements.iter().map(|_| Err(error.clone())).collect();
                return (answers, Err(error));
            }
        }
    }
}

/// The cards `movements` may change: each movement's card, and a replacement's new card or
/// a transfer's other card.
pub(crate) fn touched_cards(movements: &[Movement]) -> impl Iterator<Item = &str> {
    movements.iter().flat_map(|m| {
        let new_card = match &m.action {
            Action::Replace { new_card } => Some(new_card.as_str()),
            Action::Transfer { to, .. } | Action::CancelTransfer { to, .. } => Some(to.as_str()),
            _ => None,
        };
        std::iter::once(m.card.as_str()).chain(new_card)
    })
}

/// The cards `movements` may change, each once, in the id order every writer locks them in
/// (so that two batches never wait for each other in a cycle).
pub(crate) fn lock_order(movements: &[Movement]) -> Vec<&str> {
    let mut cards: Vec<&str> = touched_cards(movements).collect();
    cards.sort_unstable();
    cards.dedup();
    cards
}

/// How a batch protects its movements from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A movement whose refusals all come before its first write (see [`needs_savepoint`])
    /// runs without a savepoint: a refusal changed nothing. Any other error aborts the
    /// whole transaction, and the batch is applied again in [`Mode::OneByOne`].
    Grouped,
    /// Every movement under its own savepoint.
    OneByOne,
}

/// Whether a movement can be refused after it wrote something, so that only a savepoint can
/// undo it: a cancel or redo (the flip, then the balance's guard), a replacement (several
/// writes), movements that record a partner's credit or a service's record (refused after
/// the balance moved), and any action not listed here as refused before its first write.
///
/// An idempotency key needs none: [`apply_one`] looks it up before the first write, in the
/// batch's transaction, and refuses a known key then. Its insert after the movement can still
/// conflict only if another process inserted the same key meanwhile (PostgreSQL; never on
/// SQLite, whose write transaction excludes every other writer): that is an unexpected
/// failure, and the batch is applied again one savepoint each. A transfer needs none either:
/// when the payee's guard refuses after the payer's debit, [`apply_action`] gives the payer
/// its balance back before it answers the refusal, and nothing else was written yet.
fn needs_savepoint(m: &Movement) -> bool {
    let single_guarded_write = matches!(
        m.action,
        Action::Open { .. }
            | Action::Post { .. }
            | Action::Drain
            | Action::SetOverdraft { .. }
            | Action::SetStatus { .. }
            | Action::SetValidUntil { .. }
            | Action::Transfer { .. }
    );
    m.credit.is_some() || m.service.is_some() || !single_guarded_write
}

fn apply_batch_on<C: Sql + ServiceSql + PostBatch + OutboxSql>(
    conn: &mut C,
    movements: &[Movement],
    touches: &[Touch],
    mode: Mode,
    unexpected: &mut bool,
) -> Result<BatchAnswers, Failure> {
    if mode == Mode::Grouped && touches.is_empty() {
        // PostgreSQL: a batch of payments and top-ups only is one statement, one round trip.
        match conn.post_batch(movements) {
            Ok(Some(answers)) => return Ok((answers, Ok(()))),
            Ok(None) => {}
            Err(failure) => {
                *unexpected = !failure.is_batch_fatal();
                return Err(failure);
            }
        }
    }
    conn.write_transaction(|conn| {
        // A replacement touches its new card too (created by it, or already there and then
        // refused): locked in the same id order as the others.
        conn.lock_cards(&lock_order(movements))?;
        // Who wants to hear of these movements: their alerts and receipts are queued with
        // them, in this transaction.
        let watches = watches_of(conn, movements)?;
        let mut results = Vec::with_capacity(movements.len());
        // Whether runs of posts may go at once (`post_run`): never on SQLite.
        let mut runs = mode == Mode::Grouped;
        let mut next = 0;
        for (i, movement) in movements.iter().enumerate() {
            if i < next {
                continue; // applied with its run of posts
            }
            if runs {
                // PostgreSQL: a run of payments and top-ups in one round trip.
                let run = &movements[i..i + plain_post_run(&movements[i..])];
                if !run.is_empty() {
                    match conn.post_run(run) {
                        Ok(Some(answers)) => {
                            for (m, answer) in run.iter().zip(&answers) {
                                if let Ok(receipt) = answer {
                                    if let Err(failure) = queue_events(conn, &watches, m, receipt) {
                                        *unexpected = !failure.is_batch_fatal();
                                        return Err(failure);
                                    }
                                }
                            }
                            results.extend(answers);
                            next = i + run.len();
                            continue;
                        }
                        Ok(None) => runs = false,
                        Err(failure) => {
                            *unexpected = !failure.is_batch_fatal();
                            return Err(failure);
                        }
                    }
                }
                // PostgreSQL: a run of member-to-member transfers in one round trip.
                let run = &movements[i..i + transfer_run(&movements[i..])];
                if runs && !run.is_empty() {
                    match conn.transfer_run(run) {
                        Ok(Some(answers)) => {
                            results.extend(answers);
                            next = i + run.len();
                            continue;
                        }
                        Ok(None) => runs = false,
                        Err(failure) => {
                            *unexpected = !failure.is_batch_fatal();
                            return Err(failure);
                        }
                    }
                }
            }
            if mode == Mode::Grouped && !needs_savepoint(movement) {
                // A failure to queue its events is unexpected: the batch is applied again one
                // savepoint each, where it undoes this movement alone.
                match apply_one(conn, movement, Undo::Nothing).and_then(|receipt| {
                    queue_events(conn, &watches, movement, &receipt).map(|()| receipt)
                }) {
                    Ok(receipt) => results.push(Ok(receipt)),
                    // Refused before any write: nothing to undo.
                    Err(Failure::Refused(e)) => results.push(Err(e)),
                    Err(failure) => {
                        *unexpected = !failure.is_batch_fatal();
                        return Err(failure);
                    }
                }
                continue;
            }
            // A nested diesel transaction is a SAVEPOINT: an error rolls back to it.
            match conn.transaction(|conn| {
                let receipt = apply_one(conn, movement, Undo::Savepoint)?;
                queue_events(conn, &watches, movement, &receipt)?;
                Ok::<_, Failure>(receipt)
            }) {
                Ok(receipt) => results.push(Ok(receipt)),
                // A conflict, a lost connection, a lock timeout: the batch cannot commit.
                Err(failure) if failure.is_batch_fatal() => return Err(failure),
                // A refusal, or an error of this movement alone, undone by its savepoint.
                Err(failure) => results.push(Err(failure.into_domain())),
            }
        }
        let touched = if touches.is_empty() {
            Ok(())
        } else {
            match conn.transaction(|conn| touch_all(conn, touches)) {
                Ok(()) => Ok(()),
                Err(failure) if failure.is_batch_fatal() => return Err(failure),
                Err(failure) => Err(failure.into_domain()),
            }
        };
        Ok((results, touched))
    })
}

fn touch_all<C: Sql>(conn: &mut C, touches: &[Touch]) -> Result<(), Failure> {
    for touch in touches {
        conn.touch_session(&touch.token_hash, touch.at_ms)?;
    }
    Ok(())
}

fn new_transaction<'a>(
    m: &'a Movement,
    kind: TransactionKind,
    amount: Money,
    quantity: u32,
    product: Option<&'a str>,
) -> NewTransaction<'a> {
    NewTransaction {
        kind: kind.code(),
        card_id: m.card.as_str(),
        amount_cents: amount.cents(),
        quantity: i64::from(quantity),
        product,
        valid: true,
        author: &m.author,
        created_at: millis(m.at),
    }
}

/// What a committed movement appended to the ledger, for the snapshots of the latest
/// transactions (`crate::snapshots`).
pub(crate) enum Recorded {
    /// No transaction: a card's settings changed.
    Nothing,
    /// This transaction, by the movement's author, exactly as the ledger's reads answer it.
    One(Transaction),
    /// Transactions of the movement's author not known here (a transfer's, a replacement's).
    Other,
    /// A transaction's validity changed (a cancel, a redo), whoever wrote it.
    Flipped,
}

/// What `m`, answered `receipt` by a committed batch, appended to the ledger: the row
/// [`apply_action`] inserted, with the id the database gave it.
pub(crate) fn recorded_transaction(m: &Movement, receipt: &Receipt) -> Recorded {
    let new = match &m.action {
        Action::Open { opening, .. } => {
            new_transaction(m, TransactionKind::Creation, *opening, 0, None)
        }
        Action::Post {
            kind,
            amount,
            quantity,
            product,
            ..
        } => new_transaction(m, *kind, *amount, *quantity, product.as_deref()),
        // The amount recorded is the balance emptied, which the receipt names.
        Action::Drain => new_transaction(m, TransactionKind::Drain, receipt.amount, 0, None),
        Action::SetOverdraft { .. } | Action::SetStatus { .. } | Action::SetValidUntil { .. } => {
            return Recorded::Nothing
        }
        Action::Flip { .. } | Action::CancelTransfer { .. } => return Recorded::Flipped,
        Action::Replace { .. } | Action::Transfer { .. } => return Recorded::Other,
    };
    let row = TransactionRow {
        id: receipt.transaction.0,
        kind: new.kind,
        card_id: new.card_id.to_owned(),
        amount_cents: new.amount_cents,
        quantity: new.quantity,
        product: new.product.map(str::to_owned),
        valid: new.valid,
        author: new.author.to_owned(),
        created_at: new.created_at,
    };
    row.into_transaction()
        .map_or(Recorded::Other, Recorded::One)
}

fn receipt(
    m: &Movement,
    transaction: TransactionId,
    before: Money,
    after: Money,
    amount: Money,
) -> Receipt {
    Receipt {
        transaction,
        card: m.card.clone(),
        balance_before: before,
        balance_after: after,
        amount,
    }
}

fn overflow() -> Failure {
    Failure::Refused(overflow_error())
}

/// The refusal of a movement that would take a balance out of range.
pub(crate) fn overflow_error() -> DomainError {
    DomainError::malformed("the balance would overflow")
}

fn negative_limit() -> Failure {
    Failure::Refused(DomainError::malformed(
        "the overdraft limit cannot be negative",
    ))
}

/// What undoes a movement's writes if it is refused after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undo {
    /// Its own savepoint: a refusal after a write is rolled back with the savepoint.
    Savepoint,
    /// Nothing: every refusal must come before the first write (see [`needs_savepoint`]).
    Nothing,
}

/// One movement and its records (credit, idempotency key), with the semantics of
/// `ardoise_domain::memory`. Under its savepoint (`Undo::Savepoint`) a refused record undoes
/// the movement too; without one, a record that cannot be written after the movement is an
/// unexpected failure (the batch is not committed, and is applied again one savepoint each).
fn apply_one<C: Sql + ServiceSql>(
    conn: &mut C,
    m: &Movement,
    undo: Undo,
) -> Result<Receipt, Failure> {
    if let Some(credit) = &m.credit {
        earlier_credit(conn, m, credit)?;
    }
    if let Some(key) = &m.idempotency {
        // A known key is refused before any write. (A retry of a debit that reached its cap
        // must hear the key, and so replay the first answer, never the cap.)
        if conn.find_idempotency(&key.owner, &key.key)?.is_some() {
            return Err(DomainError::IdempotencyKeyReused.into());
        }
    }
    if let Some(record) = &m.service {
        check_record(conn, m, record)?;
    }
    let receipt = apply_action(conn, m)?;
    if let Some(credit) = &m.credit {
        record_credit(conn, m, credit, &receipt)?;
    }
    if let Some(record) = &m.service {
        write_record(conn, m, record, &receipt)?;
    }
    if let Some(key) = &m.idempotency {
        let inserted = conn.insert_idempotency(&IdempotencyRow {
            owner: key.owner.clone(),
            idempotency_key: key.key.clone(),
            request_hash: key.request_hash.clone(),
            transaction_id: receipt.transaction.0,
            card_id: receipt.card.as_str().to_owned(),
            amount_cents: receipt.amount.cents(),
            balance_before_cents: receipt.balance_before.cents(),
            balance_after_cents: receipt.balance_after.cents(),
            created_at: millis(m.at),
        })?;
        if !inserted {
            return Err(match undo {
                Undo::Savepoint => DomainError::IdempotencyKeyReused.into(),
                // The movement is written and cannot be taken back alone.
                Undo::Nothing => Failure::Lost(
                    "an idempotency key was recorded by another writer during its movement".into(),
                ),
            });
        }
    }
    Ok(receipt)
}

/// Refuses a partner's credit whose reference or idempotency key was used before, before
/// anything else is checked: a retry of a credit that reached the daily cap must hear
/// `ReferenceReused` or `IdempotencyKeyReused` (and so replay the first answer), never the
/// cap. Takes the partner's row lock (PostgreSQL; the write transaction on SQLite), held until
/// the commit, so that the look-up, the cap's sum and the inserts are one step.
fn earlier_credit<C: Sql>(
    conn: &mut C,
    m: &Movement,
    credit: &CreditRecord,
) -> Result<(), Failure> {
    conn.lock_partner(&credit.partner)?;
    if conn
        .find_credit(&credit.partner, &credit.reference)?
        .is_some()
    {
        return Err(DomainError::ReferenceReused.into());
    }
    if let Some(key) = &m.idempotency {
        if conn.find_idempotency(&key.owner, &key.key)?.is_some() {
            return Err(DomainError::IdempotencyKeyReused.into());
        }
    }
    Ok(())
}

/// Records a partner's credit: refused if its reference was used, or if the partner's credits
/// since the start of the day would pass its daily cap. The partner's row lock (PostgreSQL,
/// taken by [`earlier_credit`]) or the write transaction (SQLite) makes the sum and the insert
/// one step.
fn record_credit<C: Sql>(
    conn: &mut C,
    m: &Movement,
    credit: &CreditRecord,
    receipt: &Receipt,
) -> Result<(), Failure> {
    let mut today: i64 = 0;
    for cents in conn.credit_amounts_since(&credit.partner, millis(credit.day_start))? {
        today = today.checked_add(cents).ok_or_else(overflow)?;
    }
    if today.saturating_add(receipt.amount.cents()) > credit.day_cap.cents() {
        return Err(DomainError::CreditCapExceeded {
            cap: credit.day_cap,
            period: CapPeriod::Day,
        }
        .into());
    }
    let inserted = conn.insert_credit(&CreditRow {
        partner: credit.partner.clone(),
        reference: credit.reference.clone(),
        transaction_id: receipt.transaction.0,
        card_id: receipt.card.as_str().to_owned(),
        amount_cents: receipt.amount.cents(),
        balance_before_cents: receipt.balance_before.cents(),
        balance_after_cents: receipt.balance_after.cents(),
        created_at: millis(m.at),
    })?;
    if !inserted {
        return Err(DomainError::ReferenceReused.into());
    }
    Ok(())
}

/// What a movement does to its card and the ledger.
fn apply_action<C: Sql>(conn: &mut C, m: &Movement) -> Result<Receipt, Failure> {
    let card = m.card.as_str();
    match &m.action {
        Action::Open {
            opening,
            overdraft_limit,
        } => {
            // The schema refuses these too; refusing here names the problem.
            if overdraft_limit.cents() < 0 {
                return Err(negative_limit());
            }
            if opening.cents().abs() > MAX_BALANCE_CENTS {
                return Err(overflow());
            }
            let inserted = conn.insert_card(&NewCard {
                id: card,
                balance_cents: opening.cents(),
                overdraft_limit_cents: overdraft_limit.cents(),
                status: "active",
                created_at: millis(m.at),
            })?;
            if !inserted {
                return Err(DomainError::CardExists.into());
            }
            let id = conn.insert_transaction(&new_transaction(
                m,
                TransactionKind::Creation,
                *opening,
                0,
                None,
            ))?;
            Ok(receipt(
                m,
                TransactionId(id),
                Money::ZERO,
                *opening,
                *opening,
            ))
        }
        Action::Post {
            kind,
            amount,
            quantity,
            product,
            guard,
        } => {
            let delta = kind.signed(*amount);
            let after = guarded_add(conn, m, delta, guard)?;
            let id = conn.insert_transaction(&new_transaction(
                m,
                *kind,
                *amount,
                *quantity,
                product.as_deref(),
            ))?;
            let before = Money::from_cents(after.cents() - delta.cents());
            Ok(receipt(m, TransactionId(id), before, after, *amount))
        }
        Action::Drain => {
            // The row lock (PostgreSQL) or the write transaction (SQLite) keeps the balance
            // read here current until the commit.
            let row = conn
                .card_for_update(card)?
                .ok_or(DomainError::UnknownCard)?;
            let before = Money::from_cents(row.balance_cents);
            if !before.is_positive() {
                return Err(DomainError::NegativeBalance.into());
            }
            if !conn.replace_balance(card, before.cents(), 0)? {
                return Err(Failure::Lost(format!(
                    "the balance of locked card {card} changed during a drain"
                )));
            }
            let id = conn.insert_transaction(&new_transaction(
                m,
                TransactionKind::Drain,
                before,
                0,
                None,
            ))?;
            Ok(receipt(m, TransactionId(id), before, Money::ZERO, before))
        }
        Action::Flip {
            transaction,
            valid_after,
            delta,
            guard,
        } => {
            // A replaced card stays at zero: its corrections would land on a card nobody
            // holds. Its row is locked for the batch (or the write transaction is), so this
            // read stays true until the commit.
            if let Some(by) = conn.find_card(card)?.and_then(|row| row.replaced_by) {
                return Err(DomainError::CardReplaced(by).into());
            }
            let amount = flip(conn, card, *transaction, *valid_after)?;
            // If the guard refuses, the savepoint rollback undoes the flip too.
            let after = guarded_add(conn, m, *delta, guard)?;
            conn.insert_change(&NewChange {
                transaction_id: transaction.0,
                valid_after: *valid_after,
                changed_by: &m.author,
                changed_at: millis(m.at),
            })?;
            let before = Money::from_cents(after.cents() - delta.cents());
            Ok(receipt(m, *transaction, before, after, amount))
        }
        Action::SetOverdraft { limit } => {
            if limit.cents() < 0 {
                return Err(negative_limit());
            }
            let balance = conn
                .set_overdraft(card, limit.cents())?
                .ok_or(DomainError::UnknownCard)?;
            let balance = Money::from_cents(balance);
            Ok(receipt(m, TransactionId(0), balance, balance, *limit))
        }
        Action::SetStatus { status } => {
            let balance = match conn.set_status(card, status.as_str())? {
                Some(balance) => balance,
                None => return Err(unchangeable(conn, card)?),
            };
            let balance = Money::from_cents(balance);
            Ok(receipt(m, TransactionId(0), balance, balance, Money::ZERO))
        }
        Action::SetValidUntil { until } => {
            let balance = match conn.set_valid_until(card, until.map(millis))? {
                Some(balance) => balance,
                None => return Err(unchangeable(conn, card)?),
            };
            let balance = Money::from_cents(balance);
            Ok(receipt(m, TransactionId(0), balance, balance, Money::ZERO))
        }
        Action::Replace { new_card } => replace(conn, m, new_card),
        Action::Transfer {
            to,
            amount,
            payer,
            payee,
            record,
        } => {
            let after = guarded_add(conn, m, amount.negated(), payer)?;
            if let Err(refusal) = guarded_add_to(conn, m, to, *amount, payee) {
                // The payee's card refuses (blocked, expired, full): the payer gets its
                // balance back here, in the batch's transaction, which holds both cards (their
                // row locks on PostgreSQL, the write lock on SQLite), so the transfer is
                // refused having changed nothing, even without a savepoint of its own.
                let before = after.cents() + amount.cents();
                if !conn.replace_balance(card, after.cents(), before)? {
                    return Err(Failure::Lost(format!(
                        "the balance of locked card {card} changed during a refused transfer"
                    )));
                }
                return Err(refusal);
            }
            let out = conn.insert_transaction(&new_transaction(
                m,
                TransactionKind::TransferOut,
                *amount,
                0,
                None,
            ))?;
            let incoming = conn.insert_transaction(&NewTransaction {
                card_id: to.as_str(),
                ..new_transaction(m, TransactionKind::TransferIn, *amount, 0, None)
            })?;
            conn.insert_transfer(&TransferRow {
                transaction_id: out,
                incoming_id: incoming,
                from_card: card.to_owned(),
                to_card: to.as_str().to_owned(),
                from_member: record.from_member.0,
                to_member: record.to_member.0,
                amount_cents: amount.cents(),
                offer_id: record.offer,
                note: record.note.clone(),
                created_at: millis(m.at),
                cancelled_by: None,
                cancelled_at: None,
            })?;
            let before = Money::from_cents(after.cents() + amount.cents());
            Ok(receipt(m, TransactionId(out), before, after, *amount))
        }
        Action::CancelTransfer {
            transfer,
            incoming,
            to,
            amount,
            payer,
            payee,
        } => {
            // The flip of the payer's half decides "once"; all under the savepoint.
            flip(conn, card, *transfer, false)?;
            flip(conn, to.as_str(), *incoming, false)?;
            guarded_add_to(conn, m, to, amount.negated(), payee)?;
            let after = guarded_add(conn, m, *amount, payer)?;
            for id in [transfer, incoming] {
                conn.insert_change(&NewChange {
                    transaction_id: id.0,
                    valid_after: false,
                    changed_by: &m.author,
                    changed_at: millis(m.at),
                })?;
            }
            if !conn.cancel_transfer(transfer.0, &m.author, millis(m.at))? {
                return Err(DomainError::AlreadyCancelled.into());
            }
            let before = Money::from_cents(after.cents() - amount.cents());
            Ok(receipt(m, *transfer, before, after, *amount))
        }
    }
}

/// Why a card's settings could not be changed: it is unknown, or it was replaced.
fn unchangeable<C: Sql>(conn: &mut C, card: &str) -> Result<Failure, Failure> {
    Ok(match conn.find_card(card)? {
        None => DomainError::UnknownCard.into(),
        Some(row) => match row.replaced_by {
            Some(by) => DomainError::CardReplaced(by).into(),
            None => Failure::Lost(format!("card {card} could not be changed")),
        },
    })
}

/// Replaces `m.card` by `new_card`: the new card is created with the old one's balance and
/// settings, the old one emptied and retired, and the balance recorded as a transfer-out and
/// a transfer-in — all under the movement's savepoint, so that nothing of it stays if any
/// step is refused. The old card's balance is read under its row lock (PostgreSQL) or the
/// write transaction (SQLite), and emptied only if it still is that balance.
fn replace<C: Sql>(conn: &mut C, m: &Movement, new_card: &CardId) -> Result<Receipt, Failure> {
    let card = m.card.as_str();
    let old = conn
        .card_for_update(card)?
        .ok_or(DomainError::UnknownCard)?;
    if let Some(by) = old.replaced_by {
        return Err(DomainError::CardReplaced(by).into());
    }
    let inserted = conn.insert_replacement(&ReplacementCard {
        id: new_card.as_str(),
        balance_cents: old.balance_cents,
        overdraft_limit_cents: old.overdraft_limit_cents,
        max_balance_cents: old.max_balance_cents,
        status: CardStatus::Active.as_str(),
        valid_until: old.valid_until,
        member_id: old.member_id,
        created_at: millis(m.at),
    })?;
    if !inserted {
        return Err(DomainError::CardExists.into());
    }
    // A lost card stays lost; an active one is blocked: a replaced card never pays again.
    let status = match old.status.as_str() {
        "active" => CardStatus::Blocked.as_str(),
        other => other,
    };
    if !conn.retire_card(card, old.balance_cents, status, new_card.as_str())? {
        return Err(Failure::Lost(format!(
            "the balance of locked card {card} changed during a replacement"
        )));
    }
    let moved = Money::from_cents(old.balance_cents);
    conn.insert_transaction(&new_transaction(
        m,
        TransactionKind::TransferOut,
        moved,
        0,
        None,
    ))?;
    let id = conn.insert_transaction(&NewTransaction {
        card_id: new_card.as_str(),
        ..new_transaction(m, TransactionKind::TransferIn, moved, 0, None)
    })?;
    Ok(Receipt {
        transaction: TransactionId(id),
        card: new_card.clone(),
        balance_before: Money::ZERO,
        balance_after: moved,
        amount: moved,
    })
}

/// Flips a transaction of `card` to `valid_after` if it is in the other state; its amount.
fn flip<C: Sql>(
    conn: &mut C,
    card: &str,
    transaction: TransactionId,
    valid_after: bool,
) -> Result<Money, Failure> {
    for _ in 0..CHANGED_CARD_RETRIES {
        if let Some(amount) = conn.flip(transaction.0, card, valid_after)? {
            return Ok(Money::from_cents(amount));
        }
        match conn.find_transaction(transaction.0)? {
            Some(t) if t.card_id == card && t.valid == valid_after => {
                return Err(if valid_after {
                    DomainError::AlreadyActive
                } else {
                    DomainError::AlreadyCancelled
                }
                .into());
            }
            Some(t) if t.card_id == card => {} // flipped back meanwhile: try again
            _ => return Err(DomainError::UnknownTransaction.into()),
        }
    }
    Err(Failure::Lost(format!(
        "transaction {transaction} kept changing during a cancel or redo"
    )))
}

/// Adds `delta` to the card's balance under `guard`; the new balance, or why not.
fn guarded_add<C: Sql>(
    conn: &mut C,
    m: &Movement,
    delta: Money,
    guard: &Guard,
) -> Result<Money, Failure> {
    guarded_add_to(conn, m, &m.card, delta, guard)
}

/// Adds `delta` to `card`'s balance under `guard` for movement `m` (a transfer's other card);
/// the new balance, or why not.
fn guarded_add_to<C: Sql>(
    conn: &mut C,
    m: &Movement,
    card: &CardId,
    delta: Money,
    guard: &Guard,
) -> Result<Money, Failure> {
    for _ in 0..CHANGED_CARD_RETRIES {
        let written = conn.guarded_add(card.as_str(), delta.cents(), guard, millis(m.at))?;
        if let Some(after) = written {
            return Ok(Money::from_cents(after));
        }
        // No row matched: say why, or try again if the card passes now (it changed between).
        check_guard(conn, m, card, delta, guard)?;
    }
    Err(Failure::Lost(format!(
        "card {card} kept changing during a guarded update"
    )))
}

/// What [`guarded_add_to`] would refuse of adding `delta` to `card` under `guard`, read
/// without writing.
fn check_guard<C: Sql>(
    conn: &mut C,
    m: &Movement,
    card: &CardId,
    delta: Money,
    guard: &Guard,
) -> Result<(), Failure> {
    let current = conn
        .find_card(card.as_str())?
        .ok_or(DomainError::UnknownCard)?
        .into_card()?;
    if !guard_allows(&current, delta, guard, m.at) {
        return Err(explain_refusal(&current, delta, guard, m.at).into());
    }
    if current.balance.checked_add(delta).is_none() {
        return Err(overflow());
    }
    Ok(())
}

fn cards(rows: Vec<CardRow>) -> Result<Vec<Card>, Failure> {
    rows.into_iter().map(CardRow::into_card).collect()
}

fn transactions(rows: Vec<TransactionRow>) -> Result<Vec<Transaction>, Failure> {
    rows.into_iter()
        .map(TransactionRow::into_transaction)
        .collect()
}

#[async_trait]
impl Ledger for Store {
    async fn card(&self, id: &CardId) -> Result<Option<Card>, DomainError> {
        let id = id.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_card(id.as_str())?
                .map(CardRow::into_card)
                .transpose())
        })
        .await
    }

    async fn card_snapshot(&self, id: &CardId) -> Result<Option<Card>, DomainError> {
        let snapshots = &self.snapshots().cards;
        let started = Instant::now();
        if let Some(card) = snapshots.get(id.as_str(), started) {
            return Ok(Some(card));
        }
        // Read before the database, so that a write committed meanwhile refuses the answer.
        let seen = snapshots.generation();
        let found = self.card(id).await?;
        if let Some(card) = &found {
            snapshots.put(card.id.as_str().to_owned(), card.clone(), started, seen);
        }
        Ok(found)
    }

    async fn till_read(&self, query: TillQuery) -> Result<TillRead, DomainError> {
        // As `card_snapshot`, and the member and the recent list from their snapshots too
        // (the writer keeps a card's balance and an author's list up to date as it commits):
        // what is not in memory is read in one blocking task on one connection.
        let snapshots = self.snapshots();
        let started = Instant::now();
        let card = query
            .card
            .as_ref()
            .and_then(|id| snapshots.cards.get(id.as_str(), started));
        let member = match (&card, query.member) {
            (Some(card), true) => card
                .member
                .and_then(|id| snapshots.members.get(&id.0, started)),
            _ => None,
        };
        let recent = query.author.as_ref().and_then(|author| {
            snapshots
                .recent
                .get(author.as_str(), started)
                .and_then(|list| list.first(query.limit))
        });
        let card_known = query.card.is_none() || card.is_some();
        let member_known = !query.member
            || card
                .as_ref()
                .is_none_or(|c| c.member.is_none() || member.is_some());
        let recent_known = query.author.is_none() || recent.is_some();
        if card_known && member_known && recent_known {
            return Ok(TillRead {
                card,
                member,
                recent: recent.unwrap_or_default(),
            });
        }
        // Read before the database, so that a write committed meanwhile refuses the answers.
        let seen = (
            snapshots.cards.generation(),
            snapshots.members.generation(),
            snapshots.recent.generation(),
        );
        let (cached_card, cached_member, cached_recent) =
            (card.is_some(), member.is_some(), recent.is_some());
        let (author, limit) = (query.author.clone(), query.limit);
        let (card, member, recent) = self
            .blocking(move |db| {
                with_conn!(db, |conn| {
                    let card = match (card, &query.card) {
                        (Some(card), _) => Some(card),
                        (None, Some(id)) => conn
                            .find_card(id.as_str())?
                            .map(CardRow::into_card)
                            .transpose()?,
                        (None, None) => None,
                    };
                    let member = match (member, card.as_ref().and_then(|c| c.member)) {
                        (Some(member), _) => Some(member),
                        (None, Some(id)) if query.member => conn
                            .find_member(id.0)?
                            .map(MemberRow::into_member)
                            .transpose()?,
                        _ => None,
                    };
                    let recent = match (recent, &query.author) {
                        (Some(recent), _) => Some(recent),
                        (None, Some(author)) => Some(transactions(
                            conn.author_transactions(author, query.limit)?,
                        )?),
                        (None, None) => None,
                    };
                    Ok::<_, Failure>((card, member, recent))
                })
            })
            .await?;
        if let (Some(card), false) = (&card, cached_card) {
            snapshots
                .cards
                .put(card.id.as_str().to_owned(), card.clone(), started, seen.0);
        }
        if let (Some(member), false) = (&member, cached_member) {
            snapshots
                .members
                .put(member.id.0, member.clone(), started, seen.1);
        }
        if let (Some(transactions), false, Some(author)) = (&recent, cached_recent, author) {
            let list = RecentList {
                limit,
                transactions: transactions.clone(),
            };
            snapshots.recent.put(author, list, started, seen.2);
        }
        Ok(TillRead {
            card,
            member,
            recent: recent.unwrap_or_default(),
        })
    }

    async fn cards(&self) -> Result<Vec<Card>, DomainError> {
        self.blocking(|db| with_conn!(db, |conn| cards(conn.all_cards()?)))
            .await
    }

    async fn transaction(&self, id: TransactionId) -> Result<Option<Transaction>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_transaction(id.0)?
                .map(TransactionRow::into_transaction)
                .transpose())
        })
        .await
    }

    async fn card_transactions(&self, card: &CardId) -> Result<Vec<Transaction>, DomainError> {
        let card = card.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| transactions(
                conn.card_transactions(card.as_str())?
            ))
        })
        .await
    }

    async fn author_transactions(
        &self,
        author: &str,
        limit: u32,
    ) -> Result<Vec<Transaction>, DomainError> {
        let author = author.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| transactions(
                conn.author_transactions(&author, limit)?
            ))
        })
        .await
    }

    async fn transactions(
        &self,
        after: Option<TransactionId>,
        limit: Option<u32>,
    ) -> Result<Vec<Transaction>, DomainError> {
        let after = after.map_or(0, |t| t.0);
        let limit = limit.map(i64::from);
        self.blocking(move |db| {
            with_conn!(db, |conn| transactions(
                conn.transactions_after(after, limit)?
            ))
        })
        .await
    }

    async fn transaction_page(
        &self,
        card: Option<CardId>,
        page: Page,
    ) -> Result<Paged<Transaction>, DomainError> {
        let offset = i64::try_from(page.offset())
            .map_err(|_| DomainError::malformed("field `page` is too large"))?;
        let limit = i64::from(page.per_page());
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let card = card.as_ref().map(CardId::as_str);
                // One read transaction: one snapshot on SQLite. On PostgreSQL (read
                // committed) a transaction appended in between may be counted and not yet
                // listed; the ledger is append-only, so the next page shows it.
                conn.transaction(|conn| {
                    let total = conn.count_transactions(card)?;
                    let rows = conn.transactions_page(card, offset, limit)?;
                    Ok::<_, Failure>(Paged {
                        items: transactions(rows)?,
                        page,
                        total: u64::try_from(total).unwrap_or_default(),
                    })
                })
            })
        })
        .await
    }

    async fn totals(&self) -> Result<Totals, DomainError> {
        self.blocking(|db| {
            with_conn!(db, |conn| {
                let mut t = conn.totals()?;
                // By login in byte order, whatever the database's collation.
                t.by_author.sort();
                Ok(Totals {
                    positive_balances: Money::from_cents(t.positive),
                    negative_balances: Money::from_cents(t.negative),
                    cards: t.cards,
                    positive_cards: t.positive_cards,
                    consumed_quantity: t.consumed,
                    valid_amounts_by_author: t
                        .by_author
                        .into_iter()
                        .map(|(author, cents)| (author, Money::from_cents(cents)))
                        .collect(),
                })
            })
        })
        .await
    }

    async fn apply(&self, movement: Movement) -> Result<Receipt, DomainError> {
        self.writer().apply(movement).await
    }

    async fn idempotent_answer(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<StoredAnswer>, DomainError> {
        let (owner, key) = (owner.to_owned(), key.to_owned());
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_idempotency(&owner, &key)?
                .map(IdempotencyRow::into_answer)
                .transpose())
        })
        .await
    }

    async fn credit_by_reference(
        &self,
        partner: &str,
        reference: &str,
    ) -> Result<Option<StoredCredit>, DomainError> {
        let (partner, reference) = (partner.to_owned(), reference.to_owned());
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_credit(&partner, &reference)?
                .map(CreditRow::into_credit)
                .transpose())
        })
        .await
    }
}
