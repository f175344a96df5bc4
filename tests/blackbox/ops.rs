//! Running for real: HTTPS, shutdown.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{Backend, Database, Server};

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap(),
        )
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let s = Server::serve_with(
        Database::fresh(Backend::Sqlite),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
        client,
    );
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    let url = format!("{}/api/coucou", s.base.replace("127.0.0.1", "localhost"));
    let v: Value = s
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ok");

    // Plain HTTP to the TLS port fails cleanly, and the server keeps serving.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let http_url = url.replace("https://", "http://");
    match plain.get(&http_url).send().await {
        Err(_) => {}
        Ok(resp) => assert!(!resp.status().is_success(), "plain HTTP must not succeed"),
    }
    let v: Value = s
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ok");
}

#[test]
fn tls_files_that_do_not_exist_stop_the_start() {
    let db = Database::fresh(Backend::Sqlite);
    let (ok, _, err) = crate::harness::ardoise(
        &db,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ],
    );
    assert!(!ok);
    assert!(err.contains("http.tls_cert"), "{err}");
}
