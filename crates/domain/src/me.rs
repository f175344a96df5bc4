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
                service: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryLedger;
    use crate::ports::{Guard, MemberAccounts, SystemClock};
    use crate::rights::{Actor, Rights};
    use crate::transaction::TransactionKind;
    use crate::{Login, Money};

    async fn world() -> (MemberSpace, Arc<MemoryLedger>, MemberId, MemberId) {
        let ledger = Arc::new(MemoryLedger::new());
        let mut ids = Vec::new();
        for (name, card) in [("Alpha", "0A0A0A0A"), ("Bravo", "0B0B0B0B")] {
            let profile = Profile {
                last_name: Some(name.into()),
                notes: Some("paid".into()),
                ..Profile::default()
            };
            let member = ledger.add_member(profile, SystemClock.now()).await.unwrap();
            let card = CardId::parse(card).unwrap();
            ledger
                .apply(Movement {
                    card: card.clone(),
                    author: "bde".into(),
                    at: SystemClock.now(),
                    action: Action::Open {
                        opening: Money::from_cents(1000),
                        overdraft_limit: Money::ZERO,
                    },
                    idempotency: None,
                    credit: None,
                    service: None,
                })
                .await
                .unwrap();
            ledger.link_card(member.id, &card).await.unwrap();
            ids.push(member.id);
        }
        let space = MemberSpace::new(
            ledger.clone(),
            ledger.clone(),
            ledger.clone(),
            Arc::new(SystemClock),
        );
        (space, ledger, ids[0], ids[1])
    }

    fn card(text: &str) -> CardId {
        CardId::parse(text).unwrap()
    }

    #[test]
    fn staff_and_partners_open_nothing_of_a_members_space() {
        futures::executor::block_on(staff_and_partners_open_nothing_of_a_members_space_body());
    }

    async fn staff_and_partners_open_nothing_of_a_members_space_body() {
        let (space, _, _, _) = world().await;
        let staff = Principal::Staff(Actor {
            login: Login::parse("prez").unwrap(),
            rights: Rights::President,
        });
        let partner = Principal::Partner("office".into());
        for p in [staff, partner] {
            let refused = Err(DomainError::InsufficientRights);
            assert_eq!(space.profile(&p).await.map(|_| ()), refused);
            assert_eq!(space.cards(&p, Page::default()).await.map(|_| ()), refused);
            assert_eq!(
                space
                    .history(&p, &card("0A0A0A0A"), Page::default())
                    .await
                    .map(|_| ()),
                refused
            );
            assert_eq!(
                space.declare_lost(&p, &card("0A0A0A0A")).await.map(|_| ()),
                refused
            );
            assert_eq!(space.preferences(&p).await.map(|_| ()), refused);
            assert_eq!(space.export(&p).await.map(|_| ()), refused);
            assert_eq!(space.delete(&p).await, refused);
        }
    }

    #[test]
    fn a_member_reaches_only_their_own_cards_and_fields() {
        futures::executor::block_on(a_member_reaches_only_their_own_cards_and_fields_body());
    }

    async fn a_member_reaches_only_their_own_cards_and_fields_body() {
        let (space, ledger, a, b) = world().await;
        let alpha = Principal::Member(a);
        // Another member's card and an unknown one answer alike, and nothing changes.
        for other in ["0B0B0B0B", "0C0C0C0C"] {
            assert_eq!(
                space
                    .history(&alpha, &card(other), Page::default())
                    .await
                    .map(|_| ()),
                Err(DomainError::UnknownCard)
            );
            assert_eq!(
                space.declare_lost(&alpha, &card(other)).await.map(|_| ()),
                Err(DomainError::UnknownCard)
            );
        }
        let bravo_card = ledger.card(&card("0B0B0B0B")).await.unwrap().unwrap();
        assert_eq!(bravo_card.status, CardStatus::Active);
        assert_eq!(bravo_card.member, Some(b));
        let (lost, state) = space.declare_lost(&alpha, &card("0A0A0A0A")).await.unwrap();
        assert_eq!((lost.status, state), (CardStatus::Lost, CardState::Lost));
        // The notes are the association's.
        let e = space
            .edit_profile(&alpha, &[(ProfileField::Notes, Some("mine"))])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("`notes`"), "{e}");
        let edited = space
            .edit_profile(&alpha, &[(ProfileField::FirstName, Some("Ada"))])
            .await
            .unwrap();
        assert_eq!(edited.profile.first_name.as_deref(), Some("Ada"));
        assert_eq!(edited.profile.notes.as_deref(), Some("paid"));
    }

    #[test]
    fn history_is_newest_first_and_deletion_keeps_the_ledger() {
        futures::executor::block_on(history_is_newest_first_and_deletion_keeps_the_ledger_body());
    }

    async fn history_is_newest_first_and_deletion_keeps_the_ledger_body() {
        let (space, ledger, a, _) = world().await;
        let alpha = Principal::Member(a);
        ledger
            .apply(Movement {
                card: card("0A0A0A0A"),
                author: "barman".into(),
                at: SystemClock.now(),
                action: Action::Post {
                    kind: TransactionKind::Payment,
                    amount: Money::from_cents(250),
                    quantity: 0,
                    product: None,
                    guard: Guard::default(),
                },
                idempotency: None,
                credit: None,
                service: None,
            })
            .await
            .unwrap();
        let page = space
            .history(&alpha, &card("0A0A0A0A"), Page::default())
            .await
            .unwrap();
        let kinds: Vec<_> = page.items.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TransactionKind::Payment, TransactionKind::Creation]);

        let mut prefs = Preferences {
            low_balance: Some(Money::ZERO),
            ..Preferences::default()
        };
        assert!(space.set_preferences(&alpha, prefs).await.is_err());
        prefs.low_balance = Some(Money::from_cents(500));
        space.set_preferences(&alpha, prefs).await.unwrap();

        let before = ledger.card_transactions(&card("0A0A0A0A")).await.unwrap();
        space.delete(&alpha).await.unwrap();
        let after = space.profile(&alpha).await.unwrap();
        assert_eq!(after.profile.display_name.as_deref(), Some(ANONYMOUS_NAME));
        assert_eq!((after.profile.last_name, after.profile.notes), (None, None));
        assert_eq!(ledger.preferences(a).await.unwrap(), None);
        assert_eq!(
            ledger.card_transactions(&card("0A0A0A0A")).await.unwrap(),
            before
        );
        assert_eq!(
            ledger
                .card(&card("0A0A0A0A"))
                .await
                .unwrap()
                .unwrap()
                .balance,
            Money::from_cents(750)
        );
    }
}
