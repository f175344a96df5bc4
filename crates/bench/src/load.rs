//! The scenarios: C simulated clients, each on its own keep-alive connection with one request
//! in flight, for T seconds. Every answered movement updates the balance the bench expects for
//! its card, so that the check afterwards can tell lost or extra money apart.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::http::{find, Conn, Request};

/// A load scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `GET /api/coucou`: the ceiling of the server plus the generator (calibration).
    Coucou,
    /// POS payments of 0.01 on random cards.
    PaySpread,
    /// `pay-spread` with a low-balance alert set on every card's member (at the opening
    /// balance: each card's first payment crosses it and queues its alert in the outbox, in
    /// the payment's transaction); to compare with `pay-spread`.
    PayAlerts,
    /// POS payments of 0.01, every client on the same card.
    PayHot,
    /// `/v1` card balance reads with a partner token.
    Read,
    /// 80 % reads, 15 % payments, 4 % top-ups, 1 % cancels.
    Mixed,
    /// The web till's payment form (`POST /till`, cookie session, CSRF token, one-time key)
    /// on random cards: the page the barman's browser posts and the page it gets back.
    Till,
    /// Payments of 0.01 from member to member (`POST /v1/transfers`, a member's token):
    /// random pairs, the payer among the logged-in members, the payee among all cards.
    Transfer,
}

impl Scenario {
    /// Parses a scenario name of the command line.
    pub fn parse(name: &str) -> Option<Scenario> {
        Some(match name.trim() {
            "coucou" => Scenario::Coucou,
            "pay-spread" => Scenario::PaySpread,
            "pay-alerts" => Scenario::PayAlerts,
            "pay-hot" => Scenario::PayHot,
            "read" => Scenario::Read,
            "mixed" => Scenario::Mixed,
            "till" => Scenario::Till,
            "transfer" => Scenario::Transfer,
            _ => return None,
        })
    }

    /// Its name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Coucou => "coucou",
            Scenario::PaySpread => "pay-spread",
            Scenario::PayAlerts => "pay-alerts",
            Scenario::PayHot => "pay-hot",
            Scenario::Read => "read",
            Scenario::Mixed => "mixed",
            Scenario::Till => "till",
            Scenario::Transfer => "transfer",
        }
    }

    /// Whether it needs the `/v1` balance route.
    pub fn needs_v1(self) -> bool {
        matches!(self, Scenario::Read | Scenario::Mixed)
    }
}

/// The payment amount of every scenario, in cents and as sent.
pub const PAYMENT_CENTS: i64 = 1;
const PAYMENT: &str = "0.01";
/// The top-up amount of `mixed`.
const TOP_UP_CENTS: i64 = 100;
const TOP_UP: &str = "1.00";

/// What the scenarios share: the server, the cards, the tokens, and the balances the bench
/// expects from the answers it received.
pub struct Fixture {
    pub addr: SocketAddr,
    /// The card ids; card 0 is the hot card.
    pub cards: Vec<String>,
    /// One staff session token per simulated client.
    pub tokens: Vec<String>,
    /// A partner access token for `/v1`, or why `/v1` cannot be used.
    pub partner: Result<String, String>,
    /// Expected balance of each card, in cents.
    pub expected: Vec<AtomicI64>,
    /// Cards that had a movement with an unknown outcome (a transport error): their exact
    /// expected balance is unknown.
    pub uncertain: Vec<AtomicBool>,
    /// The member of each card (`transfer` only; empty otherwise).
    pub members: Vec<i64>,
    /// The logged-in members who pay in `transfer`: (their card's index, their token).
    pub payers: Vec<(usize, String)>,
}

/// Counters of one kind of request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Answered `ok` (POS) or HTTP 2xx (`/v1`).
    pub ok: u64,
    /// Answered, but refused (a POS status other than `ok`, or an HTTP error status).
    pub refused: u64,
    /// No answer: connection error or timeout.
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.ok += other.ok;
        self.refused += other.refused;
        self.failed += other.failed;
    }

    /// Every request of this kind.
    pub fn total(&self) -> u64 {
        self.ok + self.refused + self.failed
    }
}

/// What one scenario measured.
pub struct Outcome {
    pub elapsed: Duration,
    pub pays: Counts,
    pub reads: Counts,
    pub top_ups: Counts,
    pub cancels: Counts,
    /// Payments between members (`transfer`): apart from the POS payments, whose count the
    /// money check compares with the ledger's payments.
    pub transfers: Counts,
    pub other: Counts,
    pub latency: Histogram<u64>,
    pub error_samples: Vec<String>,
}

impl Outcome {
    /// Every request sent.
    pub fn requests(&self) -> u64 {
        self.all().total()
    }

    /// Every request, all kinds together.
    pub fn all(&self) -> Counts {
        let mut all = Counts::default();
        for c in [
            &self.pays,
            &self.reads,
            &self.top_ups,
            &self.cancels,
            &self.transfers,
            &self.other,
        ] {
            all.add(c);
        }
        all
    }

    /// Refused or failed requests.
    pub fn errors(&self) -> u64 {
        let all = self.all();
        all.refused + all.failed
    }
}

struct ClientStats {
    pays: Counts,
    reads: Counts,
    top_ups: Counts,
    cancels: Counts,
    transfers: Counts,
    other: Counts,
    latency: Histogram<u64>,
    last: Instant,
    error_samples: Vec<String>,
}

/// A latency histogram in microseconds, from 1 µs to 100 s, 3 significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 100_000_000, 3)?)
}

/// Runs `scenario` with `clients` clients for `duration`.
pub async fn run(
    fixture: Arc<Fixture>,
    scenario: Scenario,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    // Every client connects first; all start at the same instant.
    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for index in 0..clients {
        let fixture = fixture.clone();
        let latency = histogram()?;
        tasks.push(tokio::spawn(async move {
            client(&fixture, scenario, index, latency, start, deadline).await
        }));
    }
    let mut outcome = Outcome {
        elapsed: Duration::ZERO,
        pays: Counts::default(),
        reads: Counts::default(),
        top_ups: Counts::default(),
        cancels: Counts::default(),
        transfers: Counts::default(),
        other: Counts::default(),
        latency: histogram()?,
        error_samples: Vec::new(),
    };
    let mut last = start.into_std();
    for task in tasks {
        let stats = task.await?;
        outcome.pays.add(&stats.pays);
        outcome.reads.add(&stats.reads);
        outcome.top_ups.add(&stats.top_ups);
        outcome.cancels.add(&stats.cancels);
        outcome.transfers.add(&stats.transfers);
        outcome.other.add(&stats.other);
        outcome.latency.add(&stats.latency)?;
        last = last.max(stats.last);
        for sample in stats.error_samples {
            if outcome.error_samples.len() < 5 {
                outcome.error_samples.push(sample);
            }
        }
    }
    outcome.elapsed = last.saturating_duration_since(start.into_std());
    Ok(outcome)
}

/// A fast, good-enough random generator (xorshift64*), one per client.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 32) as usize) % n.max(1)
    }
}

#[derive(Clone, Copy)]
enum Op {
    Coucou,
    Pay(usize),
    /// A payment through the web till's form.
    TillPay(usize),
    Read(usize),
    TopUp(usize),
    Cancel,
    /// A transfer from payer `.0` (an index of `payers`) to the member of card `.1`.
    Transfer(usize, usize),
}

async fn client(
    fx: &Fixture,
    scenario: Scenario,
    index: usize,
    latency: Histogram<u64>,
    start: tokio::time::Instant,
    deadline: tokio::time::Instant,
) -> ClientStats {
    let mut stats = ClientStats {
        pays: Counts::default(),
        reads: Counts::default(),
        top_ups: Counts::default(),
        cancels: Counts::default(),
        transfers: Counts::default(),
        other: Counts::default(),
        latency,
        last: start.into_std(),
        error_samples: Vec::new(),
    };
    let mut conn = Conn::new(fx.addr);
    // A connection error now shows up as an error of the first request.
    let _ = conn.connect().await;
    tokio::time::sleep_until(start).await;
    let deadline = deadline.into_std();

    let token = fx
        .tokens
        .get(index % fx.tokens.len().max(1))
        .cloned()
        .unwrap_or_default();
    let bearer = match &fx.partner {
        Ok(t) => format!("Authorization: Bearer {t}\r\n"),
        Err(_) => String::new(),
    };
    // The web till: the session cookie and the page's CSRF token, read once from `GET /till`.
    let till_headers = format!(
        "Content-Type: application/x-www-form-urlencoded\r\nCookie: ardoise_session={token}\r\n"
    );
    // Each answer is the whole till page, with the one-time key of the next payment: sent
    // back as a browser would (the bench's own key only if a page held none).
    let mut csrf = String::new();
    let mut till_key = String::new();
    if scenario == Scenario::Till {
        let cookie = format!("Cookie: ardoise_session={token}\r\n");
        if let Ok(200) = conn.send(&Request::get("/till", &cookie)).await {
            csrf = hidden_field(conn.body(), "csrf").unwrap_or_default();
            till_key = hidden_field(conn.body(), "key").unwrap_or_default();
        }
    }
    let mut till_count: u64 = 0;
    let mut rng = Rng::new(index as u64 + 1);
    // This client's accepted payments not yet cancelled (transaction id, card), for `mixed`.
    let mut recent: VecDeque<(i64, usize)> = VecDeque::new();
    let mut body = String::with_capacity(128);
    let mut path = String::with_capacity(64);
    let mut head = String::with_capacity(128);
    let n_cards = fx.cards.len();

    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let op = match scenario {
            Scenario::Coucou => Op::Coucou,
            Scenario::PaySpread | Scenario::PayAlerts => Op::Pay(rng.below(n_cards)),
            Scenario::PayHot => Op::Pay(0),
            Scenario::Read => Op::Read(rng.below(n_cards)),
            Scenario::Till => Op::TillPay(rng.below(n_cards)),
            Scenario::Transfer => {
                let payer = rng.below(fx.payers.len());
                let from = fx.payers.get(payer).map_or(0, |p| p.0);
                // Any other card: a member never pays themself.
                let to = (from + 1 + rng.below(n_cards.max(2) - 1)) % n_cards.max(1);
                Op::Transfer(payer, to)
            }
            Scenario::Mixed => match rng.below(100) {
                0..80 => Op::Read(rng.below(n_cards)),
                80..95 => Op::Pay(rng.below(n_cards)),
                95..99 => Op::TopUp(rng.below(n_cards)),
                _ if !recent.is_empty() => Op::Cancel,
                _ => Op::Pay(rng.below(n_cards)),
            },
        };
        body.clear();
        path.clear();
        head.clear();
        let mut cancelled = None;
        let request = match op {
            Op::Coucou => Request::get("/api/coucou", ""),
            Op::Pay(card) => {
                pos_body(&mut body, &token, &fx.cards[card]);
                body.push_str("&montant=");
                body.push_str(PAYMENT);
                Request::form("/api/client/payer", body.as_bytes())
            }
            Op::TillPay(card) => {
                till_count += 1;
                body.push_str("csrf=");
                body.push_str(&csrf);
                body.push_str("&key=");
                if till_key.is_empty() {
                    body.push_str("bench-");
                    body.push_str(&index.to_string());
                    body.push('-');
                    body.push_str(&till_count.to_string());
                } else {
                    body.push_str(&till_key);
                }
                body.push_str("&card=");
                body.push_str(&fx.cards[card]);
                body.push_str("&amount=");
                body.push_str(PAYMENT);
                body.push_str("&action=pay");
                Request::form_with("/till", &till_headers, body.as_bytes())
            }
            Op::TopUp(card) => {
                pos_body(&mut body, &token, &fx.cards[card]);
                body.push_str("&montant=");
                body.push_str(TOP_UP);
                Request::form("/api/client/recharger", body.as_bytes())
            }
            Op::Cancel => {
                let (id, card) = recent.pop_front().unwrap_or((0, 0));
                cancelled = Some(card);
                body.push_str("jeton=");
                body.push_str(&token);
                body.push_str("&idTransaction=");
                body.push_str(&id.to_string());
                Request::form("/api/annuler", body.as_bytes())
            }
            Op::Transfer(payer, to) => {
                head.push_str("Content-Type: application/json\r\nAuthorization: Bearer ");
                head.push_str(fx.payers.get(payer).map_or("", |p| p.1.as_str()));
                head.push_str("\r\n");
                body.push_str("{\"to\":");
                body.push_str(&fx.members.get(to).copied().unwrap_or(0).to_string());
                body.push_str(",\"amount\":\"");
                body.push_str(PAYMENT);
                body.push_str("\"}");
                Request::form_with("/v1/transfers", &head, body.as_bytes())
            }
            Op::Read(card) => {
                path.push_str("/v1/cards/");
                path.push_str(&fx.cards[card]);
                path.push_str("/balance");
                Request::get(&path, &bearer)
            }
        };
        let sent = conn.send(&request).await;
        let done = Instant::now();
        let _ = stats.latency.record((done - now).as_micros().max(1) as u64);
        stats.last = done;
        let counts = match op {
            Op::Coucou => &mut stats.other,
            Op::Pay(_) | Op::TillPay(_) => &mut stats.pays,
            Op::Transfer(..) => &mut stats.transfers,
            Op::Read(_) => &mut stats.reads,
            Op::TopUp(_) => &mut stats.top_ups,
            Op::Cancel => &mut stats.cancels,
        };
        let status = match sent {
            Ok(status) => status,
            Err(e) => {
                counts.failed += 1;
                let card = match op {
                    Op::Pay(card) | Op::TillPay(card) | Op::TopUp(card) => Some(card),
                    Op::Cancel => cancelled,
                    Op::Transfer(payer, to) => {
                        fx.uncertain[to].store(true, Ordering::Relaxed);
                        fx.payers.get(payer).map(|p| p.0)
                    }
                    Op::Coucou | Op::Read(_) => None,
                };
                if let Some(card) = card {
                    fx.uncertain[card].store(true, Ordering::Relaxed);
                }
                if stats.error_samples.len() < 3 {
                    stats.error_samples.push(format!("{}: {e}", kind(op)));
                }
                // The lost payment's key stays with it: the next one takes a key of its own.
                till_key.clear();
                continue;
            }
        };
        let answer = conn.body();
        if let Op::TillPay(_) = op {
            till_key = hidden_field(answer, "key").unwrap_or_default();
        }
        let accepted = match op {
            Op::Read(_) => (200..300).contains(&status),
            Op::TillPay(_) => status == 200 && find(answer, b"role=\"status\">Paid").is_some(),
            Op::Transfer(..) => status == 201 && find(answer, b"TRANSFER_DONE").is_some(),
            _ => status == 200 && find(answer, br#""status":"ok""#).is_some(),
        };
        if !accepted {
            counts.refused += 1;
            if stats.error_samples.len() < 3 {
                let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]);
                stats
                    .error_samples
                    .push(format!("{}: HTTP {status} {text}", kind(op)));
            }
            continue;
        }
        counts.ok += 1;
        match op {
            Op::TillPay(card) => {
                fx.expected[card].fetch_sub(PAYMENT_CENTS, Ordering::Relaxed);
            }
            Op::Pay(card) => {
                fx.expected[card].fetch_sub(PAYMENT_CENTS, Ordering::Relaxed);
                if scenario == Scenario::Mixed {
                    if let Some(id) = transaction_id(answer) {
                        if recent.len() >= 64 {
                            recent.pop_front();
                        }
                        recent.push_back((id, card));
                    }
                }
            }
            Op::TopUp(card) => {
                fx.expected[card].fetch_add(TOP_UP_CENTS, Ordering::Relaxed);
            }
            Op::Cancel => {
                if let Some(card) = cancelled {
                    fx.expected[card].fetch_add(PAYMENT_CENTS, Ordering::Relaxed);
                }
            }
            Op::Transfer(payer, to) => {
                if let Some((from, _)) = fx.payers.get(payer) {
                    fx.expected[*from].fetch_sub(PAYMENT_CENTS, Ordering::Relaxed);
                    fx.expected[to].fetch_add(PAYMENT_CENTS, Ordering::Relaxed);
                }
            }
            Op::Coucou | Op::Read(_) => {}
        }
    }
    stats
}

fn kind(op: Op) -> &'static str {
    match op {
        Op::Coucou => "coucou",
        Op::Pay(_) => "payment",
        Op::TillPay(_) => "till payment",
        Op::Read(_) => "read",
        Op::TopUp(_) => "top-up",
        Op::Cancel => "cancel",
        Op::Transfer(..) => "transfer",
    }
}

fn pos_body(body: &mut String, token: &str, card: &str) {
    body.push_str("jeton=");
    body.push_str(token);
    body.push_str("&idCarte=");
    body.push_str(card);
}

/// The value of the first hidden form field `name` of a page.
fn hidden_field(page: &[u8], name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let at = find(page, needle.as_bytes())? + needle.len();
    let value: Vec<u8> = page[at..]
        .iter()
        .copied()
        .take_while(|b| *b != b'"')
        .collect();
    String::from_utf8(value).ok()
}

/// The `idTransaction` of a POS answer, read without a full JSON parse.
pub fn transaction_id(answer: &[u8]) -> Option<i64> {
    let key = br#""idTransaction":"#;
    let at = find(answer, key)? + key.len();
    let digits: Vec<u8> = answer[at..]
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_read_from_answers() {
        assert_eq!(
            transaction_id(br#"{"status":"ok","idTransaction":4217,"montant":0.01}"#),
            Some(4217)
        );
        assert_eq!(transaction_id(br#"{"status":"solde_insuffisant"}"#), None);
    }

    #[test]
    fn the_generator_spreads_over_all_cards() {
        let mut rng = Rng::new(1);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            seen[rng.below(10)] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
