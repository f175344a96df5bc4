//! Storage trouble answers `StorageUnavailable` and writes nothing.

use std::time::{Duration, Instant};

use ardoise_domain::ports::Ledger;
use ardoise_domain::DomainError;
use ardoise_store::{Backend, Store, StoreError, StoreSettings};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_beyond_the_busy_timeout_is_storage_unavailable() {
    for backend in backends() {
        let db = TestDb::with(backend, |s| s.busy_timeout_ms = 300);
        db.store.apply(open("CAFE0001", 1000, 0)).await.unwrap();

        let mut holder = db.raw();
        match backend {
            Backend::Sqlite => holder.exec("BEGIN EXCLUSIVE"),
            Backend::Postgres => holder.exec("BEGIN; LOCK TABLE cards IN ACCESS EXCLUSIVE MODE"),
        }
        let started = Instant::now();
        assert_eq!(
            db.store.apply(pay("CAFE0001", 100)).await,
            Err(DomainError::StorageUnavailable)
        );
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(started.elapsed() < Duration::from_secs(10));
        holder.exec("ROLLBACK");

        assert_eq!(db.balance("CAFE0001"), 1000, "nothing was written");
        assert_eq!(db.count("transactions"), 1);
        // The store recovers by itself.
        assert!(db.store.apply(pay("CAFE0001", 100)).await.is_ok());
        db.assert_invariants();
    }
}

#[test]
fn bad_urls_and_unreachable_servers_are_set_up_errors() {
    assert!(matches!(
        Store::connect(&StoreSettings::new("mysql://localhost/bar")),
        Err(StoreError::InvalidUrl(_))
    ));
    let mut settings = StoreSettings::new("postgres://nobody:secret@127.0.0.1:1/none");
    settings.busy_timeout_ms = 200;
    match Store::connect(&settings) {
        Err(StoreError::Connect(text)) => assert!(!text.contains("secret")),
        other => panic!("expected a connection error, got {other:?}"),
    }
}
