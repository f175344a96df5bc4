//! The real `ardoise` binary on a fresh database: set-up commands, `serve`, and its process
//! figures (CPU time, peak RSS) read from `/proc`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use diesel::{Connection, PgConnection, RunQueryDsl};

/// Which database a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A fresh, empty database that is removed (file) or dropped (PostgreSQL) with the value.
pub struct Database {
    pub url: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl Database {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> anyhow::Result<Database> {
        let dir = tempfile::Builder::new()
            .prefix("ardoise-bench-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let url = format!("sqlite://{}", dir.path().join("ardoise.db").display());
        Ok(Database {
            url,
            backend: Backend::Sqlite,
            dir,
            pg_drop: None,
        })
    }

    /// A new database on the PostgreSQL server of `admin_url` (a superuser URL ending in
    /// `/database`), dropped at the end.
    pub fn postgres(admin_url: &str) -> anyhow::Result<Database> {
        let dir = tempfile::Builder::new()
            .prefix("ardoise-bench-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let name = format!("ardoise_bench_{}", std::process::id());
        let mut conn = PgConnection::establish(admin_url)
            .with_context(|| "cannot connect to ARDOISE_BENCH_POSTGRES_URL")?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .context("cannot drop a stale bench database")?;
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .context("cannot create the bench database")?;
        let Some((base, _)) = admin_url.rsplit_once('/') else {
            bail!("ARDOISE_BENCH_POSTGRES_URL must end with /database");
        };
        Ok(Database {
            url: format!("{base}/{name}"),
            backend: Backend::Postgres,
            dir,
            pg_drop: Some((admin_url.to_owned(), name)),
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg_drop {
            match PgConnection::establish(admin) {
                Ok(mut conn) => {
                    if let Err(e) =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                    {
                        eprintln!("warning: cannot drop the bench database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("warning: cannot drop the bench database {name}: {e}"),
            }
        }
    }
}

/// Where the `ardoise` binary is: `--ardoise`, else next to this executable (both are built in
/// target/release), else target/release/ardoise under the current directory.
pub fn find_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let mut candidates = Vec::new();
    if let Ok(me) = std::env::current_exe() {
        if let Some(dir) = me.parent() {
            candidates.push(dir.join("ardoise"));
        }
    }
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(Path::new(&dir).join("release/ardoise"));
    }
    candidates.push(PathBuf::from("target/release/ardoise"));
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        anyhow!("cannot find the ardoise binary: run `cargo build --release --bin ardoise`")
    })
}

/// Runs `ardoise --database-url URL ARGS…`; returns its standard output, or an error with its
/// standard error.
pub fn ardoise(binary: &Path, db: &Database, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !out.status.success() {
        bail!(
            "`ardoise {}` failed: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A running `ardoise serve`.
pub struct Server {
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `ardoise serve --listen 127.0.0.1:0` on `db`, with the extra environment `env`
    /// (settings, `ARDOISE__…`), and waits until it listens.
    pub fn start(
        binary: &Path,
        db: &Database,
        log_level: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Server> {
        let log = db.dir.path().join("server.log");
        let stderr = std::fs::File::create(&log).context("cannot create the server log")?;
        let mut child = Command::new(binary)
            .arg("--database-url")
            .arg(&db.url)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", log_level)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no standard output from the server"))?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the server exited before listening: {}",
                    std::fs::read_to_string(&log).unwrap_or_default().trim()
                );
            };
            let line = line.context("cannot read the server's output")?;
            if let Some(rest) = line.strip_prefix("ardoise listening on http://") {
                break rest
                    .trim()
                    .parse::<SocketAddr>()
                    .with_context(|| format!("unexpected listening line `{line}`"))?;
            }
        };
        // Keep reading so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server { addr, child, log })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resets the peak resident set size (VmHWM) so that the next reading covers only what
    /// follows; false if the kernel refused.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    /// The peak resident set size in KiB (VmHWM), if readable.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        status_field(self.pid(), "VmHWM:")
    }

    /// The server's CPU time so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(&format!("/proc/{}/stat", self.pid()))
    }

    /// The last lines of the server's log (warnings and errors).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Stops the server with SIGTERM (SIGKILL after 10 s) and waits for it.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..200 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// User + system CPU seconds of a process from its `/proc/…/stat` file.
pub fn cpu_seconds(stat_path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(stat_path).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the name and state.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}
