//! The append-only ledger: transactions, their kinds, and cancel/redo state changes.

use chrono::{DateTime, Utc};

use crate::ids::{CardId, TransactionId};
use crate::money::Money;

/// What a transaction did. The numbers are the POS wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    /// 1: the card's opening balance.
    Creation,
    /// 2: money put on the card.
    TopUp,
    /// 3: money spent at the bar.
    Payment,
    /// 4: the balance handed back in cash, leaving the card at zero.
    Drain,
    /// 5: the balance moved to the card that replaces this one (the debit half of a
    /// replacement; `amount` is the moved balance, possibly negative with an overdraft).
    TransferOut,
    /// 6: the balance received from the card this one replaces (the credit half).
    TransferIn,
    /// 7: the difference between a card's balance in the system it was imported from and the
    /// sum of its imported history (`amount` is signed: positive when the old system held more
    /// than its history explains). Written once per card by `ardoise-import`, never by a
    /// request, and never cancelled.
    ImportAdjustment,
    /// 8: a coupon redeemed on the card: its value credited (a coupon of a product records
    /// the product, one unit, and no money). Never cancelled: the coupon is used.
    Coupon,
    /// 9: a partner's debit under the member's mandate (`author` names the partner). Undone
    /// only by the partner's refund, which cancels it.
    PartnerDebit,
}

impl TransactionKind {
    /// The POS wire code.
    pub fn code(self) -> i16 {
        match self {
            TransactionKind::Creation => 1,
            TransactionKind::TopUp => 2,
            TransactionKind::Payment => 3,
            TransactionKind::Drain => 4,
            TransactionKind::TransferOut => 5,
            TransactionKind::TransferIn => 6,
            TransactionKind::ImportAdjustment => 7,
            TransactionKind::Coupon => 8,
            TransactionKind::PartnerDebit => 9,
        }
    }

    /// The kind from its code.
    pub fn from_code(code: i64) -> Option<TransactionKind> {
        match code {
            1 => Some(TransactionKind::Creation),
            2 => Some(TransactionKind::TopUp),
            3 => Some(TransactionKind::Payment),
            4 => Some(TransactionKind::Drain),
            5 => Some(TransactionKind::TransferOut),
            6 => Some(TransactionKind::TransferIn),
            7 => Some(TransactionKind::ImportAdjustment),
            8 => Some(TransactionKind::Coupon),
            9 => Some(TransactionKind::PartnerDebit),
            _ => None,
        }
    }

    /// A stable English name, for exports and `/v1`.
    pub fn name(self) -> &'static str {
        match self {
            TransactionKind::Creation => "creation",
            TransactionKind::TopUp => "topup",
            TransactionKind::Payment => "payment",
            TransactionKind::Drain => "drain",
            TransactionKind::TransferOut => "transfer_out",
            TransactionKind::TransferIn => "transfer_in",
            TransactionKind::ImportAdjustment => "import_adjustment",
            TransactionKind::Coupon => "coupon",
            TransactionKind::PartnerDebit => "partner_debit",
        }
    }

    /// Whether it is one half of a card-to-card transfer (a replacement).
    pub fn is_transfer(self) -> bool {
        matches!(
            self,
            TransactionKind::TransferOut | TransactionKind::TransferIn
        )
    }

    /// Whether a cancel or a redo may flip it: not a transfer (a replacement cannot be undone
    /// half-way), nor an import adjustment (it records what the old system held), nor a
    /// coupon (its voucher stays used) or a partner's debit (the partner refunds it).
    pub fn is_correctable(self) -> bool {
        !self.is_transfer()
            && !matches!(
                self,
                TransactionKind::ImportAdjustment
                    | TransactionKind::Coupon
                    | TransactionKind::PartnerDebit
            )
    }

    /// The effect on the balance of a transaction of this kind recording `amount`:
    /// credits add, debits subtract.
    pub fn signed(self, amount: Money) -> Money {
        match self {
            TransactionKind::Creation
            | TransactionKind::TopUp
            | TransactionKind::TransferIn
            | TransactionKind::ImportAdjustment
            | TransactionKind::Coupon => amount,
            TransactionKind::Payment
            | TransactionKind::Drain
            | TransactionKind::TransferOut
            | TransactionKind::PartnerDebit => amount.negated(),
        }
    }
}

/// One line of the ledger. `amount` is as the clients show it: positive for top-ups, payments
/// and drains; the opening balance (possibly negative with overdraft) for a creation; the signed
/// difference for an import adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: TransactionId,
    pub kind: TransactionKind,
    pub card: CardId,
    pub amount: Money,
    /// The quantity of a payment by quantity; 0 otherwise.
    pub quantity: u32,
    pub product: Option<String>,
    pub valid: bool,
    /// The staff login (or partner name) that made it.
    pub author: String,
    pub created_at: DateTime<Utc>,
}

impl Transaction {
    /// What this transaction adds to its card's balance while valid.
    pub fn signed_amount(&self) -> Money {
        self.kind.signed(self.amount)
    }
}

/// A cancel or a redo, kept forever beside the transaction it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub transaction: TransactionId,
    /// `false` for a cancel, `true` for a redo.
    pub valid_after: bool,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        use TransactionKind::*;
        for k in [
            Creation,
            TopUp,
            Payment,
            Drain,
            TransferOut,
            TransferIn,
            ImportAdjustment,
            Coupon,
            PartnerDebit,
        ] {
            assert_eq!(TransactionKind::from_code(i64::from(k.code())), Some(k));
        }
        assert_eq!(TransactionKind::from_code(0), None);
        assert_eq!(TransactionKind::from_code(10), None);
        assert_eq!(Payment.name(), "payment");
        assert_eq!(ImportAdjustment.name(), "import_adjustment");
        assert!(Payment.is_correctable() && Creation.is_correctable());
        assert!(!TransferIn.is_correctable() && !ImportAdjustment.is_correctable());
    }

    #[test]
    fn credits_add_debits_subtract() {
        let m = Money::from_cents(180);
        assert_eq!(TransactionKind::Creation.signed(m), m);
        assert_eq!(TransactionKind::TopUp.signed(m), m);
        assert_eq!(TransactionKind::Payment.signed(m), m.negated());
        assert_eq!(TransactionKind::Drain.signed(m), m.negated());
        assert_eq!(TransactionKind::TransferOut.signed(m), m.negated());
        assert_eq!(TransactionKind::TransferIn.signed(m), m);
        // An adjustment carries its sign: the old system may have lost or created money.
        assert_eq!(TransactionKind::ImportAdjustment.signed(m), m);
        assert_eq!(
            TransactionKind::ImportAdjustment.signed(m.negated()),
            m.negated()
        );
        // A negative opening balance (overdraft) stays negative.
        assert_eq!(
            TransactionKind::Creation.signed(Money::from_cents(-500)),
            Money::from_cents(-500)
        );
    }
}
