//! The notifications' outbox and the partners' webhooks (services.md) on both backends.
//!
//! A message is a row of `outbox` committed with its cause: the routes queue theirs through
//! the writer thread ([`Outbox::queue`], committed with the other outbox writes waiting); a
//! write that has a cause of its own (a payment crossing a low-balance threshold, in the
//! writer's batch) queues them in its own transaction with [`queue_in`]. The worker claims due
//! rows with a lease (`sending` until `next_attempt_at`): a claim is one guarded update inside
//! a write transaction, `FOR UPDATE SKIP LOCKED` on PostgreSQL so that several processes claim
//! different rows, and a row whose lease ran out (its process died) is claimed again.
//!
//! Every write of [`Outbox`] (queue, claim, record) is an [`OutboxJob`] handed to the store's
//! writer thread, which applies all the jobs waiting in one transaction
//! ([`apply_outbox_batch`]): one commit (one fsync on SQLite) for many messages and outcomes,
//! and no connection of the pool waiting for SQLite's write lock.

use ardoise_domain::ids::MemberId;
use ardoise_domain::notify::{Channel, Delivery};
use ardoise_domain::outbox::{
    Claimed, Message, NewMessage, Origin, Outbox, OutboxFigures, Outcome, Queued, Status, Webhook,
    WebhookStore, SECRET_LINK_EVENTS,
};
use ardoise_domain::{DomainError, Page, Paged};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel::sqlite::SqliteConnection;

use crate::db::{with_conn, with_writer_conn, WriterDb};
use crate::error::Failure;
use crate::rows::{millis, time};
use crate::schema::{outbox, partner_webhooks, partners};
use crate::sql::Dialect;
use crate::Store;

/// A message as stored, without its picture (read only to deliver it).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub(crate) struct MessageRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub event: String,
    pub title: String,
    pub message: String,
    pub link: Option<String>,
    pub sender: String,
    pub member_id: Option<i64>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub request_hash: Option<String>,
}

fn corrupt(what: impl std::fmt::Display) -> Failure {
    Failure::Corrupt(what.to_string())
}

impl MessageRow {
    fn channel(&self) -> Result<Channel, Failure> {
        Channel::parse(&self.channel).ok_or_else(|| corrupt(format!("channel {}", self.channel)))
    }

    fn origin(&self) -> Result<Origin, Failure> {
        Origin::parse(&self.sender).ok_or_else(|| corrupt(format!("sender {}", self.sender)))
    }

    fn into_message(self) -> Result<Message, Failure> {
        Ok(Message {
            channel: self.channel()?,
            origin: self.origin()?,
            status: Status::parse(&self.status)
                .ok_or_else(|| corrupt(format!("status {}", self.status)))?,
            attempts: u32::try_from(self.attempts).map_err(corrupt)?,
            next_attempt_at: time(self.next_attempt_at)?,
            created_at: time(self.created_at)?,
            sent_at: self.sent_at.map(time).transpose()?,
            member: self.member_id.map(MemberId),
            id: self.id,
            to: self.recipient,
            event: self.event,
            title: self.title,
            message: self.message,
            link: self.link,
            last_error: self.last_error,
        })
    }
}

/// A new message id: `msg_` and 32 hex digits (128 random bits), the same on every attempt.
/// (A row inserted by SQL alone gets one of the same form from the column's default.)
pub(crate) fn new_message_id() -> String {
    format!("msg_{:032x}", rand::random::<u128>())
}

/// Inserts `messages` as `queued` (or `skipped`, those with a reason) rows inside the caller's
/// transaction, and answers their ids in order.
///
/// This is how a write that has a cause of its own queues its notifications atomically with
/// it: call it on the connection of the open transaction (the writer's batch, under the
/// movement's savepoint), after the cause's own statements; if the transaction rolls back, so
/// do the messages, and the worker sees them only once it commits. It takes no lock beyond
/// the inserted rows and does no read, so it costs one `INSERT` per call. `at` is the queueing
/// time (the first attempt is due at once). The idempotency key, if any, must not be in use
/// by the same origin (a unique violation otherwise); the member and webhook partner, if any,
/// must exist (a foreign-key violation otherwise).
pub(crate) fn queue_in<C: OutboxSql>(
    conn: &mut C,
    messages: &[NewMessage],
    at: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    let at = millis(at);
    let mut ids = Vec::with_capacity(messages.len());
    for m in messages {
        let id = new_message_id();
        let (status, reason) = match &m.skip {
            Some(reason) => (Status::Skipped, Some(reason.as_str())),
            None => (Status::Queued, None),
        };
        let (key, hash) = match &m.idempotency {
            Some((key, hash)) => (Some(key.as_str()), Some(hash.as_str())),
            None => (None, None),
        };
        conn.insert_message(NewRow {
            id: &id,
            channel: m.channel.as_str(),
            recipient: &m.to,
            event: &m.event,
            title: &m.title,
            message: &m.message,
            // A message skipped from the start is never delivered: no link to keep.
            link: m
                .link
                .as_deref()
                .filter(|_| m.skip.is_none() || !SECRET_LINK_EVENTS.contains(&m.event.as_str())),
            picture: m.picture.as_deref(),
            sender: &m.origin.to_text(),
            member_id: m.member.map(|id| id.0),
            webhook_partner: m.webhook_partner.as_deref(),
            status: status.as_str(),
            attempts: 0,
            next_attempt_at: at,
            last_error: reason,
            created_at: at,
            idempotency_key: key,
            request_hash: hash,
        })?;
        ids.push(id);
    }
    Ok(ids)
}

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = outbox)]
pub(crate) struct NewRow<'a> {
    id: &'a str,
    channel: &'a str,
    recipient: &'a str,
    event: &'a str,
    title: &'a str,
    message: &'a str,
    link: Option<&'a str>,
    picture: Option<&'a [u8]>,
    sender: &'a str,
    member_id: Option<i64>,
    webhook_partner: Option<&'a str>,
    status: &'a str,
    attempts: i32,
    next_attempt_at: i64,
    last_error: Option<&'a str>,
    created_at: i64,
    idempotency_key: Option<&'a str>,
    request_hash: Option<&'a str>,
}

/// What a claimed row carries to its attempt: the row, its picture, and its webhook's URL
/// and secret (for `webhook` messages).
type ClaimedRow = (MessageRow, Option<Vec<u8>>, Option<String>, Option<String>);

/// The outbox's statements, identical on both backends but for the claim's lock.
pub(crate) trait OutboxSql: Dialect + DueLock + Sized {
    fn insert_message(&mut self, row: NewRow<'_>) -> QueryResult<()>;
    fn find_message(&mut self, id: &str) -> QueryResult<Option<MessageRow>>;
    fn keyed_message(&mut self, sender: &str, key: &str) -> QueryResult<Option<MessageRow>>;
    fn sender_messages(
        &mut self,
        sender: &str,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<MessageRow>>;
    fn count_sender(&mut self, sender: &str) -> QueryResult<i64>;
    /// Takes the rows `ids` for an attempt each: `sending` until `lease_end`, one more
    /// attempt, if they are still due at `now` (a guarded update).
    fn take(&mut self, ids: &[String], now: i64, lease_end: i64) -> QueryResult<usize>;
    /// The rows `ids` with their picture and their webhook's URL and secret.
    fn claimed_rows(&mut self, ids: &[String]) -> QueryResult<Vec<ClaimedRow>>;
    /// Sets the outcome of attempt `attempt` of `id` if that attempt still holds it and, when
    /// the outcome is final, blanks the link of a [`SECRET_LINK_EVENTS`] message; inside the
    /// caller's transaction, which holds both writes.
    fn finish(&mut self, id: &str, attempt: i32, outcome: &Outcome, at: i64) -> QueryResult<bool>;
    /// `finish`'s guarded update of the status alone.
    fn record_outcome(
        &mut self,
        id: &str,
        attempt: i32,
        outcome: &Outcome,
        at: i64,
    ) -> QueryResult<bool>;
    fn status_counts(&mut self) -> QueryResult<Vec<(String, i64)>>;
    fn oldest_waiting(&mut self) -> QueryResult<Option<i64>>;
    fn put_webhook(&mut self, w: &Webhook) -> QueryResult<()>;
    fn find_webhook(&mut self, partner: &str) -> QueryResult<Option<(String, String, i64)>>;
    fn partner_exists(&mut self, partner: &str) -> QueryResult<bool>;
    /// A member's deletion: their messages forget the address, and those not delivered yet
    /// are never sent (`skipped`, reason `member_deleted`).
    fn forget_member(&mut self, member: i64) -> QueryResult<()>;
}

/// The one statement that differs: reading the due rows, locked.
pub(crate) trait DueLock {
    /// The ids of up to `limit` rows due at `now`, oldest due first, locked until the end of
    /// the transaction; rows another transaction holds are skipped (PostgreSQL). On SQLite the
    /// write transaction (`BEGIN IMMEDIATE`) already excludes every other claimer.
    fn due_ids(&mut self, now: i64, limit: i64) -> QueryResult<Vec<String>>;
}

impl DueLock for SqliteConnection {
    fn due_ids(&mut self, now: i64, limit: i64) -> QueryResult<Vec<String>> {
        outbox::table
            .filter(outbox::status.eq_any(["queued", "sending"]))
            .filter(outbox::next_attempt_at.le(now))
            .order(outbox::next_attempt_at)
            .limit(limit)
            .select(outbox::id)
            .load(self)
    }
}

impl DueLock for PgConnection {
    fn due_ids(&mut self, now: i64, limit: i64) -> QueryResult<Vec<String>> {
        outbox::table
            .filter(outbox::status.eq_any(["queued", "sending"]))
            .filter(outbox::next_attempt_at.le(now))
            .order(outbox::next_attempt_at)
            .limit(limit)
            .select(outbox::id)
            .for_update()
            .skip_locked()
            .load(self)
    }
}

macro_rules! impl_outbox_sql {
    ($conn:ty) => {
        impl OutboxSql for $conn {
            fn insert_message(&mut self, row: NewRow<'_>) -> QueryResult<()> {
                diesel::insert_into(outbox::table)
                    .values(&row)
                    .execute(self)
                    .map(|_| ())
            }

            fn find_message(&mut self, id: &str) -> QueryResult<Option<MessageRow>> {
                outbox::table
                    .find(id)
                    .select(MessageRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn keyed_message(
                &mut self,
                sender: &str,
                key: &str,
            ) -> QueryResult<Option<MessageRow>> {
                outbox::table
                    .filter(outbox::sender.eq(sender))
                    .filter(outbox::idempotency_key.eq(key))
                    .select(MessageRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn sender_messages(
                &mut self,
                sender: &str,
                offset: i64,
                limit: i64,
            ) -> QueryResult<Vec<MessageRow>> {
                outbox::table
                    .filter(outbox::sender.eq(sender))
                    .order((outbox::created_at.desc(), outbox::id.desc()))
                    .offset(offset)
                    .limit(limit)
                    .select(MessageRow::as_select())
                    .load(self)
            }

            fn count_sender(&mut self, sender: &str) -> QueryResult<i64> {
                outbox::table
                    .filter(outbox::sender.eq(sender))
                    .count()
                    .get_result(self)
            }

            fn take(&mut self, ids: &[String], now: i64, lease_end: i64) -> QueryResult<usize> {
                diesel::update(
                    outbox::table
                        .filter(outbox::id.eq_any(ids))
                        .filter(outbox::status.eq_any(["queued", "sending"]))
                        .filter(outbox::next_attempt_at.le(now)),
                )
                .set((
                    outbox::status.eq("sending"),
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::next_attempt_at.eq(lease_end),
                ))
                .execute(self)
            }

            fn claimed_rows(&mut self, ids: &[String]) -> QueryResult<Vec<ClaimedRow>> {
                outbox::table
                    .left_join(partner_webhooks::table)
                    .filter(outbox::id.eq_any(ids))
                    .select((
                        MessageRow::as_select(),
                        outbox::picture,
                        partner_webhooks::url.nullable(),
                        partner_webhooks::secret.nullable(),
                    ))
                    .load(self)
            }

            fn finish(
                &mut self,
                id: &str,
                attempt: i32,
                outcome: &Outcome,
                at: i64,
            ) -> QueryResult<bool> {
                let changed = self.record_outcome(id, attempt, outcome, at)?;
                if changed && outcome.is_final() {
                    // The one-time link must not outlive the message's delivery.
                    diesel::update(
                        outbox::table
                            .find(id)
                            .filter(outbox::event.eq_any(SECRET_LINK_EVENTS)),
                    )
                    .set(outbox::link.eq(None::<String>))
                    .execute(self)?;
                }
                Ok(changed)
            }

            fn record_outcome(
                &mut self,
                id: &str,
                attempt: i32,
                outcome: &Outcome,
                at: i64,
            ) -> QueryResult<bool> {
                let target = outbox::table
                    .find(id)
                    .filter(outbox::status.eq("sending"))
                    .filter(outbox::attempts.eq(attempt));
                let changed = match outcome {
                    Outcome::Sent => diesel::update(target)
                        .set((outbox::status.eq("sent"), outbox::sent_at.eq(at)))
                        .execute(self)?,
                    Outcome::Retry { at: next, error } => diesel::update(target)
                        .set((
                            outbox::status.eq("queued"),
                            outbox::next_attempt_at.eq(millis(*next)),
                            outbox::last_error.eq(error),
                        ))
                        .execute(self)?,
                    Outcome::Failed { error } => diesel::update(target)
                        .set((outbox::status.eq("failed"), outbox::last_error.eq(error)))
                        .execute(self)?,
                    Outcome::Skipped { reason } => diesel::update(target)
                        .set((outbox::status.eq("skipped"), outbox::last_error.eq(reason)))
                        .execute(self)?,
                    Outcome::Postponed { at: next } => diesel::update(target)
                        .set((
                            outbox::status.eq("queued"),
                            outbox::next_attempt_at.eq(millis(*next)),
                            outbox::attempts.eq(outbox::attempts - 1),
                        ))
                        .execute(self)?,
                };
                Ok(changed == 1)
            }

            fn status_counts(&mut self) -> QueryResult<Vec<(String, i64)>> {
                outbox::table
                    .group_by(outbox::status)
                    .select((outbox::status, diesel::dsl::count_star()))
                    .load(self)
            }

            fn oldest_waiting(&mut self) -> QueryResult<Option<i64>> {
                outbox::table
                    .filter(outbox::status.eq_any(["queued", "sending"]))
                    .select(diesel::dsl::min(outbox::created_at))
                    .get_result(self)
            }

            fn put_webhook(&mut self, w: &Webhook) -> QueryResult<()> {
                let at = millis(w.created_at);
                diesel::insert_into(partner_webhooks::table)
                    .values((
                        partner_webhooks::partner.eq(&w.partner),
                        partner_webhooks::url.eq(&w.url),
                        partner_webhooks::secret.eq(&w.secret),
                        partner_webhooks::created_at.eq(at),
                    ))
                    .on_conflict(partner_webhooks::partner)
                    .do_update()
                    .set((
                        partner_webhooks::url.eq(&w.url),
                        partner_webhooks::secret.eq(&w.secret),
                        partner_webhooks::created_at.eq(at),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn find_webhook(
                &mut self,
                partner: &str,
            ) -> QueryResult<Option<(String, String, i64)>> {
                partner_webhooks::table
                    .find(partner)
                    .select((
                        partner_webhooks::url,
                        partner_webhooks::secret,
                        partner_webhooks::created_at,
                    ))
                    .get_result(self)
                    .optional()
            }

            fn partner_exists(&mut self, partner: &str) -> QueryResult<bool> {
                diesel::select(diesel::dsl::exists(
                    partners::table.find(partner).select(partners::client_id),
                ))
                .get_result(self)
            }

            fn forget_member(&mut self, member: i64) -> QueryResult<()> {
                let theirs = outbox::table.filter(outbox::member_id.eq(member));
                diesel::update(theirs.filter(outbox::status.eq_any(["queued", "sending"])))
                    .set((
                        outbox::status.eq("skipped"),
                        outbox::last_error.eq("member_deleted"),
                    ))
                    .execute(self)?;
                diesel::update(theirs)
                    .set(outbox::recipient.eq(""))
                    .execute(self)
                    .map(|_| ())
            }
        }
    };
}

impl_outbox_sql!(SqliteConnection);
impl_outbox_sql!(PgConnection);

/// The answer to a request whose idempotency key the origin already used: the message it
/// queued when the request is the same, else `IdempotencyKeyReused`.
fn replay(row: MessageRow, hash: &str) -> Result<Queued, Failure> {
    if row.request_hash.as_deref() != Some(hash) {
        return Err(DomainError::IdempotencyKeyReused.into());
    }
    Ok(Queued {
        message: row.into_message()?,
        replayed: true,
    })
}

/// An outbox write handed to the writer thread, which applies every one waiting in one
/// transaction (group commit, as for money movements): on SQLite each commit is an fsync and
/// the write lock is one, so the partners' messages, the worker's claims and its outcomes
/// share commits instead of queueing for the lock one by one.
#[derive(Debug)]
pub(crate) enum OutboxJob {
    /// [`Outbox::queue`].
    Queue {
        message: Box<NewMessage>,
        at: DateTime<Utc>,
    },
    /// [`Outbox::claim`].
    Claim {
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    },
    /// [`Outbox::record`].
    Record {
        id: String,
        attempt: i32,
        outcome: Outcome,
        at: DateTime<Utc>,
    },
}

/// The answer to an [`OutboxJob`], of its kind.
#[derive(Debug)]
pub(crate) enum OutboxAnswer {
    Queued(Box<Queued>),
    Claimed(Vec<Claimed>),
    Recorded(bool),
}

/// Applies `jobs` in one write transaction and answers each, in order, once it committed:
/// the outcomes first, then the messages queued, then the claims (which may take messages
/// queued in the same transaction). A refusal (a reused idempotency key, an unknown member
/// or partner) stays with its message, undone by its savepoint; any other error rolls the
/// whole transaction back, and the jobs are then applied one transaction each, so that the
/// error stays with its job (unless the database is unavailable: then every job gets it).
pub(crate) fn apply_outbox_batch(
    db: &mut WriterDb,
    jobs: &[OutboxJob],
) -> Vec<Result<OutboxAnswer, DomainError>> {
    if jobs.is_empty() {
        return Vec::new();
    }
    let mut attempt = 0;
    let grouped = loop {
        let grouped = with_writer_conn!(&mut *db, |conn| conn.write_transaction(|conn| {
            let mut answers: Vec<Option<Result<OutboxAnswer, DomainError>>> =
                jobs.iter().map(|_| None).collect();
            // Outcomes, then messages, then claims.
            for pass in 0..3 {
                for (job, answer) in jobs.iter().zip(answers.iter_mut()) {
                    let rank = match job {
                        OutboxJob::Record { .. } => 0,
                        OutboxJob::Queue { .. } => 1,
                        OutboxJob::Claim { .. } => 2,
                    };
                    if rank == pass {
                        *answer = Some(apply_job(conn, job)?);
                    }
                }
            }
            Ok::<_, Failure>(answers)
        }));
        match grouped {
            // PostgreSQL: another process's outbox writes locked the same rows in the other
            // order; nothing was committed, so the batch is applied again.
            Err(failure) if failure.is_conflict() && attempt < CONFLICT_RETRIES => {
                attempt += 1;
                tracing::debug!(
                    attempt,
                    "outbox batch conflicted with another writer, retrying"
                );
            }
            grouped => break grouped,
        }
    };
    match grouped {
        Ok(answers) => answers
            .into_iter()
            .map(|a| {
                a.unwrap_or_else(|| {
                    Err(Failure::Lost("an outbox job was skipped".into()).into_domain())
                })
            })
            .collect(),
        Err(failure) if jobs.len() > 1 && !failure.is_batch_fatal() => {
            tracing::warn!(error = ?failure, "an outbox write failed unexpectedly: applying its batch one transaction each");
            jobs.iter()
                .map(|job| {
                    with_writer_conn!(&mut *db, |conn| conn
                        .write_transaction(|conn| apply_job(conn, job)))
                    .unwrap_or_else(|failure| Err(failure.into_domain()))
                })
                .collect()
        }
        Err(failure) => {
            let error = failure.into_domain();
            jobs.iter().map(|_| Err(error.clone())).collect()
        }
    }
}

/// One job inside the batch's transaction: `Ok(answer)` (a refusal included), or the
/// unexpected failure that rolls the transaction back.
fn apply_job<C: OutboxSql>(
    conn: &mut C,
    job: &OutboxJob,
) -> Result<Result<OutboxAnswer, DomainError>, Failure> {
    let answer = match job {
        OutboxJob::Queue { message, at } => {
            queue(conn, message, *at).map(|q| OutboxAnswer::Queued(Box::new(q)))
        }
        OutboxJob::Claim { now, lease, limit } => {
            claim(conn, *now, *lease, *limit).map(OutboxAnswer::Claimed)
        }
        OutboxJob::Record {
            id,
            attempt,
            outcome,
            at,
        } => conn
            .finish(id, *attempt, outcome, millis(*at))
            .map(OutboxAnswer::Recorded)
            .map_err(Failure::from),
    };
    match answer {
        Ok(answer) => Ok(Ok(answer)),
        Err(Failure::Refused(e)) => Ok(Err(e)),
        Err(failure) => Err(failure),
    }
}

/// Queues a message inside the caller's write transaction, under a savepoint of its own (a
/// refusal undoes it alone).
fn queue<C: OutboxSql>(
    conn: &mut C,
    message: &NewMessage,
    at: DateTime<Utc>,
) -> Result<Queued, Failure> {
    let sender = message.origin.to_text();
    let inserted = conn.transaction(|conn| {
        if let Some((key, hash)) = &message.idempotency {
            if let Some(row) = conn.keyed_message(&sender, key)? {
                return replay(row, hash).map(Err);
            }
        }
        let ids = queue_in(conn, std::slice::from_ref(message), at)?;
        Ok::<_, Failure>(Ok(ids))
    });
    let ids = match inserted {
        Ok(Ok(ids)) => ids,
        Ok(Err(replayed)) => return Ok(replayed),
        // Two identical keyed requests at once (PostgreSQL): the loser answers the winner's.
        Err(Failure::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))) => {
            let (key, hash) = message
                .idempotency
                .as_ref()
                .ok_or_else(|| Failure::Lost("a duplicate message id".into()))?;
            let row = conn
                .keyed_message(&sender, key)?
                .ok_or_else(|| Failure::Lost("a keyed message vanished".into()))?;
            return replay(row, hash);
        }
        Err(Failure::Db(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _))) => {
            return Err(if message.member.is_some() {
                DomainError::UnknownMember.into()
            } else {
                DomainError::UnknownPartner.into()
            })
        }
        Err(e) => return Err(e),
    };
    let id = ids
        .first()
        .ok_or_else(|| Failure::Lost("no message queued".into()))?;
    let row = conn
        .find_message(id)?
        .ok_or_else(|| Failure::Lost("a queued message vanished".into()))?;
    Ok(Queued {
        message: row.into_message()?,
        replayed: false,
    })
}

/// Claims due messages inside the caller's write transaction.
fn claim<C: OutboxSql>(
    conn: &mut C,
    now: DateTime<Utc>,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Claimed>, Failure> {
    let now_ms = millis(now);
    let lease_end = millis(now + lease);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids = conn.due_ids(now_ms, limit)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.take(&ids, now_ms, lease_end)?;
    let rows = conn.claimed_rows(&ids)?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (row, picture, url, secret) in rows {
        let channel = row.channel()?;
        let origin = row.origin()?;
        let attempt = u32::try_from(row.attempts).map_err(corrupt)?;
        let (to, secret) = match (channel, url) {
            (Channel::Webhook, Some(url)) => (url, secret),
            // No registration any more (or never): the attempt fails, and so does the message.
            (Channel::Webhook, None) => (String::new(), None),
            (_, _) => (row.recipient.clone(), None),
        };
        claimed.push(Claimed {
            delivery: Delivery {
                id: row.id,
                channel,
                to,
                event: row.event,
                title: row.title,
                message: row.message,
                link: row.link,
                picture,
                secret,
                created_at: time(row.created_at)?,
                attempt,
            },
            origin,
        });
    }
    Ok(claimed)
}

/// How many times an outbox batch that conflicted with another process's is applied again.
const CONFLICT_RETRIES: usize = 5;

/// The writer answered a job with an answer of another kind (a bug).
fn mismatch(answer: &OutboxAnswer) -> DomainError {
    Failure::Lost(format!("the writer answered an outbox job with {answer:?}")).into_domain()
}

#[async_trait]
impl Outbox for Store {
    async fn queue(&self, message: NewMessage, at: DateTime<Utc>) -> Result<Queued, DomainError> {
        let job = OutboxJob::Queue {
            message: Box::new(message),
            at,
        };
        match self.writer().outbox(job).await? {
            OutboxAnswer::Queued(queued) => Ok(*queued),
            other => Err(mismatch(&other)),
        }
    }

    async fn message(&self, id: &str) -> Result<Option<Message>, DomainError> {
        let id = id.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_message(&id)?
                .map(MessageRow::into_message)
                .transpose())
        })
        .await
    }

    async fn messages_of(
        &self,
        origin: &Origin,
        page: Page,
    ) -> Result<Paged<Message>, DomainError> {
        let sender = origin.to_text();
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
                let rows = conn.sender_messages(&sender, offset, i64::from(page.per_page()))?;
                let total = u64::try_from(conn.count_sender(&sender)?).unwrap_or(0);
                let items = rows
                    .into_iter()
                    .map(MessageRow::into_message)
                    .collect::<Result<Vec<_>, Failure>>()?;
                Ok::<_, Failure>(Paged { items, page, total })
            })
        })
        .await
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Claimed>, DomainError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        match self
            .writer()
            .outbox(OutboxJob::Claim { now, lease, limit })
            .await?
        {
            OutboxAnswer::Claimed(claimed) => Ok(claimed),
            other => Err(mismatch(&other)),
        }
    }

    async fn record(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let attempt = i32::try_from(attempt)
            .map_err(|_| DomainError::malformed("field `attempt` is too large"))?;
        let job = OutboxJob::Record {
            id: id.to_owned(),
            attempt,
            outcome,
            at,
        };
        match self.writer().outbox(job).await? {
            OutboxAnswer::Recorded(recorded) => Ok(recorded),
            other => Err(mismatch(&other)),
        }
    }

    async fn figures(&self) -> Result<OutboxFigures, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let mut f = OutboxFigures::default();
                for (status, count) in conn.status_counts()? {
                    let count = u64::try_from(count).unwrap_or(0);
                    match Status::parse(&status) {
                        Some(Status::Queued | Status::Sending) => f.queued += count,
                        Some(Status::Sent) => f.sent += count,
                        Some(Status::Failed) => f.failed += count,
                        Some(Status::Skipped) => f.skipped += count,
                        None => return Err(corrupt(format!("status {status}"))),
                    }
                }
                f.oldest_queued_at = conn.oldest_waiting()?.map(time).transpose()?;
                Ok::<_, Failure>(f)
            })
        })
        .await
    }
}

#[async_trait]
impl WebhookStore for Store {
    async fn set_webhook(&self, webhook: Webhook) -> Result<(), DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if !conn.partner_exists(&webhook.partner)? {
                    return Err(DomainError::UnknownPartner.into());
                }
                conn.put_webhook(&webhook).map_err(Failure::from)
            }))
        })
        .await
    }

    async fn webhook(&self, partner: &str) -> Result<Option<Webhook>, DomainError> {
        let partner = partner.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| match conn.find_webhook(&partner)? {
                Some((url, secret, at)) => Ok(Some(Webhook {
                    partner,
                    url,
                    secret,
                    created_at: time(at)?,
                })),
                None => Ok::<_, Failure>(None),
            })
        })
        .await
    }
}
