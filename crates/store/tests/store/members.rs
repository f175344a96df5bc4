//! Members, the card↔member link, and a card's life (status, end of validity, replacement)
//! on each backend, with the semantics of the in-memory reference.

use std::sync::Arc;

use ardoise_domain::account::email_key;
use ardoise_domain::ports::{
    Action, Ledger, MemberAccounts, MemberDirectory, Movement, Session, SessionHolder, SessionKind,
    SessionStore,
};
use ardoise_domain::{
    CardStatus, DomainError, LinkPurpose, MemberId, MemberLink, Money, Page, Preferences, Profile,
    TransactionKind,
};

use crate::common::*;

fn profile(last_name: &str) -> Profile {
    Profile {
        last_name: Some(last_name.into()),
        phone: Some("+33612345678".into()),
        ..Profile::default()
    }
}

fn lifecycle(card_id: &str, action: Action) -> Movement {
    Movement {
        card: card(card_id),
        author: "barman".into(),
        at: at(0),
        action,
        idempotency: None,
        credit: None,
        service: None,
    }
}

fn replace(old: &str, new: &str) -> Movement {
    lifecycle(
        old,
        Action::Replace {
            new_card: card(new),
        },
    )
}

fn status(card_id: &str, status: CardStatus) -> Movement {
    lifecycle(card_id, Action::SetStatus { status })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_round_trip_page_and_edit_only_over_their_revision() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let a = s.add_member(profile("Durand"), at(1)).await.unwrap();
        let b = s.add_member(profile("Martin"), at(2)).await.unwrap();
        assert_eq!(a.revision, 1);
        assert_eq!(a.created_at, at(1));
        assert!(b.id > a.id);
        assert_eq!(s.member(a.id).await.unwrap().unwrap(), a);
        assert_eq!(s.member(MemberId(9999)).await.unwrap(), None);

        let page = s
            .member_page(Page::new(Some(1), Some(1)).unwrap())
            .await
            .unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.items, vec![a.clone()]);
        let page = s
            .member_page(Page::new(Some(2), Some(1)).unwrap())
            .await
            .unwrap();
        assert_eq!(page.items, vec![b.clone()]);

        let mut edited = a.profile.clone();
        edited.phone = None;
        edited.email = Some("durand@example.org".into());
        assert!(s
            .update_member(a.id, 1, edited.clone(), at(3))
            .await
            .unwrap());
        // The same revision again: another edit came first, nothing is written.
        assert!(!s
            .update_member(a.id, 1, profile("Lost"), at(4))
            .await
            .unwrap());
        assert!(!s
            .update_member(MemberId(9999), 1, profile("X"), at(4))
            .await
            .unwrap());
        let now = s.member(a.id).await.unwrap().unwrap();
        assert_eq!(now.profile, edited);
        assert_eq!(now.revision, 2);
        assert_eq!(now.updated_at, at(3));
        assert_eq!(now.created_at, at(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_belongs_to_at_most_one_member() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let a = s.add_member(profile("Durand"), at(1)).await.unwrap().id;
        let b = s.add_member(profile("Martin"), at(1)).await.unwrap().id;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(open("CAFE0002", 500, 0)).await.unwrap();

        s.link_card(a, &card("CAFE0001")).await.unwrap();
        s.link_card(a, &card("CAFE0001")).await.unwrap(); // again: fine
        s.link_card(a, &card("CAFE0002")).await.unwrap();
        assert_eq!(
            s.link_card(b, &card("CAFE0001")).await,
            Err(DomainError::CardLinkedToOther)
        );
        assert_eq!(
            s.link_card(MemberId(9999), &card("CAFE0001")).await,
            Err(DomainError::UnknownMember)
        );
        assert_eq!(
            s.link_card(a, &card("CAFE0404")).await,
            Err(DomainError::UnknownCard)
        );
        let c = s.card(&card("CAFE0001")).await.unwrap().unwrap();
        assert_eq!(c.member, Some(a));

        let page = s.member_card_page(a, Page::default()).await.unwrap();
        assert_eq!(page.total, 2);
        let ids: Vec<_> = page.items.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(ids, ["CAFE0001", "CAFE0002"]);
        assert_eq!(
            s.member_card_page(b, Page::default()).await.unwrap().total,
            0
        );
        assert_eq!(
            s.member_card_page(MemberId(9999), Page::default()).await,
            Err(DomainError::UnknownMember)
        );

        assert_eq!(
            s.unlink_card(b, &card("CAFE0001")).await,
            Err(DomainError::CardNotLinked)
        );
        assert_eq!(
            s.unlink_card(MemberId(9999), &card("CAFE0001")).await,
            Err(DomainError::UnknownMember)
        );
        assert_eq!(
            s.unlink_card(a, &card("CAFE0404")).await,
            Err(DomainError::UnknownCard)
        );
        s.unlink_card(a, &card("CAFE0001")).await.unwrap();
        s.link_card(b, &card("CAFE0001")).await.unwrap();
        assert_eq!(
            s.member_card_page(a, Page::default()).await.unwrap().total,
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_validity_guard_payments_and_top_ups() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.apply(open("CAFE0001", 1000, 0)).await.unwrap();
        s.apply(status("CAFE0001", CardStatus::Blocked))
            .await
            .unwrap();
        assert!(matches!(
            s.apply(pay("CAFE0001", 100)).await,
            Err(DomainError::CardNotUsable(_))
        ));
        assert!(matches!(
            s.apply(top_up("CAFE0001", 100)).await,
            Err(DomainError::CardNotUsable(_))
        ));
        s.apply(status("CAFE0001", CardStatus::Lost)).await.unwrap();
        assert_eq!(
            s.card(&card("CAFE0001")).await.unwrap().unwrap().status,
            CardStatus::Lost
        );
        s.apply(status("CAFE0001", CardStatus::Active))
            .await
            .unwrap();
        s.apply(pay("CAFE0001", 100)).await.unwrap();

        // Expired one second before the movement's time.
        let until = lifecycle(
            "CAFE0001",
            Action::SetValidUntil {
                until: Some(at(-1)),
            },
        );
        s.apply(until).await.unwrap();
        assert_eq!(
            s.card(&card("CAFE0001"))
                .await
                .unwrap()
                .unwrap()
                .valid_until,
            Some(at(-1))
        );
        assert!(matches!(
            s.apply(pay("CAFE0001", 100)).await,
            Err(DomainError::CardNotUsable(_))
        ));
        s.apply(lifecycle("CAFE0001", Action::SetValidUntil { until: None }))
            .await
            .unwrap();
        s.apply(pay("CAFE0001", 100)).await.unwrap();
        assert_eq!(
            s.apply(status("CAFE0404", CardStatus::Blocked)).await,
            Err(DomainError::UnknownCard)
        );
        assert_eq!(db.balance("CAFE0001"), 800);
        db.assert_invariants();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_moves_the_balance_and_settings_and_retires_the_old_card() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let m = s.add_member(profile("Durand"), at(1)).await.unwrap().id;
        s.apply(open("CAFE0001", 1000, 5000)).await.unwrap();
        s.apply(pay("CAFE0001", 1500)).await.unwrap(); // -5.00, in overdraft
        s.link_card(m, &card("CAFE0001")).await.unwrap();
        s.apply(status("CAFE0001", CardStatus::Lost)).await.unwrap();

        let r = s.apply(replace("CAFE0001", "BEEF0002")).await.unwrap();
        assert_eq!(r.card, card("BEEF0002"));
        assert_eq!(
            (r.balance_before, r.balance_after, r.amount),
            (cents(0), cents(-500), cents(-500))
        );

        let old = s.card(&card("CAFE0001")).await.unwrap().unwrap();
        let new = s.card(&card("BEEF0002")).await.unwrap().unwrap();
        assert_eq!(old.balance, cents(0));
        assert_eq!(old.status, CardStatus::Lost, "a lost card stays lost");
        assert_eq!(old.replaced_by, Some(card("BEEF0002")));
        assert_eq!(old.member, Some(m), "kept for the history");
        assert_eq!(new.balance, cents(-500));
        assert_eq!(new.status, CardStatus::Active);
        assert_eq!(new.overdraft_limit, cents(5000));
        assert_eq!(new.member, Some(m));
        assert_eq!(new.replaced_by, None);

        // Both halves appear in the cards' histories.
        let out = s.card_transactions(&card("CAFE0001")).await.unwrap();
        let last = out.last().unwrap();
        assert_eq!(
            (last.kind, last.amount),
            (TransactionKind::TransferOut, cents(-500))
        );
        let incoming = s.card_transactions(&card("BEEF0002")).await.unwrap();
        assert_eq!(incoming.len(), 1);
        assert_eq!(incoming[0].kind, TransactionKind::TransferIn);
        assert_eq!(incoming[0].id, r.transaction);

        // The old card can no longer change; the new one works.
        assert_eq!(
            s.apply(replace("CAFE0001", "BEEF0003")).await,
            Err(DomainError::CardReplaced("BEEF0002".into()))
        );
        assert_eq!(
            s.apply(status("CAFE0001", CardStatus::Active)).await,
            Err(DomainError::CardReplaced("BEEF0002".into()))
        );
        assert_eq!(
            s.link_card(m, &card("CAFE0001")).await,
            Err(DomainError::CardReplaced("BEEF0002".into()))
        );
        let first = out.first().unwrap().id;
        assert_eq!(
            s.apply(flip("CAFE0001", first, false, 1000)).await,
            Err(DomainError::CardReplaced("BEEF0002".into()))
        );
        s.apply(top_up("BEEF0002", 700)).await.unwrap();
        assert_eq!(db.balance("BEEF0002"), 200);
        assert_eq!(
            s.member_card_page(m, Page::default()).await.unwrap().total,
            2
        );

        // Onto an existing card, or an unknown one: refused, nothing changed.
        s.apply(open("CAFE0009", 300, 0)).await.unwrap();
        assert_eq!(
            s.apply(replace("BEEF0002", "CAFE0009")).await,
            Err(DomainError::CardExists)
        );
        assert_eq!(
            s.apply(replace("CAFE0404", "CAFE0405")).await,
            Err(DomainError::UnknownCard)
        );
        assert_eq!(db.balance("BEEF0002"), 200);
        assert_eq!(db.balance("CAFE0009"), 300);
        // An active card is blocked by its replacement.
        s.apply(replace("CAFE0009", "CAFE0010")).await.unwrap();
        let old = s.card(&card("CAFE0009")).await.unwrap().unwrap();
        assert_eq!(old.status, CardStatus::Blocked);
        assert_eq!(db.balance("CAFE0010"), 300);
        db.assert_invariants();
    }
}

/// Payments on a card while it is replaced, through the batching writer: no cent is lost or
/// created — the old card ends at zero and the new one holds the opening minus exactly the
/// accepted payments; the payments keep coming until each payer sees the card refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replacing_during_payments_loses_and_creates_nothing() {
    const OPENING: i64 = 10_000_000;
    for backend in backends() {
        let db = TestDb::new(backend);
        let store = Arc::new(db.store.clone());
        store.apply(open("CAFE0001", OPENING, 0)).await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..8_i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut accepted = 0;
                for i in 0..100_000_i64 {
                    let amount = 10 + (t * 7 + i) % 50;
                    match store.apply(pay("CAFE0001", amount)).await {
                        Ok(_) => accepted += amount,
                        Err(DomainError::CardReplaced(_)) => return (accepted, true),
                        Err(other) => panic!("unexpected refusal: {other:?}"),
                    }
                }
                (accepted, false)
            }));
        }
        // Replace once payments are flowing.
        while store
            .card(&card("CAFE0001"))
            .await
            .unwrap()
            .unwrap()
            .balance
            .cents()
            > OPENING - 5_000
        {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let r = store.apply(replace("CAFE0001", "BEEF0002")).await.unwrap();
        let mut accepted = 0;
        for t in tasks {
            let (sum, stopped) = t.await.unwrap();
            assert!(stopped, "a payer never saw the replacement");
            accepted += sum;
        }
        assert!(accepted >= 5_000);
        assert_eq!(db.balance("CAFE0001"), 0);
        assert_eq!(db.balance("BEEF0002"), OPENING - accepted);
        assert_eq!(r.amount.cents(), OPENING - accepted);
        db.assert_invariants();
    }
}

fn with_email(last_name: &str, email: &str) -> Profile {
    Profile {
        email: Some(email.into()),
        ..profile(last_name)
    }
}

fn link(hash: &str, member: MemberId, purpose: LinkPurpose, expires: i64) -> MemberLink {
    MemberLink {
        token_hash: hash.into(),
        member,
        purpose,
        created_at: at(0),
        expires_at: at(expires),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_emails_are_unique_whatever_their_case() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let zoe = s
            .add_member(with_email("Durand", "Zoe@example.org"), at(0))
            .await
            .unwrap();
        assert_eq!(
            s.add_member(with_email("Other", "zoe@EXAMPLE.org"), at(0))
                .await,
            Err(DomainError::EmailTaken)
        );
        let other = s.add_member(profile("Other"), at(0)).await.unwrap();
        assert_eq!(
            s.update_member(other.id, 1, with_email("Other", "ZOE@example.org"), at(1))
                .await,
            Err(DomainError::EmailTaken)
        );
        // Members without an address are many; the owner may change the case of theirs.
        s.add_member(profile("Third"), at(0)).await.unwrap();
        assert_eq!(
            s.update_member(zoe.id, 1, with_email("Durand", "zoe@example.org"), at(1))
                .await,
            Ok(true)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_used_once_before_they_expire_and_end_the_members_sessions() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let zoe = s
            .add_member(with_email("Durand", "zoe@example.org"), at(0))
            .await
            .unwrap();
        assert_eq!(
            s.account_by_email(&email_key("zoe@example.org")).await,
            Ok(None)
        );
        assert_eq!(
            s.add_link(link("l0", MemberId(999), LinkPurpose::Welcome, 100))
                .await,
            Err(DomainError::UnknownMember)
        );
        s.add_link(link("l1", zoe.id, LinkPurpose::Welcome, 100))
            .await
            .unwrap();
        // A newer invitation replaces the unused older one.
        s.add_link(link("l2", zoe.id, LinkPurpose::Welcome, 100))
            .await
            .unwrap();
        assert_eq!(s.use_link("l1", "h1".into(), at(10)).await, Ok(None));
        s.create(Session {
            token_hash: "s1".into(),
            holder: SessionHolder::Member(zoe.id),
            created_at: at(0),
            last_seen: at(0),
        })
        .await
        .unwrap();
        assert_eq!(
            s.use_link("l2", "h2".into(), at(10)).await,
            Ok(Some(zoe.id))
        );
        assert_eq!(
            s.find("s1").await,
            Ok(None),
            "a new password ends the sessions"
        );
        assert_eq!(
            s.use_link("l2", "h3".into(), at(11)).await,
            Ok(None),
            "used"
        );
        let account = s
            .account_by_email(&email_key("ZOE@example.org"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (account.member, account.password_hash.as_str()),
            (zoe.id, "h2")
        );
        // Expired at 100.
        s.add_link(link("l3", zoe.id, LinkPurpose::Reset, 100))
            .await
            .unwrap();
        assert_eq!(s.use_link("l3", "h4".into(), at(100)).await, Ok(None));
        assert_eq!(s.use_link("nope", "h4".into(), at(1)).await, Ok(None));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_sessions_by_kind_and_anonymisation() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let zoe = s
            .add_member(with_email("Durand", "zoe@example.org"), at(0))
            .await
            .unwrap();
        assert_eq!(s.preferences(zoe.id).await, Ok(None));
        let mut prefs = Preferences::default();
        prefs.channels.sms = true;
        prefs.low_balance = Some(Money::from_cents(500));
        prefs.advertisements = true;
        s.set_preferences(zoe.id, prefs, at(1)).await.unwrap();
        assert_eq!(s.preferences(zoe.id).await, Ok(Some(prefs)));
        prefs.low_balance = None;
        s.set_preferences(zoe.id, prefs, at(2)).await.unwrap();
        assert_eq!(s.preferences(zoe.id).await, Ok(Some(prefs)));
        assert_eq!(
            s.set_preferences(MemberId(999), prefs, at(2)).await,
            Err(DomainError::UnknownMember)
        );

        s.add_link(link("l1", zoe.id, LinkPurpose::Welcome, 100))
            .await
            .unwrap();
        s.use_link("l1", "h".into(), at(1)).await.unwrap();
        s.create(Session {
            token_hash: "m1".into(),
            holder: SessionHolder::Member(zoe.id),
            created_at: at(0),
            last_seen: at(0),
        })
        .await
        .unwrap();
        // Purging staff sessions leaves members' alone.
        assert_eq!(s.purge(SessionKind::Staff, at(10)).await, Ok(0));
        assert!(s.find("m1").await.unwrap().is_some());

        s.apply(open("04A1B2C3", 1000, 0)).await.unwrap();
        s.link_card(zoe.id, &card("04A1B2C3")).await.unwrap();
        let anonymous = Profile {
            display_name: Some("deleted member".into()),
            ..Profile::default()
        };
        s.anonymise(zoe.id, anonymous.clone(), at(5)).await.unwrap();
        let after = s.member(zoe.id).await.unwrap().unwrap();
        assert_eq!(after.profile, anonymous);
        assert_eq!(s.find("m1").await, Ok(None));
        assert_eq!(s.preferences(zoe.id).await, Ok(None));
        assert_eq!(
            s.account_by_email(&email_key("zoe@example.org")).await,
            Ok(None)
        );
        // The card and its money stay.
        let kept = s.card(&card("04A1B2C3")).await.unwrap().unwrap();
        assert_eq!(
            (kept.balance, kept.member),
            (Money::from_cents(1000), Some(zoe.id))
        );
        db.assert_invariants();
        assert_eq!(
            s.anonymise(MemberId(999), anonymous, at(5)).await,
            Err(DomainError::UnknownMember)
        );
    }
}
