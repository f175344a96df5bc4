//! The POS dialect end to end over the real routes, with a bar in memory.

// A test crate: its helpers panic on purpose when the world is not as the test set it up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use ardoise_auth::StaffSettings;
use ardoise_domain::card::CardStatus;
use ardoise_domain::ports::{SessionStore, StaffDirectory};
use ardoise_domain::{CardId, DomainError, Login, Money};
use chrono::Duration;
use common::*;
use serde_json::json;

fn cents(m: Money) -> i64 {
    m.cents()
}

/// `jeton=<token of login>&rest`.
fn with(login: &str, rest: &str) -> String {
    if rest.is_empty() {
        format!("jeton={}", token(login))
    } else {
        format!("jeton={}&{rest}", token(login))
    }
}

const ALL_AUTHENTICATED: [&str; 20] = [
    "/api/utilisateur/deconnexion",
    "/api/utilisateur/mdp",
    "/api/utilisateur/carte",
    "/api/utilisateur/liste",
    "/api/utilisateur/fiche",
    "/api/utilisateur/ajouter",
    "/api/utilisateur/droit",
    "/api/utilisateur/supprimer",
    "/api/client/ajouter",
    "/api/client/recharger",
    "/api/client/payer",
    "/api/client/vidange",
    "/api/client/liste",
    "/api/client/fiche",
    "/api/client/decouvert",
    "/api/carte/info",
    "/api/annuler",
    "/api/refaire",
    "/api/transactions",
    "/api/statistiques",
];

// ------------------------------------------------------------------ envelope

#[actix_web::test]
async fn coucou_answers_ok_to_get_and_post_without_a_token() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = send(&app, TestRequest::get().uri("/api/coucou")).await;
    assert_eq!(a.code, StatusCode::OK);
    assert_eq!(a.content_type, "application/json");
    assert_eq!(a.text, r#"{"status":"ok"}"#);
    let a = post(&app, "/api/coucou", "").await;
    assert_eq!(a.text, r#"{"status":"ok"}"#);
    let a = send(
        &app,
        TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/api/coucou"),
    )
    .await;
    assert_eq!(a.code, StatusCode::OK);
}

#[actix_web::test]
async fn unknown_paths_and_methods_answer_requete_inconnue() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    for req in [
        form("/api/nimporte", ""),
        form("/api/client/nimporte", ""),
        form("/api", ""),
        form("/api/client/liste/", ""),
        TestRequest::get().uri("/api/client/liste"),
        TestRequest::put().uri("/api/coucou"),
    ] {
        let a = send(&app, req).await;
        assert_eq!(a.code, StatusCode::NOT_FOUND);
        assert_eq!(a.content_type, "application/json");
        assert_eq!(a.text, r#"{"status":"requete_inconnue"}"#);
    }
}

#[actix_web::test]
async fn every_endpoint_needs_a_valid_token() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    for path in ALL_AUTHENTICATED {
        for body in [
            "idCarte=AHS0DIEX".to_owned(),
            "jeton=&idCarte=AHS0DIEX".to_owned(),
            format!("jeton={}", "x".repeat(30)),
            "jeton=Phohhu3eengeingae8kab3weif3neb".to_owned(),
            "jeton=short".to_owned(),
        ] {
            let a = post(&app, path, &body).await;
            assert_eq!(a.status(), "jeton_invalide", "{path} {body}");
        }
    }
}

#[actix_web::test]
async fn the_token_may_come_as_field_bearer_or_token_header() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = send(
        &app,
        form("/api/client/liste", "")
            .insert_header(("Authorization", format!("Bearer {}", token("prez")))),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = send(
        &app,
        form("/api/client/liste", "").insert_header(("token", token("prez"))),
    )
    .await;
    assert_eq!(a.status(), "ok");
    // The same token twice is fine; two different ones are not.
    let a = send(
        &app,
        form("/api/client/liste", &with("prez", "")).insert_header(("token", token("prez"))),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = send(
        &app,
        form("/api/client/liste", &with("prez", "")).insert_header(("token", token("barman"))),
    )
    .await;
    assert_eq!(a.status(), "requete_malforme");
}

// ------------------------------------------------------------------ sessions

#[actix_web::test]
async fn password_login_returns_a_thirty_character_token_that_works() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=barman&mdp=motdepasse",
    )
    .await;
    assert_eq!(a.status(), "ok", "{}", a.text);
    let jeton = a.json["jeton"].as_str().unwrap();
    assert_eq!(jeton.len(), 30);
    assert!(jeton.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(a.json["login"], "barman");
    assert_eq!(a.json["droit"], json!(2));
    assert!(a.json["droit"].is_i64());
    // Stored only as a hash.
    let stored = w.store.sessions();
    assert!(stored.iter().all(|s| s.token_hash != jeton));
    let a = post(&app, "/api/client/liste", &format!("jeton={jeton}")).await;
    assert_eq!(a.status(), "ok");
}

#[actix_web::test]
async fn login_refusals() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let cases = [
        ("login=barman&mdp=mauvais", "identifiants_invalides"),
        ("login=inconnu&mdp=motdepasse", "identifiants_invalides"),
        ("idCarte=CCCC0003", "carte_inconnue"),
        (
            "login=barman&mdp=motdepasse&idCarte=BBBB0002",
            "requete_malforme",
        ),
        ("login=barman", "requete_malforme"),
        ("mdp=motdepasse", "requete_malforme"),
        ("", "requete_malforme"),
        ("idCarte=BB-02", "requete_malforme"),
        ("login=barman&login=prez&mdp=motdepasse", "requete_malforme"),
    ];
    for (body, status) in cases {
        let a = post(&app, "/api/utilisateur/connexion", body).await;
        assert_eq!(a.status(), status, "{body}");
        assert!(a.json.get("jeton").is_none());
    }
}

#[actix_web::test]
async fn card_login_with_a_lower_case_uid() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(&app, "/api/utilisateur/connexion", "idCarte=bbbb0002").await;
    assert_eq!(a.status(), "ok");
    assert_eq!(a.json["login"], "barman");
    assert_eq!(a.json["jeton"].as_str().unwrap().len(), 30);
    // Web forms send their empty inputs: they count as absent.
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=&mdp=&idCarte=AAAA0001",
    )
    .await;
    assert_eq!(a.status(), "ok");
    assert_eq!(a.json["droit"], json!(3));
}

#[actix_web::test]
async fn card_login_can_be_switched_off() {
    let w = world_with(StaffSettings {
        card_login: false,
        ..StaffSettings::default()
    })
    .await;
    let app = app(&w.state, &[]).await;
    let a = post(&app, "/api/utilisateur/connexion", "idCarte=BBBB0002").await;
    assert_eq!(a.status(), "identifiants_invalides");
}

#[actix_web::test]
async fn failed_logins_are_throttled_per_address() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    for _ in 0..10 {
        let a = post(&app, "/api/utilisateur/connexion", "idCarte=CCCC0003").await;
        assert_eq!(a.status(), "carte_inconnue");
    }
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=barman&mdp=motdepasse",
    )
    .await;
    assert_eq!(a.status(), "trop_de_tentatives");
    assert_eq!(a.json["attente"], json!(60));
    // Another address logs in, and other requests from the same one are not slowed.
    let other = form("/api/utilisateur/connexion", "login=barman&mdp=motdepasse")
        .peer_addr("198.51.100.20:4000".parse().unwrap());
    assert_eq!(send(&app, other).await.status(), "ok");
    assert_eq!(
        post(&app, "/api/client/liste", &with("barman", ""))
            .await
            .status(),
        "ok"
    );
    w.clock.advance(Duration::seconds(60));
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=barman&mdp=motdepasse",
    )
    .await;
    assert_eq!(a.status(), "ok");
}

#[actix_web::test]
async fn sessions_expire_after_five_idle_minutes() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.clock.advance(Duration::seconds(299));
    assert_eq!(
        post(&app, "/api/client/liste", &with("barman", ""))
            .await
            .status(),
        "ok"
    );
    w.clock.advance(Duration::seconds(299));
    assert_eq!(
        post(&app, "/api/client/liste", &with("barman", ""))
            .await
            .status(),
        "ok"
    );
    w.clock.advance(Duration::seconds(301));
    let a = post(&app, "/api/client/liste", &with("barman", "")).await;
    assert_eq!(a.status(), "jeton_invalide");
}

#[actix_web::test]
async fn logout_ends_the_session() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(&app, "/api/utilisateur/deconnexion", &with("barman", "")).await;
    assert_eq!(a.text, r#"{"status":"ok"}"#);
    let a = post(&app, "/api/client/liste", &with("barman", "")).await;
    assert_eq!(a.status(), "jeton_invalide");
    let a = post(&app, "/api/utilisateur/deconnexion", &with("barman", "")).await;
    assert_eq!(a.status(), "jeton_invalide");
}

// ------------------------------------------------------------------ staff accounts

#[actix_web::test]
async fn changing_passwords() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    // Anyone, even rights 0, changes their own (login defaults to oneself).
    let a = post(
        &app,
        "/api/utilisateur/mdp",
        &with("honeypot", "mdp=nouveau%20mdp"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=honeypot&mdp=nouveau+mdp",
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(
        &app,
        "/api/utilisateur/mdp",
        &with("barman", "login=bde&mdp=x-password"),
    )
    .await;
    assert_eq!(a.status(), "droits_insuffisants");
    let a = post(
        &app,
        "/api/utilisateur/mdp",
        &with("prez", "login=bde&mdp=autre-mdp"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=bde&mdp=autre-mdp",
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(
        &app,
        "/api/utilisateur/mdp",
        &with("prez", "login=inconnu&mdp=x-password"),
    )
    .await;
    assert_eq!(a.status(), "utilisateur_inconnu");
    let a = post(&app, "/api/utilisateur/mdp", &with("prez", "login=bde")).await;
    assert_eq!(a.status(), "requete_malforme");
    let a = post(
        &app,
        "/api/utilisateur/mdp",
        &with("prez", "login=b%20de&mdp=x-password"),
    )
    .await;
    assert_eq!(a.status(), "requete_malforme");
}

#[actix_web::test]
async fn setting_staff_cards() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(
        &app,
        "/api/utilisateur/carte",
        &with("bde", "login=bde&idCarte=cccc0003"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(&app, "/api/utilisateur/connexion", "idCarte=CCCC0003").await;
    assert_eq!(a.json["login"], "bde");
    let a = post(
        &app,
        "/api/utilisateur/carte",
        &with("bde", "idCarte=AAAA0001"),
    )
    .await;
    assert_eq!(a.status(), "requete_malforme", "the president's card");
    let a = post(
        &app,
        "/api/utilisateur/carte",
        &with("bde", "login=barman&idCarte=DDDD0004"),
    )
    .await;
    assert_eq!(a.status(), "droits_insuffisants");
    let a = post(
        &app,
        "/api/utilisateur/carte",
        &with("prez", "login=inconnu&idCarte=DDDD0004"),
    )
    .await;
    assert_eq!(a.status(), "utilisateur_inconnu");
    let a = post(&app, "/api/utilisateur/carte", &with("prez", "login=bde")).await;
    assert_eq!(a.status(), "requete_malforme");
}

#[actix_web::test]
async fn listing_staff() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(&app, "/api/utilisateur/liste", &with("prez", "")).await;
    assert_eq!(a.status(), "ok");
    let users = a.json["utilisateurs"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(
        users[0],
        json!({"login": "barmaid", "droit": 2, "idCarte": null})
    );
    assert_eq!(
        users[1],
        json!({"login": "barman", "droit": 2, "idCarte": "BBBB0002"})
    );
    assert!(!a.text.contains("argon2"));
    let a = post(&app, "/api/utilisateur/liste", &with("barman", "")).await;
    assert_eq!(a.status(), "droits_insuffisants");
}

#[actix_web::test]
async fn staff_sheets_show_the_transactions_they_made() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "50").await;
    post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=1.70"),
    )
    .await;
    let a = post(&app, "/api/utilisateur/fiche", &with("barman", "")).await;
    assert_eq!(a.status(), "ok");
    assert_eq!(a.json["login"], "barman");
    assert_eq!(a.json["droit"], json!(2));
    assert_eq!(a.json["idCarte"], "BBBB0002");
    let txs = a.json["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0]["utilisateur"], "barman");
    assert_eq!(txs[0]["montant"], json!(1.7));
    let a = post(
        &app,
        "/api/utilisateur/fiche",
        &with("prez", "login=barman"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(
        &app,
        "/api/utilisateur/fiche",
        &with("barman", "login=prez"),
    )
    .await;
    assert_eq!(a.status(), "droits_insuffisants");
    let a = post(
        &app,
        "/api/utilisateur/fiche",
        &with("prez", "login=inconnu"),
    )
    .await;
    assert_eq!(a.status(), "utilisateur_inconnu");
}

#[actix_web::test]
async fn adding_staff() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(
        &app,
        "/api/utilisateur/ajouter",
        &with("prez", "login=nouveau&mdp=secret-pw&idCarte=&droit=2"),
    )
    .await;
    assert_eq!(a.text, r#"{"status":"ok"}"#);
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=nouveau&mdp=secret-pw",
    )
    .await;
    assert_eq!(a.json["droit"], json!(2));
    let a = post(
        &app,
        "/api/utilisateur/ajouter",
        &with("prez", "login=sansdroit&mdp=x-password"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let user = w
        .store
        .user(&Login::parse("sansdroit").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.rights.level(), 0, "rights default to 0");
    let cases = [
        (
            "prez",
            "login=nouveau&mdp=x-password&droit=1",
            "utilisateur_existant",
        ),
        (
            "prez",
            "login=autre&mdp=x-password&droit=4",
            "requete_malforme",
        ),
        (
            "prez",
            "login=autre&mdp=x-password&droit=-1",
            "requete_malforme",
        ),
        ("prez", "login=autre&mdp=&droit=1", "requete_malforme"),
        (
            "prez",
            "login=autre&mdp=x-password&idCarte=BBBB0002",
            "requete_malforme",
        ),
        ("prez", "login=au%20tre&mdp=x-password", "requete_malforme"),
        (
            "barman",
            "login=autre&mdp=x-password&droit=1",
            "droits_insuffisants",
        ),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/utilisateur/ajouter", &with(who, body)).await;
        assert_eq!(a.status(), status, "{body}");
    }
    assert!(w
        .store
        .user(&Login::parse("autre").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[actix_web::test]
async fn changing_rights_takes_effect_at_once() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(
        &app,
        "/api/utilisateur/droit",
        &with("prez", "login=barman&droit=1"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(&app, "/api/client/liste", &with("barman", "")).await;
    assert_eq!(a.status(), "droits_insuffisants");
    let cases = [
        ("prez", "login=inconnu&droit=1", "utilisateur_inconnu"),
        ("prez", "login=barman&droit=x", "requete_malforme"),
        ("prez", "login=barman", "requete_malforme"),
        ("prez", "login=prez&droit=2", "requete_malforme"),
        ("barmaid", "login=barman&droit=3", "droits_insuffisants"),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/utilisateur/droit", &with(who, body)).await;
        assert_eq!(a.status(), status, "{body}");
    }
}

#[actix_web::test]
async fn deleting_staff_keeps_their_history_and_ends_their_sessions() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "50").await;
    post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=2"),
    )
    .await;
    let a = post(
        &app,
        "/api/utilisateur/supprimer",
        &with("prez", "login=barman"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    assert_eq!(
        post(&app, "/api/client/liste", &with("barman", ""))
            .await
            .status(),
        "jeton_invalide"
    );
    let a = post(
        &app,
        "/api/utilisateur/connexion",
        "login=barman&mdp=motdepasse",
    )
    .await;
    assert_eq!(a.status(), "identifiants_invalides");
    let a = post(&app, "/api/utilisateur/connexion", "idCarte=BBBB0002").await;
    assert_eq!(a.status(), "carte_inconnue");
    let a = post(&app, "/api/client/fiche", &with("prez", "idCarte=AHS0DIEX")).await;
    assert_eq!(a.json["transactions"][1]["utilisateur"], "barman");
    let a = post(
        &app,
        "/api/utilisateur/supprimer",
        &with("prez", "login=barman"),
    )
    .await;
    assert_eq!(a.status(), "utilisateur_inconnu");
    let a = post(
        &app,
        "/api/utilisateur/supprimer",
        &with("barmaid", "login=bde"),
    )
    .await;
    assert_eq!(a.status(), "droits_insuffisants");
    let a = post(&app, "/api/utilisateur/supprimer", &with("prez", "")).await;
    assert_eq!(a.status(), "requete_malforme");
}

// ------------------------------------------------------------------ cards

#[actix_web::test]
async fn opening_cards() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(
        &app,
        "/api/client/ajouter",
        &with("bde", "idCarte=AHS0DIEX&solde=50"),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"ok","idTransaction":1,"soldeNouveau":50}"#
    );
    let cases = [
        ("bde", "idCarte=AHS0DIEX&solde=10", "client_existant"),
        ("bde", "idCarte=04A2B3C4D5E6F7&solde=0", "solde_negatif"),
        ("bde", "idCarte=04A2B3C4D5E6F7&solde=-5", "solde_negatif"),
        (
            "bde",
            "idCarte=04A2B3C4D5E6F7&solde=5&decouvert=true",
            "droits_insuffisants",
        ),
        (
            "barman",
            "idCarte=04A2B3C4D5E6F7&solde=5&decouvert=1",
            "droits_insuffisants",
        ),
        (
            "honeypot",
            "idCarte=04A2B3C4D5E6F7&solde=5",
            "droits_insuffisants",
        ),
        (
            "bde",
            "idCarte=04A2B3C4D5E6F7&solde=1000.01",
            "requete_malforme",
        ),
        (
            "bde",
            "idCarte=04A2B3C4D5E6F7&solde=5&decouvert=oui",
            "requete_malforme",
        ),
        ("bde", "idCarte=ABC&solde=5", "requete_malforme"),
        ("bde", "solde=5", "requete_malforme"),
        ("bde", "idCarte=04A2B3C4D5E6F7", "requete_malforme"),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/client/ajouter", &with(who, body)).await;
        assert_eq!(a.status(), status, "{body}");
    }
    assert_eq!(w.transaction_count().await, 1);
    let a = post(
        &app,
        "/api/client/ajouter",
        &with("bde", "idCarte=04a2b3c4d5e6f7&solde=1000"),
    )
    .await;
    assert_eq!(a.json["soldeNouveau"], json!(1000));
    let a = post(
        &app,
        "/api/client/ajouter",
        &with("prez", "idCarte=DEADBEEF&solde=-10&decouvert=true"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    assert!(a.text.contains(r#""soldeNouveau":-10"#));
    let a = post(
        &app,
        "/api/client/ajouter",
        &with("prez", "idCarte=DEADBEEF01&solde=0&decouvert=false"),
    )
    .await;
    assert_eq!(a.status(), "solde_negatif");
}

#[actix_web::test]
async fn topping_up_is_exact() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "15.60").await;
    let a = post(
        &app,
        "/api/client/recharger",
        &with("barman", "idCarte=AHS0DIEX&montant=0.20"),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"ok","idTransaction":2,"soldeAncien":15.6,"soldeNouveau":15.8}"#
    );
    assert_eq!(cents(w.balance("AHS0DIEX").await), 1580);
    let cases = [
        ("barman", "idCarte=NOPE0000&montant=5", "client_inconnu"),
        (
            "barman",
            "idCarte=AHS0DIEX&montant=0",
            "rechargement_negatif",
        ),
        (
            "barman",
            "idCarte=AHS0DIEX&montant=-5",
            "rechargement_negatif",
        ),
        ("bde", "idCarte=AHS0DIEX&montant=5", "droits_insuffisants"),
        ("barman", "idCarte=AHS0DIEX", "requete_malforme"),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/client/recharger", &with(who, body)).await;
        assert_eq!(a.status(), status, "{body}");
    }
    assert_eq!(cents(w.balance("AHS0DIEX").await), 1580);
}

#[actix_web::test]
async fn malformed_amounts_are_refused_and_change_nothing() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "20").await;
    let bad = [
        "1,5",
        "abc",
        "1e3",
        "1E3",
        "0.001",
        "1.005",
        "99999999999999999999",
        "",
        "%2B1",
        "-0",
        "%201",
        "1%20",
        ".5",
        "5.",
        "0x10",
        "NaN",
        "1000.01",
        "1001",
    ];
    for amount in bad {
        for path in ["/api/client/recharger", "/api/client/payer"] {
            let body = with("barman", &format!("idCarte=AHS0DIEX&montant={amount}"));
            let a = post(&app, path, &body).await;
            assert_eq!(a.status(), "requete_malforme", "{path} {amount}");
        }
        let body = with("bde", &format!("idCarte=CAFE0001&solde={amount}"));
        assert_eq!(
            post(&app, "/api/client/ajouter", &body).await.status(),
            "requete_malforme"
        );
    }
    assert_eq!(cents(w.balance("AHS0DIEX").await), 2000);
    assert_eq!(w.transaction_count().await, 1);
}

#[actix_web::test]
async fn android_bodies_without_content_type_and_double_amounts() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "5").await;
    let a = send(
        &app,
        bare(
            "/api/client/recharger",
            &with("barman", "idCarte=AHS0DIEX&montant=10.0"),
        ),
    )
    .await;
    assert_eq!(a.code, StatusCode::OK);
    assert_eq!(a.json["status"], "ok", "{}", a.text);
    assert_eq!(a.json["soldeNouveau"], json!(15));
    let a = send(
        &app,
        bare("/api/utilisateur/connexion", "login=barman&mdp=motdepasse"),
    )
    .await;
    assert_eq!(a.json["status"], "ok");
    let a = send(
        &app,
        bare(
            "/api/client/payer",
            &with("barman", "idCarte=AHS0DIEX&quantite=2.0"),
        ),
    )
    .await;
    assert_eq!(a.json["montant"], json!(3.6));
}

#[actix_web::test]
async fn json_bodies() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "5").await;
    let body =
        json!({"jeton": token("barman"), "idCarte": "AHS0DIEX", "montant": "10.0"}).to_string();
    let a = send(&app, json("/api/client/recharger", &body)).await;
    assert_eq!(a.json["status"], "ok", "{}", a.text);
    let body = format!(
        r#"{{"jeton":"{}","idCarte":"AHS0DIEX","montant":10.0}}"#,
        token("barman")
    );
    let a = send(&app, json("/api/client/recharger", &body)).await;
    assert_eq!(a.json["soldeNouveau"], json!(25));
    for bad in ["1e3", "0.001", "\"1,5\"", "true", "[1]", "{}", "1.0e1"] {
        let body = format!(
            r#"{{"jeton":"{}","idCarte":"AHS0DIEX","montant":{bad}}}"#,
            token("barman")
        );
        let a = send(&app, json("/api/client/recharger", &body)).await;
        assert_eq!(a.json["status"], "requete_malforme", "{bad}");
    }
    let body = format!(
        r#"{{"jeton":"{}","idCarte":"AHS0DIEX","montant":1,"montant":2}}"#,
        token("barman")
    );
    assert_eq!(
        send(&app, json("/api/client/recharger", &body)).await.json["status"],
        "requete_malforme"
    );
    assert_eq!(
        send(&app, json("/api/client/recharger", "not json"))
            .await
            .json["status"],
        "requete_malforme"
    );
    let body = json!({"jeton": token("barman"), "idCarte": "AHS0DIEX", "quantite": 2}).to_string();
    assert_eq!(
        send(&app, json("/api/client/payer", &body)).await.json["montant"],
        json!(3.6)
    );
    assert_eq!(cents(w.balance("AHS0DIEX").await), 2140);
}

#[actix_web::test]
async fn duplicated_fields_and_odd_bodies_are_malformed() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "5").await;
    let cases = [
        form(
            "/api/client/recharger",
            &with("barman", "idCarte=AHS0DIEX&montant=1&montant=500"),
        ),
        form(
            "/api/client/recharger",
            &with("barman", "idCarte=AHS0DIEX&idCarte=AHS0DIEX&montant=1"),
        ),
        form(
            "/api/client/recharger",
            &with("barman", "idCarte=AHS0DIEX&montant=%E9"),
        ),
        TestRequest::post()
            .uri("/api/client/recharger")
            .insert_header(("Content-Type", "text/plain"))
            .set_payload(with("barman", "idCarte=AHS0DIEX&montant=1")),
        form(
            "/api/client/recharger",
            &with(
                "barman",
                &format!("idCarte=AHS0DIEX&montant=1&x={}", "a".repeat(70_000)),
            ),
        ),
    ];
    for req in cases {
        let a = send(&app, req).await;
        assert_eq!(a.code, StatusCode::OK);
        assert_eq!(a.json["status"], "requete_malforme", "{}", a.text);
    }
    assert_eq!(cents(w.balance("AHS0DIEX").await), 500);
}

#[actix_web::test]
async fn paying_by_amount_or_quantity() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "20").await;
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=1.70"),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"ok","idTransaction":2,"montant":1.7,"soldeAncien":20,"soldeNouveau":18.3}"#
    );
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&quantite=2"),
    )
    .await;
    assert_eq!(a.json["montant"], json!(3.6));
    assert!(a.text.contains(r#""soldeNouveau":14.7"#), "{}", a.text);
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&quantite=6"),
    )
    .await;
    assert!(
        a.text.contains(r#""montant":10,"#),
        "bundle price: {}",
        a.text
    );
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&quantite=1&produit=soft"),
    )
    .await;
    assert!(a.text.contains(r#""montant":1.2,"#), "{}", a.text);
    assert_eq!(cents(w.balance("AHS0DIEX").await), 350);
    let cases = [
        ("idCarte=AHS0DIEX&montant=1&quantite=1", "requete_malforme"),
        ("idCarte=AHS0DIEX", "requete_malforme"),
        (
            "idCarte=AHS0DIEX&montant=1&produit=soft",
            "requete_malforme",
        ),
        ("idCarte=AHS0DIEX&quantite=1.5", "requete_malforme"),
        ("idCarte=AHS0DIEX&quantite=abc", "requete_malforme"),
        (
            "idCarte=AHS0DIEX&quantite=1&produit=%0A",
            "requete_malforme",
        ),
        ("idCarte=AHS0DIEX&quantite=0", "paiement_negatif"),
        ("idCarte=AHS0DIEX&quantite=-2", "paiement_negatif"),
        ("idCarte=AHS0DIEX&montant=0", "paiement_negatif"),
        ("idCarte=AHS0DIEX&montant=-1", "paiement_negatif"),
        ("idCarte=AHS0DIEX&quantite=1&produit=vin", "produit_inconnu"),
        ("idCarte=NOPE0000&montant=1", "client_inconnu"),
    ];
    for (body, status) in cases {
        let a = post(&app, "/api/client/payer", &with("barman", body)).await;
        assert_eq!(a.status(), status, "{body}");
    }
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&quantite=2"),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"solde_insuffisant","solde":3.5,"manque":0.1}"#
    );
    let a = post(
        &app,
        "/api/client/payer",
        &with("bde", "idCarte=AHS0DIEX&montant=1"),
    )
    .await;
    assert_eq!(a.status(), "droits_insuffisants");
    assert_eq!(cents(w.balance("AHS0DIEX").await), 350);
}

#[actix_web::test]
async fn blocked_cards_and_balance_ceilings() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "20").await;
    let id = CardId::parse("AHS0DIEX").unwrap();
    w.ledger
        .edit_card(&id, |c| c.max_balance = Some(Money::from_cents(2500)))
        .unwrap();
    let a = post(
        &app,
        "/api/client/recharger",
        &with("barman", "idCarte=AHS0DIEX&montant=10"),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"solde_maximum","solde":20,"maximum":25}"#
    );
    w.ledger
        .edit_card(&id, |c| c.status = CardStatus::Blocked)
        .unwrap();
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=1"),
    )
    .await;
    assert_eq!(a.text, r#"{"status":"carte_bloquee","etat":"blocked"}"#);
    assert_eq!(cents(w.balance("AHS0DIEX").await), 2000);
}

#[actix_web::test]
async fn draining_cards() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "12.34").await;
    let a = post(
        &app,
        "/api/client/vidange",
        &with("barman", "idCarte=AHS0DIEX"),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"ok","idTransaction":2,"soldeAncien":12.34,"soldeNouveau":0}"#
    );
    let a = post(
        &app,
        "/api/client/vidange",
        &with("barman", "idCarte=AHS0DIEX"),
    )
    .await;
    assert_eq!(a.status(), "solde_negatif");
    let a = post(
        &app,
        "/api/client/vidange",
        &with("barman", "idCarte=NOPE0000"),
    )
    .await;
    assert_eq!(a.status(), "client_inconnu");
    let a = post(
        &app,
        "/api/client/vidange",
        &with("bde", "idCarte=AHS0DIEX"),
    )
    .await;
    assert_eq!(a.status(), "droits_insuffisants");
}

#[actix_web::test]
async fn listing_cards_shows_overdraft_to_presidents_only() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "48.3").await;
    w.open("BEEF0001", "5").await;
    post(
        &app,
        "/api/client/decouvert",
        &with("prez", "idCarte=BEEF0001&decouvert=true"),
    )
    .await;
    let a = post(&app, "/api/client/liste", &with("prez", "")).await;
    assert_eq!(
        a.json["clients"],
        json!([
            {"idCarte": "AHS0DIEX", "solde": 48.3, "decouvert": false, "decouvertMax": 0},
            {"idCarte": "BEEF0001", "solde": 5, "decouvert": true, "decouvertMax": 50}
        ])
    );
    let a = post(&app, "/api/client/liste", &with("barman", "")).await;
    assert_eq!(
        a.json["clients"],
        json!([{"idCarte": "AHS0DIEX", "solde": 48.3}, {"idCarte": "BEEF0001", "solde": 5}])
    );
    let a = post(&app, "/api/client/liste", &with("bde", "")).await;
    assert_eq!(a.status(), "droits_insuffisants");
}

#[actix_web::test]
async fn card_sheets_have_the_seed_shape_oldest_first() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "50").await;
    w.clock.advance(Duration::milliseconds(277_143));
    post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&quantite=1"),
    )
    .await;
    let a = post(&app, "/api/client/fiche", &with("prez", "idCarte=AHS0DIEX")).await;
    let start = 1_460_374_470_000_i64;
    assert_eq!(
        a.json,
        json!({
            "status": "ok",
            "idCarte": "AHS0DIEX",
            "solde": 48.2,
            "decouvert": false,
            "decouvertMax": 0,
            "transactions": [
                {"id": 1, "type": 1, "client": "AHS0DIEX", "date": start, "montant": 50,
                 "qte": 0, "quantite": 0, "valide": true, "utilisateur": "prez"},
                {"id": 2, "type": 3, "client": "AHS0DIEX", "date": start + 277_143,
                 "montant": 1.8, "qte": 1, "quantite": 1, "valide": true,
                 "utilisateur": "barman"}
            ]
        })
    );
    let a = post(
        &app,
        "/api/client/fiche",
        &with("barman", "idCarte=AHS0DIEX"),
    )
    .await;
    assert!(a.json.get("decouvert").is_none());
    assert_eq!(a.json["transactions"].as_array().unwrap().len(), 2);
    let a = post(
        &app,
        "/api/client/fiche",
        &with("barman", "idCarte=NOPE0000"),
    )
    .await;
    assert_eq!(a.status(), "client_inconnu");
    let a = post(&app, "/api/client/fiche", &with("bde", "idCarte=AHS0DIEX")).await;
    assert_eq!(a.status(), "droits_insuffisants");
}

#[actix_web::test]
async fn overdraft_setting() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "1").await;
    let a = post(
        &app,
        "/api/client/decouvert",
        &with("prez", "idCarte=AHS0DIEX&decouvert=true"),
    )
    .await;
    assert_eq!(a.text, r#"{"status":"ok"}"#);
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=30"),
    )
    .await;
    assert!(a.text.contains(r#""soldeNouveau":-29"#), "{}", a.text);
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=25"),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"solde_insuffisant","solde":-29,"manque":4}"#
    );
    let a = post(
        &app,
        "/api/client/decouvert",
        &with("prez", "idCarte=AHS0DIEX&decouvert=0"),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let cases = [
        (
            "barman",
            "idCarte=AHS0DIEX&decouvert=true",
            "droits_insuffisants",
        ),
        ("prez", "idCarte=NOPE0000&decouvert=true", "client_inconnu"),
        (
            "prez",
            "idCarte=AHS0DIEX&decouvert=peut-etre",
            "requete_malforme",
        ),
        ("prez", "idCarte=AHS0DIEX", "requete_malforme"),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/client/decouvert", &with(who, body)).await;
        assert_eq!(a.status(), status, "{body}");
    }
}

#[actix_web::test]
async fn card_info_names_the_client_and_the_staff_user() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "1").await;
    w.open("BBBB0002", "1").await;
    let cases = [
        ("AHS0DIEX", json!("AHS0DIEX"), json!(false)),
        ("bbbb0002", json!("BBBB0002"), json!("barman")),
        ("AAAA0001", json!(false), json!("prez")),
        ("CAFE0001", json!(false), json!(false)),
    ];
    for (card, client, user) in cases {
        let a = post(
            &app,
            "/api/carte/info",
            &with("bde", &format!("idCarte={card}")),
        )
        .await;
        assert_eq!(
            a.json,
            json!({"status": "ok", "client": client, "utilisateur": user}),
            "{card}"
        );
    }
    let a = post(
        &app,
        "/api/carte/info",
        &with("honeypot", "idCarte=AHS0DIEX"),
    )
    .await;
    assert_eq!(a.status(), "droits_insuffisants");
    let a = post(&app, "/api/carte/info", &with("bde", "idCarte=A")).await;
    assert_eq!(a.status(), "requete_malforme");
}

// ------------------------------------------------------------------ corrections

#[actix_web::test]
async fn cancelling() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "10").await;
    let paid = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=1.80"),
    )
    .await;
    let id = paid.json["idTransaction"].as_i64().unwrap();
    let a = post(
        &app,
        "/api/annuler",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(
        a.text,
        format!(
            r#"{{"status":"ok","client":"AHS0DIEX","soldeAncien":8.2,"soldeNouveau":10,"idTransaction":{id}}}"#
        )
    );
    let again = post(
        &app,
        "/api/annuler",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(again.status(), "transactions_deja_annulee");
    let cases = [
        ("barman", "idTransaction=999", "transaction_inconnue"),
        ("barman", "idTransaction=abc", "requete_malforme"),
        ("barman", "idTransaction=-1", "requete_malforme"),
        ("barman", "", "requete_malforme"),
        ("bde", "idTransaction=1", "droits_insuffisants"),
        ("barmaid", "idTransaction=1", "transaction_autre"),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/annuler", &with(who, body)).await;
        assert_eq!(a.status(), status, "{who} {body}");
    }
    // Below rights 3, only within the window; rights 3 at any time.
    let paid = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=1"),
    )
    .await;
    let id = paid.json["idTransaction"].as_i64().unwrap();
    w.clock.advance(Duration::seconds(121));
    for who in ["barman", "prez"] {
        post(&app, "/api/client/liste", &with(who, "")).await; // keep the sessions alive
    }
    let a = post(
        &app,
        "/api/annuler",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(a.status(), "transaction_expiree");
    let a = post(
        &app,
        "/api/annuler",
        &with("prez", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(a.status(), "ok");
    assert_eq!(cents(w.balance("AHS0DIEX").await), 1000);
    assert_eq!(
        w.ledger.changes().unwrap().len(),
        2,
        "each cancel is recorded"
    );
}

#[actix_web::test]
async fn cancelling_a_spent_top_up_respects_the_floor() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "1").await;
    let top = post(
        &app,
        "/api/client/recharger",
        &with("barman", "idCarte=AHS0DIEX&montant=10"),
    )
    .await;
    let id = top.json["idTransaction"].as_i64().unwrap();
    post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=9"),
    )
    .await;
    let a = post(
        &app,
        "/api/annuler",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"solde_insuffisant","solde":2,"manque":8}"#
    );
    assert_eq!(cents(w.balance("AHS0DIEX").await), 200);
}

#[actix_web::test]
async fn redoing() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "5").await;
    let paid = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=4"),
    )
    .await;
    let id = paid.json["idTransaction"].as_i64().unwrap();
    let a = post(
        &app,
        "/api/refaire",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(a.status(), "transactions_deja_active");
    post(
        &app,
        "/api/annuler",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    let a = post(
        &app,
        "/api/refaire",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(
        a.text,
        format!(
            r#"{{"status":"ok","client":"AHS0DIEX","soldeAncien":5,"soldeNouveau":1,"idTransaction":{id}}}"#
        )
    );
    // Redoing a payment respects the floor.
    post(
        &app,
        "/api/annuler",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=3"),
    )
    .await;
    let a = post(
        &app,
        "/api/refaire",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(
        a.text,
        r#"{"status":"solde_insuffisant","solde":2,"manque":2}"#
    );
    let cases = [
        ("barman", "idTransaction=999", "transaction_inconnue"),
        (
            "barmaid",
            &*format!("idTransaction={id}"),
            "transaction_autre",
        ),
        (
            "bde",
            &*format!("idTransaction={id}"),
            "droits_insuffisants",
        ),
        ("barman", "idTransaction=1.0", "requete_malforme"),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/refaire", &with(who, body)).await;
        assert_eq!(a.status(), status, "{who} {body}");
    }
    w.clock.advance(Duration::seconds(121));
    post(&app, "/api/client/liste", &with("barman", "")).await;
    let a = post(
        &app,
        "/api/refaire",
        &with("barman", &format!("idTransaction={id}")),
    )
    .await;
    assert_eq!(a.status(), "transaction_expiree");
}

#[actix_web::test]
async fn four_simultaneous_cancels_succeed_once() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "10").await;
    let paid = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=2"),
    )
    .await;
    let id = paid.json["idTransaction"].as_i64().unwrap();
    let body = with("prez", &format!("idTransaction={id}"));
    let answers =
        futures::future::join_all((0..4).map(|_| post(&app, "/api/annuler", &body))).await;
    let statuses: Vec<&str> = answers.iter().map(|a| a.status()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "ok").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == "transactions_deja_annulee")
            .count(),
        3
    );
    assert_eq!(cents(w.balance("AHS0DIEX").await), 1000);
}

// ------------------------------------------------------------------ reads

#[actix_web::test]
async fn all_transactions_with_paging() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "10").await;
    for _ in 0..4 {
        post(
            &app,
            "/api/client/payer",
            &with("barman", "idCarte=AHS0DIEX&montant=1"),
        )
        .await;
    }
    let a = post(&app, "/api/transactions", &with("prez", "")).await;
    let ids: Vec<i64> = a.json["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    let a = post(
        &app,
        "/api/transactions",
        &with("prez", "depuis=2&limite=2"),
    )
    .await;
    let ids: Vec<i64> = a.json["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 4]);
    let cases = [
        ("barman", "", "droits_insuffisants"),
        ("prez", "limite=0", "requete_malforme"),
        ("prez", "limite=-1", "requete_malforme"),
        ("prez", "limite=99999999999", "requete_malforme"),
        ("prez", "depuis=x", "requete_malforme"),
    ];
    for (who, body, status) in cases {
        let a = post(&app, "/api/transactions", &with(who, body)).await;
        assert_eq!(a.status(), status, "{body}");
    }
}

#[actix_web::test]
async fn statistics() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "10").await;
    w.open("BEEF0001", "5").await;
    post(
        &app,
        "/api/client/decouvert",
        &with("prez", "idCarte=BEEF0001&decouvert=true"),
    )
    .await;
    post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=BEEF0001&montant=7.5"),
    )
    .await;
    post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&quantite=3"),
    )
    .await;
    // Cards opened by the association (rights 1) are what it owes the bar (`factureBDE`);
    // a cancelled one no longer counts.
    for (card, amount) in [("CAFE0001", "12.5"), ("CAFE0002", "4"), ("CAFE0003", "0.3")] {
        let a = post(
            &app,
            "/api/client/ajouter",
            &with("bde", &format!("idCarte={card}&solde={amount}")),
        )
        .await;
        assert_eq!(a.status(), "ok");
    }
    let a = post(&app, "/api/transactions", &with("prez", "")).await;
    let last = a.json["transactions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["client"], "CAFE0003");
    let a = post(
        &app,
        "/api/annuler",
        &with("prez", &format!("idTransaction={}", last["id"])),
    )
    .await;
    assert_eq!(a.status(), "ok");
    let a = post(&app, "/api/statistiques", &with("barman", "")).await;
    // soldeMoy averages the positive balances only: (4.6 + 12.5 + 4) / 3 = 7.03 (toward
    // zero); BEEF0001 (-2.5) and CAFE0003 (0) are left out.
    assert_eq!(
        a.text,
        r#"{"status":"ok","recettes":21.1,"dettes":-2.5,"benefices":18.6,"clientsNb":5,"consommationsNb":3,"soldeMoy":7.03,"factureBDE":16.5}"#
    );
    let a = post(&app, "/api/statistiques", &with("bde", "")).await;
    assert_eq!(a.status(), "droits_insuffisants");
}

// ------------------------------------------------------------------ failures

#[actix_web::test]
async fn storage_and_internal_failures_are_opaque() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    w.open("AHS0DIEX", "10").await;
    w.fail_next(DomainError::StorageUnavailable);
    let a = post(
        &app,
        "/api/client/payer",
        &with("barman", "idCarte=AHS0DIEX&montant=1"),
    )
    .await;
    assert_eq!(a.text, r#"{"status":"erreur_bdd"}"#);
    w.fail_next(DomainError::Internal(
        "SELECT * FROM cards: disk I/O error".into(),
    ));
    let a = post(
        &app,
        "/api/client/fiche",
        &with("barman", "idCarte=AHS0DIEX"),
    )
    .await;
    assert_eq!(a.text, r#"{"status":"erreur_generique"}"#);
    assert_eq!(cents(w.balance("AHS0DIEX").await), 1000);
}

// ------------------------------------------------------------------ CORS

#[actix_web::test]
async fn cors_allows_configured_origins_only() {
    let w = world().await;
    let app = app(&w.state, &[ORIGIN]).await;
    let a = send(
        &app,
        TestRequest::get()
            .uri("/api/coucou")
            .insert_header(("Origin", ORIGIN)),
    )
    .await;
    assert_eq!(
        a.headers.get("access-control-allow-origin").unwrap(),
        ORIGIN
    );
    let preflight = TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/api/client/payer")
        .insert_header(("Origin", ORIGIN))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header(("Access-Control-Request-Headers", "token"));
    let a = send(&app, preflight).await;
    assert!(a.code.is_success(), "{:?}", a.code);
    assert_eq!(
        a.headers.get("access-control-allow-origin").unwrap(),
        ORIGIN
    );
    // A browser administration page: /v1's other methods and its Idempotency-Key.
    for method in ["PATCH", "PUT", "DELETE"] {
        let preflight = TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/members/1")
            .insert_header(("Origin", ORIGIN))
            .insert_header(("Access-Control-Request-Method", method))
            .insert_header((
                "Access-Control-Request-Headers",
                "authorization, content-type, idempotency-key",
            ));
        let a = send(&app, preflight).await;
        assert!(a.code.is_success(), "{method}: {:?}", a.code);
        let allowed = a.headers.get("access-control-allow-methods").unwrap();
        assert!(allowed.to_str().unwrap().contains(method), "{allowed:?}");
        let headers = a.headers.get("access-control-allow-headers").unwrap();
        assert!(
            headers.to_str().unwrap().contains("idempotency-key"),
            "{headers:?}"
        );
    }
    let a = send(
        &app,
        TestRequest::get()
            .uri("/api/coucou")
            .insert_header(("Origin", ORIGIN)),
    )
    .await;
    let exposed = a
        .headers
        .get("access-control-expose-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["location", "idempotency-replayed", "retry-after"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    let a = send(
        &app,
        TestRequest::get()
            .uri("/api/coucou")
            .insert_header(("Origin", "https://evil.example")),
    )
    .await;
    assert!(a.headers.get("access-control-allow-origin").is_none());
    // The Android app sends no Origin at all.
    assert_eq!(
        send(&app, TestRequest::get().uri("/api/coucou")).await.code,
        StatusCode::OK
    );

    let app = app_any(&w).await;
    let a = send(
        &app,
        TestRequest::get()
            .uri("/api/coucou")
            .insert_header(("Origin", "https://anywhere.example")),
    )
    .await;
    assert_eq!(a.headers.get("access-control-allow-origin").unwrap(), "*");
}

async fn app_any(
    w: &World,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    app(&w.state, &["*"]).await
}

#[test]
fn origins_are_checked() {
    let ok: Vec<String> = [
        "*",
        "https://caisse.example.org",
        "http://localhost:8080",
        "http://[::1]:3000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(ardoise_http::check_origins(&ok).is_ok());
    for bad in [
        "caisse.example.org",
        "https://x.org/",
        "ftp://x.org",
        "https://",
        "https://a b",
    ] {
        let err = ardoise_http::check_origins(&[bad.to_string()]).unwrap_err();
        assert!(err.contains("http.cors_origins"), "{err}");
    }
}

#[actix_web::test]
async fn session_rows_never_hold_the_token() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let a = post(&app, "/api/utilisateur/connexion", "idCarte=AAAA0001").await;
    let jeton = a.json["jeton"].as_str().unwrap().to_owned();
    for s in w.store.sessions() {
        assert_ne!(s.token_hash, jeton);
        assert_eq!(s.token_hash.len(), 64);
    }
    assert!(w
        .store
        .find(&ardoise_auth::token_hash(&jeton))
        .await
        .unwrap()
        .is_some());
}
