//! Starting the real binary over a fresh database, and talking to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends available here: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    if std::env::var("ARDOISE_TEST_POSTGRES_URL").is_ok() {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        eprintln!("PostgreSQL black-box tests skipped: ARDOISE_TEST_POSTGRES_URL is not set");
        vec![Backend::Sqlite]
    }
}

/// A fresh, empty database that disappears with the value.
pub struct Database {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Database {
    pub fn fresh(backend: Backend) -> Database {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("ardoise.db");
                // An empty file is an empty SQLite database: commands other than `serve` and
                // `migrate` refuse to create one (see `first_day::commands_refuse_to_create_a_database`),
                // and each command migrates the database it opens.
                std::fs::File::create(&file).unwrap();
                let url = format!("sqlite://{}", file.display());
                Database {
                    url,
                    _dir: Some(dir),
                    pg_drop: None,
                }
            }
            Backend::Postgres => {
                let admin = std::env::var("ARDOISE_TEST_POSTGRES_URL").unwrap();
                let name = format!(
                    "ardoise_bb_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst)
                );
                let mut conn = PgConnection::establish(&admin).unwrap();
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .unwrap();
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("ARDOISE_TEST_POSTGRES_URL must end with /database"),
                };
                Database {
                    url,
                    _dir: None,
                    pg_drop: Some((admin, name)),
                }
            }
        }
    }
}

impl Database {
    /// An existing database that the test keeps (nothing is removed at the end).
    pub fn at(url: String) -> Database {
        Database {
            url,
            _dir: None,
            pg_drop: None,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg_drop {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

/// Runs `ardoise --database-url URL ARGS…` to completion; returns (success, stdout, stderr).
pub fn ardoise(db: &Database, args: &[&str]) -> (bool, String, String) {
    ardoise_env(db, args, &[])
}

/// Same, with extra environment variables.
pub fn ardoise_env(db: &Database, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ardoise"))
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running server.
pub struct Server {
    pub base: String,
    pub admin_password: Option<String>,
    pub db: Database,
    child: Child,
    pub client: reqwest::Client,
    /// The server's log lines (stderr) so far; they are also passed on to the test's stderr.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `ardoise serve --listen 127.0.0.1:0` on a fresh database of `backend`, with
    /// staff users `prez` (3), `barman` (2), `bde` (1) and `honeypot` (0), password `secret-pw`.
    pub fn start(backend: Backend) -> Server {
        Server::start_with(backend, &[])
    }

    pub fn start_with(backend: Backend, env: &[(&str, &str)]) -> Server {
        let db = Database::fresh(backend);
        for (login, rights) in [
            ("prez", "3"),
            ("barman", "2"),
            ("bde", "1"),
            ("honeypot", "0"),
        ] {
            let (ok, _, err) = ardoise(
                &db,
                &[
                    "user",
                    "add",
                    "--login",
                    login,
                    "--password",
                    "secret-pw",
                    "--rights",
                    rights,
                ],
            );
            assert!(ok, "user add {login}: {err}");
        }
        Server::serve(db, env)
    }

    /// Starts the server on an existing database.
    pub fn serve(db: Database, env: &[(&str, &str)]) -> Server {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Server::serve_with(db, &[], env, client)
    }

    /// Starts the server with extra `serve` arguments and a given HTTP client.
    pub fn serve_with(
        db: Database,
        args: &[&str],
        env: &[(&str, &str)],
        client: reqwest::Client,
    ) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ardoise"))
            .arg("--database-url")
            .arg(&db.url)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            // A test may ask for more (`RUST_LOG=info`).
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let lines_seen = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                eprintln!("{line}");
                lines_seen.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut admin_password = None;
        let base = loop {
            let line = lines
                .next()
                .expect("the server exited before listening")
                .unwrap();
            if let Some(rest) = line.split("with password ").nth(1) {
                admin_password = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(addr) = line.strip_prefix("ardoise listening on ") {
                break addr.trim().to_owned();
            }
        };
        // Keep reading so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            base,
            admin_password,
            db,
            child,
            client,
            log,
        }
    }

    /// POSTs a form body to `/api/PATH` and returns the JSON answer (the HTTP status must be 200).
    pub async fn api(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let body = serde_urlencoded(form);
        let resp = self
            .client
            .post(format!("{}/api/{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "POST /api/{path}");
        resp.json().await.unwrap()
    }

    /// The text of `GET /metrics` (the HTTP status must be 200).
    pub async fn metrics(&self) -> String {
        let resp = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET /metrics");
        resp.text().await.unwrap()
    }

    /// Logs in by password and returns the token.
    pub async fn login(&self, login: &str) -> String {
        let v = self
            .api(
                "utilisateur/connexion",
                &[("login", login), ("mdp", "secret-pw")],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        v["jeton"].as_str().unwrap().to_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(self) -> Database {
        self.stop_with_status().0
    }

    /// Stops the server with SIGTERM; the database and how the process exited.
    pub fn stop_with_status(mut self) -> (Database, Option<std::process::ExitStatus>) {
        let status = self.terminate();
        let db = std::mem::replace(
            &mut self.db,
            Database {
                url: String::new(),
                _dir: None,
                pg_drop: None,
            },
        );
        (db, status)
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

/// Encodes a form body.
pub fn serde_urlencoded(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The database-side check of invariant 1: the server's own view of each card through
/// `client/fiche` (balance vs the sum of its valid transactions).
pub async fn assert_invariant(server: &Server, token: &str) {
    let list = server.api("client/liste", &[("jeton", token)]).await;
    assert_eq!(list["status"], "ok", "{list}");
    for c in list["clients"].as_array().unwrap() {
        let id = c["idCarte"].as_str().unwrap();
        let sheet = server
            .api("client/fiche", &[("jeton", token), ("idCarte", id)])
            .await;
        let cents = |v: &Value| -> i64 {
            let text = v.to_string();
            let m = ardoise_domain::Money::parse(&text)
                .unwrap_or_else(|e| panic!("{text} is not exact money: {e}"));
            m.cents()
        };
        let sum: i64 = sheet["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["valide"] == true)
            .map(|t| {
                let amount = cents(&t["montant"]);
                match t["type"].as_i64().unwrap() {
                    1 | 2 | 6..=8 => amount,
                    3..=5 | 9 => -amount,
                    other => panic!("unknown type {other}"),
                }
            })
            .sum();
        assert_eq!(cents(&sheet["solde"]), sum, "card {id}: {sheet}");
    }
}
