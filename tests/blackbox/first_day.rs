//! What the original web page and a newcomer tripped on during a bar's first day (issue 13):
//! the POS answers the web page reads, the CLI that must not create databases or lose the
//! first password, the listen address, a PostgreSQL that is down, the administration
//! commands, and POS refusals that say what is wrong.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{ardoise, backends, Backend, Database, Server};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ardoise"));
    c.env_remove("ARDOISE_DATABASE_URL")
        .env_remove("ARDOISE_LISTEN")
        .env("RUST_LOG", "warn");
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON lines a `list` command prints.
fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn commands_refuse_to_create_a_database() {
    // Run from a folder without `data/`, as the newcomer did: nothing is created.
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 6] = [
        &["export", "transactions", "--format", "csv"],
        &["user", "list"],
        &[
            "user",
            "add",
            "--login",
            "prez",
            "--password",
            "long secret",
            "--rights",
            "3",
        ],
        &["product", "set", "--name", "biere", "--price", "1.80"],
        &["partner", "add", "--name", "p", "--scopes", "cards:read"],
        &["backup", "--to", "copy.db"],
    ];
    for args in commands {
        let (ok, out, err) = run(bin().current_dir(dir.path()).args(args));
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(
            err.contains(
                "no database at data/ardoise.db (run `ardoise migrate` first, or pass \
                 --database-url)"
            ),
            "{args:?}: {err}"
        );
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    // The same with an explicit URL to a missing file.
    let missing = dir.path().join("elsewhere").join("bar.db");
    let url = format!("sqlite://{}", missing.display());
    let (ok, _, err) = run(bin().args(["--database-url", &url, "user", "list"]));
    assert!(!ok);
    assert!(err.contains("no database at"), "{err}");
    assert!(!dir.path().join("data").exists());
    assert!(!dir.path().join("elsewhere").exists());
    assert!(!dir.path().join("copy.db").exists());
    // `migrate` creates it; then the other commands work on it.
    let (ok, _, err) = run(bin().current_dir(dir.path()).arg("migrate"));
    assert!(ok, "{err}");
    assert!(dir.path().join("data/ardoise.db").exists());
    let (ok, out, err) =
        run(bin()
            .current_dir(dir.path())
            .args(["export", "transactions", "--format", "csv"]));
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[tokio::test]
async fn a_first_start_on_a_busy_port_keeps_the_password_for_the_next_start() {
    let busy = Server::start(Backend::Sqlite);
    let port = busy.base.rsplit(':').next().unwrap().to_owned();
    let db = Database::fresh(Backend::Sqlite);
    let (ok, out, err) = run(bin().args([
        "--database-url",
        &db.url,
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]));
    assert!(!ok, "{out}");
    assert!(err.contains("http.listen"), "{err}");
    assert!(
        !out.contains("password"),
        "a password was printed and lost: {out}"
    );
    drop(busy);
    // The next start, on a free port, creates `admin` and prints its password.
    let s = Server::serve(db, &[]);
    let password = s.admin_password.clone().expect("the password is printed");
    let v = s
        .api(
            "utilisateur/connexion",
            &[("login", "admin"), ("mdp", &password)],
        )
        .await;
    assert_eq!(v["status"], "ok", "{v}");
}

#[test]
fn localhost_is_a_listen_address() {
    let db = Database::fresh(Backend::Sqlite);
    let mut child = bin()
        .args([
            "--database-url",
            &db.url,
            "serve",
            "--listen",
            "localhost:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut listening = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("ardoise listening on ") {
            listening = Some(addr.to_owned());
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let addr = listening.expect("the server listens on localhost");
    assert!(
        addr.starts_with("http://127.0.0.1:") || addr.starts_with("http://[::1]:"),
        "{addr}"
    );
}

#[test]
fn postgres_down_fails_at_once_with_one_clear_line() {
    // Nothing listens on port 1: the connection is refused at once.
    let (ok, out, err) = run(bin().args([
        "--database-url",
        "postgres://ardoise:secret@127.0.0.1:1/ardoise",
        "user",
        "list",
    ]));
    assert!(!ok, "{out}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, not the pool's retries: {err}");
    assert!(lines[0].starts_with("ardoise: "), "{err}");
    assert!(lines[0].contains("database.url"), "{err}");
    assert!(!lines[0].contains("secret"), "{err}");
}

#[tokio::test]
async fn user_commands_list_disable_reset_and_change_rights() {
    for backend in backends() {
        let s = Server::start(backend);
        let (ok, out, err) = ardoise(&s.db, &["user", "list"]);
        assert!(ok, "{err}");
        let users = lines(&out);
        let logins: Vec<&str> = users.iter().map(|u| u["login"].as_str().unwrap()).collect();
        assert_eq!(logins, ["barman", "bde", "honeypot", "prez"], "{out}");
        assert_eq!(users[0]["rights"], 2);
        assert_eq!(users[0]["card"], Value::Null);

        let (ok, out, err) = ardoise(
            &s.db,
            &[
                "user",
                "password",
                "--login",
                "barman",
                "--password",
                "a new secret",
            ],
        );
        assert!(ok, "{err}");
        assert!(out.contains("barman"), "{out}");
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "barman"), ("mdp", "a new secret")],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(v["droit"], 2);

        let (ok, _, err) = ardoise(
            &s.db,
            &["user", "rights", "--login", "barman", "--rights", "3"],
        );
        assert!(ok, "{err}");
        let (ok, _, err) = ardoise(
            &s.db,
            &["user", "rights", "--login", "barman", "--rights", "7"],
        );
        assert!(!ok);
        assert!(err.contains("--rights"), "{err}");
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "barman"), ("mdp", "a new secret")],
            )
            .await;
        assert_eq!(v["droit"], 3, "{v}");

        let (ok, _, err) = ardoise(&s.db, &["user", "disable", "--login", "bde"]);
        assert!(ok, "{err}");
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "bde"), ("mdp", "secret-pw")],
            )
            .await;
        assert_eq!(v["status"], "identifiants_invalides", "{v}");
        let (ok, _, err) = ardoise(&s.db, &["user", "disable", "--login", "nobody"]);
        assert!(!ok);
        assert!(err.contains("nobody"), "{err}");
        let (_, out, _) = ardoise(&s.db, &["user", "list"]);
        assert!(!out.contains("\"bde\""), "{out}");
    }
}

#[tokio::test]
async fn product_commands_set_bundles_list_and_delete() {
    for backend in backends() {
        let s = Server::start(backend);
        let (ok, _, err) = ardoise(
            &s.db,
            &[
                "product", "set", "--name", "pinte", "--price", "3.50", "--bundle", "2=6.00",
                "--bundle", "6=15",
            ],
        );
        assert!(ok, "{err}");
        let (ok, _, err) = ardoise(
            &s.db,
            &[
                "product", "set", "--name", "pinte", "--price", "3.50", "--bundle", "6:15",
            ],
        );
        assert!(!ok);
        assert!(err.contains("--bundle"), "{err}");
        let (ok, out, err) = ardoise(&s.db, &["product", "list"]);
        assert!(ok, "{err}");
        let pinte = lines(&out)
            .into_iter()
            .find(|p| p["name"] == "pinte")
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(pinte["price"], "3.50");
        assert_eq!(
            pinte["bundles"],
            serde_json::json!({"2": "6.00", "6": "15.00"})
        );

        let prez = s.login("prez").await;
        s.api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "50")],
        )
        .await;
        let form = [
            ("jeton", prez.as_str()),
            ("idCarte", "AHS0DIEX"),
            ("quantite", "2"),
            ("produit", "pinte"),
        ];
        let pay2 = || s.api("client/payer", &form);
        assert_eq!(pay2().await["montant"].to_string(), "6");
        let (ok, _, err) = ardoise(
            &s.db,
            &["product", "delete", "--name", "pinte", "--bundle", "2"],
        );
        assert!(ok, "{err}");
        assert_eq!(pay2().await["montant"].to_string(), "7");
        let (ok, _, err) = ardoise(
            &s.db,
            &["product", "delete", "--name", "pinte", "--bundle", "2"],
        );
        assert!(!ok);
        assert!(err.contains("--bundle"), "{err}");
        let (ok, _, err) = ardoise(&s.db, &["product", "delete", "--name", "pinte"]);
        assert!(ok, "{err}");
        assert_eq!(pay2().await["status"], "produit_inconnu");
        let (ok, _, err) = ardoise(&s.db, &["product", "delete", "--name", "pinte"]);
        assert!(!ok);
        assert!(err.contains("pinte"), "{err}");
    }
}

#[test]
fn partner_list_and_one_allow_basic_for_add_and_set() {
    let db = Database::fresh(Backend::Sqlite);
    let (ok, out, err) = ardoise(
        &db,
        &[
            "partner",
            "add",
            "--name",
            "Pay Online",
            "--scopes",
            "cards:read",
            "--allow-basic",
        ],
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let (ok, _, err) = ardoise(
        &db,
        &[
            "partner",
            "add",
            "--name",
            "Shop",
            "--scopes",
            "cards:read cards:credit",
            "--allow-basic",
            "false",
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = ardoise(&db, &["partner", "list"]);
    assert!(ok, "{err}");
    assert!(!out.contains("secret"), "{out}");
    let partners = lines(&out);
    assert_eq!(partners.len(), 2, "{out}");
    let pay = partners
        .iter()
        .find(|p| p["client_id"] == id.as_str())
        .unwrap();
    assert_eq!(pay["name"], "Pay Online");
    assert_eq!(pay["allow_basic"], true);
    assert_eq!(pay["enabled"], true);
    assert_eq!(pay["credit_cap_operation"], "500.00");
    let shop = partners.iter().find(|p| p["name"] == "Shop").unwrap();
    assert_eq!(shop["allow_basic"], false);
    assert_eq!(shop["scopes"], "cards:read cards:credit");
    // `set` reads `--allow-basic` the way `add` does.
    let (ok, out, err) = ardoise(
        &db,
        &[
            "partner",
            "set",
            "--client-id",
            &id,
            "--allow-basic",
            "false",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains(r#""allow_basic":false"#), "{out}");
    let (ok, out, err) = ardoise(
        &db,
        &["partner", "set", "--client-id", &id, "--allow-basic"],
    );
    assert!(ok, "{err}");
    assert!(out.contains(r#""allow_basic":true"#), "{out}");
}

#[test]
fn help_names_the_partners_settings() {
    let (ok, out, _) = run(bin().args(["partner", "add", "--help"]));
    assert!(ok);
    assert!(out.contains("partners.credit_cap_operation"), "{out}");
    assert!(!out.contains("oauth.credit_cap"), "{out}");
    let (ok, out, _) = run(bin().args(["user", "add", "--help"]));
    assert!(ok);
    for flag in ["--login <LOGIN>", "--password <PASSWORD>"] {
        let line = out.lines().find(|l| l.contains(flag)).unwrap();
        let explained = line.trim_start().len() > flag.len() + 2
            || out
                .lines()
                .skip_while(|l| !l.contains(flag))
                .nth(1)
                .is_some_and(|l| !l.trim().is_empty() && !l.trim_start().starts_with('-'));
        assert!(explained, "{flag} has no help: {out}");
    }
}

#[tokio::test]
async fn pos_refusals_name_the_field_and_the_log_shows_the_status() {
    let db = Database::fresh(Backend::Sqlite);
    let (ok, _, err) = ardoise(
        &db,
        &[
            "user",
            "add",
            "--login",
            "barman",
            "--password",
            "secret-pw",
            "--rights",
            "2",
        ],
    );
    assert!(ok, "{err}");
    let mut child = bin()
        .args([
            "--database-url",
            &db.url,
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let base = BufReader::new(stdout)
        .lines()
        .map(|l| l.unwrap())
        .find_map(|l| l.strip_prefix("ardoise listening on ").map(str::to_owned))
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let client = reqwest::Client::new();
    let post = |path: &str, body: String| {
        client
            .post(format!("{base}/api/{path}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let v: Value = post("utilisateur/connexion", "login=barman&mdp=secret-pw".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = v["jeton"].as_str().unwrap().to_owned();
    let cases = [
        ("montant=1,5&idCarte=AHS0DIEX", "montant"),
        ("montant=1.5", "idCarte"),
        ("montant=1.5&idCarte=A+B", "idCarte"),
    ];
    for (body, field) in cases {
        let resp = post("client/payer", format!("jeton={token}&{body}"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["status"], "requete_malforme", "{v}");
        let message = v["message"].as_str().unwrap_or_else(|| panic!("{v}"));
        assert!(message.contains(&format!("`{field}`")), "{body}: {message}");
    }
    // The request log line carries the POS status, not only HTTP's 200.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if line.contains("/api/client/payer") && line.contains("requete_malforme") {
                    break true;
                }
                seen.push(line);
            }
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no log line with the POS status: {seen:#?}");
}

#[tokio::test]
async fn the_original_web_page_reads_quantite_facture_bde_and_solde_moy() {
    for backend in backends() {
        let s = Server::start(backend);
        let (prez, barman, bde) = (
            s.login("prez").await,
            s.login("barman").await,
            s.login("bde").await,
        );
        for (card, amount) in [("AHS0DIEX", "20"), ("CAFE0001", "5.5")] {
            let v = s
                .api(
                    "client/ajouter",
                    &[("jeton", &bde), ("idCarte", card), ("solde", amount)],
                )
                .await;
            assert_eq!(v["status"], "ok", "{v}");
        }
        s.api(
            "client/ajouter",
            &[
                ("jeton", &prez),
                ("idCarte", "CAFE0002"),
                ("solde", "0"),
                ("decouvert", "true"),
            ],
        )
        .await;
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "CAFE0002"),
                    ("montant", "4"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "AHS0DIEX"),
                    ("quantite", "3"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        for (path, extra) in [
            ("transactions", None),
            ("client/fiche", Some(("idCarte", "AHS0DIEX"))),
            ("utilisateur/fiche", Some(("login", "barman"))),
        ] {
            let mut form = vec![("jeton", prez.as_str())];
            form.extend(extra);
            let v = s.api(path, &form).await;
            let txs = v["transactions"]
                .as_array()
                .unwrap_or_else(|| panic!("{v}"));
            let payment = txs
                .iter()
                .find(|t| t["type"] == 3 && t["client"] == "AHS0DIEX")
                .unwrap_or_else(|| panic!("{path}: {v}"));
            assert_eq!(payment["quantite"], 3, "{path}: {payment}");
            assert_eq!(payment["qte"], 3, "{path}: {payment}");
            assert_eq!(payment["utilisateur"], "barman", "{path}: {payment}");
            for t in txs {
                assert_eq!(t["quantite"], t["qte"], "{path}: {t}");
            }
        }
        let v = s.api("statistiques", &[("jeton", &barman)]).await;
        assert_eq!(v["status"], "ok", "{v}");
        // 20 - 3 × 1.80 = 14.60 and 5.50 are positive: (14.6 + 5.5) / 2 = 10.05; CAFE0002
        // (-4) is left out of the average.
        assert_eq!(v["soldeMoy"].to_string(), "10.05", "{v}");
        // The association opened 20 + 5.50 of cards.
        assert_eq!(v["factureBDE"].to_string(), "25.5", "{v}");
        assert_eq!(v["recettes"].to_string(), "20.1", "{v}");
        assert_eq!(v["dettes"].to_string(), "-4", "{v}");
    }
}
