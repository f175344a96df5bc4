//! Test databases, raw SQL helpers, movement builders and the ledger invariants.

#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use ardoise_domain::ports::{Action, Guard, Movement, TransferRecord};
use ardoise_domain::{CardId, MemberId, Money, TransactionId, TransactionKind};
use ardoise_store::{Backend, Store, StoreSettings};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};

pub const POSTGRES_ENV: &str = "ARDOISE_TEST_POSTGRES_URL";

/// The backends to test: SQLite, and PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    static SKIP_NOTICE: Once = Once::new();
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => vec![Backend::Sqlite, Backend::Postgres],
        _ => {
            SKIP_NOTICE.call_once(|| {
                // Written to stderr directly: libtest would capture `println!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL tests skipped: {POSTGRES_ENV} is not set"
                );
            });
            vec![Backend::Sqlite]
        }
    }
}

/// A fresh, migrated database and a store on it; dropped (PostgreSQL) or deleted (SQLite)
/// at the end of the test.
pub struct TestDb {
    // Declared first: dropped first, so its connections close before the database goes.
    pub store: Store,
    pub settings: StoreSettings,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `postgres://u:p@h:5432/postgres?x=y` with the database replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        TestDb::with(backend, |_| {})
    }

    /// A database whose settings `adjust` may change before connecting.
    pub fn with(backend: Backend, adjust: impl FnOnce(&mut StoreSettings)) -> TestDb {
        let db = TestDb::unmigrated(backend, adjust);
        assert_eq!(
            db.store.migrate().unwrap(),
            migration_count(),
            "every migration applies"
        );
        db
    }

    /// A fresh database without the schema.
    pub fn unmigrated(backend: Backend, adjust: impl FnOnce(&mut StoreSettings)) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let (url, dir, pg) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("nested").join("ardoise.db");
                (format!("sqlite://{}", path.display()), Some(dir), None)
            }
            Backend::Postgres => {
                let admin = std::env::var(POSTGRES_ENV).unwrap();
                let nanos = Utc::now().timestamp_subsec_nanos();
                let name = format!("ardoise_test_{}_{n}_{nanos}", std::process::id());
                let mut conn = PgConnection::establish(&admin).unwrap();
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                (with_database(&admin, &name), None, Some((admin, name)))
            }
        };
        let mut settings = StoreSettings::new(url);
        settings.pool_size = 12;
        adjust(&mut settings);
        let store = Store::connect(&settings).unwrap();
        assert_eq!(store.backend(), backend);
        TestDb {
            store,
            settings,
            backend,
            _dir: dir,
            pg,
        }
    }

    fn sqlite_path(&self) -> String {
        self.settings
            .url
            .strip_prefix("sqlite://")
            .unwrap()
            .to_owned()
    }

    /// Runs SQL on a connection of its own.
    pub fn exec(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.sqlite_path()).unwrap();
                c.batch_execute(&format!("PRAGMA busy_timeout = 5000; {sql}"))
                    .unwrap();
            }
            Backend::Postgres => {
                let mut c = PgConnection::establish(&self.settings.url).unwrap();
                c.batch_execute(sql).unwrap();
            }
        }
    }

    /// A raw connection that the test holds (to take locks).
    pub fn raw(&self) -> Raw {
        match self.backend {
            Backend::Sqlite => {
                Raw::Sqlite(SqliteConnection::establish(&self.sqlite_path()).unwrap())
            }
            Backend::Postgres => {
                Raw::Postgres(PgConnection::establish(&self.settings.url).unwrap())
            }
        }
    }

    /// The single BIGINT value `v` of a query.
    pub fn value(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            v: i64,
        }
        let row: Row = match self.backend {
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.sqlite_path()).unwrap();
                diesel::sql_query(sql).get_result(&mut c).unwrap()
            }
            Backend::Postgres => {
                let mut c = PgConnection::establish(&self.settings.url).unwrap();
                diesel::sql_query(sql).get_result(&mut c).unwrap()
            }
        };
        row.v
    }

    pub fn count(&self, table_and_filter: &str) -> i64 {
        self.value(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS v FROM {table_and_filter}"
        ))
    }

    /// Invariant 1 (every balance equals the signed sum of its valid transactions) and the
    /// audit trail (every transaction's state is its last recorded change, or valid).
    pub fn assert_invariants(&self) {
        let wrong_balances = self.value(
            "SELECT CAST(COUNT(*) AS BIGINT) AS v FROM cards c WHERE c.balance_cents <> (\
               SELECT CAST(COALESCE(SUM(CASE WHEN t.kind IN (1, 2, 6, 7) THEN t.amount_cents \
                                             ELSE -t.amount_cents END), 0) AS BIGINT) \
               FROM transactions t WHERE t.card_id = c.id AND t.valid = TRUE)",
        );
        assert_eq!(wrong_balances, 0, "a balance differs from its ledger");
        let wrong_states = self.value(
            "SELECT CAST(COUNT(*) AS BIGINT) AS v FROM transactions t WHERE t.valid <> \
               COALESCE((SELECT ch.valid_after FROM transaction_changes ch \
                         WHERE ch.transaction_id = t.id ORDER BY ch.id DESC LIMIT 1), TRUE)",
        );
        assert_eq!(
            wrong_states, 0,
            "a transaction's state differs from its audit trail"
        );
    }

    pub fn balance(&self, card: &str) -> i64 {
        self.value(&format!(
            "SELECT balance_cents AS v FROM cards WHERE id = '{card}'"
        ))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Close the store's pool first (the field is dropped after this body runs, so
            // FORCE ends its connections).
            if let Ok(mut c) = PgConnection::establish(&admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// A connection held by the test.
pub enum Raw {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Raw {
    pub fn exec(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(c) => c.batch_execute(sql).unwrap(),
            Raw::Postgres(c) => c.batch_execute(sql).unwrap(),
        }
    }
}

/// A whole-millisecond time (the store keeps milliseconds), `seconds` after a fixed start.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap() + Duration::seconds(seconds)
}

pub fn card(text: &str) -> CardId {
    CardId::parse(text).unwrap()
}

pub fn cents(c: i64) -> Money {
    Money::from_cents(c)
}

fn movement(card_id: &str, action: Action) -> Movement {
    Movement {
        card: card(card_id),
        author: "barman".into(),
        at: at(0),
        action,
        idempotency: None,
        credit: None,
        service: None,
    }
}

pub fn open(card_id: &str, opening: i64, overdraft: i64) -> Movement {
    movement(
        card_id,
        Action::Open {
            opening: cents(opening),
            overdraft_limit: cents(overdraft),
        },
    )
}

pub fn post(card_id: &str, kind: TransactionKind, amount: i64, guard: Guard) -> Movement {
    movement(
        card_id,
        Action::Post {
            kind,
            amount: cents(amount),
            quantity: 0,
            product: None,
            guard,
        },
    )
}

/// A payment as the bar makes it: floor and usability guarded.
pub fn pay(card_id: &str, amount: i64) -> Movement {
    post(
        card_id,
        TransactionKind::Payment,
        amount,
        Guard {
            floor: true,
            usable: true,
            ceiling: false,
        },
    )
}

/// A transfer from member `payer`'s card `from` to member `payee`'s card `to`, guarded as the
/// exchange guards it: the payer's floor, the payee's ceiling, both cards usable.
pub fn transfer(from: &str, to: &str, amount: i64, payer: MemberId, payee: MemberId) -> Movement {
    let mut m = pay(from, amount);
    m.action = Action::Transfer {
        to: card(to),
        amount: cents(amount),
        payer: Guard {
            floor: true,
            usable: true,
            ceiling: false,
        },
        payee: Guard {
            floor: false,
            usable: true,
            ceiling: true,
        },
        record: Box::new(TransferRecord {
            from_member: payer,
            to_member: payee,
            offer: None,
            note: None,
        }),
    };
    m
}

/// A top-up as the bar makes it: ceiling and usability guarded.
pub fn top_up(card_id: &str, amount: i64) -> Movement {
    post(
        card_id,
        TransactionKind::TopUp,
        amount,
        Guard {
            floor: false,
            usable: true,
            ceiling: true,
        },
    )
}

pub fn drain(card_id: &str) -> Movement {
    movement(card_id, Action::Drain)
}

/// A cancel (`valid_after: false`) or redo of a transaction whose signed amount is `signed`,
/// as the bar builds it: the floor is guarded when money leaves the card.
pub fn flip(card_id: &str, transaction: TransactionId, valid_after: bool, signed: i64) -> Movement {
    let delta = if valid_after { signed } else { -signed };
    movement(
        card_id,
        Action::Flip {
            transaction,
            valid_after,
            delta: cents(delta),
            guard: Guard {
                floor: delta < 0,
                ..Guard::default()
            },
        },
    )
}

pub fn set_overdraft(card_id: &str, limit: i64) -> Movement {
    movement(
        card_id,
        Action::SetOverdraft {
            limit: cents(limit),
        },
    )
}

/// The migrations shipped (one folder each, the same names for both backends).
pub fn migration_count() -> usize {
    std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/sqlite"
    ))
    .unwrap()
    .filter(|entry| entry.as_ref().unwrap().path().is_dir())
    .count()
}
