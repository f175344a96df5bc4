//! Members of the association (seed 003's profiles): a validated profile, and the cards they
//! own. A card belongs to at most one member; a member may own several cards (a replaced card
//! stays linked, for the history).
//!
//! Every field is validated here, once, and refused with a `Malformed` error that names it —
//! never stored as null while answering success, as seed 003's service did.

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::ids::MemberId;

/// A member and their profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub profile: Profile,
    /// Incremented by every change of the profile: a change is written only over the
    /// revision it was computed from, so two concurrent edits never lose one another.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields of a member's profile, each already valid and normalised. `None` is unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A name to show instead of first and last name (seed 003's `displayName`: a club, a
    /// company, a nickname).
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// `+` and 7 to 15 digits, the country code first.
    pub phone: Option<String>,
    /// Same format as `phone`.
    pub mobile: Option<String>,
    /// Comma-separated words, normalised to `a, b, c`.
    pub keywords: Option<String>,
    /// Free text for the association.
    pub notes: Option<String>,
}

/// A field of the profile, by its `/v1` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    FirstName,
    LastName,
    DisplayName,
    Email,
    Phone,
    Mobile,
    Keywords,
    Notes,
}

impl ProfileField {
    /// Every field, in display order.
    pub const ALL: [ProfileField; 8] = [
        ProfileField::FirstName,
        ProfileField::LastName,
        ProfileField::DisplayName,
        ProfileField::Email,
        ProfileField::Phone,
        ProfileField::Mobile,
        ProfileField::Keywords,
        ProfileField::Notes,
    ];

    /// The field's name in requests and answers.
    pub fn name(self) -> &'static str {
        match self {
            ProfileField::FirstName => "first_name",
            ProfileField::LastName => "last_name",
            ProfileField::DisplayName => "display_name",
            ProfileField::Email => "email",
            ProfileField::Phone => "phone",
            ProfileField::Mobile => "mobile",
            ProfileField::Keywords => "keywords",
            ProfileField::Notes => "notes",
        }
    }

    /// The field of a name.
    pub fn parse(name: &str) -> Option<ProfileField> {
        ProfileField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The longest first or last name, in characters.
const MAX_NAME: usize = 64;
/// The longest display name.
const MAX_DISPLAY_NAME: usize = 128;
/// The longest e-mail address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// The longest keyword, and the most keywords.
const MAX_KEYWORD: usize = 50;
const MAX_KEYWORDS: usize = 20;
/// The longest notes.
const MAX_NOTES: usize = 1000;

fn invalid(field: ProfileField, what: &str) -> DomainError {
    DomainError::malformed(format!("field `{}` {what}", field.name()))
}

/// A line of text: at most `max` characters, no control characters.
fn line(field: ProfileField, text: &str, max: usize) -> Result<String, DomainError> {
    if text.chars().count() > max {
        return Err(invalid(field, &format!("is longer than {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(text.to_owned())
}

fn email(text: &str) -> Result<String, DomainError> {
    let field = ProfileField::Email;
    let bad = || invalid(field, "is not an e-mail address such as name@example.org");
    if text.len() > MAX_EMAIL {
        return Err(invalid(field, &format!("is longer than {MAX_EMAIL} bytes")));
    }
    let (local, domain) = text.split_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '@');
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if !local_ok || !domain_ok {
        return Err(bad());
    }
    // The domain is case-insensitive; the local part is kept as given (RFC 5321 §2.4).
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// Normalises a phone number as seed 003 says: the country code is required, separators and
/// leading zeros are dropped, and `+` is put in front — `"0033 6 12-34-56-78"` and
/// `"+33 (0)6 12 34 56 78"`… become `"+33612345678"`.
///
/// "Country code required" means the number starts with `+`, with the `00` international
/// prefix, or directly with the country code's digits (`33 6 12…`). A number that starts with
/// a single `0` (`06 12 34 56 78`) is a national number: dropping its zero would read `6…` as a
/// country code, so it is refused rather than guessed. Separators are spaces and `.-/()`; any
/// other character (a letter, `#`, `*`) is refused. The result has 7 to 15 digits (E.164).
/// A `(0)` right after the country code (`+33 (0)6…`), the usual way of writing the national
/// zero, is dropped.
pub fn normalise_phone(field: ProfileField, text: &str) -> Result<String, DomainError> {
    phone_number(text).map_err(|why| invalid(field, &why))
}

/// [`normalise_phone`] for any field: the number, or why it is refused (`"needs the country
/// code: …"`), for the caller to name its field.
pub fn phone_number(text: &str) -> Result<String, String> {
    let mut rest = text.trim();
    let explicit = rest.starts_with('+');
    if explicit {
        rest = &rest[1..];
    }
    if let Some(c) = rest
        .chars()
        .find(|c| !c.is_ascii_digit() && !matches!(c, ' ' | '.' | '-' | '/' | '(' | ')'))
    {
        return Err(format!(
            "may hold only digits, a leading `+` and the separators ` .-/()`, not `{c}`"
        ));
    }
    let cleaned = rest.replace("(0)", "");
    let digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
    if explicit && digits.starts_with('0') {
        return Err("has a `+` followed by 0: the country code comes right after the `+`".into());
    }
    if !explicit && digits.starts_with('0') && !digits.starts_with("00") {
        return Err(
            "needs the country code: write +33 6 12 34 56 78 or 0033 6 12 34 56 78, not 06 12 34 56 78"
                .into(),
        );
    }
    let significant = digits.trim_start_matches('0');
    if !(7..=15).contains(&significant.len()) {
        return Err("must have 7 to 15 digits with the country code (E.164)".into());
    }
    Ok(format!("+{significant}"))
}

fn keywords(text: &str) -> Result<Option<String>, DomainError> {
    let field = ProfileField::Keywords;
    let words: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() > MAX_KEYWORDS {
        return Err(invalid(
            field,
            &format!("holds more than {MAX_KEYWORDS} keywords"),
        ));
    }
    for word in &words {
        line(field, word, MAX_KEYWORD).map_err(|_| {
            invalid(
                field,
                &format!(
                    "holds a keyword longer than {MAX_KEYWORD} characters or with control characters"
                ),
            )
        })?;
    }
    Ok((!words.is_empty()).then(|| words.join(", ")))
}

fn notes(text: &str) -> Result<String, DomainError> {
    let field = ProfileField::Notes;
    if text.chars().count() > MAX_NOTES {
        return Err(invalid(
            field,
            &format!("is longer than {MAX_NOTES} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(text.to_owned())
}

/// Validates and normalises one field's text; `None` when it is blank (an unset field).
pub fn parse_field(field: ProfileField, text: &str) -> Result<Option<String>, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value = match field {
        ProfileField::FirstName | ProfileField::LastName => line(field, text, MAX_NAME)?,
        ProfileField::DisplayName => line(field, text, MAX_DISPLAY_NAME)?,
        ProfileField::Email => email(text)?,
        ProfileField::Phone | ProfileField::Mobile => normalise_phone(field, text)?,
        ProfileField::Keywords => return keywords(text),
        ProfileField::Notes => notes(text)?,
    };
    Ok(Some(value))
}

impl Profile {
    /// A field's value.
    pub fn get(&self, field: ProfileField) -> Option<&str> {
        self.slot(field).as_deref()
    }

    fn slot(&self, field: ProfileField) -> &Option<String> {
        match field {
            ProfileField::FirstName => &self.first_name,
            ProfileField::LastName => &self.last_name,
            ProfileField::DisplayName => &self.display_name,
            ProfileField::Email => &self.email,
            ProfileField::Phone => &self.phone,
            ProfileField::Mobile => &self.mobile,
            ProfileField::Keywords => &self.keywords,
            ProfileField::Notes => &self.notes,
        }
    }

    fn slot_mut(&mut self, field: ProfileField) -> &mut Option<String> {
        match field {
            ProfileField::FirstName => &mut self.first_name,
            ProfileField::LastName => &mut self.last_name,
            ProfileField::DisplayName => &mut self.display_name,
            ProfileField::Email => &mut self.email,
            ProfileField::Phone => &mut self.phone,
            ProfileField::Mobile => &mut self.mobile,
            ProfileField::Keywords => &mut self.keywords,
            ProfileField::Notes => &mut self.notes,
        }
    }

    /// This profile with `changes` applied: each given field is validated and set, or unset
    /// when its text is blank (`None` also unsets). The first bad field is refused, by name,
    /// and nothing is changed. The result must still name the member ([`Profile::check`]).
    pub fn edited(&self, changes: &[(ProfileField, Option<&str>)]) -> Result<Profile, DomainError> {
        let mut next = self.clone();
        for (field, text) in changes {
            *next.slot_mut(*field) = match text {
                Some(text) => parse_field(*field, text)?,
                None => None,
            };
        }
        next.check()?;
        Ok(next)
    }

    /// A profile must name its member: a first name, a last name or a display name.
    pub fn check(&self) -> Result<(), DomainError> {
        if self.first_name.is_none() && self.last_name.is_none() && self.display_name.is_none() {
            return Err(DomainError::malformed(
                "field `last_name` is missing: a member needs a `first_name`, `last_name` or `display_name`",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(text: &str) -> Result<String, DomainError> {
        normalise_phone(ProfileField::Phone, text)
    }

    #[test]
    fn phones_are_normalised_with_their_country_code() {
        for (input, expected) in [
            ("0033 6 12-34-56-78", "+33612345678"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+33 (0)6 12 34 56 78", "+33612345678"),
            ("33612345678", "+33612345678"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("0041.79.123.45.67", "+41791234567"),
            ("  +44 20 7946 0958 ", "+442079460958"),
        ] {
            assert_eq!(phone(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn national_numbers_and_junk_are_refused_naming_the_field() {
        for bad in [
            "06 12 34 56 78",
            "0612345678",
            "+06 12 34 56 78",
            "+33 6 12 AB",
            "123",
            "+1234567890123456",
            "#31#",
        ] {
            match normalise_phone(ProfileField::Mobile, bad) {
                Err(DomainError::Malformed(text)) => {
                    assert!(text.contains("`mobile`"), "{bad}: {text}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let Err(DomainError::Malformed(text)) = phone("06 12 34 56 78") else {
            panic!("national number accepted");
        };
        assert!(text.contains("country code"), "{text}");
    }

    #[test]
    fn emails() {
        assert_eq!(
            parse_field(ProfileField::Email, " Zoe.B@Example.ORG ").unwrap(),
            Some("Zoe.B@example.org".into())
        );
        for bad in [
            "zoe",
            "zoe@",
            "@example.org",
            "zoe@example",
            "zo e@example.org",
            "a@b@c.org",
            "zoe@exa_mple.org",
        ] {
            let e = parse_field(ProfileField::Email, bad).unwrap_err();
            assert!(e.to_string().contains("`email`"), "{bad}: {e}");
        }
    }

    #[test]
    fn names_keywords_and_notes() {
        let f = ProfileField::FirstName;
        assert_eq!(parse_field(f, " Zoé ").unwrap(), Some("Zoé".into()));
        assert_eq!(parse_field(f, "   ").unwrap(), None);
        assert!(parse_field(f, &"x".repeat(65)).is_err());
        assert!(parse_field(f, "a\u{7}b").is_err());
        assert_eq!(
            parse_field(ProfileField::Keywords, "rugby, , bière ,jazz").unwrap(),
            Some("rugby, bière, jazz".into())
        );
        assert_eq!(parse_field(ProfileField::Keywords, " , ").unwrap(), None);
        assert!(parse_field(ProfileField::Keywords, &"a,".repeat(21)).is_err());
        assert_eq!(
            parse_field(ProfileField::Notes, "line 1\nline 2").unwrap(),
            Some("line 1\nline 2".into())
        );
        assert!(parse_field(ProfileField::Notes, &"n".repeat(1001)).is_err());
        for field in ProfileField::ALL {
            assert_eq!(ProfileField::parse(field.name()), Some(field));
        }
    }

    #[test]
    fn edits_validate_every_field_and_keep_a_name() {
        let p = Profile::default()
            .edited(&[
                (ProfileField::LastName, Some("Durand")),
                (ProfileField::Phone, Some("0033 6 12-34-56-78")),
            ])
            .unwrap();
        assert_eq!(p.get(ProfileField::Phone), Some("+33612345678"));
        assert!(Profile::default()
            .edited(&[(ProfileField::Email, Some("a@b.org"))])
            .is_err());
        // Unsetting the only name is refused; unsetting another field is fine.
        assert!(p.edited(&[(ProfileField::LastName, None)]).is_err());
        let q = p.edited(&[(ProfileField::Phone, Some(""))]).unwrap();
        assert_eq!(q.phone, None);
        // A bad field changes nothing.
        let e = p
            .edited(&[
                (ProfileField::FirstName, Some("Zoé")),
                (ProfileField::Phone, Some("06 12 34 56 78")),
            ])
            .unwrap_err();
        assert!(e.to_string().contains("`phone`"));
    }
}
