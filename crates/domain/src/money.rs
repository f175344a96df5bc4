//! Exact money: integer cents inside, `rust_decimal` at the edges, strict parsing of user text.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// The largest magnitude money may have anywhere in ardoise: ten thousand billion euros, far
/// beyond any bar and far below `i64` overflow when amounts are added up.
const MAX_CENTS: i64 = 1_000_000_000_000_000;

/// Why a text or a decimal is not a valid amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the amount is empty")]
    Empty,
    #[error("the amount `{0}` is not a decimal number such as 12 or 12.50")]
    NotANumber(String),
    #[error("the amount `{0}` has more than 2 decimals")]
    TooManyDecimals(String),
    #[error("the amount `{0}` is too large")]
    TooLarge(String),
    /// A legacy FLOAT amount further than [`LEGACY_FLOAT_TOLERANCE`] from any whole cent.
    #[error("the amount `{0}` is not within 0.001 of a whole cent")]
    NotACent(String),
}

/// How far (in euros) a legacy FLOAT amount may be from a whole cent and still be that cent:
/// a FLOAT(7,2) column holds 15.80 as 15.7999999…, never further than this from the cent that
/// was meant.
pub const LEGACY_FLOAT_TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// An amount of euros, exact to the cent. Negative values exist (balances in overdraft).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// Zero euros.
    pub const ZERO: Money = Money(0);

    /// Money from a number of cents.
    pub const fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    /// The number of cents.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Parses user text strictly: an optional `-`, digits, and optionally a `.` followed by one
    /// or two digits. `12`, `12.5`, `12.50`, `10.0` are valid; `1,5`, `abc`, `1e3`, `+1`, `.5`,
    /// `0.001`, ` 1` and `-0` are not.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let not_a_number = || MoneyError::NotANumber(text.to_owned());
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number());
        }
        let fraction_cents = match fraction {
            None => 0,
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(not_a_number())
            }
            Some(f) if f.len() > 2 => return Err(MoneyError::TooManyDecimals(text.to_owned())),
            Some(f) => {
                let digits: i64 = f.parse().map_err(|_| not_a_number())?;
                if f.len() == 1 {
                    digits * 10
                } else {
                    digits
                }
            }
        };
        let too_large = || MoneyError::TooLarge(text.to_owned());
        // Sixteen digits already exceed MAX_CENTS; refusing early avoids any overflow.
        let whole_part = whole.trim_start_matches('0');
        if whole_part.len() > 16 {
            return Err(too_large());
        }
        let euros: i64 = if whole_part.is_empty() {
            0
        } else {
            whole_part.parse().map_err(|_| too_large())?
        };
        let cents = euros
            .checked_mul(100)
            .and_then(|c| c.checked_add(fraction_cents))
            .filter(|c| *c <= MAX_CENTS)
            .ok_or_else(too_large)?;
        if negative && cents == 0 {
            // "-0" or "-0.00": a sign on nothing is a client bug, not an amount.
            return Err(not_a_number());
        }
        Ok(Money(if negative { -cents } else { cents }))
    }

    /// Money from an exact decimal with at most 2 decimals (trailing zeros are fine).
    pub fn from_decimal(value: Decimal) -> Result<Money, MoneyError> {
        let too_large = || MoneyError::TooLarge(value.to_string());
        let scaled = value
            .checked_mul(Decimal::ONE_HUNDRED)
            .ok_or_else(too_large)?;
        if !scaled.fract().is_zero() {
            return Err(MoneyError::TooManyDecimals(value.to_string()));
        }
        scaled
            .to_i64()
            .filter(|c| c.abs() <= MAX_CENTS)
            .map(Money)
            .ok_or_else(too_large)
    }

    /// The whole cent nearest to `value` (half away from zero), whatever its distance.
    pub fn nearest_cent(value: Decimal) -> Result<Money, MoneyError> {
        Money::from_decimal(
            value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
        )
    }

    /// An amount read from a legacy FLOAT column (given as the decimal the column's text or
    /// its binary value denotes): the whole cent within [`LEGACY_FLOAT_TOLERANCE`] of it, or
    /// `NotACent` when none is — an amount the old system really held off the cent, which an
    /// operator must look at rather than have rounded silently.
    pub fn from_legacy_float(value: Decimal) -> Result<Money, MoneyError> {
        let cent = Money::nearest_cent(value)?;
        if (value - cent.to_decimal()).abs() <= LEGACY_FLOAT_TOLERANCE {
            Ok(cent)
        } else {
            Err(MoneyError::NotACent(value.to_string()))
        }
    }

    /// The exact decimal value in euros.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Always two decimals, as `/v1` prints money: `12.50`, `-3.00`.
    pub fn to_fixed2(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Sum, or `None` past the range money may have.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0
            .checked_add(other.0)
            .filter(|c| c.abs() <= MAX_CENTS)
            .map(Money)
    }

    /// Difference, or `None` past the range money may have.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0
            .checked_sub(other.0)
            .filter(|c| c.abs() <= MAX_CENTS)
            .map(Money)
    }

    /// Multiplies by a quantity, or `None` past the range money may have.
    pub fn checked_mul(self, quantity: u32) -> Option<Money> {
        self.0
            .checked_mul(i64::from(quantity))
            .filter(|c| c.abs() <= MAX_CENTS)
            .map(Money)
    }

    /// The opposite amount.
    pub const fn negated(self) -> Money {
        Money(-self.0)
    }

    /// True for amounts strictly above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }
}

/// The shortest exact rendering, as the POS clients expect: `15.8`, `10`, `-3.05`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (euros, cents) = (abs / 100, abs % 100);
        match cents {
            0 => write!(f, "{sign}{euros}"),
            c if c % 10 == 0 => write!(f, "{sign}{euros}.{}", c / 10),
            c => write!(f, "{sign}{euros}.{c:02}"),
        }
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn parses_the_forms_clients_send() {
        assert_eq!(Money::parse("12"), Ok(Money(1200)));
        assert_eq!(Money::parse("12.5"), Ok(Money(1250)));
        assert_eq!(Money::parse("12.50"), Ok(Money(1250)));
        assert_eq!(Money::parse("10.0"), Ok(Money(1000)));
        assert_eq!(Money::parse("0.01"), Ok(Money(1)));
        assert_eq!(Money::parse("-5"), Ok(Money(-500)));
        assert_eq!(Money::parse("007.10"), Ok(Money(710)));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "1,5", "abc", "1e3", "0.001", "", " 1", "1 ", "+1", ".5", "5.", "-0", "-0.00", "--1",
            "1.2.3", "0x10", "NaN", "inf", "١",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            Money::parse("0.001"),
            Err(MoneyError::TooManyDecimals("0.001".into()))
        );
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
    }

    #[test]
    fn refuses_huge_amounts_without_overflow() {
        assert!(matches!(
            Money::parse("99999999999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            Money::parse("10000000000000.01"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(Money::parse("10000000000000").is_ok());
    }

    #[test]
    fn renders_exactly_and_shortest() {
        assert_eq!(Money(1580).to_string(), "15.8");
        assert_eq!(Money(1000).to_string(), "10");
        assert_eq!(Money(-305).to_string(), "-3.05");
        assert_eq!(Money(5).to_string(), "0.05");
        assert_eq!(Money(-50).to_string(), "-0.5");
        assert_eq!(Money(1250).to_fixed2(), "12.50");
        assert_eq!(Money(-300).to_fixed2(), "-3.00");
        assert_eq!(Money(7).to_fixed2(), "0.07");
    }

    #[test]
    fn fifteen_sixty_plus_twenty_cents_is_fifteen_eighty() {
        let sum = Money::parse("15.60")
            .unwrap()
            .checked_add(Money::parse("0.20").unwrap())
            .unwrap();
        assert_eq!(sum.to_string(), "15.8");
    }

    #[test]
    fn converts_with_decimals_both_ways() {
        let d = Decimal::from_str("12.50").unwrap();
        assert_eq!(Money::from_decimal(d), Ok(Money(1250)));
        assert_eq!(Money(1250).to_decimal(), d);
        assert_eq!(
            Money::from_decimal(Decimal::from_str("-0.5").unwrap()),
            Ok(Money(-50))
        );
        assert_eq!(
            Money::from_decimal(Decimal::from_str("3").unwrap()),
            Ok(Money(300))
        );
        assert!(Money::from_decimal(Decimal::from_str("0.001").unwrap()).is_err());
        assert!(Money::from_decimal(Decimal::MAX).is_err());
    }

    #[test]
    fn legacy_floats_within_a_thousandth_of_a_cent_are_that_cent() {
        let d = |t: &str| Decimal::from_str(t).unwrap();
        assert_eq!(Money::from_legacy_float(d("15.799999")), Ok(Money(1580)));
        assert_eq!(Money::from_legacy_float(d("15.8000001")), Ok(Money(1580)));
        assert_eq!(Money::from_legacy_float(d("-3.0500004")), Ok(Money(-305)));
        assert_eq!(Money::from_legacy_float(d("1.80")), Ok(Money(180)));
        assert_eq!(Money::from_legacy_float(d("0.001")), Ok(Money(0)));
        assert_eq!(Money::from_legacy_float(d("2.339")), Ok(Money(234)));
        assert_eq!(
            Money::from_legacy_float(d("2.345")),
            Err(MoneyError::NotACent("2.345".into()))
        );
        assert_eq!(
            Money::from_legacy_float(d("0.0015")),
            Err(MoneyError::NotACent("0.0015".into()))
        );
        assert_eq!(Money::nearest_cent(d("2.345")), Ok(Money(235)));
        assert_eq!(Money::nearest_cent(d("-2.345")), Ok(Money(-235)));
        assert!(Money::from_legacy_float(Decimal::MAX).is_err());
    }

    #[test]
    fn arithmetic_refuses_overflow() {
        let max = Money(MAX_CENTS);
        assert_eq!(max.checked_add(Money(1)), None);
        assert_eq!(max.negated().checked_sub(Money(1)), None);
        assert_eq!(Money(100).checked_mul(3), Some(Money(300)));
        assert_eq!(max.checked_mul(2), None);
    }
}
