//! The edge of the server against hostile or careless clients: slow bodies, many connections
//! from one address, huge bodies and URIs, HEAD, unknown paths, and the headers every answer
//! carries (over TLS too).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{Backend, Database, Server};
use crate::v1_staff::{post, session};

/// The server's socket address, from its base URL.
fn addr(s: &Server) -> SocketAddr {
    s.base
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .parse()
        .unwrap()
}

/// A connection from `from` (any address of the loopback range).
async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends a raw request and reads the answer until the server closes the connection (or
/// `within` passes: then `None`).
async fn exchange(to: SocketAddr, request: &[u8], within: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(to).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

/// The head of a payment whose body never comes.
const STALLED: &[u8] = b"POST /api/client/payer HTTP/1.1\r\nHost: localhost\r\n\
    Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 64\r\n\r\njeton=";

#[tokio::test]
async fn a_thousand_stalled_bodies_from_one_address_stop_no_one_and_are_closed() {
    // The test holds a thousand sockets.
    rlimit::increase_nofile_limit(4_096).unwrap();
    let s = Server::start_with(
        Backend::Sqlite,
        &[
            ("ARDOISE__HTTP__REQUEST_TIMEOUT_SECONDS", "2"),
            ("ARDOISE__HTTP__CONNECTIONS_PER_ADDRESS", "64"),
        ],
    );
    let to = addr(&s);
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..1_000 {
        let mut stream = connect_from(attacker, to).await;
        stream.write_all(STALLED).await.unwrap();
        stalled.push(stream);
    }

    // Everyone else is served meanwhile, payments included.
    let prez = s.login("prez").await;
    let opened = s
        .api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "5")],
        )
        .await;
    assert_eq!(opened["status"], "ok", "{opened}");
    let paid = s
        .api(
            "client/payer",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("montant", "1")],
        )
        .await;
    assert_eq!(paid["status"], "ok", "{paid}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the other clients waited for the stalled ones"
    );

    // Every stalled connection is answered and closed within the timeout (and some slack),
    // those beyond the address's share at once.
    let mut refused_at_once = 0;
    let mut timed_out = 0;
    let deadline = started + Duration::from_secs(2 + 8);
    let reads = stalled.into_iter().map(|mut stream| async move {
        let mut answer = Vec::new();
        let left = deadline.saturating_duration_since(Instant::now());
        let closed = tokio::time::timeout(left, stream.read_to_end(&mut answer)).await;
        (
            closed.is_ok(),
            String::from_utf8_lossy(&answer).into_owned(),
        )
    });
    for (closed, answer) in futures::future::join_all(reads).await {
        assert!(closed, "a stalled connection is still open: {answer}");
        if answer.contains("Retry-After") || answer.contains("retry-after") {
            refused_at_once += 1;
        } else {
            timed_out += 1;
        }
    }
    assert_eq!(timed_out, 64, "the address's share waits for its timeout");
    assert_eq!(refused_at_once, 1_000 - 64);

    // The slots are free again: the address may connect anew.
    let answer = exchange(
        to,
        b"GET /api/coucou HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_slow_body_answers_408_and_is_closed() {
    let s = Server::start_with(
        Backend::Sqlite,
        &[("ARDOISE__HTTP__REQUEST_TIMEOUT_SECONDS", "1")],
    );
    let started = Instant::now();
    let answer = exchange(
        addr(&s),
        b"POST /v1/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"login\":",
        Duration::from_secs(6),
    )
    .await
    .expect("the connection stays open");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT_ERROR"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn big_bodies_long_uris_head_and_unknown_paths() {
    let s = Server::start(Backend::Sqlite);
    let to = addr(&s);

    // 10 MB announced: 413 at once, in the envelope, without reading it.
    let answer = exchange(
        to,
        b"POST /v1/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 10485760\r\n\r\n{\"login\":",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE_ERROR"), "{answer}");
    // Sent in chunks without a length: 413 too.
    let mut chunked =
        b"POST /v1/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(b"1000\r\n");
        chunked.extend_from_slice(&[b' '; 0x1000]);
        chunked.extend_from_slice(b"\r\n");
    }
    let answer = exchange(to, &chunked, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // The POS dialect keeps its contract: HTTP 200 and a status.
    let answer = exchange(
        to,
        b"POST /api/client/payer HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10485760\r\n\r\n",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("requete_malforme"), "{answer}");

    // A 10,000-character URI: 414 in the envelope.
    let long = format!(
        "GET /v1/cards/{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "A".repeat(10_000)
    );
    let answer = exchange(to, long.as_bytes(), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert!(answer.contains("URI_TOO_LONG_ERROR"), "{answer}");

    // HEAD on a GET route: the GET's status and headers, no body.
    let head = s
        .client
        .head(format!("{}/v1/languages", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert!(head.bytes().await.unwrap().is_empty());
    let head = s
        .client
        .head(format!("{}/v1/openapi.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    // A route without GET still refuses HEAD.
    let head = s
        .client
        .head(format!("{}/v1/sessions", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 405);

    // Unknown paths under /v1 and /oauth: 404 in the envelope.
    for path in ["/v1/nothing/here", "/v1", "/oauth/nothing", "/oauth"] {
        let resp = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["success"], false, "{path}: {v}");
        assert_eq!(v["code"], "RESOURCE_NOT_FOUND_ERROR", "{path}: {v}");
    }
}

#[tokio::test]
async fn answers_are_not_sniffed_framed_or_cached_when_they_carry_secrets() {
    let s = Server::start(Backend::Sqlite);
    // The POS login and the /v1 session carry a token; a new partner its secret.
    let resp = s
        .client
        .post(format!("{}/api/utilisateur/connexion", s.base))
        .form(&[("login", "prez"), ("mdp", "secret-pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let prez = session(&s, "prez").await;
    let (status, headers, v) = post(
        &s,
        "/v1/partners",
        &prez,
        json!({"name": "Cafet", "scopes": "cards:read"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(headers["cache-control"], "no-store");
    let resp = s
        .client
        .post(format!("{}/v1/sessions", s.base))
        .json(&json!({"login": "prez", "password": "secret-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");

    // Every answer is nosniff, a refusal or a 404 too; the docs cannot be framed.
    for path in [
        "/health",
        "/v1/languages",
        "/v1/openapi.json",
        "/v1/nothing",
        "/api/nothing",
        "/docs/",
        "/elsewhere",
    ] {
        let resp = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert!(
            !resp.headers().contains_key("strict-transport-security"),
            "no HSTS over plain HTTP"
        );
    }
    let docs = s
        .client
        .get(format!("{}/docs/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    assert!(docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
}

/// A self-signed certificate for `localhost`, written to `dir`; (cert path, key path, PEM).
fn certificate(dir: &std::path::Path) -> (String, String, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    (
        cert.display().to_string(),
        key.display().to_string(),
        generated.cert.pem(),
    )
}

#[tokio::test]
async fn over_tls_a_slow_body_is_closed_and_answers_carry_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = certificate(dir.path());
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let s = Server::serve_with(
        Database::fresh(Backend::Sqlite),
        &["--tls-cert", &cert, "--tls-key", &key],
        &[("ARDOISE__HTTP__REQUEST_TIMEOUT_SECONDS", "1")],
        client,
    );
    let resp = s
        .client
        .get(format!(
            "{}/health",
            s.base.replace("127.0.0.1", "localhost")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );

    // A TLS client that sends a head and a piece of body, then nothing.
    let to = addr(&s);
    let answer = tokio::task::spawn_blocking(move || {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let tcp = std::net::TcpStream::connect(to).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(STALLED).unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer);
        (
            started.elapsed(),
            String::from_utf8_lossy(&answer).into_owned(),
        )
    })
    .await
    .unwrap();
    let (waited, text) = answer;
    assert!(waited < Duration::from_secs(5), "held {waited:?}: {text}");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("requete_malforme"), "{text}");
}

#[tokio::test]
async fn malformed_requests_are_counted_and_logged_once_in_a_while() {
    let s = Server::start(Backend::Sqlite);
    let to = addr(&s);
    let garbage: [&[u8]; 4] = [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/coucou HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    ];
    for i in 0..200 {
        let answer = exchange(to, garbage[i % garbage.len()], Duration::from_secs(5))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
    // The report comes within a second or two.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let log = s.log.lock().unwrap().clone();
    let errors: Vec<&String> = log.iter().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let reports = log
        .iter()
        .filter(|l| l.contains("malformed HTTP requests refused"))
        .count();
    assert_eq!(reports, 1, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("count=")), "{log:#?}");
    let metrics = s.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "ardoise_http_malformed_requests_total 200"),
        "{metrics}"
    );
}
