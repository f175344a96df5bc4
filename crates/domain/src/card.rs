//! Cards, their floor and ceiling, and the members who own them.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::ids::{CardId, MemberId};
use crate::money::Money;

/// Whether a card may be used for payments and top-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardStatus {
    Active,
    Blocked,
    Lost,
}

impl CardStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Blocked => "blocked",
            CardStatus::Lost => "lost",
        }
    }

    /// The status from its name.
    pub fn parse(text: &str) -> Option<CardStatus> {
        match text {
            "active" => Some(CardStatus::Active),
            "blocked" => Some(CardStatus::Blocked),
            "lost" => Some(CardStatus::Lost),
            _ => None,
        }
    }
}

/// Why a card is not usable right now (or that it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardState {
    Active,
    Blocked,
    Lost,
    Expired,
}

impl fmt::Display for CardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CardState::Active => "active",
            CardState::Blocked => "blocked",
            CardState::Lost => "lost",
            CardState::Expired => "expired",
        })
    }
}

/// A card with its prepaid balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub id: CardId,
    pub balance: Money,
    /// How far below zero the balance may go; zero means no overdraft.
    pub overdraft_limit: Money,
    /// The most the balance may hold after a top-up, if the bar set one.
    pub max_balance: Option<Money>,
    pub status: CardStatus,
    pub valid_until: Option<DateTime<Utc>>,
    pub member: Option<MemberId>,
    /// The card that replaced this one, if it was replaced: its balance, member and overdraft
    /// moved there, and this card is kept unchangeable for the history.
    pub replaced_by: Option<CardId>,
    pub created_at: DateTime<Utc>,
}

impl Card {
    /// The lowest balance the card may reach: zero, or minus its overdraft limit.
    pub fn floor(&self) -> Money {
        self.overdraft_limit.negated()
    }

    /// Whether the card may pay or be topped up at `now`.
    pub fn state_at(&self, now: DateTime<Utc>) -> CardState {
        match self.status {
            CardStatus::Blocked => CardState::Blocked,
            CardStatus::Lost => CardState::Lost,
            CardStatus::Active => match self.valid_until {
                Some(until) if until <= now => CardState::Expired,
                _ => CardState::Active,
            },
        }
    }

    /// `Ok` if the card is usable at `now`, else why not.
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        match self.state_at(now) {
            CardState::Active => Ok(()),
            other => Err(DomainError::CardNotUsable(other)),
        }
    }
}

/// The answer when a debit would break the floor: the balance, and what is missing.
pub fn insufficient_funds(balance: Money, floor: Money, debit: Money) -> DomainError {
    let after = balance.cents() - debit.cents();
    DomainError::InsufficientFunds {
        balance,
        missing: Money::from_cents((floor.cents() - after).max(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn card() -> Card {
        Card {
            id: CardId::parse("AHS0DIEX").unwrap(),
            balance: Money::from_cents(500),
            overdraft_limit: Money::from_cents(5000),
            max_balance: None,
            status: CardStatus::Active,
            valid_until: None,
            member: None,
            replaced_by: None,
            created_at: Utc.timestamp_opt(0, 0).unwrap(),
        }
    }

    #[test]
    fn floor_is_minus_the_overdraft_limit() {
        assert_eq!(card().floor(), Money::from_cents(-5000));
        let mut c = card();
        c.overdraft_limit = Money::ZERO;
        assert_eq!(c.floor(), Money::ZERO);
    }

    #[test]
    fn usability() {
        let now = Utc.timestamp_opt(1_000, 0).unwrap();
        let mut c = card();
        assert!(c.check_usable(now).is_ok());
        c.valid_until = Some(Utc.timestamp_opt(2_000, 0).unwrap());
        assert!(c.check_usable(now).is_ok());
        c.valid_until = Some(now);
        assert_eq!(
            c.check_usable(now),
            Err(DomainError::CardNotUsable(CardState::Expired))
        );
        c.valid_until = None;
        c.status = CardStatus::Blocked;
        assert_eq!(c.state_at(now), CardState::Blocked);
        c.status = CardStatus::Lost;
        assert_eq!(c.state_at(now), CardState::Lost);
        for s in [CardStatus::Active, CardStatus::Blocked, CardStatus::Lost] {
            assert_eq!(CardStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CardStatus::parse("other"), None);
    }

    #[test]
    fn missing_amount() {
        assert_eq!(
            insufficient_funds(Money::from_cents(100), Money::ZERO, Money::from_cents(180)),
            DomainError::InsufficientFunds {
                balance: Money::from_cents(100),
                missing: Money::from_cents(80)
            }
        );
    }
}
