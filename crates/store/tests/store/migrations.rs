use ardoise_domain::ports::{Catalog, Ledger};
use ardoise_domain::DomainError;
use ardoise_store::Backend;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_up_down_and_up_again() {
    for backend in backends() {
        let db = TestDb::unmigrated(backend, |_| {});
        assert_eq!(
            db.store.migrate().unwrap(),
            migration_count(),
            "{backend:?}"
        );
        assert_eq!(db.store.migrate().unwrap(), 0, "nothing left to apply");
        db.store.apply(open("CAFE0001", 1000, 0)).await.unwrap();

        assert_eq!(db.store.revert_all_migrations().unwrap(), migration_count());
        // The tables are gone: the store answers an error, it does not panic.
        assert!(matches!(
            db.store.cards().await,
            Err(DomainError::Internal(_))
        ));

        assert_eq!(db.store.migrate().unwrap(), migration_count());
        assert!(db.store.cards().await.unwrap().is_empty());
        let beer = db.store.product("biere").await.unwrap().unwrap();
        assert_eq!(beer.unit_price, cents(180));
        assert!(beer.bundles.is_empty());
        assert_eq!(beer.category, None);
        db.store.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_and_directory_are_created_in_wal_mode() {
    let db = TestDb::new(Backend::Sqlite);
    let path = db
        .settings
        .url
        .strip_prefix("sqlite://")
        .unwrap()
        .to_owned();
    assert!(std::path::Path::new(&path).exists());
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    use diesel::{Connection, RunQueryDsl};
    let mut c = diesel::sqlite::SqliteConnection::establish(&path).unwrap();
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut c)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    db.store.ping().await.unwrap();
}

#[test]
fn a_plain_path_is_an_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("plain.db");
    let store = ardoise_store::Store::connect(&ardoise_store::StoreSettings::new(
        path.display().to_string(),
    ))
    .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.migrate().unwrap(), migration_count());
    assert!(path.exists());
}
