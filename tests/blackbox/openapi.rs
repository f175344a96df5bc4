//! `GET /v1/openapi.json` and `GET /v1/languages` against the real binary: the document parses
//! as OpenAPI 3 with an independent parser (`oas3`), and the server serves exactly the
//! routes it lists — each listed (method, path) is answered by a handler, each listed path
//! answers other methods with 405 and exactly the listed methods in `Allow`, and every route
//! named in docs/api.md or in the contract is served if and only if it is listed.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::Value;

use crate::harness::{backends, Server};

/// A concrete path for a documented one: each `{parameter}` segment is `1` (enough to reach
/// the handler, which may then refuse the value: that still shows the route is served).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            // A language is a code (`/v1/languages/{lang}` answers an unknown one with
            // `RESOURCE_NOT_FOUND_ERROR`, the code of an unknown route).
            if segment == "{lang}" {
                "en"
            } else if segment.starts_with('{') {
                "1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `method path` reaches a handler: anything but 405 and the 404 of an unknown route
/// (a handler's own 404 has another code, e.g. `CARD_NOT_FOUND_ERROR`).
async fn served(s: &Server, method: &str, path: &str) -> bool {
    let resp = s
        .client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{}", s.base, concrete(path)),
        )
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match status {
        405 => false,
        404 => body["code"] != "RESOURCE_NOT_FOUND_ERROR" && body != Value::Null,
        _ => true,
    }
}

/// (method, path) of the routes tables of docs/api.md (`| \`METHOD /path\` | …`).
fn routes_of_docs_api_md() -> BTreeSet<(String, String)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md")).unwrap();
    let mut routes = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cell = line.trim_start_matches("| `");
        let Some((method, rest)) = cell.split_once(' ') else {
            continue;
        };
        if !["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method) {
            continue;
        }
        let path: String = rest
            .chars()
            .take_while(|c| !matches!(c, '`' | ' ' | '?'))
            .collect();
        routes.insert((method.to_owned(), path));
    }
    routes
}

#[tokio::test]
async fn openapi_json_is_openapi_3_and_lists_exactly_the_served_routes() {
    for backend in backends() {
        let s = Server::start(backend);
        // Public: no credentials.
        let resp = s
            .client
            .get(format!("{}/v1/openapi.json", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let text = resp.text().await.unwrap();
        let spec = oas3::from_json(&text).expect("an OpenAPI 3.1 document");
        let version = spec
            .validate_version()
            .expect("a supported OpenAPI version");
        assert_eq!(version.major, 3, "{version}");

        let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, method, op) in spec.operations() {
            // Every reference of the operation resolves, every path parameter is declared.
            let params = op.parameters(&spec).expect("parameters resolve");
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                let name = segment.trim_matches(['{', '}']);
                assert!(
                    params.iter().any(|p| p.name == name),
                    "{method} {path}: no parameter {name}"
                );
            }
            op.request_body(&spec).expect("the request body resolves");
            let responses = op.responses(&spec);
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path}: no success answer"
            );
            listed
                .entry(path.clone())
                .or_default()
                .insert(method.as_str().to_owned());
        }
        // The contract's surface is there, with its security schemes.
        for (method, path) in [
            ("POST", "/oauth/token"),
            ("POST", "/oauth/introspect"),
            ("POST", "/mcg/v1/tokeninfo"),
            ("POST", "/oauth/revoke"),
            ("GET", "/v1/openapi.json"),
            ("GET", "/v1/languages"),
            ("GET", "/v1/cards/{card}/balance"),
            ("POST", "/v1/cards/{card}/credits"),
        ] {
            assert!(
                listed.get(path).is_some_and(|m| m.contains(method)),
                "{method} {path} is not listed"
            );
        }
        let raw: Value = serde_json::from_str(&text).unwrap();
        let schemes = &raw["components"]["securitySchemes"];
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(schemes["client_basic"]["scheme"], "basic");
        let credit = &raw["paths"]["/v1/cards/{card}/credits"]["post"];
        assert_eq!(
            credit["security"],
            serde_json::json!([{"bearer": ["cards:credit"]}, {"client_basic": ["cards:credit"]}])
        );
        let failure = &raw["components"]["schemas"]["Failure"]["properties"];
        for field in ["success", "code", "message", "debugMessage", "moreInfo"] {
            assert!(failure.get(field).is_some(), "Failure.{field}");
        }

        // Each listed route is served; other methods on a listed path are refused with 405
        // and exactly the listed methods.
        for (path, methods) in &listed {
            for method in methods {
                assert!(
                    served(&s, method, path).await,
                    "{method} {path} is listed but not served"
                );
            }
            let resp = s
                .client
                .request(Method::TRACE, format!("{}{}", s.base, concrete(path)))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 405, "TRACE {path}");
            let allow: BTreeSet<String> = resp.headers()["allow"]
                .to_str()
                .unwrap()
                .split(", ")
                .map(str::to_owned)
                .collect();
            assert_eq!(&allow, methods, "methods served at {path}");
        }

        // Every route docs/api.md names, and the contract's resources not built yet (only
        // the OAuth2 authorization endpoint now), are served exactly when listed.
        let mut candidates = routes_of_docs_api_md();
        assert!(candidates.len() >= 20, "{candidates:?}");
        candidates.insert(("GET".to_owned(), "/oauth/authorize".to_owned()));
        for (method, path) in &candidates {
            let is_listed = listed.get(path).is_some_and(|m| m.contains(method));
            assert_eq!(
                served(&s, method, path).await,
                is_listed,
                "{method} {path}: served ≠ listed in /v1/openapi.json"
            );
        }
        for (path, methods) in &listed {
            for method in methods {
                assert!(
                    candidates.contains(&(method.clone(), path.clone())),
                    "{method} {path} is listed but missing from the routes tables of docs/api.md"
                );
            }
        }
        s.stop();
    }
}

#[tokio::test]
async fn languages_are_public_and_name_the_languages_of_the_messages() {
    for backend in backends() {
        let s = Server::start(backend);
        let mut messages = BTreeSet::new();
        for (accept, message) in [
            (None, "Languages."),
            (Some("fr-FR,fr;q=0.9"), "Langues."),
            (Some("en"), "Languages."),
            (Some("de"), "Languages."),
        ] {
            let mut req = s.client.get(format!("{}/v1/languages", s.base));
            if let Some(accept) = accept {
                req = req.header("Accept-Language", accept);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["success"], true, "{v}");
            assert_eq!(v["code"], "LANGUAGE_LIST", "{v}");
            assert_eq!(v["message"], message, "{accept:?}: {v}");
            assert_eq!(
                v["data"],
                serde_json::json!({
                    "items": [
                        {"code": "fr", "name": "Français"},
                        {"code": "en", "name": "English"},
                    ],
                    "default": "en",
                }),
                "{v}"
            );
        }
        // Each listed language really is one the messages are written in.
        for code in ["fr", "en"] {
            let v: Value = s
                .client
                .post(format!("{}/v1/sessions", s.base))
                .header("Accept-Language", code)
                .json(&serde_json::json!({"login": "barman", "password": "wrong-pw"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            messages.insert(v["message"].as_str().unwrap().to_owned());
        }
        assert_eq!(messages.len(), 2, "{messages:?}");
        // Only GET.
        let resp = s
            .client
            .post(format!("{}/v1/languages", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "GET");
        s.stop();
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_and_reads_the_document() {
    for backend in backends() {
        let s = Server::start(backend);
        let resp = s
            .client
            .get(format!("{}/docs/", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.text().await.unwrap().contains("swagger-ui-bundle.js"));
        let script = s
            .client
            .get(format!("{}/docs/swagger-initializer.js", s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(script.contains("\"/v1/openapi.json\""), "{script}");
        s.stop();
    }
}
