//! `ardoise export transactions`: the ledger for the treasurer, as CSV or JSON lines.

use std::io::Write;

use anyhow::Context;
use ardoise_domain::ports::Ledger;
use ardoise_domain::{Transaction, TransactionId};
use chrono::{DateTime, NaiveDate, Utc};

use crate::cli::ExportFormat;

/// How many transactions are read per query, so that a large ledger streams.
const PAGE: u32 = 5_000;

/// Parses a `--from`/`--to` day (UTC).
pub fn parse_day(flag: &str, text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("{flag} `{text}`: expected a day such as 2026-11-26"))
}

/// Writes every transaction made from `from` to `to` (whole UTC days, both included).
pub async fn transactions(
    ledger: &dyn Ledger,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    format: ExportFormat,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let start: Option<DateTime<Utc>> = from
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let end: Option<DateTime<Utc>> = to
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    if matches!(format, ExportFormat::Csv) {
        writeln!(out, "{}", ardoise_domain::report::CSV_HEADER)?;
    }
    let mut after: Option<TransactionId> = None;
    let mut written = 0;
    loop {
        let page = ledger
            .transactions(after, Some(PAGE))
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the transactions: {e}"))?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for tx in &page {
            let in_range =
                start.is_none_or(|s| tx.created_at >= s) && end.is_none_or(|e| tx.created_at < e);
            if in_range {
                match format {
                    ExportFormat::Csv => write_csv(out, tx)?,
                    ExportFormat::Json => write_json(out, tx)?,
                }
                written += 1;
            }
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    out.flush()?;
    Ok(written)
}

fn write_csv(out: &mut dyn Write, tx: &Transaction) -> std::io::Result<()> {
    writeln!(out, "{}", tx.csv_line())
}

fn write_json(out: &mut dyn Write, tx: &Transaction) -> std::io::Result<()> {
    let line = serde_json::json!({
        "id": tx.id.0,
        "date": tx.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "card": tx.card.as_str(),
        "kind": tx.kind.name(),
        "amount": tx.amount.to_fixed2(),
        "quantity": tx.quantity,
        "state": tx.state_name(),
        "staff": tx.author,
        "product": tx.product,
    });
    writeln!(out, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert!(parse_day("--from", "2026-11-26").is_ok());
        let err = parse_day("--from", "26/11/2026").unwrap_err().to_string();
        assert!(err.contains("--from"), "{err}");
    }
}
