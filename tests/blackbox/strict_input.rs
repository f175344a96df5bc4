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
