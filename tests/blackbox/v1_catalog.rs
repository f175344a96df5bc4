//! `/v1/products` and `/v1/categories` against the real binary, on each backend: reading with
//! rights ≥ 1, writing with rights 3, 201 + Location, 409 on duplicate names, validation
//! naming the field, paging and the `?category=` filter, and payments by quantity using what
//! was set.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{ardoise, backends, Server};
use crate::v1_staff::{call, get, post, refused, session};

async fn patch(
    s: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::PATCH, path, Some(token), Some(body), &[]).await
}

async fn delete(s: &Server, path: &str, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    call(s, Method::DELETE, path, Some(token), None, &[]).await
}

#[tokio::test]
async fn products_and_categories_are_managed_by_presidents_and_read_by_staff() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let bde = session(&s, "bde").await;

        // Categories: 201 with Location; duplicates 409.
        let (status, headers, v) =
            post(&s, "/v1/categories", &prez, json!({"name": "Boissons"})).await;
        assert_eq!(status, 201, "{v}");
        let drinks = v["data"]["id"].as_i64().unwrap();
        assert_eq!(
            headers["location"],
            format!("/v1/categories/{drinks}").as_str()
        );
        assert_eq!(v["data"]["name"], "Boissons");
        let (status, _, v) = post(&s, "/v1/categories", &prez, json!({"name": "Snacks"})).await;
        assert_eq!(status, 201, "{v}");
        let snacks = v["data"]["id"].as_i64().unwrap();
        refused(
            &post(&s, "/v1/categories", &prez, json!({"name": "Boissons"})).await,
            409,
            "CATEGORY_EXISTS_ERROR",
        );

        // Products: 201 with Location (the name percent-encoded); duplicates 409.
        let (status, headers, v) = post(
            &s,
            "/v1/products",
            &prez,
            json!({"name": "Coca 33cl", "unit_price": "1.50", "category": "Boissons", "bundles": "6:8.00"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(headers["location"], "/v1/products/Coca%2033cl");
        assert_eq!(
            v["data"],
            json!({"name": "Coca 33cl", "unit_price": "1.50", "bundles": {"6": "8.00"}, "category": "Boissons", "currency": "EUR"})
        );
        let (status, _, v) = get(&s, "/v1/products/Coca%2033cl", &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["unit_price"], "1.50");
        let (status, _, _) = post(
            &s,
            "/v1/products",
            &prez,
            json!({"name": "chips", "unit_price": "2.00", "category": "Snacks"}),
        )
        .await;
        assert_eq!(status, 201);
        refused(
            &post(
                &s,
                "/v1/products",
                &prez,
                json!({"name": "chips", "unit_price": "1"}),
            )
            .await,
            409,
            "PRODUCT_EXISTS_ERROR",
        );
        refused(
            &post(
                &s,
                "/v1/products",
                &prez,
                json!({"name": "vin", "unit_price": "3", "category": "Vins"}),
            )
            .await,
            404,
            "CATEGORY_NOT_FOUND_ERROR",
        );

        // Lists: paged, by name, filtered by category.
        let (status, headers, v) = get(&s, "/v1/products?per_page=2", &bde).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["total"], 3);
        let names: Vec<&str> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Coca 33cl", "biere"]);
        assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
        let (_, _, v) = get(&s, &format!("/v1/products?category={snacks}"), &bde).await;
        assert_eq!(v["data"]["total"], 1);
        assert_eq!(v["data"]["items"][0]["name"], "chips");
        refused(
            &get(&s, "/v1/products?category=999", &bde).await,
            404,
            "CATEGORY_NOT_FOUND_ERROR",
        );
        refused(
            &get(&s, "/v1/products?category=x", &bde).await,
            400,
            "VALIDATION_ERROR",
        );
        let (_, _, v) = get(&s, "/v1/categories", &bde).await;
        assert_eq!(v["data"]["total"], 2);
        assert_eq!(v["data"]["items"][0]["name"], "Boissons");

        // Updates: the price and bundles are what payments by quantity charge.
        let (status, _, v) = patch(
            &s,
            "/v1/products/Coca%2033cl",
            &prez,
            json!({"unit_price": "1.60", "bundles": "6:9.00 2:3.00"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["bundles"], json!({"2": "3.00", "6": "9.00"}));
        post(
            &s,
            "/v1/cards",
            &prez,
            json!({"card": "CAFE0001", "balance": "20.00"}),
        )
        .await;
        let barman = session(&s, "barman").await;
        let (status, _, v) = post(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            json!({"quantity": 6, "product": "Coca 33cl"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["data"]["amount"], "9.00");
        let (_, _, v) = post(
            &s,
            "/v1/cards/CAFE0001/payments",
            &barman,
            json!({"quantity": 1, "product": "Coca 33cl"}),
        )
        .await;
        assert_eq!(v["data"]["amount"], "1.60");

        // A category rename carries its products; a deletion leaves them without one.
        let (status, _, v) = patch(
            &s,
            &format!("/v1/categories/{drinks}"),
            &prez,
            json!({"name": "Softs"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let (_, _, v) = get(&s, "/v1/products/Coca%2033cl", &bde).await;
        assert_eq!(v["data"]["category"], "Softs");
        refused(
            &patch(
                &s,
                &format!("/v1/categories/{drinks}"),
                &prez,
                json!({"name": "Snacks"}),
            )
            .await,
            409,
            "CATEGORY_EXISTS_ERROR",
        );
        let (status, _, _) = delete(&s, &format!("/v1/categories/{drinks}"), &prez).await;
        assert_eq!(status, 204);
        let (_, _, v) = get(&s, "/v1/products/Coca%2033cl", &bde).await;
        assert_eq!(v["data"]["category"], Value::Null);
        refused(
            &get(&s, &format!("/v1/categories/{drinks}"), &bde).await,
            404,
            "CATEGORY_NOT_FOUND_ERROR",
        );
        // A product moved into a category, then out of it with null.
        let (_, _, v) = patch(
            &s,
            "/v1/products/Coca%2033cl",
            &prez,
            json!({"category": "Snacks"}),
        )
        .await;
        assert_eq!(v["data"]["category"], "Snacks");
        let (_, _, v) = patch(
            &s,
            "/v1/products/Coca%2033cl",
            &prez,
            json!({"category": null}),
        )
        .await;
        assert_eq!(v["data"]["category"], Value::Null);

        // Deleting: 204, then 404; the history keeps the name; the default product stays.
        let (status, _, _) = delete(&s, "/v1/products/Coca%2033cl", &prez).await;
        assert_eq!(status, 204);
        refused(
            &get(&s, "/v1/products/Coca%2033cl", &bde).await,
            404,
            "PRODUCT_NOT_FOUND_ERROR",
        );
        let (_, _, v) = get(&s, "/v1/cards/CAFE0001/transactions", &prez).await;
        assert_eq!(v["data"]["items"][1]["product"], "Coca 33cl");
        let answer = delete(&s, "/v1/products/biere", &prez).await;
        refused(&answer, 400, "VALIDATION_ERROR");

        // The CLI's `product set --category` creates the category it names.
        let (ok, _, err) = ardoise(
            &s.db,
            &[
                "product",
                "set",
                "--name",
                "vin",
                "--price",
                "3.00",
                "--category",
                "Vins",
            ],
        );
        assert!(ok, "{err}");
        let (_, _, v) = get(&s, "/v1/categories", &bde).await;
        assert_eq!(v["data"]["total"], 2);
        let (_, _, v) = get(&s, "/v1/products/vin", &bde).await;
        assert_eq!(v["data"]["category"], "Vins");
    }
}

#[tokio::test]
async fn catalog_refusals() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let (_, _, v) = post(&s, "/v1/categories", &prez, json!({"name": "Boissons"})).await;
        let id = v["data"]["id"].as_i64().unwrap();

        // Rights: honeypot reads nothing; below 3 writes nothing.
        let honeypot = session(&s, "honeypot").await;
        for path in [
            "/v1/products".to_owned(),
            "/v1/products/biere".to_owned(),
            "/v1/categories".to_owned(),
            format!("/v1/categories/{id}"),
        ] {
            refused(
                &get(&s, &path, &honeypot).await,
                403,
                "INSUFFICIENT_RIGHTS_ERROR",
            );
        }
        for login in ["barman", "bde"] {
            let t = session(&s, login).await;
            assert_eq!(get(&s, "/v1/products", &t).await.0, 200);
            for (method, path, body) in [
                (
                    Method::POST,
                    "/v1/products".to_owned(),
                    Some(json!({"name": "x", "unit_price": "1"})),
                ),
                (
                    Method::PATCH,
                    "/v1/products/biere".to_owned(),
                    Some(json!({"unit_price": "0.10"})),
                ),
                (Method::DELETE, "/v1/products/biere".to_owned(), None),
                (
                    Method::POST,
                    "/v1/categories".to_owned(),
                    Some(json!({"name": "x"})),
                ),
                (
                    Method::PATCH,
                    format!("/v1/categories/{id}"),
                    Some(json!({"name": "y"})),
                ),
                (Method::DELETE, format!("/v1/categories/{id}"), None),
            ] {
                let answer = call(&s, method, &path, Some(&t), body, &[]).await;
                refused(&answer, 403, "INSUFFICIENT_RIGHTS_ERROR");
            }
        }
        let (_, _, v) = get(&s, "/v1/products/biere", &prez).await;
        assert_eq!(v["data"]["unit_price"], "1.80", "nothing changed");

        // Validation names the field; nothing is created.
        for (body, field) in [
            (json!({"unit_price": "1"}), "name"),
            (json!({"name": "x"}), "unit_price"),
            (json!({"name": "x", "unit_price": "abc"}), "unit_price"),
            (json!({"name": "x", "unit_price": "-1"}), "unit_price"),
            (json!({"name": " x", "unit_price": "1"}), "name"),
            (
                json!({"name": "x", "unit_price": "1", "bundles": "6"}),
                "bundles",
            ),
            (
                json!({"name": "x", "unit_price": "1", "bundles": "0:1.00"}),
                "bundles",
            ),
            (
                json!({"name": "x", "unit_price": "1", "bundles": "2:-1.00"}),
                "bundles",
            ),
        ] {
            let answer = post(&s, "/v1/products", &prez, body.clone()).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            let debug = answer.2["debugMessage"].as_str().unwrap();
            assert!(debug.contains(field), "{body}: {debug}");
        }
        let answer = post(&s, "/v1/categories", &prez, json!({"name": ""})).await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert!(answer.2["debugMessage"].as_str().unwrap().contains("name"));
        let (_, _, v) = get(&s, "/v1/products", &prez).await;
        assert_eq!(v["data"]["total"], 1);
        refused(
            &patch(&s, "/v1/products/biere", &prez, json!({})).await,
            400,
            "VALIDATION_ERROR",
        );
        refused(
            &get(&s, "/v1/categories/0", &prez).await,
            400,
            "VALIDATION_ERROR",
        );
        let answer = call(
            &s,
            Method::GET,
            "/v1/categories/77",
            Some(&prez),
            None,
            &[("Accept-Language", "fr")],
        )
        .await;
        refused(&answer, 404, "CATEGORY_NOT_FOUND_ERROR");
        assert_eq!(answer.2["message"], "Catégorie inconnue.");
        refused(
            &patch(&s, "/v1/products/nope", &prez, json!({"unit_price": "1"})).await,
            404,
            "PRODUCT_NOT_FOUND_ERROR",
        );
        refused(
            &delete(&s, "/v1/products/nope", &prez).await,
            404,
            "PRODUCT_NOT_FOUND_ERROR",
        );
        refused(
            &delete(&s, "/v1/categories/77", &prez).await,
            404,
            "CATEGORY_NOT_FOUND_ERROR",
        );
        let answer = call(&s, Method::PUT, "/v1/categories", Some(&prez), None, &[]).await;
        refused(&answer, 405, "METHOD_NOT_ALLOWED_ERROR");
    }
}
