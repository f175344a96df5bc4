//! Setting up a run over HTTP: staff sessions, cards, the partner token; and the checks that
//! follow a run (invariant 1 of `pos-api.md` on every card, and the money the bench expects).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

use crate::http::{base64, encode, form, Conn, Request};
use crate::server::{ardoise, Backend, Database};

/// The staff user of the bench (rights 3, so the cancel window never applies).
pub const STAFF_LOGIN: &str = "bench";
/// Its password.
pub const STAFF_PASSWORD: &str = "bench-password-not-secret";
/// The opening balance of every card, in euros and cents (the per-operation maximum).
pub const OPENING: &str = "1000.00";
pub const OPENING_CENTS: i64 = 100_000;
/// The largest top-up, in euros and cents.
pub const MAX_TOP_UP: &str = "1000.00";
pub const MAX_TOP_UP_CENTS: i64 = 100_000;

/// The id of card `i`: 14 upper-case hex digits, like a 7-byte NFC UID.
pub fn card_id(i: usize) -> String {
    format!("BE{i:012X}")
}

/// POSTs a form to `/api/PATH` and returns the JSON answer; errors unless its status is `ok`.
pub async fn pos(conn: &mut Conn, path: &str, pairs: &[(&str, &str)]) -> anyhow::Result<Value> {
    let body = form(pairs);
    let url = format!("/api/{path}");
    let status = conn.send(&Request::form(&url, body.as_bytes())).await?;
    let value: Value = serde_json::from_slice(conn.body())
        .with_context(|| format!("POST {url}: HTTP {status}, not JSON"))?;
    if value["status"] != "ok" {
        bail!("POST {url}: HTTP {status} {value}");
    }
    Ok(value)
}

/// Logs the bench's staff user in; returns the session token.
pub async fn login(conn: &mut Conn) -> anyhow::Result<String> {
    let v = pos(
        conn,
        "utilisateur/connexion",
        &[("login", STAFF_LOGIN), ("mdp", STAFF_PASSWORD)],
    )
    .await?;
    v["jeton"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no jeton in {v}"))
}

/// Runs `work(conn, i)` for every i in 0..n on `parallel` connections.
async fn in_parallel<F, Fut>(
    addr: SocketAddr,
    n: usize,
    parallel: usize,
    work: F,
) -> anyhow::Result<()>
where
    F: Fn(Conn, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Conn>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..parallel.max(1) {
        let next = next.clone();
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                conn = work(conn, i).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// `clients` staff sessions, one per simulated client.
pub async fn sessions(addr: SocketAddr, clients: usize) -> anyhow::Result<Vec<String>> {
    let tokens = Arc::new(std::sync::Mutex::new(vec![String::new(); clients]));
    let slots = tokens.clone();
    // Password hashing is deliberately slow: a few at a time.
    in_parallel(addr, clients, 4, move |mut conn, i| {
        let slots = slots.clone();
        async move {
            let token = login(&mut conn).await?;
            if let Ok(mut slots) = slots.lock() {
                slots[i] = token;
            }
            Ok(conn)
        }
    })
    .await?;
    let tokens = tokens
        .lock()
        .map_err(|_| anyhow!("a login task panicked"))?
        .clone();
    Ok(tokens)
}

/// Opens cards 0..n with the opening balance.
pub async fn open_cards(addr: SocketAddr, token: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let token = token.to_owned();
    in_parallel(addr, n, 16, move |mut conn, i| {
        let token = token.clone();
        async move {
            let card = card_id(i);
            pos(
                &mut conn,
                "client/ajouter",
                &[("jeton", &token), ("idCarte", &card), ("solde", OPENING)],
            )
            .await?;
            Ok(conn)
        }
    })
    .await?;
    Ok((0..n).map(card_id).collect())
}

/// POSTs a JSON body to `/v1/PATH` with `bearer`; the answer's `data`, unless the status
/// is not `expected`.
pub(crate) async fn v1(
    conn: &mut Conn,
    path: &str,
    bearer: Option<&str>,
    body: &Value,
    expected: u16,
) -> anyhow::Result<Value> {
    let mut headers = String::from("Content-Type: application/json\r\n");
    if let Some(token) = bearer {
        headers.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let text = body.to_string();
    let status = conn
        .send(&Request::form_with(path, &headers, text.as_bytes()))
        .await?;
    if status != expected {
        bail!(
            "POST {path}: HTTP {status} {}",
            String::from_utf8_lossy(conn.body())
        );
    }
    if conn.body().is_empty() {
        return Ok(Value::Null);
    }
    let value: Value = serde_json::from_slice(conn.body())
        .with_context(|| format!("POST {path}: HTTP {status}, not JSON"))?;
    Ok(value["data"].clone())
}

/// For `transfer`: a member for every card (linked to it), and the first `payers` of them
/// invited, with a password, logged in. The members' ids by card, and (card index, token)
/// of the payers.
pub async fn members(
    addr: SocketAddr,
    staff: &str,
    cards: &[String],
    payers: usize,
) -> anyhow::Result<(Vec<i64>, Vec<(usize, String)>)> {
    let ids = Arc::new(std::sync::Mutex::new(vec![0i64; cards.len()]));
    let tokens = Arc::new(std::sync::Mutex::new(vec![String::new(); payers]));
    let shared: Arc<Vec<String>> = Arc::new(cards.to_vec());
    let staff = staff.to_owned();
    let (id_slots, token_slots) = (ids.clone(), tokens.clone());
    // Password hashing is deliberately slow: a few at a time.
    in_parallel(addr, cards.len(), 4, move |mut conn, i| {
        let (ids, tokens, cards, staff) = (
            id_slots.clone(),
            token_slots.clone(),
            shared.clone(),
            staff.clone(),
        );
        async move {
            let email = format!("bench{i}@example.org");
            let member = v1(
                &mut conn,
                "/v1/members",
                Some(&staff),
                &serde_json::json!({"display_name": format!("Bench {i}"), "email": email}),
                201,
            )
            .await?;
            let id = member["id"]
                .as_i64()
                .ok_or_else(|| anyhow!("no member id in {member}"))?;
            v1(
                &mut conn,
                &format!("/v1/members/{id}/cards"),
                Some(&staff),
                &serde_json::json!({"card": cards[i]}),
                200,
            )
            .await?;
            if let Ok(mut ids) = ids.lock() {
                ids[i] = id;
            }
            if i < tokens.lock().map(|t| t.len()).unwrap_or(0) {
                let invitation = v1(
                    &mut conn,
                    &format!("/v1/members/{id}/invitation"),
                    Some(&staff),
                    &Value::Null,
                    201,
                )
                .await?;
                let link = invitation["link"].as_str().unwrap_or_default();
                let secret = link.rsplit('/').next().unwrap_or_default();
                let password = "bench-member-password";
                v1(
                    &mut conn,
                    "/v1/member-passwords",
                    None,
                    &serde_json::json!({"token": secret, "password": password}),
                    204,
                )
                .await?;
                let session = v1(
                    &mut conn,
                    "/v1/member-sessions",
                    None,
                    &serde_json::json!({"email": email, "password": password}),
                    201,
                )
                .await?;
                let token = session["token"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no member token in {session}"))?
                    .to_owned();
                if let Ok(mut tokens) = tokens.lock() {
                    tokens[i] = token;
                }
            }
            Ok(conn)
        }
    })
    .await?;
    let ids = ids
        .lock()
        .map_err(|_| anyhow!("a member task panicked"))?
        .clone();
    let tokens = tokens
        .lock()
        .map_err(|_| anyhow!("a member task panicked"))?
        .clone();
    Ok((ids, tokens.into_iter().enumerate().collect()))
}

/// Tops `card` up by `times` × the largest top-up.
pub async fn top_up(conn: &mut Conn, token: &str, card: &str, times: usize) -> anyhow::Result<()> {
    for _ in 0..times {
        pos(
            conn,
            "client/recharger",
            &[("jeton", token), ("idCarte", card), ("montant", MAX_TOP_UP)],
        )
        .await?;
    }
    Ok(())
}

/// A partner access token with `cards:read`, or why `/v1` cannot be used (the reason is shown
/// as `skipped: …`).
pub async fn partner_token(
    binary: &Path,
    db: &Database,
    addr: SocketAddr,
    card: &str,
) -> Result<String, String> {
    let mut conn = Conn::new(addr);
    let path = format!("/v1/cards/{card}/balance");
    // Without credentials an existing route answers 401; a missing one 404.
    match conn.send(&Request::get(&path, "")).await {
        Ok(404) => return Err("/v1 not available (HTTP 404)".into()),
        Ok(_) => {}
        Err(e) => return Err(format!("/v1 not available ({e})")),
    }
    let credentials = ardoise(
        binary,
        db,
        &[
            "partner",
            "add",
            "--name",
            "bench",
            "--scopes",
            "cards:read",
        ],
    )
    .map_err(|e| format!("/v1 not available (partner add: {e})"))?;
    let credentials: Value = credentials
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l.trim()).ok())
        .ok_or_else(|| format!("/v1 not available (partner add printed {credentials:?})"))?;
    let (Some(id), Some(secret)) = (
        credentials["client_id"].as_str(),
        credentials["client_secret"].as_str(),
    ) else {
        return Err(format!(
            "/v1 not available (partner add printed {credentials})"
        ));
    };
    // RFC 6749 §2.3.1: the Basic user and password are form-url-encoded first.
    let basic = base64(format!("{}:{}", encode(id), encode(secret)).as_bytes());
    let headers = format!(
        "Authorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    );
    let request = Request {
        method: "POST",
        path: "/oauth/token",
        headers: &headers,
        body: b"grant_type=client_credentials",
    };
    let status = conn
        .send(&request)
        .await
        .map_err(|e| format!("/oauth/token not available ({e})"))?;
    let answer: Value = serde_json::from_slice(conn.body()).unwrap_or(Value::Null);
    let Some(token) = answer["access_token"].as_str().filter(|_| status == 200) else {
        return Err(format!(
            "/oauth/token not available (HTTP {status} {answer})"
        ));
    };
    let token = token.to_owned();
    let bearer = format!("Authorization: Bearer {token}\r\n");
    match conn.send(&Request::get(&path, &bearer)).await {
        Ok(200) => Ok(token),
        Ok(status) => Err(format!(
            "/v1 not usable (HTTP {status} {})",
            String::from_utf8_lossy(conn.body())
        )),
        Err(e) => Err(format!("/v1 not usable ({e})")),
    }
}

/// What the check after the run found.
#[derive(Debug, Default)]
pub struct Verdict {
    pub cards_checked: usize,
    /// Cards whose balance differs from the sum of their valid transactions (invariant 1).
    pub invariant_violations: usize,
    /// Cards whose balance differs from what the bench's accepted answers imply.
    pub unexpected_balances: usize,
    /// Payment transactions in the ledger, and the payments answered `ok`.
    pub payments_in_ledger: u64,
    pub payments_accepted: u64,
    /// Cancelled payments in the ledger, and the cancels answered `ok`.
    pub cancelled_in_ledger: u64,
    pub cancels_accepted: u64,
    /// Top-ups in the ledger, and the top-ups answered `ok` (set-up included).
    pub top_ups_in_ledger: u64,
    pub top_ups_accepted: u64,
    /// Requests without an answer: their movement may or may not have happened.
    pub unknown_outcomes: u64,
    pub problems: Vec<String>,
}

impl Verdict {
    /// No money lost or created.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Parses an exact JSON money number (`15.8`, `-3.05`, `10`) into cents.
pub fn cents(value: &Value) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    let amount = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -amount } else { amount })
}

/// What the bench's answers imply, for the check.
pub struct Expectations<'a> {
    pub cards: &'a [String],
    pub expected: &'a [AtomicI64],
    pub uncertain: &'a [AtomicBool],
    pub payments_accepted: u64,
    pub cancels_accepted: u64,
    pub top_ups_accepted: u64,
    pub unknown_outcomes: u64,
}

/// Reads every card's sheet (`client/fiche`) and checks invariant 1 and the expectations.
pub async fn verify(addr: SocketAddr, expect: &Expectations<'_>) -> anyhow::Result<Verdict> {
    let mut conn = Conn::new(addr);
    let token = login(&mut conn).await?;
    let list = pos(&mut conn, "client/liste", &[("jeton", &token)]).await?;
    let listed = list["clients"].as_array().map(Vec::len).unwrap_or(0);

    let sheets = Arc::new(std::sync::Mutex::new(vec![Value::Null; expect.cards.len()]));
    let slots = sheets.clone();
    let cards: Arc<Vec<String>> = Arc::new(expect.cards.to_vec());
    in_parallel(addr, cards.len(), 4, move |mut conn, i| {
        let slots = slots.clone();
        let cards = cards.clone();
        let token = token.clone();
        async move {
            let sheet = pos(
                &mut conn,
                "client/fiche",
                &[("jeton", &token), ("idCarte", &cards[i])],
            )
            .await?;
            if let Ok(mut slots) = slots.lock() {
                slots[i] = sheet;
            }
            Ok(conn)
        }
    })
    .await?;
    let sheets = std::mem::take(
        &mut *sheets
            .lock()
            .map_err(|_| anyhow!("a card check task panicked"))?,
    );

    let mut v = Verdict {
        payments_accepted: expect.payments_accepted,
        cancels_accepted: expect.cancels_accepted,
        top_ups_accepted: expect.top_ups_accepted,
        unknown_outcomes: expect.unknown_outcomes,
        ..Verdict::default()
    };
    if listed != expect.cards.len() {
        v.problems.push(format!(
            "client/liste lists {listed} cards, the bench opened {}",
            expect.cards.len()
        ));
    }
    for (i, sheet) in sheets.iter().enumerate() {
        let card = &expect.cards[i];
        let Some(balance) = cents(&sheet["solde"]) else {
            v.problems.push(format!(
                "card {card}: balance {} is not exact money",
                sheet["solde"]
            ));
            continue;
        };
        let mut sum = 0i64;
        for t in sheet["transactions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let Some(amount) = cents(&t["montant"]) else {
                v.problems.push(format!(
                    "card {card}: amount {} is not exact money",
                    t["montant"]
                ));
                continue;
            };
            let valid = t["valide"] == true;
            let kind = t["type"].as_i64().unwrap_or(0);
            match kind {
                2 => v.top_ups_in_ledger += 1,
                3 => {
                    v.payments_in_ledger += 1;
                    if !valid {
                        v.cancelled_in_ledger += 1;
                    }
                }
                _ => {}
            }
            if valid {
                sum += match kind {
                    1 | 2 | 6 | 7 => amount,
                    3..=5 => -amount,
                    other => {
                        v.problems
                            .push(format!("card {card}: unknown transaction type {other}"));
                        0
                    }
                };
            }
        }
        v.cards_checked += 1;
        if balance != sum {
            v.invariant_violations += 1;
            if v.invariant_violations <= 5 {
                v.problems.push(format!(
                    "invariant 1 broken on card {card}: balance {balance} cents, \
                     valid transactions sum to {sum}"
                ));
            }
        }
        let expected = expect.expected[i].load(Ordering::Relaxed);
        if !expect.uncertain[i].load(Ordering::Relaxed) && balance != expected {
            v.unexpected_balances += 1;
            if v.unexpected_balances <= 5 {
                v.problems.push(format!(
                    "card {card}: balance {balance} cents, the accepted answers imply {expected}"
                ));
            }
        }
    }
    // With unknown outcomes the ledger may hold up to that many more movements.
    let slack = expect.unknown_outcomes;
    let counts = [
        ("payments", v.payments_in_ledger, v.payments_accepted),
        (
            "cancelled payments",
            v.cancelled_in_ledger,
            v.cancels_accepted,
        ),
        ("top-ups", v.top_ups_in_ledger, v.top_ups_accepted),
    ];
    for (what, in_ledger, accepted) in counts {
        if in_ledger < accepted || in_ledger > accepted + slack {
            v.problems.push(format!(
                "{what}: {in_ledger} in the ledger, {accepted} answered ok \
                 ({slack} without answer)"
            ));
        }
    }
    Ok(v)
}

/// Sets a low-balance alert on every member's card at its balance now (by e-mail, the
/// default channel), so that its next payment crosses it and queues an alert: straight in
/// the database, the preferences a member would save in their space. The number set.
pub fn low_balance_alerts(db: &Database) -> anyhow::Result<usize> {
    use diesel::connection::{Connection, SimpleConnection};
    use diesel::RunQueryDsl;
    let sql = "INSERT INTO member_preferences (member_id, email, sms, push, low_balance_cents, \
           receipts, advertisements, updated_at) \
         SELECT c.member_id, TRUE, FALSE, FALSE, c.balance_cents, FALSE, FALSE, 0 \
         FROM cards c WHERE c.member_id IS NOT NULL AND c.balance_cents > 0 \
         ON CONFLICT (member_id) DO UPDATE SET low_balance_cents = excluded.low_balance_cents";
    let set = match db.backend {
        Backend::Sqlite => {
            let path = db.url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path)
                .context("cannot open the bench's SQLite database")?;
            conn.batch_execute("PRAGMA busy_timeout = 10000")
                .context("cannot set SQLite's busy timeout")?;
            diesel::sql_query(sql).execute(&mut conn)
        }
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(&db.url)
                .context("cannot connect to the bench's PostgreSQL database")?;
            diesel::sql_query(sql).execute(&mut conn)
        }
    }
    .context("cannot set the low-balance alerts")?;
    Ok(set)
}

/// How many low-balance alerts the outbox holds (the `pay-alerts` scenario's check that they
/// were queued with their payments).
pub fn low_balance_alerts_queued(db: &Database) -> anyhow::Result<i64> {
    use diesel::connection::Connection;
    use diesel::RunQueryDsl;
    let count = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT COUNT(*) FROM outbox WHERE event = 'low_balance')",
    ));
    let n = match db.backend {
        Backend::Sqlite => {
            let path = db.url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path)
                .context("cannot open the bench's SQLite database")?;
            count.get_result(&mut conn)
        }
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(&db.url)
                .context("cannot connect to the bench's PostgreSQL database")?;
            count.get_result(&mut conn)
        }
    }
    .context("cannot count the low-balance alerts")?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_numbers_become_exact_cents() {
        assert_eq!(cents(&serde_json::json!(15.8)), Some(1580));
        assert_eq!(cents(&serde_json::json!(10)), Some(1000));
        assert_eq!(cents(&serde_json::json!(-3.05)), Some(-305));
        assert_eq!(cents(&serde_json::json!(0.01)), Some(1));
        assert_eq!(cents(&serde_json::json!("12.50")), Some(1250));
        assert_eq!(cents(&serde_json::json!(0.001)), None);
    }

    #[test]
    fn card_ids_are_nfc_like_hex() {
        assert_eq!(card_id(255), "BE0000000000FF");
        assert_eq!(card_id(0).len(), 14);
    }
}
