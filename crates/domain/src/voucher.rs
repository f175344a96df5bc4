//! QR vouchers (services.md): coupons — a value credited to a card, or one unit of a product —
//! and event tickets, each used exactly once.
//!
//! A code is 80 random bits printed as 16 Crockford base32 symbols and one check symbol
//! (Crockford's mod-37), in groups: `K3QF-9XRA-TT2M-7HD4-X`. A coupon's redemption is a
//! ledger movement of its own kind ([`TransactionKind::Coupon`]) that the store applies with
//! the voucher's guarded `issued → used` update in one atomic step, so two tills scanning one
//! coupon together credit it once.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::bar::Policy;
use crate::error::DomainError;
use crate::ids::{CardId, TransactionId};
use crate::money::Money;
use crate::ports::{
    Action, Catalog, Clock, Guard, Ledger, Movement, Receipt, ServiceRecord, TokenSource,
};
use crate::rights::{Actor, Operation, Principal};
use crate::transaction::TransactionKind;

/// Crockford's base32 symbols, by value.
const SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Crockford's check symbols, by value (mod 37): the 32 symbols and `*~$=U`.
const CHECK_SYMBOLS: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";
/// Data symbols of a code: 16 × 5 = 80 bits.
const DATA_LEN: usize = 16;

/// The most vouchers one request issues.
pub const MAX_BATCH: u32 = 1000;

/// A voucher's code, canonical: 16 data symbols and the check symbol, without dashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoucherCode(String);

impl VoucherCode {
    /// The code of the low 80 bits of `bits`.
    pub fn from_bits(bits: u128) -> VoucherCode {
        let value = bits & ((1u128 << 80) - 1);
        let mut text = String::with_capacity(DATA_LEN + 1);
        for i in (0..DATA_LEN).rev() {
            let symbol = (value >> (5 * i)) & 31;
            text.push(char::from(SYMBOLS[symbol as usize]));
        }
        text.push(char::from(CHECK_SYMBOLS[(value % 37) as usize]));
        VoucherCode(text)
    }

    /// Parses a code as people type or scan it: case, dashes and spaces do not matter, and
    /// `I`/`L` read as `1`, `O` as `0` (Crockford's decoding). The check symbol must match.
    pub fn parse(text: &str) -> Result<VoucherCode, DomainError> {
        let bad = || {
            DomainError::malformed(format!(
                "the voucher code `{text}` is not 16 base32 symbols and a check symbol"
            ))
        };
        let symbols: Vec<u8> = text
            .bytes()
            .filter(|b| !matches!(b, b'-' | b' '))
            .map(|b| match b.to_ascii_uppercase() {
                b'I' | b'L' => b'1',
                b'O' => b'0',
                other => other,
            })
            .collect();
        let [data @ .., check] = symbols.as_slice() else {
            return Err(bad());
        };
        if data.len() != DATA_LEN {
            return Err(bad());
        }
        let mut value: u128 = 0;
        for b in data {
            let digit = SYMBOLS.iter().position(|s| s == b).ok_or_else(bad)?;
            value = (value << 5) | digit as u128;
        }
        if CHECK_SYMBOLS.get((value % 37) as usize) != Some(check) {
            return Err(DomainError::malformed(format!(
                "the voucher code `{text}` has a wrong check symbol (a typing error?)"
            )));
        }
        Ok(VoucherCode::from_bits(value))
    }

    /// The canonical form (no dashes), as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The printed form: `K3QF-9XRA-TT2M-7HD4-X`.
impl fmt::Display for VoucherCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                f.write_str("-")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// What a voucher is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoucherKind {
    /// Credits its value to a card, or pays one unit of its product.
    Coupon,
    /// Admits to an event: marked used, no money moves.
    Ticket,
}

impl VoucherKind {
    /// `coupon` or `ticket`.
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherKind::Coupon => "coupon",
            VoucherKind::Ticket => "ticket",
        }
    }

    /// The kind from its name.
    pub fn parse(text: &str) -> Option<VoucherKind> {
        match text {
            "coupon" => Some(VoucherKind::Coupon),
            "ticket" => Some(VoucherKind::Ticket),
            _ => None,
        }
    }
}

/// When, by whom and on which card a voucher was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherUse {
    pub at: DateTime<Utc>,
    /// The staff login (or `partner:<client_id>`) that redeemed it.
    pub by: String,
    pub card: Option<CardId>,
    /// The coupon's ledger movement.
    pub transaction: Option<TransactionId>,
}

/// A voucher as issued, and its use if it was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub code: VoucherCode,
    pub kind: VoucherKind,
    /// A coupon's value.
    pub value: Option<Money>,
    /// A coupon's product (one unit).
    pub product: Option<String>,
    /// A ticket's event, or a coupon's caption.
    pub label: Option<String>,
    pub valid_until: Option<DateTime<Utc>>,
    /// The staff login or `partner:<client_id>` that issued it.
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub used: Option<VoucherUse>,
}

impl Voucher {
    /// `issued`, `used` or `expired` at `now`.
    pub fn state_at(&self, now: DateTime<Utc>) -> &'static str {
        if self.used.is_some() {
            "used"
        } else if self.valid_until.is_some_and(|until| until <= now) {
            "expired"
        } else {
            "issued"
        }
    }
}

/// What vouchers to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherRequest {
    pub kind: VoucherKind,
    pub value: Option<Money>,
    pub product: Option<String>,
    pub label: Option<String>,
    pub valid_until: Option<DateTime<Utc>>,
    /// 1 to [`MAX_BATCH`]; one when not given.
    pub count: Option<i64>,
}

/// Figures of the vouchers for the reports: coupons are money promised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoucherTotals {
    /// Coupons of a value issued: how many, and their sum.
    pub coupons_issued: i64,
    pub coupons_issued_value: Money,
    pub coupons_redeemed: i64,
    pub coupons_redeemed_value: Money,
    /// Issued, not used and not expired at the time asked.
    pub coupons_outstanding: i64,
    pub coupons_outstanding_value: Money,
    /// Coupons of a product (no value) and tickets, by state.
    pub product_coupons_issued: i64,
    pub product_coupons_redeemed: i64,
    pub tickets_issued: i64,
    pub tickets_used: i64,
}

/// The vouchers, stored.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait VoucherBook: Send + Sync {
    /// Stores new vouchers, all or none.
    async fn add_vouchers(&self, vouchers: Vec<Voucher>) -> Result<(), DomainError>;
    /// One voucher by code.
    async fn voucher(&self, code: &VoucherCode) -> Result<Option<Voucher>, DomainError>;
    /// Marks a ticket used in one guarded update (still `issued`, not expired at `at`):
    /// `VoucherAlreadyUsed` (with when and by whom), `VoucherExpired` or `UnknownVoucher`.
    async fn use_ticket(
        &self,
        code: &VoucherCode,
        by: String,
        card: Option<CardId>,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError>;
    /// The figures of the reports, with `outstanding` counted at `now`.
    async fn voucher_totals(&self, now: DateTime<Utc>) -> Result<VoucherTotals, DomainError>;
}

/// A voucher's redemption: the voucher as it is now, and the coupon's movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub voucher: Voucher,
    pub receipt: Option<Receipt>,
}

/// The voucher use cases.
#[derive(Clone)]
pub struct Vouchers {
    ledger: Arc<dyn Ledger>,
    book: Arc<dyn VoucherBook>,
    catalog: Arc<dyn Catalog>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenSource>,
    policy: Policy,
}

/// The longest label.
const MAX_LABEL: usize = 100;

impl Vouchers {
    /// Wires the use cases to their ports.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        book: Arc<dyn VoucherBook>,
        catalog: Arc<dyn Catalog>,
        clock: Arc<dyn Clock>,
        tokens: Arc<dyn TokenSource>,
        policy: Policy,
    ) -> Vouchers {
        Vouchers {
            ledger,
            book,
            catalog,
            clock,
            tokens,
            policy,
        }
    }

    /// A fresh code: 80 bits from the token source (a CSPRNG), drawn as alphanumeric
    /// characters of which only the 32 first values are kept (rejection keeps them uniform).
    fn fresh_code(&self) -> VoucherCode {
        const ALPHANUMERIC: &[u8] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut bits: u128 = 0;
        let mut have = 0;
        while have < DATA_LEN {
            for c in self.tokens.alphanumeric(64).bytes() {
                if let Some(v) = ALPHANUMERIC
                    .iter()
                    .position(|a| *a == c)
                    .filter(|v| *v < 32)
                {
                    bits = (bits << 5) | v as u128;
                    have += 1;
                    if have == DATA_LEN {
                        break;
                    }
                }
            }
        }
        VoucherCode::from_bits(bits)
    }

    /// Issues `count` vouchers (staff rights 3, or a partner whose `vouchers:issue` scope the
    /// caller checked): a coupon has a positive `value` (at most the per-operation maximum)
    /// or an existing `product`, a ticket a `label`.
    pub async fn issue(
        &self,
        issuer: &Principal,
        request: VoucherRequest,
    ) -> Result<Vec<Voucher>, DomainError> {
        let issued_by = match issuer {
            Principal::Staff(actor) => {
                actor.check(Operation::IssueVouchers)?;
                actor.login.to_string()
            }
            Principal::Partner(client_id) => format!("partner:{client_id}"),
            Principal::Member(_) => return Err(DomainError::InsufficientRights),
        };
        let count = request.count.unwrap_or(1);
        if !(1..=i64::from(MAX_BATCH)).contains(&count) {
            return Err(DomainError::malformed(format!(
                "field `count` must be 1 to {MAX_BATCH}"
            )));
        }
        let label = match request.label.as_deref().map(str::trim) {
            Some("") => return Err(DomainError::malformed("field `label` is empty")),
            Some(l) if l.chars().count() > MAX_LABEL => {
                return Err(DomainError::malformed(format!(
                    "field `label` is longer than {MAX_LABEL} characters"
                )))
            }
            other => other.map(str::to_owned),
        };
        let now = self.clock.now();
        if request.valid_until.is_some_and(|until| until <= now) {
            return Err(DomainError::malformed("field `valid_until` is in the past"));
        }
        let (value, product) = match request.kind {
            VoucherKind::Coupon => match (request.value, request.product) {
                (Some(value), None) => {
                    if !value.is_positive() {
                        return Err(DomainError::malformed("field `value` must be positive"));
                    }
                    if value > self.policy.max_operation {
                        return Err(DomainError::malformed(format!(
                            "field `value` is above the maximum of {} per operation",
                            self.policy.max_operation
                        )));
                    }
                    (Some(value), None)
                }
                (None, Some(name)) => {
                    let product = self
                        .catalog
                        .product(&name)
                        .await?
                        .ok_or(DomainError::UnknownProduct)?;
                    (None, Some(product.name))
                }
                _ => {
                    return Err(DomainError::malformed(
                        "a coupon has either field `value` or field `product`",
                    ))
                }
            },
            VoucherKind::Ticket => {
                if request.value.is_some() || request.product.is_some() {
                    return Err(DomainError::malformed(
                        "a ticket has no field `value` nor `product`",
                    ));
                }
                if label.is_none() {
                    return Err(DomainError::malformed("a ticket needs field `label`"));
                }
                (None, None)
            }
        };
        let vouchers: Vec<Voucher> = (0..count)
            .map(|_| Voucher {
                code: self.fresh_code(),
                kind: request.kind,
                value,
                product: product.clone(),
                label: label.clone(),
                valid_until: request.valid_until,
                issued_by: issued_by.clone(),
                issued_at: now,
                used: None,
            })
            .collect();
        self.book.add_vouchers(vouchers.clone()).await?;
        Ok(vouchers)
    }

    /// One voucher (staff rights ≥ 2, or a partner whose `vouchers:issue` scope the caller
    /// checked).
    pub async fn voucher(
        &self,
        reader: &Principal,
        code: &VoucherCode,
    ) -> Result<Voucher, DomainError> {
        match reader {
            Principal::Staff(actor) => actor.check(Operation::RedeemVoucher)?,
            Principal::Partner(_) => {}
            Principal::Member(_) => return Err(DomainError::InsufficientRights),
        }
        self.book
            .voucher(code)
            .await?
            .ok_or(DomainError::UnknownVoucher)
    }

    /// Redeems a voucher at the till (staff rights ≥ 2), exactly once whatever the
    /// concurrency: a coupon credits its value to `card` (or records its product on it) as a
    /// coupon movement applied with the voucher's guarded update; a ticket is marked used.
    pub async fn redeem(
        &self,
        actor: &Actor,
        code: &VoucherCode,
        card: Option<&CardId>,
    ) -> Result<Redemption, DomainError> {
        actor.check(Operation::RedeemVoucher)?;
        let voucher = self
            .book
            .voucher(code)
            .await?
            .ok_or(DomainError::UnknownVoucher)?;
        let now = self.clock.now();
        if let Some(used) = &voucher.used {
            return Err(already_used(used));
        }
        if voucher.valid_until.is_some_and(|until| until <= now) {
            return Err(DomainError::VoucherExpired);
        }
        let receipt = match voucher.kind {
            VoucherKind::Ticket => {
                self.book
                    .use_ticket(code, actor.login.to_string(), card.cloned(), now)
                    .await?;
                None
            }
            VoucherKind::Coupon => {
                let card = card.ok_or_else(|| {
                    DomainError::malformed("field `card`: a coupon is redeemed on a card")
                })?;
                let (amount, quantity) = match voucher.value {
                    Some(value) => (value, 0),
                    None => (Money::ZERO, 1),
                };
                let movement = Movement {
                    card: card.clone(),
                    author: actor.login.to_string(),
                    at: now,
                    action: Action::Post {
                        kind: TransactionKind::Coupon,
                        amount,
                        quantity,
                        product: voucher.product.clone(),
                        guard: Guard {
                            ceiling: true,
                            usable: true,
                            ..Guard::default()
                        },
                    },
                    idempotency: None,
                    credit: None,
                    service: Some(Box::new(ServiceRecord::Voucher {
                        code: code.as_str().to_owned(),
                    })),
                };
                Some(self.ledger.apply(movement).await?)
            }
        };
        let voucher = self
            .book
            .voucher(code)
            .await?
            .ok_or(DomainError::UnknownVoucher)?;
        Ok(Redemption { voucher, receipt })
    }

    /// The figures of the reports (staff rights ≥ 2).
    pub async fn totals(&self, actor: &Actor) -> Result<VoucherTotals, DomainError> {
        actor.check(Operation::Statistics)?;
        self.book.voucher_totals(self.clock.now()).await
    }
}

/// The refusal of a voucher used before.
pub fn already_used(used: &VoucherUse) -> DomainError {
    DomainError::VoucherAlreadyUsed {
        at: used.at,
        by: used.by.clone(),
        card: used.card.as_ref().map(ToString::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_with_their_check_symbol() {
        for bits in [0u128, 1, 36, 37, (1 << 80) - 1, 0x1234_5678_9abc_def0_1234] {
            let code = VoucherCode::from_bits(bits);
            assert_eq!(code.as_str().len(), 17);
            assert_eq!(VoucherCode::parse(&code.to_string()).unwrap(), code);
            assert_eq!(
                VoucherCode::parse(&code.to_string().to_lowercase()).unwrap(),
                code
            );
        }
        let code = VoucherCode::from_bits(0x1234_5678_9abc_def0_1234);
        assert_eq!(code.to_string().len(), 21);
        assert_eq!(code.to_string().matches('-').count(), 4);
    }

    #[test]
    fn a_typing_error_is_caught_by_the_check_symbol() {
        let code = VoucherCode::from_bits(0x00ab_cdef_0123_4567_89ab);
        let text = code.as_str();
        // Change one data symbol: the check symbol no longer matches.
        let first = if text.starts_with('0') { "1" } else { "0" };
        let typo = format!("{first}{}", &text[1..]);
        assert!(VoucherCode::parse(&typo).is_err());
        assert!(VoucherCode::parse("").is_err());
        assert!(VoucherCode::parse("ABCD").is_err());
        assert!(VoucherCode::parse(&format!("{text}0")).is_err());
    }

    #[test]
    fn crockford_reading_of_ambiguous_letters() {
        let code = VoucherCode::from_bits(1 << 75); // first symbol 1, the others 0
        let typed = format!("I{}", &code.as_str()[1..]).replace('0', "o");
        assert_eq!(VoucherCode::parse(&typed).unwrap(), code);
    }
}
