//! The writer's two hot statements, written by hand so that diesel keeps them prepared, and a
//! `LIMIT` written into the SQL text for hot reads.
//!
//! Diesel never caches an `UPDATE` built with its DSL (`UpdateStatement::walk_ast` marks it
//! unsafe to cache), nor an `INSERT` with optional values, nor `sql_query`: SQLite then parses
//! the guarded update and the ledger insert again for every payment. Each of these two has
//! one SQL text (the guard's parts are bound as booleans), so a static query id: diesel finds
//! its prepared statement by type, without writing the SQL out again for every movement.
//!
//! On PostgreSQL both end in `RETURNING` (one round trip). SQLite runs `RETURNING` through an
//! ephemeral table and a statement journal (it implements it as a trigger), which cost more
//! than asking afterwards: there the update and the insert return nothing, and the writer
//! reads the new balance, or `last_insert_rowid()`, in the same transaction
//! (`Dialect::run_guarded_add` and `Dialect::run_insert_transaction` in `sql.rs`).

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

/// `UPDATE cards SET balance_cents = balance_cents + delta WHERE id = card AND <guard>`
/// (`RETURNING balance_cents` on PostgreSQL): the guard in the `WHERE` clause, never a
/// read-modify-write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedAdd<'a> {
    pub card: &'a str,
    pub delta: i64,
    pub guard: &'a Guard,
    pub at_ms: i64,
}

/// `INSERT INTO transactions (…) VALUES (…)` (`RETURNING id` on PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InsertTransaction<'a> {
    pub row: &'a NewTransaction<'a>,
}

/// The query id of [`GuardedAdd`]: one SQL text per backend.
pub(crate) struct GuardedAddId;

/// The query id of [`InsertTransaction`]: one SQL text per backend.
pub(crate) struct InsertTransactionId;

impl QueryId for GuardedAdd<'_> {
    type QueryId = GuardedAddId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for InsertTransaction<'_> {
    type QueryId = InsertTransactionId;
    const HAS_STATIC_QUERY_ID: bool = true;
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
    ($db:ty, $returning:expr) => {
        impl QueryFragment<$db> for GuardedAdd<'_> {
            fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, $db>) -> QueryResult<()> {
                guarded_add_sql::<$db>(self, out, $returning)
            }
        }

        impl QueryFragment<$db> for InsertTransaction<'_> {
            fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, $db>) -> QueryResult<()> {
                insert_transaction_sql::<$db>(self, out, $returning)
            }
        }
    };
}

impl_fragments!(Sqlite, false);
impl_fragments!(Pg, true);

/// `" BETWEEN -MAX AND MAX"` for `sql::MAX_BALANCE_CENTS`, written out (a test checks it).
const BALANCE_RANGE: &str = " BETWEEN -1000000000000000 AND 1000000000000000";

fn guarded_add_sql<'b, DB>(
    q: &'b GuardedAdd<'_>,
    mut out: AstPass<'_, 'b, DB>,
    returning: bool,
) -> QueryResult<()>
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
    out.push_sql(BALANCE_RANGE);
    // A replaced card's balance moved to its successor: it never changes again.
    out.push_sql(" AND replaced_by IS NULL");
    // Each part of the guard holds, or is not asked for: `AND (NOT <asked> OR <part>)`.
    let parts = [
        (
            &q.guard.floor,
            " OR balance_cents + ",
            &q.delta,
            " + overdraft_limit_cents >= 0)",
        ),
        (
            &q.guard.ceiling,
            " OR max_balance_cents IS NULL OR balance_cents + ",
            &q.delta,
            " <= max_balance_cents)",
        ),
        (
            &q.guard.usable,
            " OR (status = 'active' AND (valid_until IS NULL OR valid_until > ",
            &q.at_ms,
            ")))",
        ),
    ];
    for (asked, before, value, after) in parts {
        out.push_sql(" AND (NOT ");
        out.push_bind_param::<Bool, _>(asked)?;
        out.push_sql(before);
        out.push_bind_param::<BigInt, _>(value)?;
        out.push_sql(after);
    }
    if returning {
        out.push_sql(" RETURNING balance_cents");
    }
    Ok(())
}

fn insert_transaction_sql<'b, DB>(
    q: &'b InsertTransaction<'_>,
    mut out: AstPass<'_, 'b, DB>,
    returning: bool,
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
    out.push_bind_param::<Nullable<Text>, _>(&row.product)?;
    out.push_sql(", ");
    out.push_bind_param::<Bool, _>(&row.valid)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(row.author)?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&row.created_at)?;
    out.push_sql(")");
    if returning {
        out.push_sql(" RETURNING id");
    }
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

#[cfg(test)]
mod tests {
    use crate::sql::MAX_BALANCE_CENTS;

    #[test]
    fn the_balance_range_is_the_schemas() {
        assert_eq!(
            super::BALANCE_RANGE,
            format!(" BETWEEN {} AND {MAX_BALANCE_CENTS}", -MAX_BALANCE_CENTS)
        );
    }
}
