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
        writeln!(out, "id,date,card,kind,amount,quantity,state,staff")?;
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

fn state(tx: &Transaction) -> &'static str {
    if tx.valid {
        "valid"
    } else {
        "cancelled"
    }
}

fn write_csv(out: &mut dyn Write, tx: &Transaction) -> std::io::Result<()> {
    writeln!(
        out,
        "{},{},{},{},{},{},{},{}",
        tx.id,
        tx.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        csv_field(tx.card.as_str()),
        tx.kind.name(),
        tx.amount.to_fixed2(),
        tx.quantity,
        state(tx),
        csv_field(&tx.author),
    )
}

/// Quotes a field when it holds a separator, a quote or a line break, and defuses cells that a
/// spreadsheet would read as a formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn write_json(out: &mut dyn Write, tx: &Transaction) -> std::io::Result<()> {
    let line = serde_json::json!({
        "id": tx.id.0,
        "date": tx.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "card": tx.card.as_str(),
        "kind": tx.kind.name(),
        "amount": tx.amount.to_fixed2(),
        "quantity": tx.quantity,
        "state": state(tx),
        "staff": tx.author,
    });
    writeln!(out, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("AHS0DIEX"), "AHS0DIEX");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn days() {
        assert!(parse_day("--from", "2026-11-26").is_ok());
        let err = parse_day("--from", "26/11/2026").unwrap_err().to_string();
        assert!(err.contains("--from"), "{err}");
    }
}
