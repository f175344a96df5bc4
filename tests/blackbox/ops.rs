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

    let text = s.metrics().await;
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

/// Unmounts a test's file system when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// `/ready` follows the write path: on a full disk, where reads still work and every write
/// fails, it says 503; once space is freed, 200 again at once.
#[tokio::test]
async fn ready_says_no_while_the_disk_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "SKIPPED ready_says_no_while_the_disk_is_full: cannot mount a small tmpfs (needs root)"
        );
        return;
    }
    let _unmount = Mounted(dir.path().to_owned());
    let db = Database::at(format!(
        "sqlite://{}",
        dir.path().join("ardoise.db").display()
    ));
    let (ok, _, err) = crate::harness::ardoise(&db, &["migrate"]);
    assert!(ok, "{err}");
    let (ok, _, err) = crate::harness::ardoise(
        &db,
        &[
            "user",
            "add",
            "--login",
            "prez",
            "--password",
            "secret-pw",
            "--rights",
            "3",
        ],
    );
    assert!(ok, "{err}");
    let s = Server::serve(db, &[]);
    let ready = |s: &Server| {
        let request = s.client.get(format!("{}/ready", s.base));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let prez = s.login("prez").await;
    let opened = s
        .api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "50")],
        )
        .await;
    assert_eq!(opened["status"], "ok", "{opened}");
    assert_eq!(ready(&s).await, 200);

    // Fill the disk.
    let filler = dir.path().join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
    }
    let payment = [
        ("jeton", prez.as_str()),
        ("idCarte", "AHS0DIEX"),
        ("montant", "1"),
    ];
    let refused = s.api("client/payer", &payment).await;
    assert_ne!(
        refused["status"], "ok",
        "a payment on a full disk: {refused}"
    );
    assert_eq!(ready(&s).await, 503, "ready while no write can commit");
    // Reads still work: that is what /ready used to check.
    let info = s
        .api("carte/info", &[("jeton", &prez), ("idCarte", "AHS0DIEX")])
        .await;
    assert_eq!(info["status"], "ok", "{info}");

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(ready(&s).await, 200, "ready again once there is room");
    let paid = s.api("client/payer", &payment).await;
    assert_eq!(paid["status"], "ok", "{paid}");
}

/// A TCP proxy to PostgreSQL that the test can cut (as if the server stopped: connections
/// reset, new ones refused) and restore on the same port.
struct PgProxy {
    port: u16,
    upstream: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl PgProxy {
    async fn start(upstream: String) -> PgProxy {
        let mut proxy = PgProxy {
            port: 0,
            upstream,
            task: None,
        };
        proxy.restore().await;
        proxy
    }

    /// Accepts and forwards connections (again).
    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.port = listener.local_addr().unwrap().port();
        let upstream = self.upstream.clone();
        self.task = Some(tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    /// Drops every connection and refuses new ones.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// PostgreSQL stops under a running server: once it is known down, refusals come within a
/// second (not after the pool's checkout timeout each); when it is back, payments go through
/// again at once. (Multi-threaded: the proxy runs while the test waits for the server.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_down_refuses_fast_and_recovers_at_once() {
    let Ok(admin) = std::env::var("ARDOISE_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED postgresql_down_refuses_fast_and_recovers_at_once: ARDOISE_TEST_POSTGRES_URL is not set");
        return;
    };
    let db = Database::fresh(Backend::Postgres);
    let (ok, _, err) = crate::harness::ardoise(
        &db,
        &[
            "user",
            "add",
            "--login",
            "prez",
            "--password",
            "secret-pw",
            "--rights",
            "3",
        ],
    );
    assert!(ok, "{err}");
    // postgres://user@HOST:PORT/db → the proxy's address in place of HOST:PORT.
    let after_scheme = admin.split_once("://").unwrap().1;
    let host_port = after_scheme
        .split_once('/')
        .unwrap()
        .0
        .rsplit_once('@')
        .map_or(after_scheme.split_once('/').unwrap().0, |(_, hp)| hp)
        .to_owned();
    let mut proxy = PgProxy::start(host_port.clone()).await;
    let proxied = db
        .url
        .replacen(&host_port, &format!("127.0.0.1:{}", proxy.port), 1);
    let s = Server::serve(Database::at(proxied), &[]);
    let prez = s.login("prez").await;
    let opened = s
        .api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "50")],
        )
        .await;
    assert_eq!(opened["status"], "ok", "{opened}");
    let payment = [
        ("jeton", prez.as_str()),
        ("idCarte", "AHS0DIEX"),
        ("montant", "1"),
    ];

    proxy.cut().await;
    // The first refusals find out that the database is down…
    for _ in 0..2 {
        let refused = s.api("client/payer", &payment).await;
        assert_ne!(refused["status"], "ok", "{refused}");
    }
    // …then every refusal is quick.
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let refused = s.api("client/payer", &payment).await;
        assert_ne!(refused["status"], "ok", "{refused}");
        assert!(
            started.elapsed() <= Duration::from_secs(1),
            "a refusal took {:?} with the database down",
            started.elapsed()
        );
    }

    proxy.restore().await;
    let back = std::time::Instant::now();
    loop {
        let answer = s.api("client/payer", &payment).await;
        if answer["status"] == "ok" {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(3),
            "still refused {:?} after the database came back: {answer}",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(s);
    drop(db);
}
