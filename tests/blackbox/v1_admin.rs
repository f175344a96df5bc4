//! The administration resources of `/v1` against the real binary, on each backend: partners
//! (`/v1/partners`: rights 3 only, the secret shown once and working at `/oauth/token`, caps
//! changed over the API and the CLI and enforced on credits, rotation, disabling).

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{ardoise, backends, Server};
use crate::v1_staff::{call, get, post, refused, session};

async fn token_status(s: &Server, id: &str, secret: &str) -> (u16, Value) {
    let resp = s
        .client
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn partner_token(s: &Server, id: &str, secret: &str) -> String {
    let (status, v) = token_status(s, id, secret).await;
    assert_eq!(status, 200, "{v}");
    v["access_token"].as_str().unwrap().to_owned()
}

async fn credit(s: &Server, token: &str, amount: &str, reference: &str) -> (u16, Value) {
    let (status, _, v) = post(
        s,
        "/v1/cards/CAFE0001/credits",
        token,
        json!({"amount": amount, "reference": reference}),
    )
    .await;
    (status, v)
}

#[tokio::test]
async fn partners_are_administered_by_presidents_only() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "1.00"}),
        )
        .await;

        // Creation: 201, Location, the secret shown this once, the default caps.
        let resp = s
            .client
            .post(format!("{}/v1/partners", s.base))
            .bearer_auth(&prez)
            .json(&json!({"name": "Pay Online", "scopes": "cards:read cards:credit"}))
            .send()
            .await
            .unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let text = resp.text().await.unwrap();
        assert_eq!(text.matches("\"client_id\"").count(), 1, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["code"], "PARTNER_CREATED");
        let id = v["data"]["client_id"].as_str().unwrap().to_owned();
        let secret = v["data"]["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(headers["location"], format!("/v1/partners/{id}").as_str());
        assert_eq!(secret.len(), 43);
        assert_eq!(v["data"]["credit_cap_operation"], "500.00");
        assert_eq!(v["data"]["credit_cap_day"], "5000.00");
        assert_eq!(v["data"]["enabled"], true);
        assert_eq!(v["data"]["scopes"], json!(["cards:read", "cards:credit"]));

        // Never shown again: not by GET, not in the list.
        let (status, _, v) = get(&s, &format!("/v1/partners/{id}"), &prez).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["name"], "Pay Online");
        assert!(v["data"].get("client_secret").is_none());
        assert!(!v.to_string().contains(&secret));
        let (_, _, list) = get(&s, "/v1/partners", &prez).await;
        assert_eq!(list["data"]["total"], 1);
        assert!(!list.to_string().contains(&secret));

        // The secret works at /oauth/token, and the token on /v1.
        let t = partner_token(&s, &id, &secret).await;
        assert_eq!(credit(&s, &t, "10.00", "r1").await.0, 201);

        // Caps changed over the API are enforced on the next credits.
        let (status, _, v) = call(
            &s,
            Method::PATCH,
            &format!("/v1/partners/{id}"),
            Some(&prez),
            Some(json!({"credit_cap_operation": "20.00", "credit_cap_day": "40.00"})),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["credit_cap_operation"], "20.00");
        assert_eq!(v["data"]["credit_cap_day"], "40.00");
        let (status, v) = credit(&s, &t, "20.01", "r2").await;
        assert_eq!(status, 409, "{v}");
        assert_eq!(v["code"], "CREDIT_CAP_EXCEEDED_ERROR");
        assert_eq!(credit(&s, &t, "20.00", "r3").await.0, 201);
        // 10 + 20 today: 10.01 more passes the day's 40.
        let (status, v) = credit(&s, &t, "10.01", "r4").await;
        assert_eq!(status, 409, "{v}");
        assert_eq!(v["code"], "CREDIT_CAP_EXCEEDED_ERROR");

        // … and over the CLI.
        let (ok, out, err) = ardoise(
            &s.db,
            &[
                "partner",
                "set",
                "--client-id",
                &id,
                "--credit-cap-day",
                "100.00",
            ],
        );
        assert!(ok, "{err}");
        assert!(out.contains("\"credit_cap_day\":\"100.00\""), "{out}");
        assert_eq!(credit(&s, &t, "10.01", "r5").await.0, 201);
        let (ok, _, err) = ardoise(
            &s.db,
            &[
                "partner",
                "set",
                "--client-id",
                &id,
                "--credit-cap-operation",
                "5.00",
            ],
        );
        assert!(ok, "{err}");
        let (status, v) = credit(&s, &t, "5.01", "r6").await;
        assert_eq!(status, 409, "{v}");
        let (ok, _, err) = ardoise(
            &s.db,
            &[
                "partner",
                "set",
                "--client-id",
                &id,
                "--credit-cap-operation",
                "500.00",
            ],
        );
        assert!(!ok, "the operation cap above the day's is refused");
        assert!(err.contains("credit_cap_operation"), "{err}");

        // Registered by the CLI with its own caps.
        let (ok, out, err) = ardoise(
            &s.db,
            &[
                "partner",
                "add",
                "--name",
                "Office",
                "--scopes",
                "cards:read",
                "--credit-cap-operation",
                "250.00",
                "--credit-cap-day",
                "2000.00",
            ],
        );
        assert!(ok, "{err}");
        let office: Value = serde_json::from_str(out.trim()).unwrap();
        let office_id = office["client_id"].as_str().unwrap();
        let (_, _, v) = get(&s, &format!("/v1/partners/{office_id}"), &prez).await;
        assert_eq!(v["data"]["credit_cap_operation"], "250.00");
        assert_eq!(v["data"]["credit_cap_day"], "2000.00");

        // Paging.
        let (_, headers, v) = get(&s, "/v1/partners?per_page=1", &prez).await;
        assert_eq!(v["data"]["total"], 2);
        assert_eq!(v["data"]["items"].as_array().unwrap().len(), 1);
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));

        // Rotation: the new secret is shown once; the old one and the old tokens stop working.
        let (status, _, v) = post(&s, &format!("/v1/partners/{id}/secret"), &prez, json!({})).await;
        assert_eq!(status, 200, "{v}");
        let new_secret = v["data"]["client_secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        assert_eq!(token_status(&s, &id, &secret).await.0, 401);
        assert_eq!(credit(&s, &t, "1.00", "r7").await.0, 401);
        let t = partner_token(&s, &id, &new_secret).await;

        // Scopes: narrowing them revokes the tokens.
        let (status, _, v) = call(
            &s,
            Method::PATCH,
            &format!("/v1/partners/{id}"),
            Some(&prez),
            Some(json!({"scopes": "cards:read"})),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(credit(&s, &t, "1.00", "r8").await.0, 401);

        // Disabling: 204, tokens refused, the partner kept and shown disabled; enabled again.
        let (status, _, _) = call(
            &s,
            Method::DELETE,
            &format!("/v1/partners/{id}"),
            Some(&prez),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(token_status(&s, &id, &new_secret).await.0, 401);
        let (_, _, v) = get(&s, &format!("/v1/partners/{id}"), &prez).await;
        assert_eq!(v["data"]["enabled"], false);
        let (status, _, _) = call(
            &s,
            Method::PATCH,
            &format!("/v1/partners/{id}"),
            Some(&prez),
            Some(json!({"enabled": true})),
            &[],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(token_status(&s, &id, &new_secret).await.0, 200);
    }
}

#[tokio::test]
async fn partner_administration_refusals() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let (_, _, v) = post(
            &s,
            "/v1/partners",
            &prez,
            json!({"name": "P", "scopes": "cards:read"}),
        )
        .await;
        let id = v["data"]["client_id"].as_str().unwrap().to_owned();
        let secret = v["data"]["client_secret"].as_str().unwrap().to_owned();
        let partner = partner_token(&s, &id, &secret).await;

        // Rights below 3 and partners: 403 on every route.
        for login in ["barman", "bde", "honeypot"] {
            let t = session(&s, login).await;
            for (method, path, body) in [
                (Method::GET, "/v1/partners".to_owned(), None),
                (
                    Method::POST,
                    "/v1/partners".to_owned(),
                    Some(json!({"name": "X", "scopes": "cards:read"})),
                ),
                (Method::GET, format!("/v1/partners/{id}"), None),
                (
                    Method::PATCH,
                    format!("/v1/partners/{id}"),
                    Some(json!({"enabled": false})),
                ),
                (Method::POST, format!("/v1/partners/{id}/secret"), None),
                (Method::DELETE, format!("/v1/partners/{id}"), None),
            ] {
                let answer = call(&s, method.clone(), &path, Some(&t), body.clone(), &[]).await;
                refused(&answer, 403, "INSUFFICIENT_RIGHTS_ERROR");
                let answer = call(&s, method, &path, Some(&partner), body, &[]).await;
                refused(&answer, 403, "INSUFFICIENT_RIGHTS_ERROR");
            }
        }
        assert_eq!(
            token_status(&s, &id, &secret).await.0,
            200,
            "nothing changed"
        );

        // Validation names the field; nothing is created.
        for (body, field) in [
            (json!({"scopes": "cards:read"}), "name"),
            (json!({"name": "X"}), "scopes"),
            (json!({"name": "X", "scopes": "cards:write"}), "scopes"),
            (
                json!({"name": "X", "scopes": "cards:read", "credit_cap_operation": "0"}),
                "credit_cap_operation",
            ),
            (
                json!({"name": "X", "scopes": "cards:read", "credit_cap_day": "1.001"}),
                "credit_cap_day",
            ),
            (
                json!({"name": "X", "scopes": "cards:read", "credit_cap_operation": "6000.00"}),
                "credit_cap_operation",
            ),
            (
                json!({"name": "X", "scopes": "cards:read", "allow_basic": "maybe"}),
                "allow_basic",
            ),
        ] {
            let answer = post(&s, "/v1/partners", &prez, body.clone()).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            let debug = answer.2["debugMessage"].as_str().unwrap();
            assert!(debug.contains(field), "{body}: {debug}");
        }
        let (_, _, v) = get(&s, "/v1/partners", &prez).await;
        assert_eq!(v["data"]["total"], 1);
        let empty = call(
            &s,
            Method::PATCH,
            &format!("/v1/partners/{id}"),
            Some(&prez),
            Some(json!({})),
            &[],
        )
        .await;
        refused(&empty, 400, "VALIDATION_ERROR");

        // Unknown partners: 404 with its code, in French too.
        for (method, path) in [
            (Method::GET, "/v1/partners/nope"),
            (Method::POST, "/v1/partners/nope/secret"),
            (Method::DELETE, "/v1/partners/nope"),
        ] {
            let answer = call(&s, method, path, Some(&prez), None, &[]).await;
            refused(&answer, 404, "PARTNER_NOT_FOUND_ERROR");
        }
        let answer = call(
            &s,
            Method::PATCH,
            "/v1/partners/nope",
            Some(&prez),
            Some(json!({"enabled": true})),
            &[("Accept-Language", "fr")],
        )
        .await;
        refused(&answer, 404, "PARTNER_NOT_FOUND_ERROR");
        assert_eq!(answer.2["message"], "Partenaire inconnu.");
        let answer = call(&s, Method::PUT, "/v1/partners", Some(&prez), None, &[]).await;
        refused(&answer, 405, "METHOD_NOT_ALLOWED_ERROR");
    }
}

async fn login_status(s: &Server, login: &str, password: &str) -> u16 {
    call(
        s,
        Method::POST,
        "/v1/sessions",
        None,
        Some(json!({"login": login, "password": password})),
        &[],
    )
    .await
    .0
}

async fn patch(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PATCH, path, Some(token), Some(body), &[]).await
}

#[tokio::test]
async fn staff_users_are_administered_with_the_pos_rules() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;

        // The list: rights 3, paged, by login.
        let (status, headers, v) = get(&s, "/v1/users?per_page=2", &prez).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["total"], 4);
        assert_eq!(v["data"]["items"][0]["login"], "barman");
        assert_eq!(v["data"]["items"][0]["rights"], 2);
        assert!(v["data"]["items"][0].get("password_hash").is_none());
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));

        // Creation: 201 with Location; the password works; duplicates are 409.
        let (status, headers, v) = post(
            &s,
            "/v1/users",
            &prez,
            json!({"login": "serveuse", "password": "pw-serveuse", "rights": 2, "card": "BADGE001"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(headers["location"], "/v1/users/serveuse");
        assert_eq!(
            v["data"],
            json!({"login": "serveuse", "rights": 2, "card": "BADGE001"})
        );
        assert_eq!(login_status(&s, "serveuse", "pw-serveuse").await, 201);
        let (status, _, _) = call(
            &s,
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"card": "BADGE001"})),
            &[],
        )
        .await;
        assert_eq!(status, 201);
        let dup = post(
            &s,
            "/v1/users",
            &prez,
            json!({"login": "serveuse", "password": "other-pw1"}),
        )
        .await;
        refused(&dup, 409, "USER_EXISTS_ERROR");
        for (body, field) in [
            (json!({"login": "x1"}), "password"),
            (json!({"password": "p-password"}), "login"),
            (
                json!({"login": "x1", "password": "p-password", "rights": 7}),
                "rights",
            ),
            (
                json!({"login": "x1", "password": "p-password", "card": "not a card!"}),
                "card",
            ),
        ] {
            let answer = post(&s, "/v1/users", &prez, body.clone()).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            let debug = answer.2["debugMessage"].as_str().unwrap();
            assert!(debug.contains(field), "{body}: {debug}");
        }
        let taken = post(
            &s,
            "/v1/users",
            &prez,
            json!({"login": "x2", "password": "p-password", "card": "BADGE001"}),
        )
        .await;
        refused(&taken, 400, "VALIDATION_ERROR");
        let (_, _, v) = get(&s, "/v1/users", &prez).await;
        assert_eq!(v["data"]["total"], 5, "nothing else was created");

        // Below 3: only one's own account.
        let barman = session(&s, "barman").await;
        let barman2 = session(&s, "barman").await;
        for (method, path, body) in [
            (Method::GET, "/v1/users", None),
            (
                Method::POST,
                "/v1/users",
                Some(json!({"login": "x3", "password": "p-password"})),
            ),
            (Method::GET, "/v1/users/prez", None),
            (
                Method::PATCH,
                "/v1/users/bde",
                Some(json!({"password": "hacked-pw"})),
            ),
            (Method::DELETE, "/v1/users/bde", None),
        ] {
            let answer = call(&s, method, path, Some(&barman), body, &[]).await;
            refused(&answer, 403, "INSUFFICIENT_RIGHTS_ERROR");
        }
        assert_eq!(login_status(&s, "bde", "secret-pw").await, 201);
        let (status, _, v) = get(&s, "/v1/users/barman", &barman).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["rights"], 2);
        // Raising one's own rights is refused, and nothing of the request is applied.
        let answer = patch(
            &s,
            "/v1/users/barman",
            &barman,
            json!({"rights": 3, "password": "new-pw-12"}),
        )
        .await;
        refused(&answer, 403, "INSUFFICIENT_RIGHTS_ERROR");
        assert_eq!(login_status(&s, "barman", "secret-pw").await, 201);

        // One's own password: the session it is changed from stays, the others end.
        let (status, _, v) = patch(
            &s,
            "/v1/users/barman",
            &barman,
            json!({"password": "new-pw-12"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(get(&s, "/v1/stats", &barman).await.0, 200);
        assert_eq!(get(&s, "/v1/stats", &barman2).await.0, 401);
        assert_eq!(login_status(&s, "barman", "secret-pw").await, 401);
        assert_eq!(login_status(&s, "barman", "new-pw-12").await, 201);
        // A president changing it ends every session of the user.
        let (status, _, _) = patch(
            &s,
            "/v1/users/barman",
            &prez,
            json!({"password": "newer-pw"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(get(&s, "/v1/stats", &barman).await.0, 401);
        assert_eq!(get(&s, "/v1/stats", &prez).await.0, 200);
        // The POS dialect's utilisateur/mdp goes through the same service.
        let bde_pos = s.login("bde").await;
        let bde_v1 = session(&s, "bde").await;
        let v = s
            .api(
                "utilisateur/mdp",
                &[("jeton", &bde_pos), ("mdp", "bde-new-pw")],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(get(&s, "/v1/users/bde", &bde_v1).await.0, 401);
        let v = s.api("client/liste", &[("jeton", &bde_pos)]).await;
        assert_eq!(
            v["status"], "droits_insuffisants",
            "the changer's session stays: {v}"
        );

        // Rights, card: set by a president; the card cleared with null.
        let (status, _, v) = patch(
            &s,
            "/v1/users/serveuse",
            &prez,
            json!({"rights": 1, "card": null}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["data"],
            json!({"login": "serveuse", "rights": 1, "card": null})
        );
        let empty = patch(&s, "/v1/users/serveuse", &prez, json!({"password": ""})).await;
        refused(&empty, 400, "VALIDATION_ERROR");
        let none = patch(&s, "/v1/users/serveuse", &prez, json!({})).await;
        refused(&none, 400, "VALIDATION_ERROR");

        // Deletion: 204, sessions and logins end, the account is gone from the list.
        let (_, _, v) = call(
            &s,
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"login": "serveuse", "password": "pw-serveuse"})),
            &[],
        )
        .await;
        let serveuse = v["data"]["token"].as_str().unwrap().to_owned();
        let (status, _, _) = call(
            &s,
            Method::DELETE,
            "/v1/users/serveuse",
            Some(&prez),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(get(&s, "/v1/users/serveuse", &serveuse).await.0, 401);
        assert_eq!(login_status(&s, "serveuse", "pw-serveuse").await, 401);
        refused(
            &get(&s, "/v1/users/serveuse", &prez).await,
            404,
            "USER_NOT_FOUND_ERROR",
        );
        // The last president cannot be deleted nor demoted.
        let answer = call(&s, Method::DELETE, "/v1/users/prez", Some(&prez), None, &[]).await;
        refused(&answer, 400, "VALIDATION_ERROR");
        let answer = patch(&s, "/v1/users/prez", &prez, json!({"rights": 2})).await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert_eq!(get(&s, "/v1/users", &prez).await.0, 200);
    }
}

/// The server keeps valid sessions and partner tokens in memory for up to a second; every
/// `/v1` change that ends or narrows a credential must empty that memory, so the credential is
/// refused (or narrowed) on the very next request, not a second later. Each credential is used
/// twice first so that it is cached.
#[tokio::test]
async fn a_v1_change_to_a_credential_takes_effect_on_the_very_next_request() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "1.00"}),
        )
        .await;
        let warm = |token: String, path: &'static str| {
            let s = &s;
            async move {
                for _ in 0..2 {
                    let (status, _, v) = get(s, path, &token).await;
                    assert_eq!(status, 200, "{path}: {v}");
                }
                token
            }
        };

        // Staff: rights lowered, password changed by a president, account disabled.
        let barman = warm(session(&s, "barman").await, "/v1/cards/CAFE0001").await;
        let (status, _, v) = patch(&s, "/v1/users/barman", &prez, json!({"rights": 1})).await;
        assert_eq!(status, 200, "{v}");
        refused(
            &get(&s, "/v1/cards/CAFE0001", &barman).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        let bde = warm(session(&s, "bde").await, "/v1/products").await;
        let (status, _, v) = patch(
            &s,
            "/v1/users/bde",
            &prez,
            json!({"password": "n3w-secret"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(get(&s, "/v1/products", &bde).await.0, 401);
        let barman = warm(session(&s, "barman").await, "/v1/products").await;
        let (status, _, _) = call(
            &s,
            Method::DELETE,
            "/v1/users/barman",
            Some(&prez),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(get(&s, "/v1/products", &barman).await.0, 401);

        // Partners: a scope taken away, Basic turned off, the partner disabled.
        let (status, _, v) = post(
            &s,
            "/v1/partners",
            &prez,
            json!({"name": "Pay Online", "scopes": "cards:read cards:credit", "allow_basic": true}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let id = v["data"]["client_id"].as_str().unwrap().to_owned();
        let secret = v["data"]["client_secret"].as_str().unwrap().to_owned();
        let balance = "/v1/cards/CAFE0001/balance";
        let narrowed = |body: Value| {
            let (s, id, prez) = (&s, id.clone(), prez.clone());
            async move {
                let (status, _, v) = patch(s, &format!("/v1/partners/{id}"), &prez, body).await;
                assert_eq!(status, 200, "{v}");
            }
        };
        let t = warm(partner_token(&s, &id, &secret).await, balance).await;
        narrowed(json!({"scopes": "cards:read"})).await;
        assert_eq!(get(&s, balance, &t).await.0, 401, "a lost scope revokes");
        let t = warm(partner_token(&s, &id, &secret).await, balance).await;
        narrowed(json!({"allow_basic": false})).await;
        assert_eq!(get(&s, balance, &t).await.0, 401, "Basic off revokes");
        let t = warm(partner_token(&s, &id, &secret).await, balance).await;
        narrowed(json!({"enabled": false})).await;
        assert_eq!(get(&s, balance, &t).await.0, 401, "disabled");
        // Enabled again: a new token works (the old one stays revoked).
        narrowed(json!({"enabled": true})).await;
        assert_eq!(get(&s, balance, &t).await.0, 401);
        let t = warm(partner_token(&s, &id, &secret).await, balance).await;
        // Rotation and DELETE through /v1.
        let (status, _, v) = post(&s, &format!("/v1/partners/{id}/secret"), &prez, json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(get(&s, balance, &t).await.0, 401, "rotated");
        let secret = v["data"]["client_secret"].as_str().unwrap().to_owned();
        let t = warm(partner_token(&s, &id, &secret).await, balance).await;
        let (status, _, _) = call(
            &s,
            Method::DELETE,
            &format!("/v1/partners/{id}"),
            Some(&prez),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(get(&s, balance, &t).await.0, 401, "deleted");
        s.stop();
    }
}
