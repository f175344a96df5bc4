//! `Idempotency-Key` on the staff money POSTs of `/v1`, against the real binary on each
//! backend: a replay answers the first answer (same status and body) with
//! `Idempotency-Replayed: true` and applies nothing; the key with another request is 409 and
//! applies nothing; keys are scoped to the staff user; concurrent retries and a retry after a
//! dropped connection apply once; a refused movement stores nothing.

use std::io::Write;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backends, Server};
use crate::v1_staff::{call, get, post, refused, session};

async fn keyed(
    s: &Server,
    path: &str,
    token: &str,
    body: Option<Value>,
    key: &str,
) -> (u16, HeaderMap, Value) {
    call(
        s,
        Method::POST,
        path,
        Some(token),
        body,
        &[("Idempotency-Key", key)],
    )
    .await
}

fn replayed(headers: &HeaderMap) -> bool {
    headers
        .get("idempotency-replayed")
        .is_some_and(|v| v == "true")
}

async fn balance(s: &Server, token: &str, card: &str) -> String {
    let (status, _, v) = get(s, &format!("/v1/cards/{card}"), token).await;
    assert_eq!(status, 200, "{v}");
    v["data"]["balance"].as_str().unwrap().to_owned()
}

async fn history_len(s: &Server, token: &str, card: &str) -> u64 {
    let (_, _, v) = get(s, &format!("/v1/cards/{card}/transactions"), token).await;
    v["data"]["total"].as_u64().unwrap()
}

/// Sends the same request twice with one key: the second is the first answer, replayed.
async fn twice(
    s: &Server,
    path: &str,
    token: &str,
    body: Option<Value>,
    key: &str,
    status: u16,
) -> Value {
    let first = keyed(s, path, token, body.clone(), key).await;
    assert_eq!(first.0, status, "{path}: {}", first.2);
    assert!(!replayed(&first.1), "{path}: the first answer is no replay");
    let second = keyed(s, path, token, body, key).await;
    assert_eq!(second.0, first.0, "{path}");
    assert_eq!(second.2, first.2, "{path}: same body");
    assert_eq!(second.1.get("location"), first.1.get("location"), "{path}");
    assert!(replayed(&second.1), "{path}: Idempotency-Replayed: true");
    first.2
}

#[tokio::test]
async fn every_staff_money_post_replays_its_first_answer() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;

        // Card creation with an opening balance.
        let v = twice(
            &s,
            "/v1/cards",
            &barman,
            Some(json!({"card": "CAFE0001", "balance": "10.00"})),
            "open-1",
            201,
        )
        .await;
        assert_eq!(v["code"], "CARD_CREATED");
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "10.00");

        // Top-up.
        let v = twice(
            &s,
            "/v1/cards/CAFE0001/topups",
            &barman,
            Some(json!({"amount": "5.50"})),
            "topup-1",
            201,
        )
        .await;
        assert_eq!(v["data"]["balance_after"], "15.50");
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "15.50");

        // Payment by amount and by quantity.
        let v = twice(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            Some(json!({"amount": "2.00"})),
            "pay-1",
            201,
        )
        .await;
        assert_eq!(v["data"]["balance_after"], "13.50");
        let paid = v["data"]["transaction"].as_i64().unwrap();
        twice(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            Some(json!({"quantity": 1})),
            "pay-2",
            201,
        )
        .await;
        let after_beer = balance(&s, &prez, "CAFE0001").await;

        // Cancel and redo (200).
        let v = twice(
            &s,
            &format!("/v1/transactions/{paid}/cancel"),
            &barman,
            None,
            "cancel-1",
            200,
        )
        .await;
        assert_eq!(v["code"], "TRANSACTION_CANCELLED");
        let v = twice(
            &s,
            &format!("/v1/transactions/{paid}/redo"),
            &barman,
            None,
            "redo-1",
            200,
        )
        .await;
        assert_eq!(v["code"], "TRANSACTION_REDONE");
        assert_eq!(balance(&s, &prez, "CAFE0001").await, after_beer);

        // Drain.
        let v = twice(
            &s,
            "/v1/cards/CAFE0001/drain",
            &barman,
            None,
            "drain-1",
            201,
        )
        .await;
        assert_eq!(v["data"]["balance_after"], "0.00");
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "0.00");
        // open, top-up, 2 payments, drain: cancel and redo flip, they add no line.
        assert_eq!(history_len(&s, &prez, "CAFE0001").await, 5);

        // A replay in another language keeps the status and data, with the message of the
        // caller's language.
        let (status, headers, v) = call(
            &s,
            Method::POST,
            "/v1/cards/CAFE0001/topups",
            Some(&barman),
            Some(json!({"amount": "5.50"})),
            &[("Idempotency-Key", "topup-1"), ("Accept-Language", "fr")],
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert!(replayed(&headers));
        assert_eq!(v["data"]["balance_after"], "15.50");
        assert_eq!(v["message"], "La carte a été rechargée.");
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "0.00");
    }
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_409_and_applies_nothing() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10.00"}),
        )
        .await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0002", "balance": "10.00"}),
        )
        .await;
        let path = "/v1/cards/CAFE0001/topups";
        let (status, _, _) = keyed(&s, path, &barman, Some(json!({"amount": "1.00"})), "k").await;
        assert_eq!(status, 201);

        // Another amount, another card, another route: each is another request.
        let other_amount = keyed(&s, path, &barman, Some(json!({"amount": "2.00"})), "k").await;
        refused(&other_amount, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        let other_card = keyed(
            &s,
            "/v1/cards/CAFE0002/topups",
            &barman,
            Some(json!({"amount": "1.00"})),
            "k",
        )
        .await;
        refused(&other_card, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        let other_route = keyed(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            Some(json!({"amount": "1.00"})),
            "k",
        )
        .await;
        refused(&other_route, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        let fr = call(
            &s,
            Method::POST,
            path,
            Some(&barman),
            Some(json!({"amount": "3.00"})),
            &[("Idempotency-Key", "k"), ("Accept-Language", "fr")],
        )
        .await;
        refused(&fr, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        assert_eq!(
            fr.2["message"],
            "Cette clé d'idempotence a déjà servi pour une autre requête."
        );
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "11.00");
        assert_eq!(balance(&s, &prez, "CAFE0002").await, "10.00");

        // Keys belong to their staff user: prez's "k" is not barman's "k".
        let (status, headers, v) =
            keyed(&s, path, &prez, Some(json!({"amount": "2.00"})), "k").await;
        assert_eq!(status, 201, "{v}");
        assert!(!replayed(&headers));
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "13.00");
        // The same user in another session is the same owner: a replay.
        let barman2 = session(&s, "barman").await;
        let (status, headers, _) =
            keyed(&s, path, &barman2, Some(json!({"amount": "1.00"})), "k").await;
        assert_eq!(status, 201);
        assert!(replayed(&headers));
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "13.00");

        // Malformed keys are refused, naming the header; nothing applied.
        for bad in ["", &"x".repeat(256), "é"] {
            let answer = call(
                &s,
                Method::POST,
                path,
                Some(&barman),
                Some(json!({"amount": "1.00"})),
                &[("Idempotency-Key", bad)],
            )
            .await;
            refused(&answer, 400, "VALIDATION_ERROR");
            assert!(
                answer.2["debugMessage"]
                    .as_str()
                    .unwrap()
                    .contains("Idempotency-Key"),
                "{}",
                answer.2
            );
        }
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "13.00");
    }
}

#[tokio::test]
async fn concurrent_retries_of_one_key_apply_once() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10.00"}),
        )
        .await;
        post(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            json!({"amount": "1.00"}),
        )
        .await;
        let (_, _, v) = get(&s, "/v1/cards/CAFE0001/transactions", &prez).await;
        let paid = v["data"]["items"][1]["id"].as_i64().unwrap();

        // Per route: a burst of the same request with one key.
        let routes = [
            (
                "/v1/cards/CAFE0001/payments".to_owned(),
                Some(json!({"amount": "7.00"})),
                "pay",
            ),
            (
                "/v1/cards/CAFE0001/topups".to_owned(),
                Some(json!({"amount": "3.00"})),
                "top",
            ),
            (format!("/v1/transactions/{paid}/cancel"), None, "cancel"),
            (
                "/v1/cards".to_owned(),
                Some(json!({"card": "CAFE0002", "balance": "4.00"})),
                "open",
            ),
            ("/v1/cards/CAFE0002/drain".to_owned(), None, "drain"),
        ];
        for (path, body, key) in routes {
            let burst = (0..8).map(|_| {
                let client = s.client.clone();
                let url = format!("{}{path}", s.base);
                let token = barman.clone();
                let body = body.clone();
                tokio::spawn(async move {
                    let mut req = client
                        .post(url)
                        .bearer_auth(token)
                        .header("Idempotency-Key", key);
                    if let Some(body) = body {
                        req = req.json(&body);
                    }
                    let resp = req.send().await.unwrap();
                    let status = resp.status().as_u16();
                    let replay = replayed(resp.headers());
                    let v: Value = resp.json().await.unwrap();
                    (status, replay, v)
                })
            });
            let mut answers = Vec::new();
            for task in burst.collect::<Vec<_>>() {
                answers.push(task.await.unwrap());
            }
            let fresh = answers.iter().filter(|a| !a.1).count();
            assert_eq!(fresh, 1, "{path}: exactly one applied: {answers:?}");
            for a in &answers {
                assert!(a.0 == 200 || a.0 == 201, "{path}: {a:?}");
                assert_eq!(a.0, answers[0].0, "{path}");
                assert_eq!(a.2, answers[0].2, "{path}: the same answer");
            }
        }
        // 10 - 1 - 7 + 3 + 1 (cancelled payment)
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "6.00");
        assert_eq!(history_len(&s, &prez, "CAFE0001").await, 4);
        assert_eq!(balance(&s, &prez, "CAFE0002").await, "0.00");
        assert_eq!(history_len(&s, &prez, "CAFE0002").await, 2);
    }
}

#[tokio::test]
async fn a_retry_after_a_dropped_connection_applies_once() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10.00"}),
        )
        .await;

        // The whole request is sent, then the connection dropped before the answer is read.
        let body = r#"{"amount":"4.00"}"#;
        let addr = s.base.trim_start_matches("http://").to_owned();
        let request = format!(
            "POST /v1/cards/CAFE0001/payments HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer {barman}\r\nIdempotency-Key: drop-key\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        tcp.write_all(request.as_bytes()).unwrap();
        tcp.shutdown(std::net::Shutdown::Both).unwrap();
        drop(tcp);
        tokio::time::sleep(Duration::from_millis(300)).await;

        // The client retries: the payment is applied once, whether the first try was.
        let (status, _, v) = keyed(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            Some(json!({"amount": "4.00"})),
            "drop-key",
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["balance_after"], "6.00");
        let again = keyed(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            Some(json!({"amount": "4.00"})),
            "drop-key",
        )
        .await;
        assert!(replayed(&again.1));
        assert_eq!(again.2, v);
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "6.00");
        assert_eq!(history_len(&s, &prez, "CAFE0001").await, 2);
    }
}

#[tokio::test]
async fn a_refused_movement_stores_no_answer_and_its_retry_is_decided_afresh() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "3.00"}),
        )
        .await;
        let path = "/v1/cards/CAFE0001/payments";
        let body = json!({"amount": "5.00"});
        let first = keyed(&s, path, &barman, Some(body.clone()), "pay-5").await;
        refused(&first, 409, "INSUFFICIENT_FUNDS_ERROR");
        assert!(!replayed(&first.1));
        // Nothing was stored: the same key may be used for another request…
        let (status, _, _) = keyed(
            &s,
            "/v1/cards/CAFE0001/topups",
            &barman,
            Some(json!({"amount": "5.00"})),
            "top-5",
        )
        .await;
        assert_eq!(status, 201);
        // …and the retry of the refused payment, now that the card has the money, is applied
        // (once: the retry after it is a replay).
        let (status, headers, v) = keyed(&s, path, &barman, Some(body.clone()), "pay-5").await;
        assert_eq!(status, 201, "{v}");
        assert!(!replayed(&headers));
        assert_eq!(v["data"]["balance_after"], "3.00");
        let again = keyed(&s, path, &barman, Some(body), "pay-5").await;
        assert!(replayed(&again.1));
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "3.00");
        // Rights are checked before anything is applied, with or without a key.
        let bde = session(&s, "bde").await;
        let answer = keyed(
            &s,
            "/v1/cards/CAFE0001/topups",
            &bde,
            Some(json!({"amount": "1"})),
            "b",
        )
        .await;
        refused(&answer, 403, "INSUFFICIENT_RIGHTS_ERROR");
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "3.00");
    }
}

/// `POST /v1/cards/{card}/replace` with `Idempotency-Key`: concurrent retries of one key
/// replace the card once and all answer the same 201 with the same `Location`; a later retry
/// is replayed; the key with another body or on another card is 409 and applies nothing.
#[tokio::test]
async fn a_card_replacement_with_a_key_applies_once() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        for card in ["CAFE0001", "CAFE0009"] {
            post(
                &s,
                "/v1/cards",
                &prez,
                json!({"card": card, "balance": "10.00"}),
            )
            .await;
        }
        post(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            json!({"amount": "2.50"}),
        )
        .await;

        let burst = (0..8).map(|_| {
            let client = s.client.clone();
            let url = format!("{}/v1/cards/CAFE0001/replace", s.base);
            let token = barman.clone();
            tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", "swap-1")
                    .json(&json!({"new_card": "BEEF0002"}))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let replay = replayed(resp.headers());
                let location = resp
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned());
                let v: Value = resp.json().await.unwrap();
                (status, replay, location, v)
            })
        });
        let mut answers = Vec::new();
        for task in burst.collect::<Vec<_>>() {
            answers.push(task.await.unwrap());
        }
        assert_eq!(
            answers.iter().filter(|a| !a.1).count(),
            1,
            "exactly one applied: {answers:?}"
        );
        for a in &answers {
            assert_eq!(a.0, 201, "{a:?}");
            assert_eq!(a.2.as_deref(), Some("/v1/cards/BEEF0002"), "{a:?}");
            assert_eq!(a.3, answers[0].3, "the same answer");
        }
        let first = &answers[0].3;
        assert_eq!(first["code"], "CARD_REPLACED", "{first}");
        assert_eq!(first["data"]["card"], "BEEF0002");
        assert_eq!(first["data"]["replaced"], "CAFE0001");
        assert_eq!(first["data"]["amount"], "7.50");
        assert_eq!(balance(&s, &prez, "BEEF0002").await, "7.50");
        assert_eq!(balance(&s, &prez, "CAFE0001").await, "0.00");
        assert_eq!(history_len(&s, &prez, "BEEF0002").await, 1);
        // creation, payment, transfer out
        assert_eq!(history_len(&s, &prez, "CAFE0001").await, 3);

        // A later retry: the first answer, replayed, in the retry's language.
        let resp = s
            .client
            .post(format!("{}/v1/cards/CAFE0001/replace", s.base))
            .bearer_auth(&barman)
            .header("Idempotency-Key", "swap-1")
            .header("Accept-Language", "fr")
            .json(&json!({"new_card": "BEEF0002"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        assert!(replayed(resp.headers()));
        assert_eq!(resp.headers()["location"], "/v1/cards/BEEF0002");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["data"], first["data"]);
        assert_ne!(v["message"], first["message"], "{v}");

        // The key with another body, or on another card: 409, nothing applied.
        let other_body = keyed(
            &s,
            "/v1/cards/CAFE0001/replace",
            &barman,
            Some(json!({"new_card": "BEEF0003"})),
            "swap-1",
        )
        .await;
        refused(&other_body, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        let other_card = keyed(
            &s,
            "/v1/cards/CAFE0009/replace",
            &barman,
            Some(json!({"new_card": "BEEF0002"})),
            "swap-1",
        )
        .await;
        refused(&other_card, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        refused(
            &get(&s, "/v1/cards/BEEF0003", &prez).await,
            404,
            "CARD_NOT_FOUND_ERROR",
        );
        assert_eq!(balance(&s, &prez, "CAFE0009").await, "10.00");
        assert_eq!(history_len(&s, &prez, "CAFE0009").await, 1);

        // A refused keyed replacement (the new card exists) stores nothing: the key stays free.
        let taken = keyed(
            &s,
            "/v1/cards/CAFE0009/replace",
            &barman,
            Some(json!({"new_card": "BEEF0002"})),
            "swap-2",
        )
        .await;
        refused(&taken, 409, "CARD_EXISTS_ERROR");
        let (status, headers, v) = keyed(
            &s,
            "/v1/cards/CAFE0009/replace",
            &barman,
            Some(json!({"new_card": "BEEF0004"})),
            "swap-2",
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert!(!replayed(&headers));
        assert_eq!(balance(&s, &prez, "BEEF0004").await, "10.00");
    }
}
