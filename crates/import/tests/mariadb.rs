//! `ardoise-import 10p5` against a real MariaDB loaded with 10p5's schema and generated data,
//! and against a `mariadb-dump` of it: the binary is run as an operator would, and the
//! resulting ardoise database is read through the store and logged into through the auth
//! crate. Needs `ARDOISE_TEST_MARIADB_URL` (a user that may create databases, e.g.
//! `mysql://ardoise:ardoise-test@127.0.0.1:53306`; `.ci/mariadb start` runs one): skipped,
//! loudly, without it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ardoise_auth::{OsTokens, Staff, StaffSettings};
use ardoise_domain::ports::{Ledger, StaffDirectory, SystemClock};
use ardoise_domain::{CardId, DomainError, Login, Money, Rights, Transaction, TransactionKind};
use ardoise_store::{Store, StoreSettings};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

const MARIADB_ENV: &str = "ARDOISE_TEST_MARIADB_URL";
const SCHEMA: &str = include_str!("fixtures/10p5-schema.sql");

fn mariadb_url() -> Option<String> {
    match std::env::var(MARIADB_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** MariaDB import tests SKIPPED: {MARIADB_ENV} is not set (run \
                 `.ci/mariadb start`, or .ci/run, which does) ***\n"
            );
            None
        }
    }
}

/// A fresh MariaDB database with 10p5's schema, dropped at the end.
struct SourceDb {
    admin: String,
    name: String,
    url: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl SourceDb {
    fn new(admin: &str) -> SourceDb {
        let name = format!(
            "tenp5_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut conn = Conn::new(Opts::from_url(admin).unwrap()).unwrap();
        conn.query_drop(format!("CREATE DATABASE {name}")).unwrap();
        let url = format!("{}/{name}", admin.trim_end_matches('/'));
        let db = SourceDb {
            admin: admin.to_owned(),
            name,
            url,
        };
        let mut conn = db.conn();
        // The fixture is ours and holds no `;` inside a literal.
        for statement in SCHEMA.split(';').filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
        }) {
            conn.query_drop(statement).unwrap();
        }
        db
    }

    fn conn(&self) -> Conn {
        Conn::new(Opts::from_url(&self.url).unwrap()).unwrap()
    }

    /// Writes a `mariadb-dump` of the database to `path`.
    fn dump(&self, path: &Path) {
        let opts = Opts::from_url(&self.url).unwrap();
        let tool = ["mariadb-dump", "mysqldump"]
            .into_iter()
            .find(|t| Command::new(t).arg("--version").output().is_ok())
            .expect("mariadb-dump (Debian's mariadb-client) is needed with MariaDB");
        let out = Command::new(tool)
            .arg("--no-defaults")
            .arg(format!("--host={}", opts.get_ip_or_hostname()))
            .arg(format!("--port={}", opts.get_tcp_port()))
            .arg(format!("--user={}", opts.get_user().unwrap_or("root")))
            .arg(format!("--password={}", opts.get_pass().unwrap_or("")))
            .arg(&self.name)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(path, out.stdout).unwrap();
    }
}

impl Drop for SourceDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = Conn::new(Opts::from_url(&self.admin).unwrap()) {
            let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS {}", self.name));
        }
    }
}

/// A transaction as (id, kind, amount, quantity, valid, author, unix seconds).
type Line = (i64, TransactionKind, Money, u32, bool, String, i64);

/// What the generated 10p5 data should become in ardoise.
#[derive(Debug, Default)]
struct Expected {
    /// Card id as ardoise spells it → (balance, overdraft limit).
    cards: BTreeMap<String, (Money, Money)>,
    /// Card id → its history as (id, kind, amount, quantity, valid, author, unix seconds).
    history: BTreeMap<String, Vec<Line>>,
    /// Card id → (stored balance, sum of its valid history).
    disagreeing: BTreeMap<String, (Money, Money)>,
    transactions: usize,
}

/// A deterministic pseudo-random sequence (no seed to keep in sync with a library).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// The generator's state: the sequence, the rows of `Transactions` so far, the last id and
/// date.
struct Gen {
    rng: Lcg,
    rows: Vec<String>,
    next_id: i64,
    second: i64,
}

const PREZ_PASSWORD: &str = "prez-mot-de-passe";
const BARMAN_PASSWORD: &str = "barman-mot-de-passe";

fn php_hash(password: &str) -> String {
    bcrypt::hash_with_result(password, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY)
}

/// Fills the database with 10p5 data: cards with histories of creations, top-ups, payments
/// by amount and by quantity, drains, cancelled transactions (valide = 0), float balances
/// such as 15.799999, one card in overdraft, one card whose balance disagrees with its
/// history (a lost top-up), bcrypt users and the seeded `default` user.
fn generate(db: &SourceDb) -> Expected {
    let mut g = Gen {
        rng: Lcg(2016),
        rows: Vec::new(),
        next_id: 0,
        second: 1_460_368_800, // 2016-04-11 10:00:00 UTC
    };
    let mut expected = Expected::default();
    let mut clients = Vec::new();
    let authors = ["prez", "barman", "bde"];
    let mut ids: Vec<String> = (0..36).map(|i| format!("C{i:07}")).collect();
    ids.extend(["AHS0DIEX", "LOST0001", "DEBT0001", "cafe00aa"].map(String::from));
    for (n, raw_id) in ids.iter().enumerate() {
        let ardoise_id = CardId::parse(raw_id).unwrap().to_string();
        let overdraft = raw_id == "DEBT0001";
        let floor = if overdraft { -5000 } else { 0 };
        let mut balance;
        let mut history = Vec::new();
        let mut push = |g: &mut Gen,
                        kind: u8,
                        cents: i64,
                        quantity: u32,
                        valid: bool,
                        author: Option<&str>| {
            g.second += 60 + i64::try_from(g.rng.below(600)).unwrap();
            // Now and then an id is skipped, as a 10p5 AUTO_INCREMENT does after a rollback.
            g.next_id += 1 + i64::from(n % 7 == 3);
            let (id, second) = (g.next_id, g.second);
            let date = chrono::DateTime::from_timestamp(second, 0).unwrap();
            g.rows.push(format!(
                "({id}, '{kind}', '{raw_id}', '{}', {}, {quantity}, {}, {})",
                date.format("%Y-%m-%d %H:%M:%S"),
                Money::from_cents(cents).to_fixed2(),
                author.map_or("NULL".to_owned(), |a| format!("'{a}'")),
                u8::from(valid)
            ));
            history.push((
                id,
                TransactionKind::from_code(i64::from(kind)).unwrap(),
                Money::from_cents(cents),
                quantity,
                valid,
                author.unwrap_or("10p5").to_owned(),
                second,
            ));
        };
        match raw_id.as_str() {
            "AHS0DIEX" => {
                push(&mut g, 1, 2000, 0, true, Some("prez"));
                push(&mut g, 3, 420, 0, true, Some("barman"));
                push(&mut g, 3, 180, 1, false, Some("barman"));
                balance = 1580;
            }
            "DEBT0001" => {
                push(&mut g, 1, 500, 0, true, Some("prez"));
                push(&mut g, 3, 850, 0, true, Some("barman"));
                push(&mut g, 2, 1000, 0, false, None);
                balance = -350;
            }
            _ => {
                balance = 500 + i64::try_from(g.rng.below(4500)).unwrap();
                push(&mut g, 1, balance, 0, true, Some("bde"));
                for _ in 0..(3 + g.rng.below(6)) {
                    let author = authors[usize::try_from(g.rng.below(3)).unwrap()];
                    let valid = g.rng.below(5) != 0;
                    let (kind, cents, quantity) = match g.rng.below(4) {
                        0 => (2, 1000 + 500 * i64::try_from(g.rng.below(3)).unwrap(), 0),
                        1 => {
                            let q = 1 + u32::try_from(g.rng.below(3)).unwrap();
                            (3, 180 * i64::from(q), q)
                        }
                        _ => (3, 120 + 10 * i64::try_from(g.rng.below(36)).unwrap(), 0),
                    };
                    let delta = if kind == 2 { cents } else { -cents };
                    if balance + delta < floor {
                        continue;
                    }
                    push(&mut g, kind, cents, quantity, valid, Some(author));
                    if valid {
                        balance += delta;
                    }
                }
                if n % 9 == 0 && balance > 0 {
                    push(&mut g, 4, balance, 0, true, Some("barman"));
                    balance = 0;
                }
            }
        }
        let mut stored = balance;
        if raw_id == "LOST0001" {
            // Two top-ups raced in 10p5 and one of them was lost: the card holds 5.00 less
            // than its history.
            stored -= 500;
            expected.disagreeing.insert(
                ardoise_id.clone(),
                (Money::from_cents(stored), Money::from_cents(balance)),
            );
        }
        // 10p5's PHP wrote float arithmetic results: 15.799999 and the like.
        let solde = format!("{:.6}", (stored as f64) / 100.0 - 0.000001);
        clients.push(format!("('{raw_id}', {solde}, {})", u8::from(overdraft)));
        let limit = Money::from_cents(if overdraft { 5000 } else { 0 });
        expected
            .cards
            .insert(ardoise_id.clone(), (Money::from_cents(stored), limit));
        expected.transactions += history.len();
        expected.history.insert(ardoise_id, history);
    }
    let users = [
        ("prez", php_hash(PREZ_PASSWORD), "'PREZ0001'", 3),
        ("barman", php_hash(BARMAN_PASSWORD), "'BARM0001'", 2),
        ("bde", php_hash("bde-mot-de-passe"), "NULL", 1),
        ("default", php_hash("default-public"), "'OHCEE7UH'", 3),
    ]
    .map(|(l, h, c, r)| format!("('{l}', '{h}', {c}, {r})"));
    let mut conn = db.conn();
    conn.query_drop(format!(
        "INSERT INTO Utilisateurs (login, mdp, idCarte, droit) VALUES {}",
        users.join(", ")
    ))
    .unwrap();
    conn.query_drop(format!(
        "INSERT INTO Clients (idCarte, solde, decouvert) VALUES {}",
        clients.join(", ")
    ))
    .unwrap();
    conn.query_drop(format!(
        "INSERT INTO Transactions (id, type, client, date, montant, quantite, utilisateur, \
         valide) VALUES {}",
        g.rows.join(", ")
    ))
    .unwrap();
    expected
}

fn run_import(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_ardoise-import"))
        .arg("10p5")
        .args(args)
        .env_remove("ARDOISE_DATABASE_URL")
        .env_remove("ARDOISE__MONEY__OVERDRAFT_DEFAULT")
        .output()
        .unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "ardoise-import {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn open_store(url: &str) -> Store {
    let mut settings = StoreSettings::new(url);
    settings.card_cache_ttl = std::time::Duration::ZERO;
    Store::connect(&settings).unwrap()
}

/// Balances, histories and invariant 1 on every card of `store`, as `expected` says.
async fn assert_imported(store: &Store, expected: &Expected) {
    let cards = store.cards().await.unwrap();
    assert_eq!(cards.len(), expected.cards.len());
    let mut imported = 0;
    for card in &cards {
        let id = card.id.to_string();
        let (balance, limit) = expected.cards[&id];
        assert_eq!(
            (card.balance, card.overdraft_limit),
            (balance, limit),
            "card {id}"
        );
        let history: Vec<Transaction> = store.card_transactions(&card.id).await.unwrap();
        let (old, adjustments): (Vec<&Transaction>, Vec<&Transaction>) = history
            .iter()
            .partition(|t| t.kind != TransactionKind::ImportAdjustment);
        let got: Vec<_> = old
            .iter()
            .map(|t| {
                (
                    t.id.0,
                    t.kind,
                    t.amount,
                    t.quantity,
                    t.valid,
                    t.author.clone(),
                    t.created_at.timestamp(),
                )
            })
            .collect();
        assert_eq!(got, expected.history[&id], "history of card {id}");
        for t in &old {
            let by_quantity = t.kind == TransactionKind::Payment && t.quantity > 0;
            assert_eq!(t.product.as_deref(), by_quantity.then_some("biere"));
        }
        imported += old.len();
        match expected.disagreeing.get(&id) {
            Some((stored, sum)) => {
                assert_eq!(adjustments.len(), 1, "card {id}");
                let a = adjustments[0];
                assert_eq!(a.amount, stored.checked_sub(*sum).unwrap());
                assert!(a.valid);
                assert_eq!(a.author, "ardoise-import");
                assert!(
                    a.id.0
                        > expected
                            .history
                            .values()
                            .flatten()
                            .map(|h| h.0)
                            .max()
                            .unwrap()
                );
            }
            None => assert!(adjustments.is_empty(), "card {id}: {adjustments:?}"),
        }
        // Invariant 1.
        let sum: Money = history
            .iter()
            .filter(|t| t.valid)
            .map(Transaction::signed_amount)
            .sum();
        assert_eq!(sum, card.balance, "invariant 1 on card {id}");
    }
    assert_eq!(imported, expected.transactions);
}

/// Staff rights and cards; the seeded account disabled; an old password logs in and its
/// bcrypt hash becomes argon2id.
async fn assert_staff(store: &Store) {
    let login = |l: &str| Login::parse(l).unwrap();
    let prez = store.user(&login("prez")).await.unwrap().unwrap();
    assert_eq!(prez.rights, Rights::President);
    assert_eq!(prez.card.as_ref().map(CardId::as_str), Some("PREZ0001"));
    assert!(
        prez.password_hash.starts_with("$2y$04$"),
        "kept as 10p5 stored it"
    );
    let bde = store.user(&login("bde")).await.unwrap().unwrap();
    assert_eq!(
        (bde.rights, bde.card, bde.active),
        (Rights::Association, None, true)
    );
    let default = store.user(&login("default")).await.unwrap().unwrap();
    assert_eq!(default.rights, Rights::President);
    assert!(!default.active, "the seeded account is imported disabled");

    let store = Arc::new(store.clone());
    let staff = Staff::new(
        store.clone(),
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(OsTokens),
        StaffSettings::default(),
    );
    let here = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert!(matches!(
        staff.login_password("prez", "not-the-password", here).await,
        Err(DomainError::InvalidCredentials)
    ));
    let grant = staff
        .login_password("prez", PREZ_PASSWORD, here)
        .await
        .unwrap();
    assert_eq!(grant.rights, Rights::President);
    let upgraded = store.user(&login("prez")).await.unwrap().unwrap();
    assert!(
        upgraded.password_hash.starts_with("$argon2id$"),
        "{}",
        upgraded.password_hash
    );
    // The new hash works, the old one is gone.
    staff
        .login_password("prez", PREZ_PASSWORD, here)
        .await
        .unwrap();
    let barman = staff
        .login_card(&CardId::parse("BARM0001").unwrap(), here)
        .await
        .unwrap();
    assert_eq!(barman.rights, Rights::BarMember);
    assert!(matches!(
        staff
            .login_password("default", "default-public", here)
            .await,
        Err(DomainError::InvalidCredentials)
    ));
    assert!(matches!(
        staff
            .login_card(&CardId::parse("OHCEE7UH").unwrap(), here)
            .await,
        Err(DomainError::UnknownStaffCard)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_10p5_database_and_its_dump_import_alike() {
    let Some(admin) = mariadb_url() else { return };
    let source = SourceDb::new(&admin);
    let expected = generate(&source);
    let dir = tempfile::tempdir().unwrap();
    let live_db = format!("sqlite://{}", dir.path().join("live.db").display());
    let report = dir.path().join("report.csv");

    // A dry run checks everything and writes nothing.
    let out = run_import(&[
        "--from",
        &source.url,
        "--database-url",
        &live_db,
        "--dry-run",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Dry run, nothing written"));
    assert!(open_store(&live_db).cards().await.unwrap().is_empty());

    let out = run_import(&[
        "--from",
        &source.url,
        "--database-url",
        &live_db,
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("imported DISABLED"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{} cards", expected.cards.len())),
        "{stdout}"
    );
    assert!(stdout.contains("total difference -5.00"), "{stdout}");
    let store = open_store(&live_db);
    assert_imported(&store, &expected).await;

    // The report: the disagreeing card, then the total.
    let (stored, sum) = expected.disagreeing["LOST0001"];
    assert_eq!(
        std::fs::read_to_string(&report).unwrap(),
        format!(
            "card,stored_balance,transactions_sum,difference\n\
             LOST0001,{},{},-5.00\nTOTAL,{},{},-5.00\n",
            stored.to_fixed2(),
            sum.to_fixed2(),
            stored.to_fixed2(),
            sum.to_fixed2()
        )
    );

    // A second import is refused and changes nothing.
    let before = store.transactions(None, None).await.unwrap().len();
    let out = run_import(&["--from", &source.url, "--database-url", &live_db]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("a second import is refused"));
    assert_eq!(store.transactions(None, None).await.unwrap().len(), before);

    assert_staff(&store).await;

    // The dump gives the same ardoise database.
    let dump = dir.path().join("10p5.sql");
    source.dump(&dump);
    let dump_db = format!("sqlite://{}", dir.path().join("dump.db").display());
    let out = run_import(&["--dump", dump.to_str().unwrap(), "--database-url", &dump_db]);
    assert!(out.status.success());
    let from_dump = open_store(&dump_db);
    assert_imported(&from_dump, &expected).await;
    let strip = |ts: Vec<Transaction>| -> Vec<Transaction> {
        ts.into_iter()
            .map(|mut t| {
                if t.kind == TransactionKind::ImportAdjustment {
                    t.created_at = chrono::DateTime::UNIX_EPOCH;
                }
                t
            })
            .collect()
    };
    assert_eq!(
        strip(from_dump.transactions(None, None).await.unwrap()),
        strip(store.transactions(None, None).await.unwrap()),
        "live and dump imports agree"
    );
    assert_staff(&from_dump).await;

    // And into PostgreSQL, when there is one.
    if let Ok(pg_admin) = std::env::var("ARDOISE_TEST_POSTGRES_URL") {
        let name = format!("ardoise_import_{}", std::process::id());
        let pg = PgDb::new(&pg_admin, &name);
        let out = run_import(&["--dump", dump.to_str().unwrap(), "--database-url", &pg.url]);
        assert!(out.status.success());
        let on_pg = open_store(&pg.url);
        assert_imported(&on_pg, &expected).await;
        assert_staff(&on_pg).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amount_off_the_cent_stops_the_import_unless_accepted() {
    let Some(admin) = mariadb_url() else { return };
    let source = SourceDb::new(&admin);
    let mut conn = source.conn();
    // A FLOAT column without (7,2) keeps what PHP's arithmetic wrote.
    conn.query_drop("ALTER TABLE Clients MODIFY solde FLOAT")
        .unwrap();
    conn.query_drop(
        "INSERT INTO Clients VALUES ('AHS0DIEX', 15.799999, 0), ('ODD00001', 2.345, 0)",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ardoise.db").display());

    let out = run_import(&["--from", &source.url, "--database-url", &db]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Clients `ODD00001` solde: 2.3450000286102295 is not within 0.001"),
        "{stderr}"
    );
    assert!(stderr.contains("--accept-rounding"), "{stderr}");
    assert!(!stderr.contains("AHS0DIEX"), "15.799999 is 15.80: {stderr}");
    assert!(
        !dir.path().join("ardoise.db").exists(),
        "nothing written, not even an empty database"
    );

    let out = run_import(&[
        "--from",
        &source.url,
        "--database-url",
        &db,
        "--accept-rounding",
    ]);
    assert!(out.status.success());
    let store = open_store(&db);
    let card = |id: &str| CardId::parse(id).unwrap();
    let odd = store.card(&card("ODD00001")).await.unwrap().unwrap();
    assert_eq!(odd.balance, Money::from_cents(235));
    let ahs = store.card(&card("AHS0DIEX")).await.unwrap().unwrap();
    assert_eq!(ahs.balance, Money::from_cents(1580));
    // No history in this database: each balance is one adjustment, and invariant 1 holds.
    let history = store.card_transactions(&card("ODD00001")).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, TransactionKind::ImportAdjustment);
    assert_eq!(history[0].amount, Money::from_cents(235));
}

/// A fresh PostgreSQL database, dropped at the end.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    fn new(admin: &str, name: &str) -> PgDb {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut conn = diesel::pg::PgConnection::establish(admin).unwrap();
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
        PgDb {
            admin: admin.to_owned(),
            name: name.to_owned(),
            url: format!("{base}/{name}"),
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if let Ok(mut c) = diesel::pg::PgConnection::establish(&self.admin) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
