//! What the reports read: the transactions of a period and the money held on cards at its
//! end (rights ≥ 2, as the statistics), and the ledger's CSV line for the treasurer.

use chrono::{DateTime, Utc};

use crate::bar::Bar;
use crate::error::DomainError;
use crate::ids::TransactionId;
use crate::money::Money;
use crate::rights::{Actor, Operation};
use crate::transaction::Transaction;

/// How many transactions are read per query, so that a large ledger streams.
const PAGE: u32 = 5_000;

/// The ledger over a period, for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// The transactions made in `[from, to)`, oldest first, cancelled ones included.
    pub transactions: Vec<Transaction>,
    /// The sum of the cards' balances at `to` (overdrafts counted negative), as the valid
    /// transactions leave it: today's balances less what valid transactions did since.
    pub held_at_end: Money,
}

impl Bar {
    /// The transactions of `[from, to)` and the money held on cards at `to`.
    pub async fn period(
        &self,
        actor: &Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Period, DomainError> {
        actor.check(Operation::Statistics)?;
        let totals = self.statistics(actor).await?;
        let mut held = totals.net.cents();
        let mut transactions = Vec::new();
        let mut after: Option<TransactionId> = None;
        loop {
            let page = self.ledger.transactions(after, Some(PAGE)).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let full = page.len() == PAGE as usize;
            for tx in page {
                if tx.created_at >= to {
                    if tx.valid {
                        held -= tx.signed_amount().cents();
                    }
                } else if tx.created_at >= from {
                    transactions.push(tx);
                }
            }
            if !full {
                break;
            }
        }
        Ok(Period {
            transactions,
            held_at_end: Money::from_cents(held),
        })
    }
}

/// The header of the ledger's CSV export (`product` last, so older readers keep their
/// columns).
pub const CSV_HEADER: &str = "id,date,card,kind,amount,quantity,state,staff,product";

/// Quotes a field when it holds a separator, a quote or a line break, and defuses cells that a
/// spreadsheet would read as a formula.
pub fn csv_field(text: &str) -> String {
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

impl Transaction {
    /// `valid` or `cancelled`.
    pub fn state_name(&self) -> &'static str {
        if self.valid {
            "valid"
        } else {
            "cancelled"
        }
    }

    /// The transaction as one line of the CSV export (without the line break).
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{}",
            self.id,
            self.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            csv_field(self.card.as_str()),
            self.kind.name(),
            self.amount.to_fixed2(),
            self.quantity,
            self.state_name(),
            csv_field(&self.author),
            csv_field(self.product.as_deref().unwrap_or("")),
        )
    }
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
}
