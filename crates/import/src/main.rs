//! `ardoise-import`: moves a bar from another system into ardoise.
//!
//! `ardoise-import 10p5 (--from mysql://… | --dump FILE.sql) --database-url URL [--dry-run]
//! [--report FILE.csv] [--accept-rounding]` reads a 10p5 database (live, read-only, or a
//! `mysqldump` of it), parses every value with the domain's parsers, reconciles every card
//! (`ardoise_domain::ImportPlan`) and writes the whole plan into ardoise's database in one
//! transaction (`ardoise_store::Store::import`). See docs/operations.md, "Moving from 10p5".

mod dump;
mod live;
mod report;
mod source;
mod tenp5;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ardoise_domain::{ImportPlan, Login, Money, Policy};
use ardoise_store::{Store, StoreSettings};
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// ardoise-import: moves a bar's cards, history and staff from another system into ardoise.
#[derive(Debug, Parser)]
#[command(name = "ardoise-import", version)]
struct Cli {
    #[command(subcommand)]
    source: SourceCommand,
}

#[derive(Debug, Subcommand)]
enum SourceCommand {
    /// Imports a 10p5 server's database (MySQL/MariaDB), live or from a mysqldump file.
    #[command(name = "10p5")]
    TenP5(TenP5Args),
}

#[derive(Debug, Args)]
struct TenP5Args {
    /// The 10p5 database, read-only: mysql://user:password@host:port/database
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "dump",
        conflicts_with = "dump"
    )]
    from: Option<String>,
    /// A mysqldump (or mariadb-dump) file of the 10p5 database.
    #[arg(long, value_name = "FILE.sql")]
    dump: Option<PathBuf>,
    /// ardoise's database, empty (it is migrated first): sqlite://path/file.db or postgres://…
    #[arg(long, env = "ARDOISE_DATABASE_URL", value_name = "URL")]
    database_url: String,
    /// Checks everything and writes it in a transaction that is then rolled back: nothing
    /// changes (but the schema migrations).
    #[arg(long)]
    dry_run: bool,
    /// Writes the cards whose balance disagrees with their history to this CSV file.
    #[arg(long, value_name = "FILE.csv")]
    report: Option<PathBuf>,
    /// Imports amounts further than 0.001 from a whole cent at the nearest cent (they are
    /// listed) instead of stopping.
    #[arg(long)]
    accept_rounding: bool,
    /// The overdraft limit given to cards with 10p5's overdraft flag (ardoise's
    /// money.overdraft_default).
    #[arg(
        long,
        env = "ARDOISE__MONEY__OVERDRAFT_DEFAULT",
        default_value = "50.00",
        value_name = "AMOUNT",
        value_parser = parse_limit
    )]
    overdraft_limit: Money,
}

fn parse_limit(text: &str) -> Result<Money, String> {
    match Money::parse(text) {
        Ok(m) if m.cents() >= 0 => Ok(m),
        Ok(_) => Err("the overdraft limit cannot be negative".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let SourceCommand::TenP5(args) = cli.source;
    match import_10p5(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ardoise-import: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn list(title: &str, items: &[String]) -> String {
    let mut text = format!("{title} ({}):", items.len());
    for item in items {
        text.push_str("\n  - ");
        text.push_str(item);
    }
    text
}

fn import_10p5(args: &TenP5Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let reading = spinner("reading the 10p5 database");
    let tables = match (&args.from, &args.dump) {
        (Some(url), _) => live::read(url),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            dump::read(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, None) => bail!("give --from or --dump"),
    };
    reading.finish_and_clear();
    let tables = tables.map_err(anyhow::Error::msg)?;

    let policy = Policy {
        overdraft_default: args.overdraft_limit,
        ..Policy::default()
    };
    let converted = tenp5::convert(&tables, &policy, args.accept_rounding)
        .map_err(|problems| anyhow::anyhow!(list("the 10p5 data cannot be imported", &problems)))?;
    let at = Utc::now();
    let author = Login::parse("ardoise-import").context("the importer's login")?;
    let plan = ImportPlan::new(converted.input, at, &author)
        .map_err(|problems| anyhow::anyhow!(list("the 10p5 data cannot be imported", &problems)))?;

    let mut warnings = converted.warnings;
    warnings.extend(converted.roundings.iter().map(|r| format!("rounded: {r}")));
    warnings.extend(plan.warnings.iter().cloned());
    if !warnings.is_empty() {
        eprintln!("ardoise-import: {}", list("warnings", &warnings));
    }
    if let Some(path) = &args.report {
        report::write(path, &plan)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }

    let store = Store::connect(&StoreSettings::new(args.database_url.clone()))
        .context("cannot open ardoise's database")?;
    store
        .migrate()
        .context("cannot migrate ardoise's database")?;
    let rows = plan.products.len() + plan.cards.len() + plan.transactions.len() + plan.users.len();
    let bar = ProgressBar::new(u64::try_from(rows).unwrap_or(u64::MAX));
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} rows ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let summary = store.import(&plan, "10p5", at, args.dry_run, &mut |step, n| {
        bar.set_message(step.label());
        bar.inc(u64::try_from(n).unwrap_or(0));
    });
    bar.finish_and_clear();
    let summary = summary.context("the import was not written")?;

    let total: Money = plan.adjustment_total();
    println!(
        "{} {} cards, {} transactions ({} from 10p5, {} import adjustments), {} products, {} \
         staff users in {:.1} s.",
        if args.dry_run {
            "Dry run, nothing written: would import"
        } else {
            "Imported"
        },
        summary.cards,
        summary.transactions,
        plan.imported_transactions(),
        plan.adjustments.len(),
        summary.products,
        summary.users,
        started.elapsed().as_secs_f64()
    );
    println!(
        "Cards whose 10p5 balance differs from their history: {}; total difference {} \
         (positive: the old system created money; negative: it lost some).",
        plan.adjustments.len(),
        total.to_fixed2()
    );
    Ok(())
}
