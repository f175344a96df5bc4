//! ardoise's storage: the domain's ports over SQLite or PostgreSQL (diesel 2 + r2d2).
//!
//! One binary serves both backends; the database URL picks one ([`StoreSettings::url`]).
//! Money is stored as integer cents, times as unix milliseconds. Money moves only through
//! [`Ledger::apply`](ardoise_domain::ports::Ledger::apply), which hands the movement to the
//! store's writer thread: it applies concurrent movements in batches, one database
//! transaction per batch (a savepoint for each movement that could be refused after a write),
//! with each movement's guard in its `UPDATE`'s `WHERE` clause, and the sessions' sliding
//! expiry in the same batches. Reads and the other writes run on tokio's blocking pool.

mod accounts;
mod backup;
mod business_cards;
mod catalog;
mod catalog_cache;
mod db;
mod error;
mod exchange;
mod import;
mod ledger;
mod member_events;
mod members;
mod migrations;
mod outbox;
mod partners;
mod pg_batch;
mod prepared;
mod rows;
mod schema;
mod services;
mod snapshots;
mod sql;
mod staff;
mod writer;

use std::sync::Arc;

use ardoise_domain::ports::{Movement, Receipt};
use ardoise_domain::DomainError;

pub use backup::PoolState;
pub use db::{Backend, StoreSettings, Synchronous, DEFAULT_CARD_CACHE_TTL};
pub use error::StoreError;
pub use import::{ImportRecord, ImportStep, ImportSummary};

use catalog_cache::CatalogCache;
use db::{with_conn, Db, WriterDb};
use error::Failure;
use snapshots::Snapshots;
use sql::Sql;
use writer::Writer;

/// The most movements the writer puts in one database transaction.
pub const MAX_BATCH: usize = writer::MAX_BATCH;

/// A connection pool and its writer; cheap to clone, shared by all request handlers.
/// Implements `Ledger`, `Catalog`, `MemberDirectory`, `MemberAccounts`, `StaffDirectory`,
/// `SessionStore`, `PartnerDirectory` and `AccessTokenStore`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    /// The cards, members and recent lists read for answers (`Ledger::card_snapshot`,
    /// `Ledger::till_read`), revised by every write of theirs.
    snapshots: Arc<Snapshots>,
    /// The products and categories, forgotten by every catalog write.
    catalog: CatalogCache,
    writer: Writer,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database named by `settings.url` (creating an SQLite file and its directory
    /// if missing) and starts the writer. Does not migrate: see [`Store::migrate`].
    pub fn connect(settings: &StoreSettings) -> Result<Store, StoreError> {
        let db = db::open(settings)?;
        let snapshots = Arc::new(Snapshots::new(settings.card_cache_ttl));
        let writer = Writer::start(db.clone(), snapshots.clone())?;
        tracing::info!(url = %settings.redacted_url(), backend = ?db.backend(), "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                snapshots,
                catalog: CatalogCache::new(settings.card_cache_ttl),
                writer,
            }),
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.db.backend()
    }

    /// Applies the pending migrations; how many were applied. Blocking.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let applied = migrations::run_pending(&self.inner.db)?;
        if applied > 0 {
            tracing::info!(applied, "migrations applied");
        }
        Ok(applied)
    }

    /// Reverts every migration, dropping all data: for tests. Blocking.
    pub fn revert_all_migrations(&self) -> Result<usize, StoreError> {
        let reverted = migrations::revert_all(&self.inner.db);
        self.inner.snapshots.forget_all();
        self.inner.catalog.forget();
        reverted
    }

    /// Whether the write path works: a small write committed by the writer thread after the
    /// movements already queued (readiness: a database that answers reads but cannot commit,
    /// such as a full disk, is not ready).
    pub async fn probe_write(&self) -> Result<(), DomainError> {
        self.inner.writer.probe().await
    }

    /// Whether the database answers (for readiness checks).
    pub async fn ping(&self) -> Result<(), DomainError> {
        self.blocking(|db| with_conn!(db, |conn| Ok(conn.ping()?)))
            .await
    }

    /// Applies `movements` in one database transaction: a refused movement is undone alone
    /// (by its savepoint, or because its guard refused before it wrote anything; an
    /// unexpected error re-applies the batch one savepoint per movement) and its batch mates
    /// still commit. Answers each
    /// movement's outcome, in order, once the transaction committed (if it cannot commit,
    /// every movement gets the error). Blocking: the writer thread calls it; async code goes
    /// through `Ledger::apply`, which batches concurrent movements by itself.
    pub fn apply_batch(&self, movements: &[Movement]) -> Vec<Result<Receipt, DomainError>> {
        let mut db = WriterDb::new(self.inner.db.clone());
        let before = self.inner.snapshots.before_batch(movements);
        let answers = ledger::apply_batch(&mut db, movements, &[]).0;
        self.inner
            .snapshots
            .after_batch(movements, &answers, &before);
        answers
    }

    fn catalog_cache(&self) -> &CatalogCache {
        &self.inner.catalog
    }

    fn snapshots(&self) -> &Snapshots {
        &self.inner.snapshots
    }

    /// The snapshots, for a blocking write that must forget what it changed.
    fn snapshots_handle(&self) -> Arc<Snapshots> {
        self.inner.snapshots.clone()
    }

    fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    /// Runs blocking database work on tokio's blocking pool, never on an async worker.
    /// Outside a tokio runtime (a plain executor on a thread of its own) it runs in place.
    async fn blocking<T, F>(&self, work: F) -> Result<T, DomainError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, Failure> + Send + 'static,
    {
        let db = self.inner.db.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return work(&db).map_err(Failure::into_domain);
        };
        match runtime.spawn_blocking(move || work(&db)).await {
            Ok(result) => result.map_err(Failure::into_domain),
            Err(e) => {
                Err(Failure::Lost(format!("a blocking database task failed: {e}")).into_domain())
            }
        }
    }
}
