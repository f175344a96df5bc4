//! Identifiers that parse, not validate: once built, they are known to be well-formed.

use std::fmt;

/// Why a card id or a login is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("the card id `{0}` is not 8-20 hex digits nor 4-32 letters and digits")]
    CardId(String),
    #[error("the login `{0}` is not 1-64 characters of letters, digits, `.`, `_` or `-`")]
    Login(String),
}

/// A card's id: an NFC UID in upper-case hex (8 to 20 hex digits, normalised to upper case) or
/// a printed alphanumeric id (4 to 32 letters and digits, case kept), as the seed's `AHS0DIEX`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CardId(String);

impl CardId {
    /// Parses and normalises a card id.
    pub fn parse(text: &str) -> Result<CardId, IdError> {
        let len = text.len();
        let all = |pred: fn(&u8) -> bool| text.as_bytes().iter().all(pred);
        if (8..=20).contains(&len) && all(u8::is_ascii_hexdigit) {
            Ok(CardId(text.to_ascii_uppercase()))
        } else if (4..=32).contains(&len) && all(u8::is_ascii_alphanumeric) {
            Ok(CardId(text.to_owned()))
        } else {
            Err(IdError::CardId(text.to_owned()))
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A staff user's login: 1 to 64 characters of `[A-Za-z0-9._-]`, case kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Login(String);

impl Login {
    /// Parses a login.
    pub fn parse(text: &str) -> Result<Login, IdError> {
        let ok = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Login(text.to_owned()))
        } else {
            Err(IdError::Login(text.to_owned()))
        }
    }

    /// A login known to be valid at compile time (internal names such as `ardoise`).
    pub(crate) fn known(text: &'static str) -> Login {
        Login(text.to_owned())
    }

    /// The login text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A transaction's number, as the POS clients see it (`idTransaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionId(pub i64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A member's number (a person who may own several cards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(pub i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_uids_are_upper_cased() {
        assert_eq!(
            CardId::parse("04a2b3c4d5e6f7").unwrap().as_str(),
            "04A2B3C4D5E6F7"
        );
        assert_eq!(CardId::parse("deadbeef").unwrap().as_str(), "DEADBEEF");
        assert_eq!(
            CardId::parse("0123456789abcdef0123").unwrap().as_str(),
            "0123456789ABCDEF0123"
        );
    }

    #[test]
    fn printed_ids_keep_their_case() {
        assert_eq!(CardId::parse("AHS0DIEX").unwrap().as_str(), "AHS0DIEX");
        assert_eq!(CardId::parse("abcz").unwrap().as_str(), "abcz");
        // Longer than 20 characters: not a UID, so a printed id, case kept.
        let long = "abcdef0123456789abcdef";
        assert_eq!(CardId::parse(long).unwrap().as_str(), long);
    }

    #[test]
    fn refuses_malformed_card_ids() {
        for bad in [
            "",
            "abc",
            "AB-CD-EF-01",
            "carte 1",
            "é123",
            &"A".repeat(33),
            "12'--",
        ] {
            assert_eq!(CardId::parse(bad), Err(IdError::CardId(bad.to_owned())));
        }
    }

    #[test]
    fn logins() {
        assert!(Login::parse("prez.bar_2-b").is_ok());
        for bad in ["", "a b", "é", &"x".repeat(65), "a;drop"] {
            assert!(Login::parse(bad).is_err(), "{bad:?}");
        }
    }
}
