//! Connecting: the URL decides the backend, each backend gets its r2d2 pool, and SQLite
//! connections get their pragmas as they join the pool.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use crate::error::StoreError;

/// SQLite's durability: `Full` syncs the write-ahead log at every commit, so an answered
/// payment survives a power cut; `Normal` is faster and may lose the last commits on power
/// loss (never on a process crash), without corruption.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `PRAGMA synchronous = FULL`: durable commits (the default).
    #[default]
    Full,
    /// `PRAGMA synchronous = NORMAL`: faster, may lose the last commits on power loss.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

impl FromStr for Synchronous {
    type Err = StoreError;

    /// `full` or `normal`, in any case.
    fn from_str(text: &str) -> Result<Synchronous, StoreError> {
        match text.to_ascii_lowercase().as_str() {
            "full" => Ok(Synchronous::Full),
            "normal" => Ok(Synchronous::Normal),
            _ => Err(StoreError::InvalidSetting(format!(
                "synchronous must be full or normal, not `{text}`"
            ))),
        }
    }
}

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file, `sqlite://path` or a plain path.
    Sqlite,
    /// A server, `postgres://…` or `postgresql://…`.
    Postgres,
}

/// The default of [`StoreSettings::card_cache_ttl`]: the same second as the sessions' cache.
pub const DEFAULT_CARD_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// How to reach the database.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// `sqlite://path/file.db`, a plain path, or `postgres://…` / `postgresql://…`.
    pub url: String,
    /// SQLite durability (ignored by PostgreSQL, which is always durable).
    pub synchronous: Synchronous,
    /// Connections kept by the pool (at least 2: the writer and a reader).
    pub pool_size: u32,
    /// How long to wait for a lock (SQLite `busy_timeout`, PostgreSQL `lock_timeout`) or a
    /// pooled connection before answering `StorageUnavailable`.
    pub busy_timeout_ms: u64,
    /// How long a card read for an answer is served from memory (see `Ledger::card_snapshot`):
    /// the most a change made by *another* process may take to show in this one's answers.
    /// Zero reads the database every time.
    pub card_cache_ttl: std::time::Duration,
}

impl StoreSettings {
    /// Settings for `url` with the defaults for the rest.
    pub fn new(url: impl Into<String>) -> StoreSettings {
        StoreSettings {
            url: url.into(),
            ..StoreSettings::default()
        }
    }

    /// The URL without its password, for logs.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }

    /// The file of an SQLite URL (`None` for PostgreSQL or an invalid URL): a command that
    /// must not create a database checks that it exists.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match parse_url(&self.url) {
            Ok(Target::Sqlite(path)) => Some(path),
            _ => None,
        }
    }
}

impl Default for StoreSettings {
    fn default() -> StoreSettings {
        StoreSettings {
            url: "sqlite://data/ardoise.db".to_owned(),
            synchronous: Synchronous::Full,
            pool_size: 8,
            busy_timeout_ms: 5_000,
            card_cache_ttl: DEFAULT_CARD_CACHE_TTL,
        }
    }
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &self.redacted_url())
            .field("synchronous", &self.synchronous)
            .field("pool_size", &self.pool_size)
            .field("busy_timeout_ms", &self.busy_timeout_ms)
            .field("card_cache_ttl", &self.card_cache_ttl)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Where the URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

pub(crate) fn parse_url(url: &str) -> Result<Target, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(StoreError::InvalidUrl(format!(
            "unsupported scheme `{scheme}` (use sqlite:// or postgres://)"
        )));
    } else {
        url
    };
    if path.is_empty() {
        return Err(StoreError::InvalidUrl("the SQLite path is empty".into()));
    }
    if path == ":memory:" || path.starts_with("file:") {
        // An in-memory database would be a different empty database per pooled connection.
        return Err(StoreError::InvalidUrl(format!(
            "`{path}` is not supported: give a file path"
        )));
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

/// The pools, one per backend; a store holds one of them.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(Pooled<Manager<SqliteConnection>>),
    Postgres(Pooled<Manager<PgConnection>>),
}

thread_local! {
    /// Set just before a pooled connection whose link to the server was lost goes back to
    /// the pool, which then drops it (see [`Manager::has_broken`]).
    static DISCARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// diesel's connection manager, which also drops a connection whose link to the server was
/// lost (diesel only drops one left in a broken transaction: a read on a connection that
/// PostgreSQL closed would otherwise put it back, to fail every later request that gets it).
pub(crate) struct Manager<C: R2D2Connection + 'static>(ConnectionManager<C>);

impl<C: R2D2Connection + 'static> diesel::r2d2::ManageConnection for Manager<C> {
    type Connection = C;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<C, diesel::r2d2::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut C) -> Result<(), diesel::r2d2::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut C) -> bool {
        DISCARD.with(|discard| discard.replace(false)) || self.0.has_broken(conn)
    }
}

/// After a query on `conn`: when it failed because the link to the server is gone, the
/// connection is dropped instead of going back to the pool, and the database is taken as
/// down (see [`Pooled::checkout`]).
pub(crate) fn release<M: diesel::r2d2::ManageConnection, T>(
    pool: &Pooled<M>,
    conn: r2d2::PooledConnection<M>,
    outcome: &Result<T, crate::error::Failure>,
) {
    if let Err(failure) = outcome {
        if failure.is_connection_lost() {
            pool.mark_down(&failure.to_string());
            DISCARD.with(|discard| discard.set(true));
        }
    }
    drop(conn);
    DISCARD.with(|discard| discard.set(false));
}

/// How long a checkout waits once the database is known to be down: requests are refused
/// at once instead of each waiting for the full checkout timeout.
const DOWN_CHECKOUT: Duration = Duration::from_millis(200);

/// The pool's own timeout, which also caps the pause between its attempts to reconnect (half
/// of it): a database that comes back is used again within a second.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool that remembers whether its database is down. Checkouts wait up to the configured
/// timeout for a connection; when one timed out because connecting failed (the database is
/// down, not merely busy), later checkouts wait only [`DOWN_CHECKOUT`] until one succeeds
/// again — the pool keeps trying to connect in the background meanwhile.
pub(crate) struct Pooled<M: diesel::r2d2::ManageConnection> {
    pool: Pool<M>,
    checkout: Duration,
    down: Arc<AtomicBool>,
}

impl<M: diesel::r2d2::ManageConnection> Clone for Pooled<M> {
    fn clone(&self) -> Pooled<M> {
        Pooled {
            pool: self.pool.clone(),
            checkout: self.checkout,
            down: self.down.clone(),
        }
    }
}

impl<M: diesel::r2d2::ManageConnection> std::ops::Deref for Pooled<M> {
    type Target = Pool<M>;

    fn deref(&self) -> &Pool<M> {
        &self.pool
    }
}

impl<M: diesel::r2d2::ManageConnection> Pooled<M> {
    fn new(pool: Pool<M>, checkout: Duration) -> Pooled<M> {
        Pooled {
            pool,
            checkout,
            down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A connection, failing fast while the database is known to be down.
    pub fn checkout(&self) -> Result<r2d2::PooledConnection<M>, r2d2::Error> {
        let down = self.down.load(Ordering::Relaxed);
        let wait = if down { DOWN_CHECKOUT } else { self.checkout };
        match self.pool.get_timeout(wait) {
            Ok(conn) => {
                if down && self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("the database is reachable again");
                }
                Ok(conn)
            }
            Err(e) => {
                // The pool names the last connection error only when connecting failed: a
                // timeout without one is a busy pool, not a database down.
                if e.to_string().contains(": ") {
                    self.mark_down(&e.to_string());
                }
                Err(e)
            }
        }
    }

    /// Takes the database as down until a checkout succeeds again.
    pub fn mark_down(&self, why: &str) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %why, "the database is down: refusing at once until it is back");
        }
    }
}

/// Runs `$body` with `$conn` bound to a pooled connection of the store's backend; the body is
/// compiled once per backend. Evaluates to `Result<_, Failure>`.
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(pool) => match pool.checkout() {
                Ok(mut pooled) => {
                    let $conn: &mut ::diesel::sqlite::SqliteConnection = &mut pooled;
                    let outcome = $body;
                    $crate::db::release(pool, pooled, &outcome);
                    outcome
                }
                Err(e) => Err($crate::error::Failure::from(e)),
            },
            $crate::db::Db::Postgres(pool) => match pool.checkout() {
                Ok(mut pooled) => {
                    let $conn: &mut ::diesel::pg::PgConnection = &mut pooled;
                    let outcome = $body;
                    $crate::db::release(pool, pooled, &outcome);
                    outcome
                }
                Err(e) => Err($crate::error::Failure::from(e)),
            },
        }
    };
}
pub(crate) use with_conn;

/// The writer thread's way to the database. On SQLite it keeps one pooled connection from
/// one batch to the next: only that connection writes, so SQLite never has to drop its page
/// cache between batches (a connection drops it when another one committed since its last
/// transaction), and the cards and index pages a batch touches are already in memory. After
/// any failure the connection goes back to the pool (dropped if it is broken) and the next
/// batch checks one out again. On PostgreSQL each batch checks one out as any other query
/// does, so that a link lost during an outage is never kept.
pub(crate) struct WriterDb {
    pub(crate) db: Db,
    pub(crate) held: Option<r2d2::PooledConnection<Manager<SqliteConnection>>>,
}

impl WriterDb {
    pub fn new(db: Db) -> WriterDb {
        WriterDb { db, held: None }
    }
}

/// As [`with_conn!`], on the writer's connection (`$writer`: a `&mut WriterDb`).
macro_rules! with_writer_conn {
    ($writer:expr, |$conn:ident| $body:expr) => {{
        let $crate::db::WriterDb { db, held } = $writer;
        match &*db {
            $crate::db::Db::Sqlite(pool) => match held.take().map_or_else(|| pool.checkout(), Ok) {
                Ok(mut pooled) => {
                    let $conn: &mut ::diesel::sqlite::SqliteConnection = &mut pooled;
                    let outcome = $body;
                    if outcome.is_ok() {
                        *held = Some(pooled);
                    } else {
                        $crate::db::release(pool, pooled, &outcome);
                    }
                    outcome
                }
                Err(e) => Err($crate::error::Failure::from(e)),
            },
            postgres => $crate::db::with_conn!(postgres, |$conn| $body),
        }
    }};
}
pub(crate) use with_writer_conn;

/// WAL frames after which a committing connection copies the WAL back into the database
/// file (SQLite's default is 1,000). A checkpoint writes each page once however many times
/// it changed since the last one, and the hot pages of a payment load (the cards, the end of
/// each card's ledger index) change in nearly every batch: checkpointing every 10,000 frames
/// (a WAL of about 40 MiB) writes them ten times less often and stalls the writer ten times
/// less often. Measured in docs/performance.md.
const WAL_AUTOCHECKPOINT_FRAMES: u32 = 10_000;

/// Per-connection SQLite settings (they do not persist in the file).
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u64,
    synchronous: Synchronous,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so that the others wait for a lock instead of failing.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = {}; \
             PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_FRAMES};",
            self.busy_timeout_ms,
            self.synchronous.pragma()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Per-connection PostgreSQL settings.
#[derive(Debug)]
struct PgSettings {
    lock_timeout_ms: u64,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PgSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "SET lock_timeout = {}; SET TIME ZONE 'UTC';",
            self.lock_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

fn pool_builder<M: diesel::r2d2::ManageConnection>(size: u32) -> r2d2::Builder<M> {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        // No `SELECT 1` before each checkout (a round trip per query on PostgreSQL): a
        // connection that breaks fails its query, and diesel's manager then drops it
        // (`has_broken`), so the next checkout gets a new one.
        .test_on_check_out(false)
        .connection_timeout(RECONNECT_TIMEOUT)
}

/// How long a checkout waits for a connection while the database is up.
fn checkout_timeout(settings: &StoreSettings) -> Duration {
    Duration::from_millis(settings.busy_timeout_ms.max(1_000))
}

/// Opens the pool for `settings.url`, creating the SQLite file and its directory if missing.
pub(crate) fn open(settings: &StoreSettings) -> Result<Db, StoreError> {
    open_sized(settings, settings.pool_size.max(2))
}

fn open_sized(settings: &StoreSettings, size: u32) -> Result<Db, StoreError> {
    match parse_url(&settings.url)? {
        Target::Sqlite(path) => open_sqlite(&path, settings, size),
        Target::Postgres(url) => {
            // One direct connection first: a server that is down or refuses the URL fails
            // here at once, with its own message, instead of after the pool's connection
            // timeout and one logged error per retry.
            PgConnection::establish(&url).map_err(|e| StoreError::Connect(one_line(&e)))?;
            let manager = Manager(ConnectionManager::<PgConnection>::new(url));
            let pool = pool_builder(size)
                .connection_customizer(Box::new(PgSettings {
                    lock_timeout_ms: settings.busy_timeout_ms,
                }))
                .build(manager)
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            Ok(Db::Postgres(Pooled::new(pool, checkout_timeout(settings))))
        }
    }
}

/// libpq's messages span several lines (`connection refused` then `Is the server running…`):
/// one line for the operator.
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn open_sqlite(path: &Path, settings: &StoreSettings, size: u32) -> Result<Db, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let text = path
        .to_str()
        .ok_or_else(|| StoreError::InvalidUrl("the SQLite path is not UTF-8".into()))?
        .to_owned();
    // The journal mode is stored in the file: set it once, before the pool opens its
    // connections, so they do not race to change it.
    let mut first =
        SqliteConnection::establish(&text).map_err(|e| StoreError::Connect(e.to_string()))?;
    first
        .batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
            settings.busy_timeout_ms
        ))
        .map_err(StoreError::Database)?;
    drop(first);
    let pool = pool_builder(size)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout_ms: settings.busy_timeout_ms,
            synchronous: settings.synchronous,
        }))
        .build(Manager(ConnectionManager::<SqliteConnection>::new(text)))
        .map_err(|e| StoreError::Connect(e.to_string()))?;
    Ok(Db::Sqlite(Pooled::new(pool, checkout_timeout(settings))))
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            parse_url("sqlite://data/ardoise.db").unwrap(),
            Target::Sqlite(PathBuf::from("data/ardoise.db"))
        );
        assert_eq!(
            parse_url("sqlite:///var/lib/ardoise.db").unwrap(),
            Target::Sqlite(PathBuf::from("/var/lib/ardoise.db"))
        );
        assert_eq!(
            parse_url("ardoise.db").unwrap(),
            Target::Sqlite(PathBuf::from("ardoise.db"))
        );
        assert_eq!(
            parse_url("postgres://u:p@h/db").unwrap(),
            Target::Postgres("postgres://u:p@h/db".into())
        );
        assert_eq!(
            parse_url("postgresql://h/db").unwrap(),
            Target::Postgres("postgresql://h/db".into())
        );
        for bad in [
            "mysql://h/db",
            "",
            "sqlite://",
            "sqlite://:memory:",
            ":memory:",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        let s = StoreSettings::new("postgres://ardoise:secret@db:5432/bar");
        assert_eq!(s.redacted_url(), "postgres://ardoise:***@db:5432/bar");
        assert!(!format!("{s:?}").contains("secret"));
        assert_eq!(
            StoreSettings::new("sqlite://x.db").redacted_url(),
            "sqlite://x.db"
        );
    }

    fn pragma(db: &Db, name: &str, column: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Value {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            value: i64,
        }
        let Db::Sqlite(pool) = db else {
            panic!("not SQLite")
        };
        let mut conn = pool.get().unwrap();
        let row: Value = diesel::sql_query(format!("SELECT {column} AS value FROM pragma_{name}"))
            .get_result(&mut *conn)
            .unwrap();
        row.value
    }

    /// Not a table-valued pragma: read through the pragma statement itself.
    fn wal_autocheckpoint(db: &Db) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Frames {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            wal_autocheckpoint: i64,
        }
        let Db::Sqlite(pool) = db else {
            panic!("not SQLite")
        };
        let mut conn = pool.get().unwrap();
        let row: Frames = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut *conn)
            .unwrap();
        row.wal_autocheckpoint
    }

    #[test]
    fn sqlite_connections_get_their_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        for (synchronous, level) in [(Synchronous::Full, 2), (Synchronous::Normal, 1)] {
            let settings = StoreSettings {
                url: dir.path().join("p.db").display().to_string(),
                synchronous,
                pool_size: 2,
                busy_timeout_ms: 1234,
                ..StoreSettings::default()
            };
            let db = open(&settings).unwrap();
            assert_eq!(pragma(&db, "synchronous", "synchronous"), level);
            assert_eq!(pragma(&db, "foreign_keys", "foreign_keys"), 1);
            assert_eq!(pragma(&db, "busy_timeout", "timeout"), 1234);
            assert_eq!(wal_autocheckpoint(&db), 10_000);
        }
    }

    #[test]
    fn synchronous_parses() {
        assert_eq!("FULL".parse::<Synchronous>().unwrap(), Synchronous::Full);
        assert_eq!(
            "normal".parse::<Synchronous>().unwrap(),
            Synchronous::Normal
        );
        assert!("off".parse::<Synchronous>().is_err());
    }
}
