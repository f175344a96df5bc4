//! The partner resources of `/v1` against the real binary, on each backend: card credit with
//! its idempotency (Idempotency-Key and reference, a retry after a dropped connection,
//! concurrent retries), the credit caps (per operation, per day, under concurrency) and card
//! validity.

use std::io::Write;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{ardoise_env, backends, Database, Server};
use crate::v1_staff::{call, get, post, refused, session};

pub(crate) struct Partner {
    pub(crate) id: String,
    secret: String,
}

/// `ardoise partner add`, with the configuration `env` (e.g. other default caps).
pub(crate) fn add_partner(
    db: &Database,
    name: &str,
    scopes: &str,
    env: &[(&str, &str)],
) -> Partner {
    let (ok, out, err) = ardoise_env(
        db,
        &["partner", "add", "--name", name, "--scopes", scopes],
        env,
    );
    assert!(ok, "partner add: {err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    Partner {
        id: v["client_id"].as_str().unwrap().to_owned(),
        secret: v["client_secret"].as_str().unwrap().to_owned(),
    }
}

pub(crate) async fn token(s: &Server, p: &Partner) -> String {
    let resp = s
        .client
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(&p.id, Some(&p.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

async fn credit(
    s: &Server,
    token: &str,
    card: &str,
    body: Value,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    call(
        s,
        Method::POST,
        &format!("/v1/cards/{card}/credits"),
        Some(token),
        Some(body),
        &headers,
    )
    .await
}

async fn balance(s: &Server, token: &str, card: &str) -> String {
    let (status, _, v) = get(s, &format!("/v1/cards/{card}/balance"), token).await;
    assert_eq!(status, 200, "{v}");
    v["data"]["balance"].as_str().unwrap().to_owned()
}

/// The same credit as `credit`, on a task of its own, for concurrent requests.
fn spawn_credit(
    s: &Server,
    token: &str,
    card: String,
    body: Value,
    key: Option<&str>,
) -> tokio::task::JoinHandle<(u16, reqwest::header::HeaderMap, Value)> {
    let client = s.client.clone();
    let url = format!("{}/v1/cards/{card}/credits", s.base);
    let token = token.to_owned();
    let key = key.map(str::to_owned);
    tokio::spawn(async move {
        let mut req = client.post(url).bearer_auth(token).json(&body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.json().await.unwrap())
    })
}

async fn all<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn replayed(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get("idempotency-replayed")
        .is_some_and(|v| v == "true")
}

#[tokio::test]
async fn a_credit_is_applied_once_per_key_and_per_reference() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "1"}),
        )
        .await;
        let p = add_partner(&s.db, "psp", "cards:read cards:credit", &[]);
        let t = token(&s, &p).await;

        let body = json!({"amount": "10.00", "reference": "pay-1"});
        let first = credit(&s, &t, "CAFE0001", body.clone(), Some("k-1")).await;
        assert_eq!(first.0, 201, "{}", first.2);
        assert!(!replayed(&first.1));
        let id = first.2["data"]["transaction"].as_i64().unwrap();
        assert_eq!(
            first.1["location"],
            format!("/v1/transactions/{id}").as_str()
        );
        assert_eq!(first.2["code"], "CARD_CREDITED");
        assert_eq!(first.2["data"]["balance_before"], "1.00");
        assert_eq!(first.2["data"]["balance_after"], "11.00");
        assert_eq!(first.2["data"]["reference"], "pay-1");

        // The same request again: the first answer, same status and body, nothing applied.
        let again = credit(&s, &t, "CAFE0001", body.clone(), Some("k-1")).await;
        assert_eq!(again.0, 201);
        assert!(replayed(&again.1));
        assert_eq!(again.2, first.2);
        // The amount as a number is the same request.
        let number = credit(
            &s,
            &t,
            "CAFE0001",
            json!({"amount": 10, "reference": "pay-1"}),
            Some("k-1"),
        )
        .await;
        assert!(replayed(&number.1), "{}", number.2);
        // The same key for another request: 409.
        let other = credit(
            &s,
            &t,
            "CAFE0001",
            json!({"amount": "9.00", "reference": "pay-1"}),
            Some("k-1"),
        )
        .await;
        refused(&other, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        // Without a key, the reference alone makes it idempotent.
        let by_reference = credit(&s, &t, "CAFE0001", body.clone(), None).await;
        assert_eq!(by_reference.0, 201);
        assert!(replayed(&by_reference.1));
        assert_eq!(by_reference.2, first.2);
        let reused = credit(
            &s,
            &t,
            "CAFE0001",
            json!({"amount": "3.00", "reference": "pay-1"}),
            Some("k-2"),
        )
        .await;
        refused(&reused, 409, "REFERENCE_REUSED_ERROR");
        assert_eq!(balance(&s, &t, "CAFE0001").await, "11.00");

        // A new reference is a new credit.
        let second = credit(
            &s,
            &t,
            "CAFE0001",
            json!({"amount": 0.5, "reference": "pay-2"}),
            Some("k-3"),
        )
        .await;
        assert_eq!(second.0, 201, "{}", second.2);
        assert!(!replayed(&second.1));
        assert_eq!(second.2["data"]["balance_after"], "11.50");

        // Who made it, as staff see it.
        let (_, _, v) = get(&s, &format!("/v1/transactions/{id}"), &prez).await;
        assert_eq!(v["data"]["type"], "topup");
        assert_eq!(v["data"]["author"], format!("partner:{}", p.id).as_str());

        // Refusals.
        for bad in [
            json!({"amount": "1,5", "reference": "x-1"}),
            json!({"amount": "1"}),
            json!({"amount": "1", "reference": "with space"}),
            json!({"amount": "1", "reference": "x".repeat(101)}),
        ] {
            refused(
                &credit(&s, &t, "CAFE0001", bad, None).await,
                400,
                "VALIDATION_ERROR",
            );
        }
        refused(
            &credit(
                &s,
                &t,
                "CAFE0001",
                json!({"amount": "0", "reference": "z-1"}),
                None,
            )
            .await,
            400,
            "NON_POSITIVE_TOPUP_ERROR",
        );
        refused(
            &credit(
                &s,
                &t,
                "DEADBEEF",
                json!({"amount": "1", "reference": "z-2"}),
                None,
            )
            .await,
            404,
            "CARD_NOT_FOUND_ERROR",
        );
        let reader = add_partner(&s.db, "reader", "cards:read", &[]);
        let rt = token(&s, &reader).await;
        refused(
            &credit(
                &s,
                &rt,
                "CAFE0001",
                json!({"amount": "1", "reference": "z-3"}),
                None,
            )
            .await,
            403,
            "INSUFFICIENT_SCOPE_ERROR",
        );
        refused(
            &credit(
                &s,
                &prez,
                "CAFE0001",
                json!({"amount": "1", "reference": "z-4"}),
                None,
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        refused(
            &call(
                &s,
                Method::GET,
                "/v1/cards/CAFE0001/credits",
                Some(&t),
                None,
                &[],
            )
            .await,
            405,
            "METHOD_NOT_ALLOWED_ERROR",
        );
        assert_eq!(balance(&s, &t, "CAFE0001").await, "11.50");

        // Validity.
        let (status, _, v) = get(&s, "/v1/cards/CAFE0001/validity", &rt).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["data"],
            json!({"card": "CAFE0001", "valid": true, "reason": "active", "valid_until": null})
        );
        let (status, _, v) = get(&s, "/v1/cards/DEADBEEF/validity", &rt).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["valid"], false);
        assert_eq!(v["data"]["reason"], "unknown");
        let honeypot = session(&s, "honeypot").await;
        refused(
            &get(&s, "/v1/cards/CAFE0001/validity", &honeypot).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
    }
}

#[tokio::test]
async fn a_retried_credit_after_a_dropped_connection_is_applied_once() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "1"}),
        )
        .await;
        let p = add_partner(&s.db, "psp", "cards:read cards:credit", &[]);
        let t = token(&s, &p).await;

        // The whole request is sent, then the connection dropped before the answer is read.
        let body = r#"{"amount":"10.00","reference":"drop-1"}"#;
        let request = format!(
            "POST /v1/cards/CAFE0001/credits HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {t}\r\n\
             Idempotency-Key: drop-key\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            s.base.trim_start_matches("http://"),
            body.len()
        );
        let mut tcp = std::net::TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
        tcp.write_all(request.as_bytes()).unwrap();
        tcp.shutdown(std::net::Shutdown::Both).unwrap();
        drop(tcp);
        tokio::time::sleep(Duration::from_millis(300)).await;

        // The client retries, several times at once: the credit is applied exactly once.
        let retries = (0..6)
            .map(|_| {
                spawn_credit(
                    &s,
                    &t,
                    "CAFE0001".into(),
                    json!({"amount": "10.00", "reference": "drop-1"}),
                    Some("drop-key"),
                )
            })
            .collect();
        let answers = all(retries).await;
        let fresh = answers.iter().filter(|a| !replayed(&a.1)).count();
        for a in &answers {
            assert_eq!(a.0, 201, "{}", a.2);
            assert_eq!(a.2["data"], answers[0].2["data"]);
        }
        assert!(fresh <= 1, "{fresh} answers were not replays");
        assert_eq!(balance(&s, &t, "CAFE0001").await, "11.00");
        let (_, _, v) = get(&s, "/v1/cards/CAFE0001/transactions", &prez).await;
        assert_eq!(v["data"]["total"], 2, "{v}");
    }
}

/// Issue 14, defect 1: 16 concurrent retries of a credit that reaches the partner's daily cap
/// (by `Idempotency-Key`, then by `reference` alone) all get the first answer, 201, never
/// `CREDIT_CAP_EXCEEDED_ERROR` for money that landed.
#[tokio::test]
async fn retries_of_a_credit_reaching_the_daily_cap_all_answer_201() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        for card in ["CAFE0001", "CAFE0002"] {
            post(
                &s,
                "/v1/cards",
                &prez,
                json!({"card": card, "balance": "1"}),
            )
            .await;
        }
        let caps = [
            ("ARDOISE__PARTNERS__CREDIT_CAP_OPERATION", "10.00"),
            ("ARDOISE__PARTNERS__CREDIT_CAP_DAY", "10.00"),
        ];
        for (card, keyed) in [("CAFE0001", true), ("CAFE0002", false)] {
            let p = add_partner(&s.db, card, "cards:read cards:credit", &caps);
            let t = token(&s, &p).await;
            let key = keyed.then_some("capping-key-0001");
            let retries = (0..16)
                .map(|_| {
                    spawn_credit(
                        &s,
                        &t,
                        card.into(),
                        json!({"amount": "10.00", "reference": "capping"}),
                        key,
                    )
                })
                .collect();
            let answers = all(retries).await;
            for a in &answers {
                assert_eq!(a.0, 201, "{backend:?} keyed={keyed}: {}", a.2);
                assert_eq!(a.2["data"], answers[0].2["data"]);
            }
            let fresh = answers.iter().filter(|a| !replayed(&a.1)).count();
            assert_eq!(fresh, 1, "{backend:?} keyed={keyed}");
            assert_eq!(balance(&s, &t, card).await, "11.00");
        }
    }
}

#[tokio::test]
async fn credit_caps_hold_per_operation_and_per_day_even_concurrently() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        for i in 0..8 {
            let card = format!("CAFE000{i}");
            post(
                &s,
                "/v1/cards",
                &prez,
                json!({"card": card, "balance": "1"}),
            )
            .await;
        }
        let caps = [
            ("ARDOISE__PARTNERS__CREDIT_CAP_OPERATION", "5.00"),
            ("ARDOISE__PARTNERS__CREDIT_CAP_DAY", "12.00"),
        ];
        let p = add_partner(&s.db, "capped", "cards:read cards:credit", &caps);
        let t = token(&s, &p).await;
        let c = |amount: &str, reference: &str| json!({"amount": amount, "reference": reference});
        let over = credit(&s, &t, "CAFE0000", c("5.01", "a"), None).await;
        refused(&over, 409, "CREDIT_CAP_EXCEEDED_ERROR");
        assert!(over.2["debugMessage"]
            .as_str()
            .unwrap()
            .contains("per operation"));
        assert_eq!(
            credit(&s, &t, "CAFE0000", c("5.00", "b"), None).await.0,
            201
        );
        assert_eq!(
            credit(&s, &t, "CAFE0001", c("5.00", "c"), None).await.0,
            201
        );
        let day = credit(&s, &t, "CAFE0002", c("3.00", "d"), None).await;
        refused(&day, 409, "CREDIT_CAP_EXCEEDED_ERROR");
        assert!(day.2["debugMessage"].as_str().unwrap().contains("per day"));
        assert_eq!(
            credit(&s, &t, "CAFE0002", c("2.00", "e"), None).await.0,
            201
        );
        refused(
            &credit(&s, &t, "CAFE0003", c("0.01", "f"), None).await,
            409,
            "CREDIT_CAP_EXCEEDED_ERROR",
        );
        // A refused credit did not reserve its reference.
        assert_eq!(
            credit(&s, &t, "CAFE0003", c("0.01", "d"), None).await.0,
            409,
            "still over the cap"
        );

        // Concurrent credits on different cards: the daily cap holds exactly.
        let caps = [
            ("ARDOISE__PARTNERS__CREDIT_CAP_OPERATION", "5.00"),
            ("ARDOISE__PARTNERS__CREDIT_CAP_DAY", "10.00"),
        ];
        let q = add_partner(&s.db, "racer", "cards:read cards:credit", &caps);
        let qt = token(&s, &q).await;
        let racers = (0..8)
            .map(|i| {
                spawn_credit(
                    &s,
                    &qt,
                    format!("CAFE000{i}"),
                    json!({"amount": "2.00", "reference": format!("race-{i}")}),
                    None,
                )
            })
            .collect();
        let answers = all(racers).await;
        let applied = answers.iter().filter(|a| a.0 == 201).count();
        for a in answers.iter().filter(|a| a.0 != 201) {
            refused(a, 409, "CREDIT_CAP_EXCEEDED_ERROR");
        }
        assert_eq!(applied, 5);
        let (_, _, v) = get(&s, "/v1/stats", &prez).await;
        // 8 cards × 1.00 + 12.00 by the first partner + 10.00 by the second.
        assert_eq!(v["data"]["receipts"], "30.00", "{v}");
    }
}

async fn validity_reason(s: &Server, token: &str, card: &str) -> String {
    let (status, _, v) = get(s, &format!("/v1/cards/{card}/validity"), token).await;
    assert_eq!(status, 200, "{v}");
    v["data"]["reason"].as_str().unwrap().to_owned()
}

/// Balance and validity reads are served from memory, but a write through the server — a
/// POS payment or top-up, a block — shows in the very next read. The card cache is set to
/// ten minutes here, so only the write's invalidation can make the new balance appear.
#[tokio::test]
async fn a_partner_sees_a_pos_payment_in_the_next_balance_read() {
    for backend in backends() {
        let s = Server::start_with(backend, &[("ARDOISE__DATABASE__CARD_CACHE_MS", "600000")]);
        let prez = session(&s, "prez").await;
        let (status, _, v) = post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let p = add_partner(&s.db, "psp", "cards:read", &[]);
        let t = token(&s, &p).await;
        assert_eq!(balance(&s, &t, "CAFE0001").await, "10.00");
        assert_eq!(validity_reason(&s, &t, "CAFE0001").await, "active");

        let barman = s.login("barman").await;
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "CAFE0001"),
                    ("montant", "1.7"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(balance(&s, &t, "CAFE0001").await, "8.30", "{backend:?}");

        let v = s
            .api(
                "client/recharger",
                &[
                    ("jeton", &barman),
                    ("idCarte", "CAFE0001"),
                    ("montant", "5"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(balance(&s, &t, "CAFE0001").await, "13.30", "{backend:?}");

        let (status, _, v) = post(&s, "/v1/cards/CAFE0001/block", &prez, json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(validity_reason(&s, &t, "CAFE0001").await, "blocked");
        // Money decisions never read the snapshots: the writer's guard refuses the payment.
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "CAFE0001"),
                    ("montant", "1"),
                ],
            )
            .await;
        assert_ne!(v["status"], "ok", "{v}");
        assert_eq!(balance(&s, &t, "CAFE0001").await, "13.30", "{backend:?}");
    }
}

/// Two servers on one database (a second instance behind the load balancer): a payment made
/// through one shows in the other's balance reads within the card cache's TTL.
#[tokio::test]
async fn a_payment_through_another_server_shows_within_the_card_cache_ttl() {
    let ttl = Duration::from_millis(1000);
    for backend in backends() {
        let s = Server::start(backend);
        let other = Server::serve(crate::harness::Database::at(s.db.url.clone()), &[]);
        let prez = session(&s, "prez").await;
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "10"}),
        )
        .await;
        let p = add_partner(&s.db, "psp", "cards:read", &[]);
        let t = token(&s, &p).await;
        assert_eq!(balance(&s, &t, "CAFE0001").await, "10.00");

        let barman = other.login("barman").await;
        let v = other
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "CAFE0001"),
                    ("montant", "2"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        let paid = std::time::Instant::now();
        loop {
            let seen = balance(&s, &t, "CAFE0001").await;
            if seen == "8.00" {
                break;
            }
            assert_eq!(seen, "10.00", "{backend:?}");
            assert!(
                paid.elapsed() < ttl + Duration::from_millis(500),
                "{backend:?}: the other server's payment did not show within the TTL"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(other);
    }
}
