use super::*;
use crate::memory::{ManualClock, MemoryOAuthStore, MemoryStaffStore};
use crate::staff::StaffSettings;
use crate::tokens::OsTokens;
use ardoise_domain::ports::{Session, SessionStore, StaffDirectory, StaffUser};
use ardoise_domain::{Login, Rights};
use chrono::TimeZone;

struct World {
    store: Arc<MemoryOAuthStore>,
    staff_store: Arc<MemoryStaffStore>,
    clock: Arc<ManualClock>,
    oauth: OAuth,
}

fn world_with(settings: OAuthSettings) -> World {
    let store = Arc::new(MemoryOAuthStore::new());
    let staff_store = Arc::new(MemoryStaffStore::new());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2024, 4, 11, 20, 0, 0).unwrap(),
    ));
    let staff = Staff::new(
        staff_store.clone(),
        staff_store.clone(),
        clock.clone(),
        Arc::new(OsTokens),
        StaffSettings::default(),
    );
    let oauth = OAuth::new(store.clone(), store.clone(), staff, clock.clone(), settings);
    World {
        store,
        staff_store,
        clock,
        oauth,
    }
}

fn world() -> World {
    world_with(OAuthSettings::default())
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const HOME: &str = "192.0.2.10";

fn creds(p: &PartnerCredentials) -> ClientCredentials {
    ClientCredentials {
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.clone(),
    }
}

fn partner_of(caller: &Caller) -> &str {
    match caller {
        Caller::Partner { client_id, .. } => client_id,
        Caller::Staff { .. } | Caller::Member { .. } => panic!("not a partner"),
    }
}

#[tokio::test]
async fn registration_generates_urlsafe_credentials_and_stores_a_hash() {
    let w = world();
    let p = w
        .oauth
        .register("Pay Online", "cards:read cards:credit", false)
        .await
        .unwrap();
    assert_eq!(p.client_id.len(), CLIENT_ID_LEN);
    assert_eq!(p.client_secret.len(), CLIENT_SECRET_LEN);
    assert!(is_urlsafe(&p.client_id) && is_urlsafe(&p.client_secret));
    let stored = w.store.partner(&p.client_id).await.unwrap().unwrap();
    assert_eq!(stored.secret_hash, token_hash(&p.client_secret));
    assert_ne!(stored.secret_hash, p.client_secret);
    assert_eq!(stored.scopes, vec!["cards:read", "cards:credit"]);
    assert_eq!(stored.credit_cap_operation, Money::from_cents(50_000));
    assert!(stored.active && !stored.allow_basic);
    assert!(!format!("{p:?}").contains(&p.client_secret));

    for (name, scopes) in [
        ("", "cards:read"),
        ("x", ""),
        ("x", "cards:write"),
        ("a\nb", "cards:read"),
    ] {
        assert!(
            w.oauth.register(name, scopes, false).await.is_err(),
            "{name:?} {scopes:?}"
        );
    }
}

#[test]
fn random_secrets_use_the_whole_alphabet_and_do_not_repeat() {
    let text: String = (0..300).map(|_| random_urlsafe(43)).collect();
    let distinct: std::collections::HashSet<u8> = text.bytes().collect();
    assert_eq!(distinct.len(), 64);
    assert_ne!(random_urlsafe(43), random_urlsafe(43));
}

#[test]
fn basic_credentials_are_form_url_decoded() {
    let header = |id: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    assert_eq!(
        Authorization::parse(&header("a%2Bb", "x+y%3Az:w")).unwrap(),
        Authorization::Basic(ClientCredentials {
            client_id: "a+b".into(),
            client_secret: "x y:z:w".into(),
        })
    );
    assert!(matches!(
        Authorization::parse(&header("id", "s").replace("Basic", "bAsIc")).unwrap(),
        Authorization::Basic(_)
    ));
    assert_eq!(
        Authorization::parse("bearer abc").unwrap(),
        Authorization::Bearer("abc".into())
    );
    assert_eq!(
        Authorization::parse("Digest x").unwrap(),
        Authorization::Other
    );
    assert!(Authorization::parse("Basic !!!").is_err());
    assert!(Authorization::parse(&header("id", "%zz")).is_err());
    assert!(Authorization::parse("Basic aWQ=").is_err(), "no colon");
}

#[tokio::test]
async fn client_credentials_issue_opaque_tokens_with_the_asked_scopes() {
    let w = world();
    let p = w
        .oauth
        .register("P", "cards:read cards:credit", false)
        .await
        .unwrap();
    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, None)
        .await
        .unwrap();
    assert!(is_access_token(&t.access_token));
    assert_eq!(t.scopes, vec!["cards:read", "cards:credit"]);
    assert_eq!(t.expires_in, 3600);
    let stored = w.store.tokens();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token_hash, token_hash(&t.access_token));

    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), Some("cards:read"), Some(1000))
        .await
        .unwrap();
    assert_eq!(t.scopes, vec!["cards:read"]);
    assert_eq!(t.rpt, Some(1000));

    let ask = |scope: Option<&'static str>, rpt: Option<u32>| {
        let oauth = w.oauth.clone();
        let c = creds(&p);
        async move { oauth.client_credentials(&c, ip(HOME), scope, rpt).await }
    };
    assert!(matches!(
        ask(Some("members:read"), None).await,
        Err(OAuthError::InvalidScope(_))
    ));
    for rpt in [0, 999, 100_001] {
        assert!(matches!(
            ask(None, Some(rpt)).await,
            Err(OAuthError::InvalidRequest(_))
        ));
    }
    assert!(ask(None, Some(100_000)).await.is_ok());
}

#[tokio::test]
async fn unknown_client_wrong_secret_and_disabled_partner_look_the_same() {
    let w = world();
    let p = w.oauth.register("P", "cards:read", false).await.unwrap();
    let mut wrong = creds(&p);
    wrong.client_secret.push('x');
    let unknown = ClientCredentials {
        client_id: "nobody".into(),
        client_secret: p.client_secret.clone(),
    };
    for c in [&wrong, &unknown] {
        assert_eq!(
            w.oauth.authenticate_client(c, ip(HOME)).await,
            Err(OAuthError::InvalidClient)
        );
    }
    w.oauth.disable(&p.client_id).await.unwrap();
    assert_eq!(
        w.oauth.authenticate_client(&creds(&p), ip(HOME)).await,
        Err(OAuthError::InvalidClient)
    );
    assert_eq!(
        w.oauth.disable("nobody").await,
        Err(OAuthError::UnknownPartner)
    );
}

#[tokio::test]
async fn failed_client_authentications_are_throttled_per_client_and_address() {
    let w = world_with(OAuthSettings {
        failures_per_minute: 3,
        ..OAuthSettings::default()
    });
    let p = w.oauth.register("P", "cards:read", false).await.unwrap();
    let q = w.oauth.register("Q", "cards:read", false).await.unwrap();
    let mut wrong = creds(&p);
    wrong.client_secret = "nope".into();
    for _ in 0..3 {
        assert_eq!(
            w.oauth.authenticate_client(&wrong, ip(HOME)).await,
            Err(OAuthError::InvalidClient)
        );
    }
    // Blocked now, even with the right secret, from this address only.
    assert!(matches!(
        w.oauth.authenticate_client(&creds(&p), ip(HOME)).await,
        Err(OAuthError::TooManyAttempts {
            retry_after_seconds: 60
        })
    ));
    assert!(w
        .oauth
        .authenticate_client(&creds(&p), ip("192.0.2.11"))
        .await
        .is_ok());
    assert!(w
        .oauth
        .authenticate_client(&creds(&q), ip(HOME))
        .await
        .is_ok());
    w.clock.advance(Duration::seconds(60));
    assert!(w
        .oauth
        .authenticate_client(&creds(&p), ip(HOME))
        .await
        .is_ok());
}

#[tokio::test]
async fn tokens_die_at_expiry_or_after_rpt_requests_whichever_comes_first() {
    let w = world();
    let p = w.oauth.register("P", "cards:read", false).await.unwrap();
    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, Some(1000))
        .await
        .unwrap();
    for _ in 0..1000 {
        let caller = w.oauth.authenticate_bearer(&t.access_token).await.unwrap();
        assert_eq!(partner_of(&caller), p.client_id);
    }
    assert!(matches!(
        w.oauth.authenticate_bearer(&t.access_token).await,
        Err(OAuthError::InvalidToken(_))
    ));
    let caller = Caller::Partner {
        client_id: p.client_id.clone(),
        scopes: vec![],
    };
    assert_eq!(w.oauth.introspect(&caller, &t.access_token).await, Ok(None));

    // Time wins: requests are left but the token has expired.
    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, Some(1000))
        .await
        .unwrap();
    w.oauth.authenticate_bearer(&t.access_token).await.unwrap();
    w.clock.advance(Duration::seconds(3600));
    assert!(w.oauth.authenticate_bearer(&t.access_token).await.is_err());
    assert_eq!(w.oauth.introspect(&caller, &t.access_token).await, Ok(None));
    assert_eq!(w.oauth.purge_expired().await, Ok(2));
}

#[tokio::test]
async fn introspection_shows_own_tokens_only_unless_the_caller_may_introspect() {
    let w = world();
    let p = w.oauth.register("P", "cards:read", false).await.unwrap();
    let q = w.oauth.register("Q", "cards:read", false).await.unwrap();
    let rs = w
        .oauth
        .register("Resource server", "tokens:introspect", false)
        .await
        .unwrap();
    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, Some(5000))
        .await
        .unwrap();
    let as_caller = |c: &PartnerCredentials, scopes: &[&str]| Caller::Partner {
        client_id: c.client_id.clone(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    };
    let own = w
        .oauth
        .introspect(&as_caller(&p, &["cards:read"]), &t.access_token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(own.owner, TokenOwner::Partner(p.client_id.clone()));
    assert_eq!(own.rpt_left, Some(5000), "introspection spends nothing");
    assert_eq!(
        w.oauth
            .introspect(&as_caller(&q, &["cards:read"]), &t.access_token)
            .await,
        Ok(None)
    );
    assert!(w
        .oauth
        .introspect(&as_caller(&rs, &["tokens:introspect"]), &t.access_token)
        .await
        .unwrap()
        .is_some());
    for junk in ["", "abc", &"x".repeat(43), &"é".repeat(30)] {
        assert_eq!(
            w.oauth
                .introspect(&as_caller(&rs, &["tokens:introspect"]), junk)
                .await,
            Ok(None)
        );
    }
}

#[tokio::test]
async fn staff_session_tokens_are_introspectable_and_authenticate_as_staff() {
    let w = world();
    let login = Login::parse("barman").unwrap();
    w.staff_store
        .add_user(StaffUser {
            login: login.clone(),
            rights: Rights::BarMember,
            card: None,
            password_hash: "x".into(),
            active: true,
        })
        .await
        .unwrap();
    let token = "s".repeat(30);
    w.staff_store
        .create(Session {
            token_hash: token_hash(&token),
            holder: ardoise_domain::ports::SessionHolder::Staff(login.clone()),
            created_at: w.clock.now(),
            last_seen: w.clock.now(),
        })
        .await
        .unwrap();
    let rs = w
        .oauth
        .register("RS", "tokens:introspect", false)
        .await
        .unwrap();
    let rs = Caller::Partner {
        client_id: rs.client_id,
        scopes: vec!["tokens:introspect".into()],
    };
    let info = w.oauth.introspect(&rs, &token).await.unwrap().unwrap();
    assert_eq!(info.owner, TokenOwner::Staff(login.clone()));
    assert_eq!(info.expires_at, w.clock.now() + Duration::seconds(300));
    let caller = w.oauth.authenticate_bearer(&token).await.unwrap();
    assert!(matches!(&caller, Caller::Staff { actor } if actor.login == login));
    // Only the holder may revoke it.
    assert_eq!(
        w.oauth.revoke(&rs, &token).await,
        Err(OAuthError::UnauthorizedClient)
    );
    w.oauth.revoke(&caller, &token).await.unwrap();
    assert_eq!(w.oauth.introspect(&rs, &token).await, Ok(None));
}

#[tokio::test]
async fn revocation_by_the_owner_only_and_disabling_revokes_everything() {
    let w = world();
    let p = w.oauth.register("P", "cards:read", true).await.unwrap();
    let q = w.oauth.register("Q", "cards:read", false).await.unwrap();
    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, None)
        .await
        .unwrap();
    let by_q = w.oauth.authenticate_basic(&creds(&q), ip(HOME)).await;
    assert!(
        matches!(by_q, Err(OAuthError::InvalidToken(_))),
        "Q did not opt in"
    );
    let q_caller = Caller::Partner {
        client_id: q.client_id.clone(),
        scopes: vec![],
    };
    assert_eq!(
        w.oauth.revoke(&q_caller, &t.access_token).await,
        Err(OAuthError::UnauthorizedClient)
    );
    assert!(w.oauth.authenticate_bearer(&t.access_token).await.is_ok());
    assert_eq!(w.oauth.revoke(&q_caller, &"u".repeat(43)).await, Ok(()));

    let p_caller = w
        .oauth
        .authenticate_basic(&creds(&p), ip(HOME))
        .await
        .unwrap();
    w.oauth.revoke(&p_caller, &t.access_token).await.unwrap();
    assert!(w.oauth.authenticate_bearer(&t.access_token).await.is_err());

    // Rotation: the old secret and the tokens issued with it stop working.
    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, None)
        .await
        .unwrap();
    let secret = w.oauth.rotate_secret(&p.client_id).await.unwrap();
    assert!(w.oauth.authenticate_bearer(&t.access_token).await.is_err());
    assert!(w
        .oauth
        .authenticate_client(&creds(&p), ip(HOME))
        .await
        .is_err());
    let rotated = ClientCredentials {
        client_id: p.client_id.clone(),
        client_secret: secret,
    };
    let t = w
        .oauth
        .client_credentials(&rotated, ip(HOME), None, None)
        .await
        .unwrap();
    w.oauth.disable(&p.client_id).await.unwrap();
    assert!(w.oauth.authenticate_bearer(&t.access_token).await.is_err());
    assert!(w
        .oauth
        .authenticate_basic(&rotated, ip(HOME))
        .await
        .is_err());
}

#[tokio::test]
async fn cached_access_tokens_die_at_once_on_revocation_disable_rotation_and_expiry() {
    let w = world_with(OAuthSettings {
        token_life: Duration::milliseconds(500),
        ..OAuthSettings::default()
    });
    let p = w.oauth.register("P", "cards:read", false).await.unwrap();
    let owner = Caller::Partner {
        client_id: p.client_id.clone(),
        scopes: vec![],
    };
    let issue = || async {
        w.oauth
            .client_credentials(&creds(&p), ip(HOME), None, None)
            .await
            .unwrap()
            .access_token
    };
    // Each token is used once first, so that it sits in the cache when it is ended.
    let revoked = issue().await;
    w.oauth.authenticate_bearer(&revoked).await.unwrap();
    w.oauth.revoke(&owner, &revoked).await.unwrap();
    assert!(w.oauth.authenticate_bearer(&revoked).await.is_err());

    let expiring = issue().await;
    w.oauth.authenticate_bearer(&expiring).await.unwrap();
    w.clock.advance(Duration::milliseconds(499));
    w.oauth.authenticate_bearer(&expiring).await.unwrap();
    w.clock.advance(Duration::milliseconds(1));
    assert!(w.oauth.authenticate_bearer(&expiring).await.is_err());

    let rotated = issue().await;
    w.oauth.authenticate_bearer(&rotated).await.unwrap();
    let secret = w.oauth.rotate_secret(&p.client_id).await.unwrap();
    assert!(w.oauth.authenticate_bearer(&rotated).await.is_err());

    let p = PartnerCredentials {
        client_id: p.client_id.clone(),
        client_secret: secret,
    };
    let disabled = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, None)
        .await
        .unwrap()
        .access_token;
    w.oauth.authenticate_bearer(&disabled).await.unwrap();
    w.oauth.disable(&p.client_id).await.unwrap();
    assert!(w.oauth.authenticate_bearer(&disabled).await.is_err());
}

#[tokio::test]
async fn concurrent_uses_of_a_tokens_last_request_go_to_exactly_one_caller() {
    // Tokens with rpt never come from the cache: every use spends a unit in the store.
    let w = world();
    let p = w.oauth.register("P", "cards:read", false).await.unwrap();
    let t = w
        .oauth
        .client_credentials(&creds(&p), ip(HOME), None, Some(1000))
        .await
        .unwrap();
    for _ in 0..999 {
        w.oauth.authenticate_bearer(&t.access_token).await.unwrap();
    }
    let uses = (0..16).map(|_| w.oauth.authenticate_bearer(&t.access_token));
    let accepted = futures::future::join_all(uses)
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    assert_eq!(accepted, 1);
}
