//! The members' exchange (seed 004) against the real binary, on each backend: an offer
//! published and found by category and words, a conversation both ways with unread counts,
//! a payment from member to member (idempotent, both histories), its cancel by a moderator,
//! moderation; the privacy of conversations; and the money races: 64 concurrent transfers
//! out of one card covering 10, and a ring of transfers under 64 clients.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_invariant, backends, Server};
use crate::v1_staff::{call, get, post, session};

/// Creates a member with `email` and a card of `balance` linked to them, invites them and
/// sets their password; the member's id and bearer token.
pub(crate) async fn member(
    s: &Server,
    staff: &str,
    name: &str,
    card: &str,
    balance: &str,
) -> (i64, String) {
    let email = format!("{}@example.org", name.to_lowercase());
    let (status, _, v) = post(
        s,
        "/v1/members",
        staff,
        json!({"display_name": name, "email": email}),
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
    let (status, _, v) = post(
        s,
        &format!("/v1/members/{id}/invitation"),
        staff,
        Value::Null,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let link = v["data"]["link"].as_str().unwrap().to_owned();
    let token = link.rsplit('/').next().unwrap();
    let (status, _, v) = call(
        s,
        Method::POST,
        "/v1/member-passwords",
        None,
        Some(json!({"token": token, "password": "correct horse"})),
        &[],
    )
    .await;
    assert_eq!(status, 204, "{v}");
    let (status, _, v) = call(
        s,
        Method::POST,
        "/v1/member-sessions",
        None,
        Some(json!({"email": email, "password": "correct horse"})),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{v}");
    (id, v["data"]["token"].as_str().unwrap().to_owned())
}

pub(crate) async fn balance(s: &Server, staff: &str, card: &str) -> String {
    let (status, _, v) = get(s, &format!("/v1/cards/{card}"), staff).await;
    assert_eq!(status, 200, "{v}");
    v["data"]["balance"].as_str().unwrap().to_owned()
}

async fn pay(
    s: &Server,
    token: &str,
    body: Value,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    call(
        s,
        Method::POST,
        "/v1/transfers",
        Some(token),
        Some(body),
        &headers,
    )
    .await
}

#[tokio::test]
async fn published_found_discussed_paid_and_cancelled() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        let bde = session(&s, "bde").await;
        let (status, _, v) = post(&s, "/v1/categories", &prez, json!({"name": "Musique"})).await;
        assert_eq!(status, 201, "{v}");
        let music = v["data"]["id"].as_i64().unwrap();
        let (alice, alice_token) = member(&s, &bde, "Alice", "A11CE001", "20.00").await;
        let (bob, bob_token) = member(&s, &bde, "Bob", "B0B00001", "30.00").await;

        // Publishing: bad fields are refused by name and store nothing.
        let (status, _, v) = post(
            &s,
            "/v1/offers",
            &alice_token,
            json!({"kind": "offer", "category": music, "description": "  "}),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("VALIDATION_ERROR"))
        );
        assert!(v["debugMessage"]
            .as_str()
            .unwrap()
            .contains("`description`"));
        let (status, _, v) = post(
            &s,
            "/v1/offers",
            &alice_token,
            json!({"kind": "offer", "category": music, "description": "x",
                   "wished_from": "2027-02-01", "wished_until": "2027-01-01"}),
        )
        .await;
        assert_eq!(status, 400, "{v}");
        assert!(v["debugMessage"]
            .as_str()
            .unwrap()
            .contains("`wished_from`"));
        let (status, _, v) = post(
            &s,
            "/v1/offers",
            &alice_token,
            json!({"kind": "offer", "category": 999, "description": "x"}),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("CATEGORY_NOT_FOUND_ERROR"))
        );
        let (status, _, v) = post(
            &s,
            "/v1/offers",
            &prez,
            json!({"kind": "offer", "category": music, "description": "x"}),
        )
        .await;
        assert_eq!(status, 403, "staff publish nothing: {v}");

        let (status, headers, v) = post(
            &s,
            "/v1/offers",
            &alice_token,
            json!({"kind": "offer", "category": music,
                   "description": "Cours de guitare pour débutants, le soir",
                   "wished_from": "2027-01-01", "wished_until": "2027-01-31", "price": "12.00"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let offer = v["data"]["id"].as_i64().unwrap();
        assert_eq!(headers["location"], format!("/v1/offers/{offer}").as_str());
        assert_eq!(v["data"]["category_name"], "Musique");
        assert_eq!(v["data"]["price"], "12.00");
        assert_eq!(v["data"]["status"], "open");

        // Another member finds it by category and words, not by other words or kinds.
        let found = |path: String| {
            let s = &s;
            let token = bob_token.clone();
            async move {
                let (status, _, v) = get(s, &path, &token).await;
                assert_eq!(status, 200, "{path}: {v}");
                v["data"]["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["id"].as_i64().unwrap())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            found(format!("/v1/offers?category={music}&q=GUITARE%20soir")).await,
            [offer]
        );
        assert!(found("/v1/offers?q=piano".into()).await.is_empty());
        assert!(found("/v1/offers?kind=request".into()).await.is_empty());
        assert_eq!(found(format!("/v1/offers?member={alice}")).await, [offer]);
        assert!(found(format!("/v1/offers?member={bob}")).await.is_empty());
        let (status, _, _) = get(&s, "/v1/offers?status=all", &bob_token).await;
        assert_eq!(status, 403, "only staff list closed offers");
        let (status, _, v) = get(&s, "/v1/offers?category=0", &bob_token).await;
        assert_eq!(status, 400, "{v}");

        // A conversation both ways, with unread counts.
        let (status, headers, v) = post(
            &s,
            "/v1/conversations",
            &bob_token,
            json!({"with": alice, "offer": offer, "text": "Bonjour, mardi soir ?"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let conversation = v["data"]["conversation"].as_i64().unwrap();
        let messages = format!("/v1/conversations/{conversation}/messages");
        assert_eq!(headers["location"], messages.as_str());
        let unread = |token: String| {
            let s = &s;
            async move {
                let (status, _, v) = get(s, "/v1/conversations", &token).await;
                assert_eq!(status, 200, "{v}");
                let items = v["data"]["items"].as_array().unwrap().clone();
                assert_eq!(items.len(), 1, "{v}");
                assert_eq!(items[0]["id"], conversation);
                assert_eq!(items[0]["offer"], offer);
                (items[0]["unread"].as_u64().unwrap(), items[0].clone())
            }
        };
        let (count, item) = unread(alice_token.clone()).await;
        assert_eq!(count, 1);
        assert_eq!(item["with"], bob);
        assert_eq!(item["with_name"], "Bob");
        assert_eq!(item["last_message"]["text"], "Bonjour, mardi soir ?");
        assert_eq!(unread(bob_token.clone()).await.0, 0);
        let (status, _, v) = get(&s, &messages, &alice_token).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["items"][0]["author"], bob);
        assert_eq!(unread(alice_token.clone()).await.0, 0, "read once listed");
        let (status, _, v) = post(&s, &messages, &alice_token, json!({"text": "Oui, 19 h."})).await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(unread(bob_token.clone()).await.0, 1);
        // Writing again about the same offer continues the same conversation.
        let (status, _, v) = post(
            &s,
            "/v1/conversations",
            &bob_token,
            json!({"with": alice, "offer": offer, "text": "Parfait."}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["conversation"], conversation);
        assert_eq!(unread(alice_token.clone()).await.0, 1);
        let (status, _, v) = get(&s, &messages, &bob_token).await;
        assert_eq!(v["data"]["total"], 3, "{status} {v}");
        assert_eq!(unread(bob_token.clone()).await.0, 0);

        // The payment: one movement, idempotent, refused as the spec says.
        let body = json!({"to": alice, "amount": "12.00", "offer": offer, "note": "guitare"});
        let (status, headers, v) = pay(&s, &bob_token, body.clone(), Some("pay-1")).await;
        assert_eq!(status, 201, "{v}");
        let transfer = v["data"]["transfer"].as_i64().unwrap();
        assert_eq!(
            headers["location"],
            format!("/v1/transfers/{transfer}").as_str()
        );
        assert_eq!(v["data"]["card"], "B0B00001");
        assert_eq!(v["data"]["balance_before"], "30.00");
        assert_eq!(v["data"]["balance_after"], "18.00");
        let (status, headers, again) = pay(&s, &bob_token, body.clone(), Some("pay-1")).await;
        assert_eq!(status, 201, "{again}");
        assert_eq!(headers["idempotency-replayed"], "true");
        assert_eq!(again["data"], v["data"]);
        let (status, _, v) = pay(
            &s,
            &bob_token,
            json!({"to": alice, "amount": "1.00"}),
            Some("pay-1"),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (409, Some("IDEMPOTENCY_KEY_REUSED_ERROR"))
        );
        assert_eq!(balance(&s, &barman, "B0B00001").await, "18.00");
        assert_eq!(balance(&s, &barman, "A11CE001").await, "32.00");

        for (body, status_code, code) in [
            (
                json!({"to": alice, "amount": "18.01"}),
                409,
                "INSUFFICIENT_FUNDS_ERROR",
            ),
            (
                json!({"to": bob, "amount": "1.00"}),
                409,
                "SELF_TRANSFER_ERROR",
            ),
            (
                json!({"to": alice, "amount": "0"}),
                400,
                "NON_POSITIVE_PAYMENT_ERROR",
            ),
            (
                json!({"to": alice, "amount": "1000.01"}),
                400,
                "VALIDATION_ERROR",
            ),
            (
                json!({"to": 999, "amount": "1.00"}),
                404,
                "MEMBER_NOT_FOUND_ERROR",
            ),
            (
                json!({"to": alice, "amount": "1.00", "offer": 999}),
                404,
                "OFFER_NOT_FOUND_ERROR",
            ),
            (
                json!({"to": alice, "amount": "1.00", "from_card": "A11CE001"}),
                404,
                "CARD_NOT_FOUND_ERROR",
            ),
            (
                json!({"to": alice, "amount": "1.00", "note": "x".repeat(141)}),
                400,
                "VALIDATION_ERROR",
            ),
            (json!({"to": alice}), 400, "VALIDATION_ERROR"),
            (
                json!({"to": alice, "amount": "1.00", "extra": 1}),
                400,
                "VALIDATION_ERROR",
            ),
        ] {
            let (status, _, v) = pay(&s, &bob_token, body.clone(), None).await;
            assert_eq!(
                (status, v["code"].as_str()),
                (status_code, Some(code)),
                "{body}: {v}"
            );
        }
        let (_, _, v) = pay(
            &s,
            &bob_token,
            json!({"to": alice, "amount": "18.01"}),
            None,
        )
        .await;
        assert!(
            v["debugMessage"].as_str().unwrap().contains("0.01 missing"),
            "{v}"
        );
        let (status, _, v) = pay(&s, &prez, json!({"to": alice, "amount": "1.00"}), None).await;
        assert_eq!(status, 403, "staff do not pay members: {v}");
        // A blocked payee card: both or neither.
        let (status, _, v) = post(&s, "/v1/cards/A11CE001/block", &barman, Value::Null).await;
        assert!(status == 200 || status == 201, "{v}");
        let (status, _, v) =
            pay(&s, &bob_token, json!({"to": alice, "amount": "1.00"}), None).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (409, Some("CARD_BLOCKED_ERROR")),
            "{v}"
        );
        let (status, _, v) = post(&s, "/v1/cards/A11CE001/unblock", &barman, Value::Null).await;
        assert!(status == 200 || status == 201, "{v}");
        assert_eq!(balance(&s, &barman, "B0B00001").await, "18.00");
        assert_eq!(balance(&s, &barman, "A11CE001").await, "32.00");

        // Both histories show it.
        let (_, _, v) = get(&s, "/v1/me/cards/B0B00001/transactions", &bob_token).await;
        assert_eq!(v["data"]["items"][0]["type"], "transfer_out", "{v}");
        assert_eq!(v["data"]["items"][0]["amount"], "12.00");
        let (_, _, v) = get(&s, "/v1/me/cards/A11CE001/transactions", &alice_token).await;
        assert_eq!(v["data"]["items"][0]["type"], "transfer_in", "{v}");
        let (status, _, v) = get(&s, &format!("/v1/transfers/{transfer}"), &alice_token).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["from_member"], bob);
        assert_eq!(v["data"]["note"], "guitare");
        assert_eq!(v["data"]["status"], "done");

        // A moderator cancels it, once; a transfer half cannot be cancelled alone.
        let (status, _, v) = post(
            &s,
            &format!("/v1/transactions/{transfer}/cancel"),
            &prez,
            Value::Null,
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (409, Some("TRANSACTION_NOT_CORRECTABLE_ERROR"))
        );
        let cancel = format!("/v1/transfers/{transfer}/cancel");
        let (status, _, _) = post(&s, &cancel, &barman, Value::Null).await;
        assert_eq!(status, 403);
        let (status, _, v) = post(&s, &cancel, &prez, Value::Null).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["balance_after"], "30.00");
        let (status, _, v) = post(&s, &cancel, &prez, Value::Null).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (409, Some("TRANSACTION_ALREADY_CANCELLED_ERROR"))
        );
        assert_eq!(balance(&s, &barman, "B0B00001").await, "30.00");
        assert_eq!(balance(&s, &barman, "A11CE001").await, "20.00");
        let (_, _, v) = get(&s, &format!("/v1/transfers/{transfer}"), &bob_token).await;
        assert_eq!(v["data"]["status"], "cancelled");

        // The volume counts the transfers not cancelled.
        let (status, _, v) =
            pay(&s, &bob_token, json!({"to": alice, "amount": "2.50"}), None).await;
        assert_eq!(status, 201, "{v}");
        let (status, _, v) = get(&s, "/v1/exchange/volume", &barman).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            (
                v["data"]["transfers"].as_i64(),
                v["data"]["amount"].as_str()
            ),
            (Some(1), Some("2.50"))
        );
        let (status, _, _) = get(&s, "/v1/exchange/volume", &bde).await;
        assert_eq!(status, 403);

        // Moderation: reported, a message hidden, a member suspended, an offer closed.
        let (status, _, _) = get(&s, &messages, &prez).await;
        assert_eq!(status, 404, "not reported yet");
        let (status, _, v) = post(
            &s,
            &format!("/v1/conversations/{conversation}/report"),
            &alice_token,
            Value::Null,
        )
        .await;
        assert_eq!(status, 204, "{v}");
        let (status, _, v) = get(&s, &messages, &prez).await;
        assert_eq!(status, 200, "{v}");
        let first = v["data"]["items"][0]["id"].as_i64().unwrap();
        let (status, _, v) =
            post(&s, &format!("{messages}/{first}/hide"), &prez, Value::Null).await;
        assert_eq!(status, 200, "{v}");
        let (_, _, v) = get(&s, &messages, &alice_token).await;
        assert_eq!(v["data"]["items"][0]["hidden"], true);
        assert_eq!(v["data"]["items"][0]["text"], Value::Null);
        let suspension = format!("/v1/members/{bob}/exchange-suspension");
        let (status, _, _) = call(&s, Method::PUT, &suspension, Some(&barman), None, &[]).await;
        assert_eq!(status, 403);
        let (status, _, v) = call(&s, Method::PUT, &suspension, Some(&prez), None, &[]).await;
        assert_eq!(status, 204, "{v}");
        let (status, _, v) =
            pay(&s, &bob_token, json!({"to": alice, "amount": "1.00"}), None).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("MEMBER_SUSPENDED_ERROR"))
        );
        let (status, _, v) = post(&s, &messages, &bob_token, json!({"text": "?"})).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("MEMBER_SUSPENDED_ERROR"))
        );
        let (status, _, v) = call(&s, Method::DELETE, &suspension, Some(&prez), None, &[]).await;
        assert_eq!(status, 204, "{v}");
        let (status, _, v) = post(&s, &messages, &bob_token, json!({"text": "Pardon."})).await;
        assert_eq!(status, 201, "{v}");

        let close = format!("/v1/offers/{offer}/close");
        let (status, _, _) = post(&s, &close, &bob_token, Value::Null).await;
        assert_eq!(status, 403, "not its author");
        let (status, _, v) = call(
            &s,
            Method::PATCH,
            &format!("/v1/offers/{offer}"),
            Some(&alice_token),
            Some(json!({"price": "15.00"})),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["price"], "15.00");
        assert_eq!(
            v["data"]["description"],
            "Cours de guitare pour débutants, le soir"
        );
        let (status, _, v) = post(&s, &close, &prez, Value::Null).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["closed_by"], "staff:prez");
        let (status, _, v) = post(&s, &close, &alice_token, Value::Null).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (409, Some("OFFER_CLOSED_ERROR"))
        );
        assert!(found("/v1/offers".into()).await.is_empty());
        let (_, _, v) = get(&s, "/v1/offers?status=all", &bde).await;
        assert_eq!(v["data"]["total"], 1, "{v}");

        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}

#[tokio::test]
async fn a_third_member_gets_404_by_every_route() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let prez = session(&s, "prez").await;
        let (alice, alice_token) = member(&s, &bde, "Alice", "A11CE001", "20.00").await;
        let (_, bob_token) = member(&s, &bde, "Bob", "B0B00001", "20.00").await;
        let (_, carol_token) = member(&s, &bde, "Carol", "CA201001", "20.00").await;
        let (status, _, v) = post(
            &s,
            "/v1/conversations",
            &bob_token,
            json!({"with": alice, "text": "secret"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let id = v["data"]["conversation"].as_i64().unwrap();
        let message = v["data"]["message"]["id"].as_i64().unwrap();
        let (status, _, v) =
            pay(&s, &bob_token, json!({"to": alice, "amount": "1.00"}), None).await;
        assert_eq!(status, 201, "{v}");
        let transfer = v["data"]["transfer"].as_i64().unwrap();
        let messages = format!("/v1/conversations/{id}/messages");
        let routes = [
            (Method::GET, messages.clone(), None),
            (
                Method::POST,
                messages.clone(),
                Some(json!({"text": "hello"})),
            ),
            (Method::POST, format!("/v1/conversations/{id}/report"), None),
        ];
        for token in [&carol_token, &barman, &prez] {
            for (method, path, body) in &routes {
                let (status, _, v) =
                    call(&s, method.clone(), path, Some(token), body.clone(), &[]).await;
                if status == 403 {
                    // Staff: writing and reporting are a member's only.
                    assert!(token != &carol_token, "{method} {path}: {v}");
                    continue;
                }
                assert_eq!(
                    (status, v["code"].as_str()),
                    (404, Some("CONVERSATION_NOT_FOUND_ERROR")),
                    "{method} {path}: {v}"
                );
            }
        }
        // The same answer as a conversation that does not exist.
        let (status, _, v) = get(&s, "/v1/conversations/99999/messages", &carol_token).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("CONVERSATION_NOT_FOUND_ERROR"))
        );
        let (status, _, _) = post(
            &s,
            &format!("{messages}/{message}/hide"),
            &prez,
            Value::Null,
        )
        .await;
        assert_eq!(status, 404, "not reported: not even a moderator");
        let (status, _, v) = get(&s, &format!("/v1/transfers/{transfer}"), &carol_token).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("TRANSFER_NOT_FOUND_ERROR"))
        );
        let (_, _, v) = get(&s, "/v1/conversations", &carol_token).await;
        assert_eq!(v["data"]["total"], 0, "{v}");
        // Nothing was written by the refused requests.
        let (_, _, v) = get(&s, &messages, &alice_token).await;
        assert_eq!(v["data"]["total"], 1, "{v}");
    }
}

#[tokio::test]
async fn sixty_four_transfers_out_of_a_card_covering_ten() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let (_, payer) = member(&s, &bde, "Payer", "FA1E0001", "10.00").await;
        let mut payees = Vec::new();
        for (i, card) in ["FA1E0002", "FA1E0003", "FA1E0004"].iter().enumerate() {
            payees.push(member(&s, &bde, &format!("Payee{i}"), card, "1.00").await.0);
        }
        let s = Arc::new(s);
        let mut tasks = Vec::new();
        for i in 0..64 {
            let s = s.clone();
            let payer = payer.clone();
            let to = payees[i % payees.len()];
            tasks.push(tokio::spawn(async move {
                let key = format!("race-{i}");
                let (status, _, v) =
                    pay(&s, &payer, json!({"to": to, "amount": "1.00"}), Some(&key)).await;
                (status, v)
            }));
        }
        let mut accepted = 0;
        for task in tasks {
            let (status, v) = task.await.unwrap();
            match status {
                201 => accepted += 1,
                409 => assert_eq!(v["code"], "INSUFFICIENT_FUNDS_ERROR", "{v}"),
                other => panic!("{other}: {v}"),
            }
        }
        assert_eq!(accepted, 10, "{backend:?}");
        assert_eq!(balance(&s, &barman, "FA1E0001").await, "0.00");
        let mut cents = 0;
        for card in ["FA1E0002", "FA1E0003", "FA1E0004"] {
            let text = balance(&s, &barman, card).await;
            cents += ardoise_domain::Money::parse(&text).unwrap().cents();
        }
        assert_eq!(cents, 1300);
        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}

#[tokio::test]
async fn a_ring_of_transfers_under_64_clients_conserves_money() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let cards = ["41000001", "42000002", "43000003"];
        let mut ring = Vec::new();
        for (i, card) in cards.iter().enumerate() {
            ring.push(member(&s, &bde, &format!("Ring{i}"), card, "5.00").await);
        }
        let s = Arc::new(s);
        let accepted = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let until = Instant::now() + Duration::from_secs(10);
        let mut tasks = Vec::new();
        for client in 0..64 {
            let s = s.clone();
            let from = ring[client % 3].1.clone();
            let to = ring[(client + 1) % 3].0;
            let (accepted, refused) = (accepted.clone(), refused.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < until {
                    n += 1;
                    let amount = format!("{}.{:02}", n % 3, (n * 7) % 100);
                    let (status, _, v) =
                        pay(&s, &from, json!({"to": to, "amount": amount}), None).await;
                    match status {
                        201 => accepted.fetch_add(1, Ordering::Relaxed),
                        409 | 400 => refused.fetch_add(1, Ordering::Relaxed),
                        other => panic!("{other}: {v}"),
                    };
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let accepted = accepted.load(Ordering::Relaxed);
        eprintln!(
            "{backend:?}: ring of transfers, {accepted} accepted, {} refused in 10 s",
            refused.load(Ordering::Relaxed)
        );
        assert!(accepted > 100, "{accepted} transfers only");
        let mut cents = 0_i64;
        for card in cards {
            let text = balance(&s, &barman, card).await;
            let m = ardoise_domain::Money::parse(&text).unwrap();
            assert!(m.cents() >= 0, "{card} below its floor: {text}");
            cents += m.cents();
        }
        assert_eq!(cents, 1500, "money conserved to the cent");
        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}
