//! Members in their own space, against the real binary on each backend: an invitation, the
//! password set with its link, the member's login, their cards and history, a card declared
//! lost (the POS refuses it), preferences, export and deletion (profile anonymised, ledger
//! unchanged, invariant 1); and the isolation of members from each other, from staff and
//! from partners.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_invariant, backends, Server};
use crate::v1_partner::{add_partner, token};
use crate::v1_staff::{call, get, post, refused, session};

async fn put(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PUT, path, Some(token), Some(body), &[]).await
}

async fn patch(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PATCH, path, Some(token), Some(body), &[]).await
}

pub(crate) async fn delete(
    s: &Server,
    path: &str,
    token: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::DELETE, path, Some(token), None, &[]).await
}

/// A public POST (no token).
async fn public(s: &Server, path: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::POST, path, None, Some(body), &[]).await
}

/// Creates a member with `email` and a card of `balance` linked to them; the member's id.
pub(crate) async fn member_with_card(
    s: &Server,
    staff: &str,
    name: &str,
    email: &str,
    card: &str,
    balance: &str,
) -> i64 {
    let (status, _, v) = post(
        s,
        "/v1/members",
        staff,
        json!({"last_name": name, "email": email, "notes": "paid in cash"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let id = v["data"]["id"].as_i64().unwrap();
    let (status, _, v) = post(
        s,
        "/v1/cards",
        staff,
        json!({"card": card, "balance": balance}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, _, v) = post(
        s,
        &format!("/v1/members/{id}/cards"),
        staff,
        json!({"card": card}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    id
}

/// Invites member `id` (by staff) and sets `password` with the link; the link.
pub(crate) async fn activate(s: &Server, staff: &str, id: i64, password: &str) -> String {
    let (status, headers, v) = post(
        s,
        &format!("/v1/members/{id}/invitation"),
        staff,
        Value::Null,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["code"], "INVITATION_CREATED");
    assert_eq!(headers["location"], format!("/v1/members/{id}").as_str());
    let link = v["data"]["link"].as_str().unwrap().to_owned();
    let (status, _, v) = public(
        s,
        "/v1/member-passwords",
        json!({"token": link_token(&link), "password": password}),
    )
    .await;
    assert_eq!(status, 204, "{v}");
    link
}

fn link_token(link: &str) -> &str {
    link.rsplit('/').next().unwrap()
}

/// Logs a member in; the bearer token.
pub(crate) async fn login(s: &Server, email: &str, password: &str) -> String {
    let (status, headers, v) = public(
        s,
        "/v1/member-sessions",
        json!({"email": email, "password": password}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(headers["location"], "/v1/member-sessions/current");
    v["data"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_member_is_invited_sees_their_cards_declares_one_lost_and_leaves_with_their_data() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let id =
            member_with_card(&s, &bde, "Durand", "Zoe@Example.org", "04A1B2C3D4", "20.00").await;
        let (status, _, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/payments",
            &barman,
            json!({"amount": "2.50"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");

        // The invitation: shown once to staff, on the request's origin, valid 72 h.
        let (status, _, v) = post(
            &s,
            &format!("/v1/members/{id}/invitation"),
            &bde,
            Value::Null,
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let first = v["data"]["link"].as_str().unwrap().to_owned();
        assert!(
            first.starts_with(&format!("{}/me/welcome/", s.base)),
            "{first}"
        );
        let expires =
            chrono::DateTime::parse_from_rfc3339(v["data"]["expires_at"].as_str().unwrap())
                .unwrap();
        let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
        assert!((71 * 60..=72 * 60).contains(&hours), "{hours} minutes");
        // Honeypot staff (rights 0) may not invite; a member without e-mail cannot be.
        let honeypot = session(&s, "honeypot").await;
        refused(
            &post(
                &s,
                &format!("/v1/members/{id}/invitation"),
                &honeypot,
                Value::Null,
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        let (_, _, v) = post(&s, "/v1/members", &bde, json!({"last_name": "Sans"})).await;
        let nameless = v["data"]["id"].as_i64().unwrap();
        let answer = post(
            &s,
            &format!("/v1/members/{nameless}/invitation"),
            &bde,
            Value::Null,
        )
        .await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert!(answer.2["debugMessage"]
            .as_str()
            .unwrap()
            .contains("`email`"));
        refused(
            &post(&s, "/v1/members/999/invitation", &bde, Value::Null).await,
            404,
            "MEMBER_NOT_FOUND_ERROR",
        );

        // A newer invitation replaces the first; a short password leaves the link usable.
        let link = {
            let (_, _, v) = post(
                &s,
                &format!("/v1/members/{id}/invitation"),
                &bde,
                Value::Null,
            )
            .await;
            v["data"]["link"].as_str().unwrap().to_owned()
        };
        let short = public(
            &s,
            "/v1/member-passwords",
            json!({"token": link_token(&link), "password": "1234567"}),
        )
        .await;
        refused(&short, 400, "VALIDATION_ERROR");
        assert!(short.2["debugMessage"]
            .as_str()
            .unwrap()
            .contains("`password`"));
        refused(
            &public(
                &s,
                "/v1/member-passwords",
                json!({"token": link_token(&first), "password": "correct horse"}),
            )
            .await,
            400,
            "INVALID_LINK_ERROR",
        );
        refused(
            &public(
                &s,
                "/v1/member-passwords",
                json!({"token": link_token(&link), "password": "correct horse", "extra": 1}),
            )
            .await,
            400,
            "VALIDATION_ERROR",
        );
        let (status, _, v) = public(
            &s,
            "/v1/member-passwords",
            json!({"token": link_token(&link), "password": "correct horse"}),
        )
        .await;
        assert_eq!(status, 204, "{v}");
        // One time only.
        refused(
            &public(
                &s,
                "/v1/member-passwords",
                json!({"token": link_token(&link), "password": "another horse"}),
            )
            .await,
            400,
            "INVALID_LINK_ERROR",
        );

        // Login: the address without case; a wrong password and an unknown address alike.
        refused(
            &public(
                &s,
                "/v1/member-sessions",
                json!({"email": "zoe@example.org", "password": "wrong horse"}),
            )
            .await,
            401,
            "INVALID_CREDENTIALS_ERROR",
        );
        refused(
            &public(
                &s,
                "/v1/member-sessions",
                json!({"email": "nobody@example.org", "password": "correct horse"}),
            )
            .await,
            401,
            "INVALID_CREDENTIALS_ERROR",
        );
        let (status, _, v) = public(
            &s,
            "/v1/member-sessions",
            json!({"email": "ZOE@example.ORG", "password": "correct horse"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["expires_in"], 1800);
        assert_eq!(v["data"]["member"]["id"], id);
        assert_eq!(
            v["data"]["member"].get("notes"),
            None,
            "notes are the association's"
        );
        let me = v["data"]["token"].as_str().unwrap().to_owned();
        assert_eq!(me.len(), 30);

        // Profile: read, edit, but not the notes.
        let (status, _, v) = get(&s, "/v1/me", &me).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["last_name"], "Durand");
        assert_eq!(v["data"]["email"], "Zoe@example.org");
        let answer = patch(&s, "/v1/me", &me, json!({"notes": "mine"})).await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert!(answer.2["debugMessage"]
            .as_str()
            .unwrap()
            .contains("`notes`"));
        refused(
            &patch(&s, "/v1/me", &me, json!({"nickname": "Z"})).await,
            400,
            "VALIDATION_ERROR",
        );
        refused(
            &patch(&s, "/v1/me", &me, json!({"phone": 33612345678_i64})).await,
            400,
            "VALIDATION_ERROR",
        );
        let (status, _, v) = patch(
            &s,
            "/v1/me",
            &me,
            json!({"mobile": "+33 6 12 34 56 78", "first_name": "Zoé"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["mobile"], "+33612345678");
        let (_, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        assert_eq!(
            v["data"]["notes"], "paid in cash",
            "the notes did not change"
        );

        // The e-mail address is the login: changing it needs the current password, and a
        // refusal changes nothing.
        let answer = patch(
            &s,
            "/v1/me",
            &me,
            json!({"email": "zoe.durand@example.org"}),
        )
        .await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert!(answer.2["debugMessage"]
            .as_str()
            .unwrap()
            .contains("`password`"));
        refused(
            &patch(
                &s,
                "/v1/me",
                &me,
                json!({"email": "zoe.durand@example.org", "password": "wrong horse", "first_name": "Z"}),
            )
            .await,
            401,
            "INVALID_CREDENTIALS_ERROR",
        );
        refused(
            &patch(
                &s,
                "/v1/me",
                &me,
                json!({"first_name": "Z", "password": "correct horse"}),
            )
            .await,
            400,
            "VALIDATION_ERROR",
        );
        let (_, _, v) = get(&s, "/v1/me", &me).await;
        assert_eq!(v["data"]["email"], "Zoe@example.org", "{v}");
        assert_eq!(v["data"]["first_name"], "Zoé", "{v}");
        let (status, _, v) = patch(
            &s,
            "/v1/me",
            &me,
            json!({"email": "zoe.durand@example.org", "password": "correct horse"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["email"], "zoe.durand@example.org");
        login(&s, "zoe.durand@example.org", "correct horse").await;
        let (status, _, v) = patch(
            &s,
            "/v1/me",
            &me,
            json!({"email": "Zoe@example.org", "password": "correct horse"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");

        // Cards and history, newest first, paged.
        let (status, _, v) = get(&s, "/v1/me/cards", &me).await;
        assert_eq!(status, 200, "{v}");
        let cards = v["data"]["items"].as_array().unwrap();
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0]["card"], "04A1B2C3D4");
        assert_eq!(cards[0]["balance"], "17.50");
        assert_eq!(cards[0]["status"], "active");
        assert_eq!(cards[0]["valid_until"], Value::Null);
        let (status, headers, v) =
            get(&s, "/v1/me/cards/04A1B2C3D4/transactions?per_page=1", &me).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["total"], 2);
        assert_eq!(v["data"]["items"][0]["type"], "payment");
        assert_eq!(v["data"]["items"][0]["amount"], "2.50");
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
        let (_, _, v) = get(
            &s,
            "/v1/me/cards/04A1B2C3D4/transactions?page=2&per_page=1",
            &me,
        )
        .await;
        assert_eq!(v["data"]["items"][0]["type"], "creation");

        // Declared lost: blocked at once, the POS refuses it, the balance stays.
        let (status, _, v) = post(&s, "/v1/me/cards/04A1B2C3D4/lost", &me, Value::Null).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["status"], "lost");
        assert_eq!(v["data"]["valid"], false);
        assert_eq!(v["data"]["balance"], "17.50");
        let pos = s.login("barman").await;
        let v = s
            .api(
                "client/payer",
                &[("jeton", &pos), ("idCarte", "04A1B2C3D4"), ("montant", "1")],
            )
            .await;
        assert_eq!(v["status"], "carte_bloquee", "{v}");
        refused(
            &post(
                &s,
                "/v1/cards/04A1B2C3D4/payments",
                &barman,
                json!({"amount": "1.00"}),
            )
            .await,
            409,
            "CARD_NOT_USABLE_ERROR",
        );
        let (_, _, v) = get(&s, "/v1/me/cards", &me).await;
        assert_eq!(v["data"]["items"][0]["status"], "lost");

        // Preferences: the defaults, then saved whole; strict types.
        let (status, _, v) = get(&s, "/v1/me/preferences", &me).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["data"],
            json!({"channels": {"email": true, "sms": false, "push": false}, "low_balance": null, "receipts": false, "advertisements": false})
        );
        let wanted = json!({"channels": {"email": true, "sms": true, "push": false}, "low_balance": "5.00", "receipts": true, "advertisements": true});
        let (status, _, v) = put(&s, "/v1/me/preferences", &me, wanted.clone()).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"], wanted);
        for bad in [
            json!({"channels": {"email": "yes", "sms": false, "push": false}, "receipts": true}),
            json!({"channels": {"email": true, "sms": false, "push": false}, "receipts": true, "low_balance": 5}),
            json!({"channels": {"email": true, "sms": false, "push": false}, "receipts": true, "low_balance": "-1.00"}),
            json!({"channels": {"email": true, "sms": false, "push": false}, "receipts": true, "spam": true}),
            json!({"receipts": true}),
        ] {
            refused(
                &put(&s, "/v1/me/preferences", &me, bad.clone()).await,
                400,
                "VALIDATION_ERROR",
            );
        }
        let (_, _, v) = get(&s, "/v1/me/preferences", &me).await;
        assert_eq!(v["data"], wanted, "a refused document changed nothing");
        // Advertisements need an explicit opt-in: left out, they are off.
        let (_, _, v) = put(
            &s,
            "/v1/me/preferences",
            &me,
            json!({"channels": {"email": true, "sms": false, "push": false}, "receipts": false}),
        )
        .await;
        assert_eq!(v["data"]["advertisements"], false);
        assert_eq!(v["data"]["low_balance"], Value::Null);
        put(&s, "/v1/me/preferences", &me, wanted.clone()).await;

        // Export: profile with the association's notes, preferences, cards with history.
        let (status, _, v) = get(&s, "/v1/me/export", &me).await;
        assert_eq!(status, 200, "{v}");
        let d = &v["data"];
        assert_eq!(d["profile"]["last_name"], "Durand");
        assert_eq!(d["notes"], "paid in cash");
        assert_eq!(d["preferences"], wanted);
        assert_eq!(d["cards"][0]["card"], "04A1B2C3D4");
        let history: Vec<&str> = d["cards"][0]["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["type"].as_str().unwrap())
            .collect();
        assert_eq!(history, ["creation", "payment"]);

        // Deletion: the profile anonymised, the ledger unchanged, the token dead.
        let (_, _, before) = get(&s, "/v1/cards/04A1B2C3D4/transactions", &barman).await;
        let (status, _, v) = delete(&s, "/v1/me", &me).await;
        assert_eq!(status, 204, "{v}");
        refused(&get(&s, "/v1/me", &me).await, 401, "INVALID_TOKEN_ERROR");
        let (_, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        let d = &v["data"];
        assert_eq!(d["display_name"], "deleted member");
        for field in [
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "keywords",
            "notes",
        ] {
            assert_eq!(d[field], Value::Null, "{field}: {v}");
        }
        let (_, _, after) = get(&s, "/v1/cards/04A1B2C3D4/transactions", &barman).await;
        assert_eq!(before["data"], after["data"], "the ledger is unchanged");
        let (_, _, v) = get(&s, "/v1/cards/04A1B2C3D4", &barman).await;
        assert_eq!(v["data"]["balance"], "17.50");
        assert_invariant(&s, &pos).await;
        // The account is gone: no login, and the address is free again.
        refused(
            &public(
                &s,
                "/v1/member-sessions",
                json!({"email": "zoe@example.org", "password": "correct horse"}),
            )
            .await,
            401,
            "INVALID_CREDENTIALS_ERROR",
        );
        let (status, _, v) = post(
            &s,
            "/v1/members",
            &bde,
            json!({"last_name": "Durand", "email": "zoe@example.org"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
    }
}

#[tokio::test]
async fn a_member_sees_only_their_own_data_and_other_tokens_are_refused() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let prez = session(&s, "prez").await;
        let a = member_with_card(&s, &bde, "Alpha", "alpha@example.org", "0A0A0A0A", "10.00").await;
        let b = member_with_card(&s, &bde, "Bravo", "bravo@example.org", "0B0B0B0B", "30.00").await;
        // A card of nobody's.
        post(
            &s,
            "/v1/cards",
            &bde,
            json!({"card": "0C0C0C0C", "balance": "5.00"}),
        )
        .await;
        activate(&s, &bde, a, "alpha-password").await;
        activate(&s, &bde, b, "bravo-password").await;
        let alice = login(&s, "alpha@example.org", "alpha-password").await;
        let bob = login(&s, "bravo@example.org", "bravo-password").await;
        let (_, _, v) = put(&s, "/v1/me/preferences", &bob, json!({"channels": {"email": false, "sms": true, "push": true}, "low_balance": "9.00", "receipts": true, "advertisements": true})).await;
        assert_eq!(v["success"], true, "{v}");

        // Each sees only their own.
        let (_, _, v) = get(&s, "/v1/me", &alice).await;
        assert_eq!(v["data"]["id"], a);
        let (_, _, v) = get(&s, "/v1/me/cards", &alice).await;
        let cards: Vec<&str> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["card"].as_str().unwrap())
            .collect();
        assert_eq!(cards, ["0A0A0A0A"]);
        let (_, _, v) = get(&s, "/v1/me/preferences", &alice).await;
        assert_eq!(
            v["data"]["low_balance"],
            Value::Null,
            "not bob's preferences"
        );
        let (_, _, v) = get(&s, "/v1/me/export", &alice).await;
        assert_eq!(v["data"]["cards"].as_array().unwrap().len(), 1);
        assert_eq!(v["data"]["cards"][0]["card"], "0A0A0A0A");

        // Another member's card, nobody's card, an unknown card: all 404 alike; nothing changes.
        for card in ["0B0B0B0B", "0C0C0C0C", "0D0D0D0D"] {
            refused(
                &get(&s, &format!("/v1/me/cards/{card}/transactions"), &alice).await,
                404,
                "CARD_NOT_FOUND_ERROR",
            );
            refused(
                &post(
                    &s,
                    &format!("/v1/me/cards/{card}/lost"),
                    &alice,
                    Value::Null,
                )
                .await,
                404,
                "CARD_NOT_FOUND_ERROR",
            );
        }
        let (_, _, v) = get(&s, "/v1/cards/0B0B0B0B", &prez).await;
        assert_eq!(v["data"]["status"], "active");
        refused(
            &get(&s, "/v1/me/cards/not a card/transactions", &alice).await,
            400,
            "VALIDATION_ERROR",
        );

        // A member's token opens no staff or partner resource, by any guessed id.
        for path in [
            format!("/v1/members/{b}"),
            format!("/v1/members/{b}/cards"),
            format!("/v1/members/{a}"),
            "/v1/members".to_owned(),
            "/v1/cards/0B0B0B0B".to_owned(),
            "/v1/cards/0B0B0B0B/transactions".to_owned(),
            "/v1/cards/0B0B0B0B/balance".to_owned(),
            "/v1/cards/0B0B0B0B/validity".to_owned(),
            format!("/v1/members/{b}/cards/0B0B0B0B/validity"),
            "/v1/transactions".to_owned(),
            "/v1/users".to_owned(),
        ] {
            let (status, _, v) = get(&s, &path, &alice).await;
            assert!(status == 403, "{path}: {status} {v}");
        }
        refused(
            &post(
                &s,
                &format!("/v1/members/{b}/invitation"),
                &alice,
                Value::Null,
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        refused(
            &patch(
                &s,
                &format!("/v1/members/{b}"),
                &alice,
                json!({"email": "mine@example.org"}),
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        // Nor the POS dialect.
        let v = s.api("client/liste", &[("jeton", &alice)]).await;
        assert_eq!(v["status"], "jeton_invalide", "{v}");

        // Staff and partner tokens open none of /v1/me.
        let office = add_partner(&s.db, "Bureau", "members:read cards:read", &[]);
        let partner = token(&s, &office).await;
        for other in [&prez, &bde, &partner] {
            for path in [
                "/v1/me",
                "/v1/me/cards",
                "/v1/me/preferences",
                "/v1/me/export",
                "/v1/me/cards/0A0A0A0A/transactions",
            ] {
                let answer = get(&s, path, other).await;
                refused(&answer, 403, "INSUFFICIENT_RIGHTS_ERROR");
            }
            refused(
                &post(&s, "/v1/me/cards/0A0A0A0A/lost", other, Value::Null).await,
                403,
                "INSUFFICIENT_RIGHTS_ERROR",
            );
            refused(&put(&s, "/v1/me/preferences", other, json!({"channels": {"email": true, "sms": false, "push": false}, "receipts": true})).await, 403, "INSUFFICIENT_RIGHTS_ERROR");
            refused(
                &patch(&s, "/v1/me", other, json!({"first_name": "X"})).await,
                403,
                "INSUFFICIENT_RIGHTS_ERROR",
            );
            refused(
                &delete(&s, "/v1/me", other).await,
                403,
                "INSUFFICIENT_RIGHTS_ERROR",
            );
            refused(
                &delete(&s, "/v1/member-sessions/current", other).await,
                403,
                "INSUFFICIENT_RIGHTS_ERROR",
            );
        }
        let (_, _, v) = get(&s, "/v1/cards/0A0A0A0A", &prez).await;
        assert_eq!(v["data"]["status"], "active", "nothing changed");
        refused(
            &call(&s, Method::GET, "/v1/me", None, None, &[]).await,
            401,
            "AUTHENTICATION_REQUIRED_ERROR",
        );

        // A member's address is unique whatever its case.
        refused(
            &patch(
                &s,
                "/v1/me",
                &alice,
                json!({"email": "BRAVO@example.org", "password": "alpha-password"}),
            )
            .await,
            409,
            "EMAIL_TAKEN_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/members",
                &bde,
                json!({"last_name": "Copy", "email": "Alpha@Example.org"}),
            )
            .await,
            409,
            "EMAIL_TAKEN_ERROR",
        );

        // Logging out ends Alice's session only.
        let (status, _, v) = delete(&s, "/v1/member-sessions/current", &alice).await;
        assert_eq!(status, 204, "{v}");
        refused(&get(&s, "/v1/me", &alice).await, 401, "INVALID_TOKEN_ERROR");
        let (status, _, _) = get(&s, "/v1/me", &bob).await;
        assert_eq!(status, 200);
        // Deleting Bob leaves Alice's card and the ledger alone.
        delete(&s, "/v1/me", &bob).await;
        let (_, _, v) = get(&s, "/v1/cards/0A0A0A0A", &prez).await;
        assert_eq!(v["data"]["balance"], "10.00");
        assert_invariant(&s, &s.login("prez").await).await;
    }
}

#[tokio::test]
async fn resets_never_tell_logins_are_throttled_and_sessions_slide() {
    for backend in backends() {
        let s = Server::start_with(
            backend,
            &[
                ("ARDOISE__MEMBERS__IDLE_SECONDS", "2"),
                ("ARDOISE__HTTP__PUBLIC_URL", "https://bar.example.org"),
            ],
        );
        let bde = session(&s, "bde").await;
        let id =
            member_with_card(&s, &bde, "Durand", "zoe@example.org", "04A1B2C3D4", "1.00").await;
        // The configured public address is the links' base.
        let link = activate(&s, &bde, id, "correct horse").await;
        assert!(
            link.starts_with("https://bar.example.org/me/welcome/"),
            "{link}"
        );
        assert_eq!(link_token(&link).len(), 43);

        // Reset: the same answer for a member's address and any other.
        let known = public(
            &s,
            "/v1/member-passwords/reset",
            json!({"email": "ZOE@example.org"}),
        )
        .await;
        let unknown = public(
            &s,
            "/v1/member-passwords/reset",
            json!({"email": "nobody@example.org"}),
        )
        .await;
        assert_eq!(known.0, 202, "{}", known.2);
        assert_eq!((unknown.0, &unknown.2), (known.0, &known.2));
        refused(
            &public(
                &s,
                "/v1/member-passwords/reset",
                json!({"email": "not an address"}),
            )
            .await,
            400,
            "VALIDATION_ERROR",
        );
        // The reset left the password as it was.
        let me = login(&s, "zoe@example.org", "correct horse").await;

        // Sliding expiry (members.idle_seconds = 2): used within the delay, the session lasts.
        for _ in 0..3 {
            tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
            let (status, _, v) = get(&s, "/v1/me", &me).await;
            assert_eq!(status, 200, "{v}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
        refused(&get(&s, "/v1/me", &me).await, 401, "INVALID_TOKEN_ERROR");

        // Failed logins are throttled per address, like staff logins (10 a minute).
        for _ in 0..10 {
            refused(
                &public(
                    &s,
                    "/v1/member-sessions",
                    json!({"email": "zoe@example.org", "password": "wrong horse"}),
                )
                .await,
                401,
                "INVALID_CREDENTIALS_ERROR",
            );
        }
        let answer = public(
            &s,
            "/v1/member-sessions",
            json!({"email": "zoe@example.org", "password": "correct horse"}),
        )
        .await;
        refused(&answer, 429, "TOO_MANY_ATTEMPTS_ERROR");
        assert!(answer.1.contains_key("retry-after"));
    }
}
