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

#[tokio::test]
async fn health_ready_metrics_and_request_ids() {
    let s = Server::start(Backend::Sqlite);
    let health = s
        .client
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let ready = s
        .client
        .get(format!("{}/ready", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let v: Value = ready.json().await.unwrap();
    assert_eq!(v["database"], "ok");

    for _ in 0..3 {
        s.client
            .get(format!("{}/api/coucou", s.base))
            .send()
            .await
            .unwrap();
    }
    let prez = s.login("prez").await;
    s.api(
        "client/ajouter",
        &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "5")],
    )
    .await;
    s.api(
        "client/payer",
        &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("montant", "1")],
    )
    .await;
    s.api(
        "client/payer",
        &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("montant", "9")],
    )
    .await;

    let resp = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let samples = parse_prometheus(&text);
    let get = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    assert_eq!(
        get(
            "ardoise_http_requests_total",
            &[
                ("route", "/api/coucou"),
                ("method", "GET"),
                ("status", "200")
            ]
        ),
        3.0
    );
    assert_eq!(
        get(
            "ardoise_money_operations_total",
            &[("kind", "payment"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        get(
            "ardoise_money_operations_total",
            &[("kind", "payment"), ("outcome", "refused")]
        ),
        1.0
    );
    assert_eq!(
        get(
            "ardoise_money_operations_total",
            &[("kind", "creation"), ("outcome", "ok")]
        ),
        1.0
    );
    assert!(get("ardoise_http_request_duration_seconds_count", &[]) >= 8.0);
    assert!(get("ardoise_db_pool_max", &[]) >= 1.0);
}

/// A strict reader of the Prometheus text format: every line is a comment or
/// `name{label="value",...} number`. Panics on anything else.
fn parse_prometheus(text: &str) -> Vec<(String, std::collections::HashMap<String, String>, f64)> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("bad labels {line:?}"));
                let labels = inner
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair
                            .split_once('=')
                            .unwrap_or_else(|| panic!("bad label {line:?}"));
                        let v = v
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .unwrap_or_else(|| panic!("unquoted {line:?}"));
                        (k.to_owned(), v.to_owned())
                    })
                    .collect();
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), Default::default()),
        };
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "bad metric name {name:?}"
        );
        samples.push((name, labels, value));
    }
    assert!(!samples.is_empty());
    samples
}

/// Pays 0.01 on `card` from `clients` parallel clients until `stop` is set; the ids of the
/// payments answered `ok`.
async fn pay_until(
    s: std::sync::Arc<Server>,
    card: &'static str,
    clients: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<i64> {
    let token = s.login("prez").await;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (s, token, stop) = (s.clone(), token.clone(), stop.clone());
            tokio::spawn(async move {
                let mut ok = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let sent = s
                        .client
                        .post(format!("{}/api/client/payer", s.base))
                        .body(format!("jeton={token}&idCarte={card}&montant=0.01"))
                        .send()
                        .await;
                    let Ok(resp) = sent else { break };
                    let Ok(v) = resp.json::<Value>().await else {
                        break;
                    };
                    if v["status"] == "ok" {
                        ok.push(v["idTransaction"].as_i64().unwrap());
                    }
                }
                ok
            })
        })
        .collect();
    let mut ok = Vec::new();
    for t in tasks {
        ok.extend(t.await.unwrap());
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_burst_loses_no_answered_payment() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    for backend in crate::harness::backends() {
        let s = Arc::new(Server::start(backend));
        let prez = s.login("prez").await;
        s.api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "1000")],
        )
        .await;
        let stop = Arc::new(AtomicBool::new(false));
        let burst = tokio::spawn(pay_until(s.clone(), "AHS0DIEX", 8, stop.clone()));
        tokio::time::sleep(Duration::from_millis(700)).await;
        // SIGTERM while payments are in flight; the clients stop at the first refused request.
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &s.pid().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let answered = burst.await.unwrap();
        stop.store(true, Ordering::SeqCst);
        assert!(
            answered.len() > 10,
            "{backend:?}: only {} payments before SIGTERM",
            answered.len()
        );
        let server = Arc::try_unwrap(s)
            .ok()
            .expect("the burst released the server");
        let (db, status) = server.stop_with_status();
        let status = status.expect("the server exits after SIGTERM");
        assert!(status.success(), "{backend:?}: exit status {status:?}");

        let s = Server::serve(db, &[]);
        let prez = s.login("prez").await;
        let v = s
            .api("client/fiche", &[("jeton", &prez), ("idCarte", "AHS0DIEX")])
            .await;
        let valid: std::collections::HashSet<i64> = v["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["valide"] == true && t["type"] == 3)
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        for id in &answered {
            assert!(
                valid.contains(id),
                "{backend:?}: payment {id} was answered ok but is not in the database"
            );
        }
        crate::harness::assert_invariant(&s, &prez).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn online_backup_while_paying_restores_a_consistent_copy() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let s = Arc::new(Server::start(Backend::Sqlite));
    let prez = s.login("prez").await;
    s.api(
        "client/ajouter",
        &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "1000")],
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let burst = tokio::spawn(pay_until(s.clone(), "AHS0DIEX", 4, stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let (ok, out, err) =
        crate::harness::ardoise(&s.db, &["backup", "--to", copy.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("backup written"), "{out}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let paid = burst.await.unwrap();
    assert!(!paid.is_empty());
    // A second backup to the same file is refused, naming the problem.
    let (ok, _, err) = crate::harness::ardoise(&s.db, &["backup", "--to", copy.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    // The copy is a working database on its own, and invariant 1 holds in it.
    let restored = Database::at(format!("sqlite://{}", copy.display()));
    let r = Server::serve(restored, &[]);
    let token = r.login("prez").await;
    let v = r
        .api(
            "client/fiche",
            &[("jeton", &token), ("idCarte", "AHS0DIEX")],
        )
        .await;
    assert_eq!(v["status"], "ok");
    crate::harness::assert_invariant(&r, &token).await;
}

#[tokio::test]
async fn export_transactions_for_the_treasurer() {
    let s = Server::start(Backend::Sqlite);
    let prez = s.login("prez").await;
    s.api(
        "client/ajouter",
        &[
            ("jeton", &prez),
            ("idCarte", "AHS0DIEX"),
            ("solde", "15.60"),
        ],
    )
    .await;
    s.api(
        "client/payer",
        &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("quantite", "2")],
    )
    .await;
    let paid = s
        .api(
            "client/payer",
            &[
                ("jeton", &prez),
                ("idCarte", "AHS0DIEX"),
                ("montant", "0.2"),
            ],
        )
        .await;
    let id = paid["idTransaction"].as_i64().unwrap().to_string();
    s.api("annuler", &[("jeton", &prez), ("idTransaction", &id)])
        .await;

    let (ok, out, err) =
        crate::harness::ardoise(&s.db, &["export", "transactions", "--format", "csv"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "id,date,card,kind,amount,quantity,state,staff,product"
    );
    assert_eq!(lines.len(), 4, "{out}");
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        (row[2], row[3], row[4], row[5], row[6], row[7]),
        ("AHS0DIEX", "creation", "15.60", "0", "valid", "prez")
    );
    let row: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(
        (row[3], row[4], row[5], row[8]),
        ("payment", "3.60", "2", "biere")
    );
    let row: Vec<&str> = lines[3].split(',').collect();
    assert_eq!((row[4], row[6]), ("0.20", "cancelled"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    let (ok, out, err) = crate::harness::ardoise(
        &s.db,
        &[
            "export",
            "transactions",
            "--format",
            "json",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("3 transaction(s)"), "{out}");
    let json: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json.len(), 3);
    assert_eq!(json[1]["amount"], "3.60");
    assert_eq!(json[1]["kind"], "payment");

    // A range in the future holds nothing; a bad day is refused naming the flag.
    let (ok, out, _) = crate::harness::ardoise(
        &s.db,
        &[
            "export",
            "transactions",
            "--from",
            "2999-01-01",
            "--format",
            "csv",
        ],
    );
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (ok, _, err) = crate::harness::ardoise(
        &s.db,
        &[
            "export",
            "transactions",
            "--to",
            "31/12/2026",
            "--format",
            "csv",
        ],
    );
    assert!(!ok);
    assert!(err.contains("--to"), "{err}");
}
