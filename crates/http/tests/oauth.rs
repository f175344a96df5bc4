//! The OAuth2 endpoints and the `/v1` authentication over the real routes, with the in-memory
//! stores: parsing and status details that the black-box tests do not repeat.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use base64::Engine;
use common::*;

fn h(a: &Answer, name: &str) -> String {
    a.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn partner(w: &World, scopes: &str, allow_basic: bool) -> (String, String) {
    let p = w
        .state
        .oauth
        .register("P", scopes, allow_basic)
        .await
        .unwrap();
    (p.client_id, p.client_secret)
}

#[actix_web::test]
async fn token_requests_are_parsed_strictly() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let (id, secret) = partner(&w, "cards:read", false).await;
    let good = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");

    let a = send(&app, form("/oauth/token", &good)).await;
    assert_eq!(a.code, StatusCode::OK, "{}", a.text);
    assert_eq!(a.content_type, "application/json");
    assert_eq!(h(&a, "cache-control"), "no-store");
    assert_eq!(h(&a, "pragma"), "no-cache");
    assert_eq!(a.json["token_type"], "Bearer");
    assert_eq!(a.json["scope"], "cards:read");
    assert_eq!(a.json["expires_in"], 3600);
    assert!(a.json["expire"].as_i64().unwrap() > 1_000_000_000);
    assert!(a.json.get("rpt").is_none());

    let invalid =
        |a: &Answer| a.code == StatusCode::BAD_REQUEST && a.json["error"] == "invalid_request";
    // No Content-Type, a wrong one, JSON, a repeated parameter, bad UTF-8.
    assert!(invalid(&send(&app, bare("/oauth/token", &good)).await));
    assert!(invalid(
        &send(
            &app,
            json("/oauth/token", r#"{"grant_type":"client_credentials"}"#)
        )
        .await
    ));
    let twice = format!("{good}&grant_type=client_credentials");
    assert!(invalid(&send(&app, form("/oauth/token", &twice)).await));
    assert!(invalid(
        &send(&app, form("/oauth/token", &format!("{good}&scope=%ff"))).await
    ));
    assert!(invalid(
        &send(&app, form("/oauth/token", "client_id=x&client_secret=y")).await
    ));
    // Credentials both ways.
    let both = form("/oauth/token", &good).insert_header(("Authorization", basic(&id, &secret)));
    assert!(invalid(&send(&app, both).await));
    for rpt in ["999", "100001", "abc", "1e3"] {
        let a = send(&app, form("/oauth/token", &format!("{good}&rpt={rpt}"))).await;
        assert!(invalid(&a), "rpt={rpt}: {}", a.text);
    }
    let a = send(&app, form("/oauth/token", &format!("{good}&rpt=1000"))).await;
    assert_eq!(a.json["rpt"], 1000);

    let a = send(
        &app,
        form(
            "/oauth/token",
            &good.replace("client_credentials", "password"),
        ),
    )
    .await;
    assert_eq!(a.code, StatusCode::BAD_REQUEST);
    assert_eq!(a.json["error"], "unsupported_grant_type");
}

#[actix_web::test]
async fn basic_credentials_are_form_url_decoded_and_the_scheme_is_case_insensitive() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let (id, secret) = partner(&w, "cards:read", false).await;
    // `-` and `_` percent-encoded, as a cautious client may.
    let encoded_id = id.replace('-', "%2D").replace('_', "%5F");
    let header = basic(&encoded_id, &secret).replacen("Basic", "bAsIc", 1);
    let a = send(
        &app,
        form("/oauth/token", "grant_type=client_credentials")
            .insert_header(("Authorization", header)),
    )
    .await;
    assert_eq!(a.code, StatusCode::OK, "{}", a.text);
}

#[actix_web::test]
async fn invalid_client_is_401_with_a_basic_challenge_and_one_body_for_all_causes() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    let (id, secret) = partner(&w, "cards:read", false).await;
    let mut bodies = Vec::new();
    for (cid, csecret) in [(id.as_str(), "wrong"), ("unknown", secret.as_str())] {
        let a = send(
            &app,
            form("/oauth/token", "grant_type=client_credentials")
                .insert_header(("Authorization", basic(cid, csecret))),
        )
        .await;
        assert_eq!(a.code, StatusCode::UNAUTHORIZED);
        assert_eq!(h(&a, "www-authenticate"), r#"Basic realm="ardoise""#);
        bodies.push(a.text);
    }
    let a = send(&app, form("/oauth/token", "grant_type=client_credentials")).await;
    assert_eq!(a.code, StatusCode::UNAUTHORIZED);
    bodies.push(a.text);
    assert!(bodies.windows(2).all(|b| b[0] == b[1]), "{bodies:?}");
    assert_eq!(
        bodies[0],
        r#"{"error":"invalid_client","error_description":"client authentication failed"}"#
    );
}

#[actix_web::test]
async fn other_methods_get_405_with_allow_and_a_json_body() {
    let w = world().await;
    let app = app(&w.state, &[]).await;
    for path in [
        "/oauth/token",
        "/oauth/introspect",
        "/mcg/v1/tokeninfo",
        "/oauth/revoke",
    ] {
        for req in [
            TestRequest::get(),
            TestRequest::put(),
            TestRequest::delete(),
        ] {
            let a = send(&app, req.uri(path)).await;
            assert_eq!(a.code, StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(h(&a, "allow"), "POST");
            assert_eq!(a.json["error"], "invalid_request", "{path}: {}", a.text);
        }
    }
}

#[actix_web::test]
async fn v1_authentication_and_scopes() {
    let w = world().await;
    w.open("AHS0DIEX", "10").await;
    let app = app(&w.state, &[]).await;
    let (id, secret) = partner(&w, "cards:read members:read", true).await;
    let get = |auth: Option<String>| {
        let req = TestRequest::get()
            .uri("/v1/cards/AHS0DIEX/balance")
            .peer_addr(PEER.parse().unwrap());
        match auth {
            Some(a) => req.insert_header(("Authorization", a)),
            None => req,
        }
    };

    let a = send(&app, get(None)).await;
    assert_eq!(a.code, StatusCode::UNAUTHORIZED);
    assert_eq!(h(&a, "www-authenticate"), r#"Bearer realm="ardoise""#);
    for bad in ["Bearer nope", "Bearer ", "Digest x", &basic(&id, "wrong")] {
        let a = send(&app, get(Some(bad.to_owned()))).await;
        assert_eq!(a.code, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(
            h(&a, "www-authenticate"),
            r#"Bearer realm="ardoise", error="invalid_token""#
        );
        assert_eq!(a.json["code"], "INVALID_TOKEN_ERROR");
    }

    // Basic, for a partner that opted in.
    let a = send(&app, get(Some(basic(&id, &secret)))).await;
    assert_eq!(a.code, StatusCode::OK, "{}", a.text);
    assert_eq!(
        a.json,
        serde_json::json!({"success": true, "code": "CARD_BALANCE", "message": "Card balance.",
            "data": {"card": "AHS0DIEX", "balance": "10.00", "currency": "EUR"}})
    );

    // A token without the scope: 403.
    let t = w
        .state
        .oauth
        .client_credentials(
            &ardoise_auth::ClientCredentials {
                client_id: id.clone(),
                client_secret: secret.clone(),
            },
            "192.0.2.10".parse().unwrap(),
            Some("members:read"),
            None,
        )
        .await
        .unwrap();
    let a = send(&app, get(Some(format!("Bearer {}", t.access_token)))).await;
    assert_eq!(a.code, StatusCode::FORBIDDEN);
    assert_eq!(a.json["code"], "INSUFFICIENT_SCOPE_ERROR");
    assert!(h(&a, "www-authenticate").contains(r#"error="insufficient_scope""#));

    // Staff session tokens work too, with their rights.
    let a = send(&app, get(Some(format!("Bearer {}", token("barman"))))).await;
    assert_eq!(a.code, StatusCode::OK, "{}", a.text);
    let a = send(&app, get(Some(format!("Bearer {}", token("bde"))))).await;
    assert_eq!(a.code, StatusCode::FORBIDDEN);
    assert_eq!(a.json["code"], "INSUFFICIENT_RIGHTS_ERROR");

    let a = send(
        &app,
        TestRequest::get()
            .uri("/v1/cards/CAFE0001/balance")
            .insert_header(("Authorization", basic(&id, &secret)))
            .insert_header(("Accept-Language", "fr-FR,fr;q=0.9")),
    )
    .await;
    assert_eq!(a.code, StatusCode::NOT_FOUND);
    assert_eq!(a.json["success"], false);
    assert_eq!(a.json["code"], "CARD_NOT_FOUND_ERROR");
    assert_eq!(a.json["message"], "Carte inconnue.");
    assert_eq!(a.json["moreInfo"], serde_json::Value::Null);
    assert!(a.json["debugMessage"].is_string());
}
