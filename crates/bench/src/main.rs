//! `ardoise-bench`: starts the real `ardoise serve` on a fresh database, sets up staff, cards
//! and a partner, drives keep-alive HTTP load from C concurrent clients for T seconds per
//! scenario, then checks on every card that no money was lost or created (invariant 1 of
//! `pos-api.md`). It also measures the machine's raw durable-commit rate, to compare.
//!
//! Output: one block of figures per database and scenario, then one JSON line with them all.

mod http;
mod load;
mod notify;
mod raw;
mod server;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::Parser;
use serde_json::{json, Map, Value};

use load::{Fixture, Outcome, Scenario, PAYMENT_CENTS};
use server::{Backend, Database, Server};

/// Load benchmark of the real `ardoise` binary (build it first:
/// `cargo build --release --bin ardoise --bin ardoise-bench`).
#[derive(Debug, Parser)]
#[command(name = "ardoise-bench", version, about)]
struct Args {
    /// Concurrent clients, each on one keep-alive connection.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of load per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Comma-separated scenarios: pay-spread, pay-alerts, pay-hot, read, mixed, till,
    /// transfer (and coucou, and notify: webhook deliveries/s, run after the others).
    #[arg(
        long,
        default_value = "pay-spread,pay-alerts,pay-hot,read,mixed,till,transfer,notify"
    )]
    scenarios: String,
    /// Comma-separated databases: sqlite, postgres. Default: sqlite, plus postgres when
    /// ARDOISE_BENCH_POSTGRES_URL is set.
    #[arg(long)]
    database: Option<String>,
    /// Cards opened before the load.
    #[arg(long, default_value_t = 1000)]
    cards: usize,
    /// Seconds of the raw durable-commit loop (0: skip).
    #[arg(long, default_value_t = 3)]
    raw_seconds: u64,
    /// Seconds of the `coucou` calibration run that shows the generator's ceiling (0: skip).
    /// Default: 3, or the scenario length if shorter.
    #[arg(long)]
    calibrate_seconds: Option<u64>,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The `ardoise` binary (default: next to this one, or target/release/ardoise).
    #[arg(long, value_name = "PATH")]
    ardoise: Option<PathBuf>,
    /// RUST_LOG of the server (`info` logs one line per request, as in production).
    #[arg(long, default_value = "warn")]
    server_log: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ardoise-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<bool> {
    let scenarios = args
        .scenarios
        .split(',')
        .filter(|s| !s.trim().is_empty() && s.trim() != NOTIFY)
        .map(|s| Scenario::parse(s).ok_or_else(|| anyhow!("unknown scenario `{s}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let notify = args.scenarios.split(',').any(|s| s.trim() == NOTIFY);
    let pg_url = std::env::var("ARDOISE_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let backends = match &args.database {
        Some(list) => list
            .split(',')
            .map(|b| match b.trim() {
                "sqlite" => Ok(Backend::Sqlite),
                "postgres" | "postgresql" => Ok(Backend::Postgres),
                other => Err(anyhow!("unknown database `{other}` (sqlite or postgres)")),
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
        None if pg_url.is_some() => vec![Backend::Sqlite, Backend::Postgres],
        None => {
            println!("PostgreSQL skipped: ARDOISE_BENCH_POSTGRES_URL is not set");
            vec![Backend::Sqlite]
        }
    };
    if args.clients == 0 || args.seconds == 0 {
        bail!("--clients and --seconds must be at least 1");
    }
    let binary = server::find_binary(args.ardoise.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;

    let machine = machine();
    println!(
        "ardoise-bench: {} clients, {} s per scenario, scenarios {}, server {}",
        args.clients,
        args.seconds,
        scenarios
            .iter()
            .map(|s| s.name())
            .chain(notify.then_some(NOTIFY))
            .collect::<Vec<_>>()
            .join(","),
        binary.display()
    );
    println!(
        "machine: {} cores ({}), {} MiB memory, load average {} at start{}",
        machine["nproc"],
        machine["cpu"],
        machine["memory_mib"],
        machine["load_average_1min_at_start"],
        if machine["load_average_1min_at_start"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.5
        {
            " (other work is running: figures will be lower; see othCPU)"
        } else {
            ""
        }
    );

    let mut all_ok = true;
    let mut results = Map::new();
    for backend in backends {
        println!("\n=== {} ===", backend.name());
        let db = match backend {
            Backend::Sqlite => Database::sqlite()?,
            Backend::Postgres => {
                let Some(url) = &pg_url else {
                    bail!("--database postgres needs ARDOISE_BENCH_POSTGRES_URL");
                };
                Database::postgres(url)?
            }
        };
        match run_backend(args, &binary, &db, &scenarios, notify, &runtime) {
            Ok((figures, ok)) => {
                all_ok &= ok;
                results.insert(backend.name().into(), figures);
            }
            Err(e) => {
                eprintln!("{}: {e:#}", backend.name());
                all_ok = false;
                results.insert(backend.name().into(), json!({ "error": format!("{e:#}") }));
            }
        }
    }
    let targets = targets(&results);
    println!("\ntargets (2-core machine, 64 clients, as in the issue):");
    for (name, t) in targets.as_object().into_iter().flatten() {
        println!(
            "  {name:<28} {:>10} (target {}) {}",
            fmt_num(t["measured"].as_f64()),
            t["target"],
            match t["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "n/a",
            }
        );
    }
    let line = json!({
        "bench": "ardoise",
        "clients": args.clients,
        "seconds": args.seconds,
        "machine": machine,
        "results": results,
        "targets": targets,
        "money_ok": all_ok,
    });
    println!("{line}");
    Ok(all_ok)
}

/// The `notify` scenario's name (it has its own driver, [`notify::run`]).
const NOTIFY: &str = "notify";

/// How many members log in to pay in `transfer` (each login hashes a password: a few
/// hundred keep the set-up short); the payees are every card's member.
const PAYERS: usize = 256;

/// One database: set up, raw rate, calibration, scenarios, check. Returns its figures and
/// whether the money checks passed.
fn run_backend(
    args: &Args,
    binary: &std::path::Path,
    db: &Database,
    scenarios: &[Scenario],
    notify: bool,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<(Value, bool)> {
    let mut figures = Map::new();
    let raw_rate = if args.raw_seconds > 0 {
        let duration = Duration::from_secs(args.raw_seconds);
        let rate = match db.backend {
            Backend::Sqlite => raw::sqlite(db.dir.path(), duration)?,
            Backend::Postgres => raw::postgres(&db.url, duration)?,
        };
        println!(
            "raw durable commits (1 update + 1 insert per transaction{}): {:.0}/s ({} in {:.1} s)",
            if db.backend == Backend::Sqlite {
                ", WAL, synchronous=FULL"
            } else {
                ""
            },
            rate.per_second(),
            rate.commits,
            rate.seconds
        );
        figures.insert("raw_commits_per_s".into(), json!(round(rate.per_second())));
        Some(rate.per_second())
    } else {
        None
    };

    // Only `serve` and `migrate` create a database; the other commands refuse to.
    server::ardoise(binary, db, &["migrate"])?;
    server::ardoise(
        binary,
        db,
        &[
            "user",
            "add",
            "--login",
            setup::STAFF_LOGIN,
            "--password",
            setup::STAFF_PASSWORD,
            "--rights",
            "3",
        ],
    )?;
    let env: &[(&str, &str)] = if notify { &notify::SERVER_ENV } else { &[] };
    let server = Server::start(binary, db, &args.server_log, env)?;
    println!("server pid {} on {}", server.pid(), server.addr);
    let rss_resettable = server.reset_peak_rss();

    let fixture = runtime.block_on(async {
        let tokens = setup::sessions(server.addr, args.clients).await?;
        let cards = setup::open_cards(server.addr, &tokens[0], args.cards.max(1)).await?;
        let partner = setup::partner_token(binary, db, server.addr, &cards[0]).await;
        let with_members = [Scenario::Transfer, Scenario::PayAlerts];
        let (members, payers) = if scenarios.iter().any(|s| with_members.contains(s)) {
            setup::members(server.addr, &tokens[0], &cards, cards.len().min(PAYERS)).await?
        } else {
            (Vec::new(), Vec::new())
        };
        let n = cards.len();
        Ok::<_, anyhow::Error>(Fixture {
            addr: server.addr,
            cards,
            tokens,
            partner,
            expected: (0..n)
                .map(|_| AtomicI64::new(setup::OPENING_CENTS))
                .collect(),
            uncertain: (0..n).map(|_| AtomicBool::new(false)).collect(),
            members,
            payers,
        })
    })?;
    let fixture = Arc::new(fixture);
    println!(
        "set up: {} staff sessions, {} cards of {} EUR ({} members, {} logged in), /v1: {}",
        fixture.tokens.len(),
        fixture.cards.len(),
        setup::OPENING,
        fixture.members.len(),
        fixture.payers.len(),
        match &fixture.partner {
            Ok(_) => "partner token ready".to_owned(),
            Err(why) => why.clone(),
        }
    );

    let calibrate = args.calibrate_seconds.unwrap_or(args.seconds.min(3));
    let mut plan: Vec<(Scenario, u64)> = Vec::new();
    if calibrate > 0 && !scenarios.contains(&Scenario::Coucou) {
        plan.push((Scenario::Coucou, calibrate));
    }
    plan.extend(scenarios.iter().map(|s| (*s, args.seconds)));

    let mut per_scenario = Map::new();
    let mut payments_accepted = 0u64;
    let mut cancels_accepted = 0u64;
    let mut top_ups_accepted = 0u64;
    let mut unknown_outcomes = 0u64;
    let mut peak_rss_kib = 0u64;
    let mut figures_generator_ceiling = None;
    println!(
        "{:<11} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>6} {:>6} {:>6}",
        "scenario",
        "requests",
        "req/s",
        "pay/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "RSS MiB",
        "srvCPU",
        "genCPU",
        "othCPU"
    );
    for (scenario, seconds) in plan {
        if scenario.needs_v1() {
            if let Err(why) = &fixture.partner {
                println!("{:<11} skipped: {why}", scenario.name());
                per_scenario.insert(
                    scenario.name().into(),
                    json!({ "skipped": format!("skipped: {why}") }),
                );
                continue;
            }
        }
        if scenario == Scenario::PayAlerts {
            let set = setup::low_balance_alerts(db)?;
            println!("    low-balance alerts set at their balance for {set} members' cards");
        }
        if scenario == Scenario::PayHot {
            // Enough money on the hot card for 60,000 payments a second, whatever happens.
            let needed = seconds as i64 * 60_000 * PAYMENT_CENTS;
            let times = (needed / setup::MAX_TOP_UP_CENTS + 1) as usize;
            runtime.block_on(async {
                let mut conn = http::Conn::new(fixture.addr);
                setup::top_up(&mut conn, &fixture.tokens[0], &fixture.cards[0], times).await
            })?;
            fixture.expected[0]
                .fetch_add(times as i64 * setup::MAX_TOP_UP_CENTS, Ordering::Relaxed);
            top_ups_accepted += times as u64;
        }
        let rss_reset = server.reset_peak_rss();
        let machine_cpu = machine_busy_seconds();
        let server_cpu = server.cpu_seconds();
        let bench_cpu = server::cpu_seconds("/proc/self/stat");
        let outcome = runtime.block_on(load::run(
            fixture.clone(),
            scenario,
            args.clients,
            Duration::from_secs(seconds),
        ))?;
        let server_cpu = server.cpu_seconds().zip(server_cpu).map(|(b, a)| b - a);
        let bench_cpu = server::cpu_seconds("/proc/self/stat")
            .zip(bench_cpu)
            .map(|(b, a)| b - a);
        // CPU used by neither the server nor the generator (other processes on the machine):
        // when it is not near zero, the figures are disturbed.
        let other_cpu = machine_busy_seconds()
            .zip(machine_cpu)
            .map(|(b, a)| b - a - server_cpu.unwrap_or(0.0) - bench_cpu.unwrap_or(0.0));
        let rss = server.peak_rss_kib().unwrap_or(0);
        peak_rss_kib = peak_rss_kib.max(rss);
        payments_accepted += outcome.pays.ok;
        cancels_accepted += outcome.cancels.ok;
        top_ups_accepted += outcome.top_ups.ok;
        unknown_outcomes += outcome.pays.failed
            + outcome.cancels.failed
            + outcome.top_ups.failed
            + outcome.transfers.failed;
        let mut figures = scenario_figures(&outcome, server_cpu, bench_cpu, rss, rss_reset);
        if let (Some(other), Some(map)) = (other_cpu, figures.as_object_mut()) {
            let cores = other / outcome.elapsed.as_secs_f64().max(1e-9);
            map.insert(
                "other_processes_cpu_cores".into(),
                json!(round2(cores.max(0.0))),
            );
        }
        if scenario == Scenario::PayAlerts {
            let queued = setup::low_balance_alerts_queued(db)?;
            if let Some(map) = figures.as_object_mut() {
                map.insert("low_balance_alerts_queued".into(), json!(queued));
                let spread = per_scenario
                    .get(Scenario::PaySpread.name())
                    .and_then(|f| f["accepted_payments_per_s"].as_f64());
                let alerts = map["accepted_payments_per_s"].as_f64();
                if let (Some(spread), Some(alerts)) = (spread.filter(|s| *s > 0.0), alerts) {
                    map.insert("of_pay_spread".into(), json!(round2(alerts / spread)));
                }
            }
        }
        print_row(scenario, &figures);
        if scenario == Scenario::PayAlerts {
            println!(
                "    low-balance alerts queued: {}, {} of pay-spread",
                figures["low_balance_alerts_queued"],
                figures.get("of_pay_spread").cloned().unwrap_or(Value::Null)
            );
        }
        if scenario == Scenario::Coucou {
            if let Some(cost) = figures["generator_cpu_us_per_request"]
                .as_f64()
                .filter(|c| *c > 0.0)
            {
                println!(
                    "    generator: {cost:.1} µs of CPU per request, a ceiling of about {:.0} req/s \
                     on {} cores with the server elsewhere",
                    1e6 / cost * args.threads.max(1) as f64,
                    args.threads.max(1)
                );
                figures_generator_ceiling = Some(round(1e6 / cost * args.threads.max(1) as f64));
            }
        }
        for sample in &outcome.error_samples {
            println!("    error sample: {sample}");
        }
        per_scenario.insert(scenario.name().into(), figures);
    }

    let mut notify_ok = true;
    if notify {
        let outcome = runtime.block_on(notify::run(
            binary,
            db,
            server.addr,
            &fixture.tokens[0],
            args.clients,
            Duration::from_secs(args.seconds),
        ))?;
        println!(
            "{NOTIFY:<11} {} queued ({}/s), {} delivered in {:.1} s: {:.0} deliveries/s, \
             {} duplicates, {} lost, {} refused, {} errors",
            outcome.queued,
            fmt_num(outcome.figures()["queued_per_s"].as_f64()),
            outcome.delivered,
            outcome.elapsed.as_secs_f64(),
            outcome.deliveries_per_s(),
            outcome.deliveries.saturating_sub(outcome.delivered),
            outcome.lost,
            outcome.refused,
            outcome.errors
        );
        for sample in &outcome.error_samples {
            println!("    error sample: {sample}");
        }
        if outcome.lost > 0 || outcome.queued == 0 {
            println!(
                "  NOTIFY CHECK FAILED: {} of {} messages lost",
                outcome.lost, outcome.queued
            );
            notify_ok = false;
        }
        per_scenario.insert(NOTIFY.into(), outcome.figures());
    }

    if let (Some(raw), Some(rate)) = (
        raw_rate,
        per_scenario
            .get("pay-spread")
            .and_then(|f| f["accepted_payments_per_s"].as_f64()),
    ) {
        let ratio = if raw > 0.0 { rate / raw } else { 0.0 };
        println!("pay-spread / raw durable commit rate: {ratio:.2}x");
        figures.insert("pay_spread_vs_raw".into(), json!(round2(ratio)));
    }

    let expected_cards = Arc::clone(&fixture);
    let verdict = runtime.block_on(setup::verify(
        server.addr,
        &setup::Expectations {
            cards: &expected_cards.cards,
            expected: &expected_cards.expected,
            uncertain: &expected_cards.uncertain,
            payments_accepted,
            cancels_accepted,
            top_ups_accepted,
            unknown_outcomes,
        },
    ));
    let verdict = match verdict {
        Ok(v) => v,
        Err(e) => {
            eprintln!("server log:\n{}", server.log_tail());
            return Err(e.context("cannot check the cards after the run"));
        }
    };
    println!(
        "money check: {} cards, invariant 1 {} ({} violations), balances as answered: {} \
         ({} differ), payments {} in ledger / {} ok, cancelled {} / {} ok, top-ups {} / {} ok, \
         {} without answer",
        verdict.cards_checked,
        if verdict.invariant_violations == 0 {
            "holds"
        } else {
            "BROKEN"
        },
        verdict.invariant_violations,
        if verdict.unexpected_balances == 0 {
            "yes"
        } else {
            "NO"
        },
        verdict.unexpected_balances,
        verdict.payments_in_ledger,
        verdict.payments_accepted,
        verdict.cancelled_in_ledger,
        verdict.cancels_accepted,
        verdict.top_ups_in_ledger,
        verdict.top_ups_accepted,
        verdict.unknown_outcomes,
    );
    for problem in &verdict.problems {
        println!("  MONEY CHECK FAILED: {problem}");
    }
    println!(
        "server peak RSS during load: {:.1} MiB{}",
        peak_rss_kib as f64 / 1024.0,
        if rss_resettable {
            " (VmHWM, reset before each scenario)"
        } else {
            " (VmHWM since start)"
        }
    );
    server.stop();

    figures.insert("scenarios".into(), Value::Object(per_scenario));
    figures.insert(
        "generator_ceiling_req_per_s".into(),
        json!(figures_generator_ceiling),
    );
    figures.insert(
        "server_peak_rss_mib".into(),
        json!(round2(peak_rss_kib as f64 / 1024.0)),
    );
    figures.insert(
        "money_check".into(),
        json!({
            "ok": verdict.ok(),
            "cards_checked": verdict.cards_checked,
            "invariant_violations": verdict.invariant_violations,
            "unexpected_balances": verdict.unexpected_balances,
            "payments_in_ledger": verdict.payments_in_ledger,
            "payments_accepted": verdict.payments_accepted,
            "cancelled_in_ledger": verdict.cancelled_in_ledger,
            "cancels_accepted": verdict.cancels_accepted,
            "top_ups_in_ledger": verdict.top_ups_in_ledger,
            "top_ups_accepted": verdict.top_ups_accepted,
            "unknown_outcomes": verdict.unknown_outcomes,
        }),
    );
    Ok((Value::Object(figures), verdict.ok() && notify_ok))
}

fn scenario_figures(
    o: &Outcome,
    server_cpu: Option<f64>,
    bench_cpu: Option<f64>,
    rss_kib: u64,
    rss_reset: bool,
) -> Value {
    let secs = o.elapsed.as_secs_f64().max(1e-9);
    let ms = |q: f64| round3(o.latency.value_at_quantile(q) as f64 / 1000.0);
    json!({
        "seconds": round2(secs),
        "requests": o.requests(),
        "requests_per_s": round(o.requests() as f64 / secs),
        // A payment between members counts as a payment here (the `transfer` scenario).
        "accepted_payments_per_s": round((o.pays.ok + o.transfers.ok) as f64 / secs),
        "p50_ms": ms(0.50),
        "p95_ms": ms(0.95),
        "p99_ms": ms(0.99),
        "max_ms": round3(o.latency.max() as f64 / 1000.0),
        "errors": o.errors(),
        "payments": counts(&o.pays),
        "reads": counts(&o.reads),
        "top_ups": counts(&o.top_ups),
        "cancels": counts(&o.cancels),
        "transfers": counts(&o.transfers),
        "server_peak_rss_mib": round2(rss_kib as f64 / 1024.0),
        "rss_scope": if rss_reset { "scenario" } else { "since start" },
        "server_cpu_cores": server_cpu.map(|c| round2(c / secs)),
        "generator_cpu_cores": bench_cpu.map(|c| round2(c / secs)),
        // CPU time per request: the generator's own ceiling is about 1e6 / this per core.
        "server_cpu_us_per_request": server_cpu.map(|c| round2(c * 1e6 / o.requests().max(1) as f64)),
        "generator_cpu_us_per_request": bench_cpu.map(|c| round2(c * 1e6 / o.requests().max(1) as f64)),
    })
}

fn counts(c: &load::Counts) -> Value {
    json!({ "ok": c.ok, "refused": c.refused, "failed": c.failed })
}

fn print_row(scenario: Scenario, f: &Value) {
    println!(
        "{:<11} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>6} {:>6} {:>6}",
        scenario.name(),
        f["requests"],
        fmt_num(f["requests_per_s"].as_f64()),
        fmt_num(f["accepted_payments_per_s"].as_f64()),
        f["p50_ms"],
        f["p95_ms"],
        f["p99_ms"],
        f["errors"],
        f["server_peak_rss_mib"],
        f["server_cpu_cores"],
        f["generator_cpu_cores"],
        f["other_processes_cpu_cores"],
    );
}

/// The targets, checked against what was measured.
fn targets(results: &Map<String, Value>) -> Value {
    let get = |backend: &str, scenario: &str, field: &str| {
        results
            .get(backend)
            .and_then(|b| b["scenarios"].get(scenario))
            .and_then(|s| s[field].as_f64())
    };
    let rss = results
        .values()
        .filter_map(|b| b["server_peak_rss_mib"].as_f64())
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let ratio = results
        .get("sqlite")
        .and_then(|b| b["pay_spread_vs_raw"].as_f64());
    let check = |measured: Option<f64>, target: f64, at_least: bool| {
        json!({
            "measured": measured,
            "target": if at_least { format!(">= {target}") } else { format!("<= {target}") },
            "met": measured.map(|m| if at_least { m >= target } else { m <= target }),
        })
    };
    json!({
        "sqlite pay-spread /s": check(get("sqlite", "pay-spread", "accepted_payments_per_s"), 30_000.0, true),
        "sqlite pay-spread vs raw": check(ratio, 4.0, true),
        "sqlite pay-hot /s": check(get("sqlite", "pay-hot", "accepted_payments_per_s"), 20_000.0, true),
        "sqlite read req/s": check(get("sqlite", "read", "requests_per_s"), 60_000.0, true),
        "sqlite pay-spread p99 ms": check(get("sqlite", "pay-spread", "p99_ms"), 10.0, false),
        "server peak RSS MiB": check(rss, 100.0, false),
        "sqlite till vs pay-spread": check(
            get("sqlite", "till", "accepted_payments_per_s")
                .zip(get("sqlite", "pay-spread", "accepted_payments_per_s"))
                .map(|(till, spread)| till / spread),
            0.5,
            true,
        ),
        "sqlite notify deliveries/s": check(get("sqlite", "notify", "deliveries_per_s"), 2_000.0, true),
        "sqlite till p99 ms": check(get("sqlite", "till", "p99_ms"), 10.0, false),
        "postgres pay-spread /s": check(get("postgres", "pay-spread", "accepted_payments_per_s"), 8_000.0, true),
        "sqlite transfer vs pay-spread": check(
            get("sqlite", "transfer", "accepted_payments_per_s")
                .zip(get("sqlite", "pay-spread", "accepted_payments_per_s"))
                .map(|(transfer, spread)| transfer / spread),
            0.5,
            true,
        ),
        "postgres transfer vs pay-spread": check(
            get("postgres", "transfer", "accepted_payments_per_s")
                .zip(get("postgres", "pay-spread", "accepted_payments_per_s"))
                .map(|(transfer, spread)| transfer / spread),
            0.5,
            true,
        ),
    })
}

/// CPU seconds the whole machine spent busy (not idle nor waiting for I/O), from /proc/stat.
fn machine_busy_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy: f64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, v)| v)
        .sum();
    Some(busy / 100.0)
}

/// nproc, CPU model and memory, from /proc.
fn machine() -> Value {
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, name)| name.trim().to_owned())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_mib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib / 1024)
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| {
        l.split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
    });
    json!({ "nproc": nproc, "cpu": cpu, "memory_mib": memory_mib, "load_average_1min_at_start": load })
}

fn fmt_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
        None => "-".into(),
    }
}

fn round(v: f64) -> f64 {
    v.round()
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
