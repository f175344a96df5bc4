//! The members of `/v1` against the real binary, on each backend: create, read, list (paged),
//! edit with validated fields (phone numbers normalised, bad fields refused by name and
//! nothing stored), the card↔member link, and seed 000's partner resources (a member's cards,
//! a card's validity for a member) with their scopes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backends, Server};
use crate::v1_partner::{add_partner, token};
use crate::v1_staff::{call, get, post, refused, session};

async fn patch(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PATCH, path, Some(token), Some(body), &[]).await
}

/// Creates a member; its id.
async fn member(s: &Server, token: &str, body: Value) -> i64 {
    let (status, headers, v) = post(s, "/v1/members", token, body).await;
    assert_eq!(status, 201, "{v}");
    let id = v["data"]["id"].as_i64().unwrap();
    assert_eq!(headers["location"], format!("/v1/members/{id}").as_str());
    id
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

/// Asserts a validation refusal that names `field`.
#[track_caller]
fn names_field(answer: &(u16, reqwest::header::HeaderMap, Value), field: &str) {
    refused(answer, 400, "VALIDATION_ERROR");
    let debug = answer.2["debugMessage"].as_str().unwrap();
    assert!(debug.contains(&format!("`{field}`")), "{debug}");
}

#[tokio::test]
async fn members_are_created_read_listed_and_edited_with_validated_fields() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let honeypot = session(&s, "honeypot").await;

        let (status, headers, v) = post(
            &s,
            "/v1/members",
            &bde,
            json!({"first_name": " Zoé ", "last_name": "Durand", "email": "Zoe@Example.ORG",
                   "phone": "0033 6 12-34-56-78", "mobile": "+33 (0)7 98 76 54 32",
                   "keywords": "rugby, , jazz", "notes": "trésorière"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["code"], "MEMBER_CREATED");
        let id = v["data"]["id"].as_i64().unwrap();
        assert_eq!(headers["location"], format!("/v1/members/{id}").as_str());
        let d = &v["data"];
        assert_eq!(d["first_name"], "Zoé");
        assert_eq!(d["email"], "Zoe@example.org");
        assert_eq!(d["phone"], "+33612345678");
        assert_eq!(d["mobile"], "+33798765432");
        assert_eq!(d["keywords"], "rugby, jazz");
        assert_eq!(d["display_name"], Value::Null);

        // Bad fields: refused by name, nothing stored.
        for (body, field) in [
            (
                json!({"last_name": "X", "phone": "06 12 34 56 78"}),
                "phone",
            ),
            (json!({"last_name": "X", "mobile": "+33 6 AB"}), "mobile"),
            (
                json!({"last_name": "X", "email": "not-an-address"}),
                "email",
            ),
            (json!({"last_name": "X", "nmae": "typo"}), "nmae"),
            (json!({"email": "a@b.org"}), "last_name"),
            (json!({"last_name": "x".repeat(65)}), "last_name"),
        ] {
            names_field(&post(&s, "/v1/members", &bde, body).await, field);
        }
        refused(
            &post(&s, "/v1/members", &honeypot, json!({"last_name": "X"})).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );

        let b = member(&s, &bde, json!({"display_name": "Les Joyeux Lurons"})).await;
        let c = member(&s, &bde, json!({"last_name": "Martin"})).await;
        let (status, headers, v) = get(&s, "/v1/members?page=1&per_page=2", &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["total"], 3, "the refused ones were not stored");
        let ids: Vec<i64> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [id, b]);
        assert_eq!(
            headers["link"],
            "</v1/members?page=2&per_page=2>; rel=\"next\""
        );
        let (_, _, v) = get(&s, "/v1/members?page=2&per_page=2", &bde).await;
        assert_eq!(v["data"]["items"][0]["id"], c);
        names_field(&get(&s, "/v1/members?per_page=501", &bde).await, "per_page");
        refused(
            &get(&s, "/v1/members", &honeypot).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );

        let (status, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["last_name"], "Durand");
        refused(
            &get(&s, "/v1/members/9999", &bde).await,
            404,
            "MEMBER_NOT_FOUND_ERROR",
        );
        let fr = call(
            &s,
            Method::GET,
            "/v1/members/9999",
            Some(&bde),
            None,
            &[("Accept-Language", "fr")],
        )
        .await;
        assert_eq!(fr.2["message"], "Membre inconnu.");
        refused(
            &get(&s, "/v1/members/abc", &bde).await,
            400,
            "VALIDATION_ERROR",
        );

        // An edit changes the given fields only; null or "" unsets one.
        let (status, _, v) = patch(
            &s,
            &format!("/v1/members/{id}"),
            &bde,
            json!({"email": "zoe.durand@example.org", "phone": null, "notes": ""}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "MEMBER_UPDATED");
        assert_eq!(v["data"]["email"], "zoe.durand@example.org");
        assert_eq!(v["data"]["phone"], Value::Null);
        assert_eq!(v["data"]["notes"], Value::Null);
        assert_eq!(v["data"]["mobile"], "+33798765432");
        assert_eq!(v["data"]["first_name"], "Zoé");
        // A bad edit changes nothing.
        names_field(
            &patch(
                &s,
                &format!("/v1/members/{id}"),
                &bde,
                json!({"first_name": "Zoé", "mobile": "07 98 76 54 32"}),
            )
            .await,
            "mobile",
        );
        names_field(
            &patch(
                &s,
                &format!("/v1/members/{c}"),
                &bde,
                json!({"last_name": null}),
            )
            .await,
            "last_name",
        );
        let (_, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        assert_eq!(v["data"]["mobile"], "+33798765432");
        refused(
            &patch(&s, "/v1/members/9999", &bde, json!({"notes": "x"})).await,
            404,
            "MEMBER_NOT_FOUND_ERROR",
        );
        refused(
            &patch(
                &s,
                &format!("/v1/members/{id}"),
                &honeypot,
                json!({"notes": "x"}),
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        let wrong = call(&s, Method::PUT, "/v1/members", Some(&bde), None, &[]).await;
        refused(&wrong, 405, "METHOD_NOT_ALLOWED_ERROR");
        assert_eq!(wrong.1["allow"], "GET, POST");
    }
}

#[tokio::test]
async fn a_card_belongs_to_one_member_and_partners_read_it_with_their_scopes() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let honeypot = session(&s, "honeypot").await;
        let a = member(&s, &bde, json!({"last_name": "Durand"})).await;
        let b = member(&s, &bde, json!({"last_name": "Martin"})).await;
        open_card(&s, &bde, "CAFE0001", "10.00").await;
        open_card(&s, &bde, "CAFE0002", "5.00").await;
        open_card(&s, &bde, "CAFE0003", "5.00").await;

        let link = |m: i64, card: &str| {
            let path = format!("/v1/members/{m}/cards");
            let body = json!({"card": card});
            let s = &s;
            let bde = bde.clone();
            async move { post(s, &path, &bde, body).await }
        };
        let (status, _, v) = link(a, "CAFE0001").await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "CARD_LINKED");
        assert_eq!(link(a, "CAFE0001").await.0, 200, "linking again is fine");
        assert_eq!(link(a, "CAFE0002").await.0, 200);
        assert_eq!(link(b, "CAFE0003").await.0, 200);
        refused(&link(b, "CAFE0001").await, 409, "CARD_ALREADY_LINKED_ERROR");
        refused(&link(a, "CAFE0404").await, 404, "CARD_NOT_FOUND_ERROR");
        refused(&link(9999, "CAFE0001").await, 404, "MEMBER_NOT_FOUND_ERROR");
        names_field(
            &post(
                &s,
                &format!("/v1/members/{a}/cards"),
                &bde,
                json!({"card": "x y"}),
            )
            .await,
            "card",
        );
        refused(
            &post(
                &s,
                &format!("/v1/members/{a}/cards"),
                &honeypot,
                json!({"card": "CAFE0003"}),
            )
            .await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );

        // Staff (rights ≥ 1) and partners with members:read see a member's cards, paged.
        let (status, headers, v) =
            get(&s, &format!("/v1/members/{a}/cards?per_page=1"), &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "MEMBER_CARD_LIST");
        assert_eq!(v["data"]["total"], 2);
        let first = &v["data"]["items"][0];
        assert_eq!(first["card"], "CAFE0001");
        assert_eq!(first["status"], "active");
        assert_eq!(first["valid"], true);
        assert_eq!(first["reason"], "active");
        assert!(
            first.get("balance").is_none(),
            "the balance has its own scope"
        );
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
        refused(
            &get(&s, &format!("/v1/members/{a}/cards"), &honeypot).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );

        let office = add_partner(&s.db, "Bureau des membres", "members:read cards:read", &[]);
        let reader = add_partner(&s.db, "Lecteur", "cards:read", &[]);
        let lister = add_partner(&s.db, "Annuaire", "members:read", &[]);
        let office = token(&s, &office).await;
        let reader = token(&s, &reader).await;
        let lister = token(&s, &lister).await;
        let (status, _, v) = get(&s, &format!("/v1/members/{a}/cards"), &office).await;
        assert_eq!(status, 200, "{v}");
        let cards: Vec<&str> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["card"].as_str().unwrap())
            .collect();
        assert_eq!(cards, ["CAFE0001", "CAFE0002"]);
        assert_eq!(
            get(&s, &format!("/v1/members/{b}/cards"), &lister).await.0,
            200
        );
        refused(
            &get(&s, &format!("/v1/members/{a}/cards"), &reader).await,
            403,
            "INSUFFICIENT_SCOPE_ERROR",
        );
        refused(
            &get(&s, "/v1/members/9999/cards", &office).await,
            404,
            "MEMBER_NOT_FOUND_ERROR",
        );
        // Partners do not reach the staff resources of members.
        refused(
            &get(&s, &format!("/v1/members/{a}"), &office).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        refused(
            &post(&s, "/v1/members", &office, json!({"last_name": "X"})).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );

        // A card's validity for a member (cards:read): valid only if it is theirs and usable.
        let validity = |m: i64, card: &str, t: &str| {
            let path = format!("/v1/members/{m}/cards/{card}/validity");
            let t = t.to_owned();
            let s = &s;
            async move { get(s, &path, &t).await }
        };
        let (status, _, v) = validity(a, "CAFE0001", &reader).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], "CARD_VALIDITY");
        assert_eq!(
            v["data"],
            json!({"card": "CAFE0001", "valid": true, "reason": "active", "valid_until": null})
        );
        let (_, _, v) = validity(a, "CAFE0003", &reader).await;
        assert_eq!(
            (&v["data"]["valid"], &v["data"]["reason"]),
            (&json!(false), &json!("not_member"))
        );
        let (_, _, v) = validity(b, "CAFE0003", &office).await;
        assert_eq!(v["data"]["valid"], true);
        let (_, _, v) = validity(a, "CAFE0404", &reader).await;
        assert_eq!(
            (&v["data"]["valid"], &v["data"]["reason"]),
            (&json!(false), &json!("unknown"))
        );
        refused(
            &validity(9999, "CAFE0001", &reader).await,
            404,
            "MEMBER_NOT_FOUND_ERROR",
        );
        refused(
            &validity(a, "CAFE0001", &lister).await,
            403,
            "INSUFFICIENT_SCOPE_ERROR",
        );
        assert_eq!(validity(a, "CAFE0001", &bde).await.0, 200, "staff ≥ 1");
        refused(
            &validity(a, "CAFE0001", &honeypot).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        let (status, _, v) = post(&s, "/v1/cards/CAFE0001/block", &bde, json!({})).await;
        assert_eq!(status, 200, "{v}");
        let (_, _, v) = validity(a, "CAFE0001", &reader).await;
        assert_eq!(
            (&v["data"]["valid"], &v["data"]["reason"]),
            (&json!(false), &json!("blocked"))
        );

        // Unlinking: 204, then the card is no longer the member's.
        let unlink = call(
            &s,
            Method::DELETE,
            &format!("/v1/members/{a}/cards/CAFE0002"),
            Some(&bde),
            None,
            &[],
        )
        .await;
        assert_eq!(unlink.0, 204, "{}", unlink.2);
        let again = call(
            &s,
            Method::DELETE,
            &format!("/v1/members/{a}/cards/CAFE0002"),
            Some(&bde),
            None,
            &[],
        )
        .await;
        refused(&again, 404, "CARD_NOT_LINKED_ERROR");
        let (_, _, v) = validity(a, "CAFE0002", &reader).await;
        assert_eq!(v["data"]["reason"], "not_member");
        assert_eq!(link(b, "CAFE0002").await.0, 200, "free to link again");
        let (_, _, v) = get(&s, &format!("/v1/members/{a}/cards"), &office).await;
        assert_eq!(v["data"]["total"], 1);
    }
}
