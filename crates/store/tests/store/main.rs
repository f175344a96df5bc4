//! The store against real databases: SQLite always (a fresh file per test), PostgreSQL too
//! when `ARDOISE_TEST_POSTGRES_URL` names an admin connection (a fresh database per test).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod batching;
mod catalog;
mod concurrency;
mod credits;
mod differential;
mod failures;
mod import;
mod ledger;
mod member_events;
mod members;
mod migrations;
mod outbox;
mod partners;
mod post_runs;
mod snapshots;
mod staff;
