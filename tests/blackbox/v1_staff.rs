//! The staff resources of `/v1` against the real binary, on each backend: sessions, cards,
//! money movements, corrections, the ledger (paged), statistics, and their refusals with
//! status, stable code and localised message.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{ardoise, backends, Server};

/// One `/v1` call: (status, headers, body — `Null` when empty).
pub async fn call(
    s: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, Value) {
    let mut req = s.client.request(method, format!("{}{path}", s.base));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"))
    };
    (status, headers, value)
}

pub async fn get(s: &Server, path: &str, token: &str) -> (u16, HeaderMap, Value) {
    call(s, Method::GET, path, Some(token), None, &[]).await
}

pub async fn post(s: &Server, path: &str, token: &str, body: Value) -> (u16, HeaderMap, Value) {
    call(s, Method::POST, path, Some(token), Some(body), &[]).await
}

/// Logs `login` in through `POST /v1/sessions`; the bearer token.
pub async fn session(s: &Server, login: &str) -> String {
    let (status, headers, v) = call(
        s,
        Method::POST,
        "/v1/sessions",
        None,
        Some(json!({"login": login, "password": "secret-pw"})),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(headers["location"], "/v1/sessions/current");
    v["data"]["token"].as_str().unwrap().to_owned()
}

/// Asserts a refusal: its status, code, and the envelope's shape.
#[track_caller]
pub fn refused(answer: &(u16, HeaderMap, Value), status: u16, code: &str) {
    let (got, _, v) = answer;
    assert_eq!(*got, status, "{v}");
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v.get("debugMessage").is_some(), "{v}");
    assert_eq!(v["moreInfo"], Value::Null, "{v}");
}

#[tokio::test]
async fn sessions_give_bearer_tokens_that_logout_ends() {
    for backend in backends() {
        let s = Server::start(backend);
        let (status, headers, v) = call(
            &s,
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"login": "barman", "password": "secret-pw"})),
            &[],
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(headers["location"], "/v1/sessions/current");
        assert_eq!(v["success"], true);
        assert_eq!(v["code"], "SESSION_CREATED");
        let token = v["data"]["token"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 30);
        assert_eq!(v["data"]["login"], "barman");
        assert_eq!(v["data"]["rights"], 2);
        assert_eq!(v["data"]["expires_in"], 300);

        // The token works on /v1 and on the POS dialect alike.
        let (status, _, v) = get(&s, "/v1/stats", &token).await;
        assert_eq!(status, 200, "{v}");

        // Form bodies are accepted too.
        let resp = s
            .client
            .post(format!("{}/v1/sessions", s.base))
            .form(&[("login", "prez"), ("password", "secret-pw")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);

        let wrong = call(
            &s,
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"login": "barman", "password": "nope"})),
            &[],
        )
        .await;
        refused(&wrong, 401, "INVALID_CREDENTIALS_ERROR");
        let unknown = call(
            &s,
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"login": "nobody", "password": "nope"})),
            &[],
        )
        .await;
        assert_eq!(unknown.2, wrong.2, "same answer for an unknown login");
        let both = call(
            &s,
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"login": "barman", "password": "secret-pw", "card": "AHS0DIEX"})),
            &[],
        )
        .await;
        refused(&both, 400, "VALIDATION_ERROR");
        let unknown_card = call(
            &s,
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"card": "AHS0DIEX"})),
            &[],
        )
        .await;
        refused(&unknown_card, 404, "STAFF_CARD_NOT_FOUND_ERROR");
        let not_json = s
            .client
            .post(format!("{}/v1/sessions", s.base))
            .header("Content-Type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.status(), 400);

        // 405 with Allow.
        let (status, headers, v) = call(&s, Method::GET, "/v1/sessions", None, None, &[]).await;
        assert_eq!(status, 405, "{v}");
        assert_eq!(headers["allow"], "POST");
        assert_eq!(v["code"], "METHOD_NOT_ALLOWED_ERROR");

        // Logout: 204 without a body; the token is dead afterwards.
        let no_creds = call(&s, Method::DELETE, "/v1/sessions/current", None, None, &[]).await;
        refused(&no_creds, 401, "AUTHENTICATION_REQUIRED_ERROR");
        let (status, _, body) = call(
            &s,
            Method::DELETE,
            "/v1/sessions/current",
            Some(&token),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(body, Value::Null);
        let after = get(&s, "/v1/stats", &token).await;
        refused(&after, 401, "INVALID_TOKEN_ERROR");
        assert!(after.1["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
    }
}

#[tokio::test]
async fn cards_and_money_move_by_the_pos_rules() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        let bde = session(&s, "bde").await;

        // Creating a card: 201 and Location; money in and out as strings with 2 decimals.
        let (status, headers, v) = post(
            &s,
            "/v1/cards",
            &bde,
            json!({"card": "04a1b2c3d4", "balance": "10"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(headers["location"], "/v1/cards/04A1B2C3D4");
        assert_eq!(v["code"], "CARD_CREATED");
        assert_eq!(v["data"]["balance_after"], "10.00");
        assert_eq!(v["data"]["currency"], "EUR");
        let again = post(
            &s,
            "/v1/cards",
            &bde,
            json!({"card": "04A1B2C3D4", "balance": 5}),
        )
        .await;
        refused(&again, 409, "CARD_EXISTS_ERROR");
        let zero = post(
            &s,
            "/v1/cards",
            &bde,
            json!({"card": "CAFE0001", "balance": "0"}),
        )
        .await;
        refused(&zero, 400, "NON_POSITIVE_BALANCE_ERROR");
        let overdraft = post(
            &s,
            "/v1/cards",
            &bde,
            json!({"card": "CAFE0001", "balance": "5", "overdraft": true}),
        )
        .await;
        refused(&overdraft, 403, "INSUFFICIENT_RIGHTS_ERROR");
        let honeypot = session(&s, "honeypot").await;
        let refused_0 = post(
            &s,
            "/v1/cards",
            &honeypot,
            json!({"card": "CAFE0001", "balance": 5}),
        )
        .await;
        refused(&refused_0, 403, "INSUFFICIENT_RIGHTS_ERROR");

        // Reading it: rights 2; the overdraft limit only for rights 3.
        let (status, _, v) = get(&s, "/v1/cards/04a1b2c3d4", &barman).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["card"], "04A1B2C3D4");
        assert_eq!(v["data"]["balance"], "10.00");
        assert_eq!(v["data"]["status"], "active");
        assert!(v["data"].get("overdraft_limit").is_none(), "{v}");
        let (_, _, v) = get(&s, "/v1/cards/04A1B2C3D4", &prez).await;
        assert_eq!(v["data"]["overdraft_limit"], "0.00");
        refused(
            &get(&s, "/v1/cards/04A1B2C3D4", &bde).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        refused(
            &get(&s, "/v1/cards/DEADBEEF", &barman).await,
            404,
            "CARD_NOT_FOUND_ERROR",
        );
        refused(
            &get(&s, "/v1/cards/no!pe", &barman).await,
            400,
            "VALIDATION_ERROR",
        );

        // Top-ups: string or number with at most 2 decimals.
        let (status, headers, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/topups",
            &barman,
            json!({"amount": "5.50"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let id = v["data"]["transaction"].as_i64().unwrap();
        assert_eq!(
            headers["location"],
            format!("/v1/transactions/{id}").as_str()
        );
        assert_eq!(v["data"]["balance_before"], "10.00");
        assert_eq!(v["data"]["balance_after"], "15.50");
        let (status, _, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/topups",
            &barman,
            json!({"amount": 0.1}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["balance_after"], "15.60");
        for bad in [
            json!({"amount": "1,5"}),
            json!({"amount": "0.001"}),
            json!({}),
        ] {
            let answer = post(&s, "/v1/cards/04A1B2C3D4/topups", &barman, bad).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            assert!(answer.2["debugMessage"]
                .as_str()
                .unwrap()
                .contains("amount"));
        }
        refused(
            &post(
                &s,
                "/v1/cards/04A1B2C3D4/topups",
                &barman,
                json!({"amount": "-1"}),
            )
            .await,
            400,
            "NON_POSITIVE_TOPUP_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/cards/04A1B2C3D4/topups",
                &bde,
                json!({"amount": "1"}),
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/cards/DEADBEEF/topups",
                &barman,
                json!({"amount": "1"}),
            )
            .await,
            404,
            "CARD_NOT_FOUND_ERROR",
        );

        // Payments: by amount, or by quantity of the default product (biere, 1.80).
        let (status, _, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/payments",
            &barman,
            json!({"quantity": 2}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["amount"], "3.60");
        assert_eq!(v["data"]["balance_after"], "12.00");
        let pay_id = v["data"]["transaction"].as_i64().unwrap();
        let (status, _, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/payments",
            &barman,
            json!({"amount": "2"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["balance_after"], "10.00");
        let short = post(
            &s,
            "/v1/cards/04A1B2C3D4/payments",
            &barman,
            json!({"amount": "10.01"}),
        )
        .await;
        refused(&short, 409, "INSUFFICIENT_FUNDS_ERROR");
        refused(
            &post(
                &s,
                "/v1/cards/04A1B2C3D4/payments",
                &barman,
                json!({"amount": "1", "quantity": 1}),
            )
            .await,
            400,
            "VALIDATION_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/cards/04A1B2C3D4/payments",
                &barman,
                json!({"quantity": 1, "product": "caviar"}),
            )
            .await,
            404,
            "PRODUCT_NOT_FOUND_ERROR",
        );

        // The transaction itself.
        let (status, _, v) = get(&s, &format!("/v1/transactions/{pay_id}"), &barman).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["type"], "payment");
        assert_eq!(v["data"]["amount"], "3.60");
        assert_eq!(v["data"]["quantity"], 2);
        assert_eq!(v["data"]["product"], "biere");
        assert_eq!(v["data"]["valid"], true);
        assert_eq!(v["data"]["author"], "barman");

        // Cancel and redo, with the POS rules.
        let (status, _, v) = post(
            &s,
            &format!("/v1/transactions/{pay_id}/cancel"),
            &barman,
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "TRANSACTION_CANCELLED");
        assert_eq!(v["data"]["balance_after"], "13.60");
        refused(
            &post(
                &s,
                &format!("/v1/transactions/{pay_id}/cancel"),
                &barman,
                json!({}),
            )
            .await,
            409,
            "TRANSACTION_ALREADY_CANCELLED_ERROR",
        );
        let (status, _, v) = post(
            &s,
            &format!("/v1/transactions/{pay_id}/redo"),
            &barman,
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["balance_after"], "10.00");
        refused(
            &post(
                &s,
                &format!("/v1/transactions/{pay_id}/redo"),
                &barman,
                json!({}),
            )
            .await,
            409,
            "TRANSACTION_ALREADY_ACTIVE_ERROR",
        );
        // Someone else's transaction, below rights 3.
        ardoise(
            &s.db,
            &[
                "user",
                "add",
                "--login",
                "barman2",
                "--password",
                "secret-pw",
                "--rights",
                "2",
            ],
        );
        let barman2 = session(&s, "barman2").await;
        refused(
            &post(
                &s,
                &format!("/v1/transactions/{pay_id}/cancel"),
                &barman2,
                json!({}),
            )
            .await,
            409,
            "NOT_OWN_TRANSACTION_ERROR",
        );
        refused(
            &post(&s, "/v1/transactions/999999/cancel", &barman, json!({})).await,
            404,
            "TRANSACTION_NOT_FOUND_ERROR",
        );
        refused(
            &post(&s, "/v1/transactions/abc/cancel", &barman, json!({})).await,
            400,
            "VALIDATION_ERROR",
        );

        // Overdraft: rights 3; the card may then go down to its floor.
        let set = call(
            &s,
            Method::PUT,
            "/v1/cards/04A1B2C3D4/overdraft",
            Some(&barman),
            Some(json!({"limit": "20.00"})),
            &[],
        )
        .await;
        refused(&set, 403, "INSUFFICIENT_RIGHTS_ERROR");
        let (status, _, v) = call(
            &s,
            Method::PUT,
            "/v1/cards/04A1B2C3D4/overdraft",
            Some(&prez),
            Some(json!({"limit": "20.00"})),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["overdraft_limit"], "20.00");
        let (status, _, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/payments",
            &barman,
            json!({"amount": "30"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["balance_after"], "-20.00");
        refused(
            &post(
                &s,
                "/v1/cards/04A1B2C3D4/payments",
                &barman,
                json!({"amount": "0.01"}),
            )
            .await,
            409,
            "INSUFFICIENT_FUNDS_ERROR",
        );
        let (status, _, v) = call(
            &s,
            Method::PUT,
            "/v1/cards/04A1B2C3D4/overdraft",
            Some(&prez),
            Some(json!({"enabled": true})),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["overdraft_limit"], "50.00");

        // Drain: a negative balance cannot be handed back; a positive one can.
        refused(
            &post(&s, "/v1/cards/04A1B2C3D4/drain", &barman, json!({})).await,
            400,
            "NON_POSITIVE_BALANCE_ERROR",
        );
        post(
            &s,
            "/v1/cards/04A1B2C3D4/topups",
            &barman,
            json!({"amount": "25"}),
        )
        .await;
        let (status, _, v) = call(
            &s,
            Method::POST,
            "/v1/cards/04A1B2C3D4/drain",
            Some(&barman),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["amount"], "5.00");
        assert_eq!(v["data"]["balance_after"], "0.00");

        // Statistics.
        post(
            &s,
            "/v1/cards",
            &bde,
            json!({"card": "CAFE0002", "balance": "7.25"}),
        )
        .await;
        let (status, _, v) = get(&s, "/v1/stats", &barman).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["cards"], 2);
        assert_eq!(v["data"]["receipts"], "7.25");
        assert_eq!(v["data"]["debts"], "0.00");
        assert_eq!(v["data"]["consumed_quantity"], 2);
        refused(
            &get(&s, "/v1/stats", &bde).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );

        // The same card seen by the POS dialect: one set of rules.
        let pos = s.login("barman").await;
        let sheet = s
            .api(
                "client/fiche",
                &[("jeton", &pos), ("idCarte", "04A1B2C3D4")],
            )
            .await;
        assert_eq!(sheet["solde"], 0);
        crate::harness::assert_invariant(&s, &pos).await;
    }
}

#[tokio::test]
async fn lists_are_paged_with_total_and_links() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "1"}),
        )
        .await;
        for _ in 0..7 {
            let (status, _, v) = post(
                &s,
                "/v1/cards/CAFE0001/topups",
                &barman,
                json!({"amount": "1"}),
            )
            .await;
            assert_eq!(status, 201, "{v}");
        }
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0002", "balance": "1"}),
        )
        .await;

        let (status, headers, v) =
            get(&s, "/v1/cards/CAFE0001/transactions?per_page=3", &barman).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["total"], 8);
        assert_eq!(v["data"]["page"], 1);
        assert_eq!(v["data"]["per_page"], 3);
        let items = v["data"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["type"], "creation");
        assert_eq!(
            headers["link"],
            r#"</v1/cards/CAFE0001/transactions?page=2&per_page=3>; rel="next""#
        );
        let (_, headers, v) = get(
            &s,
            "/v1/cards/CAFE0001/transactions?page=3&per_page=3",
            &barman,
        )
        .await;
        assert_eq!(v["data"]["items"].as_array().unwrap().len(), 2);
        assert_eq!(
            headers["link"],
            r#"</v1/cards/CAFE0001/transactions?page=2&per_page=3>; rel="prev""#
        );
        let (_, headers, v) = get(
            &s,
            "/v1/cards/CAFE0001/transactions?page=2&per_page=3",
            &barman,
        )
        .await;
        let link = headers["link"].to_str().unwrap();
        assert!(link.contains(r#"page=3&per_page=3>; rel="next""#), "{link}");
        assert!(link.contains(r#"page=1&per_page=3>; rel="prev""#), "{link}");
        // Ids go up across pages: oldest first, nothing repeated.
        let ids: Vec<i64> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

        // The whole ledger (rights 3), default page size 50.
        let (status, headers, v) = get(&s, "/v1/transactions", &prez).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["total"], 9);
        assert_eq!(v["data"]["per_page"], 50);
        assert_eq!(v["data"]["items"].as_array().unwrap().len(), 9);
        assert!(headers.get("link").is_none());
        refused(
            &get(&s, "/v1/transactions", &barman).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );

        // The cards.
        let (_, headers, v) = get(&s, "/v1/cards?per_page=1", &barman).await;
        assert_eq!(v["data"]["total"], 2);
        assert_eq!(v["data"]["items"][0]["card"], "CAFE0001");
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));

        for bad in ["page=0", "per_page=0", "per_page=501", "page=x", "page=1.5"] {
            let answer = get(&s, &format!("/v1/transactions?{bad}"), &prez).await;
            refused(&answer, 400, "VALIDATION_ERROR");
        }
        let (status, _, v) = get(&s, "/v1/transactions?per_page=500&page=9", &prez).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["items"], json!([]));
        assert_eq!(v["data"]["total"], 9);
    }
}

#[tokio::test]
async fn envelope_languages_and_refusals() {
    for backend in backends() {
        let s = Server::start(backend);
        let barman = session(&s, "barman").await;

        // French and English messages by Accept-Language; the code does not change.
        let fr = call(
            &s,
            Method::GET,
            "/v1/cards/DEADBEEF",
            Some(&barman),
            None,
            &[("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")],
        )
        .await;
        refused(&fr, 404, "CARD_NOT_FOUND_ERROR");
        assert_eq!(fr.2["message"], "Carte inconnue.");
        let en = call(
            &s,
            Method::GET,
            "/v1/cards/DEADBEEF",
            Some(&barman),
            None,
            &[("Accept-Language", "en-GB")],
        )
        .await;
        assert_eq!(en.2["message"], "Unknown card.");
        let (_, _, v) = call(
            &s,
            Method::POST,
            "/v1/cards",
            Some(&barman),
            Some(json!({"card": "CAFE0001", "balance": "3"})),
            &[("Accept-Language", "fr")],
        )
        .await;
        assert_eq!(v["message"], "La carte a été créée.");

        // No credentials, a bad token, unknown paths, wrong methods.
        refused(
            &call(&s, Method::GET, "/v1/stats", None, None, &[]).await,
            401,
            "AUTHENTICATION_REQUIRED_ERROR",
        );
        refused(
            &get(&s, "/v1/stats", "abcdefghijabcdefghijabcdefghij").await,
            401,
            "INVALID_TOKEN_ERROR",
        );
        refused(
            &get(&s, "/v1/nowhere", &barman).await,
            404,
            "RESOURCE_NOT_FOUND_ERROR",
        );
        for (method, path, allow) in [
            (Method::DELETE, "/v1/cards", "GET, POST"),
            (Method::POST, "/v1/cards/CAFE0001", "GET"),
            (Method::GET, "/v1/cards/CAFE0001/topups", "POST"),
            (Method::GET, "/v1/cards/CAFE0001/payments", "POST"),
            (Method::GET, "/v1/cards/CAFE0001/drain", "POST"),
            (Method::POST, "/v1/cards/CAFE0001/overdraft", "PUT"),
            (Method::POST, "/v1/transactions", "GET"),
            (Method::GET, "/v1/transactions/1/cancel", "POST"),
            (Method::GET, "/v1/transactions/1/redo", "POST"),
            (Method::POST, "/v1/stats", "GET"),
            (Method::GET, "/v1/sessions/current", "DELETE"),
        ] {
            let answer = call(&s, method, path, Some(&barman), None, &[]).await;
            refused(&answer, 405, "METHOD_NOT_ALLOWED_ERROR");
            assert_eq!(answer.1["allow"], allow, "{path}");
        }
    }
}
