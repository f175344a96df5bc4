//! The report of an import: each card whose 10p5 balance differs from the sum of its valid
//! transactions, and the total — the money the old system lost or created.

use std::path::Path;

use ardoise_domain::{ImportPlan, Money};

/// Writes the report as CSV: `card,stored_balance,transactions_sum,difference`, one line per
/// disagreeing card (by id), then a `TOTAL` line. Amounts in euros with two decimals.
pub fn write(path: &Path, plan: &ImportPlan) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(["card", "stored_balance", "transactions_sum", "difference"])?;
    for a in &plan.adjustments {
        out.write_record([
            a.card.as_str(),
            &a.stored.to_fixed2(),
            &a.history.to_fixed2(),
            &a.difference.to_fixed2(),
        ])?;
    }
    let stored: Money = plan.adjustments.iter().map(|a| a.stored).sum();
    let history: Money = plan.adjustments.iter().map(|a| a.history).sum();
    out.write_record([
        "TOTAL",
        &stored.to_fixed2(),
        &history.to_fixed2(),
        &plan.adjustment_total().to_fixed2(),
    ])?;
    out.flush()?;
    Ok(())
}
