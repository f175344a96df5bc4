//! The machine's raw durable-commit rate: one row update and one row insert per committed
//! transaction, one transaction at a time, with prepared (cached) statements. This is the
//! ceiling of any design that commits each payment on its own; group commit must beat it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

diesel::table! {
    bench_accounts (id) {
        id -> BigInt,
        balance -> BigInt,
    }
}

diesel::table! {
    bench_ledger (id) {
        id -> BigInt,
        account -> BigInt,
        amount -> BigInt,
        at -> BigInt,
    }
}

#[derive(Insertable)]
#[diesel(table_name = bench_ledger)]
struct Entry {
    account: i64,
    amount: i64,
    at: i64,
}

/// What the loop measured.
pub struct RawRate {
    pub commits: u64,
    pub seconds: f64,
}

impl RawRate {
    /// Commits per second.
    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.commits as f64 / self.seconds
        } else {
            0.0
        }
    }
}

macro_rules! commit_loop {
    ($conn:expr, $duration:expr) => {{
        let conn = $conn;
        let start = Instant::now();
        let mut commits = 0u64;
        while start.elapsed() < $duration {
            let at = commits as i64;
            conn.transaction::<_, diesel::result::Error, _>(|conn| {
                diesel::update(bench_accounts::table.find(1i64))
                    .set(bench_accounts::balance.eq(bench_accounts::balance - 1))
                    .execute(conn)?;
                diesel::insert_into(bench_ledger::table)
                    .values(&Entry {
                        account: 1,
                        amount: 1,
                        at,
                    })
                    .execute(conn)?;
                Ok(())
            })
            .context("a raw commit failed")?;
            commits += 1;
        }
        Ok(RawRate {
            commits,
            seconds: start.elapsed().as_secs_f64(),
        })
    }};
}

/// SQLite in WAL mode with `synchronous = FULL` (as the server's default), in `dir`.
pub fn sqlite(dir: &Path, duration: Duration) -> anyhow::Result<RawRate> {
    let path = dir.join("raw.db");
    let mut conn = SqliteConnection::establish(&path.display().to_string())
        .context("cannot open the raw SQLite file")?;
    conn.batch_execute(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         CREATE TABLE bench_accounts (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL);
         CREATE TABLE bench_ledger (id INTEGER PRIMARY KEY, account BIGINT NOT NULL,
                                    amount BIGINT NOT NULL, at BIGINT NOT NULL);
         INSERT INTO bench_accounts (id, balance) VALUES (1, 1000000000);",
    )
    .context("cannot set up the raw SQLite file")?;
    let rate: anyhow::Result<RawRate> = commit_loop!(&mut conn, duration);
    drop(conn);
    let _ = std::fs::remove_file(&path);
    rate
}

/// PostgreSQL (default durability: `synchronous_commit` as configured on the server).
pub fn postgres(url: &str, duration: Duration) -> anyhow::Result<RawRate> {
    let mut conn = PgConnection::establish(url).context("cannot connect to PostgreSQL")?;
    conn.batch_execute(
        "CREATE TABLE bench_accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL);
         CREATE TABLE bench_ledger (id BIGSERIAL PRIMARY KEY, account BIGINT NOT NULL,
                                    amount BIGINT NOT NULL, at BIGINT NOT NULL);
         INSERT INTO bench_accounts (id, balance) VALUES (1, 1000000000);",
    )
    .context("cannot set up the raw PostgreSQL tables")?;
    let rate: anyhow::Result<RawRate> = commit_loop!(&mut conn, duration);
    let _ = conn.batch_execute("DROP TABLE bench_ledger; DROP TABLE bench_accounts;");
    rate
}
