//! Black-box tests of the whole `ardoise` binary: each test starts the real binary on port 0
//! over a fresh database (SQLite always, PostgreSQL when ARDOISE_TEST_POSTGRES_URL is set) and
//! talks to it over HTTP, as the POS clients and the operators do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod business_cards;
mod cli;
mod docs_examples;
mod edge;
mod exchange;
mod exchange_web;
mod first_day;
mod harness;
mod import;
mod me_web;
mod member_events;
mod notifications;
mod oauth;
mod openapi;
mod ops;
mod pos;
mod pos_concurrency;
mod pos_keys;
mod staff_races;
mod strict_input;
mod v1_admin;
mod v1_catalog;
mod v1_idempotency;
mod v1_lifecycle;
mod v1_me;
mod v1_members;
mod v1_partner;
mod v1_staff;
mod v1_vouchers;
mod web;
