//! The schema's migrations, embedded in the binary, one folder per backend with the same
//! version names (`migrations/sqlite`, `migrations/postgres`).

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::r2d2::{Pool, R2D2Connection};

use crate::db::Manager;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::db::Db;
use crate::error::StoreError;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A fixed key for PostgreSQL's advisory lock, so that two processes starting together do
/// not apply the same migration twice.
const PG_MIGRATION_LOCK: i64 = 0x0061_7264_6f69_7365; // "ardoise"

/// What to do with the migrations.
#[derive(Clone, Copy)]
enum Step {
    Up,
    DownAll,
}

fn run<C, S>(conn: &mut C, source: S, step: Step) -> Result<usize, StoreError>
where
    C: MigrationHarness<C::Backend> + R2D2Connection,
    S: MigrationSource<C::Backend>,
{
    let done = match step {
        Step::Up => conn.run_pending_migrations(source).map(|v| v.len()),
        Step::DownAll => conn.revert_all_migrations(source).map(|v| v.len()),
    };
    done.map_err(|e| StoreError::Migration(e.to_string()))
}

fn get<C: R2D2Connection + 'static>(
    pool: &Pool<Manager<C>>,
) -> Result<r2d2::PooledConnection<Manager<C>>, StoreError> {
    pool.get().map_err(|e| StoreError::Connect(e.to_string()))
}

fn apply(db: &Db, step: Step) -> Result<usize, StoreError> {
    match db {
        Db::Sqlite(pool) => run(&mut *get(pool)?, SQLITE, step),
        Db::Postgres(pool) => {
            let mut conn = get(pool)?;
            conn.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let done = run(&mut *conn, POSTGRES, step);
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            done
        }
    }
}

/// Applies the pending migrations; how many.
pub(crate) fn run_pending(db: &Db) -> Result<usize, StoreError> {
    apply(db, Step::Up)
}

/// Reverts every applied migration; how many.
pub(crate) fn revert_all(db: &Db) -> Result<usize, StoreError> {
    apply(db, Step::DownAll)
}
