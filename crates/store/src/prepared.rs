//! The writer's two hot statements, written by hand so that diesel keeps them prepared, and a
//! `LIMIT` written into the SQL text for hot reads.
//!
//! Diesel never caches an `UPDATE` built with its DSL (`UpdateStatement::walk_ast` marks it
//! unsafe to cache), nor an `INSERT` with optional values, nor `sql_query`: SQLite then parses
//! the guarded update and the ledger insert again for every payment. These fragments have no
//! static query id but are safe to cache, so diesel's statement cache keys them by their SQL
//! text: one prepared statement per guard combination, reused for every movement.

use ardoise_domain::ports::Guard;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, SmallInt, Text};
use diesel::sqlite::Sqlite;
use diesel::RunQueryDsl;

use crate::rows::NewTransaction;
use crate::sql::MAX_BALANCE_CENTS;

/// `UPDATE cards SET balance_cents = balance_cents + delta WHERE id = card AND <guard>
/// RETURNING balance_cents`: the guard in the `WHERE` clause, never a read-modify-write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedAdd<'a> {
    pub card: &'a str,
    pub delta: i64,
    pub guard: &'a Guard,
    pub at_ms: i64,
}

/// `INSERT INTO transactions (…) VALUES (…) RETURNING id`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InsertTransaction<'a> {
    pub row: &'a NewTransaction<'a>,
}

impl QueryId for GuardedAdd<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryId for InsertTransaction<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for GuardedAdd<'_> {
    type SqlType = BigInt;
}

impl Query for InsertTransaction<'_> {
    type SqlType = BigInt;
}

impl<Conn> RunQueryDsl<Conn> for GuardedAdd<'_> {}
impl<Conn> RunQueryDsl<Conn> for InsertTransaction<'_> {}

macro_rules! impl_fragments {
    ($db:ty) => {
        impl QueryFragment<$db> for GuardedAdd<'_> {
            fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, $db>) -> QueryResult<()> {
                guarded_add_sql::<$db>(self, out)
            }
        }

        impl QueryFragment<$db> for InsertTransaction<'_> {
            fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, $db>) -> QueryResult<()> {
                insert_transaction_sql::<$db>(self, out)
            }
        }
    };
}

impl_fragments!(Sqlite);
impl_fragments!(Pg);

fn guarded_add_sql<'b, DB>(q: &'b GuardedAdd<'_>, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<SmallInt> + HasSqlType<Bool>,
    i64: ToSql<BigInt, DB>,
    i16: ToSql<SmallInt, DB>,
    bool: ToSql<Bool, DB>,
    str: ToSql<Text, DB>,
{
    out.push_sql("UPDATE cards SET balance_cents = balance_cents + ");
    out.push_bind_param::<BigInt, _>(&q.delta)?;
    out.push_sql(" WHERE id = ");
    out.push_bind_param::<Text, _>(q.card)?;
    out.push_sql(" AND balance_cents + ");
    out.push_bind_param::<BigInt, _>(&q.delta)?;
    out.push_sql(&format!(
        " BETWEEN {} AND {MAX_BALANCE_CENTS}",
        -MAX_BALANCE_CENTS
    ));
    // A replaced card's balance moved to its successor: it never changes again.
    out.push_sql(" AND replaced_by IS NULL");
    if q.guard.floor {
        out.push_sql(" AND balance_cents + ");
        out.push_bind_param::<BigInt, _>(&q.delta)?;
        out.push_sql(" + overdraft_limit_cents >= 0");
    }
    if q.guard.ceiling {
        out.push_sql(" AND (max_balance_cents IS NULL OR balance_cents + ");
        out.push_bind_param::<BigInt, _>(&q.delta)?;
        out.push_sql(" <= max_balance_cents)");
    }
    if q.guard.usable {
        out.push_sql(" AND status = 'active' AND (valid_until IS NULL OR valid_until > ");
        out.push_bind_param::<BigInt, _>(&q.at_ms)?;
        out.push_sql(")");
    }
    out.push_sql(" RETURNING balance_cents");
    Ok(())
}

fn insert_transaction_sql<'b, DB>(
    q: &'b InsertTransaction<'_>,
    mut out: AstPass<'_, 'b, DB>,
) -> QueryResult<()>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<SmallInt> + HasSqlType<Bool>,
    i64: ToSql<BigInt, DB>,
    i16: ToSql<SmallInt, DB>,
    bool: ToSql<Bool, DB>,
    str: ToSql<Text, DB>,
{
    let row = q.row;
    out.push_sql(
        "INSERT INTO transactions \
         (kind, card_id, amount_cents, quantity, product, valid, author, created_at) VALUES (",
    );
    out.push_bind_param::<SmallInt, _>(&row.kind)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(row.card_id)?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&row.amount_cents)?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&row.quantity)?;
    out.push_sql(", ");
    // NULL is written in the SQL itself, so that the bind types stay the same.
    match row.product {
        Some(product) => out.push_bind_param::<Text, _>(product)?,
        None => out.push_sql("NULL"),
    }
    out.push_sql(", ");
    out.push_bind_param::<Bool, _>(&row.valid)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(row.author)?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&row.created_at)?;
    out.push_sql(") RETURNING id");
    Ok(())
}

/// A query with its `LIMIT` written into the SQL text: diesel binds `.limit(n)` as a
/// parameter, and SQLite expires a statement whose `LIMIT` parameter is bound again (it plans
/// with its value), so a hot read with a bound limit is parsed again on every call. The limit
/// here is part of the text: one prepared statement per limit, kept in diesel's cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiteralLimit<Q> {
    pub query: Q,
    pub limit: u32,
}

impl<Q> QueryId for LiteralLimit<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for LiteralLimit<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for LiteralLimit<Q> {}

impl<Q, DB> QueryFragment<DB> for LiteralLimit<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {}", self.limit));
        Ok(())
    }
}

/// The members who watch some of a batch's cards (`Sql::watches`): the cards, their member's
/// channels and contacts, for members with a low-balance threshold or receipts.
///
/// Diesel never caches an `IN` list of a slice (its length varies), so SQLite would plan this
/// three-table join again for every batch. Here the list is padded to a power of two by
/// repeating its last card (the same rows): a handful of statement shapes, each prepared once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WatchesOf<'a> {
    pub cards: &'a [&'a str],
}

impl WatchesOf<'_> {
    /// The number of placeholders of the `IN` list: the next power of two.
    fn width(&self) -> usize {
        self.cards.len().max(1).next_power_of_two()
    }
}

impl QueryId for WatchesOf<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for WatchesOf<'_> {
    type SqlType = (
        Text,
        BigInt,
        Bool,
        Bool,
        Bool,
        Nullable<BigInt>,
        Bool,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
    );
}

impl<Conn> RunQueryDsl<Conn> for WatchesOf<'_> {}

impl<DB> QueryFragment<DB> for WatchesOf<'_>
where
    DB: Backend + HasSqlType<Text>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "SELECT c.id, m.id, p.email, p.sms, p.push, p.low_balance_cents, p.receipts, \
             m.email, m.mobile, m.phone \
             FROM cards c \
             JOIN member_preferences p ON p.member_id = c.member_id \
             JOIN members m ON m.id = c.member_id \
             WHERE (p.low_balance_cents IS NOT NULL OR p.receipts) AND c.id IN (",
        );
        let Some(last) = self.cards.last() else {
            // No card: a list that matches none (never built so: the caller reads nothing).
            out.push_sql("NULL)");
            return Ok(());
        };
        for i in 0..self.width() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<Text, _>(*self.cards.get(i).unwrap_or(last))?;
        }
        out.push_sql(")");
        Ok(())
    }
}
