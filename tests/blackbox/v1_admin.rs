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
        let (status, headers, v) = post(
            &s,
            "/v1/partners",
            &prez,
            json!({"name": "Pay Online", "scopes": "cards:read cards:credit"}),
        )
        .await;
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
