//! QR vouchers and partner micropayments (services.md, issue #18) against the real binary on
//! each backend: a coupon redeemed exactly once by 64 tills at once, expired and unknown
//! vouchers, tickets, the QR code decoded back to the code; mandates (missing, over cap,
//! revoked, expired), debits with their `Idempotency-Key`, 64 concurrent debits against a
//! daily cap, refunds (once); invariant 1 after each.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::exchange::balance;
use crate::harness::{assert_invariant, backends, Server};
use crate::v1_me::{activate, delete, login, member_with_card};
use crate::v1_partner::{add_partner, token};
use crate::v1_staff::{call, get, post, refused, session};

/// The same POST on tasks of their own, all at once; each answer's status and body.
async fn concurrently(
    s: &Server,
    path: &str,
    token: &str,
    bodies: Vec<Value>,
) -> Vec<(u16, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let client = s.client.clone();
            let url = format!("{}{path}", s.base);
            let token = token.to_owned();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Issues vouchers as `staff`; their codes.
async fn issue(s: &Server, staff: &str, body: Value) -> Vec<String> {
    let (status, headers, v) = post(s, "/v1/vouchers", staff, body).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["code"], "VOUCHERS_ISSUED");
    let codes: Vec<String> = v["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(v["data"]["count"], codes.len());
    let location = headers["location"].to_str().unwrap();
    assert_eq!(
        location,
        format!("/v1/vouchers/{}", codes[0].replace('-', ""))
    );
    codes
}

#[tokio::test]
async fn a_coupon_is_redeemed_exactly_once_by_64_tills_at_once() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let barman = session(&s, "barman").await;
        let bde = session(&s, "bde").await;
        let (status, _, v) = post(
            &s,
            "/v1/cards",
            &barman,
            json!({"card": "04C0C0C0C0", "balance": "1.00"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");

        // Only presidents issue; a coupon has a value or a product, a ticket a label.
        let (status, _, v) = post(
            &s,
            "/v1/vouchers",
            &barman,
            json!({"kind": "coupon", "value": "5.00"}),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("INSUFFICIENT_RIGHTS_ERROR"))
        );
        for bad in [
            json!({"kind": "coupon"}),
            json!({"kind": "coupon", "value": "-1.00"}),
            json!({"kind": "ticket"}),
            json!({"kind": "gift", "value": "1.00"}),
            json!({"kind": "coupon", "value": "1.00", "count": 1001}),
            json!({"kind": "coupon", "value": "1.00", "valid_until": "yesterday"}),
        ] {
            let (status, _, v) = post(&s, "/v1/vouchers", &prez, bad.clone()).await;
            assert_eq!(
                (status, v["code"].as_str()),
                (400, Some("VALIDATION_ERROR")),
                "{bad}: {v}"
            );
        }

        let codes = issue(&s, &prez, json!({"kind": "coupon", "value": "5.00"})).await;
        let code = codes[0].clone();
        // 16 data symbols and a check symbol, in groups of four.
        assert_eq!(code.len(), 21, "{code}");
        assert_eq!(code.matches('-').count(), 4, "{code}");
        let (status, _, v) = get(&s, &format!("/v1/vouchers/{code}"), &barman).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["state"], "issued");
        assert_eq!(v["data"]["value"], "5.00");
        // The association (rights 1) may not redeem.
        let (status, _, v) = post(
            &s,
            &format!("/v1/vouchers/{code}/redeem"),
            &bde,
            json!({"card": "04C0C0C0C0"}),
        )
        .await;
        assert_eq!(status, 403, "{v}");

        let answers = concurrently(
            &s,
            &format!("/v1/vouchers/{code}/redeem"),
            &barman,
            vec![json!({"card": "04C0C0C0C0"}); 64],
        )
        .await;
        let won: Vec<_> = answers.iter().filter(|(st, _)| *st == 200).collect();
        let lost: Vec<_> = answers
            .iter()
            .filter(|(st, v)| *st == 409 && v["code"] == "VOUCHER_ALREADY_USED_ERROR")
            .collect();
        assert_eq!(won.len(), 1, "{answers:?}");
        assert_eq!(lost.len(), 63, "{answers:?}");
        // The loser is told when and by whom.
        let debug = lost[0].1["debugMessage"].as_str().unwrap();
        assert!(debug.contains("barman"), "{debug}");
        let w = &won[0].1["data"];
        assert_eq!(w["amount"], "5.00");
        assert_eq!(w["balance"], "6.00");
        assert_eq!(w["voucher"]["state"], "used");
        assert_eq!(w["voucher"]["card"], "04C0C0C0C0");
        assert_eq!(balance(&s, &barman, "04C0C0C0C0").await, "6.00");
        let (status, _, v) = get(&s, "/v1/cards/04C0C0C0C0/transactions", &barman).await;
        assert_eq!(status, 200, "{v}");
        let coupons: Vec<_> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["type"] == "coupon")
            .collect();
        assert_eq!(coupons.len(), 1, "{v}");
        assert_eq!(coupons[0]["amount"], "5.00");
        // A coupon's transaction is not cancelled by staff: the voucher stays used.
        let id = coupons[0]["id"].as_i64().unwrap();
        let (status, _, v) = post(
            &s,
            &format!("/v1/transactions/{id}/cancel"),
            &prez,
            json!({}),
        )
        .await;
        assert_eq!(status, 409, "{v}");

        // The code is read as people type it; a typing error is caught by the check symbol.
        let lower = code.to_lowercase().replace('-', "");
        let (status, _, v) = get(&s, &format!("/v1/vouchers/{lower}"), &barman).await;
        assert_eq!(
            (status, v["data"]["state"].as_str()),
            (200, Some("used")),
            "{v}"
        );
        let first = if code.starts_with('0') { "1" } else { "0" };
        let typo = format!("{first}{}", &code[1..]);
        refused(
            &get(&s, &format!("/v1/vouchers/{typo}"), &barman).await,
            400,
            "VALIDATION_ERROR",
        );
        refused(
            &get(&s, "/v1/vouchers/0000-0000-0000-0000-0", &barman).await,
            404,
            "VOUCHER_NOT_FOUND_ERROR",
        );

        // An expired coupon is refused and credits nothing.
        let until = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let soon = issue(
            &s,
            &prez,
            json!({"kind": "coupon", "value": "3.00", "valid_until": until}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        refused(
            &post(
                &s,
                &format!("/v1/vouchers/{}/redeem", soon[0]),
                &barman,
                json!({"card": "04C0C0C0C0"}),
            )
            .await,
            409,
            "VOUCHER_EXPIRED_ERROR",
        );
        assert_eq!(balance(&s, &barman, "04C0C0C0C0").await, "6.00");

        // Tickets: a batch of distinct codes, each used once, no money moves.
        let tickets = issue(
            &s,
            &prez,
            json!({"kind": "ticket", "label": "Gala 2027", "count": 3}),
        )
        .await;
        assert_eq!(tickets.len(), 3);
        assert!(tickets[0] != tickets[1] && tickets[1] != tickets[2] && tickets[0] != tickets[2]);
        let (status, _, v) = post(
            &s,
            &format!("/v1/vouchers/{}/redeem", tickets[1]),
            &barman,
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["voucher"]["state"], "used");
        assert_eq!(v["data"]["transaction"], Value::Null);
        refused(
            &post(
                &s,
                &format!("/v1/vouchers/{}/redeem", tickets[1]),
                &barman,
                json!({}),
            )
            .await,
            409,
            "VOUCHER_ALREADY_USED_ERROR",
        );

        // A coupon of a product: one unit recorded on the card, no money.
        refused(
            &post(
                &s,
                "/v1/vouchers",
                &prez,
                json!({"kind": "coupon", "product": "nothing-such"}),
            )
            .await,
            404,
            "PRODUCT_NOT_FOUND_ERROR",
        );
        // `biere`, the default product of a fresh bar.
        let beer = issue(&s, &prez, json!({"kind": "coupon", "product": "biere"})).await;
        let (status, _, v) = post(
            &s,
            &format!("/v1/vouchers/{}/redeem", beer[0]),
            &barman,
            json!({"card": "04C0C0C0C0"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["amount"], "0.00");
        assert_eq!(v["data"]["voucher"]["product"], "biere");
        assert_eq!(balance(&s, &barman, "04C0C0C0C0").await, "6.00");
        let (_, _, v) = get(&s, "/v1/cards/04C0C0C0C0/transactions", &barman).await;
        let last = v["data"]["items"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (
                last["type"].as_str(),
                last["product"].as_str(),
                last["quantity"].as_i64()
            ),
            (Some("coupon"), Some("biere"), Some(1)),
            "{last}"
        );

        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}

#[tokio::test]
async fn a_voucher_qr_code_decodes_back_to_its_code() {
    let s = Server::start(backends()[0]);
    let prez = session(&s, "prez").await;
    let codes = issue(&s, &prez, json!({"kind": "coupon", "value": "2.00"})).await;
    let code = &codes[0];

    let resp = s
        .client
        .get(format!("{}/v1/vouchers/{code}/qr.png", s.base))
        .bearer_auth(&prez)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let bytes = resp.bytes().await.unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(&content, code);

    let resp = s
        .client
        .get(format!("{}/v1/vouchers/{code}/qr.svg", s.base))
        .bearer_auth(&prez)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let svg = resp.text().await.unwrap();
    assert!(svg.contains("<svg"), "{svg}");

    // An unknown voucher has no QR code.
    let (status, _, v) = get(&s, "/v1/vouchers/0000-0000-0000-0000-0/qr.png", &prez).await;
    assert_eq!(status, 404, "{v}");
}

async fn debit(
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
        &format!("/v1/cards/{card}/debits"),
        Some(token),
        Some(body),
        &headers,
    )
    .await
}

#[tokio::test]
async fn a_partner_debits_a_card_only_under_a_live_mandate_within_its_caps() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let partner = add_partner(&s.db, "Laverie", "cards:debit", &[]);
        let other = add_partner(&s.db, "Cafet", "cards:read", &[]);
        let pt = token(&s, &partner).await;
        let id =
            member_with_card(&s, &bde, "Martin", "lea@example.org", "04D1E2F3A4", "50.00").await;
        activate(&s, &bde, id, "a-long-password").await;
        let member = login(&s, "lea@example.org", "a-long-password").await;
        let card = "04D1E2F3A4";

        // No mandate yet.
        refused(
            &debit(
                &s,
                &pt,
                card,
                json!({"amount": "1.00", "reference": "r0"}),
                None,
            )
            .await,
            403,
            "MANDATE_REQUIRED_ERROR",
        );
        // A partner without the scope is refused before anything.
        let ot = token(&s, &other).await;
        let (status, _, v) = debit(
            &s,
            &ot,
            card,
            json!({"amount": "1.00", "reference": "r0"}),
            None,
        )
        .await;
        assert_eq!(status, 403, "{v}");

        // The member grants a mandate; bad terms name their field.
        for bad in [
            json!({"partner": partner.id, "cap_operation": "0.00", "cap_day": "10.00"}),
            json!({"partner": partner.id, "cap_operation": "20.00", "cap_day": "10.00"}),
            json!({"partner": partner.id, "cap_operation": "2.00"}),
        ] {
            let (status, _, v) = post(&s, "/v1/me/mandates", &member, bad.clone()).await;
            assert_eq!(
                (status, v["code"].as_str()),
                (400, Some("VALIDATION_ERROR")),
                "{bad}: {v}"
            );
        }
        refused(
            &post(
                &s,
                "/v1/me/mandates",
                &member,
                json!({"partner": "nobody", "cap_operation": "2.00", "cap_day": "10.00"}),
            )
            .await,
            404,
            "PARTNER_NOT_FOUND_ERROR",
        );
        let (status, headers, v) = post(
            &s,
            "/v1/me/mandates",
            &member,
            json!({"partner": partner.id, "cap_operation": "2.00", "cap_day": "10.00"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let mandate = v["data"]["id"].as_i64().unwrap();
        assert_eq!(
            headers["location"],
            format!("/v1/me/mandates/{mandate}").as_str()
        );
        assert_eq!(v["data"]["state"], "active");
        assert_eq!(v["data"]["granted_by"], "member");

        // Above the per-operation cap.
        refused(
            &debit(
                &s,
                &pt,
                card,
                json!({"amount": "2.50", "reference": "r1"}),
                None,
            )
            .await,
            409,
            "CAP_EXCEEDED_ERROR",
        );

        // A debit with its key; its replay; the key reused for another request.
        let (status, headers, v) = debit(
            &s,
            &pt,
            card,
            json!({"amount": "1.00", "reference": "r2"}),
            Some("k-1"),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["code"], "CARD_DEBITED");
        let first = v["data"]["id"].as_i64().unwrap();
        assert_eq!(headers["location"], format!("/v1/debits/{first}").as_str());
        assert_eq!(v["data"]["balance"], "49.00");
        let (status, headers, v) = debit(
            &s,
            &pt,
            card,
            json!({"amount": "1.00", "reference": "r2"}),
            Some("k-1"),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(headers["idempotency-replayed"], "true");
        assert_eq!(v["data"]["id"], first);
        refused(
            &debit(
                &s,
                &pt,
                card,
                json!({"amount": "1.50", "reference": "r2"}),
                Some("k-1"),
            )
            .await,
            409,
            "IDEMPOTENCY_KEY_REUSED_ERROR",
        );
        assert_eq!(balance(&s, &barman, card).await, "49.00");

        // A refund, once; another partner's debit is unknown to it.
        let (status, _, v) = post(&s, &format!("/v1/debits/{first}/refund"), &pt, json!({})).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "DEBIT_REFUNDED");
        assert_eq!(v["data"]["balance"], "50.00");
        assert!(v["data"]["refunded_at"].is_string(), "{v}");
        refused(
            &post(&s, &format!("/v1/debits/{first}/refund"), &pt, json!({})).await,
            409,
            "DEBIT_ALREADY_REFUNDED_ERROR",
        );
        assert_eq!(balance(&s, &barman, card).await, "50.00");

        // 64 debits of 1.00 at once against the 10.00 daily cap: exactly 10 (the refunded
        // debit does not count).
        let bodies = (0..64)
            .map(|i| json!({"amount": "1.00", "reference": format!("burst-{i}")}))
            .collect();
        let answers = concurrently(&s, &format!("/v1/cards/{card}/debits"), &pt, bodies).await;
        let accepted = answers.iter().filter(|(st, _)| *st == 201).count();
        let capped = answers
            .iter()
            .filter(|(st, v)| *st == 409 && v["code"] == "CAP_EXCEEDED_ERROR")
            .count();
        assert_eq!((accepted, capped), (10, 54), "{answers:?}");
        assert_eq!(balance(&s, &barman, card).await, "40.00");

        // Revoked at once.
        let (status, _, v) = delete(&s, &format!("/v1/me/mandates/{mandate}"), &member).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["state"], "revoked");
        refused(
            &debit(
                &s,
                &pt,
                card,
                json!({"amount": "1.00", "reference": "r3"}),
                None,
            )
            .await,
            403,
            "MANDATE_REQUIRED_ERROR",
        );

        // Staff 3 on the member's behalf (recorded), with an end: expired, refused.
        let until = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let (status, _, v) = post(
            &s,
            &format!("/v1/members/{id}/mandates"),
            &barman,
            json!({"partner": partner.id, "cap_operation": "2.00", "cap_day": "10.00"}),
        )
        .await;
        assert_eq!(status, 403, "{v}");
        let (status, _, v) = post(
            &s,
            &format!("/v1/members/{id}/mandates"),
            &prez,
            json!({"partner": partner.id, "cap_operation": "2.00", "cap_day": "10.00", "valid_until": until}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["granted_by"], "staff:prez");
        let (status, _, v) = debit(
            &s,
            &pt,
            card,
            json!({"amount": "1.00", "reference": "r4"}),
            None,
        )
        .await;
        assert_eq!(status, 201, "{v}");
        tokio::time::sleep(Duration::from_millis(2500)).await;
        refused(
            &debit(
                &s,
                &pt,
                card,
                json!({"amount": "1.00", "reference": "r5"}),
                None,
            )
            .await,
            403,
            "MANDATE_REQUIRED_ERROR",
        );

        let (status, _, v) = get(&s, "/v1/me/mandates", &member).await;
        assert_eq!(status, 200, "{v}");
        let states: Vec<_> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["state"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(states, ["expired", "revoked"]);
        assert_eq!(balance(&s, &barman, card).await, "39.00");

        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}

#[tokio::test]
async fn seed_002_services_3_and_4_are_the_voucher_and_debit_operations() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let partner = add_partner(&s.db, "Provider", "vouchers:issue cards:debit", &[]);
        let pt = token(&s, &partner).await;
        let enable = format!("/v1/partners/{}/services", partner.id);

        // Enabling a service is for presidents; its token is a UUID shown once.
        let (status, _, v) = post(&s, &enable, &bde, json!({"service_id": 3})).await;
        assert_eq!(status, 403, "{v}");
        refused(
            &post(&s, &enable, &prez, json!({"service_id": 5})).await,
            400,
            "VALIDATION_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/partners/nobody/services",
                &prez,
                json!({"service_id": 3}),
            )
            .await,
            404,
            "PARTNER_NOT_FOUND_ERROR",
        );
        let mut tokens = std::collections::BTreeMap::new();
        for id in [1, 3, 4] {
            let (status, _, v) = post(&s, &enable, &prez, json!({"service_id": id})).await;
            assert_eq!(status, 201, "{v}");
            assert_eq!(v["code"], "SERVICE_ENABLED");
            let t = v["data"]["service_token"].as_str().unwrap().to_owned();
            assert_eq!(t.len(), 36, "{t}");
            tokens.insert(id, t);
        }

        // Service 3: a coupon, as `POST /v1/vouchers` by the partner.
        let qr = |token: &str| {
            json!({"provider_id": partner.id, "service_token": token, "service_id": 3,
                   "parameters": {"qr_code": {"kind": "coupon", "value": "4.00"}}})
        };
        let (status, _, v) = post(&s, "/Services", &pt, qr(&tokens[&3])).await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["code"], "VOUCHERS_ISSUED");
        assert_eq!(
            v["data"]["items"][0]["issued_by"],
            format!("partner:{}", partner.id)
        );
        assert_eq!(v["data"]["items"][0]["value"], "4.00");
        // Another service's token, or none of the partner's: 401; another provider: 400.
        refused(
            &post(&s, "/Services", &pt, qr(&tokens[&4])).await,
            401,
            "INVALID_TOKEN_ERROR",
        );
        refused(
            &post(
                &s,
                "/Services",
                &pt,
                qr("00000000-0000-4000-8000-000000000000"),
            )
            .await,
            401,
            "INVALID_TOKEN_ERROR",
        );
        let mut other = qr(&tokens[&3]);
        other["provider_id"] = json!("someone-else");
        refused(
            &post(&s, "/Services", &pt, other).await,
            400,
            "VALIDATION_ERROR",
        );
        // A staff token is not a provider.
        let (status, _, v) = post(&s, "/Services", &prez, qr(&tokens[&3])).await;
        assert_eq!(status, 403, "{v}");

        // Service 1 (notifications) needs its own scope (see notifications.rs for the rest).
        let (status, _, v) = post(
            &s,
            "/Services",
            &pt,
            json!({"provider_id": partner.id, "service_token": tokens[&1], "service_id": 1,
                   "parameters": {"destination": 1, "notification": {"titulo": "Turno", "mensaje": "Lunes", "canal": "SMS"}}}),
        )
        .await;
        assert_eq!(status, 403, "{v}");

        // Service 4: a debit under the member's mandate, with its Idempotency-Key.
        let id = member_with_card(&s, &bde, "Roux", "max@example.org", "04F0F0F0F0", "10.00").await;
        let micro = json!({"provider_id": partner.id, "service_token": tokens[&4], "service_id": 4,
                           "parameters": {"microPayment": {"card": "04F0F0F0F0", "amount": "1.25", "reference": "m-1"}}});
        refused(
            &call(
                &s,
                Method::POST,
                "/Services",
                Some(&pt),
                Some(micro.clone()),
                &[],
            )
            .await,
            403,
            "MANDATE_REQUIRED_ERROR",
        );
        let (status, _, v) = post(
            &s,
            &format!("/v1/members/{id}/mandates"),
            &prez,
            json!({"partner": partner.id, "cap_operation": "2.00", "cap_day": "5.00"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let (status, _, v) = call(
            &s,
            Method::POST,
            "/Services",
            Some(&pt),
            Some(micro.clone()),
            &[("Idempotency-Key", "svc-1")],
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["code"], "CARD_DEBITED");
        assert_eq!(v["data"]["balance"], "8.75");
        let (status, headers, v) = call(
            &s,
            Method::POST,
            "/Services",
            Some(&pt),
            Some(micro),
            &[("Idempotency-Key", "svc-1")],
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(headers["idempotency-replayed"], "true");
        assert_eq!(balance(&s, &barman, "04F0F0F0F0").await, "8.75");

        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}
