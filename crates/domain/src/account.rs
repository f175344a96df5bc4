//! Members' own accounts (members.md): an account is a member's e-mail address (unique,
//! case-insensitive) and a password set through a one-time link; the member's preferences;
//! the seam through which a link reaches the member (an e-mail channel, once one exists).

use chrono::{DateTime, Duration, Utc};

use crate::error::DomainError;
use crate::ids::MemberId;
use crate::money::Money;

/// How long an invitation or reset link stays usable.
pub const LINK_LIFE: Duration = Duration::hours(72);

/// The shortest password a member may choose, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The key an e-mail address is unique under: the whole address lower-cased (the domain is
/// case-insensitive by RFC 5321, and no one expects `Zoe@` and `zoe@` to be two people).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A password a member chooses: at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::malformed(format!(
            "field `password` must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Staff invited the member: the link sets the first password.
    Welcome,
    /// The member forgot their password.
    Reset,
}

impl LinkPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Welcome => "welcome",
            LinkPurpose::Reset => "reset",
        }
    }

    /// The purpose from its stored name.
    pub fn parse(text: &str) -> Option<LinkPurpose> {
        match text {
            "welcome" => Some(LinkPurpose::Welcome),
            "reset" => Some(LinkPurpose::Reset),
            _ => None,
        }
    }
}

/// A one-time link as stored: only the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLink {
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    pub member: MemberId,
    pub purpose: LinkPurpose,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A member's account as the login needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount {
    pub member: MemberId,
    /// The argon2id PHC string; never the password.
    pub password_hash: String,
}

/// The channels a member may be reached by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub email: bool,
    pub sms: bool,
    pub push: bool,
}

/// What a member chose to receive. Advertisements need an explicit opt-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub channels: Channels,
    /// Warn when a card's balance falls below this amount; `None`: no warning.
    pub low_balance: Option<Money>,
    /// A receipt for every payment.
    pub receipts: bool,
    /// Consent to advertisements (false until the member opts in).
    pub advertisements: bool,
}

impl Default for Preferences {
    /// E-mail on, everything else off: nothing is sent that the member did not ask for,
    /// except the account's own messages by e-mail.
    fn default() -> Preferences {
        Preferences {
            channels: Channels {
                email: true,
                sms: false,
                push: false,
            },
            low_balance: None,
            receipts: false,
            advertisements: false,
        }
    }
}

impl Preferences {
    /// A low-balance alert is a positive amount.
    pub fn check(&self) -> Result<(), DomainError> {
        match self.low_balance {
            Some(amount) if !amount.is_positive() => Err(DomainError::malformed(
                "field `low_balance` must be above zero, or null for no alert",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keys_ignore_case() {
        assert_eq!(
            email_key("Zoe.B@example.org"),
            email_key("zoe.b@EXAMPLE.org")
        );
        assert_ne!(email_key("zoe@example.org"), email_key("zoé@example.org"));
    }

    #[test]
    fn passwords_have_eight_characters_or_more() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        // Characters, not bytes.
        assert!(check_password("ééééééé").is_err());
        let e = check_password("short").unwrap_err();
        assert!(e.to_string().contains("`password`"));
    }

    #[test]
    fn preferences_default_to_email_only_and_refuse_a_non_positive_alert() {
        let p = Preferences::default();
        assert!(p.channels.email && !p.channels.sms && !p.channels.push);
        assert!(!p.advertisements && !p.receipts && p.low_balance.is_none());
        for bad in ["0.00", "-1.00"] {
            let q = Preferences {
                low_balance: Some(Money::parse(bad).unwrap()),
                ..p
            };
            assert!(q.check().is_err(), "{bad}");
        }
        let q = Preferences {
            low_balance: Some(Money::parse("5.00").unwrap()),
            ..p
        };
        assert!(q.check().is_ok());
    }

    #[test]
    fn purposes_round_trip() {
        for p in [LinkPurpose::Welcome, LinkPurpose::Reset] {
            assert_eq!(LinkPurpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(LinkPurpose::parse("other"), None);
    }
}
