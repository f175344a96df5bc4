//! PostgreSQL: a batch's payments and top-ups in one round trip.
//!
//! On PostgreSQL the writer waits on the network, not on the CPU: the guarded `UPDATE` and
//! the ledger `INSERT` of every movement were one round trip each. Here a run of consecutive
//! plain posts (payments, top-ups: [`Action::Post`] without a partner's credit or a
//! service's record) is sent as one call of the function `ardoise_post_batch` (migrations
//! `2026-11-26-000007_post_batch` and `2026-12-07-000002_batch_functions`), which runs, for
//! each movement in order, the very same guarded `UPDATE … RETURNING` and ledger `INSERT …
//! RETURNING id`:
//!
//! - each guard is decided by the database in the `UPDATE`'s `WHERE` clause, as before;
//! - a movement's idempotency key (a till payment's one-time key) is inserted first, as a
//!   placeholder that a known key refuses (`key_reused`: nothing written), then completed
//!   with the receipt, or removed if the guard refuses;
//! - a refused movement writes nothing, and the function answers its card as it was at that
//!   moment, so the refusal is explained from the same state as the one-by-one path would
//!   have read (the same error); its batch mates go on;
//! - the same card many times in one run is applied in order, each movement seeing what the
//!   previous ones left (a floor holds after each movement, not only in total);
//! - any database error aborts the call, and the writer applies the batch again one
//!   savepoint per movement, by the one-by-one path.
//!
//! To spare PostgreSQL's CPU (executing two statements per movement in PL/pgSQL costs more
//! than the work itself), the run is cut into segments in which no card appears twice, and a
//! keyed post is alone ([`segment_ends`]); the function applies a segment of several
//! movements as one set-based statement (the same guarded `UPDATE`, `FROM` the segment's rows, then one `INSERT` of
//! their ledger rows in order), since none of them can depend on another, and sends any
//! movement that statement refused through the one-by-one statements above, which explain
//! it. A card many times in a row (pay-hot) gives segments of one: one by one, in order.
//!
//! A run of member-to-member transfers is one call of `ardoise_transfer_batch` (migrations
//! `2026-12-06-000004_exchange` and `2026-12-07-000002_batch_functions`), cut the same way
//! ([`transfer_segment_ends`]: no card twice in a segment, on either side, and a transfer with
//! an idempotency key alone): a segment of several transfers is one guarded `UPDATE` of both
//! sides of each (a side is applied only if the other card's guard allows the other side: both
//! or neither), one `INSERT` of their ledger rows and one of their `exchange_transfers` rows.
//!
//! A batch made only of plain posts (no session touch either), the usual batch under
//! payment load, is that one call outside any transaction block: the function first locks
//! the batch's cards in id order, and PostgreSQL commits the statement on its own. One round
//! trip per batch instead of `BEGIN`, the row locks, two per movement and `COMMIT`. Any
//! other batch runs in its transaction as before (`BEGIN`, the row locks, `COMMIT`), and
//! each run of consecutive plain posts in it is one call; the other movements keep their
//! path, so everything is applied in the order of the batch. SQLite keeps one statement per
//! step (it runs in process: no round trip to save).

use std::collections::HashSet;

use ardoise_domain::bar::{explain_refusal, guard_allows};
use ardoise_domain::member_events::{LOW_BALANCE, LOW_BALANCE_KINDS, RECEIPT, RECEIPT_KINDS};
use ardoise_domain::ports::{Action, Movement, Receipt};
use ardoise_domain::{DomainError, Money, TransactionId};
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, SmallInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel::RunQueryDsl;

use crate::error::Failure;
use crate::ledger::lock_order;
use crate::rows::{millis, CardRow};

/// One movement's answer.
pub(crate) type Answer = Result<Receipt, DomainError>;

/// Whether a movement can go through [`PostBatch::post_run`]: a post with nothing recorded
/// beside it but its idempotency key, if any (the function records it), so that a refusal
/// comes before its first write.
pub(crate) fn is_plain_post(m: &Movement) -> bool {
    m.credit.is_none() && m.service.is_none() && matches!(m.action, Action::Post { .. })
}

/// How many movements at the start of `movements` are plain posts.
pub(crate) fn plain_post_run(movements: &[Movement]) -> usize {
    movements.iter().take_while(|m| is_plain_post(m)).count()
}

/// Whether a movement can go through [`PostBatch::transfer_run`]: a member-to-member
/// transfer (with or without an idempotency key, which the function records).
pub(crate) fn is_transfer(m: &Movement) -> bool {
    m.credit.is_none() && m.service.is_none() && matches!(m.action, Action::Transfer { .. })
}

/// How many movements at the start of `movements` are transfers.
pub(crate) fn transfer_run(movements: &[Movement]) -> usize {
    movements.iter().take_while(|m| is_transfer(m)).count()
}

/// Applying a run of plain posts at once, where the backend gains by it.
pub(crate) trait PostBatch {
    /// Applies `posts` (all plain posts) in order in the current transaction, whose caller
    /// holds their cards' row locks; one answer per movement, or `None` if this backend
    /// applies them one by one. An `Err` means the transaction must be abandoned.
    fn post_run(&mut self, posts: &[Movement]) -> Result<Option<Vec<Answer>>, Failure>;

    /// Applies a whole batch made of plain posts only as one statement outside any
    /// transaction, which locks its cards in id order and commits on its own: one round
    /// trip. `None` if this backend does not, or if the batch holds another movement. An
    /// `Err` means nothing was written.
    fn post_batch(&mut self, movements: &[Movement]) -> Result<Option<Vec<Answer>>, Failure>;

    /// Applies `transfers` (all transfers) in order in the current transaction, whose
    /// caller holds their cards' row locks; `None` if this backend applies them one by one.
    /// An `Err` means the transaction must be abandoned.
    fn transfer_run(&mut self, transfers: &[Movement]) -> Result<Option<Vec<Answer>>, Failure>;
}

impl PostBatch for SqliteConnection {
    fn post_run(&mut self, _posts: &[Movement]) -> Result<Option<Vec<Answer>>, Failure> {
        Ok(None)
    }

    fn post_batch(&mut self, _movements: &[Movement]) -> Result<Option<Vec<Answer>>, Failure> {
        Ok(None)
    }

    fn transfer_run(&mut self, _transfers: &[Movement]) -> Result<Option<Vec<Answer>>, Failure> {
        Ok(None)
    }
}

impl PostBatch for PgConnection {
    fn post_run(&mut self, posts: &[Movement]) -> Result<Option<Vec<Answer>>, Failure> {
        let rows: Vec<Row> = Call::of(posts, Vec::new())?.load(self)?;
        match answers(posts, rows) {
            Ok(answers) => Ok(Some(answers)),
            // Nothing is committed yet: abandon the transaction, the writer applies the
            // batch again one movement at a time.
            Err((_, problem)) => Err(problem),
        }
    }

    fn transfer_run(&mut self, transfers: &[Movement]) -> Result<Option<Vec<Answer>>, Failure> {
        let rows: Vec<TransferAnswerRow> = TransferCall::of(transfers, Vec::new())?.load(self)?;
        match transfer_answers(transfers, rows) {
            Ok(answers) => Ok(Some(answers)),
            Err((_, problem)) => Err(problem),
        }
    }

    fn post_batch(&mut self, movements: &[Movement]) -> Result<Option<Vec<Answer>>, Failure> {
        if !movements.is_empty() && transfer_run(movements) == movements.len() {
            // A batch of transfers only: one statement that locks its cards (both of each
            // transfer) in id order and commits on its own, as a batch of posts.
            let lock = lock_order(movements);
            let rows: Vec<TransferAnswerRow> = TransferCall::of(movements, lock)?.load(self)?;
            return match transfer_answers(movements, rows) {
                Ok(answers) => Ok(Some(answers)),
                Err((answers, problem)) => {
                    tracing::error!(error = ?problem, "ardoise_transfer_batch answered an odd set of rows");
                    Ok(Some(answers))
                }
            };
        }
        if movements.is_empty() || plain_post_run(movements) != movements.len() {
            return Ok(None);
        }
        let lock = lock_order(movements);
        // Outside a transaction block, PostgreSQL commits the statement when it ends: from
        // here on the movements are written, and every answer must say what happened.
        let mut call = Call::of(movements, lock)?;
        call.member_events = true;
        let rows: Vec<Row> = call.load(self)?;
        match answers(movements, rows) {
            Ok(answers) => Ok(Some(answers)),
            Err((answers, problem)) => {
                // Cannot happen (the function answers one row per movement); the rows that
                // came are true, the movements without one are answered as failed.
                tracing::error!(error = ?problem, "ardoise_post_batch answered an odd set of rows");
                Ok(Some(answers))
            }
        }
    }
}

/// (ord, transaction id, card found, balance, overdraft limit, max balance, status, valid
/// until, member, created at, replaced by, key reused): the function's row for one movement.
/// A transaction id means applied, `balance` then being the balance after; a reused key,
/// refused before anything was written; otherwise the card as it was, under its row lock,
/// when the guard refused.
type Row = (
    i32,
    Option<i64>,
    bool,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    bool,
);

/// Each movement's answer from `ardoise_post_batch`'s rows (see [`answers_by_ord`]).
fn answers(movements: &[Movement], rows: Vec<Row>) -> Result<Vec<Answer>, (Vec<Answer>, Failure)> {
    answers_by_ord("ardoise_post_batch", movements, rows, |row| row.0, answer)
}

/// Each movement's answer from a batch function's rows, matched by their `ord` (from 1); if
/// the rows are not exactly one per movement in order, the answers anyway (a movement without
/// its row gets an error) and what was wrong.
fn answers_by_ord<R>(
    function: &str,
    movements: &[Movement],
    rows: Vec<R>,
    ord: impl Fn(&R) -> i32,
    answer: impl Fn(&Movement, R) -> Answer,
) -> Result<Vec<Answer>, (Vec<Answer>, Failure)> {
    let mut slots: Vec<Option<Answer>> = movements.iter().map(|_| None).collect();
    let mut problem = (rows.len() != movements.len()).then(|| {
        format!(
            "{function} answered {} rows for {} movements",
            rows.len(),
            movements.len()
        )
    });
    for row in rows {
        let number = ord(&row);
        let slot = usize::try_from(number)
            .ok()
            .and_then(|ord| ord.checked_sub(1))
            .filter(|&i| slots.get(i).is_some_and(Option::is_none));
        match slot {
            Some(i) => slots[i] = Some(answer(&movements[i], row)),
            None => problem = Some(format!("{function} answered row {number}")),
        }
    }
    let answers = slots
        .into_iter()
        .map(|slot| {
            slot.unwrap_or_else(|| {
                Err(DomainError::Internal(
                    "the outcome of this movement is unknown".into(),
                ))
            })
        })
        .collect();
    match problem {
        None => Ok(answers),
        Some(what) => Err((answers, Failure::Lost(what))),
    }
}

/// The receipt of an applied movement, or why it was refused. The function read the
/// refused card under its row lock right after the refusal; a refusal that the guard does
/// not explain is an error of this movement alone (it wrote nothing).
fn answer(m: &Movement, row: Row) -> Answer {
    let Action::Post {
        kind,
        amount,
        guard,
        ..
    } = &m.action
    else {
        return Err(Failure::Lost("a run of posts holds another movement".into()).into_domain());
    };
    let delta = kind.signed(*amount);
    let (
        _,
        transaction,
        found,
        balance,
        overdraft,
        max,
        status,
        valid_until,
        member,
        created,
        by,
        key_reused,
    ) = row;
    if key_reused {
        return Err(DomainError::IdempotencyKeyReused);
    }
    if let (Some(id), Some(after)) = (transaction, balance) {
        return Ok(Receipt {
            transaction: TransactionId(id),
            card: m.card.clone(),
            balance_before: Money::from_cents(after - delta.cents()),
            balance_after: Money::from_cents(after),
            amount: *amount,
        });
    }
    if !found {
        return Err(DomainError::UnknownCard);
    }
    let (Some(balance), Some(overdraft), Some(status), Some(created)) =
        (balance, overdraft, status, created)
    else {
        return Err(Failure::Corrupt(format!(
            "ardoise_post_batch answered an incomplete card {}",
            m.card
        ))
        .into_domain());
    };
    let current = CardRow {
        id: m.card.as_str().to_owned(),
        balance_cents: balance,
        overdraft_limit_cents: overdraft,
        max_balance_cents: max,
        status,
        valid_until,
        member_id: member,
        created_at: created,
        replaced_by: by,
    }
    .into_card()
    .map_err(Failure::into_domain)?;
    if !guard_allows(&current, delta, guard, m.at) {
        return Err(explain_refusal(&current, delta, guard, m.at));
    }
    if current.balance.checked_add(delta).is_none() {
        return Err(crate::ledger::overflow_error());
    }
    Err(Failure::Lost(format!("card {} refused a post its guard allows", m.card)).into_domain())
}

/// `SELECT … FROM ardoise_post_batch($1, …, $13)`: one array per column, one element per
/// movement. Written by hand so that diesel keeps it prepared (see `prepared.rs`).
#[derive(Debug)]
struct Call<'a> {
    lock: Vec<&'a str>,
    ends: Vec<i32>,
    cards: Vec<&'a str>,
    deltas: Vec<i64>,
    floor: Vec<bool>,
    ceiling: Vec<bool>,
    usable: Vec<bool>,
    kinds: Vec<i16>,
    amounts: Vec<i64>,
    quantities: Vec<i64>,
    products: Vec<Option<&'a str>>,
    authors: Vec<&'a str>,
    at: Vec<i64>,
    keys: KeyColumns<'a>,
    /// Whether the statement also queues the member events (the one-statement batch, which
    /// has no transaction of its own to queue them in).
    member_events: bool,
    low_balance_kinds: Vec<i16>,
    receipt_kinds: Vec<i16>,
}

impl<'a> Call<'a> {
    fn of(posts: &'a [Movement], lock: Vec<&'a str>) -> Result<Call<'a>, Failure> {
        let n = posts.len();
        let mut call = Call {
            lock,
            ends: post_segment_ends(posts)?,
            cards: Vec::with_capacity(n),
            deltas: Vec::with_capacity(n),
            floor: Vec::with_capacity(n),
            ceiling: Vec::with_capacity(n),
            usable: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            amounts: Vec::with_capacity(n),
            quantities: Vec::with_capacity(n),
            products: Vec::with_capacity(n),
            authors: Vec::with_capacity(n),
            at: Vec::with_capacity(n),
            keys: KeyColumns::with_capacity(n),
            member_events: false,
            low_balance_kinds: LOW_BALANCE_KINDS.iter().map(|k| k.code()).collect(),
            receipt_kinds: RECEIPT_KINDS.iter().map(|k| k.code()).collect(),
        };
        for m in posts {
            let Action::Post {
                kind,
                amount,
                quantity,
                product,
                guard,
            } = &m.action
            else {
                return Err(Failure::Lost(
                    "a run of posts holds another movement".into(),
                ));
            };
            call.cards.push(m.card.as_str());
            call.deltas.push(kind.signed(*amount).cents());
            call.floor.push(guard.floor);
            call.ceiling.push(guard.ceiling);
            call.usable.push(guard.usable);
            call.kinds.push(kind.code());
            call.amounts.push(amount.cents());
            call.quantities.push(i64::from(*quantity));
            call.products.push(product.as_deref());
            call.authors.push(&m.author);
            call.at.push(millis(m.at));
            call.keys.push(m);
        }
        Ok(call)
    }
}

/// The 1-based last position of each segment of `run`, cut greedily so that no card
/// appears twice in a segment: the function applies a segment of several movements as one
/// set-based statement, where no movement may depend on another. `cards_of` gives the cards
/// a movement touches, or `None` for a movement that must be a segment of its own.
fn segment_ends<'m>(
    run: &'m [Movement],
    cards_of: impl Fn(&'m Movement) -> Result<Option<[&'m str; 2]>, Failure>,
) -> Result<Vec<i32>, Failure> {
    let mut ends = Vec::new();
    let mut cards: HashSet<&str> = HashSet::new();
    // Whether the segment under way holds a movement that must stay alone.
    let mut alone_before = false;
    for (i, m) in run.iter().enumerate() {
        let touched = cards_of(m)?;
        let fits = !alone_before && touched.is_some_and(|t| t.iter().all(|c| !cards.contains(c)));
        if i > 0 && !fits {
            ends.push(position(i)?);
            cards.clear();
        }
        cards.extend(touched.into_iter().flatten());
        alone_before = touched.is_none();
    }
    if !run.is_empty() {
        ends.push(position(run.len())?);
    }
    Ok(ends)
}

/// The segments of a run of posts ([`segment_ends`]): a post with an idempotency key (the
/// function records it one movement at a time) is alone.
fn post_segment_ends(posts: &[Movement]) -> Result<Vec<i32>, Failure> {
    segment_ends(posts, |m| {
        let card = m.card.as_str();
        Ok(m.idempotency.is_none().then_some([card, card]))
    })
}

/// The segments of a run of transfers ([`segment_ends`]): no card twice in a segment, as
/// payer or payee. A transfer with an idempotency key (the function records it one transfer
/// at a time) or from a card to itself is alone.
fn transfer_segment_ends(transfers: &[Movement]) -> Result<Vec<i32>, Failure> {
    segment_ends(transfers, |m| {
        let Action::Transfer { to, .. } = &m.action else {
            return Err(Failure::Lost(
                "a run of transfers holds another movement".into(),
            ));
        };
        let (from, to) = (m.card.as_str(), to.as_str());
        Ok((m.idempotency.is_none() && from != to).then_some([from, to]))
    })
}

fn position(i: usize) -> Result<i32, Failure> {
    i32::try_from(i).map_err(|_| Failure::Lost(format!("a run of {i} posts")))
}

impl QueryId for Call<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Call<'_> {
    type SqlType = (
        Integer,
        Nullable<BigInt>,
        Bool,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<Text>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<Text>,
        Bool,
    );
}

impl<Conn> RunQueryDsl<Conn> for Call<'_> {}

impl QueryFragment<Pg> for Call<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        const COLUMNS: &str = "ord, transaction_id, card_found, balance, overdraft_limit, \
             max_balance, card_status, card_valid_until, card_member_id, card_created_at, \
             card_replaced_by, key_reused";
        if self.member_events {
            out.push_sql("WITH r AS (");
        }
        out.push_sql("SELECT ");
        out.push_sql(COLUMNS);
        out.push_sql(" FROM ardoise_post_batch(");
        out.push_bind_param::<Array<Text>, _>(&self.lock)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.ends)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.cards)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.deltas)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.floor)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.ceiling)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.usable)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SmallInt>, _>(&self.kinds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.amounts)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.quantities)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.products)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.authors)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.at)?;
        self.keys.walk(&mut out)?;
        out.push_sql(")");
        if self.member_events {
            self.walk_member_events(&mut out)?;
            out.push_sql(" SELECT ");
            out.push_sql(COLUMNS);
            out.push_sql(" FROM r");
        }
        out.push_sql(" ORDER BY ord");
        Ok(())
    }
}

/// An amount in cents as `member_events::amount_text` writes it (`3.50`, `-12.00`).
const AMOUNT_TEXT: &str = "to_char(($1) / 100.0, 'FM9999999999999999990.00')";

impl Call<'_> {
    /// The member events of the applied posts (`ardoise_domain::member_events`), queued by
    /// the same statement, so that they commit with the movements or not at all: a data-
    /// modifying `WITH` over the function's rows `r`. It mirrors `member_events.rs` and
    /// `Watch`: the kinds, texts and templates are the domain's, bound as parameters; the
    /// rules (a crossing from at or above the threshold to below it, receipts when wanted,
    /// e-mail and SMS recipients) are the same SQL the store tests check on both backends.
    /// When no member wants alerts or receipts, the uncorrelated `EXISTS` is a one-time
    /// filter: the rest is never run.
    fn walk_member_events<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "), queued AS (INSERT INTO outbox (channel, recipient, event, title, message, \
             sender, member_id, status, attempts, next_attempt_at, created_at) \
             SELECT ch.channel, ch.recipient, ev.event, ev.title, \
             replace(replace(replace(ev.body, '{card}', i.card), '{amount}', ",
        );
        out.push_sql(&AMOUNT_TEXT.replace("$1", "i.amount"));
        out.push_sql("), '{balance}', ");
        out.push_sql(&AMOUNT_TEXT.replace("$1", "r.balance"));
        out.push_sql(
            "), 'ardoise', c.member_id, 'queued', 0, i.at, i.at \
             FROM r JOIN unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.cards)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.deltas)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.amounts)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SmallInt>, _>(&self.kinds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.at)?;
        out.push_sql(
            ") WITH ORDINALITY AS i (card, delta, amount, kind, at, ord) ON i.ord = r.ord \
             JOIN cards c ON c.id = i.card \
             JOIN member_preferences p ON p.member_id = c.member_id \
             JOIN members m ON m.id = c.member_id \
             CROSS JOIN LATERAL (VALUES (",
        );
        out.push_bind_param::<Text, _>(&LOW_BALANCE.event)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&LOW_BALANCE.title)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&LOW_BALANCE.text)?;
        out.push_sql(", i.kind = ANY(");
        out.push_bind_param::<Array<SmallInt>, _>(&self.low_balance_kinds)?;
        out.push_sql(
            ") AND r.balance < p.low_balance_cents \
             AND r.balance - i.delta >= p.low_balance_cents), (",
        );
        out.push_bind_param::<Text, _>(&RECEIPT.event)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&RECEIPT.title)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&RECEIPT.text)?;
        out.push_sql(", i.kind = ANY(");
        out.push_bind_param::<Array<SmallInt>, _>(&self.receipt_kinds)?;
        out.push_sql(
            ") AND p.receipts)) AS ev (event, title, body, due) \
             CROSS JOIN LATERAL (VALUES ('email', nullif(btrim(m.email), ''), p.email), \
             ('sms', coalesce(nullif(btrim(m.mobile), ''), nullif(btrim(m.phone), '')), p.sms)) \
             AS ch (channel, recipient, wanted) \
             WHERE EXISTS (SELECT 1 FROM member_preferences \
                           WHERE low_balance_cents IS NOT NULL OR receipts) \
             AND r.transaction_id IS NOT NULL AND ev.due IS TRUE AND ch.wanted \
             AND ch.recipient IS NOT NULL \
             RETURNING 1)",
        );
        Ok(())
    }
}

/// (ord, transaction id, payer's balance after, refused side, card found, and the refusing
/// card as it was: balance, overdraft limit, max balance, status, valid until, member, created
/// at, replaced by): the row of `ardoise_transfer_batch` for one transfer.
type TransferAnswerRow = (
    i32,
    Option<i64>,
    Option<i64>,
    Option<String>,
    bool,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// Each transfer's answer from `ardoise_transfer_batch`'s rows (see [`answers_by_ord`]).
fn transfer_answers(
    movements: &[Movement],
    rows: Vec<TransferAnswerRow>,
) -> Result<Vec<Answer>, (Vec<Answer>, Failure)> {
    answers_by_ord(
        "ardoise_transfer_batch",
        movements,
        rows,
        |row| row.0,
        transfer_answer,
    )
}

/// The payer's receipt of an applied transfer, or why it was refused, explained from the
/// refusing card as the function read it under its row lock.
fn transfer_answer(m: &Movement, row: TransferAnswerRow) -> Answer {
    let Action::Transfer {
        to,
        amount,
        payer,
        payee,
        ..
    } = &m.action
    else {
        return Err(
            Failure::Lost("a run of transfers holds another movement".into()).into_domain(),
        );
    };
    let (
        _,
        transaction,
        after,
        refused,
        found,
        balance,
        overdraft,
        max,
        status,
        until,
        member,
        created,
        by,
    ) = row;
    let (card, delta, guard) = match refused.as_deref() {
        None => {
            let (Some(id), Some(after)) = (transaction, after) else {
                return Err(Failure::Corrupt(
                    "ardoise_transfer_batch answered an incomplete receipt".into(),
                )
                .into_domain());
            };
            return Ok(Receipt {
                transaction: TransactionId(id),
                card: m.card.clone(),
                balance_before: Money::from_cents(after + amount.cents()),
                balance_after: Money::from_cents(after),
                amount: *amount,
            });
        }
        Some("key") => return Err(DomainError::IdempotencyKeyReused),
        Some("payer") => (&m.card, amount.negated(), payer),
        Some(_) => (to, *amount, payee),
    };
    if !found {
        return Err(DomainError::UnknownCard);
    }
    let (Some(balance), Some(overdraft), Some(status), Some(created)) =
        (balance, overdraft, status, created)
    else {
        return Err(Failure::Corrupt(format!(
            "ardoise_transfer_batch answered an incomplete card {card}"
        ))
        .into_domain());
    };
    let current = CardRow {
        id: card.as_str().to_owned(),
        balance_cents: balance,
        overdraft_limit_cents: overdraft,
        max_balance_cents: max,
        status,
        valid_until: until,
        member_id: member,
        created_at: created,
        replaced_by: by,
    }
    .into_card()
    .map_err(Failure::into_domain)?;
    if !guard_allows(&current, delta, guard, m.at) {
        return Err(explain_refusal(&current, delta, guard, m.at));
    }
    if current.balance.checked_add(delta).is_none() {
        return Err(crate::ledger::overflow_error());
    }
    Err(Failure::Lost(format!("card {card} refused a transfer its guard allows")).into_domain())
}

/// The idempotency keys of a batch function's movements, one element per movement (`NULL`
/// for a movement without one): the functions' last three parameters.
#[derive(Debug)]
struct KeyColumns<'a> {
    owners: Vec<Option<&'a str>>,
    keys: Vec<Option<&'a str>>,
    hashes: Vec<Option<&'a str>>,
}

impl<'a> KeyColumns<'a> {
    fn with_capacity(n: usize) -> KeyColumns<'a> {
        KeyColumns {
            owners: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, m: &'a Movement) {
        let key = m.idempotency.as_deref();
        self.owners.push(key.map(|k| k.owner.as_str()));
        self.keys.push(key.map(|k| k.key.as_str()));
        self.hashes.push(key.map(|k| k.request_hash.as_str()));
    }

    /// `, $owners, $keys, $hashes`.
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for column in [&self.owners, &self.keys, &self.hashes] {
            out.push_sql(", ");
            out.push_bind_param::<Array<Nullable<Text>>, _>(column)?;
        }
        Ok(())
    }
}

/// `SELECT … FROM ardoise_transfer_batch($1, …, $20)`: one array per column, one element per
/// transfer. Written by hand so that diesel keeps it prepared.
#[derive(Debug)]
struct TransferCall<'a> {
    lock: Vec<&'a str>,
    ends: Vec<i32>,
    from: Vec<&'a str>,
    to: Vec<&'a str>,
    amounts: Vec<i64>,
    /// The payer's floor, ceiling, usable; then the payee's.
    guards: [Vec<bool>; 6],
    authors: Vec<&'a str>,
    at: Vec<i64>,
    from_members: Vec<i64>,
    to_members: Vec<i64>,
    offers: Vec<Option<i64>>,
    notes: Vec<Option<&'a str>>,
    keys: KeyColumns<'a>,
}

impl<'a> TransferCall<'a> {
    fn of(transfers: &'a [Movement], lock: Vec<&'a str>) -> Result<TransferCall<'a>, Failure> {
        let n = transfers.len();
        let mut call = TransferCall {
            lock,
            ends: transfer_segment_ends(transfers)?,
            from: Vec::with_capacity(n),
            to: Vec::with_capacity(n),
            amounts: Vec::with_capacity(n),
            guards: Default::default(),
            authors: Vec::with_capacity(n),
            at: Vec::with_capacity(n),
            from_members: Vec::with_capacity(n),
            to_members: Vec::with_capacity(n),
            offers: Vec::with_capacity(n),
            notes: Vec::with_capacity(n),
            keys: KeyColumns::with_capacity(n),
        };
        for m in transfers {
            let Action::Transfer {
                to,
                amount,
                payer,
                payee,
                record,
            } = &m.action
            else {
                return Err(Failure::Lost(
                    "a run of transfers holds another movement".into(),
                ));
            };
            call.from.push(m.card.as_str());
            call.to.push(to.as_str());
            call.amounts.push(amount.cents());
            let flags = [
                payer.floor,
                payer.ceiling,
                payer.usable,
                payee.floor,
                payee.ceiling,
                payee.usable,
            ];
            for (column, flag) in call.guards.iter_mut().zip(flags) {
                column.push(flag);
            }
            call.authors.push(&m.author);
            call.at.push(millis(m.at));
            call.from_members.push(record.from_member.0);
            call.to_members.push(record.to_member.0);
            call.offers.push(record.offer);
            call.notes.push(record.note.as_deref());
            call.keys.push(m);
        }
        Ok(call)
    }
}

impl QueryId for TransferCall<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for TransferCall<'_> {
    type SqlType = (
        Integer,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<Text>,
        Bool,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<Text>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<Text>,
    );
}

impl<Conn> RunQueryDsl<Conn> for TransferCall<'_> {}

impl QueryFragment<Pg> for TransferCall<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT ord, transaction_id, balance, refused, card_found, card_balance, \
             overdraft_limit, max_balance, card_status, card_valid_until, card_member_id, \
             card_created_at, card_replaced_by FROM ardoise_transfer_batch(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.lock)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.ends)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.from)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.to)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.amounts)?;
        for column in &self.guards {
            out.push_sql(", ");
            out.push_bind_param::<Array<Bool>, _>(column)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.authors)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.from_members)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.to_members)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.offers)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.notes)?;
        self.keys.walk(&mut out)?;
        out.push_sql(") ORDER BY ord");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardoise_domain::ports::Guard;
    use ardoise_domain::{CardId, TransactionKind};

    fn pay(card: &str) -> Movement {
        Movement {
            card: CardId::parse(card).unwrap_or_else(|e| panic!("{e:?}")),
            author: "a".into(),
            at: chrono::DateTime::UNIX_EPOCH,
            action: Action::Post {
                kind: TransactionKind::Payment,
                amount: Money::from_cents(1),
                quantity: 0,
                product: None,
                guard: Guard::default(),
            },
            idempotency: None,
            credit: None,
            service: None,
        }
    }

    #[test]
    fn segments_end_before_a_card_comes_again() {
        let ends = |cards: &[&str]| {
            let posts: Vec<Movement> = cards.iter().map(|c| pay(c)).collect();
            post_segment_ends(&posts).unwrap_or_else(|e| panic!("{e:?}"))
        };
        assert_eq!(ends(&[]), Vec::<i32>::new());
        assert_eq!(ends(&["CAFE0001"]), [1]);
        assert_eq!(ends(&["CAFE0001", "CAFE0002", "CAFE0003"]), [3]);
        assert_eq!(ends(&["CAFE0001", "CAFE0001", "CAFE0001"]), [1, 2, 3]);
        assert_eq!(
            ends(&["CAFE0001", "CAFE0002", "CAFE0001", "CAFE0003", "CAFE0002", "CAFE0002"]),
            [2, 5, 6]
        );
        // A keyed post is alone.
        let mut posts: Vec<Movement> = ["CAFE0001", "CAFE0002", "CAFE0003", "CAFE0004"]
            .iter()
            .map(|c| pay(c))
            .collect();
        posts[1].idempotency = transfer("CAFE0001", "CAFE0002", true).idempotency;
        assert_eq!(
            post_segment_ends(&posts).unwrap_or_else(|e| panic!("{e:?}")),
            [1, 2, 4]
        );
    }

    fn transfer(from: &str, to: &str, keyed: bool) -> Movement {
        let mut m = pay(from);
        m.action = Action::Transfer {
            to: CardId::parse(to).unwrap_or_else(|e| panic!("{e:?}")),
            amount: Money::from_cents(1),
            payer: Guard::default(),
            payee: Guard::default(),
            record: Box::new(ardoise_domain::ports::TransferRecord {
                from_member: ardoise_domain::MemberId(1),
                to_member: ardoise_domain::MemberId(2),
                offer: None,
                note: None,
            }),
        };
        m.idempotency = keyed.then(|| {
            Box::new(ardoise_domain::ports::IdempotencyKey {
                owner: "member:1".into(),
                key: "k".into(),
                request_hash: "h".into(),
            })
        });
        m
    }

    #[test]
    fn transfer_segments_hold_each_card_once_on_either_side_and_keys_alone() {
        let ends = |transfers: &[(&str, &str, bool)]| {
            let run: Vec<Movement> = transfers
                .iter()
                .map(|&(from, to, keyed)| transfer(from, to, keyed))
                .collect();
            transfer_segment_ends(&run).unwrap_or_else(|e| panic!("{e:?}"))
        };
        let (a, b, c, d) = ("CAFE0001", "CAFE0002", "CAFE0003", "CAFE0004");
        assert_eq!(ends(&[]), Vec::<i32>::new());
        assert_eq!(ends(&[(a, b, false), (c, d, false)]), [2]);
        // A card paid then paying (or paying twice) starts a new segment.
        assert_eq!(ends(&[(a, b, false), (b, c, false), (d, a, false)]), [1, 3]);
        assert_eq!(ends(&[(a, b, false), (a, c, false)]), [1, 2]);
        // A keyed transfer, and a card paying itself, are alone.
        assert_eq!(
            ends(&[
                (a, b, false),
                (c, d, true),
                (a, b, false),
                (c, c, false),
                (d, a, false)
            ]),
            [1, 2, 3, 4, 5]
        );
    }
}
