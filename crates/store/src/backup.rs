//! Online backup and pool figures, for the operators.

use std::path::Path;

use diesel::connection::SimpleConnection;

use crate::db::Db;
use crate::{Backend, Store, StoreError};

/// How the connection pool is used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open.
    pub connections: u32,
    /// Of which idle.
    pub idle: u32,
    /// The most the pool may open.
    pub max: u32,
}

impl Store {
    /// Writes a consistent copy of an SQLite database to `target` (`VACUUM INTO`), safe while
    /// the server runs: payments go on during the copy. `target` must not exist yet.
    /// PostgreSQL is backed up with `pg_dump` instead. Blocking.
    pub fn backup_to(&self, target: &Path) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            return Err(StoreError::InvalidSetting(
                "backup of PostgreSQL: use pg_dump (see docs/operations.md)".into(),
            ));
        }
        if target.exists() {
            return Err(StoreError::InvalidSetting(format!(
                "{} already exists: choose a new file",
                target.display()
            )));
        }
        let text = target
            .to_str()
            .ok_or_else(|| StoreError::InvalidSetting("the backup path is not UTF-8".into()))?;
        let Db::Sqlite(pool) = &self.inner.db else {
            return Err(StoreError::InvalidSetting("not an SQLite database".into()));
        };
        let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
        // A string literal: single quotes are doubled.
        conn.batch_execute(&format!("VACUUM INTO '{}'", text.replace('\'', "''")))
            .map_err(StoreError::Database)
    }

    /// The pool's current use.
    pub fn pool_state(&self) -> PoolState {
        let (state, max) = match &self.inner.db {
            Db::Sqlite(pool) => (pool.state(), pool.max_size()),
            Db::Postgres(pool) => (pool.state(), pool.max_size()),
        };
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max,
        }
    }
}
