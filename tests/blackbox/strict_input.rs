//! Issue 14, defects 4 and 5: bounded overdraft limits (`money.max_overdraft`) on every path,
//! and strict input: JSON types enforced, unknown fields refused, form text `null` never a
//! value, an empty PATCH refused, passwords of at least 8 characters.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{ardoise_env, backends, Database, Server};
use crate::v1_staff::{call, get, post, refused, session};

async fn put(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PUT, path, Some(token), Some(body), &[]).await
}

#[tokio::test]
async fn overdraft_limits_are_bounded_on_every_path() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10"}),
        )
        .await;
        for limit in ["1000000000000", "500.01"] {
            let answer = put(
                &s,
                "/v1/cards/CAFE0001/overdraft",
                &prez,
                json!({"limit": limit}),
            )
            .await;
            refused(&answer, 400, "VALIDATION_ERROR");
            assert!(
                answer.2["debugMessage"]
                    .as_str()
                    .unwrap()
                    .contains("500.00"),
                "{}",
                answer.2
            );
        }
        let (status, _, v) = post(
            &s,
            "/v1/cards/CAFE0001/payments",
            &prez,
            json!({"amount": "1000.00"}),
        )
        .await;
        assert_eq!(status, 409, "the refused limit was not applied: {v}");
        let (status, _, v) = put(
            &s,
            "/v1/cards/CAFE0001/overdraft",
            &prez,
            json!({"limit": "500.00"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["overdraft_limit"], "500.00");

        // A configuration whose default limit (the POS flag) is above the bound is refused by
        // every command, before anything is served or written.
        let db = Database::fresh(backend);
        let (ok, _, err) = ardoise_env(
            &db,
            &["migrate"],
            &[
                ("ARDOISE__MONEY__MAX_OVERDRAFT", "20.00"),
                ("ARDOISE__MONEY__OVERDRAFT_DEFAULT", "50.00"),
            ],
        );
        assert!(!ok && err.contains("money.overdraft_default"), "{err}");

        // A lower bound applies to /api's flag and to /v1 alike.
        drop(s);
        let s = Server::start_with(
            backend,
            &[
                ("ARDOISE__MONEY__MAX_OVERDRAFT", "30.00"),
                ("ARDOISE__MONEY__OVERDRAFT_DEFAULT", "30.00"),
            ],
        );
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10"}),
        )
        .await;
        refused(
            &put(
                &s,
                "/v1/cards/CAFE0001/overdraft",
                &prez,
                json!({"limit": "30.01"}),
            )
            .await,
            400,
            "VALIDATION_ERROR",
        );
        let token = s.login("prez").await;
        let v = s
            .api(
                "client/decouvert",
                &[
                    ("jeton", &token),
                    ("idCarte", "CAFE0001"),
                    ("decouvert", "true"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        let (_, _, v) = get(&s, "/v1/cards/CAFE0001", &prez).await;
        assert_eq!(v["data"]["overdraft_limit"], "30.00", "{v}");
    }
}

/// POSTs a form body to a `/v1` path.
async fn post_form(s: &Server, path: &str, token: &str, body: &str) -> (u16, Value) {
    let resp = s
        .client
        .post(format!("{}{path}", s.base))
        .bearer_auth(token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// A `VALIDATION_ERROR` whose developer message names `field`.
fn names(answer: &(u16, reqwest::header::HeaderMap, Value), field: &str) {
    refused(answer, 400, "VALIDATION_ERROR");
    let debug = answer.2["debugMessage"].as_str().unwrap();
    assert!(debug.contains(&format!("`{field}`")), "{field}: {debug}");
}

#[tokio::test]
async fn json_types_are_enforced_and_unknown_fields_refused() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10"}),
        )
        .await;

        // Wrong JSON types, each named.
        let cases = [
            (
                "/v1/users",
                json!({"login": "u1", "password": false, "rights": 2}),
                "password",
            ),
            (
                "/v1/users",
                json!({"login": "u1", "password": "secret-pw", "rights": "2"}),
                "rights",
            ),
            (
                "/v1/users",
                json!({"login": 12345678, "password": "secret-pw"}),
                "login",
            ),
            (
                "/v1/cards",
                json!({"card": 12345678, "balance": "1"}),
                "card",
            ),
            (
                "/v1/cards",
                json!({"card": "CAFE0002", "balance": "1", "overdraft": "true"}),
                "overdraft",
            ),
            (
                "/v1/cards",
                json!({"card": "CAFE0002", "balance": true}),
                "balance",
            ),
            (
                "/v1/cards/CAFE0001/payments",
                json!({"quantity": "2"}),
                "quantity",
            ),
            (
                "/v1/cards",
                json!({"card": "CAFE0002", "balance": "1", "colour": "red"}),
                "colour",
            ),
            (
                "/v1/members",
                json!({"first_name": "Ada", "nickname": "ada"}),
                "nickname",
            ),
        ];
        for (path, body, field) in cases {
            names(&post(&s, path, &prez, body).await, field);
        }
        let (status, _, v) = get(&s, "/v1/users/u1", &prez).await;
        assert_eq!(status, 404, "nothing was created: {v}");
        let (_, _, v) = get(&s, "/v1/cards?per_page=500", &prez).await;
        assert_eq!(v["data"]["total"], 1, "{v}");
        names(
            &put(
                &s,
                "/v1/cards/CAFE0001/overdraft",
                &prez,
                json!({"enabled": 1}),
            )
            .await,
            "enabled",
        );
        // An amount may be a string or a number; a number is still fine where one is asked.
        let (status, _, v) = post(
            &s,
            "/v1/cards/CAFE0001/payments",
            &prez,
            json!({"amount": 1.5}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let (status, _, v) = post(
            &s,
            "/v1/cards/CAFE0001/payments",
            &prez,
            json!({"quantity": 1}),
        )
        .await;
        assert_eq!(status, 201, "{v}");

        // Form text `null` is no value: never a member named "null".
        let (status, v) = post_form(&s, "/v1/members", &prez, "first_name=null").await;
        assert_eq!(status, 400, "{v}");
        let (_, _, v) = get(&s, "/v1/members", &prez).await;
        assert_eq!(v["data"]["total"], 0, "{v}");
        let (status, v) =
            post_form(&s, "/v1/members", &prez, "first_name=Ada&last_name=null").await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["last_name"], Value::Null, "{v}");
        let member = v["data"]["id"].as_i64().unwrap();

        // A PATCH with nothing to change.
        for path in [
            format!("/v1/members/{member}"),
            "/v1/users/barman".to_owned(),
            "/v1/products/biere".to_owned(),
        ] {
            let answer = call(&s, Method::PATCH, &path, Some(&prez), Some(json!({})), &[]).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            assert!(
                answer.2["debugMessage"]
                    .as_str()
                    .unwrap()
                    .contains("nothing to change"),
                "{path}: {}",
                answer.2
            );
        }

        // New passwords: at least 8 characters on every path.
        let answer = post(
            &s,
            "/v1/users",
            &prez,
            json!({"login": "u2", "password": "short"}),
        )
        .await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert!(answer.2["debugMessage"]
            .as_str()
            .unwrap()
            .contains("at least 8 characters"));
        refused(
            &call(
                &s,
                Method::PATCH,
                "/v1/users/barman",
                Some(&prez),
                Some(json!({"password": "1234567"})),
                &[],
            )
            .await,
            400,
            "VALIDATION_ERROR",
        );
        let token = s.login("prez").await;
        for (path, form) in [
            (
                "utilisateur/ajouter",
                vec![("login", "u3"), ("mdp", "court")],
            ),
            (
                "utilisateur/mdp",
                vec![("login", "barman"), ("mdp", "court")],
            ),
        ] {
            let mut form = form;
            form.push(("jeton", &token));
            let v = s.api(path, &form).await;
            assert_eq!(v["status"], "requete_malforme", "{path}: {v}");
        }
        let (ok, _, err) = crate::harness::ardoise(
            &s.db,
            &[
                "user",
                "add",
                "--login",
                "u4",
                "--password",
                "court",
                "--rights",
                "1",
            ],
        );
        assert!(!ok && err.contains("8 characters"), "{err}");
    }
}

#[tokio::test]
async fn pos_fields_are_checked_too() {
    for backend in backends() {
        let s = Server::start(backend);
        let token = s.login("prez").await;
        let v = s
            .api(
                "client/ajouter",
                &[("jeton", &token), ("idCarte", "CAFE0001"), ("solde", "10")],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        // An unknown field is ignored, as the original server ignored it (its clients may send
        // more than a call reads): the payment is made, once.
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &token),
                    ("idCarte", "CAFE0001"),
                    ("montant", "1"),
                    ("pourboire", "1"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(v["soldeNouveau"], 9, "{v}");
        // JSON: strings and numbers are interchangeable (pos-api.md), a boolean is not text.
        let json_call = |body: Value| {
            let s = &s;
            async move {
                let resp = s
                    .client
                    .post(format!("{}/api/client/payer", s.base))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                resp.json::<Value>().await.unwrap()
            }
        };
        let v =
            json_call(json!({"jeton": token, "idCarte": "CAFE0001", "montant": "1", "cle": null}))
                .await;
        assert_eq!(v["status"], "ok", "{v}");
        let v = json_call(json!({"jeton": token, "idCarte": "CAFE0001", "quantite": "1"})).await;
        assert_eq!(v["status"], "ok", "{v}");
        let v = json_call(json!({"jeton": token, "idCarte": true, "montant": 1})).await;
        assert_eq!(v["status"], "requete_malforme", "{v}");
        let v = s
            .api(
                "client/fiche",
                &[("jeton", &token), ("idCarte", "CAFE0001")],
            )
            .await;
        assert_eq!(v["solde"].to_string(), "6.2", "{v}");
    }
}
