//! Every SQL statement of the store, written once with diesel's DSL.
//!
//! [`Sql`] is implemented for both connection types by one macro, so each statement is
//! type-checked against SQLite and PostgreSQL; [`Dialect`] holds the few things that really
//! differ (how a write transaction begins, row locks). The rules that combine statements
//! (`ledger.rs`, `staff.rs`, …) are plain Rust, generic over these traits.

use ardoise_domain::ports::Guard;
use diesel::connection::AnsiTransactionManager;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::{Error as DieselError, QueryResult};
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;

use crate::prepared::{GuardedAdd, InsertTransaction, LiteralLimit, WatchesOf};
use crate::rows::{
    BundleRow, CardRow, CreditRow, IdempotencyRow, LinkRow, MemberRow, NewCard, NewChange,
    NewStaff, NewTransaction, PreferencesRow, ProductRow, ProfileRow, ReplacementCard, SessionRow,
    StaffRow, TransactionRow, TransferRow,
};
use crate::schema::{
    card_credits, cards, exchange_transfers, idempotency_keys, member_accounts, member_links,
    member_preferences, members, partners, product_bundles, products, sessions, staff_users,
    transaction_changes, transactions,
};

/// A card's member who watches it: card, member, the e-mail, SMS and push choices, the
/// low-balance threshold, receipts, and the member's e-mail, mobile and phone.
pub(crate) type WatchRow = (
    String,
    i64,
    bool,
    bool,
    bool,
    Option<i64>,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A card's member: member, e-mail, SMS and push choices (if made), e-mail, mobile, phone.
pub(crate) type ContactRow = (
    i64,
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The largest magnitude a balance may have (the domain's limit, also a CHECK in the schema).
pub(crate) const MAX_BALANCE_CENTS: i64 = 1_000_000_000_000_000;

/// What differs between the backends.
pub(crate) trait Dialect: Connection<TransactionManager = AnsiTransactionManager> {
    /// Runs `f` in a transaction that holds the right to write from its first statement:
    /// `BEGIN IMMEDIATE` on SQLite (so waiting for the lock honours `busy_timeout` and a
    /// read-then-write never fails half-way), a plain `BEGIN` on PostgreSQL (row locks).
    fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<DieselError>;

    /// Locks the cards a batch will touch, in id order, so that two batches never wait for
    /// each other in a cycle. A no-op on SQLite, where a write transaction locks everything.
    fn lock_cards(&mut self, ids: &[&str]) -> QueryResult<()>;

    /// Reads a card and keeps it locked until the end of the transaction.
    fn card_for_update(&mut self, id: &str) -> QueryResult<Option<CardRow>>;

    /// Locks a partner's row until the end of the transaction, so that two credits of one
    /// partner check its daily cap one after the other. Taken after the cards' locks. A no-op
    /// on SQLite, where a write transaction locks everything.
    fn lock_partner(&mut self, client_id: &str) -> QueryResult<()>;

    /// The logins of the active presidents (rights 3), locked until the end of the
    /// transaction (PostgreSQL), so that two writes that each take one away see each other.
    /// A plain read on SQLite, where a write transaction locks everything.
    fn lock_presidents(&mut self) -> QueryResult<Vec<String>>;

    /// Runs the guarded update: the new balance, or `None` if no row matched. PostgreSQL
    /// answers it with `RETURNING` (one round trip); SQLite, which runs `RETURNING` through an
    /// ephemeral table and a statement journal, reads it back by primary key in the same
    /// write transaction (see `prepared.rs`).
    fn run_guarded_add(&mut self, q: GuardedAdd<'_>) -> QueryResult<Option<i64>>;

    /// Runs the ledger insert: the new transaction's id (`RETURNING` on PostgreSQL,
    /// `last_insert_rowid()` on SQLite).
    fn run_insert_transaction(&mut self, q: InsertTransaction<'_>) -> QueryResult<i64>;
}

diesel::define_sql_function! {
    /// SQLite's rowid of the last row this connection inserted.
    fn last_insert_rowid() -> BigInt;
}

impl Dialect for SqliteConnection {
    fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<DieselError>,
    {
        self.immediate_transaction(f)
    }

    fn lock_cards(&mut self, _ids: &[&str]) -> QueryResult<()> {
        Ok(())
    }

    fn card_for_update(&mut self, id: &str) -> QueryResult<Option<CardRow>> {
        // The write transaction (BEGIN IMMEDIATE) already excludes every other writer.
        Sql::find_card(self, id)
    }

    fn lock_partner(&mut self, _client_id: &str) -> QueryResult<()> {
        Ok(())
    }

    fn lock_presidents(&mut self) -> QueryResult<Vec<String>> {
        presidents().load(self)
    }

    fn run_guarded_add(&mut self, q: GuardedAdd<'_>) -> QueryResult<Option<i64>> {
        if q.execute(self)? == 0 {
            return Ok(None);
        }
        // The write transaction excludes every other writer: nothing changed the card since.
        cards::table
            .filter(cards::id.eq(q.card))
            .select(cards::balance_cents)
            .get_result(self)
            .optional()
    }

    fn run_insert_transaction(&mut self, q: InsertTransaction<'_>) -> QueryResult<i64> {
        q.execute(self)?;
        diesel::select(last_insert_rowid()).get_result(self)
    }
}

impl Dialect for PgConnection {
    fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<DieselError>,
    {
        self.transaction(f)
    }

    fn lock_cards(&mut self, ids: &[&str]) -> QueryResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        cards::table
            .filter(cards::id.eq_any(ids))
            .order(cards::id)
            .select(cards::id)
            .for_update()
            .load::<String>(self)
            .map(|_| ())
    }

    fn card_for_update(&mut self, id: &str) -> QueryResult<Option<CardRow>> {
        cards::table
            .find(id)
            .select(CardRow::as_select())
            .for_update()
            .get_result(self)
            .optional()
    }

    fn lock_partner(&mut self, client_id: &str) -> QueryResult<()> {
        partners::table
            .find(client_id)
            .select(partners::client_id)
            .for_update()
            .load::<String>(self)
            .map(|_| ())
    }

    fn lock_presidents(&mut self) -> QueryResult<Vec<String>> {
        // READ COMMITTED re-checks a locked row that changed meanwhile: a president demoted
        // by the transaction this one waited for drops out of the list.
        presidents().for_update().load(self)
    }

    fn run_guarded_add(&mut self, q: GuardedAdd<'_>) -> QueryResult<Option<i64>> {
        q.get_result(self).optional()
    }

    fn run_insert_transaction(&mut self, q: InsertTransaction<'_>) -> QueryResult<i64> {
        q.get_result(self)
    }
}

/// The logins of the active presidents, by login (the lock order).
type Presidents = diesel::dsl::Select<
    diesel::dsl::Order<
        diesel::dsl::Filter<
            staff_users::table,
            diesel::dsl::And<
                diesel::dsl::Eq<staff_users::active, bool>,
                diesel::dsl::Eq<staff_users::rights, i16>,
            >,
        >,
        staff_users::login,
    >,
    staff_users::login,
>;

fn presidents() -> Presidents {
    staff_users::table
        .filter(
            staff_users::active
                .eq(true)
                .and(staff_users::rights.eq(3_i16)),
        )
        .order(staff_users::login)
        .select(staff_users::login)
}

/// The statements, identical on both backends.
pub(crate) trait Sql: Dialect + Sized {
    // The ledger's writes.
    /// Inserts a card unless one with that id exists; whether it was inserted.
    fn insert_card(&mut self, row: &NewCard<'_>) -> QueryResult<bool>;
    /// Appends a transaction; its id.
    fn insert_transaction(&mut self, row: &NewTransaction<'_>) -> QueryResult<i64>;
    /// Adds `delta` to the balance if the guard and the balance range allow it and the card
    /// was not replaced, in the `UPDATE`'s `WHERE` clause; the new balance, or `None` if no
    /// row matched.
    fn guarded_add(
        &mut self,
        card: &str,
        delta: i64,
        guard: &Guard,
        at_ms: i64,
    ) -> QueryResult<Option<i64>>;
    /// Sets the balance to `new` if it is still `expected`; whether it was.
    fn replace_balance(&mut self, card: &str, expected: i64, new: i64) -> QueryResult<bool>;
    /// Sets a transaction of `card` valid or not, only if it is in the other state;
    /// its amount if it was flipped.
    fn flip(&mut self, transaction: i64, card: &str, valid_after: bool)
        -> QueryResult<Option<i64>>;
    fn insert_change(&mut self, row: &NewChange<'_>) -> QueryResult<()>;
    /// Sets the overdraft limit; the balance, or `None` for an unknown card.
    fn set_overdraft(&mut self, card: &str, limit: i64) -> QueryResult<Option<i64>>;
    /// Sets the status of a card that was not replaced; its balance, or `None` if no such
    /// card.
    fn set_status(&mut self, card: &str, status: &str) -> QueryResult<Option<i64>>;
    /// Sets or clears the end of validity of a card that was not replaced; its balance, or
    /// `None` if no such card.
    fn set_valid_until(&mut self, card: &str, until: Option<i64>) -> QueryResult<Option<i64>>;
    /// Inserts the card that replaces another unless one with that id exists; whether it
    /// was inserted.
    fn insert_replacement(&mut self, row: &ReplacementCard<'_>) -> QueryResult<bool>;
    /// Empties a card that is being replaced, if its balance is still `expected` and it was
    /// not replaced yet: balance 0, `status`, `replaced_by`. Whether it was.
    fn retire_card(
        &mut self,
        card: &str,
        expected: i64,
        status: &str,
        replaced_by: &str,
    ) -> QueryResult<bool>;

    /// Records a member-to-member transfer beside its ledger rows.
    fn insert_transfer(&mut self, row: &TransferRow) -> QueryResult<()>;
    /// Marks a transfer cancelled if it was not; whether it was.
    fn cancel_transfer(&mut self, transaction: i64, by: &str, at_ms: i64) -> QueryResult<bool>;

    // Members and their cards.
    fn insert_member(&mut self, row: &ProfileRow, created_at: i64) -> QueryResult<i64>;
    fn find_member(&mut self, id: i64) -> QueryResult<Option<MemberRow>>;
    fn count_members(&mut self) -> QueryResult<i64>;
    fn members_page(&mut self, offset: i64, limit: i64) -> QueryResult<Vec<MemberRow>>;
    /// Writes a member's profile if it is still at `revision`, and increments the revision;
    /// the rows changed.
    fn update_member(&mut self, id: i64, revision: i64, row: &ProfileRow) -> QueryResult<usize>;
    /// Links a card to an existing member unless it was replaced or another member owns it;
    /// the rows changed.
    fn link_card(&mut self, member: i64, card: &str) -> QueryResult<usize>;
    /// Unlinks a card from this member; the rows changed.
    fn unlink_card(&mut self, member: i64, card: &str) -> QueryResult<usize>;
    fn count_member_cards(&mut self, member: i64) -> QueryResult<i64>;
    fn member_cards_page(
        &mut self,
        member: i64,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<CardRow>>;

    // The ledger's reads.
    fn find_card(&mut self, id: &str) -> QueryResult<Option<CardRow>>;
    /// The members of `cards` who want a low-balance alert or receipts: what the writer
    /// needs to queue their events (see `member_events.rs`).
    fn watches(&mut self, cards: &[&str]) -> QueryResult<Vec<WatchRow>>;
    /// The member of `card` and how to reach them: member, their e-mail, SMS and push
    /// choices (none if they never chose), e-mail, mobile, phone.
    fn card_contact(&mut self, card: &str) -> QueryResult<Option<ContactRow>>;
    fn all_cards(&mut self) -> QueryResult<Vec<CardRow>>;
    fn find_transaction(&mut self, id: i64) -> QueryResult<Option<TransactionRow>>;
    fn card_transactions(&mut self, card: &str) -> QueryResult<Vec<TransactionRow>>;
    /// The latest transactions of one staff member (`author`, a login), newest first, at
    /// most `limit` (index `transactions_author`, which leaves out the members' transactions:
    /// see [`STAFF_AUTHOR`]).
    fn author_transactions(&mut self, author: &str, limit: u32)
        -> QueryResult<Vec<TransactionRow>>;
    fn transactions_after(
        &mut self,
        after: i64,
        limit: Option<i64>,
    ) -> QueryResult<Vec<TransactionRow>>;
    // Partners' credits and idempotency keys, written with their movement.
    /// Inserts a credit unless its (partner, reference) exists; whether it was inserted.
    fn insert_credit(&mut self, row: &CreditRow) -> QueryResult<bool>;
    fn find_credit(&mut self, partner: &str, reference: &str) -> QueryResult<Option<CreditRow>>;
    /// The amounts a partner credited from `since_ms` on.
    fn credit_amounts_since(&mut self, partner: &str, since_ms: i64) -> QueryResult<Vec<i64>>;
    /// Inserts an answer unless its (owner, key) exists; whether it was inserted.
    fn insert_idempotency(&mut self, row: &IdempotencyRow) -> QueryResult<bool>;
    fn find_idempotency(&mut self, owner: &str, key: &str) -> QueryResult<Option<IdempotencyRow>>;

    /// How many transactions, of one card or of all.
    fn count_transactions(&mut self, card: Option<&str>) -> QueryResult<i64>;
    /// Transactions by id, of one card or of all, skipping `offset`, at most `limit`.
    fn transactions_page(
        &mut self,
        card: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<TransactionRow>>;
    /// The figures of the statistics, in cents.
    fn totals(&mut self) -> QueryResult<TotalsFigures>;

    // The catalog.
    fn find_product(&mut self, name: &str) -> QueryResult<Option<ProductRow>>;
    fn all_products(&mut self) -> QueryResult<Vec<ProductRow>>;
    fn bundles(&mut self, product: Option<&str>) -> QueryResult<Vec<BundleRow>>;
    fn upsert_product(&mut self, row: &ProductRow) -> QueryResult<()>;
    fn replace_bundles(&mut self, product: &str, rows: &[BundleRow]) -> QueryResult<()>;

    // Staff accounts.
    fn staff_user(&mut self, login: &str) -> QueryResult<Option<StaffRow>>;
    fn active_staff_by_card(&mut self, card: &str) -> QueryResult<Option<StaffRow>>;
    fn active_staff(&mut self) -> QueryResult<Vec<StaffRow>>;
    fn any_staff(&mut self) -> QueryResult<bool>;
    /// Whether an active user other than `login` holds `card`.
    fn card_held_by_other(&mut self, card: &str, login: &str) -> QueryResult<bool>;
    fn insert_staff(&mut self, row: &NewStaff<'_>) -> QueryResult<()>;
    /// The updates below touch active users only; they return the number of rows changed.
    fn set_password_hash(&mut self, login: &str, hash: &str) -> QueryResult<usize>;
    /// Replaces the hash only if it is still `old` (a guarded update).
    fn replace_password_hash(&mut self, login: &str, old: &str, new: &str) -> QueryResult<usize>;
    fn set_staff_card(&mut self, login: &str, card: Option<&str>) -> QueryResult<usize>;
    fn set_rights(&mut self, login: &str, rights: i16) -> QueryResult<usize>;
    fn deactivate(&mut self, login: &str) -> QueryResult<usize>;

    // Sessions.
    fn insert_session(&mut self, row: &SessionRow) -> QueryResult<()>;
    fn find_session(&mut self, token_hash: &str) -> QueryResult<Option<SessionRow>>;
    fn touch_session(&mut self, token_hash: &str, at_ms: i64) -> QueryResult<usize>;
    fn delete_session(&mut self, token_hash: &str) -> QueryResult<usize>;
    fn delete_sessions_of(&mut self, login: &str) -> QueryResult<usize>;
    /// Deletes a user's sessions but the one of token hash `keep`.
    fn delete_sessions_of_except(&mut self, login: &str, keep: Option<&str>) -> QueryResult<usize>;
    /// Deletes the staff sessions (`members: false`) or the members' sessions last seen
    /// before `before_ms`.
    fn purge_sessions(&mut self, members: bool, before_ms: i64) -> QueryResult<usize>;
    fn delete_member_sessions(&mut self, member: i64) -> QueryResult<usize>;

    // Members' accounts.
    /// (member id, password hash) of the account whose member has this e-mail key.
    fn account_by_email_key(&mut self, key: &str) -> QueryResult<Option<(i64, String)>>;
    /// Deletes a member's unused links of one purpose.
    fn delete_unused_links(&mut self, member: i64, purpose: &str) -> QueryResult<usize>;
    fn insert_link(&mut self, row: &LinkRow) -> QueryResult<()>;
    /// Marks a link used if it is unused and expires after `now_ms`; its member if it was.
    fn use_link(&mut self, token_hash: &str, now_ms: i64) -> QueryResult<Option<i64>>;
    /// Creates the member's account or replaces its password hash.
    fn upsert_account(&mut self, member: i64, hash: &str, at_ms: i64) -> QueryResult<()>;
    fn find_preferences(&mut self, member: i64) -> QueryResult<Option<PreferencesRow>>;
    fn upsert_preferences(&mut self, row: &PreferencesRow) -> QueryResult<()>;
    /// Writes a member's profile whatever its revision, and increments the revision; the
    /// rows changed.
    fn overwrite_member(&mut self, id: i64, row: &ProfileRow) -> QueryResult<usize>;
    /// Deletes the member's account, links and preferences.
    fn delete_account(&mut self, member: i64) -> QueryResult<()>;

    /// `SELECT 1`.
    fn ping(&mut self) -> QueryResult<()>;
}

/// The figures of the statistics, in cents (see `Totals`).
pub(crate) struct TotalsFigures {
    pub positive: i64,
    pub negative: i64,
    pub cards: i64,
    pub positive_cards: i64,
    pub consumed: i64,
    /// (login, sum of the amounts of its valid transactions).
    pub by_author: Vec<(String, i64)>,
}

#[derive(QueryableByName)]
struct TotalsRow {
    #[diesel(sql_type = BigInt)]
    positive: i64,
    #[diesel(sql_type = BigInt)]
    negative: i64,
    #[diesel(sql_type = BigInt)]
    cards: i64,
    #[diesel(sql_type = BigInt)]
    positive_cards: i64,
}

#[derive(QueryableByName)]
struct AuthorRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    author: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct ConsumedRow {
    #[diesel(sql_type = BigInt)]
    consumed: i64,
}

// Sums are cast because PostgreSQL widens SUM(BIGINT) to NUMERIC; no parameters, so the
// placeholder syntax (`?` or `$1`) does not matter.
const TOTALS_SQL: &str = "SELECT \
     CAST(COALESCE(SUM(CASE WHEN balance_cents > 0 THEN balance_cents ELSE 0 END), 0) AS BIGINT) \
         AS positive, \
     CAST(COALESCE(SUM(CASE WHEN balance_cents < 0 THEN balance_cents ELSE 0 END), 0) AS BIGINT) \
         AS negative, \
     CAST(COUNT(*) AS BIGINT) AS cards, \
     CAST(COALESCE(SUM(CASE WHEN balance_cents > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         AS positive_cards \
     FROM cards";
/// The condition of the partial index `transactions_author` (migration
/// `2026-12-07-000001_write_paths`), written literally into the query that uses it: SQLite
/// and PostgreSQL use a partial index only when the query holds its condition as written.
/// A staff login never holds a colon, so it never starts with `member:`.
const STAFF_AUTHOR: &str = "substr(transactions.author, 1, 7) <> 'member:'";

const BY_AUTHOR_SQL: &str = "SELECT author, CAST(SUM(amount_cents) AS BIGINT) AS total \
     FROM transactions WHERE valid = TRUE GROUP BY author";
const CONSUMED_SQL: &str = "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS consumed \
     FROM transactions WHERE valid = TRUE AND kind = 3";

macro_rules! impl_sql {
    ($conn:ty) => {
        impl Sql for $conn {
            fn insert_card(&mut self, row: &NewCard<'_>) -> QueryResult<bool> {
                let inserted = diesel::insert_into(cards::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(self)?;
                Ok(inserted == 1)
            }

            fn insert_transaction(&mut self, row: &NewTransaction<'_>) -> QueryResult<i64> {
                // Hand-written so that it stays prepared (see `prepared.rs`).
                self.run_insert_transaction(InsertTransaction { row })
            }

            fn guarded_add(
                &mut self,
                card: &str,
                delta: i64,
                guard: &Guard,
                at_ms: i64,
            ) -> QueryResult<Option<i64>> {
                // Hand-written so that it stays prepared (see `prepared.rs`).
                self.run_guarded_add(GuardedAdd {
                    card,
                    delta,
                    guard,
                    at_ms,
                })
            }

            fn replace_balance(
                &mut self,
                card: &str,
                expected: i64,
                new: i64,
            ) -> QueryResult<bool> {
                let changed = diesel::update(
                    cards::table
                        .find(card)
                        .filter(cards::balance_cents.eq(expected)),
                )
                .set(cards::balance_cents.eq(new))
                .execute(self)?;
                Ok(changed == 1)
            }

            fn flip(
                &mut self,
                transaction: i64,
                card: &str,
                valid_after: bool,
            ) -> QueryResult<Option<i64>> {
                diesel::update(
                    transactions::table
                        .find(transaction)
                        .filter(transactions::card_id.eq(card))
                        .filter(transactions::valid.eq(!valid_after)),
                )
                .set(transactions::valid.eq(valid_after))
                .returning(transactions::amount_cents)
                .get_result(self)
                .optional()
            }

            fn insert_transfer(&mut self, row: &TransferRow) -> QueryResult<()> {
                diesel::insert_into(exchange_transfers::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn cancel_transfer(
                &mut self,
                transaction: i64,
                by: &str,
                at_ms: i64,
            ) -> QueryResult<bool> {
                let changed = diesel::update(
                    exchange_transfers::table
                        .find(transaction)
                        .filter(exchange_transfers::cancelled_at.is_null()),
                )
                .set((
                    exchange_transfers::cancelled_by.eq(by),
                    exchange_transfers::cancelled_at.eq(at_ms),
                ))
                .execute(self)?;
                Ok(changed == 1)
            }

            fn insert_change(&mut self, row: &NewChange<'_>) -> QueryResult<()> {
                diesel::insert_into(transaction_changes::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn set_overdraft(&mut self, card: &str, limit: i64) -> QueryResult<Option<i64>> {
                diesel::update(cards::table.find(card))
                    .set(cards::overdraft_limit_cents.eq(limit))
                    .returning(cards::balance_cents)
                    .get_result(self)
                    .optional()
            }

            fn set_status(&mut self, card: &str, status: &str) -> QueryResult<Option<i64>> {
                diesel::update(cards::table.find(card).filter(cards::replaced_by.is_null()))
                    .set(cards::status.eq(status))
                    .returning(cards::balance_cents)
                    .get_result(self)
                    .optional()
            }

            fn set_valid_until(
                &mut self,
                card: &str,
                until: Option<i64>,
            ) -> QueryResult<Option<i64>> {
                diesel::update(cards::table.find(card).filter(cards::replaced_by.is_null()))
                    .set(cards::valid_until.eq(until))
                    .returning(cards::balance_cents)
                    .get_result(self)
                    .optional()
            }

            fn insert_replacement(&mut self, row: &ReplacementCard<'_>) -> QueryResult<bool> {
                let inserted = diesel::insert_into(cards::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(self)?;
                Ok(inserted == 1)
            }

            fn retire_card(
                &mut self,
                card: &str,
                expected: i64,
                status: &str,
                replaced_by: &str,
            ) -> QueryResult<bool> {
                let changed = diesel::update(
                    cards::table
                        .find(card)
                        .filter(cards::balance_cents.eq(expected))
                        .filter(cards::replaced_by.is_null()),
                )
                .set((
                    cards::balance_cents.eq(0),
                    cards::status.eq(status),
                    cards::replaced_by.eq(replaced_by),
                ))
                .execute(self)?;
                Ok(changed == 1)
            }

            fn insert_member(&mut self, row: &ProfileRow, created_at: i64) -> QueryResult<i64> {
                diesel::insert_into(members::table)
                    .values((row, members::created_at.eq(created_at)))
                    .returning(members::id)
                    .get_result(self)
            }

            fn find_member(&mut self, id: i64) -> QueryResult<Option<MemberRow>> {
                members::table
                    .find(id)
                    .select(MemberRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn count_members(&mut self) -> QueryResult<i64> {
                members::table.count().get_result(self)
            }

            fn members_page(&mut self, offset: i64, limit: i64) -> QueryResult<Vec<MemberRow>> {
                members::table
                    .order(members::id)
                    .select(MemberRow::as_select())
                    .offset(offset)
                    .limit(limit)
                    .load(self)
            }

            fn update_member(
                &mut self,
                id: i64,
                revision: i64,
                row: &ProfileRow,
            ) -> QueryResult<usize> {
                diesel::update(
                    members::table
                        .find(id)
                        .filter(members::revision.eq(revision)),
                )
                .set((row, members::revision.eq(members::revision + 1)))
                .execute(self)
            }

            fn link_card(&mut self, member: i64, card: &str) -> QueryResult<usize> {
                diesel::update(
                    cards::table
                        .find(card)
                        .filter(cards::replaced_by.is_null())
                        .filter(cards::member_id.is_null().or(cards::member_id.eq(member)))
                        .filter(diesel::dsl::exists(
                            members::table.find(member).select(members::id),
                        )),
                )
                .set(cards::member_id.eq(member))
                .execute(self)
            }

            fn unlink_card(&mut self, member: i64, card: &str) -> QueryResult<usize> {
                diesel::update(cards::table.find(card).filter(cards::member_id.eq(member)))
                    .set(cards::member_id.eq(None::<i64>))
                    .execute(self)
            }

            fn count_member_cards(&mut self, member: i64) -> QueryResult<i64> {
                cards::table
                    .filter(cards::member_id.eq(member))
                    .count()
                    .get_result(self)
            }

            fn member_cards_page(
                &mut self,
                member: i64,
                offset: i64,
                limit: i64,
            ) -> QueryResult<Vec<CardRow>> {
                cards::table
                    .filter(cards::member_id.eq(member))
                    .order(cards::id)
                    .select(CardRow::as_select())
                    .offset(offset)
                    .limit(limit)
                    .load(self)
            }

            fn watches(&mut self, ids: &[&str]) -> QueryResult<Vec<WatchRow>> {
                WatchesOf { cards: ids }.load(self)
            }

            fn card_contact(&mut self, card: &str) -> QueryResult<Option<ContactRow>> {
                cards::table
                    .inner_join(members::table.on(members::id.nullable().eq(cards::member_id)))
                    .left_join(
                        member_preferences::table.on(member_preferences::member_id.eq(members::id)),
                    )
                    .filter(cards::id.eq(card))
                    .select((
                        members::id,
                        member_preferences::email.nullable(),
                        member_preferences::sms.nullable(),
                        member_preferences::push.nullable(),
                        members::email,
                        members::mobile,
                        members::phone,
                    ))
                    .first(self)
                    .optional()
            }

            fn find_card(&mut self, id: &str) -> QueryResult<Option<CardRow>> {
                cards::table
                    .find(id)
                    .select(CardRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn all_cards(&mut self) -> QueryResult<Vec<CardRow>> {
                cards::table
                    .order(cards::id)
                    .select(CardRow::as_select())
                    .load(self)
            }

            fn find_transaction(&mut self, id: i64) -> QueryResult<Option<TransactionRow>> {
                transactions::table
                    .find(id)
                    .select(TransactionRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn card_transactions(&mut self, card: &str) -> QueryResult<Vec<TransactionRow>> {
                transactions::table
                    .filter(transactions::card_id.eq(card))
                    .order(transactions::id)
                    .select(TransactionRow::as_select())
                    .load(self)
            }

            fn author_transactions(
                &mut self,
                author: &str,
                limit: u32,
            ) -> QueryResult<Vec<TransactionRow>> {
                LiteralLimit {
                    query: transactions::table
                        .filter(transactions::author.eq(author))
                        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(STAFF_AUTHOR))
                        .order(transactions::id.desc())
                        .select(TransactionRow::as_select()),
                    limit,
                }
                .load(self)
            }

            fn transactions_after(
                &mut self,
                after: i64,
                limit: Option<i64>,
            ) -> QueryResult<Vec<TransactionRow>> {
                let query = transactions::table
                    .filter(transactions::id.gt(after))
                    .order(transactions::id)
                    .select(TransactionRow::as_select());
                match limit {
                    Some(n) => query.limit(n).load(self),
                    None => query.load(self),
                }
            }

            fn insert_credit(&mut self, row: &CreditRow) -> QueryResult<bool> {
                let inserted = diesel::insert_into(card_credits::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(self)?;
                Ok(inserted == 1)
            }

            fn find_credit(
                &mut self,
                partner: &str,
                reference: &str,
            ) -> QueryResult<Option<CreditRow>> {
                card_credits::table
                    .find((partner, reference))
                    .select(CreditRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn credit_amounts_since(
                &mut self,
                partner: &str,
                since_ms: i64,
            ) -> QueryResult<Vec<i64>> {
                card_credits::table
                    .filter(card_credits::partner.eq(partner))
                    .filter(card_credits::created_at.ge(since_ms))
                    .select(card_credits::amount_cents)
                    .load(self)
            }

            fn insert_idempotency(&mut self, row: &IdempotencyRow) -> QueryResult<bool> {
                let inserted = diesel::insert_into(idempotency_keys::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(self)?;
                Ok(inserted == 1)
            }

            fn find_idempotency(
                &mut self,
                owner: &str,
                key: &str,
            ) -> QueryResult<Option<IdempotencyRow>> {
                idempotency_keys::table
                    .find((owner, key))
                    .select(IdempotencyRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn count_transactions(&mut self, card: Option<&str>) -> QueryResult<i64> {
                let mut query = transactions::table.count().into_boxed();
                if let Some(card) = card {
                    query = query.filter(transactions::card_id.eq(card));
                }
                query.get_result(self)
            }

            fn transactions_page(
                &mut self,
                card: Option<&str>,
                offset: i64,
                limit: i64,
            ) -> QueryResult<Vec<TransactionRow>> {
                let mut query = transactions::table
                    .order(transactions::id)
                    .select(TransactionRow::as_select())
                    .into_boxed();
                if let Some(card) = card {
                    query = query.filter(transactions::card_id.eq(card));
                }
                query.offset(offset).limit(limit).load(self)
            }

            fn totals(&mut self) -> QueryResult<TotalsFigures> {
                let t: TotalsRow = diesel::sql_query(TOTALS_SQL).get_result(self)?;
                let c: ConsumedRow = diesel::sql_query(CONSUMED_SQL).get_result(self)?;
                let by_author: Vec<AuthorRow> = diesel::sql_query(BY_AUTHOR_SQL).load(self)?;
                Ok(TotalsFigures {
                    positive: t.positive,
                    negative: t.negative,
                    cards: t.cards,
                    positive_cards: t.positive_cards,
                    consumed: c.consumed,
                    by_author: by_author.into_iter().map(|r| (r.author, r.total)).collect(),
                })
            }

            fn find_product(&mut self, name: &str) -> QueryResult<Option<ProductRow>> {
                products::table
                    .find(name)
                    .select(ProductRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn all_products(&mut self) -> QueryResult<Vec<ProductRow>> {
                products::table
                    .order(products::name)
                    .select(ProductRow::as_select())
                    .load(self)
            }

            fn bundles(&mut self, product: Option<&str>) -> QueryResult<Vec<BundleRow>> {
                let query = product_bundles::table
                    .order((product_bundles::product, product_bundles::quantity))
                    .select(BundleRow::as_select());
                match product {
                    Some(name) => query.filter(product_bundles::product.eq(name)).load(self),
                    None => query.load(self),
                }
            }

            fn upsert_product(&mut self, row: &ProductRow) -> QueryResult<()> {
                diesel::insert_into(products::table)
                    .values(row)
                    .on_conflict(products::name)
                    .do_update()
                    .set(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn replace_bundles(&mut self, product: &str, rows: &[BundleRow]) -> QueryResult<()> {
                diesel::delete(product_bundles::table.filter(product_bundles::product.eq(product)))
                    .execute(self)?;
                for row in rows {
                    diesel::insert_into(product_bundles::table)
                        .values(row)
                        .execute(self)?;
                }
                Ok(())
            }

            fn staff_user(&mut self, login: &str) -> QueryResult<Option<StaffRow>> {
                staff_users::table
                    .find(login)
                    .select(StaffRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn active_staff_by_card(&mut self, card: &str) -> QueryResult<Option<StaffRow>> {
                staff_users::table
                    .filter(staff_users::card_id.eq(card))
                    .filter(staff_users::active.eq(true))
                    .select(StaffRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn active_staff(&mut self) -> QueryResult<Vec<StaffRow>> {
                staff_users::table
                    .filter(staff_users::active.eq(true))
                    .order(staff_users::login)
                    .select(StaffRow::as_select())
                    .load(self)
            }

            fn any_staff(&mut self) -> QueryResult<bool> {
                diesel::select(diesel::dsl::exists(
                    staff_users::table.select(staff_users::login),
                ))
                .get_result(self)
            }

            fn card_held_by_other(&mut self, card: &str, login: &str) -> QueryResult<bool> {
                diesel::select(diesel::dsl::exists(
                    staff_users::table
                        .filter(staff_users::card_id.eq(card))
                        .filter(staff_users::active.eq(true))
                        .filter(staff_users::login.ne(login))
                        .select(staff_users::login),
                ))
                .get_result(self)
            }

            fn insert_staff(&mut self, row: &NewStaff<'_>) -> QueryResult<()> {
                diesel::insert_into(staff_users::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn set_password_hash(&mut self, login: &str, hash: &str) -> QueryResult<usize> {
                diesel::update(active_user(login))
                    .set(staff_users::password_hash.eq(hash))
                    .execute(self)
            }

            fn replace_password_hash(
                &mut self,
                login: &str,
                old: &str,
                new: &str,
            ) -> QueryResult<usize> {
                diesel::update(active_user(login).filter(staff_users::password_hash.eq(old)))
                    .set(staff_users::password_hash.eq(new))
                    .execute(self)
            }

            fn set_staff_card(&mut self, login: &str, card: Option<&str>) -> QueryResult<usize> {
                diesel::update(active_user(login))
                    .set(staff_users::card_id.eq(card))
                    .execute(self)
            }

            fn set_rights(&mut self, login: &str, rights: i16) -> QueryResult<usize> {
                diesel::update(active_user(login))
                    .set(staff_users::rights.eq(rights))
                    .execute(self)
            }

            fn deactivate(&mut self, login: &str) -> QueryResult<usize> {
                diesel::update(active_user(login))
                    .set(staff_users::active.eq(false))
                    .execute(self)
            }

            fn insert_session(&mut self, row: &SessionRow) -> QueryResult<()> {
                diesel::insert_into(sessions::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn find_session(&mut self, token_hash: &str) -> QueryResult<Option<SessionRow>> {
                sessions::table
                    .find(token_hash)
                    .select(SessionRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn touch_session(&mut self, token_hash: &str, at_ms: i64) -> QueryResult<usize> {
                diesel::update(sessions::table.find(token_hash))
                    .set(sessions::last_seen.eq(at_ms))
                    .execute(self)
            }

            fn delete_session(&mut self, token_hash: &str) -> QueryResult<usize> {
                diesel::delete(sessions::table.find(token_hash)).execute(self)
            }

            fn delete_sessions_of(&mut self, login: &str) -> QueryResult<usize> {
                diesel::delete(sessions::table.filter(sessions::login.eq(login))).execute(self)
            }

            fn delete_sessions_of_except(
                &mut self,
                login: &str,
                keep: Option<&str>,
            ) -> QueryResult<usize> {
                match keep {
                    Some(keep) => diesel::delete(
                        sessions::table
                            .filter(sessions::login.eq(login))
                            .filter(sessions::token_hash.ne(keep)),
                    )
                    .execute(self),
                    None => self.delete_sessions_of(login),
                }
            }

            fn purge_sessions(&mut self, members: bool, before_ms: i64) -> QueryResult<usize> {
                let old = sessions::table.filter(sessions::last_seen.lt(before_ms));
                if members {
                    diesel::delete(old.filter(sessions::member_id.is_not_null())).execute(self)
                } else {
                    diesel::delete(old.filter(sessions::login.is_not_null())).execute(self)
                }
            }

            fn delete_member_sessions(&mut self, member: i64) -> QueryResult<usize> {
                diesel::delete(sessions::table.filter(sessions::member_id.eq(member))).execute(self)
            }

            fn account_by_email_key(&mut self, key: &str) -> QueryResult<Option<(i64, String)>> {
                member_accounts::table
                    .inner_join(members::table)
                    .filter(members::email_key.eq(key))
                    .select((member_accounts::member_id, member_accounts::password_hash))
                    .get_result(self)
                    .optional()
            }

            fn delete_unused_links(&mut self, member: i64, purpose: &str) -> QueryResult<usize> {
                diesel::delete(
                    member_links::table
                        .filter(member_links::member_id.eq(member))
                        .filter(member_links::purpose.eq(purpose))
                        .filter(member_links::used_at.is_null()),
                )
                .execute(self)
            }

            fn insert_link(&mut self, row: &LinkRow) -> QueryResult<()> {
                diesel::insert_into(member_links::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn use_link(&mut self, token_hash: &str, now_ms: i64) -> QueryResult<Option<i64>> {
                diesel::update(
                    member_links::table
                        .find(token_hash)
                        .filter(member_links::used_at.is_null())
                        .filter(member_links::expires_at.gt(now_ms)),
                )
                .set(member_links::used_at.eq(now_ms))
                .returning(member_links::member_id)
                .get_result(self)
                .optional()
            }

            fn upsert_account(&mut self, member: i64, hash: &str, at_ms: i64) -> QueryResult<()> {
                diesel::insert_into(member_accounts::table)
                    .values((
                        member_accounts::member_id.eq(member),
                        member_accounts::password_hash.eq(hash),
                        member_accounts::created_at.eq(at_ms),
                        member_accounts::updated_at.eq(at_ms),
                    ))
                    .on_conflict(member_accounts::member_id)
                    .do_update()
                    .set((
                        member_accounts::password_hash.eq(hash),
                        member_accounts::updated_at.eq(at_ms),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn find_preferences(&mut self, member: i64) -> QueryResult<Option<PreferencesRow>> {
                member_preferences::table
                    .find(member)
                    .select(PreferencesRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn upsert_preferences(&mut self, row: &PreferencesRow) -> QueryResult<()> {
                diesel::insert_into(member_preferences::table)
                    .values(row)
                    .on_conflict(member_preferences::member_id)
                    .do_update()
                    .set(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn overwrite_member(&mut self, id: i64, row: &ProfileRow) -> QueryResult<usize> {
                diesel::update(members::table.find(id))
                    .set((row, members::revision.eq(members::revision + 1)))
                    .execute(self)
            }

            fn delete_account(&mut self, member: i64) -> QueryResult<()> {
                diesel::delete(member_links::table.filter(member_links::member_id.eq(member)))
                    .execute(self)?;
                diesel::delete(member_preferences::table.find(member)).execute(self)?;
                diesel::delete(member_accounts::table.find(member)).execute(self)?;
                Ok(())
            }

            fn ping(&mut self) -> QueryResult<()> {
                diesel::select(1_i64.into_sql::<BigInt>())
                    .get_result::<i64>(self)
                    .map(|_| ())
            }
        }
    };
}

/// The active user with this login.
fn active_user(
    login: &str,
) -> diesel::dsl::Filter<
    diesel::dsl::Find<staff_users::table, &str>,
    diesel::dsl::Eq<staff_users::active, bool>,
> {
    staff_users::table
        .find(login)
        .filter(staff_users::active.eq(true))
}

impl_sql!(SqliteConnection);
impl_sql!(PgConnection);

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    use super::STAFF_AUTHOR;
    use crate::db::{open, Db};
    use crate::StoreSettings;

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// SQLite reads a partial index only for a query that holds the index's condition as the
    /// migration wrote it: the till's list (`author_transactions`, which adds
    /// [`STAFF_AUTHOR`]) must search `transactions_author`, not scan the ledger.
    #[test]
    fn the_tills_list_searches_the_author_index() {
        let dir = tempfile::tempdir().unwrap();
        let settings = StoreSettings {
            url: dir.path().join("plan.db").display().to_string(),
            ..StoreSettings::default()
        };
        let db = open(&settings).unwrap();
        crate::migrations::run_pending(&db).unwrap();
        let Db::Sqlite(pool) = &db else {
            panic!("not SQLite")
        };
        let mut conn = pool.get().unwrap();
        let mut plan = |condition: &str| -> String {
            let steps: Vec<PlanStep> = diesel::sql_query(format!(
                "EXPLAIN QUERY PLAN SELECT id FROM transactions \
                 WHERE transactions.author = ? AND {condition} ORDER BY id DESC LIMIT 8"
            ))
            .bind::<Text, _>("barman")
            .load(&mut *conn)
            .unwrap();
            steps
                .into_iter()
                .map(|s| s.detail)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let with = plan(STAFF_AUTHOR);
        assert!(
            with.contains("INDEX transactions_author (author=?)"),
            "the till's list: {with}"
        );
        // The check can fail: without the condition, the partial index is out of reach.
        let without = plan("1 = 1");
        assert!(
            !without.contains("transactions_author"),
            "without the condition: {without}"
        );
    }
}
