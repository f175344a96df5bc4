//! The store's errors: [`StoreError`] for set-up (connect, migrate), and the internal
//! [`Failure`] that every port call maps to a `DomainError` in one place.

use ardoise_domain::DomainError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Why the store could not be set up or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend or cannot be used.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// A setting has a value the store does not know.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// The directory of the SQLite file cannot be created.
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    /// The database cannot be reached or refused the connection settings.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A migration failed; the database keeps the migrations applied before it.
    #[error("migration failed: {0}")]
    Migration(String),
    /// An import (`ardoise-import`) that this database cannot take: already imported, or
    /// not empty; nothing was written.
    #[error("import refused: {0}")]
    ImportRefused(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] DieselError),
}

/// Why a store operation did not succeed, before it becomes the `DomainError` callers see.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A rule refused the operation: passed on unchanged.
    Refused(DomainError),
    /// The database said no.
    Db(DieselError),
    /// No connection could be had from the pool in time.
    Pool(String),
    /// A stored value that the domain cannot represent.
    Corrupt(String),
    /// A blocking task died or the writer stopped.
    Lost(String),
}

impl From<DieselError> for Failure {
    fn from(e: DieselError) -> Failure {
        Failure::Db(e)
    }
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Failure {
        Failure::Refused(e)
    }
}

impl From<r2d2::Error> for Failure {
    fn from(e: r2d2::Error) -> Failure {
        Failure::Pool(e.to_string())
    }
}

/// Messages (lower case) of errors that mean "the database is not usable right now" rather
/// than "this request is wrong": SQLite locks beyond the busy timeout, I/O trouble, and
/// PostgreSQL connection loss, shutdown or lock timeout.
const UNAVAILABLE: &[&str] = &[
    "database is locked",
    "database table is locked",
    "database is busy",
    "disk i/o error",
    "database or disk is full",
    "unable to open database",
    "attempt to write a readonly database",
    "lock timeout",
    "statement timeout",
    "terminating connection",
    "shutting down",
    "starting up",
    "too many clients",
    "no connection to the server",
    "server closed the connection",
    "could not connect",
    "connection refused",
];

/// Messages (lower case) of errors that mean the connection itself is gone.
const CONNECTION_LOST: &[&str] = &[
    "terminating connection",
    "no connection to the server",
    "server closed the connection",
    "could not receive data from server",
    "could not send data to server",
    "connection to server",
];

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Failure {
    /// A lock conflict between two writers (PostgreSQL deadlock or serialization failure):
    /// the whole database transaction was rolled back and may simply be tried again.
    pub fn is_conflict(&self) -> bool {
        match self {
            Failure::Db(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => {
                true
            }
            Failure::Db(DieselError::DatabaseError(_, info)) => info
                .message()
                .to_ascii_lowercase()
                .contains("deadlock detected"),
            _ => false,
        }
    }

    /// The link to the database server is gone (the server stopped, restarted or closed the
    /// connection): the connection must not be used again.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Failure::Db(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )) => true,
            Failure::Db(DieselError::DatabaseError(_, info)) => {
                let message = info.message().to_ascii_lowercase();
                CONNECTION_LOST.iter().any(|m| message.contains(m))
            }
            _ => false,
        }
    }

    /// A failure after which the batch's transaction cannot commit (conflict, lost
    /// connection, lock timeout): the batch is abandoned as a whole.
    pub fn is_batch_fatal(&self) -> bool {
        self.is_unavailable()
    }

    /// Storage trouble rather than a problem of the request; a conflict that persisted
    /// through the retries counts as trouble too.
    fn is_unavailable(&self) -> bool {
        if self.is_conflict() {
            return true;
        }
        match self {
            Failure::Pool(_) => true,
            Failure::Db(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )) => true,
            Failure::Db(DieselError::DatabaseError(_, info)) => {
                let message = info.message().to_ascii_lowercase();
                UNAVAILABLE.iter().any(|m| message.contains(m))
            }
            Failure::Db(DieselError::BrokenTransactionManager) => true,
            _ => false,
        }
    }

    /// What went wrong, for the logs (never for the caller).
    fn describe(&self) -> String {
        match self {
            Failure::Refused(e) => e.to_string(),
            Failure::Db(e) => format!("database error: {e}"),
            Failure::Pool(e) => format!("no database connection: {e}"),
            Failure::Corrupt(what) => format!("unexpected stored value: {what}"),
            Failure::Lost(what) => what.clone(),
        }
    }

    /// The error callers see: refusals unchanged, storage trouble as `StorageUnavailable`,
    /// anything else as `Internal` (logged here, with its detail, once).
    pub fn into_domain(self) -> DomainError {
        if let Failure::Refused(e) = self {
            return e;
        }
        let text = self.describe();
        if self.is_unavailable() {
            tracing::warn!(error = %text, "storage unavailable");
            return DomainError::StorageUnavailable;
        }
        tracing::error!(error = %text, "store failure");
        DomainError::Internal(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info(&'static str);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: DatabaseErrorKind, message: &'static str) -> Failure {
        Failure::Db(DieselError::DatabaseError(kind, Box::new(Info(message))))
    }

    #[test]
    fn storage_trouble_is_unavailable_and_the_rest_internal() {
        use DatabaseErrorKind::*;
        for unavailable in [
            db(Unknown, "database is locked"),
            db(Unknown, "canceling statement due to lock timeout"),
            db(Unknown, "deadlock detected"),
            db(SerializationFailure, "could not serialize access"),
            db(
                ClosedConnection,
                "server closed the connection unexpectedly",
            ),
            db(
                Unknown,
                "terminating connection due to administrator command",
            ),
            Failure::Pool("timed out waiting for connection".into()),
        ] {
            assert!(unavailable.is_batch_fatal());
            assert_eq!(unavailable.into_domain(), DomainError::StorageUnavailable);
        }
        assert!(db(Unknown, "deadlock detected").is_conflict());
        assert!(!db(Unknown, "database is locked").is_conflict());
        for internal in [
            db(CheckViolation, "new row violates check constraint"),
            db(Unknown, "no such table: cards"),
            Failure::Corrupt("card status x".into()),
        ] {
            assert!(!internal.is_batch_fatal());
            assert!(matches!(internal.into_domain(), DomainError::Internal(_)));
        }
        assert_eq!(
            Failure::Refused(DomainError::UnknownCard).into_domain(),
            DomainError::UnknownCard
        );
    }
}
