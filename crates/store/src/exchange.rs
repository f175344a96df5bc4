//! The members' exchange: offers, conversations and their messages, suspensions, and the
//! records of member-to-member transfers (whose money moves through the writer, in
//! `ledger.rs`). Not money: small writes on the pool, each one atomic step.

use ardoise_domain::exchange::{
    Conversation, ConversationSummary, ExchangeStore, ExchangeVolume, Message, Offer, OfferDraft,
    OfferFilter, OfferKind, Party, Recipient, Transfer,
};
use ardoise_domain::{DomainError, MemberId, Money, Page, Paged, TransactionId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{count_star, sql};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use std::time::Instant;

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, time, CardRow, TransferRow};
use crate::schema::{
    cards, categories, exchange_conversations, exchange_messages, exchange_offers,
    exchange_suspensions, exchange_transfers, members,
};
use crate::snapshots::Holder;
use crate::sql::{Dialect, Sql};
use crate::Store;

diesel::define_sql_function! {
    /// SQL `lower`: ASCII letters on SQLite, all letters on PostgreSQL.
    fn lower(x: Text) -> Text;
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exchange_offers)]
struct OfferRow {
    id: i64,
    member_id: i64,
    kind: String,
    category_id: i64,
    description: String,
    wished_from: Option<String>,
    wished_until: Option<String>,
    price_cents: Option<i64>,
    status: String,
    closed_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

fn date(text: Option<String>) -> Result<Option<NaiveDate>, Failure> {
    text.map(|t| {
        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| Failure::Corrupt(format!("{t}: {e}")))
    })
    .transpose()
}

fn date_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

impl OfferRow {
    fn into_offer(self, category_name: Option<String>) -> Result<Offer, Failure> {
        Ok(Offer {
            id: self.id,
            member: MemberId(self.member_id),
            kind: OfferKind::parse(&self.kind)
                .ok_or_else(|| Failure::Corrupt(format!("offer kind {}", self.kind)))?,
            category: self.category_id,
            category_name,
            description: self.description,
            wished_from: date(self.wished_from)?,
            wished_until: date(self.wished_until)?,
            price: self.price_cents.map(Money::from_cents),
            open: self.status == "open",
            closed_by: self.closed_by,
            created_at: time(self.created_at)?,
            updated_at: time(self.updated_at)?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exchange_conversations)]
struct ConversationRow {
    id: i64,
    member_low: i64,
    member_high: i64,
    offer_key: i64,
    last_message_id: i64,
    last_activity: i64,
    read_low: i64,
    read_high: i64,
    reported_at: Option<i64>,
    created_at: i64,
}

impl ConversationRow {
    fn to_conversation(&self) -> Result<Conversation, Failure> {
        Ok(Conversation {
            id: self.id,
            members: (MemberId(self.member_low), MemberId(self.member_high)),
            offer: (self.offer_key != 0).then_some(self.offer_key),
            last_activity: time(self.last_activity)?,
            reported: self.reported_at.is_some(),
            created_at: time(self.created_at)?,
        })
    }

    /// The last message `member` has read.
    fn read_by(&self, member: i64) -> i64 {
        if member == self.member_low {
            self.read_low
        } else {
            self.read_high
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exchange_messages)]
struct MessageRow {
    id: i64,
    conversation_id: i64,
    author_id: i64,
    body: String,
    hidden_at: Option<i64>,
    created_at: i64,
}

impl MessageRow {
    fn into_message(self) -> Result<Message, Failure> {
        Ok(Message {
            id: self.id,
            conversation: self.conversation_id,
            author: MemberId(self.author_id),
            text: self.body,
            hidden: self.hidden_at.is_some(),
            created_at: time(self.created_at)?,
        })
    }
}

/// `%word%` for `LIKE … ESCAPE '\'`, lower-cased.
fn pattern(word: &str) -> String {
    let mut p = String::from("%");
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn offset_of(page: Page) -> Result<(i64, i64), Failure> {
    let offset = i64::try_from(page.offset())
        .map_err(|_| Failure::Refused(DomainError::malformed("field `page` is too large")))?;
    Ok((offset, i64::from(page.per_page())))
}

fn total(count: i64) -> u64 {
    u64::try_from(count).unwrap_or_default()
}

/// The offers of `filter`, as a boxed query of either backend.
macro_rules! filtered_offers {
    ($query:expr, $filter:expr, $backend:ty) => {{
        let filter: &OfferFilter = $filter;
        let mut query = $query.into_boxed::<$backend>();
        if !filter.all {
            query = query.filter(exchange_offers::status.eq("open"));
        }
        if let Some(category) = filter.category {
            query = query.filter(exchange_offers::category_id.eq(category));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(exchange_offers::kind.eq(kind.as_str()));
        }
        if let Some(member) = filter.member {
            query = query.filter(exchange_offers::member_id.eq(member.0));
        }
        for word in &filter.words {
            query = query.filter(
                lower(exchange_offers::description)
                    .like(pattern(word))
                    .escape('\\'),
            );
        }
        query
    }};
}

/// The statements of this file, identical on both backends.
trait ExchangeSql: Dialect + Sql {
    fn find_transfer(&mut self, id: i64) -> QueryResult<Option<TransferRow>>;
    fn volume(&mut self, from: i64, until: i64) -> QueryResult<(i64, i64)>;
    fn is_suspended(&mut self, member: i64) -> QueryResult<bool>;
    /// The cards of two members, by id.
    fn cards_of(&mut self, a: i64, b: i64) -> QueryResult<Vec<CardRow>>;
    /// Which of two members exist, and which are suspended.
    fn members_among(&mut self, a: i64, b: i64) -> QueryResult<Vec<i64>>;
    fn suspended_among(&mut self, a: i64, b: i64) -> QueryResult<Vec<i64>>;
    fn suspend(&mut self, member: i64, by: &str, at: i64) -> QueryResult<()>;
    fn reinstate(&mut self, member: i64) -> QueryResult<()>;
    fn category_name(&mut self, id: i64) -> QueryResult<Option<String>>;
    fn insert_offer(&mut self, member: i64, draft: &OfferDraft, at: i64) -> QueryResult<i64>;
    fn find_offer(&mut self, id: i64) -> QueryResult<Option<OfferRow>>;
    fn update_open_offer(&mut self, id: i64, draft: &OfferDraft, at: i64) -> QueryResult<usize>;
    fn close_open_offer(&mut self, id: i64, by: &str, at: i64) -> QueryResult<usize>;
    fn count_offers(&mut self, filter: &OfferFilter) -> QueryResult<i64>;
    fn offers_page(
        &mut self,
        filter: &OfferFilter,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<OfferRow>>;
    /// The conversation of two members (`low < high`) about `offer_key`, created if missing.
    fn conversation_between(
        &mut self,
        low: i64,
        high: i64,
        offer_key: i64,
        at: i64,
    ) -> QueryResult<ConversationRow>;
    fn find_conversation(&mut self, id: i64) -> QueryResult<Option<ConversationRow>>;
    fn insert_message(
        &mut self,
        conversation: i64,
        author: i64,
        text: &str,
        at: i64,
    ) -> QueryResult<MessageRow>;
    /// Moves the conversation's last message, and marks it read by its author.
    fn touch_conversation(
        &mut self,
        conversation: &ConversationRow,
        message: &MessageRow,
    ) -> QueryResult<()>;
    fn mark_read(
        &mut self,
        conversation: &ConversationRow,
        reader: i64,
        upto: i64,
    ) -> QueryResult<()>;
    fn count_conversations(&mut self, member: i64) -> QueryResult<i64>;
    fn conversations_page(
        &mut self,
        member: i64,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<ConversationRow>>;
    fn find_message(&mut self, id: i64) -> QueryResult<Option<MessageRow>>;
    fn count_unread(&mut self, conversation: i64, reader: i64, after: i64) -> QueryResult<i64>;
    fn count_messages(&mut self, conversation: i64) -> QueryResult<i64>;
    fn messages_page(
        &mut self,
        conversation: i64,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<MessageRow>>;
    fn report_conversation(&mut self, conversation: i64, by: i64, at: i64) -> QueryResult<()>;
    fn hide(&mut self, conversation: i64, message: i64, by: &str, at: i64) -> QueryResult<usize>;
    fn claim(
        &mut self,
        conversation: i64,
        recipient: i64,
        at: i64,
        since: i64,
    ) -> QueryResult<usize>;
}

macro_rules! impl_exchange_sql {
    ($conn:ty, $backend:ty) => {
        impl ExchangeSql for $conn {
            fn find_transfer(&mut self, id: i64) -> QueryResult<Option<TransferRow>> {
                exchange_transfers::table
                    .find(id)
                    .select(TransferRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn volume(&mut self, from: i64, until: i64) -> QueryResult<(i64, i64)> {
                exchange_transfers::table
                    .filter(exchange_transfers::cancelled_at.is_null())
                    .filter(exchange_transfers::created_at.ge(from))
                    .filter(exchange_transfers::created_at.lt(until))
                    .select((
                        count_star(),
                        sql::<BigInt>("CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT)"),
                    ))
                    .get_result(self)
            }

            fn is_suspended(&mut self, member: i64) -> QueryResult<bool> {
                diesel::select(diesel::dsl::exists(
                    exchange_suspensions::table.find(member),
                ))
                .get_result(self)
            }

            // `x = a OR x = b` rather than `x IN (a, b)`: a statement of fixed shape is
            // prepared once per connection (diesel does not cache `eq_any`), and a transfer
            // runs these on every payment.
            fn cards_of(&mut self, a: i64, b: i64) -> QueryResult<Vec<CardRow>> {
                cards::table
                    .filter(cards::member_id.eq(a).or(cards::member_id.eq(b)))
                    .order(cards::id)
                    .select(CardRow::as_select())
                    .load(self)
            }

            fn members_among(&mut self, a: i64, b: i64) -> QueryResult<Vec<i64>> {
                members::table
                    .filter(members::id.eq(a).or(members::id.eq(b)))
                    .select(members::id)
                    .load(self)
            }

            fn suspended_among(&mut self, a: i64, b: i64) -> QueryResult<Vec<i64>> {
                exchange_suspensions::table
                    .filter(
                        exchange_suspensions::member_id
                            .eq(a)
                            .or(exchange_suspensions::member_id.eq(b)),
                    )
                    .select(exchange_suspensions::member_id)
                    .load(self)
            }

            fn suspend(&mut self, member: i64, by: &str, at: i64) -> QueryResult<()> {
                diesel::insert_into(exchange_suspensions::table)
                    .values((
                        exchange_suspensions::member_id.eq(member),
                        exchange_suspensions::suspended_by.eq(by),
                        exchange_suspensions::suspended_at.eq(at),
                    ))
                    .on_conflict_do_nothing()
                    .execute(self)
                    .map(|_| ())
            }

            fn reinstate(&mut self, member: i64) -> QueryResult<()> {
                diesel::delete(exchange_suspensions::table.find(member))
                    .execute(self)
                    .map(|_| ())
            }

            fn category_name(&mut self, id: i64) -> QueryResult<Option<String>> {
                categories::table
                    .find(id)
                    .select(categories::name)
                    .get_result(self)
                    .optional()
            }

            fn insert_offer(
                &mut self,
                member: i64,
                draft: &OfferDraft,
                at: i64,
            ) -> QueryResult<i64> {
                diesel::insert_into(exchange_offers::table)
                    .values((
                        exchange_offers::member_id.eq(member),
                        exchange_offers::kind.eq(draft.kind.as_str()),
                        exchange_offers::category_id.eq(draft.category),
                        exchange_offers::description.eq(&draft.description),
                        exchange_offers::wished_from.eq(date_text(draft.wished_from)),
                        exchange_offers::wished_until.eq(date_text(draft.wished_until)),
                        exchange_offers::price_cents.eq(draft.price.map(|p| p.cents())),
                        exchange_offers::status.eq("open"),
                        exchange_offers::created_at.eq(at),
                        exchange_offers::updated_at.eq(at),
                    ))
                    .returning(exchange_offers::id)
                    .get_result(self)
            }

            fn find_offer(&mut self, id: i64) -> QueryResult<Option<OfferRow>> {
                exchange_offers::table
                    .find(id)
                    .select(OfferRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn update_open_offer(
                &mut self,
                id: i64,
                draft: &OfferDraft,
                at: i64,
            ) -> QueryResult<usize> {
                diesel::update(
                    exchange_offers::table
                        .find(id)
                        .filter(exchange_offers::status.eq("open")),
                )
                .set((
                    exchange_offers::kind.eq(draft.kind.as_str()),
                    exchange_offers::category_id.eq(draft.category),
                    exchange_offers::description.eq(&draft.description),
                    exchange_offers::wished_from.eq(date_text(draft.wished_from)),
                    exchange_offers::wished_until.eq(date_text(draft.wished_until)),
                    exchange_offers::price_cents.eq(draft.price.map(|p| p.cents())),
                    exchange_offers::updated_at.eq(at),
                ))
                .execute(self)
            }

            fn close_open_offer(&mut self, id: i64, by: &str, at: i64) -> QueryResult<usize> {
                diesel::update(
                    exchange_offers::table
                        .find(id)
                        .filter(exchange_offers::status.eq("open")),
                )
                .set((
                    exchange_offers::status.eq("closed"),
                    exchange_offers::closed_by.eq(by),
                    exchange_offers::updated_at.eq(at),
                ))
                .execute(self)
            }

            fn count_offers(&mut self, filter: &OfferFilter) -> QueryResult<i64> {
                filtered_offers!(
                    exchange_offers::table.select(count_star()),
                    filter,
                    $backend
                )
                .get_result(self)
            }

            fn offers_page(
                &mut self,
                filter: &OfferFilter,
                offset: i64,
                limit: i64,
            ) -> QueryResult<Vec<OfferRow>> {
                filtered_offers!(
                    exchange_offers::table.select(OfferRow::as_select()),
                    filter,
                    $backend
                )
                .order(exchange_offers::id.desc())
                .offset(offset)
                .limit(limit)
                .load(self)
            }

            fn conversation_between(
                &mut self,
                low: i64,
                high: i64,
                offer_key: i64,
                at: i64,
            ) -> QueryResult<ConversationRow> {
                diesel::insert_into(exchange_conversations::table)
                    .values((
                        exchange_conversations::member_low.eq(low),
                        exchange_conversations::member_high.eq(high),
                        exchange_conversations::offer_key.eq(offer_key),
                        exchange_conversations::last_activity.eq(at),
                        exchange_conversations::created_at.eq(at),
                    ))
                    .on_conflict_do_nothing()
                    .execute(self)?;
                exchange_conversations::table
                    .filter(exchange_conversations::member_low.eq(low))
                    .filter(exchange_conversations::member_high.eq(high))
                    .filter(exchange_conversations::offer_key.eq(offer_key))
                    .select(ConversationRow::as_select())
                    .get_result(self)
            }

            fn find_conversation(&mut self, id: i64) -> QueryResult<Option<ConversationRow>> {
                exchange_conversations::table
                    .find(id)
                    .select(ConversationRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn insert_message(
                &mut self,
                conversation: i64,
                author: i64,
                text: &str,
                at: i64,
            ) -> QueryResult<MessageRow> {
                diesel::insert_into(exchange_messages::table)
                    .values((
                        exchange_messages::conversation_id.eq(conversation),
                        exchange_messages::author_id.eq(author),
                        exchange_messages::body.eq(text),
                        exchange_messages::created_at.eq(at),
                    ))
                    .returning((
                        exchange_messages::id,
                        exchange_messages::conversation_id,
                        exchange_messages::author_id,
                        exchange_messages::body,
                        exchange_messages::hidden_at,
                        exchange_messages::created_at,
                    ))
                    .get_result(self)
            }

            fn touch_conversation(
                &mut self,
                conversation: &ConversationRow,
                message: &MessageRow,
            ) -> QueryResult<()> {
                let target = exchange_conversations::table.find(conversation.id);
                let moved = (
                    exchange_conversations::last_message_id.eq(message.id),
                    exchange_conversations::last_activity.eq(message.created_at),
                );
                if message.author_id == conversation.member_low {
                    diesel::update(target)
                        .set((moved, exchange_conversations::read_low.eq(message.id)))
                        .execute(self)?;
                } else {
                    diesel::update(target)
                        .set((moved, exchange_conversations::read_high.eq(message.id)))
                        .execute(self)?;
                }
                Ok(())
            }

            fn mark_read(
                &mut self,
                conversation: &ConversationRow,
                reader: i64,
                upto: i64,
            ) -> QueryResult<()> {
                let target = exchange_conversations::table.find(conversation.id);
                if reader == conversation.member_low {
                    diesel::update(target.filter(exchange_conversations::read_low.lt(upto)))
                        .set(exchange_conversations::read_low.eq(upto))
                        .execute(self)?;
                } else {
                    diesel::update(target.filter(exchange_conversations::read_high.lt(upto)))
                        .set(exchange_conversations::read_high.eq(upto))
                        .execute(self)?;
                }
                Ok(())
            }

            fn count_conversations(&mut self, member: i64) -> QueryResult<i64> {
                exchange_conversations::table
                    .filter(
                        exchange_conversations::member_low
                            .eq(member)
                            .or(exchange_conversations::member_high.eq(member)),
                    )
                    .count()
                    .get_result(self)
            }

            fn conversations_page(
                &mut self,
                member: i64,
                offset: i64,
                limit: i64,
            ) -> QueryResult<Vec<ConversationRow>> {
                exchange_conversations::table
                    .filter(
                        exchange_conversations::member_low
                            .eq(member)
                            .or(exchange_conversations::member_high.eq(member)),
                    )
                    .order((
                        exchange_conversations::last_activity.desc(),
                        exchange_conversations::id.desc(),
                    ))
                    .offset(offset)
                    .limit(limit)
                    .select(ConversationRow::as_select())
                    .load(self)
            }

            fn find_message(&mut self, id: i64) -> QueryResult<Option<MessageRow>> {
                exchange_messages::table
                    .find(id)
                    .select(MessageRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn count_unread(
                &mut self,
                conversation: i64,
                reader: i64,
                after: i64,
            ) -> QueryResult<i64> {
                exchange_messages::table
                    .filter(exchange_messages::conversation_id.eq(conversation))
                    .filter(exchange_messages::author_id.ne(reader))
                    .filter(exchange_messages::id.gt(after))
                    .count()
                    .get_result(self)
            }

            fn count_messages(&mut self, conversation: i64) -> QueryResult<i64> {
                exchange_messages::table
                    .filter(exchange_messages::conversation_id.eq(conversation))
                    .count()
                    .get_result(self)
            }

            fn messages_page(
                &mut self,
                conversation: i64,
                offset: i64,
                limit: i64,
            ) -> QueryResult<Vec<MessageRow>> {
                exchange_messages::table
                    .filter(exchange_messages::conversation_id.eq(conversation))
                    .order(exchange_messages::id)
                    .offset(offset)
                    .limit(limit)
                    .select(MessageRow::as_select())
                    .load(self)
            }

            fn report_conversation(
                &mut self,
                conversation: i64,
                by: i64,
                at: i64,
            ) -> QueryResult<()> {
                diesel::update(
                    exchange_conversations::table
                        .find(conversation)
                        .filter(exchange_conversations::reported_at.is_null()),
                )
                .set((
                    exchange_conversations::reported_by.eq(by),
                    exchange_conversations::reported_at.eq(at),
                ))
                .execute(self)
                .map(|_| ())
            }

            fn hide(
                &mut self,
                conversation: i64,
                message: i64,
                by: &str,
                at: i64,
            ) -> QueryResult<usize> {
                diesel::update(
                    exchange_messages::table
                        .find(message)
                        .filter(exchange_messages::conversation_id.eq(conversation))
                        .filter(exchange_messages::hidden_at.is_null()),
                )
                .set((
                    exchange_messages::hidden_by.eq(by),
                    exchange_messages::hidden_at.eq(at),
                ))
                .execute(self)
            }

            fn claim(
                &mut self,
                conversation: i64,
                recipient: i64,
                at: i64,
                since: i64,
            ) -> QueryResult<usize> {
                let low = diesel::update(
                    exchange_conversations::table
                        .find(conversation)
                        .filter(exchange_conversations::member_low.eq(recipient))
                        .filter(
                            exchange_conversations::notified_low
                                .is_null()
                                .or(exchange_conversations::notified_low.le(since)),
                        ),
                )
                .set(exchange_conversations::notified_low.eq(at))
                .execute(self)?;
                if low > 0 {
                    return Ok(low);
                }
                diesel::update(
                    exchange_conversations::table
                        .find(conversation)
                        .filter(exchange_conversations::member_high.eq(recipient))
                        .filter(
                            exchange_conversations::notified_high
                                .is_null()
                                .or(exchange_conversations::notified_high.le(since)),
                        ),
                )
                .set(exchange_conversations::notified_high.eq(at))
                .execute(self)
            }
        }
    };
}

impl_exchange_sql!(SqliteConnection, diesel::sqlite::Sqlite);
impl_exchange_sql!(PgConnection, diesel::pg::Pg);

fn offer_of<C: ExchangeSql>(conn: &mut C, row: OfferRow) -> Result<Offer, Failure> {
    let name = conn.category_name(row.category_id)?;
    row.into_offer(name)
}

/// The offer after a change of an open offer (`changed` rows): unknown, or closed already
/// when nothing changed.
fn changed_offer<C: ExchangeSql>(conn: &mut C, id: i64, changed: usize) -> Result<Offer, Failure> {
    let Some(row) = conn.find_offer(id)? else {
        return Err(DomainError::UnknownOffer.into());
    };
    if changed == 0 {
        return Err(DomainError::OfferClosed.into());
    }
    offer_of(conn, row)
}

fn summary_of<C: ExchangeSql>(
    conn: &mut C,
    row: ConversationRow,
    member: i64,
) -> Result<ConversationSummary, Failure> {
    let conversation = row.to_conversation()?;
    let last_message = if row.last_message_id == 0 {
        None
    } else {
        conn.find_message(row.last_message_id)?
            .map(MessageRow::into_message)
            .transpose()?
    };
    let unread = conn.count_unread(row.id, member, row.read_by(member))?;
    Ok(ConversationSummary {
        other: conversation.other(MemberId(member)),
        conversation,
        last_message,
        unread: total(unread),
    })
}

#[async_trait]
impl ExchangeStore for Store {
    async fn transfer(&self, id: TransactionId) -> Result<Option<Transfer>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_transfer(id.0)?
                .map(TransferRow::into_transfer)
                .transpose())
        })
        .await
    }

    async fn volume(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ExchangeVolume, DomainError> {
        let (from, until) = (millis(from), millis(until));
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let (transfers, cents) = conn.volume(from, until)?;
                Ok::<_, Failure>(ExchangeVolume {
                    transfers,
                    amount: Money::from_cents(cents),
                })
            })
        })
        .await
    }

    async fn suspended(&self, member: MemberId) -> Result<bool, DomainError> {
        self.blocking(move |db| with_conn!(db, |conn| Ok(conn.is_suspended(member.0)?)))
            .await
    }

    async fn parties(
        &self,
        payer: MemberId,
        payee: MemberId,
    ) -> Result<(Option<Party>, Option<Party>), DomainError> {
        // From the snapshots when both members and all their cards are there: a payment
        // between members then reads nothing before the writer.
        let snapshots = self.snapshots();
        let started = Instant::now();
        let remembered = |m: MemberId| -> Option<Party> {
            let holder = snapshots.holders.get(&m.0, started)?;
            let cards = holder
                .cards
                .iter()
                .map(|id| snapshots.cards.get(id.as_str(), started))
                .collect::<Option<Vec<_>>>()?;
            Some(Party {
                cards,
                suspended: holder.suspended,
            })
        };
        if let (Some(a), Some(b)) = (remembered(payer), remembered(payee)) {
            return Ok((Some(a), Some(b)));
        }
        // Read before the database, so that a write committed meanwhile refuses the answers.
        let seen = (snapshots.cards.generation(), snapshots.holders.generation());
        let (a, b) = self
            .blocking(move |db| {
                with_conn!(db, |conn| {
                    let (a, b) = (payer.0, payee.0);
                    let rows = conn.cards_of(a, b)?;
                    let suspended = conn.suspended_among(a, b)?;
                    // A member with a card exists; only a member without one needs a look-up.
                    let has_card = |m: i64| rows.iter().any(|r| r.member_id == Some(m));
                    let existing = if has_card(a) && has_card(b) {
                        vec![a, b]
                    } else {
                        conn.members_among(a, b)?
                    };
                    let party = |m: i64| -> Result<Option<Party>, Failure> {
                        if !existing.contains(&m) {
                            return Ok(None);
                        }
                        let cards = rows
                            .iter()
                            .filter(|r| r.member_id == Some(m))
                            .cloned()
                            .map(CardRow::into_card)
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(Some(Party {
                            cards,
                            suspended: suspended.contains(&m),
                        }))
                    };
                    Ok::<_, Failure>((party(a)?, party(b)?))
                })
            })
            .await?;
        for (member, party) in [(payer, &a), (payee, &b)] {
            let Some(party) = party.as_ref().filter(|p| !p.cards.is_empty()) else {
                continue;
            };
            for card in &party.cards {
                let id = card.id.as_str().to_owned();
                snapshots.cards.put(id, card.clone(), started, seen.0);
            }
            let holder = Holder {
                cards: party
                    .cards
                    .iter()
                    .map(|c| c.id.as_str().to_owned())
                    .collect(),
                suspended: party.suspended,
            };
            snapshots.holders.put(member.0, holder, started, seen.1);
        }
        Ok((a, b))
    }

    async fn set_suspended(
        &self,
        member: MemberId,
        suspended: bool,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let snapshots = self.snapshots_handle();
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                if conn.find_member(member.0)?.is_none() {
                    return Err(DomainError::UnknownMember.into());
                }
                let written = if suspended {
                    conn.suspend(member.0, &by, millis(at))
                } else {
                    conn.reinstate(member.0)
                };
                // Written (or not): here, not after the await, where the caller may be gone.
                snapshots.holders.forget([&member.0]);
                written?;
                Ok(())
            })
        })
        .await
    }

    async fn add_offer(
        &self,
        member: MemberId,
        draft: OfferDraft,
        at: DateTime<Utc>,
    ) -> Result<Offer, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if conn.category_name(draft.category)?.is_none() {
                    return Err(Failure::Refused(DomainError::UnknownCategory));
                }
                let id = conn.insert_offer(member.0, &draft, millis(at))?;
                let row = conn
                    .find_offer(id)?
                    .ok_or_else(|| Failure::Lost(format!("offer {id} vanished")))?;
                offer_of(conn, row)
            }))
        })
        .await
    }

    async fn offer(&self, id: i64) -> Result<Option<Offer>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| match conn.find_offer(id)? {
                Some(row) => offer_of(conn, row).map(Some),
                None => Ok(None),
            })
        })
        .await
    }

    async fn update_offer(
        &self,
        id: i64,
        draft: OfferDraft,
        at: DateTime<Utc>,
    ) -> Result<Offer, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if conn.category_name(draft.category)?.is_none() {
                    return Err(Failure::Refused(DomainError::UnknownCategory));
                }
                let changed = conn.update_open_offer(id, &draft, millis(at))?;
                changed_offer(conn, id, changed)
            }))
        })
        .await
    }

    async fn close_offer(
        &self,
        id: i64,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<Offer, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let changed = conn.close_open_offer(id, &by, millis(at))?;
                changed_offer(conn, id, changed)
            }))
        })
        .await
    }

    async fn offer_page(
        &self,
        filter: OfferFilter,
        page: Page,
    ) -> Result<Paged<Offer>, DomainError> {
        self.blocking(move |db| {
            let (offset, limit) = offset_of(page)?;
            with_conn!(db, |conn| conn.transaction(|conn| {
                let count = conn.count_offers(&filter)?;
                let rows = conn.offers_page(&filter, offset, limit)?;
                let items = rows
                    .into_iter()
                    .map(|row| offer_of(conn, row))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, Failure>(Paged {
                    items,
                    page,
                    total: total(count),
                })
            }))
        })
        .await
    }

    async fn post_message(
        &self,
        author: MemberId,
        to: Recipient,
        text: String,
        at: DateTime<Utc>,
    ) -> Result<(Conversation, Message), DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let at = millis(at);
                let row = match to {
                    Recipient::Member { with, offer } => {
                        let (low, high) = if author.0 < with.0 {
                            (author.0, with.0)
                        } else {
                            (with.0, author.0)
                        };
                        conn.conversation_between(low, high, offer.unwrap_or(0), at)?
                    }
                    Recipient::Conversation(id) => conn
                        .find_conversation(id)?
                        .ok_or(Failure::Refused(DomainError::UnknownConversation))?,
                };
                let message = conn.insert_message(row.id, author.0, &text, at)?;
                conn.touch_conversation(&row, &message)?;
                let mut conversation = row.to_conversation()?;
                conversation.last_activity = time(message.created_at)?;
                Ok::<_, Failure>((conversation, message.into_message()?))
            }))
        })
        .await
    }

    async fn conversation(&self, id: i64) -> Result<Option<Conversation>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_conversation(id)?
                .map(|row| row.to_conversation())
                .transpose())
        })
        .await
    }

    async fn conversation_page(
        &self,
        member: MemberId,
        page: Page,
    ) -> Result<Paged<ConversationSummary>, DomainError> {
        self.blocking(move |db| {
            let (offset, limit) = offset_of(page)?;
            with_conn!(db, |conn| conn.transaction(|conn| {
                let count = conn.count_conversations(member.0)?;
                let rows = conn.conversations_page(member.0, offset, limit)?;
                let items = rows
                    .into_iter()
                    .map(|row| summary_of(conn, row, member.0))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, Failure>(Paged {
                    items,
                    page,
                    total: total(count),
                })
            }))
        })
        .await
    }

    async fn message_page(
        &self,
        conversation: i64,
        reader: Option<MemberId>,
        page: Page,
    ) -> Result<Paged<Message>, DomainError> {
        self.blocking(move |db| {
            let (offset, limit) = offset_of(page)?;
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let row = conn
                    .find_conversation(conversation)?
                    .ok_or(Failure::Refused(DomainError::UnknownConversation))?;
                let count = conn.count_messages(conversation)?;
                let rows = conn.messages_page(conversation, offset, limit)?;
                if let (Some(reader), Some(last)) = (reader, rows.last()) {
                    conn.mark_read(&row, reader.0, last.id)?;
                }
                let items = rows
                    .into_iter()
                    .map(MessageRow::into_message)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, Failure>(Paged {
                    items,
                    page,
                    total: total(count),
                })
            }))
        })
        .await
    }

    async fn report(
        &self,
        conversation: i64,
        by: MemberId,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| Ok(conn.report_conversation(
                conversation,
                by.0,
                millis(at)
            )?))
        })
        .await
    }

    async fn hide_message(
        &self,
        conversation: i64,
        message: i64,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<Message, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                conn.hide(conversation, message, &by, millis(at))?;
                match conn.find_message(message)? {
                    Some(row) if row.conversation_id == conversation => row.into_message(),
                    _ => Err(DomainError::UnknownMessage.into()),
                }
            }))
        })
        .await
    }

    async fn claim_notification(
        &self,
        conversation: i64,
        recipient: MemberId,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| Ok(conn.claim(
                conversation,
                recipient.0,
                millis(at),
                millis(since)
            )? > 0))
        })
        .await
    }
}
