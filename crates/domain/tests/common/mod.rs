//! Shared test fixtures: a bar over the in-memory ledger with a clock the test moves.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ardoise_domain::memory::MemoryLedger;
use ardoise_domain::ports::{Catalog, Clock, Ledger};
use ardoise_domain::{Actor, Bar, CardId, Login, Money, Policy, Product, Rights};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// A clock that only moves when told.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub struct Fixture {
    pub bar: Bar,
    pub ledger: Arc<MemoryLedger>,
    pub clock: Arc<TestClock>,
}

pub fn fixture() -> Fixture {
    let ledger = Arc::new(MemoryLedger::new());
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap(),
    )));
    futures::executor::block_on(ledger.set_product(Product {
        name: "biere".into(),
        unit_price: money("1.80"),
        bundles: BTreeMap::from([(6, money("10"))]),
        category: Some("boissons".into()),
    }))
    .unwrap();
    let bar = Bar::new(
        ledger.clone() as Arc<dyn Ledger>,
        ledger.clone() as Arc<dyn Catalog>,
        clock.clone() as Arc<dyn Clock>,
        Policy::default(),
    );
    Fixture { bar, ledger, clock }
}

pub fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

pub fn card(text: &str) -> CardId {
    CardId::parse(text).unwrap()
}

pub fn actor(login: &str, level: i64) -> Actor {
    Actor {
        login: Login::parse(login).unwrap(),
        rights: Rights::from_level(level).unwrap(),
    }
}

/// Invariant 1 of pos-api.md: every balance equals the sum of its valid transactions.
/// (The floor is checked where debits happen: lowering an overdraft limit may leave a card
/// below its new floor, in debt, which is allowed.)
pub fn assert_invariant(ledger: &MemoryLedger) {
    futures::executor::block_on(async {
        for c in ledger.cards().await.unwrap() {
            let sum: Money = ledger
                .card_transactions(&c.id)
                .await
                .unwrap()
                .iter()
                .filter(|t| t.valid)
                .map(|t| t.signed_amount())
                .sum();
            assert_eq!(c.balance, sum, "card {}", c.id);
        }
    });
}
