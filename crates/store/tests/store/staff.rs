use ardoise_domain::ports::{
    Session, SessionHolder, SessionKind, SessionStore, StaffDirectory, StaffUser,
};
use ardoise_domain::{DomainError, Login, Rights};

use crate::common::*;

fn login(text: &str) -> Login {
    Login::parse(text).unwrap()
}

fn user(name: &str, rights: Rights, card_id: Option<&str>) -> StaffUser {
    StaffUser {
        login: login(name),
        rights,
        card: card_id.map(card),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${name}"),
        active: true,
    }
}

fn session(hash: &str, name: &str, seen: i64) -> Session {
    Session {
        token_hash: hash.into(),
        holder: SessionHolder::Staff(login(name)),
        created_at: at(0),
        last_seen: at(seen),
    }
}

fn card_taken(e: Result<(), DomainError>) -> bool {
    matches!(e, Err(DomainError::Malformed(text)) if text == "card already used by another staff user")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_accounts() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        assert!(!s.any_user().await.unwrap());
        let prez = user("prez", Rights::President, Some("04A2B3C4"));
        s.add_user(prez.clone()).await.unwrap();
        s.add_user(user("barman", Rights::BarMember, None))
            .await
            .unwrap();
        assert!(s.any_user().await.unwrap());
        assert_eq!(s.user(&login("prez")).await.unwrap(), Some(prez.clone()));
        assert_eq!(s.user(&login("nobody")).await.unwrap(), None);
        assert_eq!(
            s.user_by_card(&card("04a2b3c4")).await.unwrap(),
            Some(prez.clone())
        );

        // Duplicates.
        assert_eq!(
            s.add_user(user("prez", Rights::Honeypot, None)).await,
            Err(DomainError::UserExists)
        );
        assert!(card_taken(
            s.add_user(user("other", Rights::BarMember, Some("04A2B3C4")))
                .await
        ));
        assert!(card_taken(
            s.set_card(&login("barman"), Some(card("04A2B3C4"))).await
        ));
        // One's own card again is fine.
        s.set_card(&login("prez"), Some(card("04A2B3C4")))
            .await
            .unwrap();

        // Changes.
        s.set_password_hash(&login("barman"), "new-hash".into(), None)
            .await
            .unwrap();
        s.set_rights(&login("barman"), Rights::Association)
            .await
            .unwrap();
        s.set_card(&login("barman"), Some(card("BEEF0001")))
            .await
            .unwrap();
        let barman = s.user(&login("barman")).await.unwrap().unwrap();
        assert_eq!(barman.password_hash, "new-hash");
        assert_eq!(barman.rights, Rights::Association);
        assert_eq!(barman.card, Some(card("BEEF0001")));
        s.set_card(&login("barman"), None).await.unwrap();
        assert_eq!(s.user(&login("barman")).await.unwrap().unwrap().card, None);
        for e in [
            s.set_password_hash(&login("nobody"), "h".into(), None)
                .await,
            s.set_rights(&login("nobody"), Rights::President).await,
            s.set_card(&login("nobody"), None).await,
            s.disable(&login("nobody")).await,
        ] {
            assert_eq!(e, Err(DomainError::UnknownUser));
        }

        // Disabling keeps the account, ends its sessions, frees its card.
        s.create(session("h1", "prez", 10)).await.unwrap();
        s.create(session("h2", "prez", 10)).await.unwrap();
        s.create(session("h3", "barman", 10)).await.unwrap();
        // The last active president can be neither demoted nor disabled.
        for e in [
            s.set_rights(&login("prez"), Rights::BarMember).await,
            s.disable(&login("prez")).await,
        ] {
            assert_eq!(e, Err(DomainError::last_president()));
        }
        assert!(s.find("h1").await.unwrap().is_some());
        s.add_user(user("second", Rights::President, None))
            .await
            .unwrap();
        s.disable(&login("second")).await.unwrap();
        assert_eq!(
            s.disable(&login("prez")).await,
            Err(DomainError::last_president())
        );
        // A president left beside it: barman, promoted.
        s.set_rights(&login("barman"), Rights::President)
            .await
            .unwrap();
        s.disable(&login("prez")).await.unwrap();
        let disabled = s.user(&login("prez")).await.unwrap().unwrap();
        assert!(!disabled.active);
        assert_eq!(disabled.card, Some(card("04A2B3C4")));
        assert_eq!(s.find("h1").await.unwrap(), None);
        assert_eq!(s.find("h2").await.unwrap(), None);
        assert!(s.find("h3").await.unwrap().is_some());
        assert_eq!(s.user_by_card(&card("04A2B3C4")).await.unwrap(), None);
        let logins: Vec<_> = s
            .users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.login)
            .collect();
        assert_eq!(logins, [login("barman")]);
        assert_eq!(
            s.disable(&login("prez")).await,
            Err(DomainError::UnknownUser)
        );
        assert_eq!(
            s.set_rights(&login("prez"), Rights::President).await,
            Err(DomainError::UnknownUser)
        );
        assert_eq!(
            s.add_user(user("prez", Rights::President, None)).await,
            Err(DomainError::UserExists)
        );
        s.add_user(user("newprez", Rights::President, Some("04A2B3C4")))
            .await
            .unwrap();
        assert_eq!(
            s.user_by_card(&card("04A2B3C4"))
                .await
                .unwrap()
                .unwrap()
                .login,
            login("newprez")
        );
        assert!(s.any_user().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        s.add_user(user("barman", Rights::BarMember, None))
            .await
            .unwrap();
        let first = session("aa11", "barman", 0);
        s.create(first.clone()).await.unwrap();
        assert_eq!(s.find("aa11").await.unwrap(), Some(first.clone()));
        assert_eq!(s.find("zz99").await.unwrap(), None);
        assert!(matches!(
            s.create(first.clone()).await,
            Err(DomainError::Internal(_))
        ));

        s.touch("aa11", at(100)).await.unwrap();
        s.touch("zz99", at(100)).await.unwrap();
        assert_eq!(s.find("aa11").await.unwrap().unwrap().last_seen, at(100));

        s.create(session("bb22", "barman", 50)).await.unwrap();
        s.create(session("cc33", "barman", 200)).await.unwrap();
        // Last seen before 150: bb22 (50) and aa11 (100).
        assert_eq!(s.purge(SessionKind::Member, at(150)).await.unwrap(), 0);
        assert_eq!(s.purge(SessionKind::Staff, at(150)).await.unwrap(), 2);
        assert_eq!(s.purge(SessionKind::Staff, at(150)).await.unwrap(), 0);
        assert!(s.find("cc33").await.unwrap().is_some());
        s.delete("cc33").await.unwrap();
        s.delete("cc33").await.unwrap();
        assert_eq!(db.count("sessions"), 0);
    }
}
