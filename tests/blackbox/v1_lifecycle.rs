//! A card's life in `/v1` against the real binary, on each backend: block, unblock, lost, end
//! of validity (and how payments, top-ups, validity and the POS dialect see them), and the
//! replacement of a card — the balance moves in one movement, both histories show it, nothing
//! is lost or created while payments race it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_invariant, backends, Server};
use crate::v1_staff::{call, get, post, refused, session};

async fn put(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PUT, path, Some(token), Some(body), &[]).await
}

async fn open_card(s: &Server, token: &str, card: &str, balance: &str) {
    let (status, _, v) = post(
        s,
        "/v1/cards",
        token,
        json!({"card": card, "balance": balance}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
}

async fn pay(
    s: &Server,
    token: &str,
    card: &str,
    amount: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    post(
        s,
        &format!("/v1/cards/{card}/payments"),
        token,
        json!({"amount": amount}),
    )
    .await
}

async fn balance(s: &Server, token: &str, card: &str) -> String {
    let (status, _, v) = get(s, &format!("/v1/cards/{card}"), token).await;
    assert_eq!(status, 200, "{v}");
    v["data"]["balance"].as_str().unwrap().to_owned()
}

async fn validity(s: &Server, token: &str, card: &str) -> Value {
    let (status, _, v) = get(s, &format!("/v1/cards/{card}/validity"), token).await;
    assert_eq!(status, 200, "{v}");
    v["data"].clone()
}

#[tokio::test]
async fn blocked_lost_and_expired_cards_keep_their_money_but_cannot_pay() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let honeypot = session(&s, "honeypot").await;
        open_card(&s, &barman, "CAFE0001", "10.00").await;

        // Blocking (rights ≥ 1): payments and top-ups refused, the balance stays.
        let (status, _, v) = post(&s, "/v1/cards/CAFE0001/block", &bde, json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "CARD_BLOCKED");
        assert_eq!(v["data"]["status"], "blocked");
        refused(
            &pay(&s, &barman, "CAFE0001", "1.00").await,
            409,
            "CARD_NOT_USABLE_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/cards/CAFE0001/topups",
                &barman,
                json!({"amount": "1.00"}),
            )
            .await,
            409,
            "CARD_NOT_USABLE_ERROR",
        );
        assert_eq!(validity(&s, &bde, "CAFE0001").await["reason"], "blocked");
        // The POS dialect refuses it with its own status.
        let pos_token = s.login("barman").await;
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &pos_token),
                    ("idCarte", "CAFE0001"),
                    ("montant", "1"),
                ],
            )
            .await;
        assert_eq!(v["status"], "carte_bloquee", "{v}");
        assert_eq!(balance(&s, &barman, "CAFE0001").await, "10.00");

        // Unblocking needs rights ≥ 2.
        refused(
            &post(&s, "/v1/cards/CAFE0001/unblock", &bde, json!({})).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        let (status, _, v) = post(&s, "/v1/cards/CAFE0001/unblock", &barman, json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "CARD_UNBLOCKED");
        assert_eq!(v["data"]["status"], "active");
        assert_eq!(pay(&s, &barman, "CAFE0001", "1.00").await.0, 201);

        // Lost: refused the same way, shown as such.
        let (status, _, v) = post(&s, "/v1/cards/CAFE0001/lost", &bde, json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "CARD_LOST");
        assert_eq!(v["data"]["status"], "lost");
        refused(
            &pay(&s, &barman, "CAFE0001", "1.00").await,
            409,
            "CARD_NOT_USABLE_ERROR",
        );
        let (_, _, v) = get(&s, "/v1/cards/CAFE0001", &barman).await;
        assert_eq!(v["data"]["status"], "lost");
        assert_eq!(validity(&s, &bde, "CAFE0001").await["valid"], false);
        assert_eq!(
            post(&s, "/v1/cards/CAFE0001/unblock", &barman, json!({}))
                .await
                .0,
            200
        );

        refused(
            &post(&s, "/v1/cards/CAFE0404/block", &bde, json!({})).await,
            404,
            "CARD_NOT_FOUND_ERROR",
        );
        refused(
            &post(&s, "/v1/cards/CAFE0001/block", &honeypot, json!({})).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        refused(
            &post(&s, "/v1/cards/x!/block", &bde, json!({})).await,
            400,
            "VALIDATION_ERROR",
        );
        let wrong = call(
            &s,
            Method::GET,
            "/v1/cards/CAFE0001/block",
            Some(&bde),
            None,
            &[],
        )
        .await;
        refused(&wrong, 405, "METHOD_NOT_ALLOWED_ERROR");

        // End of validity (rights ≥ 2): in the past, the card is expired.
        let (status, _, v) = put(
            &s,
            "/v1/cards/CAFE0001/valid-until",
            &barman,
            json!({"valid_until": "2020-01-01T00:00:00Z"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "CARD_VALIDITY_SET");
        assert_eq!(v["data"]["valid_until"], "2020-01-01T00:00:00+00:00");
        refused(
            &pay(&s, &barman, "CAFE0001", "1.00").await,
            409,
            "CARD_NOT_USABLE_ERROR",
        );
        let data = validity(&s, &bde, "CAFE0001").await;
        assert_eq!(
            (&data["valid"], &data["reason"]),
            (&json!(false), &json!("expired"))
        );
        let (status, _, _) = put(
            &s,
            "/v1/cards/CAFE0001/valid-until",
            &barman,
            json!({"valid_until": "2099-06-30T23:59:59+02:00"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            validity(&s, &bde, "CAFE0001").await["valid_until"],
            "2099-06-30T21:59:59+00:00"
        );
        assert_eq!(pay(&s, &barman, "CAFE0001", "1.00").await.0, 201);
        let (status, _, v) = put(
            &s,
            "/v1/cards/CAFE0001/valid-until",
            &barman,
            json!({"valid_until": null}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["valid_until"], Value::Null);
        for bad in [
            json!({"valid_until": "30/06/2027"}),
            json!({}),
            json!({"valid_until": 12}),
        ] {
            let answer = put(&s, "/v1/cards/CAFE0001/valid-until", &barman, bad).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            assert!(answer.2["debugMessage"]
                .as_str()
                .unwrap()
                .contains("`valid_until`"));
        }
        refused(
            &put(
                &s,
                "/v1/cards/CAFE0001/valid-until",
                &bde,
                json!({"valid_until": null}),
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        assert_eq!(balance(&s, &barman, "CAFE0001").await, "8.00");
        let prez = s.login("prez").await;
        assert_invariant(&s, &prez).await;
    }
}

#[tokio::test]
async fn a_replacement_moves_the_balance_member_and_overdraft_to_the_new_card() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let prez = session(&s, "prez").await;
        open_card(&s, &barman, "CAFE0001", "20.00").await;
        assert_eq!(pay(&s, &barman, "CAFE0001", "5.00").await.0, 201);
        let (_, _, v) = put(
            &s,
            "/v1/cards/CAFE0001/overdraft",
            &prez,
            json!({"limit": "30.00"}),
        )
        .await;
        assert_eq!(v["data"]["overdraft_limit"], "30.00");
        let (_, _, v) = post(&s, "/v1/members", &bde, json!({"last_name": "Durand"})).await;
        let m = v["data"]["id"].as_i64().unwrap();
        assert_eq!(
            post(
                &s,
                &format!("/v1/members/{m}/cards"),
                &bde,
                json!({"card": "CAFE0001"})
            )
            .await
            .0,
            200
        );
        assert_eq!(
            post(&s, "/v1/cards/CAFE0001/lost", &bde, json!({})).await.0,
            200
        );

        // Refusals first: nothing moves.
        refused(
            &post(
                &s,
                "/v1/cards/CAFE0001/replace",
                &bde,
                json!({"new_card": "BEEF0002"}),
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        open_card(&s, &barman, "CAFE0009", "1.00").await;
        refused(
            &post(
                &s,
                "/v1/cards/CAFE0001/replace",
                &barman,
                json!({"new_card": "CAFE0009"}),
            )
            .await,
            409,
            "CARD_EXISTS_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/cards/CAFE0404/replace",
                &barman,
                json!({"new_card": "BEEF0404"}),
            )
            .await,
            404,
            "CARD_NOT_FOUND_ERROR",
        );
        for body in [
            json!({}),
            json!({"new_card": "no!"}),
            json!({"new_card": "CAFE0001"}),
        ] {
            let answer = post(&s, "/v1/cards/CAFE0001/replace", &barman, body).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            assert!(
                answer.2["debugMessage"]
                    .as_str()
                    .unwrap()
                    .contains("new_card"),
                "{}",
                answer.2
            );
        }
        let (status, headers, v) = post(
            &s,
            "/v1/cards/CAFE0001/replace",
            &barman,
            json!({"new_card": "BEEF0002"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(headers["location"], "/v1/cards/BEEF0002");
        assert_eq!(v["code"], "CARD_REPLACED");
        assert_eq!(v["data"]["card"], "BEEF0002");
        assert_eq!(v["data"]["replaced"], "CAFE0001");
        assert_eq!(v["data"]["amount"], "15.00");
        assert_eq!(v["data"]["balance"], "15.00");
        let transfer_in = v["data"]["transaction"].as_i64().unwrap();

        let (_, _, old) = get(&s, "/v1/cards/CAFE0001", &prez).await;
        assert_eq!(old["data"]["balance"], "0.00");
        assert_eq!(old["data"]["status"], "lost");
        assert_eq!(old["data"]["replaced_by"], "BEEF0002");
        assert_eq!(old["data"]["member"], m);
        let (_, _, new) = get(&s, "/v1/cards/BEEF0002", &prez).await;
        assert_eq!(new["data"]["balance"], "15.00");
        assert_eq!(new["data"]["status"], "active");
        assert_eq!(new["data"]["overdraft_limit"], "30.00");
        assert_eq!(new["data"]["member"], m);
        assert_eq!(new["data"]["replaced_by"], Value::Null);

        // Both halves are in the histories; neither can be cancelled alone.
        let (_, _, h) = get(&s, "/v1/cards/CAFE0001/transactions", &barman).await;
        let last = h["data"]["items"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (&last["type"], &last["amount"]),
            (&json!("transfer_out"), &json!("15.00"))
        );
        let (_, _, h) = get(&s, "/v1/cards/BEEF0002/transactions", &barman).await;
        assert_eq!(h["data"]["total"], 1);
        assert_eq!(h["data"]["items"][0]["type"], "transfer_in");
        assert_eq!(h["data"]["items"][0]["id"], transfer_in);
        refused(
            &post(
                &s,
                &format!("/v1/transactions/{transfer_in}/cancel"),
                &prez,
                json!({}),
            )
            .await,
            409,
            "TRANSACTION_NOT_CORRECTABLE_ERROR",
        );
        let out = last["id"].as_i64().unwrap();
        refused(
            &post(
                &s,
                &format!("/v1/transactions/{out}/cancel"),
                &prez,
                json!({}),
            )
            .await,
            409,
            "TRANSACTION_NOT_CORRECTABLE_ERROR",
        );

        // The old card is retired for good; the new one works.
        refused(
            &post(
                &s,
                "/v1/cards/CAFE0001/replace",
                &barman,
                json!({"new_card": "BEEF0003"}),
            )
            .await,
            409,
            "CARD_REPLACED_ERROR",
        );
        refused(
            &post(&s, "/v1/cards/CAFE0001/unblock", &barman, json!({})).await,
            409,
            "CARD_REPLACED_ERROR",
        );
        refused(
            &pay(&s, &barman, "CAFE0001", "1.00").await,
            409,
            "CARD_REPLACED_ERROR",
        );
        let (status, _, v) = pay(&s, &barman, "BEEF0002", "40.00").await;
        assert_eq!(status, 201, "the overdraft moved too: {v}");
        assert_eq!(v["data"]["balance_after"], "-25.00");
        let (_, _, v) = get(&s, &format!("/v1/members/{m}/cards"), &bde).await;
        assert_eq!(v["data"]["total"], 2);
        let (_, _, v) = get(
            &s,
            &format!("/v1/members/{m}/cards/BEEF0002/validity"),
            &bde,
        )
        .await;
        assert_eq!(v["data"]["valid"], true);
        let (_, _, v) = get(
            &s,
            &format!("/v1/members/{m}/cards/CAFE0001/validity"),
            &bde,
        )
        .await;
        assert_eq!(
            (&v["data"]["valid"], &v["data"]["reason"]),
            (&json!(false), &json!("blocked"))
        );
        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}

/// Payments on a card while it is replaced, over HTTP: afterwards the old card is at zero and
/// the new one holds exactly the opening minus the payments answered 201.
#[tokio::test]
async fn payments_racing_a_replacement_neither_lose_nor_create_a_cent() {
    for backend in backends() {
        let s = Server::start(backend);
        let barman = session(&s, "barman").await;
        open_card(&s, &barman, "CAFE0001", "1000.00").await;
        let base = s.base.clone();
        let mut tasks = Vec::new();
        for t in 0..6_u32 {
            let client = s.client.clone();
            let base = base.clone();
            let token = barman.clone();
            tasks.push(tokio::spawn(async move {
                let (mut cents, mut refused_after) = (0_i64, false);
                for i in 0..400_u32 {
                    let amount = 10 + i64::from((t * 7 + i) % 40);
                    let resp = client
                        .post(format!("{base}/v1/cards/CAFE0001/payments"))
                        .bearer_auth(&token)
                        .json(&json!({"amount": format!("{}.{:02}", amount / 100, amount % 100)}))
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status().as_u16();
                    let v: Value = resp.json().await.unwrap();
                    match status {
                        201 => cents += amount,
                        409 if v["code"] == "CARD_REPLACED_ERROR" => {
                            refused_after = true;
                            break;
                        }
                        other => panic!("unexpected answer {other}: {v}"),
                    }
                }
                (cents, refused_after)
            }));
        }
        // Replace once payments are flowing.
        loop {
            let b = balance(&s, &barman, "CAFE0001").await;
            if ardoise_domain::Money::parse(&b).unwrap().cents() <= 99_500 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (status, _, v) = post(
            &s,
            "/v1/cards/CAFE0001/replace",
            &barman,
            json!({"new_card": "BEEF0002"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let mut paid = 0;
        for task in tasks {
            let (cents, stopped) = task.await.unwrap();
            assert!(stopped, "a payer never saw the replacement");
            paid += cents;
        }
        let expected = 100_000 - paid;
        let text = format!("{}.{:02}", expected / 100, expected % 100);
        assert_eq!(balance(&s, &barman, "CAFE0001").await, "0.00");
        assert_eq!(balance(&s, &barman, "BEEF0002").await, text);
        assert_eq!(v["data"]["amount"], text.as_str());
        let prez = s.login("prez").await;
        assert_invariant(&s, &prez).await;
    }
}
