//! The association's use cases over its members: create, read, edit, link cards, and the
//! partner questions of seed 000 (a member's cards, a card's validity for a member). Rights:
//! staff need rights ≥ 1 (the association, which keeps the member list); partners are checked
//! by the authentication layer (`members:read`, `cards:read`).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::bar::CardValidity;
use crate::card::{Card, CardState};
use crate::error::DomainError;
use crate::ids::{CardId, MemberId};
use crate::member::{Member, Profile, ProfileField};
use crate::paging::{Page, Paged};
use crate::ports::{Clock, Ledger, MemberDirectory};
use crate::rights::{Actor, Operation};

/// How many times an edit is computed again when another edit of the same member committed
/// in between (each try reads the member afresh).
const EDIT_RETRIES: usize = 5;

/// A card's validity as seen for one member: valid only if the card is the member's and
/// usable now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberCardValidity {
    /// The card's own validity (`state: None` for an unknown card).
    pub card: CardValidity,
    /// Whether the card belongs to the member.
    pub owned: bool,
}

impl MemberCardValidity {
    /// Whether the member may use this card now.
    pub fn valid(&self) -> bool {
        self.owned && self.card.valid()
    }
}

/// Changes the given fields of a member's profile over the revision it was read at, reading
/// it again if another edit committed in between: for staff and for the member themself.
pub(crate) async fn edit_profile(
    directory: &dyn MemberDirectory,
    clock: &dyn Clock,
    id: MemberId,
    changes: &[(ProfileField, Option<&str>)],
) -> Result<Member, DomainError> {
    if changes.is_empty() {
        return Err(DomainError::malformed(
            "nothing to change: give at least one member field",
        ));
    }
    for _ in 0..EDIT_RETRIES {
        let current = directory
            .member(id)
            .await?
            .ok_or(DomainError::UnknownMember)?;
        let profile = current.profile.edited(changes)?;
        if directory
            .update_member(id, current.revision, profile, clock.now())
            .await?
        {
            return directory
                .member(id)
                .await?
                .ok_or(DomainError::UnknownMember);
        }
    }
    // Only if the member is being edited without pause by others.
    Err(DomainError::StorageUnavailable)
}

/// The members' operations.
#[derive(Clone)]
pub struct Members {
    directory: Arc<dyn MemberDirectory>,
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
}

impl Members {
    /// Wires the rules to their ports.
    pub fn new(
        directory: Arc<dyn MemberDirectory>,
        ledger: Arc<dyn Ledger>,
        clock: Arc<dyn Clock>,
    ) -> Members {
        Members {
            directory,
            ledger,
            clock,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Creates a member from raw fields (each validated, the first bad one refused by name);
    /// the profile must name the member.
    pub async fn create(
        &self,
        actor: &Actor,
        fields: &[(ProfileField, Option<&str>)],
    ) -> Result<Member, DomainError> {
        actor.check(Operation::ManageMembers)?;
        let profile = Profile::default().edited(fields)?;
        self.directory.add_member(profile, self.now()).await
    }

    /// One member.
    pub async fn member(&self, actor: &Actor, id: MemberId) -> Result<Member, DomainError> {
        actor.check(Operation::ManageMembers)?;
        self.directory
            .member(id)
            .await?
            .ok_or(DomainError::UnknownMember)
    }

    /// One page of the members, by id.
    pub async fn page(&self, actor: &Actor, page: Page) -> Result<Paged<Member>, DomainError> {
        actor.check(Operation::ManageMembers)?;
        self.directory.member_page(page).await
    }

    /// Changes the given fields of a member (a blank or absent text unsets the field); the
    /// others stay. The member as it is afterwards.
    pub async fn edit(
        &self,
        actor: &Actor,
        id: MemberId,
        changes: &[(ProfileField, Option<&str>)],
    ) -> Result<Member, DomainError> {
        actor.check(Operation::ManageMembers)?;
        edit_profile(self.directory.as_ref(), self.clock.as_ref(), id, changes).await
    }

    /// Links a card to a member (a card belongs to at most one member).
    pub async fn link_card(
        &self,
        actor: &Actor,
        member: MemberId,
        card: &CardId,
    ) -> Result<(), DomainError> {
        actor.check(Operation::ManageMembers)?;
        self.directory.link_card(member, card).await
    }

    /// Unlinks a card from its member.
    pub async fn unlink_card(
        &self,
        actor: &Actor,
        member: MemberId,
        card: &CardId,
    ) -> Result<(), DomainError> {
        actor.check(Operation::ManageMembers)?;
        self.directory.unlink_card(member, card).await
    }

    /// One page of a member's cards, each with its state now: for staff (`Some(actor)`,
    /// rights ≥ 1) or for a partner (`None`: its token's `members:read` scope was checked by
    /// the caller).
    pub async fn cards(
        &self,
        actor: Option<&Actor>,
        member: MemberId,
        page: Page,
    ) -> Result<Paged<(Card, CardState)>, DomainError> {
        if let Some(actor) = actor {
            actor.check(Operation::ManageMembers)?;
        }
        let now = self.now();
        Ok(self
            .directory
            .member_card_page(member, page)
            .await?
            .map(|card| {
                let state = card.state_at(now);
                (card, state)
            }))
    }

    /// Whether `card` is `member`'s and usable now: for staff (`Some(actor)`, rights ≥ 1 as
    /// a card's validity) or a partner (`None`: `cards:read` checked by the caller). An
    /// unknown member is an error; an unknown card, or another member's, is an answer.
    pub async fn card_validity(
        &self,
        actor: Option<&Actor>,
        member: MemberId,
        card: &CardId,
    ) -> Result<MemberCardValidity, DomainError> {
        if let Some(actor) = actor {
            actor.check(Operation::CardInfo)?;
        }
        if self.directory.member(member).await?.is_none() {
            return Err(DomainError::UnknownMember);
        }
        let found = self.ledger.card_snapshot(card).await?;
        let now = self.now();
        Ok(MemberCardValidity {
            owned: found.as_ref().is_some_and(|c| c.member == Some(member)),
            card: CardValidity {
                state: found.as_ref().map(|c| c.state_at(now)),
                valid_until: found.and_then(|c| c.valid_until),
            },
        })
    }
}
