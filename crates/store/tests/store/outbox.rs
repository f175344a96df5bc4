//! The outbox: queueing (idempotent per sender), claims with a lease that several processes
//! share without overlap, guarded outcomes, figures; the partners' webhooks.

use std::collections::HashSet;
use std::sync::Arc;

use ardoise_domain::notify::Channel;
use ardoise_domain::outbox::{NewMessage, Origin, Outbox, Outcome, Status, Webhook, WebhookStore};
use ardoise_domain::ports::{Partner, PartnerDirectory};
use ardoise_domain::{DomainError, Money, Page};
use ardoise_store::Store;
use chrono::Duration;

use crate::common::*;

fn partner(id: &str) -> Partner {
    Partner {
        client_id: id.into(),
        name: format!("partner {id}"),
        secret_hash: "ab".repeat(32),
        scopes: vec!["notifications:send".into()],
        allow_basic: false,
        active: true,
        credit_cap_operation: Money::from_cents(50_000),
        credit_cap_day: Money::from_cents(500_000),
        created_at: at(0),
    }
}

fn message(origin: Origin, to: &str) -> NewMessage {
    NewMessage {
        channel: Channel::Email,
        to: to.into(),
        event: "notification".into(),
        title: "Hello".into(),
        message: "Your card is ready.".into(),
        link: Some("https://example.org/x".into()),
        picture: None,
        origin,
        member: None,
        webhook_partner: None,
        skip: None,
        idempotency: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_queued_claimed_once_and_its_outcome_recorded_by_its_attempt_only() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let q = s
            .queue(
                message(Origin::Staff("alice".into()), "a@example.org"),
                at(10),
            )
            .await
            .unwrap();
        assert!(!q.replayed);
        let m = q.message;
        assert!(m.id.starts_with("msg_") && m.id.len() == 36, "{}", m.id);
        assert_eq!(m.status, Status::Queued);
        assert_eq!(m.attempts, 0);
        assert_eq!(m.created_at, at(10));

        // Not due before its time; due at it.
        assert!(s
            .claim(at(9), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty());
        let claimed = s.claim(at(10), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "{backend:?}");
        let d = &claimed[0].delivery;
        assert_eq!((d.id.as_str(), d.attempt), (m.id.as_str(), 1));
        assert_eq!(d.to, "a@example.org");
        assert_eq!(d.link.as_deref(), Some("https://example.org/x"));
        assert_eq!(claimed[0].origin, Origin::Staff("alice".into()));
        assert_eq!(
            s.message(&m.id).await.unwrap().unwrap().status,
            Status::Sending
        );
        // Held by its lease: nobody else claims it meanwhile.
        assert!(s
            .claim(at(39), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty());

        // The attempt fails: queued again for later, the error kept.
        let retry = Outcome::Retry {
            at: at(60),
            error: "503 Service Unavailable".into(),
        };
        assert!(s.record(&m.id, 1, retry.clone(), at(12)).await.unwrap());
        // A second answer of the same attempt changes nothing.
        assert!(!s.record(&m.id, 1, Outcome::Sent, at(12)).await.unwrap());
        let now = s.message(&m.id).await.unwrap().unwrap();
        assert_eq!(now.status, Status::Queued);
        assert_eq!(now.last_error.as_deref(), Some("503 Service Unavailable"));
        assert!(s
            .claim(at(59), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty());

        let again = s.claim(at(60), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(again[0].delivery.attempt, 2);
        assert!(s.record(&m.id, 2, Outcome::Sent, at(61)).await.unwrap());
        let sent = s.message(&m.id).await.unwrap().unwrap();
        assert_eq!(
            (sent.status, sent.attempts, sent.sent_at),
            (Status::Sent, 2, Some(at(61)))
        );
        assert!(s
            .claim(at(10_000), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_left_sending_by_a_dead_process_is_claimed_again_after_its_lease() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let id = s
            .queue(message(Origin::Ardoise, "a@example.org"), at(0))
            .await
            .unwrap()
            .message
            .id;
        let first = s.claim(at(0), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(first.len(), 1);
        // The process dies: no outcome. After the lease, the message is due again.
        assert!(s
            .claim(at(29), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty());
        let second = s.claim(at(30), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(second.len(), 1, "{backend:?}");
        assert_eq!(second[0].delivery.id, id);
        assert_eq!(second[0].delivery.attempt, 2);
        // The dead attempt's late answer is ignored; the live one's counts.
        assert!(!s.record(&id, 1, Outcome::Sent, at(31)).await.unwrap());
        let failed = Outcome::Failed {
            error: "550 no such user".into(),
        };
        assert!(s.record(&id, 2, failed, at(31)).await.unwrap());
        let m = s.message(&id).await.unwrap().unwrap();
        assert_eq!(m.status, Status::Failed);
        assert_eq!(m.last_error.as_deref(), Some("550 no such user"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postponed_attempt_is_not_counted() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let id = s
            .queue(message(Origin::Partner("p".into()), "a@example.org"), at(0))
            .await
            .unwrap()
            .message
            .id;
        s.claim(at(0), Duration::seconds(30), 1).await.unwrap();
        assert!(s
            .record(&id, 1, Outcome::Postponed { at: at(20) }, at(0))
            .await
            .unwrap());
        let m = s.message(&id).await.unwrap().unwrap();
        assert_eq!((m.status, m.attempts), (Status::Queued, 0));
        assert_eq!(m.next_attempt_at, at(20));
        assert_eq!(
            s.claim(at(20), Duration::seconds(30), 1).await.unwrap()[0]
                .delivery
                .attempt,
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_queues_once_per_sender() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let keyed = |origin: Origin, hash: &str| NewMessage {
            idempotency: Some(("k1".into(), hash.into())),
            ..message(origin, "a@example.org")
        };
        let first = s
            .queue(keyed(Origin::Partner("p".into()), "h"), at(0))
            .await
            .unwrap();
        let again = s
            .queue(keyed(Origin::Partner("p".into()), "h"), at(5))
            .await
            .unwrap();
        assert!(again.replayed);
        assert_eq!(again.message, first.message);
        assert_eq!(
            s.queue(keyed(Origin::Partner("p".into()), "other"), at(5))
                .await,
            Err(DomainError::IdempotencyKeyReused)
        );
        // Another sender's key is another key.
        let other = s
            .queue(keyed(Origin::Partner("q".into()), "h"), at(5))
            .await
            .unwrap();
        assert!(!other.replayed);
        assert_ne!(other.message.id, first.message.id);
        assert_eq!(db.count("outbox"), 2);

        // Concurrent identical requests: one message.
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.queue(keyed(Origin::Staff("bob".into()), "h"), at(9))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap().message.id);
        }
        assert_eq!(ids.len(), 1, "{backend:?}");
        assert_eq!(db.count("outbox"), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_messages_are_never_claimed_and_the_figures_count_each_status() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let skipped = NewMessage {
            skip: Some("no_consent".into()),
            ..message(Origin::Partner("p".into()), "a@example.org")
        };
        let m = s.queue(skipped, at(0)).await.unwrap().message;
        assert_eq!(m.status, Status::Skipped);
        assert_eq!(m.last_error.as_deref(), Some("no_consent"));
        s.queue(message(Origin::Ardoise, "b@example.org"), at(100))
            .await
            .unwrap();
        s.queue(message(Origin::Ardoise, "c@example.org"), at(200))
            .await
            .unwrap();
        let f = s.figures().await.unwrap();
        assert_eq!((f.queued, f.sent, f.failed, f.skipped), (2, 0, 0, 1));
        assert_eq!(f.oldest_queued_at, Some(at(100)));
        let claimed = s.claim(at(1_000), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(claimed.len(), 2);
        // `sending` still waits.
        assert_eq!(s.figures().await.unwrap().queued, 2);
        let first = claimed
            .iter()
            .find(|c| c.delivery.to == "b@example.org")
            .unwrap();
        s.record(&first.delivery.id, 1, Outcome::Sent, at(1_001))
            .await
            .unwrap();
        let f = s.figures().await.unwrap();
        assert_eq!((f.queued, f.sent), (1, 1));
        assert_eq!(f.oldest_queued_at, Some(at(200)));

        // Listed per sender, newest first, paged.
        let page = s
            .messages_of(&Origin::Ardoise, Page::new(Some(1), Some(1)).unwrap())
            .await
            .unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.items[0].to, "c@example.org");
        let none = s
            .messages_of(&Origin::Partner("q".into()), Page::default())
            .await
            .unwrap();
        assert_eq!(none.total, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_share_a_message() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let batch: Vec<_> = (0..200)
            .map(|i| message(Origin::Ardoise, &format!("m{i}@example.org")))
            .collect();
        for m in batch {
            db.store.queue(m, at(0)).await.unwrap();
        }
        // Two stores: two processes, each with its own pool.
        let other = Arc::new(Store::connect(&db.settings).unwrap());
        let stores = [Arc::new(db.store.clone()), other];
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let s = stores[i % 2].clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let got = s.claim(at(1), Duration::seconds(300), 7).await.unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        mine.extend(got.into_iter().map(|c| c.delivery.id));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 200, "{backend:?}: every message claimed once");
        assert_eq!(distinct.len(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_message_goes_to_its_partners_current_registration() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let hook = |url: &str, secret: &str| Webhook {
            partner: "p1".into(),
            url: url.into(),
            secret: secret.into(),
            created_at: at(0),
        };
        assert_eq!(
            s.set_webhook(hook("https://a.example/h", "whsec_AAAA"))
                .await,
            Err(DomainError::UnknownPartner)
        );
        s.add_partner(partner("p1")).await.unwrap();
        s.set_webhook(hook("https://a.example/h", "whsec_AAAA"))
            .await
            .unwrap();
        let to_hook = NewMessage {
            channel: Channel::Webhook,
            webhook_partner: Some("p1".into()),
            ..message(Origin::Partner("p1".into()), "https://a.example/h")
        };
        s.queue(to_hook.clone(), at(0)).await.unwrap();
        // Replaced before the attempt: the attempt uses the new URL and secret.
        s.set_webhook(hook("https://b.example/h", "whsec_BBBB"))
            .await
            .unwrap();
        assert_eq!(
            s.webhook("p1").await.unwrap().unwrap().url,
            "https://b.example/h"
        );
        let c = s.claim(at(0), Duration::seconds(30), 5).await.unwrap();
        assert_eq!(c[0].delivery.to, "https://b.example/h");
        assert_eq!(c[0].delivery.secret.as_deref(), Some("whsec_BBBB"));
        // An unknown webhook partner is refused, nothing queued.
        let stray = NewMessage {
            webhook_partner: Some("nobody".into()),
            ..to_hook
        };
        assert_eq!(
            s.queue(stray, at(0)).await,
            Err(DomainError::UnknownPartner)
        );
        assert_eq!(db.count("outbox"), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_member_is_not_sent_pending_messages_and_their_address_is_forgotten() {
    use ardoise_domain::ports::{MemberAccounts, MemberDirectory};
    use ardoise_domain::Profile;
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let profile = Profile {
            last_name: Some("Roux".into()),
            email: Some("max@example.org".into()),
            ..Profile::default()
        };
        let member = s.add_member(profile, at(0)).await.unwrap().id;
        let theirs = |to: &str| NewMessage {
            member: Some(member),
            ..message(Origin::Ardoise, to)
        };
        let sent = s
            .queue(theirs("max@example.org"), at(0))
            .await
            .unwrap()
            .message
            .id;
        s.claim(at(0), Duration::seconds(30), 1).await.unwrap();
        s.record(&sent, 1, Outcome::Sent, at(1)).await.unwrap();
        let pending = s
            .queue(theirs("max@example.org"), at(2))
            .await
            .unwrap()
            .message
            .id;
        let other = s
            .queue(message(Origin::Ardoise, "b@example.org"), at(2))
            .await
            .unwrap()
            .message
            .id;

        let anonymous = Profile {
            display_name: Some("deleted".into()),
            ..Profile::default()
        };
        s.anonymise(member, anonymous, at(3)).await.unwrap();
        let m = s.message(&pending).await.unwrap().unwrap();
        assert_eq!(
            (m.status, m.last_error.as_deref(), m.to.as_str()),
            (Status::Skipped, Some("member_deleted"), "")
        );
        let m = s.message(&sent).await.unwrap().unwrap();
        assert_eq!((m.status, m.to.as_str()), (Status::Sent, ""), "{backend:?}");
        assert_eq!(
            s.message(&other).await.unwrap().unwrap().to,
            "b@example.org"
        );
        let due = s.claim(at(10), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].delivery.id, other);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_is_blanked_when_its_message_is_done_with() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let secret = |event: &str, to: &str| NewMessage {
            event: event.into(),
            link: Some(format!("https://bar.example/member/link?token=SECRET-{to}")),
            ..message(Origin::Ardoise, to)
        };
        let mut ids = Vec::new();
        for (event, to) in [
            ("invitation", "sent@example.org"),
            ("password_reset", "failed@example.org"),
            ("invitation", "skipped@example.org"),
            ("password_reset", "retried@example.org"),
            ("notification", "plain@example.org"),
        ] {
            ids.push(s.queue(secret(event, to), at(0)).await.unwrap().message.id);
        }
        let never = NewMessage {
            skip: Some("no_address".into()),
            ..secret("invitation", "never@example.org")
        };
        let never = s.queue(never, at(0)).await.unwrap().message;
        assert_eq!(never.status, Status::Skipped);
        assert_eq!(
            never.link, None,
            "{backend:?}: a skipped invitation keeps no link"
        );

        let claimed = s.claim(at(0), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(claimed.len(), 5, "{backend:?}");
        assert!(claimed.iter().all(|c| c
            .delivery
            .link
            .as_deref()
            .is_some_and(|l| l.contains("SECRET"))));
        let outcomes = [
            Outcome::Sent,
            Outcome::Failed {
                error: "550 no such mailbox".into(),
            },
            Outcome::Skipped {
                reason: "channel_not_configured".into(),
            },
            Outcome::Retry {
                at: at(60),
                error: "421 try later".into(),
            },
            Outcome::Sent,
        ];
        for (id, outcome) in ids.iter().zip(outcomes) {
            assert!(s.record(id, 1, outcome, at(1)).await.unwrap());
        }
        let row = |i: usize| {
            let id = ids[i].clone();
            async move { s.message(&id).await.unwrap().unwrap() }
        };
        for (i, status) in [(0, Status::Sent), (1, Status::Failed), (2, Status::Skipped)] {
            let m = row(i).await;
            assert_eq!(m.status, status, "{backend:?}");
            assert_eq!(m.link, None, "{backend:?}: {status:?} {}", m.event);
        }
        assert_eq!(
            row(2).await.last_error.as_deref(),
            Some("channel_not_configured")
        );
        // Still to be delivered: the link stays until the message is done with.
        let retried = row(3).await;
        assert_eq!(retried.status, Status::Queued);
        assert!(retried.link.is_some_and(|l| l.contains("SECRET")));
        let again = s.claim(at(60), Duration::seconds(30), 10).await.unwrap();
        assert_eq!(again.len(), 1, "{backend:?}");
        assert!(again[0].delivery.link.is_some());
        assert!(s.record(&ids[3], 2, Outcome::Sent, at(61)).await.unwrap());
        assert_eq!(row(3).await.link, None, "{backend:?}");
        // A link that is no secret is kept.
        assert_eq!(
            row(4).await.link.as_deref(),
            Some("https://bar.example/member/link?token=SECRET-plain@example.org")
        );
    }
}

/// The writer applies every outbox write waiting in one transaction: messages queued, claims
/// and outcomes from many tasks at once. Each keeps its own answer: a refused message (an
/// unknown member) does not undo its batch mates, a key used twice queues once, every message
/// is claimed once, and only the attempt holding a message records its outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_writes_at_once_share_transactions_and_keep_their_own_answers() {
    use ardoise_domain::ports::MemberDirectory;
    use ardoise_domain::{MemberId, Profile};
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let profile = Profile {
            last_name: Some("Roux".into()),
            ..Profile::default()
        };
        let member = s.add_member(profile, at(0)).await.unwrap().id;
        let to = |member: MemberId, i: usize| NewMessage {
            member: Some(member),
            ..message(Origin::Ardoise, &format!("m{i}@example.org"))
        };
        let keyed = || NewMessage {
            idempotency: Some(("k1".into(), "h".into())),
            ..message(Origin::Partner("p".into()), "k@example.org")
        };
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let s = s.clone();
                let m = match i % 8 {
                    0 => to(MemberId(member.0 + 1_000), i),
                    1 => keyed(),
                    _ => to(member, i),
                };
                tokio::spawn(async move { (i % 8, s.queue(m, at(1)).await) })
            })
            .collect();
        let mut queued = HashSet::new();
        let mut keyed_ids = HashSet::new();
        for t in tasks {
            match t.await.unwrap() {
                (0, answer) => assert_eq!(
                    answer.map(|q| q.message.id),
                    Err(DomainError::UnknownMember),
                    "{backend:?}"
                ),
                (1, answer) => {
                    keyed_ids.insert(answer.unwrap().message.id);
                }
                (_, answer) => {
                    let q = answer.unwrap();
                    assert!(!q.replayed);
                    assert_eq!(q.message.status, Status::Queued);
                    queued.insert(q.message.id);
                }
            }
        }
        assert_eq!(queued.len(), 48, "{backend:?}");
        assert_eq!(keyed_ids.len(), 1, "{backend:?}: one message per key");
        queued.extend(keyed_ids);
        assert_eq!(db.count("outbox"), 49, "{backend:?}");

        // Claims at once: each message once.
        let claimers: Vec<_> = (0..6)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let got = s.claim(at(2), Duration::seconds(30), 5).await.unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        mine.extend(got);
                    }
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for t in claimers {
            claimed.extend(t.await.unwrap());
        }
        let distinct: HashSet<_> = claimed.iter().map(|c| c.delivery.id.clone()).collect();
        assert_eq!(claimed.len(), 49, "{backend:?}");
        assert_eq!(distinct, queued);

        // Outcomes at once, each with a late answer of an attempt that does not hold its
        // message, and a message queued meanwhile.
        let mut recorders = Vec::new();
        for (i, c) in claimed.iter().enumerate() {
            let (id, attempt) = (c.delivery.id.clone(), c.delivery.attempt);
            let outcome = if i % 2 == 0 {
                Outcome::Sent
            } else {
                Outcome::Retry {
                    at: at(100),
                    error: "503".into(),
                }
            };
            let s1 = s.clone();
            let stale = id.clone();
            recorders.push(tokio::spawn(async move {
                s1.record(&stale, attempt + 1, Outcome::Sent, at(3)).await
            }));
            let s2 = s.clone();
            recorders.push(tokio::spawn(async move {
                s2.record(&id, attempt, outcome, at(3)).await
            }));
        }
        let late = s.clone();
        let meanwhile = tokio::spawn(async move { late.queue(to(member, 99), at(3)).await });
        for (i, t) in recorders.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), Ok(i % 2 == 1), "{backend:?}: answer {i}");
        }
        meanwhile.await.unwrap().unwrap();
        for (i, c) in claimed.iter().enumerate() {
            let m = s.message(&c.delivery.id).await.unwrap().unwrap();
            let expected = if i % 2 == 0 {
                Status::Sent
            } else {
                Status::Queued
            };
            assert_eq!(m.status, expected, "{backend:?}");
            assert_eq!(m.attempts, 1);
        }
        assert_eq!(db.count("outbox WHERE status = 'sent'"), 25, "{backend:?}");
        assert_eq!(
            db.count("outbox WHERE status = 'queued'"),
            25,
            "{backend:?}"
        );
    }
}
