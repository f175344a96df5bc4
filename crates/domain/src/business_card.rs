//! Seed 003's business cards ("cartes de visite"): a member's card in several languages, with
//! a photo, switched on and off by settings, shown on a public page. Unrelated to the payment
//! card: it never holds or shows money.
//!
//! The fields are validated on the way in (the `/v1` request types, with the `validator`
//! crate); here live who may open a business card, the partners' limit, and the use cases.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::ids::MemberId;
use crate::ports::{BusinessCardStore, Clock, MemberDirectory, TokenSource};
use crate::rights::{Operation, Principal};

/// The length of the ids ardoise makes (seed 003 accepts 32 to 128).
pub const BUSINESS_CARD_ID_LEN: usize = 32;

/// A business card's id: 32 to 128 characters of `[A-Za-z0-9]`, case-sensitive (seed 003).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessCardId(String);

impl BusinessCardId {
    /// The id in `text`; anything else is `UnknownBusinessCard`, as an id nobody has.
    pub fn parse(text: &str) -> Result<BusinessCardId, DomainError> {
        if (BUSINESS_CARD_ID_LEN..=128).contains(&text.len())
            && text.chars().all(|c| c.is_ascii_alphanumeric())
        {
            Ok(BusinessCardId(text.to_owned()))
        } else {
            Err(DomainError::UnknownBusinessCard)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BusinessCardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One language version of a card (seed 003's translatable fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardVersion {
    /// When set, the card is in business mode: `name`, `lastname` and `position` are kept
    /// but not shown.
    pub display_name: Option<String>,
    pub name: Option<String>,
    pub lastname: Option<String>,
    pub position: Option<String>,
    /// Comma-separated.
    pub keywords: Option<String>,
    /// `langStatus`: a version can be switched off without deleting it.
    pub enabled: bool,
}

impl CardVersion {
    /// Business mode (a company, a club): the display name is shown instead of the person.
    pub fn business_mode(&self) -> bool {
        self.display_name.is_some()
    }

    /// The name the version shows: the display name in business mode, else first and last
    /// name.
    pub fn shown_name(&self) -> String {
        if let Some(name) = &self.display_name {
            return name.clone();
        }
        [self.name.as_deref(), self.lastname.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The fields that are the same in every language (seed 003's non-translatable fields). The
/// phone numbers are `+` and the digits with the country code, as the members' phones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub phone_a: Option<String>,
    pub phone_b: Option<String>,
    pub mobile_a: Option<String>,
    pub mobile_b: Option<String>,
    pub fax_a: Option<String>,
    pub fax_b: Option<String>,
    pub email_b: Option<String>,
    pub web_b: Option<String>,
    pub web_c: Option<String>,
    pub skype_b: Option<String>,
    pub addr_state: Option<String>,
}

/// A member's business card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCard {
    pub id: BusinessCardId,
    pub member: MemberId,
    /// The partner (client id) that created it, which alone among partners may open it.
    pub partner: Option<String>,
    /// `cardStatus`: a disabled card has no public page.
    pub enabled: bool,
    /// `usePhoto`: the photo is kept but not shown when off.
    pub use_photo: bool,
    pub contact: Contact,
    /// A PNG or JPEG of 300 × 300 px, base64.
    pub thumbnail: Option<String>,
    /// The versions by language code (ISO 639-1, or `un`).
    pub versions: BTreeMap<String, CardVersion>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl BusinessCard {
    /// The enabled versions, by language code.
    pub fn enabled_versions(&self) -> impl Iterator<Item = (&str, &CardVersion)> {
        self.versions
            .iter()
            .filter(|(_, v)| v.enabled)
            .map(|(lang, v)| (lang.as_str(), v))
    }

    /// The version a visitor sees: the first of `wanted` (their languages, best first) the
    /// card has enabled, then the universal one, then any enabled one.
    pub fn version_for<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> Option<&str> {
        let enabled = |lang: &str| self.versions.get(lang).is_some_and(|v| v.enabled);
        wanted
            .into_iter()
            .find(|lang| enabled(lang))
            .or_else(|| enabled(crate::languages::UNIVERSAL).then_some(crate::languages::UNIVERSAL))
            .or_else(|| self.enabled_versions().next().map(|(lang, _)| lang))
            .and_then(|lang| self.versions.get_key_value(lang).map(|(k, _)| k.as_str()))
    }
}

/// A change of one field: `Some(text)` sets it, `None` unsets it.
pub type FieldChange = Option<String>;

/// What a change of one language version sets; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionChanges {
    pub display_name: Option<FieldChange>,
    pub name: Option<FieldChange>,
    pub lastname: Option<FieldChange>,
    pub position: Option<FieldChange>,
    pub keywords: Option<FieldChange>,
    pub enabled: Option<bool>,
}

/// What a change of the language-independent fields sets; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactChanges {
    pub phone_a: Option<FieldChange>,
    pub phone_b: Option<FieldChange>,
    pub mobile_a: Option<FieldChange>,
    pub mobile_b: Option<FieldChange>,
    pub fax_a: Option<FieldChange>,
    pub fax_b: Option<FieldChange>,
    pub email_b: Option<FieldChange>,
    pub web_b: Option<FieldChange>,
    pub web_c: Option<FieldChange>,
    pub skype_b: Option<FieldChange>,
    pub addr_state: Option<FieldChange>,
}

/// A change of a card (seed 003's `PUT`): only what is given changes. A version that does
/// not exist yet is added, enabled unless said otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardChanges {
    pub enabled: Option<bool>,
    pub use_photo: Option<bool>,
    pub contact: ContactChanges,
    /// A checked photo (see the `/v1` layer), or `Some(None)` to remove it.
    pub thumbnail: Option<FieldChange>,
    /// By language code, each a repository language or `un`.
    pub versions: Vec<(String, VersionChanges)>,
}

/// The business cards' use cases. Staff need rights ≥ 1 (the association keeps the members);
/// a partner (its `members:write` scope checked by the caller) opens only the cards it
/// created; a member only their own.
#[derive(Clone)]
pub struct BusinessCards {
    store: Arc<dyn BusinessCardStore>,
    directory: Arc<dyn MemberDirectory>,
    tokens: Arc<dyn TokenSource>,
    clock: Arc<dyn Clock>,
    partner_limit: u32,
    public_url: Option<String>,
}

impl BusinessCards {
    /// Wires the use cases; a partner may create at most `partner_limit` cards.
    pub fn new(
        store: Arc<dyn BusinessCardStore>,
        directory: Arc<dyn MemberDirectory>,
        tokens: Arc<dyn TokenSource>,
        clock: Arc<dyn Clock>,
        partner_limit: u32,
    ) -> BusinessCards {
        BusinessCards {
            store,
            directory,
            tokens,
            clock,
            partner_limit,
            public_url: None,
        }
    }

    /// The same with the site's public address (`http.public_url`, e.g.
    /// `https://bar.example.org`), the base of the cards' public pages.
    pub fn with_public_url(mut self, public_url: Option<String>) -> BusinessCards {
        self.public_url = public_url
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty());
        self
    }

    /// The public page of card `id` (`cardAddr`): `{public_url or origin}/c/{id}`, `origin`
    /// (the request's) serving when no public address is configured.
    pub fn address(&self, origin: &str, id: &BusinessCardId) -> String {
        format!("{}/c/{id}", self.public_url.as_deref().unwrap_or(origin))
    }

    /// Creates `member`'s business card, enabled, without versions: staff, a partner (within
    /// its limit) or the member themself. A member has at most one.
    pub async fn create(
        &self,
        principal: &Principal,
        member: MemberId,
    ) -> Result<BusinessCard, DomainError> {
        let partner = match principal {
            Principal::Staff(actor) => {
                actor.check(Operation::ManageMembers)?;
                None
            }
            Principal::Member(me) if *me == member => None,
            Principal::Member(_) => return Err(DomainError::InsufficientRights),
            Principal::Partner(client_id) => Some(client_id.clone()),
        };
        if self.directory.member(member).await?.is_none() {
            return Err(DomainError::UnknownMember);
        }
        let now = self.clock.now();
        let card = BusinessCard {
            id: BusinessCardId(self.tokens.alphanumeric(BUSINESS_CARD_ID_LEN)),
            member,
            partner,
            enabled: true,
            use_photo: true,
            contact: Contact::default(),
            thumbnail: None,
            versions: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        };
        self.store
            .add_business_card(card.clone(), self.partner_limit)
            .await?;
        Ok(card)
    }

    /// The card if `principal` may open it; `UnknownBusinessCard` otherwise, as for a card
    /// that does not exist.
    pub async fn card(
        &self,
        principal: &Principal,
        id: &BusinessCardId,
    ) -> Result<BusinessCard, DomainError> {
        let card = self
            .store
            .business_card(id)
            .await?
            .ok_or(DomainError::UnknownBusinessCard)?;
        let mine = match principal {
            Principal::Staff(actor) => {
                actor.check(Operation::ManageMembers)?;
                true
            }
            Principal::Member(me) => card.member == *me,
            Principal::Partner(client_id) => card.partner.as_deref() == Some(client_id),
        };
        if mine {
            Ok(card)
        } else {
            Err(DomainError::UnknownBusinessCard)
        }
    }

    /// Applies a change (each language a repository language or `un`; how many may change in
    /// one request is the `/v1` request type's rule); the card as it is afterwards.
    pub async fn change(
        &self,
        principal: &Principal,
        id: &BusinessCardId,
        changes: CardChanges,
    ) -> Result<BusinessCard, DomainError> {
        if let Some((lang, _)) = changes
            .versions
            .iter()
            .find(|(lang, _)| !crate::languages::is_card_language(lang))
        {
            return Err(DomainError::malformed(format!(
                "field `translatable.{lang}`: `{lang}` is not a language code of /v1/languages/local, nor `un`"
            )));
        }
        self.card(principal, id).await?;
        if !self
            .store
            .change_business_card(id, changes, self.clock.now())
            .await?
        {
            return Err(DomainError::UnknownBusinessCard);
        }
        self.card(principal, id).await
    }

    /// Switches the card (`cardStatus`) or its photo (`usePhoto`) on or off.
    pub async fn set_setting(
        &self,
        principal: &Principal,
        id: &BusinessCardId,
        setting: Setting,
        on: bool,
    ) -> Result<(), DomainError> {
        let changes = match setting {
            Setting::Card => CardChanges {
                enabled: Some(on),
                ..CardChanges::default()
            },
            Setting::Photo => CardChanges {
                use_photo: Some(on),
                ..CardChanges::default()
            },
        };
        self.change(principal, id, changes).await.map(|_| ())
    }

    /// Switches one existing language version on or off (`langStatus`).
    pub async fn set_version_enabled(
        &self,
        principal: &Principal,
        id: &BusinessCardId,
        lang: &str,
        on: bool,
    ) -> Result<(), DomainError> {
        self.card(principal, id).await?;
        if self
            .store
            .set_version_enabled(id, lang, on, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::UnknownBusinessCard)
        }
    }

    /// Deletes one language version.
    pub async fn delete_version(
        &self,
        principal: &Principal,
        id: &BusinessCardId,
        lang: &str,
    ) -> Result<(), DomainError> {
        self.card(principal, id).await?;
        if self
            .store
            .delete_version(id, lang, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::UnknownBusinessCard)
        }
    }

    /// Deletes the card and its versions.
    pub async fn delete(
        &self,
        principal: &Principal,
        id: &BusinessCardId,
    ) -> Result<(), DomainError> {
        self.card(principal, id).await?;
        if self.store.delete_business_card(id).await? {
            Ok(())
        } else {
            Err(DomainError::UnknownBusinessCard)
        }
    }

    /// The card as anyone may see it on its public page: only an enabled card, else
    /// `UnknownBusinessCard`.
    pub async fn public(&self, id: &BusinessCardId) -> Result<BusinessCard, DomainError> {
        match self.store.business_card(id).await? {
            Some(card) if card.enabled => Ok(card),
            _ => Err(DomainError::UnknownBusinessCard),
        }
    }
}

/// A card-wide switch of seed 003.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `cardStatus`.
    Card,
    /// `usePhoto`.
    Photo,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_to_128_alphanumerics() {
        let id = "a".repeat(32);
        assert_eq!(BusinessCardId::parse(&id).unwrap().as_str(), id);
        for bad in [
            "a".repeat(31),
            "a".repeat(129),
            format!("{}-", "a".repeat(32)),
        ] {
            assert_eq!(
                BusinessCardId::parse(&bad),
                Err(DomainError::UnknownBusinessCard)
            );
        }
    }

    fn version(enabled: bool) -> CardVersion {
        CardVersion {
            name: Some("Jan".into()),
            enabled,
            ..CardVersion::default()
        }
    }

    #[test]
    fn a_visitor_sees_their_language_then_universal_then_any() {
        let mut card = BusinessCard {
            id: BusinessCardId("a".repeat(32)),
            member: MemberId(1),
            partner: None,
            enabled: true,
            use_photo: true,
            contact: Contact::default(),
            thumbnail: None,
            versions: BTreeMap::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(card.version_for(["pl"]), None);
        card.versions.insert("ru".into(), version(true));
        card.versions.insert("pl".into(), version(false));
        assert_eq!(card.version_for(["pl"]), Some("ru"));
        card.versions.insert("un".into(), version(true));
        assert_eq!(card.version_for(["pl", "de"]), Some("un"));
        card.versions.insert("pl".into(), version(true));
        assert_eq!(card.version_for(["de", "pl"]), Some("pl"));
    }

    #[test]
    fn business_mode_shows_the_display_name() {
        let mut v = CardVersion {
            name: Some("John".into()),
            lastname: Some("Kowalski".into()),
            ..CardVersion::default()
        };
        assert!(!v.business_mode());
        assert_eq!(v.shown_name(), "John Kowalski");
        v.display_name = Some("Non-scary dental services".into());
        assert!(v.business_mode());
        assert_eq!(v.shown_name(), "Non-scary dental services");
    }
}
