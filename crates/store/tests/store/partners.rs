use std::sync::Arc;

use ardoise_domain::ports::{
    AccessToken, AccessTokenStore, Partner, PartnerDirectory, StaffDirectory, StaffUser, TokenOwner,
};
use ardoise_domain::{DomainError, Login, Money, Rights};

use crate::common::*;

fn partner(id: &str) -> Partner {
    Partner {
        client_id: id.into(),
        name: format!("partner {id}"),
        secret_hash: "ab".repeat(32),
        scopes: vec!["cards:read".into(), "cards:credit".into()],
        allow_basic: false,
        active: true,
        credit_cap_operation: Money::from_cents(50_000),
        credit_cap_day: Money::from_cents(500_000),
        created_at: at(0),
    }
}

fn token(hash: &str, owner: &str, rpt: Option<u32>) -> AccessToken {
    AccessToken {
        token_hash: hash.into(),
        owner: TokenOwner::Partner(owner.into()),
        scopes: vec!["cards:read".into()],
        issued_at: at(0),
        expires_at: at(3600),
        rpt_left: rpt,
        revoked: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_round_trip_and_disabling_or_rotating_revokes_their_tokens() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.add_partner(partner("p1")).await.unwrap();
        assert!(matches!(
            s.add_partner(partner("p1")).await,
            Err(DomainError::Malformed(_))
        ));
        s.add_partner(partner("p2")).await.unwrap();
        assert_eq!(s.partner("p1").await.unwrap(), Some(partner("p1")));
        assert_eq!(s.partner("nobody").await.unwrap(), None);
        assert_eq!(s.partners().await.unwrap().len(), 2);

        s.insert_token(token("h1", "p1", None)).await.unwrap();
        s.insert_token(token("h2", "p2", None)).await.unwrap();
        assert_eq!(s.token("h1").await.unwrap(), Some(token("h1", "p1", None)));

        assert!(s.set_partner_secret("p1", "cd".repeat(32)).await.unwrap());
        assert_eq!(
            s.partner("p1").await.unwrap().unwrap().secret_hash,
            "cd".repeat(32)
        );
        assert!(s.token("h1").await.unwrap().unwrap().revoked, "{backend:?}");
        assert!(!s.token("h2").await.unwrap().unwrap().revoked);

        assert!(s.disable_partner("p2").await.unwrap());
        assert!(!s.partner("p2").await.unwrap().unwrap().active);
        assert!(s.token("h2").await.unwrap().unwrap().revoked);
        assert!(!s.disable_partner("nobody").await.unwrap());
        assert!(!s.set_partner_secret("nobody", "x".into()).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_usable_until_expired_revoked_or_used_up() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.add_partner(partner("p")).await.unwrap();
        s.insert_token(token("time", "p", None)).await.unwrap();
        s.insert_token(token("count", "p", Some(2))).await.unwrap();

        let used = s.use_token("time", at(10)).await.unwrap().unwrap();
        assert_eq!(used.rpt_left, None);
        assert_eq!(
            s.use_token("time", at(3600)).await.unwrap(),
            None,
            "expired"
        );

        assert_eq!(
            s.use_token("count", at(1)).await.unwrap().unwrap().rpt_left,
            Some(1)
        );
        assert_eq!(
            s.use_token("count", at(2)).await.unwrap().unwrap().rpt_left,
            Some(0)
        );
        assert_eq!(s.use_token("count", at(3)).await.unwrap(), None, "used up");
        assert_eq!(s.token("count").await.unwrap().unwrap().rpt_left, Some(0));
        assert_eq!(s.use_token("unknown", at(3)).await.unwrap(), None);

        // Expiry wins over requests left (seed 003: the first limit reached ends the token).
        s.insert_token(token("race", "p", Some(1000)))
            .await
            .unwrap();
        assert_eq!(s.use_token("race", at(3600)).await.unwrap(), None);
        assert_eq!(s.token("race").await.unwrap().unwrap().rpt_left, Some(1000));

        assert!(s.revoke_token("time").await.unwrap());
        assert_eq!(s.use_token("time", at(10)).await.unwrap(), None, "revoked");
        assert!(!s.revoke_token("unknown").await.unwrap());

        // Staff-owned tokens.
        let login = Login::parse("barman").unwrap();
        s.add_user(StaffUser {
            login: login.clone(),
            rights: Rights::BarMember,
            card: None,
            password_hash: "x".into(),
            active: true,
        })
        .await
        .unwrap();
        let mut staff = token("staff", "p", None);
        staff.owner = TokenOwner::Staff(login.clone());
        staff.expires_at = at(7200);
        s.insert_token(staff.clone()).await.unwrap();
        assert_eq!(s.token("staff").await.unwrap(), Some(staff));

        assert_eq!(s.purge_tokens(at(3600)).await.unwrap(), 3);
        assert_eq!(s.token("count").await.unwrap(), None);
        assert!(s.token("staff").await.unwrap().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_a_token_with_one_request_left_let_exactly_one_through() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let store = Arc::new(db.store.clone());
        store.add_partner(partner("p")).await.unwrap();
        for round in 0..5 {
            let hash = format!("last-{round}");
            store
                .insert_token(token(&hash, "p", Some(1)))
                .await
                .unwrap();
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let store = store.clone();
                    let hash = hash.clone();
                    tokio::spawn(async move { store.use_token(&hash, at(5)).await })
                })
                .collect();
            let mut passed = 0;
            for task in tasks {
                if task.await.unwrap().unwrap().is_some() {
                    passed += 1;
                }
            }
            assert_eq!(passed, 1, "{backend:?} round {round}");
            assert_eq!(store.token(&hash).await.unwrap().unwrap().rpt_left, Some(0));
        }
        // And with more requests left: exactly that many pass.
        store
            .insert_token(token("ten", "p", Some(10)))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.use_token("ten", at(5)).await })
            })
            .collect();
        let mut passed = 0;
        for task in tasks {
            passed += usize::from(task.await.unwrap().unwrap().is_some());
        }
        assert_eq!(passed, 10, "{backend:?}");
    }
}
