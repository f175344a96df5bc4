//! OAuth2 for partners against the real binary, with the `oauth2` crate as the client where it
//! can be: registration by the CLI, client credentials (Basic and form), `/v1` calls,
//! introspection, revocation (over TLS: the crate refuses a plain-http revocation URL), and
//! every refusal with its exact status and body, on each backend.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, IntrospectionUrl,
    RequestTokenError, RevocationErrorResponseType, RevocationUrl, Scope, StandardRevocableToken,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{ardoise, backends, Backend, Database, Server};

type Client = BasicClient<EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

const CARD: &str = "AHS0DIEX";
const INVALID_CLIENT: &str =
    r#"{"error":"invalid_client","error_description":"client authentication failed"}"#;

struct Partner {
    id: String,
    secret: String,
}

/// `ardoise partner add`, as an administrator runs it.
fn add_partner(db: &Database, name: &str, scopes: &str, allow_basic: bool) -> Partner {
    let mut args = vec!["partner", "add", "--name", name, "--scopes", scopes];
    if allow_basic {
        args.push("--allow-basic");
    }
    let (ok, out, err) = ardoise(db, &args);
    assert!(ok, "partner add: {err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 2, "{out}");
    Partner {
        id: v["client_id"].as_str().unwrap().to_owned(),
        secret: v["client_secret"].as_str().unwrap().to_owned(),
    }
}

fn client(base: &str, p: &Partner, auth: AuthType) -> Client {
    BasicClient::new(ClientId::new(p.id.clone()))
        .set_client_secret(ClientSecret::new(p.secret.clone()))
        .set_auth_type(auth)
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(format!("{base}/oauth/introspect")).unwrap())
        .set_revocation_url(RevocationUrl::new(format!("{base}/oauth/revoke")).unwrap())
}

/// The HTTP client the `oauth2` crate is given: no redirects, as its documentation advises.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn token_for(s: &Server, p: &Partner, extra: &[(&str, &str)]) -> String {
    let (status, _, v) = token_request(s, p, extra).await;
    assert_eq!(status, 200, "{v}");
    v["access_token"].as_str().unwrap().to_owned()
}

/// A raw form POST to /oauth/token with form client authentication.
async fn token_request(
    s: &Server,
    p: &Partner,
    extra: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", p.id.as_str()),
        ("client_secret", p.secret.as_str()),
    ];
    form.extend_from_slice(extra);
    post_form(s, "/oauth/token", &form, None).await
}

async fn post_form(
    s: &Server,
    path: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = s
        .client
        .post(format!("{}{path}", s.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(crate::harness::serde_urlencoded(form));
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `GET /v1/cards/{card}/balance` with a bearer token: (status, WWW-Authenticate, body).
async fn balance(s: &Server, token: &str) -> (u16, String, Value) {
    let resp = s
        .client
        .get(format!("{}/v1/cards/{CARD}/balance", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, resp.json().await.unwrap())
}

/// Introspects `token` as partner `p`: the raw answer text.
async fn introspect_text(s: &Server, path: &str, p: &Partner, token: &str) -> String {
    let resp = s
        .client
        .post(format!("{}{path}", s.base))
        .basic_auth(&p.id, Some(&p.secret))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    resp.text().await.unwrap()
}

async fn open_card(s: &Server) {
    let prez = s.login("prez").await;
    let v = s
        .api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", CARD), ("solde", "10")],
        )
        .await;
    assert_eq!(v["status"], "ok", "{v}");
}

fn assert_invalid_token(status: u16, challenge: &str, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        challenge,
        r#"Bearer realm="ardoise", error="invalid_token""#
    );
    assert_eq!(body["success"], false);
    assert_eq!(body["code"], "INVALID_TOKEN_ERROR");
}

/// Runs SQL on the server's database from outside; the number of rows changed.
fn sql(db: &Database, statement: &str) -> usize {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let mut conn = SqliteConnection::establish(path).unwrap();
        diesel::sql_query("PRAGMA busy_timeout = 5000")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(statement).execute(&mut conn).unwrap()
    } else {
        let mut conn = PgConnection::establish(&db.url).unwrap();
        diesel::sql_query(statement).execute(&mut conn).unwrap()
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn partner_add_prints_credentials_once_and_stores_a_hash() {
    for backend in backends() {
        let db = Database::fresh(backend);
        let p = add_partner(&db, "Pay Online", "cards:read cards:credit", false);
        assert_eq!(p.id.len(), 22);
        assert_eq!(p.secret.len(), 43, "≥ 256 bits of [A-Za-z0-9_-]");
        let urlsafe = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        assert!(urlsafe(&p.id) && urlsafe(&p.secret));
        // Only the SHA-256 of the secret is in the database.
        let checked = sql(
            &db,
            &format!(
                "UPDATE partners SET name = 'checked' WHERE client_id = '{}' AND secret_hash = '{}'",
                p.id,
                sha256_hex(&p.secret)
            ),
        );
        assert_eq!(checked, 1, "{backend:?}");
        let (ok, out, err) = ardoise(&db, &["partner", "rotate", "--client-id", &p.id]);
        assert!(ok, "{backend:?}: {err}");
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["client_id"], p.id.as_str());
        assert_ne!(v["client_secret"], p.secret.as_str());

        for bad in [
            vec!["--name", "X", "--scopes", "cards:write"],
            vec!["--name", "X", "--scopes", ""],
            vec!["--name", "", "--scopes", "cards:read"],
        ] {
            let mut args = vec!["partner", "add"];
            args.extend(bad.iter().copied());
            let (ok, out, err) = ardoise(&db, &args);
            assert!(!ok, "{args:?}: {out}");
            assert!(out.is_empty() && !err.is_empty());
        }
        let (ok, _, err) = ardoise(&db, &["partner", "disable", "--client-id", "nobody"]);
        assert!(!ok && err.contains("no partner"), "{err}");
        // Generated ids may start with '-': the CLI takes them as values, not as flags.
        for command in ["disable", "rotate"] {
            let (ok, _, err) = ardoise(&db, &["partner", command, "--client-id", "-xAb"]);
            assert!(!ok && err.contains("no partner"), "{command}: {err}");
        }
    }
}

#[tokio::test]
async fn client_credentials_by_basic_and_form_then_v1_and_introspection() {
    for backend in backends() {
        let s = Server::start(backend);
        open_card(&s).await;
        let p = add_partner(&s.db, "Pay Online", "cards:read members:read", false);
        let http = http();

        // HTTP Basic, the oauth2 crate's default (it form-url-encodes id and secret).
        let by_basic = client(&s.base, &p, AuthType::BasicAuth)
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .unwrap();
        assert_eq!(*by_basic.token_type(), BasicTokenType::Bearer);
        assert_eq!(by_basic.expires_in(), Some(Duration::from_secs(3600)));
        assert_eq!(
            by_basic.scopes().unwrap(),
            &vec![
                Scope::new("cards:read".into()),
                Scope::new("members:read".into())
            ]
        );
        let token = by_basic.access_token().secret().clone();
        assert_eq!(token.len(), 43);

        // Form fields, with a narrower scope.
        let by_form = client(&s.base, &p, AuthType::RequestBody)
            .exchange_client_credentials()
            .add_scope(Scope::new("cards:read".into()))
            .request_async(&http)
            .await
            .unwrap();
        assert_eq!(
            by_form.scopes().unwrap(),
            &vec![Scope::new("cards:read".into())]
        );
        assert_ne!(by_form.access_token().secret(), &token);

        // The raw answer: headers, seed 003's `expire` and `rpt`.
        let (status, headers, v) = token_request(&s, &p, &[("rpt", "5000")]).await;
        assert_eq!(status, 200);
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["pragma"], "no-cache");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["rpt"], 5000);
        let expire = v["expire"].as_i64().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!((now + 3590..=now + 3610).contains(&expire), "{v}");

        // The token opens /v1.
        let (status, _, body) = balance(&s, &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"success": true, "code": "CARD_BALANCE", "message": "Card balance.",
                "data": {"card": CARD, "balance": "10.00", "currency": "EUR"}})
        );
        // A token without cards:read is refused with 403.
        let narrow = token_for(&s, &p, &[("scope", "members:read")]).await;
        let (status, challenge, body) = balance(&s, &narrow).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "INSUFFICIENT_SCOPE_ERROR");
        assert!(challenge.contains(r#"error="insufficient_scope""#));
        // No credentials at all.
        let resp = s
            .client
            .get(format!("{}/v1/cards/{CARD}/balance", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.headers()["www-authenticate"],
            r#"Bearer realm="ardoise""#
        );

        // Introspection by the oauth2 crate, then by seed 002's path.
        let info = client(&s.base, &p, AuthType::BasicAuth)
            .introspect(&AccessToken::new(token.clone()))
            .request_async(&http)
            .await
            .unwrap();
        assert!(info.active());
        assert_eq!(info.client_id().unwrap().as_str(), p.id);
        assert_eq!(info.scopes().unwrap().len(), 2);
        assert_eq!(info.token_type(), Some(&BasicTokenType::Bearer));
        assert!(info.exp().is_some() && info.iat().is_some());
        let text = introspect_text(&s, "/mcg/v1/tokeninfo", &p, &token).await;
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["active"], true);
        assert_eq!(v["sub"], p.id.as_str());
        assert_eq!(v["iss"], "ardoise");
        assert_eq!(v["scope"], "cards:read members:read");
        let _ = s.stop();
    }
}

#[tokio::test]
async fn refusals_have_their_exact_status_and_body() {
    for backend in backends() {
        let s = Server::serve(Database::fresh(backend), &[]);
        let p = add_partner(&s.db, "P", "cards:read", false);
        let http = http();

        // Wrong secret, unknown client, no credentials: one 401 body, a Basic challenge.
        let wrong = Partner {
            id: p.id.clone(),
            secret: format!("{}x", p.secret),
        };
        let unknown = Partner {
            id: "unknownclient".into(),
            secret: p.secret.clone(),
        };
        for who in [&wrong, &unknown] {
            let (status, headers, v) = token_request(&s, who, &[]).await;
            assert_eq!(status, 401);
            assert_eq!(headers["www-authenticate"], r#"Basic realm="ardoise""#);
            assert_eq!(v.to_string(), INVALID_CLIENT);
            assert_eq!(headers["cache-control"], "no-store");
            let err = client(&s.base, who, AuthType::BasicAuth)
                .exchange_client_credentials()
                .request_async(&http)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, RequestTokenError::ServerResponse(e)
                    if *e.error() == BasicErrorResponseType::InvalidClient),
                "{err:?}"
            );
        }
        let (status, _, v) = post_form(
            &s,
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            None,
        )
        .await;
        assert_eq!((status, v.to_string().as_str()), (401, INVALID_CLIENT));

        // Bad grant type, scope outside the partner's, rpt out of range, wrong content type.
        let (status, _, v) = post_form(
            &s,
            "/oauth/token",
            &[("grant_type", "password")],
            Some((&p.id, &p.secret)),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            v,
            json!({"error": "unsupported_grant_type",
                "error_description": "only grant_type=client_credentials is supported"})
        );
        let (status, _, v) = token_request(&s, &p, &[("scope", "cards:read cards:credit")]).await;
        assert_eq!(status, 400);
        assert_eq!(
            v,
            json!({"error": "invalid_scope",
                "error_description": "the scope `cards:credit` is not granted to this client"})
        );
        let (status, _, v) = token_request(&s, &p, &[("rpt", "999")]).await;
        assert_eq!(status, 400);
        assert_eq!(
            v,
            json!({"error": "invalid_request",
                "error_description": "rpt must be a whole number from 1000 to 100000"})
        );
        let resp = s
            .client
            .post(format!("{}/oauth/token", s.base))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "invalid_request");
        let resp = s
            .client
            .get(format!("{}/oauth/token", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "POST");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "invalid_request");

        // A disabled partner: the same 401, and its tokens die with it.
        let token = token_for(&s, &p, &[]).await;
        let (ok, out, err) = ardoise(&s.db, &["partner", "disable", "--client-id", &p.id]);
        assert!(ok, "{err}");
        assert!(out.contains("disabled"));
        let (status, headers, v) = token_request(&s, &p, &[]).await;
        assert_eq!(status, 401);
        assert_eq!(headers["www-authenticate"], r#"Basic realm="ardoise""#);
        assert_eq!(v.to_string(), INVALID_CLIENT);
        let (status, challenge, body) = balance(&s, &token).await;
        assert_invalid_token(status, &challenge, &body);
        let _ = s.stop();
    }
}

#[tokio::test]
async fn rpt_counts_requests_and_the_last_one_goes_to_exactly_one_caller() {
    for backend in backends() {
        let s = Server::serve(Database::fresh(backend), &[]);
        let p = add_partner(&s.db, "P", "cards:read", false);
        // The card need not exist: a 404 is an authenticated request too.
        let token = token_for(&s, &p, &[("rpt", "1000")]).await;
        let mut workers = Vec::new();
        for _ in 0..16 {
            let (client, base, token) = (s.client.clone(), s.base.clone(), token.clone());
            workers.push(tokio::spawn(async move {
                let (mut passed, mut refused) = (0, 0);
                for _ in 0..63 {
                    let status = client
                        .get(format!("{base}/v1/cards/{CARD}/balance"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap()
                        .status();
                    match status.as_u16() {
                        404 => passed += 1,
                        401 => refused += 1,
                        other => panic!("status {other}"),
                    }
                }
                (passed, refused)
            }));
        }
        let (mut passed, mut refused) = (0, 0);
        for w in workers {
            let (p, r) = w.await.unwrap();
            passed += p;
            refused += r;
        }
        assert_eq!((passed, refused), (1000, 8), "{backend:?}");
        let (status, challenge, body) = balance(&s, &token).await;
        assert_invalid_token(status, &challenge, &body);
        assert_eq!(
            introspect_text(&s, "/oauth/introspect", &p, &token).await,
            r#"{"active":false}"#
        );

        // One request left, sixteen callers at once: exactly one passes.
        for round in 0..3 {
            let token = token_for(&s, &p, &[("rpt", "1000")]).await;
            let changed = sql(
                &s.db,
                &format!(
                    "UPDATE access_tokens SET rpt_left = 1 WHERE token_hash = '{}'",
                    sha256_hex(&token)
                ),
            );
            assert_eq!(changed, 1, "only the token's SHA-256 is stored");
            let calls: Vec<_> = (0..16)
                .map(|_| {
                    let (client, base, token) = (s.client.clone(), s.base.clone(), token.clone());
                    tokio::spawn(async move {
                        client
                            .get(format!("{base}/v1/cards/{CARD}/balance"))
                            .bearer_auth(&token)
                            .send()
                            .await
                            .unwrap()
                            .status()
                            .as_u16()
                    })
                })
                .collect();
            let mut statuses = Vec::new();
            for c in calls {
                statuses.push(c.await.unwrap());
            }
            statuses.sort_unstable();
            assert_eq!(
                statuses.iter().filter(|s| **s == 404).count(),
                1,
                "{backend:?} {round}: {statuses:?}"
            );
            assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 15);
        }
        let _ = s.stop();
    }
}

#[tokio::test]
async fn expired_tokens_are_refused_and_inactive() {
    for backend in backends() {
        let s = Server::serve(
            Database::fresh(backend),
            &[("ARDOISE__OAUTH__TOKEN_SECONDS", "1")],
        );
        let p = add_partner(&s.db, "P", "cards:read", false);
        let (status, _, v) = token_request(&s, &p, &[("rpt", "100000")]).await;
        assert_eq!(status, 200);
        assert_eq!(v["expires_in"], 1);
        let token = v["access_token"].as_str().unwrap().to_owned();
        assert_eq!(balance(&s, &token).await.0, 404, "usable at first");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (status, challenge, body) = balance(&s, &token).await;
        assert_invalid_token(status, &challenge, &body);
        assert_eq!(
            introspect_text(&s, "/oauth/introspect", &p, &token).await,
            r#"{"active":false}"#
        );
        let _ = s.stop();
    }
}

#[tokio::test]
async fn partners_cannot_introspect_each_others_tokens() {
    for backend in backends() {
        let s = Server::start(backend);
        let p = add_partner(&s.db, "P", "cards:read", false);
        let q = add_partner(&s.db, "Q", "cards:read", false);
        let rs = add_partner(&s.db, "Resource server", "tokens:introspect", false);
        let token = token_for(&s, &p, &[]).await;

        for path in ["/oauth/introspect", "/mcg/v1/tokeninfo"] {
            assert_eq!(
                introspect_text(&s, path, &q, &token).await,
                r#"{"active":false}"#
            );
            let v: Value =
                serde_json::from_str(&introspect_text(&s, path, &rs, &token).await).unwrap();
            assert_eq!(v["active"], true);
            assert_eq!(v["client_id"], p.id.as_str());
        }
        // The oauth2 crate sees the same thing.
        let info = client(&s.base, &q, AuthType::RequestBody)
            .introspect(&AccessToken::new(token.clone()))
            .request_async(&http())
            .await
            .unwrap();
        assert!(!info.active());
        assert!(info.client_id().is_none() && info.scopes().is_none());

        // A bearer token holding tokens:introspect may introspect too.
        let rs_token = token_for(&s, &rs, &[]).await;
        let resp = s
            .client
            .post(format!("{}/oauth/introspect", s.base))
            .bearer_auth(&rs_token)
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["active"], true);

        // Staff tokens: `username` is the login.
        let staff = s.login("barman").await;
        let v: Value =
            serde_json::from_str(&introspect_text(&s, "/oauth/introspect", &rs, &staff).await)
                .unwrap();
        assert_eq!(v["active"], true);
        assert_eq!(v["username"], "barman");
        assert!(v.get("client_id").is_none());
        assert_eq!(
            introspect_text(&s, "/oauth/introspect", &p, &staff).await,
            r#"{"active":false}"#
        );

        // The caller must authenticate; junk is simply inactive.
        let (status, headers, v) =
            post_form(&s, "/oauth/introspect", &[("token", &token)], None).await;
        assert_eq!(status, 401);
        assert_eq!(headers["www-authenticate"], r#"Basic realm="ardoise""#);
        assert_eq!(v.to_string(), INVALID_CLIENT);
        assert_eq!(
            introspect_text(&s, "/oauth/introspect", &rs, "not-a-token").await,
            r#"{"active":false}"#
        );
        let _ = s.stop();
    }
}

#[tokio::test]
async fn failed_client_authentications_are_throttled_per_client_and_address() {
    let s = Server::serve(
        Database::fresh(Backend::Sqlite),
        &[("ARDOISE__OAUTH__FAILURES_PER_MINUTE", "3")],
    );
    let p = add_partner(&s.db, "P", "cards:read", false);
    let q = add_partner(&s.db, "Q", "cards:read", false);
    let wrong = Partner {
        id: p.id.clone(),
        secret: "guess".into(),
    };
    for _ in 0..3 {
        assert_eq!(token_request(&s, &wrong, &[]).await.0, 401);
    }
    // Blocked now, even with the right secret; other errors were not counted.
    let (status, headers, v) = token_request(&s, &p, &[]).await;
    assert_eq!(status, 429, "{v}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(v["error"], "slow_down");
    // Another client from the same address is not slowed.
    assert_eq!(token_request(&s, &q, &[]).await.0, 200);
    for _ in 0..5 {
        assert_eq!(token_request(&s, &q, &[("scope", "x")]).await.0, 400);
    }
    assert_eq!(token_request(&s, &q, &[]).await.0, 200);
}

#[tokio::test]
async fn revocation_over_tls_with_the_oauth2_client() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    let trusting = || {
        reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap(),
            )
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    };
    for backend in backends() {
        let db = Database::fresh(backend);
        let p = add_partner(&db, "P", "cards:read", false);
        let q = add_partner(&db, "Q", "cards:read", false);
        let mut s = Server::serve_with(
            db,
            &[
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
            &[],
            trusting(),
        );
        s.base = s.base.replace("127.0.0.1", "localhost");
        assert!(s.base.starts_with("https://localhost:"));
        let http = trusting();
        let pc = client(&s.base, &p, AuthType::BasicAuth);
        let token = pc
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .unwrap()
            .access_token()
            .clone();
        assert_eq!(balance(&s, token.secret()).await.0, 404);

        // Another partner cannot revoke it.
        let err = client(&s.base, &q, AuthType::BasicAuth)
            .revoke_token(StandardRevocableToken::AccessToken(token.clone()))
            .unwrap()
            .request_async(&http)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, RequestTokenError::ServerResponse(e)
                if *e.error() == RevocationErrorResponseType::Basic(BasicErrorResponseType::UnauthorizedClient)),
            "{err:?}"
        );
        assert_eq!(balance(&s, token.secret()).await.0, 404, "still valid");

        // Its owner can; an unknown token is fine too.
        pc.revoke_token(StandardRevocableToken::AccessToken(token.clone()))
            .unwrap()
            .request_async(&http)
            .await
            .unwrap();
        pc.revoke_token(StandardRevocableToken::AccessToken(AccessToken::new(
            "x".repeat(43),
        )))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
        let (status, challenge, body) = balance(&s, token.secret()).await;
        assert_invalid_token(status, &challenge, &body);
        let info = pc.introspect(&token).request_async(&http).await.unwrap();
        assert!(!info.active());
        let _ = s.stop();
    }
}
