//! Member events queued by the writer with their cause (services.md): a low-balance alert
//! once per crossing of the member's threshold, receipts of top-ups when wanted; the payment
//! and its alert commit together or not at all. On PostgreSQL a lone payment goes through the
//! one-statement batch, a payment with an idempotency key through the transaction path: both
//! are checked.

use ardoise_domain::outbox::{Message, Origin, Outbox};
use ardoise_domain::ports::{IdempotencyKey, Ledger, Movement};
use ardoise_domain::{Channel, Page};
use ardoise_store::Backend;

use crate::common::*;

/// Member 7 (e-mail and mobile known) owns `card`, with these preferences.
fn watch(db: &TestDb, card: &str, low_balance: &str, receipts: bool, sms: bool) {
    db.exec(&format!(
        "INSERT INTO members (id, first_name, email, mobile, revision, created_at, updated_at) \
         VALUES (7, 'Ana', 'ana@example.org', '+33612345678', 1, 0, 0); \
         INSERT INTO member_preferences (member_id, email, sms, push, low_balance_cents, \
           receipts, advertisements, updated_at) \
         VALUES (7, TRUE, {sms}, FALSE, {low_balance}, {receipts}, FALSE, 0); \
         UPDATE cards SET member_id = 7 WHERE id = '{card}';"
    ));
}

/// ardoise's own messages, oldest first (those of one movement by channel).
async fn events(db: &TestDb) -> Vec<Message> {
    let mut page = db
        .store
        .messages_of(&Origin::Ardoise, Page::new(Some(1), Some(100)).unwrap())
        .await
        .unwrap()
        .items;
    page.sort_by_key(|m| (m.created_at, m.channel.as_str()));
    page
}

fn keyed(mut m: Movement, key: &str) -> Movement {
    m.idempotency = Some(Box::new(IdempotencyKey {
        owner: "staff:alice".into(),
        key: key.into(),
        request_hash: "00".repeat(32),
    }));
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_crossing_the_threshold_queues_one_alert_per_channel_once_per_crossing() {
    for backend in backends() {
        // Both write paths: the one-statement batch (PostgreSQL) and the transaction.
        for with_key in [false, true] {
            let db = TestDb::new(backend);
            let s = &db.store;
            s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
            s.apply(open("CAFE0002", 1000, 0)).await.unwrap();
            watch(&db, "CAFE0001", "500", false, true);
            let mut n = 0;
            let mut pay_ = |card: &str, cents: i64| {
                n += 1;
                let m = pay(card, cents);
                if with_key {
                    keyed(m, &format!("k{n}"))
                } else {
                    m
                }
            };
            s.apply(pay_("CAFE0001", 400)).await.unwrap(); // 10.00 → 6.00: above
            assert!(events(&db).await.is_empty(), "{backend:?}");
            s.apply(pay_("CAFE0001", 200)).await.unwrap(); // 6.00 → 4.00: crosses
            let alerts = events(&db).await;
            assert_eq!(alerts.len(), 2, "{backend:?} key {with_key}");
            assert_eq!(
                alerts
                    .iter()
                    .map(|m| (m.channel, m.to.as_str()))
                    .collect::<Vec<_>>(),
                vec![
                    (Channel::Email, "ana@example.org"),
                    (Channel::Sms, "+33612345678")
                ]
            );
            for alert in &alerts {
                assert_eq!(alert.event, "low_balance");
                assert_eq!(alert.title, "Low balance");
                assert_eq!(
                    alert.message,
                    "Card CAFE0001: the balance is 4.00, below your alert level. Top up at the bar."
                );
                assert_eq!(alert.member.map(|m| m.0), Some(7));
                assert!(alert.id.starts_with("msg_"), "{}", alert.id);
            }
            assert_ne!(alerts[0].id, alerts[1].id);
            s.apply(pay_("CAFE0001", 100)).await.unwrap(); // still below: no new alert
            s.apply(pay_("CAFE0002", 900)).await.unwrap(); // nobody watches this card
            assert_eq!(events(&db).await.len(), 2);
            s.apply(top_up("CAFE0001", 700)).await.unwrap(); // 10.00, no receipts wanted
            assert_eq!(events(&db).await.len(), 2);
            s.apply(pay_("CAFE0001", 600)).await.unwrap(); // 10.00 → 4.00: crosses again
            assert_eq!(events(&db).await.len(), 4);
            db.assert_invariants();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_ups_get_a_receipt_when_the_member_wants_receipts() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 3, 0)).await.unwrap();
        watch(&db, "CAFE0001", "NULL", true, false);
        s.apply(top_up("CAFE0001", 1000)).await.unwrap();
        s.apply(pay("CAFE0001", 1003)).await.unwrap(); // no threshold: no alert
        let receipts = events(&db).await;
        assert_eq!(receipts.len(), 1, "{backend:?}");
        assert_eq!(receipts[0].event, "receipt");
        assert_eq!(
            (receipts[0].channel, receipts[0].to.as_str()),
            (Channel::Email, "ana@example.org")
        );
        assert_eq!(
            receipts[0].message,
            "Card CAFE0001: 10.00 added, the balance is now 10.03."
        );
    }
}

/// Makes every insert into the outbox fail: a failure right after the payment's own writes.
fn break_the_outbox(db: &TestDb) {
    match db.backend {
        Backend::Sqlite => db.exec(
            "CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox \
             BEGIN SELECT RAISE(ABORT, 'forced failure after the payment'); END;",
        ),
        Backend::Postgres => db.exec(
            "CREATE FUNCTION outbox_fails() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'forced failure after the payment'; END $$; \
             CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox \
             FOR EACH ROW EXECUTE FUNCTION outbox_fails();",
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_and_its_alert_commit_together_or_not_at_all() {
    for backend in backends() {
        for with_key in [false, true] {
            let db = TestDb::new(backend);
            let s = &db.store;
            s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
            s.apply(open("CAFE0002", 1000, 0)).await.unwrap();
            watch(&db, "CAFE0001", "500", false, true);
            break_the_outbox(&db);
            let key = |m: Movement, k: &str| if with_key { keyed(m, k) } else { m };

            // The alert cannot be queued: the payment is refused and nothing of it stays.
            let crossing = s.apply(key(pay("CAFE0001", 600), "a")).await;
            assert!(crossing.is_err(), "{backend:?}: {crossing:?}");
            assert_eq!(db.balance("CAFE0001"), 1000, "{backend:?} key {with_key}");
            assert_eq!(db.count("transactions WHERE card_id = 'CAFE0001'"), 1);
            assert_eq!(db.count("outbox"), 0);

            // Payments that queue nothing go through, in the same batches as a failing one.
            let (a, b, c) = tokio::join!(
                s.apply(key(pay("CAFE0001", 100), "b")),
                s.apply(key(pay("CAFE0001", 600), "c")),
                s.apply(key(pay("CAFE0002", 100), "d")),
            );
            assert!(a.is_ok() && c.is_ok(), "{backend:?}: {a:?} {c:?}");
            assert!(b.is_err(), "{backend:?}: {b:?}");
            assert_eq!(db.balance("CAFE0001"), 900);
            assert_eq!(db.balance("CAFE0002"), 900);
            assert_eq!(db.count("outbox"), 0);

            // Repaired: the crossing payment and its two alerts commit together.
            db.exec(match backend {
                Backend::Sqlite => "DROP TRIGGER outbox_fails",
                Backend::Postgres => "DROP TRIGGER outbox_fails ON outbox",
            });
            s.apply(key(pay("CAFE0001", 600), "e")).await.unwrap();
            assert_eq!(db.balance("CAFE0001"), 300);
            assert_eq!(db.count("outbox WHERE event = 'low_balance'"), 2);
            db.assert_invariants();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_blocked_or_declared_lost_is_told_to_its_member_by_default_by_email() {
    use ardoise_domain::ports::Action;
    use ardoise_domain::CardStatus;
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(open("CAFE0002", 1000, 0)).await.unwrap();
        // A member who never chose: the default channels (e-mail only).
        db.exec(
            "INSERT INTO members (id, first_name, email, mobile, revision, created_at, updated_at) \
             VALUES (7, 'Ana', 'ana@example.org', '+33612345678', 1, 0, 0); \
             UPDATE cards SET member_id = 7 WHERE id = 'CAFE0001';",
        );
        let status = |card: &str, status| {
            let mut m = open(card, 0, 0);
            m.action = Action::SetStatus { status };
            m
        };
        s.apply(status("CAFE0001", CardStatus::Lost)).await.unwrap();
        s.apply(status("CAFE0002", CardStatus::Blocked))
            .await
            .unwrap(); // no member
        let told = events(&db).await;
        assert_eq!(told.len(), 1, "{backend:?}");
        assert_eq!(
            (told[0].channel, told[0].to.as_str()),
            (Channel::Email, "ana@example.org")
        );
        assert_eq!(told[0].event, "card_lost");
        assert_eq!(
            told[0].message,
            "Card CAFE0001 was declared lost: it can no longer pay. The bar replaces it, keeping its balance."
        );
        s.apply(status("CAFE0001", CardStatus::Active))
            .await
            .unwrap();
        s.apply(status("CAFE0001", CardStatus::Blocked))
            .await
            .unwrap();
        let told = events(&db).await;
        let mut kinds: Vec<&str> = told.iter().map(|m| m.event.as_str()).collect();
        kinds.sort_unstable();
        assert_eq!(
            kinds,
            ["card_blocked", "card_lost"],
            "active again tells nothing"
        );
    }
}
