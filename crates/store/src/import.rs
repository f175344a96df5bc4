//! Writing a checked import (`ardoise-import`): the whole plan in one database transaction,
//! table after table in batches, so that a failure — or a dry run — leaves the database as it
//! was, and a second import is refused by the record the first one left.

use ardoise_domain::{CardId, ImportPlan, Transaction};
use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::{Error as DieselError, QueryResult};
use diesel::sqlite::SqliteConnection;

use crate::db::with_conn;
use crate::error::{Failure, StoreError};
use crate::rows::{millis, BundleRow, NewCard, NewChange, NewStaff, ProductRow};
use crate::schema::{cards, imports, staff_users, transaction_changes, transactions};
use crate::sql::{Dialect, Sql};
use crate::Store;

/// Rows per `INSERT` statement (and per progress step): 9 columns × 500 stays far below both
/// backends' limit of bound parameters.
const BATCH: usize = 500;

/// A step of an import, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStep {
    Products,
    Cards,
    Transactions,
    Users,
}

impl ImportStep {
    /// What is being written, for people.
    pub fn label(self) -> &'static str {
        match self {
            ImportStep::Products => "products",
            ImportStep::Cards => "cards",
            ImportStep::Transactions => "transactions",
            ImportStep::Users => "staff users",
        }
    }
}

/// What an import wrote (or, in a dry run, would have written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub products: usize,
    pub cards: usize,
    /// Imported transactions and adjustments together.
    pub transactions: usize,
    pub users: usize,
}

/// A previous import, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = imports)]
pub struct ImportRecord {
    pub id: i64,
    pub source: String,
    /// Unix milliseconds.
    pub imported_at: i64,
    pub cards: i64,
    pub transactions: i64,
    pub users: i64,
    pub adjustments: i64,
    pub adjustment_total_cents: i64,
}

#[derive(Insertable)]
#[diesel(table_name = imports)]
struct NewImport<'a> {
    source: &'a str,
    imported_at: i64,
    cards: i64,
    transactions: i64,
    users: i64,
    adjustments: i64,
    adjustment_total_cents: i64,
}

#[derive(Insertable)]
#[diesel(table_name = transactions)]
struct ImportedTransaction<'a> {
    id: i64,
    kind: i16,
    card_id: &'a str,
    amount_cents: i64,
    quantity: i64,
    product: Option<&'a str>,
    valid: bool,
    author: &'a str,
    created_at: i64,
}

impl<'a> ImportedTransaction<'a> {
    fn new(t: &'a Transaction) -> ImportedTransaction<'a> {
        ImportedTransaction {
            id: t.id.0,
            kind: t.kind.code(),
            card_id: t.card.as_str(),
            amount_cents: t.amount.cents(),
            quantity: i64::from(t.quantity),
            product: t.product.as_deref(),
            valid: t.valid,
            author: &t.author,
            created_at: millis(t.created_at),
        }
    }
}

/// Why an import stops inside its transaction (everything is rolled back).
enum Stop {
    Refused(String),
    DryRunDone(ImportSummary),
    Db(DieselError),
}

impl From<DieselError> for Stop {
    fn from(e: DieselError) -> Stop {
        Stop::Db(e)
    }
}

/// The statements of an import, on both backends.
trait ImportSql: Sql {
    fn previous_import(&mut self) -> QueryResult<Option<ImportRecord>>;
    fn count_rows(&mut self) -> QueryResult<(i64, i64)>;
    fn staff_logins(&mut self) -> QueryResult<Vec<(String, Option<String>, bool)>>;
    fn insert_cards(&mut self, rows: &[NewCard<'_>]) -> QueryResult<usize>;
    fn insert_transactions(&mut self, rows: &[ImportedTransaction<'_>]) -> QueryResult<usize>;
    fn insert_changes(&mut self, rows: &[NewChange<'_>]) -> QueryResult<usize>;
    fn insert_staff_batch(&mut self, rows: &[NewStaff<'_>]) -> QueryResult<usize>;
    fn insert_import(&mut self, row: &NewImport<'_>) -> QueryResult<usize>;
    /// Moves the transactions' id generator past the imported ids (PostgreSQL's identity;
    /// SQLite's AUTOINCREMENT follows explicit ids by itself).
    fn follow_ids(&mut self) -> QueryResult<()>;
}

macro_rules! impl_import_sql {
    ($conn:ty, $follow:expr) => {
        impl ImportSql for $conn {
            fn previous_import(&mut self) -> QueryResult<Option<ImportRecord>> {
                imports::table
                    .order(imports::id)
                    .select(ImportRecord::as_select())
                    .first(self)
                    .optional()
            }

            fn count_rows(&mut self) -> QueryResult<(i64, i64)> {
                let cards = cards::table.count().get_result(self)?;
                let transactions = transactions::table.count().get_result(self)?;
                Ok((cards, transactions))
            }

            fn staff_logins(&mut self) -> QueryResult<Vec<(String, Option<String>, bool)>> {
                staff_users::table
                    .select((
                        staff_users::login,
                        staff_users::card_id,
                        staff_users::active,
                    ))
                    .load(self)
            }

            fn insert_cards(&mut self, rows: &[NewCard<'_>]) -> QueryResult<usize> {
                diesel::insert_into(cards::table).values(rows).execute(self)
            }

            fn insert_transactions(
                &mut self,
                rows: &[ImportedTransaction<'_>],
            ) -> QueryResult<usize> {
                diesel::insert_into(transactions::table)
                    .values(rows)
                    .execute(self)
            }

            fn insert_changes(&mut self, rows: &[NewChange<'_>]) -> QueryResult<usize> {
                diesel::insert_into(transaction_changes::table)
                    .values(rows)
                    .execute(self)
            }

            fn insert_staff_batch(&mut self, rows: &[NewStaff<'_>]) -> QueryResult<usize> {
                diesel::insert_into(staff_users::table)
                    .values(rows)
                    .execute(self)
            }

            fn insert_import(&mut self, row: &NewImport<'_>) -> QueryResult<usize> {
                diesel::insert_into(imports::table)
                    .values(row)
                    .execute(self)
            }

            fn follow_ids(&mut self) -> QueryResult<()> {
                let follow: fn(&mut $conn) -> QueryResult<()> = $follow;
                follow(self)
            }
        }
    };
}

impl_import_sql!(SqliteConnection, |_| Ok(()));
impl_import_sql!(PgConnection, |conn| {
    diesel::sql_query(
        "SELECT setval(pg_get_serial_sequence('transactions', 'id'), \
         (SELECT MAX(id) FROM transactions))",
    )
    .execute(conn)
    .map(|_| ())
});

/// Why this database cannot take an import, if it cannot: a previous import, cards or
/// transactions already there, or staff logins or cards the import would take.
fn refusal<C: ImportSql>(conn: &mut C, plan: &ImportPlan) -> QueryResult<Option<String>> {
    if let Some(previous) = conn.previous_import()? {
        let at = DateTime::<Utc>::from_timestamp_millis(previous.imported_at)
            .map_or_else(|| previous.imported_at.to_string(), |t| t.to_rfc3339());
        return Ok(Some(format!(
            "this database already holds an import from {} (made {at}, {} cards, {} \
             transactions): a second import is refused",
            previous.source, previous.cards, previous.transactions
        )));
    }
    let (cards, transactions) = conn.count_rows()?;
    if cards > 0 || transactions > 0 {
        return Ok(Some(format!(
            "this database already holds {cards} cards and {transactions} transactions: \
             import into a new, empty database"
        )));
    }
    let existing = conn.staff_logins()?;
    let mut clashes = Vec::new();
    for user in &plan.users {
        for (login, card, active) in &existing {
            if login == user.login.as_str() {
                clashes.push(format!("login {login} exists"));
            } else if let (true, true, Some(card)) = (*active, user.active, card) {
                if user.card.as_ref().map(CardId::as_str) == Some(card.as_str()) {
                    clashes.push(format!(
                        "staff card {card} of {} is already {login}'s",
                        user.login
                    ));
                }
            }
        }
    }
    if clashes.is_empty() {
        Ok(None)
    } else {
        Ok(Some(format!(
            "the imported staff users clash with this database's: {}",
            clashes.join("; ")
        )))
    }
}

fn write<C: ImportSql>(
    conn: &mut C,
    plan: &ImportPlan,
    source: &str,
    at: DateTime<Utc>,
    dry_run: bool,
    progress: &mut dyn FnMut(ImportStep, usize),
) -> Result<ImportSummary, Stop> {
    if let Some(why) = refusal(conn, plan)? {
        return Err(Stop::Refused(why));
    }
    let at_ms = millis(at);
    let importer = "ardoise-import";

    for product in &plan.products {
        let (row, bundles): (ProductRow, Vec<BundleRow>) = ProductRow::from_product(product);
        conn.upsert_product(&row)?;
        conn.replace_bundles(&row.name, &bundles)?;
        progress(ImportStep::Products, 1);
    }

    for chunk in plan.cards.chunks(BATCH) {
        let rows: Vec<NewCard<'_>> = chunk
            .iter()
            .map(|c| NewCard {
                id: c.id.as_str(),
                balance_cents: c.balance.cents(),
                overdraft_limit_cents: c.overdraft_limit.cents(),
                status: c.status.as_str(),
                created_at: millis(c.created_at),
            })
            .collect();
        conn.insert_cards(&rows)?;
        progress(ImportStep::Cards, chunk.len());
    }

    for chunk in plan.transactions.chunks(BATCH) {
        let rows: Vec<ImportedTransaction<'_>> =
            chunk.iter().map(ImportedTransaction::new).collect();
        conn.insert_transactions(&rows)?;
        // A cancelled transaction's state is its last recorded change (the audit trail):
        // the old system kept no record of who cancelled it, nor when.
        let changes: Vec<NewChange<'_>> = chunk
            .iter()
            .filter(|t| !t.valid)
            .map(|t| NewChange {
                transaction_id: t.id.0,
                valid_after: false,
                changed_by: importer,
                changed_at: at_ms,
            })
            .collect();
        if !changes.is_empty() {
            conn.insert_changes(&changes)?;
        }
        progress(ImportStep::Transactions, chunk.len());
    }
    conn.follow_ids()?;

    for chunk in plan.users.chunks(BATCH) {
        let rows: Vec<NewStaff<'_>> = chunk
            .iter()
            .map(|u| NewStaff {
                login: u.login.as_str(),
                rights: u.rights.level(),
                card_id: u.card.as_ref().map(CardId::as_str),
                password_hash: &u.password_hash,
                active: u.active,
                created_at: at_ms,
            })
            .collect();
        conn.insert_staff_batch(&rows)?;
        progress(ImportStep::Users, chunk.len());
    }

    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    conn.insert_import(&NewImport {
        source,
        imported_at: at_ms,
        cards: count(plan.cards.len()),
        transactions: count(plan.imported_transactions()),
        users: count(plan.users.len()),
        adjustments: count(plan.adjustments.len()),
        adjustment_total_cents: plan.adjustment_total().cents(),
    })?;

    let summary = ImportSummary {
        products: plan.products.len(),
        cards: plan.cards.len(),
        transactions: plan.transactions.len(),
        users: plan.users.len(),
    };
    if dry_run {
        Err(Stop::DryRunDone(summary))
    } else {
        Ok(summary)
    }
}

impl Store {
    /// Writes an import plan in one database transaction: products, cards, transactions
    /// (with their ids, and a recorded change for each cancelled one), staff users, and the
    /// record of the import. Refused with [`StoreError::ImportRefused`] when the database
    /// already holds an import, cards or transactions, or the staff users' logins or cards.
    /// With `dry_run`, everything is written and checked by the database, then rolled back.
    /// `progress` is told each batch written. Blocking; migrate first.
    pub fn import(
        &self,
        plan: &ImportPlan,
        source: &str,
        at: DateTime<Utc>,
        dry_run: bool,
        progress: &mut dyn FnMut(ImportStep, usize),
    ) -> Result<ImportSummary, StoreError> {
        let outcome =
            with_conn!(&self.inner.db, |conn| Ok(conn.write_transaction(|conn| {
                write(conn, plan, source, at, dry_run, progress)
            })));
        self.snapshots().forget_all();
        self.catalog_cache().forget();
        match outcome.map_err(store_error)? {
            Ok(summary) | Err(Stop::DryRunDone(summary)) => Ok(summary),
            Err(Stop::Refused(why)) => Err(StoreError::ImportRefused(why)),
            Err(Stop::Db(e)) => Err(StoreError::Database(e)),
        }
    }

    /// The imports this database holds, oldest first (at most one: a second is refused).
    pub fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        with_conn!(&self.inner.db, |conn| imports::table
            .order(imports::id)
            .select(ImportRecord::as_select())
            .load(conn)
            .map_err(Failure::Db))
        .map_err(store_error)
    }
}

fn store_error(f: Failure) -> StoreError {
    match f {
        Failure::Db(e) => StoreError::Database(e),
        other => StoreError::Connect(other.into_domain().to_string()),
    }
}
