//! A member's own space (members.md, "What a member can do"): their profile, their cards and
//! history, declaring a card lost, their preferences, their data (export, deletion).
//!
//! Every use case takes the caller's [`Principal`] and asks it for the member whose space it
//! opens ([`Principal::own_member`]); nothing else names a member, so a member reaches only
//! their own data, and a card of someone else's is answered as unknown (404) — the same answer
//! as a card that does not exist, so ids cannot be probed. The `/v1/me` routes and the web
//! pages call these use cases directly.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::account::Preferences;
use crate::card::{Card, CardState, CardStatus};
use crate::error::DomainError;
use crate::ids::{CardId, MemberId};
use crate::member::{Member, Profile, ProfileField};
use crate::members::edit_profile;
use crate::paging::{Page, Paged};
use crate::ports::{Action, Clock, Ledger, MemberAccounts, MemberDirectory, Movement};
use crate::rights::Principal;
use crate::transaction::Transaction;

/// The fields a member may change in their profile: all but `notes`, which belong to the
/// association.
pub const MEMBER_FIELDS: [ProfileField; 7] = [
    ProfileField::FirstName,
    ProfileField::LastName,
    ProfileField::DisplayName,
    ProfileField::Email,
    ProfileField::Phone,
    ProfileField::Mobile,
    ProfileField::Keywords,
];

/// The name an anonymised member keeps (a profile must name its member).
pub const ANONYMOUS_NAME: &str = "deleted member";

/// One card with its history, for the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardHistory {
    pub card: Card,
    pub state: CardState,
    /// Oldest first.
    pub transactions: Vec<Transaction>,
}

/// Everything ardoise holds about a member (the right of access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberExport {
    pub member: Member,
    pub preferences: Preferences,
    pub cards: Vec<CardHistory>,
    pub exported_at: DateTime<Utc>,
}

/// The use cases of a member's own space.
#[derive(Clone)]
pub struct MemberSpace {
    directory: Arc<dyn MemberDirectory>,
    accounts: Arc<dyn MemberAccounts>,
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
}

impl MemberSpace {
    /// Wires the use cases to their ports.
    pub fn new(
        directory: Arc<dyn MemberDirectory>,
        accounts: Arc<dyn MemberAccounts>,
        ledger: Arc<dyn Ledger>,
        clock: Arc<dyn Clock>,
    ) -> MemberSpace {
        MemberSpace {
            directory,
            accounts,
            ledger,
            clock,
        }
    }

    /// The member's profile.
    pub async fn profile(&self, principal: &Principal) -> Result<Member, DomainError> {
        let me = principal.own_member()?;
        self.directory
            .member(me)
            .await?
            .ok_or(DomainError::UnknownMember)
    }

    /// Changes the given fields of the member's profile (blank unsets one); `notes` is
    /// refused by name, and a refused field changes nothing.
    pub async fn edit_profile(
        &self,
        principal: &Principal,
        changes: &[(ProfileField, Option<&str>)],
    ) -> Result<Member, DomainError> {
        let me = principal.own_member()?;
        if let Some((field, _)) = changes.iter().find(|(f, _)| !MEMBER_FIELDS.contains(f)) {
            return Err(DomainError::malformed(format!(
                "field `{}` belongs to the association: a member may not change it",
                field.name()
            )));
        }
        edit_profile(self.directory.as_ref(), self.clock.as_ref(), me, changes).await
    }

    /// The member's cards (replaced ones included), each with its state now.
    pub async fn cards(
        &self,
        principal: &Principal,
        page: Page,
    ) -> Result<Paged<(Card, CardState)>, DomainError> {
        let me = principal.own_member()?;
        let now = self.clock.now();
        Ok(self
            .directory
            .member_card_page(me, page)
            .await?
            .map(|card| {
                let state = card.state_at(now);
                (card, state)
            }))
    }

    /// The card if it is the member's; `UnknownCard` otherwise, as for a card that does not
    /// exist.
    async fn own_card(&self, me: MemberId, card: &CardId) -> Result<Card, DomainError> {
        match self.ledger.card(card).await? {
            Some(found) if found.member == Some(me) => Ok(found),
            _ => Err(DomainError::UnknownCard),
        }
    }

    /// One page of a card's history, newest first: only of the member's own cards.
    pub async fn history(
        &self,
        principal: &Principal,
        card: &CardId,
        page: Page,
    ) -> Result<Paged<Transaction>, DomainError> {
        let me = principal.own_member()?;
        self.own_card(me, card).await?;
        let mut all = self.ledger.card_transactions(card).await?;
        all.reverse();
        Ok(page.slice(all))
    }

    /// Declares one of the member's cards lost: it is refused at once by the POS and the
    /// partners; staff replace it later, keeping its balance. The card as it is afterwards,
    /// with its state.
    pub async fn declare_lost(
        &self,
        principal: &Principal,
        card: &CardId,
    ) -> Result<(Card, CardState), DomainError> {
        let me = principal.own_member()?;
        self.own_card(me, card).await?;
        self.ledger
            .apply(Movement {
                card: card.clone(),
                author: format!("member:{}", me.0),
                at: self.clock.now(),
                action: Action::SetStatus {
                    status: CardStatus::Lost,
                },
                idempotency: None,
                credit: None,
            })
            .await?;
        let card = self.own_card(me, card).await?;
        let state = card.state_at(self.clock.now());
        Ok((card, state))
    }

    /// The member's preferences (the defaults until saved).
    pub async fn preferences(&self, principal: &Principal) -> Result<Preferences, DomainError> {
        let me = principal.own_member()?;
        Ok(self.accounts.preferences(me).await?.unwrap_or_default())
    }

    /// Saves the member's preferences, whole.
    pub async fn set_preferences(
        &self,
        principal: &Principal,
        preferences: Preferences,
    ) -> Result<Preferences, DomainError> {
        let me = principal.own_member()?;
        preferences.check()?;
        self.accounts
            .set_preferences(me, preferences, self.clock.now())
            .await?;
        Ok(preferences)
    }

    /// Everything held about the member: profile (with the association's notes), preferences,
    /// and every card with its whole history.
    pub async fn export(&self, principal: &Principal) -> Result<MemberExport, DomainError> {
        let member = self.profile(principal).await?;
        let preferences = self.preferences(principal).await?;
        let now = self.clock.now();
        let mut cards = Vec::new();
        let mut page = Page::new(Some(1), Some(i64::from(crate::paging::MAX_PER_PAGE)))?;
        loop {
            let list = self.directory.member_card_page(member.id, page).await?;
            let more = list.has_next();
            for card in list.items {
                let transactions = self.ledger.card_transactions(&card.id).await?;
                cards.push(CardHistory {
                    state: card.state_at(now),
                    card,
                    transactions,
                });
            }
            if !more {
                break;
            }
            page = Page::new(
                Some(i64::from(page.number()) + 1),
                Some(i64::from(page.per_page())),
            )?;
        }
        Ok(MemberExport {
            member,
            preferences,
            cards,
            exported_at: now,
        })
    }

    /// The member's deletion request: the profile is anonymised, the account, links,
    /// preferences and sessions deleted. Cards and ledger stay as they are — money history is
    /// never deleted, and without the name it no longer tells who it was.
    pub async fn delete(&self, principal: &Principal) -> Result<(), DomainError> {
        let me = principal.own_member()?;
        let anonymous = Profile {
            display_name: Some(ANONYMOUS_NAME.to_owned()),
            ..Profile::default()
        };
        self.accounts
            .anonymise(me, anonymous, self.clock.now())
            .await
    }
}
