//! The `notify` scenario: webhook deliveries per second, end to end. A partner with
//! `notifications:send` POSTs `/v1/notifications` (channel `webhook`) from C keep-alive
//! clients for T seconds; the server's worker delivers each message to a local HTTP receiver
//! started here, which counts the distinct message ids (`webhook-id`). Once the load stops,
//! the bench waits until every accepted message arrived (or a deadline passes) and checks that
//! none was lost. The server must run with `notify.webhook.allow_http = true` and
//! `services.sends_per_minute = 0` ([`SERVER_ENV`]).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::http::{base64, encode, find, Conn, Request};
use crate::server::{self, Database};
use crate::setup;

/// The server's settings this scenario needs: plain-HTTP webhooks (the local receiver), and
/// no per-provider rate limit (the bench is one provider).
pub const SERVER_ENV: [(&str, &str); 2] = [
    ("ARDOISE__NOTIFY__WEBHOOK__ALLOW_HTTP", "true"),
    ("ARDOISE__SERVICES__SENDS_PER_MINUTE", "0"),
];

/// How long the bench waits, after the load, for the last deliveries.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    ids: Mutex<HashSet<String>>,
    deliveries: AtomicU64,
    last: Mutex<Option<Instant>>,
}

/// The figures of one run.
pub struct NotifyOutcome {
    pub queued: u64,
    pub refused: u64,
    pub errors: u64,
    pub delivered: u64,
    pub deliveries: u64,
    pub lost: u64,
    /// From the first POST to the last delivery.
    pub elapsed: Duration,
    pub load_seconds: f64,
    pub error_samples: Vec<String>,
}

impl NotifyOutcome {
    pub fn deliveries_per_s(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn figures(&self) -> Value {
        json!({
            "seconds": (self.elapsed.as_secs_f64() * 100.0).round() / 100.0,
            "queued": self.queued,
            "queued_per_s": (self.queued as f64 / self.load_seconds.max(1e-9)).round(),
            "refused": self.refused,
            "errors": self.errors,
            "delivered": self.delivered,
            "deliveries": self.deliveries,
            "duplicates": self.deliveries.saturating_sub(self.delivered),
            "lost": self.lost,
            "deliveries_per_s": self.deliveries_per_s().round(),
        })
    }
}

/// Runs the scenario against the server at `addr` (started with [`SERVER_ENV`]).
pub async fn run(
    binary: &std::path::Path,
    db: &Database,
    addr: SocketAddr,
    staff: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<NotifyOutcome> {
    let seen = Arc::new(Seen::default());
    let receiver = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot start the webhook receiver")?;
    let hook = format!("http://{}/hook", receiver.local_addr()?);
    let accept = tokio::spawn(receive(receiver, seen.clone()));

    let mut conn = Conn::new(addr);
    let member = setup::v1(
        &mut conn,
        "/v1/members",
        Some(staff),
        &json!({"display_name": "Bench notify"}),
        201,
    )
    .await?;
    let member = member["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no member id in {member}"))?;
    let (client_id, token) = provider(binary, db, &mut conn).await?;
    let body = json!({ "url": hook }).to_string();
    let headers = format!("Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n");
    let path = format!("/v1/partners/{}/webhook", encode(&client_id));
    let status = conn
        .send(&Request {
            method: "PUT",
            path: &path,
            headers: &headers,
            body: body.as_bytes(),
        })
        .await?;
    if status != 200 && status != 201 {
        bail!(
            "PUT {path}: HTTP {status} {}",
            String::from_utf8_lossy(conn.body())
        );
    }

    let queued = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let (queued, refused, errors, samples, headers) = (
            queued.clone(),
            refused.clone(),
            errors.clone(),
            samples.clone(),
            headers.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut mine = Vec::new();
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let body = json!({"member": member, "title": format!("b{c}-{i}"),
                                  "message": "bench", "channel": "webhook"})
                .to_string();
                let request = Request::form_with("/v1/notifications", &headers, body.as_bytes());
                match conn.send(&request).await {
                    Ok(202) => match serde_json::from_slice::<Value>(conn.body())
                        .ok()
                        .and_then(|v| v["data"]["id"].as_str().map(str::to_owned))
                    {
                        Some(id) => mine.push(id),
                        None => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    Ok(status) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        sample(
                            &samples,
                            format!("HTTP {status} {}", String::from_utf8_lossy(conn.body())),
                        );
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        sample(&samples, e.to_string());
                    }
                }
            }
            lock(&queued).extend(mine);
        }));
    }
    for t in tasks {
        t.await.context("a notify client panicked")?;
    }
    let load_seconds = start.elapsed().as_secs_f64();
    let queued = std::mem::take(&mut *lock(&queued));
    let wanted: HashSet<&String> = queued.iter().collect();

    // Wait for the last deliveries.
    let drain_end = Instant::now() + DRAIN_LIMIT;
    loop {
        let done = {
            let ids = lock(&seen.ids);
            wanted.iter().all(|id| ids.contains(*id))
        };
        if done || Instant::now() >= drain_end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    accept.abort();
    let ids = lock(&seen.ids);
    let lost = wanted.iter().filter(|id| !ids.contains(**id)).count() as u64;
    let last = (*lock(&seen.last)).unwrap_or_else(Instant::now);
    let samples = std::mem::take(&mut *lock(&samples));
    Ok(NotifyOutcome {
        queued: queued.len() as u64,
        refused: refused.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        delivered: ids.iter().filter(|id| wanted.contains(id)).count() as u64,
        deliveries: seen.deliveries.load(Ordering::Relaxed),
        lost,
        elapsed: last.saturating_duration_since(start),
        load_seconds,
        error_samples: samples,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn sample(samples: &Mutex<Vec<String>>, what: String) {
    let mut samples = lock(samples);
    if samples.len() < 3 {
        samples.push(what);
    }
}

/// A partner with `notifications:send` (added by the CLI) and its access token.
async fn provider(
    binary: &std::path::Path,
    db: &Database,
    conn: &mut Conn,
) -> anyhow::Result<(String, String)> {
    let printed = server::ardoise(
        binary,
        db,
        &[
            "partner",
            "add",
            "--name",
            "bench-notify",
            "--scopes",
            "notifications:send",
        ],
    )?;
    let credentials: Value = printed
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l.trim()).ok())
        .ok_or_else(|| anyhow!("partner add printed {printed:?}"))?;
    let (Some(id), Some(secret)) = (
        credentials["client_id"].as_str(),
        credentials["client_secret"].as_str(),
    ) else {
        bail!("partner add printed {credentials}");
    };
    let basic = base64(format!("{}:{}", encode(id), encode(secret)).as_bytes());
    let headers = format!(
        "Authorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    );
    let status = conn
        .send(&Request::form_with(
            "/oauth/token",
            &headers,
            b"grant_type=client_credentials",
        ))
        .await?;
    let answer: Value = serde_json::from_slice(conn.body()).unwrap_or(Value::Null);
    match answer["access_token"].as_str().filter(|_| status == 200) {
        Some(token) => Ok((id.to_owned(), token.to_owned())),
        None => bail!("/oauth/token: HTTP {status} {answer}"),
    }
}

/// The webhook receiver: plain HTTP/1.1 with keep-alive, 200 to every request, each
/// request's `webhook-id` counted.
async fn receive(listener: TcpListener, seen: Arc<Seen>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(stream, seen.clone()));
    }
}

async fn serve(mut stream: TcpStream, seen: Arc<Seen>) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut chunk = [0u8; 8 * 1024];
    loop {
        // One request: its head, then `Content-Length` bytes of body.
        let (head_len, body_len, id) = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut request = httparse::Request::new(&mut headers);
                if request.parse(&buf[..end + 4]).is_err() {
                    return;
                }
                let header = |name: &str| {
                    request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                };
                let length = header("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (end + 4, length, header("webhook-id"));
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        while buf.len() < head_len + body_len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_len + body_len);
        if let Some(id) = id {
            seen.deliveries.fetch_add(1, Ordering::Relaxed);
            lock(&seen.ids).insert(id);
            *lock(&seen.last) = Some(Instant::now());
        }
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
    }
}
