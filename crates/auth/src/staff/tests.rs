use super::*;
use crate::memory::{ManualClock, MemoryStaffStore};
use crate::password::hash_password;
use crate::tokens::OsTokens;
use chrono::{TimeZone, Utc};
use std::sync::OnceLock;
use std::time::Instant;

fn login(text: &str) -> Login {
    Login::parse(text).unwrap()
}

fn card(text: &str) -> CardId {
    CardId::parse(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const HOME: &str = "192.0.2.10";

/// One hash per password for the whole test binary: argon2 is slow on purpose.
fn hash_of(password: &str) -> String {
    static HASHES: OnceLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
        OnceLock::new();
    let map = HASHES.get_or_init(Default::default);
    let mut map = map.lock().unwrap();
    map.entry(password.to_owned())
        .or_insert_with(|| hash_password(password).unwrap())
        .clone()
}

struct World {
    store: Arc<MemoryStaffStore>,
    clock: Arc<ManualClock>,
    staff: Staff,
}

fn world_with(settings: StaffSettings) -> World {
    let store = Arc::new(MemoryStaffStore::new());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2024, 4, 11, 20, 0, 0).unwrap(),
    ));
    let staff = Staff::new(
        store.clone(),
        store.clone(),
        clock.clone(),
        Arc::new(OsTokens),
        settings,
    );
    World {
        store,
        clock,
        staff,
    }
}

fn world() -> World {
    world_with(StaffSettings {
        failures_per_minute: 3,
        ..StaffSettings::default()
    })
}

impl World {
    async fn add(&self, name: &str, rights: Rights, staff_card: Option<&str>) {
        self.store
            .add_user(StaffUser {
                login: login(name),
                rights,
                card: staff_card.map(card),
                password_hash: hash_of(&format!("{name}-pass")),
                active: true,
            })
            .await
            .unwrap();
    }

    async fn standard(&self) {
        self.add("prez", Rights::President, Some("AAAA0001")).await;
        self.add("barman", Rights::BarMember, Some("BBBB0002"))
            .await;
        self.add("bde", Rights::Association, None).await;
        self.add("honeypot", Rights::Honeypot, None).await;
    }

    async fn token(&self, name: &str) -> String {
        self.staff
            .login_password(name, &format!("{name}-pass"), ip(HOME))
            .await
            .unwrap()
            .token
    }

    async fn actor(&self, name: &str) -> Actor {
        let user = self.store.user(&login(name)).await.unwrap().unwrap();
        Actor {
            login: user.login,
            rights: user.rights,
        }
    }
}

#[test]
fn default_settings() {
    let s = StaffSettings::default();
    assert_eq!(s.idle, Duration::seconds(300));
    assert!(s.card_login);
    assert_eq!(s.failures_per_minute, 10);
}

#[tokio::test]
async fn password_login_grants_a_hashed_thirty_character_token() {
    let w = world();
    w.standard().await;
    let grant = w
        .staff
        .login_password("barman", "barman-pass", ip(HOME))
        .await
        .unwrap();
    assert_eq!(grant.token.len(), 30);
    assert!(grant.token.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(grant.login, login("barman"));
    assert_eq!(grant.rights, Rights::BarMember);
    assert!(!format!("{grant:?}").contains(&grant.token));

    let stored = w.store.sessions();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token_hash, token_hash(&grant.token));
    assert_ne!(stored[0].token_hash, grant.token);

    let actor = w.staff.authenticate(&grant.token).await.unwrap();
    assert_eq!(actor.login, login("barman"));
    assert_eq!(actor.rights, Rights::BarMember);

    let other = w.token("barman").await;
    assert_ne!(other, grant.token);
}

#[tokio::test]
async fn wrong_password_unknown_login_and_disabled_user_are_invalid_credentials() {
    let w = world_with(StaffSettings::default());
    w.standard().await;
    let attempts = [
        ("barman", "wrong"),
        ("barman", ""),
        ("nobody", "barman-pass"),
        ("not a login!", "x"),
        ("", ""),
    ];
    for (l, p) in attempts {
        assert_eq!(
            w.staff.login_password(l, p, ip(HOME)).await,
            Err(DomainError::InvalidCredentials),
            "{l}/{p}"
        );
    }
    let prez = w.actor("prez").await;
    w.staff.disable(&prez, &login("barman")).await.unwrap();
    assert_eq!(
        w.staff
            .login_password("barman", "barman-pass", ip(HOME))
            .await,
        Err(DomainError::InvalidCredentials)
    );
    assert_eq!(w.store.session_count(), 0);
}

#[tokio::test]
async fn an_unknown_login_costs_an_argon2_verification_like_a_wrong_password() {
    let w = world_with(StaffSettings {
        failures_per_minute: 0,
        ..StaffSettings::default()
    });
    w.standard().await;
    // Warm the dummy hash.
    let _ = w.staff.login_password("nobody", "x", ip(HOME)).await;
    let time = |l: &'static str| {
        let staff = w.staff.clone();
        async move {
            let mut best = std::time::Duration::MAX;
            for _ in 0..3 {
                let start = Instant::now();
                let r = staff.login_password(l, "wrong", ip(HOME)).await;
                assert_eq!(r, Err(DomainError::InvalidCredentials));
                best = best.min(start.elapsed());
            }
            best
        }
    };
    let wrong_password = time("barman").await;
    let unknown_login = time("nobody").await;
    // Without a dummy verification the unknown login would answer in microseconds.
    assert!(
        unknown_login * 3 > wrong_password && wrong_password * 3 > unknown_login,
        "unknown {unknown_login:?} vs wrong password {wrong_password:?}"
    );
    assert!(unknown_login > std::time::Duration::from_millis(2));
}

#[tokio::test]
async fn card_login() {
    let w = world();
    w.standard().await;
    let grant = w
        .staff
        .login_card(&card("bbbb0002"), ip(HOME))
        .await
        .unwrap();
    assert_eq!(grant.login, login("barman"));
    assert_eq!(grant.token.len(), 30);
    assert_eq!(
        w.staff.login_card(&card("CCCC0003"), ip(HOME)).await,
        Err(DomainError::UnknownStaffCard)
    );
    let prez = w.actor("prez").await;
    w.staff.disable(&prez, &login("barman")).await.unwrap();
    assert_eq!(
        w.staff.login_card(&card("BBBB0002"), ip(HOME)).await,
        Err(DomainError::UnknownStaffCard)
    );
}

#[tokio::test]
async fn card_login_can_be_switched_off() {
    let w = world_with(StaffSettings {
        card_login: false,
        ..StaffSettings::default()
    });
    w.standard().await;
    assert_eq!(
        w.staff.login_card(&card("BBBB0002"), ip(HOME)).await,
        Err(DomainError::InvalidCredentials)
    );
    assert!(w
        .staff
        .login_password("barman", "barman-pass", ip(HOME))
        .await
        .is_ok());
}

#[tokio::test]
async fn failed_logins_are_throttled_per_address_without_blocking_others() {
    let w = world(); // 3 failures a minute
    w.standard().await;
    let bad = ip("198.51.100.9");
    for _ in 0..2 {
        assert_eq!(
            w.staff.login_password("barman", "nope", bad).await,
            Err(DomainError::InvalidCredentials)
        );
    }
    assert_eq!(
        w.staff.login_card(&card("DDDD0004"), bad).await,
        Err(DomainError::UnknownStaffCard)
    );
    let lookups = w.store.lookups();
    let refused = w.staff.login_password("barman", "barman-pass", bad).await;
    assert_eq!(
        refused,
        Err(DomainError::TooManyAttempts {
            retry_after_seconds: 60
        })
    );
    // Refused before any lookup or argon2 work: nothing to sleep on, nothing to learn.
    assert_eq!(w.store.lookups(), lookups);
    assert!(matches!(
        w.staff.login_card(&card("BBBB0002"), bad).await,
        Err(DomainError::TooManyAttempts { .. })
    ));
    // Another address is not affected.
    assert!(w
        .staff
        .login_password("barman", "barman-pass", ip(HOME))
        .await
        .is_ok());
    // After the window, the address may try again.
    w.clock.advance(Duration::seconds(45));
    assert_eq!(
        w.staff.login_password("barman", "barman-pass", bad).await,
        Err(DomainError::TooManyAttempts {
            retry_after_seconds: 15
        })
    );
    w.clock.advance(Duration::seconds(15));
    assert!(w
        .staff
        .login_password("barman", "barman-pass", bad)
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_logins_from_one_address_queue_and_parallel_guesses_stay_limited() {
    let w = world(); // 3 failures a minute
    w.standard().await;
    // Eight tills behind one router log in at once: all pass.
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let staff = w.staff.clone();
            tokio::spawn(async move {
                staff
                    .login_password("barman", "barman-pass", ip(HOME))
                    .await
            })
        })
        .collect();
    for l in logins {
        assert!(l.await.unwrap().is_ok());
    }
    // Eight parallel guesses from one address: only the first three are checked.
    let guesses: Vec<_> = (0..8)
        .map(|i| {
            let staff = w.staff.clone();
            tokio::spawn(async move {
                staff
                    .login_password("barman", &format!("guess-{i}"), ip("198.51.100.7"))
                    .await
            })
        })
        .collect();
    let mut checked = 0;
    for g in guesses {
        match g.await.unwrap() {
            Err(DomainError::InvalidCredentials) => checked += 1,
            Err(DomainError::TooManyAttempts { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(checked, 3);
}

#[tokio::test]
async fn successful_logins_do_not_count_as_failures() {
    let w = world();
    w.standard().await;
    for _ in 0..6 {
        w.token("barman").await;
    }
}

#[tokio::test]
async fn malformed_unknown_and_logged_out_tokens_are_invalid() {
    let w = world();
    w.standard().await;
    for bad in [
        "",
        "short",
        &"a".repeat(30),
        &"a".repeat(31),
        &"é".repeat(15),
    ] {
        assert_eq!(
            w.staff.authenticate(bad).await,
            Err(DomainError::InvalidToken)
        );
    }
    let token = w.token("barman").await;
    w.staff.logout(&token).await.unwrap();
    assert_eq!(w.store.session_count(), 0);
    assert_eq!(
        w.staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
    assert_eq!(w.staff.logout(&token).await, Err(DomainError::InvalidToken));
}

#[tokio::test]
async fn sessions_expire_after_idling_and_slide_with_use() {
    let w = world();
    w.standard().await;
    let token = w.token("barman").await;
    w.clock.advance(Duration::seconds(200));
    w.staff.authenticate(&token).await.unwrap();
    w.clock.advance(Duration::seconds(200));
    // 400 s after login, but only 200 s after last use.
    w.staff.authenticate(&token).await.unwrap();
    w.clock.advance(Duration::seconds(301));
    assert_eq!(
        w.staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
    assert_eq!(w.store.session_count(), 0, "the expired session is deleted");
}

#[tokio::test]
async fn last_seen_is_written_only_when_a_few_seconds_old() {
    let w = world();
    w.standard().await;
    let token = w.token("barman").await;
    let created = w.store.sessions()[0].last_seen;
    w.clock.advance(Duration::seconds(2));
    w.staff.authenticate(&token).await.unwrap();
    assert_eq!(w.store.sessions()[0].last_seen, created);
    w.clock.advance(Duration::seconds(4));
    w.staff.authenticate(&token).await.unwrap();
    assert_eq!(
        w.store.sessions()[0].last_seen,
        created + Duration::seconds(6)
    );
}

#[tokio::test]
async fn rights_changes_and_deletions_take_effect_on_open_sessions() {
    let w = world();
    w.standard().await;
    let prez = w.actor("prez").await;
    let token = w.token("barman").await;
    w.staff
        .set_rights(&prez, &login("barman"), Rights::Association)
        .await
        .unwrap();
    assert_eq!(
        w.staff.authenticate(&token).await.unwrap().rights,
        Rights::Association
    );
    w.staff.disable(&prez, &login("barman")).await.unwrap();
    assert_eq!(
        w.staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
}

#[tokio::test]
async fn a_session_of_a_user_disabled_behind_the_services_back_is_refused() {
    // A directory whose `disable` did not end the sessions must not leave them usable.
    let w = world();
    w.standard().await;
    let token = w.token("bde").await;
    let store = MemoryStaffStore::new();
    for u in w.store.users().await.unwrap() {
        store
            .add_user(StaffUser {
                active: u.login.as_str() != "bde",
                ..u
            })
            .await
            .unwrap();
    }
    let session = w.store.sessions().pop().unwrap();
    store.create(session).await.unwrap();
    let store = Arc::new(store);
    let staff = Staff::new(
        store.clone(),
        store.clone(),
        w.clock.clone(),
        Arc::new(OsTokens),
        StaffSettings::default(),
    );
    assert_eq!(
        staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
    assert_eq!(store.session_count(), 0);
}

#[tokio::test]
async fn adding_users() {
    let w = world();
    w.standard().await;
    let prez = w.actor("prez").await;
    let barman = w.actor("barman").await;
    w.staff
        .add_user(
            &prez,
            &login("nouveau"),
            "n0uveau-pw",
            Rights::BarMember,
            Some(card("EEEE0005")),
        )
        .await
        .unwrap();
    let grant = w
        .staff
        .login_password("nouveau", "n0uveau-pw", ip(HOME))
        .await
        .unwrap();
    assert_eq!(grant.rights, Rights::BarMember);
    let stored = w.store.user(&login("nouveau")).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));

    assert_eq!(
        w.staff
            .add_user(
                &barman,
                &login("autre"),
                "x-password",
                Rights::Honeypot,
                None
            )
            .await,
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(
        w.staff
            .add_user(
                &prez,
                &login("nouveau"),
                "x-password",
                Rights::Honeypot,
                None
            )
            .await,
        Err(DomainError::UserExists)
    );
    assert!(matches!(
        w.staff
            .add_user(
                &prez,
                &login("autre"),
                "x-password",
                Rights::Honeypot,
                Some(card("BBBB0002")),
            )
            .await,
        Err(DomainError::Malformed(_))
    ));
    // Issue 14, defect 5: a new password has at least 8 characters, on every path.
    for short in ["", "x", "1234567", "éééééééé"[..14].as_ref()] {
        assert!(
            matches!(
                w.staff
                    .add_user(&prez, &login("autre"), short, Rights::Honeypot, None)
                    .await,
                Err(DomainError::Malformed(_))
            ),
            "{short:?}"
        );
        assert!(matches!(
            w.staff
                .change_password(&prez, &login("barman"), short, None)
                .await,
            Err(DomainError::Malformed(_))
        ));
        let changes = UserChanges {
            rights: Some(Rights::Association),
            password: Some(short.to_owned()),
            ..UserChanges::default()
        };
        assert!(matches!(
            w.staff
                .update_user(&prez, &login("barman"), changes, None)
                .await,
            Err(DomainError::Malformed(_))
        ));
    }
    let barman_now = w.store.user(&login("barman")).await.unwrap().unwrap();
    assert_eq!(barman_now.rights, Rights::BarMember, "nothing changed");
    // Eight characters, counted as characters, not bytes.
    w.staff
        .add_user(&prez, &login("autre"), "éééééééé", Rights::Honeypot, None)
        .await
        .unwrap();
    w.staff.disable(&prez, &login("autre")).await.unwrap();
}

#[tokio::test]
async fn changing_passwords() {
    let w = world();
    w.standard().await;
    let honeypot = w.actor("honeypot").await;
    let barman = w.actor("barman").await;
    let prez = w.actor("prez").await;
    // Anyone may change their own password.
    w.staff
        .change_password(&honeypot, &login("honeypot"), "new-one-pw", None)
        .await
        .unwrap();
    assert!(w
        .staff
        .login_password("honeypot", "new-one-pw", ip(HOME))
        .await
        .is_ok());
    assert_eq!(
        w.staff
            .login_password("honeypot", "honeypot-pass", ip(HOME))
            .await,
        Err(DomainError::InvalidCredentials)
    );
    // Someone else's: rights 3 only.
    assert_eq!(
        w.staff
            .change_password(&barman, &login("bde"), "x-password", None)
            .await,
        Err(DomainError::InsufficientRights)
    );
    w.staff
        .change_password(&prez, &login("bde"), "bde-new-pw", None)
        .await
        .unwrap();
    assert!(w
        .staff
        .login_password("bde", "bde-new-pw", ip(HOME))
        .await
        .is_ok());
    assert_eq!(
        w.staff
            .change_password(&prez, &login("nobody"), "x-password", None)
            .await,
        Err(DomainError::UnknownUser)
    );
}

#[tokio::test]
async fn staff_cards() {
    let w = world();
    w.standard().await;
    let bde = w.actor("bde").await;
    let prez = w.actor("prez").await;
    w.staff
        .set_card(&bde, &login("bde"), Some(card("cccc0003")))
        .await
        .unwrap();
    assert_eq!(
        w.staff
            .login_card(&card("CCCC0003"), ip(HOME))
            .await
            .unwrap()
            .login,
        login("bde")
    );
    assert!(matches!(
        w.staff
            .set_card(&bde, &login("bde"), Some(card("AAAA0001")))
            .await,
        Err(DomainError::Malformed(_))
    ));
    assert_eq!(
        w.staff
            .set_card(&bde, &login("barman"), Some(card("DDDD0004")))
            .await,
        Err(DomainError::InsufficientRights)
    );
    w.staff
        .set_card(&prez, &login("barman"), None)
        .await
        .unwrap();
    assert_eq!(
        w.staff.login_card(&card("BBBB0002"), ip(HOME)).await,
        Err(DomainError::UnknownStaffCard)
    );
    assert_eq!(
        w.staff
            .set_card(&prez, &login("nobody"), Some(card("DDDD0004")))
            .await,
        Err(DomainError::UnknownUser)
    );
}

#[tokio::test]
async fn listing_and_profiles() {
    let w = world();
    w.standard().await;
    let prez = w.actor("prez").await;
    let barman = w.actor("barman").await;
    let users = w.staff.users(&prez).await.unwrap();
    let logins: Vec<&str> = users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, ["barman", "bde", "honeypot", "prez"]);
    assert_eq!(users[0].card, Some(card("BBBB0002")));
    assert_eq!(
        w.staff.users(&barman).await,
        Err(DomainError::InsufficientRights)
    );

    let own = w.staff.profile(&barman, &login("barman")).await.unwrap();
    assert_eq!(own.rights, Rights::BarMember);
    assert_eq!(
        w.staff.profile(&barman, &login("prez")).await,
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(
        w.staff.profile(&prez, &login("bde")).await.unwrap().rights,
        Rights::Association
    );
    assert_eq!(
        w.staff.profile(&prez, &login("nobody")).await,
        Err(DomainError::UnknownUser)
    );
}

#[tokio::test]
async fn rights_management_keeps_a_president() {
    let w = world();
    w.standard().await;
    let prez = w.actor("prez").await;
    let barman = w.actor("barman").await;
    assert_eq!(
        w.staff
            .set_rights(&barman, &login("bde"), Rights::BarMember)
            .await,
        Err(DomainError::InsufficientRights)
    );
    assert_eq!(
        w.staff
            .set_rights(&prez, &login("nobody"), Rights::BarMember)
            .await,
        Err(DomainError::UnknownUser)
    );
    assert!(matches!(
        w.staff
            .set_rights(&prez, &login("prez"), Rights::BarMember)
            .await,
        Err(DomainError::Malformed(_))
    ));
    assert!(matches!(
        w.staff.disable(&prez, &login("prez")).await,
        Err(DomainError::Malformed(_))
    ));
    w.staff
        .set_rights(&prez, &login("bde"), Rights::President)
        .await
        .unwrap();
    // With a second president, the first may step down.
    w.staff
        .set_rights(&prez, &login("prez"), Rights::BarMember)
        .await
        .unwrap();
    assert_eq!(
        w.store.user(&login("prez")).await.unwrap().unwrap().rights,
        Rights::BarMember
    );
}

#[tokio::test]
async fn deleting_disables_keeps_the_account_and_ends_sessions() {
    let w = world();
    w.standard().await;
    let prez = w.actor("prez").await;
    let token = w.token("bde").await;
    assert_eq!(
        w.staff
            .disable(&w.actor("barman").await, &login("bde"))
            .await,
        Err(DomainError::InsufficientRights)
    );
    w.staff.disable(&prez, &login("bde")).await.unwrap();
    assert_eq!(
        w.staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
    let kept = w.store.user(&login("bde")).await.unwrap().unwrap();
    assert!(!kept.active);
    assert_eq!(
        w.staff.disable(&prez, &login("bde")).await,
        Err(DomainError::UnknownUser)
    );
    assert_eq!(
        w.staff.profile(&prez, &login("bde")).await,
        Err(DomainError::UnknownUser)
    );
    assert_eq!(
        w.staff
            .add_user(&prez, &login("bde"), "x-password", Rights::Honeypot, None)
            .await,
        Err(DomainError::UserExists)
    );
    assert_eq!(w.staff.users(&prez).await.unwrap().len(), 3);
}

#[tokio::test]
async fn card_holders() {
    let w = world();
    w.standard().await;
    let bde = w.actor("bde").await;
    assert_eq!(
        w.staff.card_holder(&bde, &card("AAAA0001")).await,
        Ok(Some(login("prez")))
    );
    assert_eq!(w.staff.card_holder(&bde, &card("FFFF0006")).await, Ok(None));
    assert_eq!(
        w.staff
            .card_holder(&w.actor("honeypot").await, &card("AAAA0001"))
            .await,
        Err(DomainError::InsufficientRights)
    );
}

#[tokio::test]
async fn the_first_admin_is_created_once_with_a_random_password() {
    let w = world();
    let password = w.staff.ensure_first_admin().await.unwrap().unwrap();
    assert_eq!(password.len(), 24);
    let grant = w
        .staff
        .login_password("admin", &password, ip(HOME))
        .await
        .unwrap();
    assert_eq!(grant.rights, Rights::President);
    assert_eq!(w.staff.ensure_first_admin().await, Ok(None));

    let w2 = world();
    let other = w2.staff.ensure_first_admin().await.unwrap().unwrap();
    assert_ne!(password, other);
}

#[tokio::test]
async fn purging_removes_idle_sessions_only() {
    let w = world();
    w.standard().await;
    w.token("barman").await;
    w.clock.advance(Duration::seconds(200));
    let fresh = w.token("bde").await;
    w.clock.advance(Duration::seconds(200));
    assert_eq!(w.staff.purge_expired().await, Ok(1));
    assert_eq!(w.store.session_count(), 1);
    assert!(w.staff.authenticate(&fresh).await.is_ok());
}

#[tokio::test]
async fn a_broken_token_source_is_an_internal_error_not_a_weak_token() {
    struct Short;
    impl TokenSource for Short {
        fn alphanumeric(&self, _len: usize) -> String {
            "abc".into()
        }
    }
    let w = world();
    w.standard().await;
    let staff = Staff::new(
        w.store.clone(),
        w.store.clone(),
        w.clock.clone(),
        Arc::new(Short),
        StaffSettings::default(),
    );
    assert!(matches!(
        staff.login_password("bde", "bde-pass", ip(HOME)).await,
        Err(DomainError::Internal(_))
    ));
    assert_eq!(w.store.session_count(), 0);
}

#[tokio::test]
async fn a_password_change_ends_the_users_other_sessions() {
    let w = world();
    w.standard().await;
    let phone = w
        .staff
        .login_password("barman", "barman-pass", ip(HOME))
        .await
        .unwrap()
        .token;
    let till = w
        .staff
        .login_password("barman", "barman-pass", ip(HOME))
        .await
        .unwrap()
        .token;
    let prez_token = w
        .staff
        .login_password("prez", "prez-pass", ip(HOME))
        .await
        .unwrap()
        .token;
    let barman = w.staff.authenticate(&phone).await.unwrap();
    // Barman changes their own password from the phone: the phone's session stays, the
    // till's ends; other users' sessions are untouched.
    w.staff
        .change_password(&barman, &login("barman"), "new-pass", Some(&phone))
        .await
        .unwrap();
    assert!(w.staff.authenticate(&phone).await.is_ok());
    assert_eq!(
        w.staff.authenticate(&till).await,
        Err(DomainError::InvalidToken)
    );
    assert!(w.staff.authenticate(&prez_token).await.is_ok());
    // The president changes barman's password: every barman session ends, not the president's.
    let prez = w.staff.authenticate(&prez_token).await.unwrap();
    w.staff
        .change_password(&prez, &login("barman"), "newer-pass", Some(&prez_token))
        .await
        .unwrap();
    assert_eq!(
        w.staff.authenticate(&phone).await,
        Err(DomainError::InvalidToken)
    );
    assert!(w.staff.authenticate(&prez_token).await.is_ok());
}

#[tokio::test]
async fn the_session_cache_spares_the_database_and_every_revocation_empties_it() {
    let w = world();
    w.standard().await;
    let prez = w.actor("prez").await;
    let token = w.token("barman").await;
    let other = w.token("barman").await;
    w.staff.authenticate(&token).await.unwrap();
    w.staff.authenticate(&other).await.unwrap();
    let lookups = w.store.lookups();
    for _ in 0..10 {
        w.staff.authenticate(&token).await.unwrap();
    }
    assert_eq!(w.store.lookups(), lookups, "warm sessions read no database");

    // With both sessions in the cache, each change takes effect on the next request.
    w.staff
        .set_rights(&prez, &login("barman"), Rights::Association)
        .await
        .unwrap();
    assert_eq!(
        w.staff.authenticate(&token).await.unwrap().rights,
        Rights::Association
    );
    w.staff.authenticate(&other).await.unwrap();
    w.staff.logout(&other).await.unwrap();
    assert_eq!(
        w.staff.authenticate(&other).await,
        Err(DomainError::InvalidToken)
    );
    w.staff.authenticate(&token).await.unwrap();
    w.staff.disable(&prez, &login("barman")).await.unwrap();
    assert_eq!(
        w.staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
}

#[tokio::test]
async fn a_session_ended_by_another_process_is_refused_within_the_cache_ttl() {
    let w = world();
    w.standard().await;
    let token = w.token("barman").await;
    w.staff.authenticate(&token).await.unwrap();
    // Another process (same database, its own memory) logs the session out.
    w.store.delete(&token_hash(&token)).await.unwrap();
    // This process may trust its memory for less than the cache's TTL …
    w.clock
        .advance(crate::cache::DEFAULT_TTL - Duration::milliseconds(1));
    w.staff.authenticate(&token).await.unwrap();
    // … and no longer.
    w.clock.advance(Duration::milliseconds(1));
    assert_eq!(
        w.staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
}

#[tokio::test]
async fn a_busy_session_stays_alive_through_its_touches() {
    let w = world();
    w.standard().await;
    let token = w.token("barman").await;
    // Twelve minutes of use, a request every 3 s, with the idle limit at 300 s.
    for _ in 0..240 {
        w.clock.advance(Duration::seconds(3));
        w.staff.authenticate(&token).await.unwrap();
    }
    let stored = w.store.sessions()[0].last_seen;
    assert!(w.clock.now() - stored <= Duration::seconds(5), "{stored}");
    w.clock.advance(Duration::seconds(299));
    w.staff.authenticate(&token).await.unwrap();
    w.clock.advance(Duration::seconds(301));
    assert_eq!(
        w.staff.authenticate(&token).await,
        Err(DomainError::InvalidToken)
    );
}
